"""/start (with invite onboarding), /menu, /help."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards import BTN_HELP, main_menu, role_name
from models import User
from services import staff as staff_service
from services.errors import AlreadyRegistered, InviteInvalid
from services.staff import INVITE_PREFIX


def help_text() -> str:
    return _(
        "<b>Kontakt</b> — our company's CRM.\n\n"
        "<b>First steps</b>\n"
        "1. After a call or a meeting, just type what happened in one message, e.g. "
        "“called Petrov from Romashka, send the offer on Monday”. I propose what to save "
        "and the next step; press ✅ Save.\n"
        "2. 📅 Today (/today) shows your day; /week the next 7 days, /overdue what is "
        "late.\n"
        "3. ➕ Task (/task) plans something step by step; I remind you before it.\n"
        "4. 🔎 Clients (/find) finds a client by name, phone, INN or contact; /clients "
        "lists yours; ➕ New client adds one.\n"
        "5. 💼 Deals (/deals) lists your open deals, those without a next step first; a "
        "deal's card moves it to another stage, closes it as won or lost and plans its "
        "tasks. A new deal starts on the client's card: 💼 New deal.\n"
        "6. 📱 Open app shows the calendar, clients and reports on your phone; /web signs "
        "you in on a computer.\n\n"
        "<b>More</b>\n"
        "/calendar — Google Calendar and the ICS feed\n"
        "/stats — your done activities; /plan — plan vs fact\n"
        "/debts — your clients' overdue invoices and those due within 7 days; a "
        "client's card shows the balance, and 💳 Payment there records one (heads)\n"
        "/staff — staff directory; /invite — invite a colleague (administrators and "
        "heads)\n"
        "/lang — interface language\n"
        "/cancel or any menu button — leave what you are doing\n"
        "/help — this help"
    )


def build_start_router() -> Router:
    router = Router(name="start")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)),
                    F.chat.type == "private")
    async def start_with_invite(message: Message, command: CommandObject, staff: User | None,
                                i18n: I18n, webapp_url: str | None,
                                default_timezone: str) -> None:
        if staff is not None:
            await message.answer(_("You are already registered, {name}.").format(
                name=html.escape(staff.full_name)),
                reply_markup=main_menu(staff, webapp_url=webapp_url))
            return
        tg = message.from_user
        assert tg is not None
        try:
            user = await staff_service.do_accept_invite(
                command.args or "",
                telegram_id=tg.id,
                full_name=tg.full_name,
                username=tg.username,
                language_code=tg.language_code,
                default_timezone=default_timezone,
            )
        except InviteInvalid as exc:
            reasons = {
                "expired": _("This invite link has expired."),
                "used": _("This invite link has already been used."),
                "revoked": _("This invite link was cancelled."),
            }
            await message.answer(
                reasons.get(exc.reason, _("This invite link is not valid."))
                + "\n" + _("Ask your administrator for a new one."))
            return
        except AlreadyRegistered:
            await message.answer(_("You are already registered."))
            return
        with i18n.use_locale(str(user.language)):
            await message.answer(
                _("Welcome to Kontakt, {name}! You are registered as {role}.").format(
                    name=html.escape(user.full_name), role=role_name(user.role))
                + "\n\n" + help_text(),
                reply_markup=main_menu(user, webapp_url=webapp_url),
            )

    @router.message(CommandStart())
    @router.message(Command("menu"))
    async def start(message: Message, staff: User, webapp_url: str | None) -> None:
        await message.answer(
            _("Hello, {name}! Choose what to do.").format(name=html.escape(staff.full_name)),
            reply_markup=main_menu(staff, webapp_url=webapp_url),
        )

    @router.message(Command("help"))
    @router.message(F.text == BTN_HELP)
    async def help_(message: Message) -> None:
        await message.answer(help_text())

    return router
