"""Mailings in the bot (K-16), for admins and heads: /mailings lists them, the newest
first, ten a page (◀️ ▶️) with their progress; a mailing's card has Start, Pause,
Resume and Cancel. An action taken here leaves one progress message in the chat,
which the timed job of notifications.mailings keeps up to date; the end summary comes
to the same chat. Mailings are made on the web page (a template and a segment are
easier chosen there)."""

from __future__ import annotations

import contextlib
import html

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MailingCB, MailingsPageCB
from bot.errors import validation_text
from bot.keyboards import pager_row
from bot.routers.deal_card import put
from models import User
from notifications.mailings import STATES, progress_markup, progress_text
from services import mailings as svc
from services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed

PAGE = 10


def _error(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return validation_text(exc)
    if isinstance(exc, NotFound):
        return _("That mailing was not found or is not yours.")
    return _("Mailings are for administrators and heads.")


async def mailings_view(staff: User, page: int, base_url: str
                        ) -> tuple[str, InlineKeyboardMarkup | None]:
    """The mailings one may see, newest first, PAGE a page with each one's progress
    (counted for the whole page at once); a page past the end shows the last."""
    page = max(0, page)
    items, total = await svc.mailing_page(staff, limit=PAGE, offset=page * PAGE)
    if not items and total:
        page = (total - 1) // PAGE
        items, total = await svc.mailing_page(staff, limit=PAGE, offset=page * PAGE)
    if not total:
        return _("No mailings yet. Make one on the Mailings page: {url}").format(
            url=html.escape(f"{base_url}/app/mailings")), None
    rows = []
    for p in items:
        m = p["mailing"]
        label = f"📣 {m.name[:36]} · {_(STATES.get(str(m.state), str(m.state)))} · " \
                f"{p['sent']}/{p['total'] - p['skipped']}"
        rows.append([InlineKeyboardButton(text=label, callback_data=MailingCB(
            action="open", mailing_id=m.id).pack())])
    pager_row(rows, total, page, PAGE, lambda n: MailingsPageCB(page=n))
    first = page * PAGE + 1
    return _("📣 Mailings: {first}–{last} of {total}, the newest first. Tap one for its "
             "progress and actions.").format(first=first, last=first + len(items) - 1,
                                             total=total), InlineKeyboardMarkup(
        inline_keyboard=rows)


def build_mailings_router() -> Router:
    router = Router(name="mailings")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("mailings"))
    async def mailings_cmd(message: Message, staff: User, base_url: str) -> None:
        try:
            text, markup = await mailings_view(staff, 0, base_url)
        except PermissionDenied as exc:
            await message.answer(_error(exc))
            return
        await message.answer(text, reply_markup=markup)

    @router.callback_query(MailingsPageCB.filter())
    async def mailings_page(query: CallbackQuery, callback_data: MailingsPageCB, staff: User,
                            base_url: str) -> None:
        try:
            text, markup = await mailings_view(staff, callback_data.page, base_url)
        except PermissionDenied as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        await query.answer()
        if query.message is not None:
            await put(query.message, text, markup, edit=True)

    @router.callback_query(MailingCB.filter(F.action == "open"))
    async def open_card(query: CallbackQuery, callback_data: MailingCB, staff: User,
                        i18n: I18n) -> None:
        try:
            p = await svc.progress(staff, callback_data.mailing_id)
        except DomainError as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        lang = str(staff.language)
        await query.answer()
        await query.message.answer(progress_text(i18n, lang, p),
                                   reply_markup=progress_markup(i18n, lang, p["mailing"]))

    @router.callback_query(MailingCB.filter(F.action.in_(set(svc.TRANSITIONS))))
    async def act(query: CallbackQuery, callback_data: MailingCB, staff: User, i18n: I18n,
                  mailing_progress=None) -> None:
        try:
            mailing = await svc.do_mailing_action(staff, callback_data.mailing_id,
                                                  callback_data.action, source="bot")
            p = await svc.progress(staff, mailing.id)
        except DomainError as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        # after the commit: this chat's progress message shows the new state
        lang = str(staff.language)
        text, markup = progress_text(i18n, lang, p), progress_markup(i18n, lang, mailing)
        await query.answer(_(STATES.get(str(mailing.state), str(mailing.state))))
        chat_id, pressed = query.message.chat.id, query.message.message_id
        if (mailing.progress_chat_id, mailing.progress_message_id) == (chat_id, pressed):
            with contextlib.suppress(TelegramBadRequest):  # "not modified" is fine
                await query.message.edit_text(text, reply_markup=markup)
        else:
            with contextlib.suppress(TelegramBadRequest):
                await query.message.edit_reply_markup(reply_markup=None)
            if mailing.progress_chat_id and mailing.progress_message_id:
                with contextlib.suppress(Exception):  # the old progress message: no buttons
                    await query.bot.edit_message_reply_markup(
                        chat_id=mailing.progress_chat_id,
                        message_id=mailing.progress_message_id, reply_markup=None)
            shown = await query.message.answer(text, reply_markup=markup)
            await svc.do_track_progress(staff, mailing.id, shown.chat.id, shown.message_id)
        if mailing_progress is not None:
            mailing_progress.remember(mailing.id, text)

    return router
