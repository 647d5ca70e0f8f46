"""Credit limits in the bot (issue 14: A-15). A posting refused for credit shows the
reason and «🙏 Ask for an exception»: the bot asks why (typed; /cancel or a menu button
leaves), sends the request, and the credit controller gets it with ✅ Approve /
❌ Refuse. Every press is answered; a second one after the decision says who decided
and when."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CreditCB
from bot.routers.activity_card import error_text
from kontakt.errors import domain_message
from models import User
from services import credit_overrides as svc
from services.credit import CreditRefused
from services.errors import DomainError


class CreditAsk(StatesGroup):
    reason = State()


def ask_markup(order_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("🙏 Ask for an exception"),
        callback_data=CreditCB(action="ask", order_id=order_id).pack())]])


async def say_refused(message: Message, exc: CreditRefused, order_id: int) -> None:
    """The order card's answer to a posting refused for credit."""
    await message.answer("⛔ " + html.escape(domain_message(exc, _)) + "\n"
                         + _("The order stays a draft."), reply_markup=ask_markup(order_id))


def build_credit_router() -> Router:
    router = Router(name="credit")

    @router.callback_query(CreditCB.filter(F.action == "ask"))
    async def ask(query: CallbackQuery, callback_data: CreditCB, state: FSMContext) -> None:
        await query.answer()
        await state.set_state(CreditAsk.reason)
        await state.update_data(credit_order_id=callback_data.order_id)
        await query.message.answer(_("Why should this order go through over the limit? "
                                     "Type the reason (/cancel to leave)."))

    @router.message(CreditAsk.reason, F.text, ~F.text.startswith("/"))
    async def reason_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                           i18n: I18n) -> None:
        order_id = int((await state.get_data()).get("credit_order_id") or 0)
        try:
            made = await svc.do_request_override(staff, order_id, message.text or "")
        except DomainError as exc:
            await state.set_state(None)
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        people = await svc.told_names(made)
        await message.answer(_("🙏 The request is sent to {people}. You will hear the "
                               "decision here.").format(
            people=html.escape(", ".join(people) or "—")))
        from notifications.credit import deliver_credit_notices

        await deliver_credit_notices(bot, i18n, made.notices)

    @router.callback_query(CreditCB.filter(F.action.in_({"yes", "no"})))
    async def decide(query: CallbackQuery, callback_data: CreditCB, staff: User, bot: Bot,
                     i18n: I18n) -> None:
        try:
            done = await svc.do_decide(staff, callback_data.override_id,
                                       callback_data.action == "yes")
        except svc.AlreadyDecided as exc:
            await query.answer(domain_message(exc, _)[:200], show_alert=True)
            return
        except DomainError as exc:
            await query.answer(error_text(exc)[:200], show_alert=True)
            return
        said = _("✅ Approved.") if callback_data.action == "yes" else _("❌ Refused.")
        await query.answer(said)
        if query.message is not None:
            await query.message.answer(said)
        from notifications.credit import deliver_credit_notices

        await deliver_credit_notices(bot, i18n, done.notices)

    return router
