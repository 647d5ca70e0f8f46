"""K-10: the buttons of a new lead's message (notifications.leads).

* ✋ Take: the inbound request is taken (done by the person); the message keeps the
  other buttons.
* 🔁 Reassign: the other active people of the form's department as buttons, with
  ✖️ Cancel; the chosen one gets the lead's message.
* 📞 Log contact: "type the result" (✖️ Cancel, /cancel or a menu button leaves); the
  text becomes a done call on the lead's client — the reaction (M-16).

Every press is answered.
"""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LeadCB
from bot.routers.activity_card import error_text
from models import User
from notifications.leads import deliver_lead, lead_markup
from services import lead_work
from services.errors import DomainError

MAX_PEOPLE = 20


class LeadLog(StatesGroup):
    result = State()


def _cancel_row(activity_id: int) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=_("✖️ Cancel"), callback_data=LeadCB(
        action="cancel", activity_id=activity_id).pack())]


def build_leads_router() -> Router:
    router = Router(name="leads")

    @router.callback_query(LeadCB.filter(F.action == "take"))
    async def take(query: CallbackQuery, callback_data: LeadCB, staff: User) -> None:
        try:
            await lead_work.do_take(staff, callback_data.activity_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(_("The lead is yours."))
        if query.message is not None:
            await query.message.edit_reply_markup(reply_markup=lead_markup(
                callback_data.activity_id, _, taken=True))

    @router.callback_query(LeadCB.filter(F.action == "reassign"))
    async def reassign(query: CallbackQuery, callback_data: LeadCB, staff: User) -> None:
        try:
            people = await lead_work.reassign_choices(staff, callback_data.activity_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer()
        if not people:
            await query.message.answer(_("There is nobody else in the department to give "
                                         "the lead to."))
            return
        rows = [[InlineKeyboardButton(text=p.full_name[:60], callback_data=LeadCB(
            action="to", activity_id=callback_data.activity_id, value=str(p.id)).pack())]
            for p in people[:MAX_PEOPLE]]
        rows.append(_cancel_row(callback_data.activity_id))
        await query.message.answer(_("To whom shall the lead go?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(LeadCB.filter(F.action == "to"))
    async def reassign_to(query: CallbackQuery, callback_data: LeadCB, staff: User,
                          bot: Bot, i18n: I18n) -> None:
        try:
            person = await lead_work.do_reassign(staff, callback_data.activity_id,
                                                 int(callback_data.value or 0))
        except (DomainError, ValueError) as exc:
            text = error_text(exc) if isinstance(exc, DomainError) else "—"
            await query.answer(text[:190], show_alert=True)
            return
        await query.answer()
        await query.message.edit_text(_("The lead went to {name}.").format(
            name=html.escape(person.full_name)))
        await deliver_lead(bot, i18n, callback_data.activity_id, person.id)

    @router.callback_query(LeadCB.filter(F.action == "log"))
    async def log(query: CallbackQuery, callback_data: LeadCB, staff: User,
                  state: FSMContext) -> None:
        try:
            await lead_work.reassign_choices(staff, callback_data.activity_id)  # may work
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer()
        await state.set_state(LeadLog.result)
        await state.update_data(lead_activity=callback_data.activity_id)
        await query.message.answer(
            _("Type the result of the contact with the lead (what you agreed)."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                _cancel_row(callback_data.activity_id)]))

    @router.callback_query(LeadCB.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        if await state.get_state() == LeadLog.result.state:
            await state.clear()
        await query.answer(_("Cancelled."))
        if query.message is not None:
            await query.message.edit_text(_("Cancelled."))

    @router.message(LeadLog.result, F.text, ~F.text.startswith("/"))
    async def result_typed(message: Message, staff: User, state: FSMContext) -> None:
        activity_id = (await state.get_data()).get("lead_activity")
        try:
            await lead_work.do_log_contact(staff, int(activity_id or 0), message.text or "")
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Type the result again, or "
                                                             "/cancel."))
            return
        await state.clear()
        await message.answer(_("✅ The contact is logged."))

    return router
