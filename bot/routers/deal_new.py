"""A new deal in the bot from the client's card (issue 12: U-2): its title (the client's
name in one tap), then its amount as typed ("150к", "1,5 млн ₽") or skipped."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.routers.deal_card import (
    MAX_TITLE,
    NewDeal,
    _after,
    _btn,
    _cut,
    alert,
    cancel_row,
    error_text,
    show_card,
)
from models import User
from services import deal_money
from services import deals as svc
from services.errors import DomainError, ValidationFailed


def build_deal_new_router() -> Router:
    """➕ Deal on a client's card: the title, then the amount."""
    router = Router(name="deals.new")

    # --- a new deal from the client's card ----------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "new"))
    async def new(query: CallbackQuery, callback_data: DealCB, staff: User,
                  state: FSMContext) -> None:
        from bot.routers.clients import error_text as client_error
        from services.clients import get_client

        try:
            found = await get_client(staff, int(callback_data.value or 0))
        except DomainError as exc:
            await query.answer(alert(client_error(exc)), show_alert=True)
            return
        await state.set_state(NewDeal.title)
        await state.update_data(new_deal={"client_id": found.id,
                                          "title": found.name[:MAX_TITLE]})
        await query.answer()
        await query.message.answer(
            _("💼 A new deal with {client}. What is it called? Type the title, or take the "
              "client's name with the button. (/cancel to stop)").format(
                client=f"<b>{html.escape(found.name)}</b>"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                [_btn("✅ " + _cut(found.name, 50), DealCB(action="title"))], cancel_row()]))

    async def _ask_amount(message: Message, state: FSMContext, title: str) -> None:
        data = dict((await state.get_data()).get("new_deal") or {})
        data["title"] = title
        await state.update_data(new_deal=data)
        await state.set_state(NewDeal.amount)
        await message.answer(
            _("💰 The amount? For example “150 000”, “1 250,50 грн” or “$5000” — or press "
              "Skip."), reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                [_btn(_("Skip"), DealCB(action="noamount"))], cancel_row()]))

    @router.callback_query(NewDeal.title, DealCB.filter(F.action == "title"))
    async def title_taken(query: CallbackQuery, state: FSMContext) -> None:
        data = (await state.get_data()).get("new_deal") or {}
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await _ask_amount(query.message, state, str(data.get("title") or ""))

    @router.message(NewDeal.title, F.text, ~F.text.startswith("/"))
    async def title_typed(message: Message, state: FSMContext) -> None:
        title = " ".join((message.text or "").split())
        if len(title) > MAX_TITLE:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("title"), message=_("write 1 to 200 characters")),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
            return
        await _ask_amount(message, state, title)

    @router.message(NewDeal.amount, F.text, ~F.text.startswith("/"))
    async def amount_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                           i18n: I18n, reminders=None) -> None:
        try:
            amount, currency = deal_money.parse_money(message.text or "")
        except ValidationFailed as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                                     [_btn(_("Skip"), DealCB(action="noamount"))],
                                     cancel_row()]))
            return
        await _create(message, staff, state, amount, currency, bot, i18n, reminders)

    @router.callback_query(NewDeal.amount, DealCB.filter(F.action == "noamount"))
    async def amount_skipped(query: CallbackQuery, staff: User, state: FSMContext,
                             bot: Bot, i18n: I18n, reminders=None) -> None:
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await _create(query.message, staff, state, None, None, bot, i18n, reminders)

    async def _create(message: Message, staff: User, state: FSMContext, amount, currency,
                      bot: Bot, i18n: I18n, reminders) -> None:
        data = (await state.get_data()).get("new_deal") or {}
        values = {"client_id": data.get("client_id"), "title": data.get("title"),
                  "amount": amount}
        if currency:
            values["currency"] = currency
        try:
            made = await svc.do_create_deal(staff, values, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.set_state(None)
        await state.update_data(new_deal=None)
        await show_card(message, staff, made.deal.id, note=_("💼 Deal created."))
        await _after(bot, i18n, reminders, made.notices)

    return router
