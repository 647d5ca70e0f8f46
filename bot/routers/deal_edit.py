"""Editing a deal in the bot (issue 12: U-2, U-5): ✏️ Edit — the amount, expected close
and title typed (the first two can be cleared), the contact person and the source
picked — and 🎯 Probability, the manager's own figure in one tap."""

from __future__ import annotations

import contextlib
import html
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.routers.deal_card import (
    DealEdit,
    _btn,
    _card,
    alert,
    cancel_row,
    card_text,
    contacts_markup,
    edit_markup,
    error_text,
    probability_markup,
    put,
    show_card,
    sources_markup,
)
from kontakt.formatting import money_text
from models import User
from services import deal_money
from services import deals as svc
from services.clock import utcnow
from services.errors import DomainError, ValidationFailed


def build_deal_edit_router() -> Router:
    """✏️ Edit and 🎯 Probability on a deal's card."""
    router = Router(name="deals.edit")

    # --- edit: amount, expected close, contact person ------------------------------------
    @router.callback_query(DealCB.filter(F.action == "edit"))
    async def edit(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _(
            "✏️ What to change?"), edit_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action.in_({"amount", "close"})))
    async def ask_field(query: CallbackQuery, callback_data: DealCB, staff: User,
                        state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        deal, e = card.deal, html.escape
        await state.update_data(deal_edit={"deal_id": deal.id})
        await query.answer()
        if callback_data.action == "amount":
            await state.set_state(DealEdit.amount)
            now = money_text(deal.amount, deal.currency) if deal.amount is not None \
                else _("none")
            await query.message.answer(
                _("💰 The amount of “{title}” (now {amount})? Type it as you would say it: "
                  "“150 000”, “1 250,50 грн”, “$5000”, “150к”. (/cancel to stop)").format(
                    title=e(deal.title), amount=now),
                reply_markup=_field_markup(deal.id, "amount", deal.amount is not None))
            return
        await state.set_state(DealEdit.close)
        now = deal.expected_close.strftime("%d.%m.%Y") if deal.expected_close else _("none")
        await query.message.answer(
            _("📆 When is “{title}” expected to close (now {date})? For example “28.11”, "
              "“30.12.2026” or “next Friday”. (/cancel to stop)").format(
                title=e(deal.title), date=now),
            reply_markup=_field_markup(deal.id, "close", deal.expected_close is not None))

    def _field_markup(deal_id: int, name: str, has_value: bool) -> InlineKeyboardMarkup:
        rows = []
        if has_value:
            rows.append([_btn(_("🚫 No amount") if name == "amount" else _("🚫 No date"),
                              DealCB(action="unset", deal_id=deal_id, value=name))])
        rows.append(cancel_row())
        return InlineKeyboardMarkup(inline_keyboard=rows)

    async def _edited(message: Message, staff: User, state: FSMContext, deal_id: int,
                      values: dict, note: str, *, edit: bool = False) -> bool:
        """Save a change of the deal and show its card with ``note``; a refusal is said
        and the question stays."""
        try:
            await svc.do_update_deal(staff, deal_id, values, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return False
        if (await state.get_state() or "").startswith("DealEdit:"):
            await state.set_state(None)
            await state.update_data(deal_edit=None)
        await show_card(message, staff, deal_id, note=note, edit=edit)
        return True

    @router.message(DealEdit.amount, F.text, ~F.text.startswith("/"))
    async def amount_changed(message: Message, staff: User, state: FSMContext) -> None:
        deal_id = int(((await state.get_data()).get("deal_edit") or {}).get("deal_id") or 0)
        try:
            amount, currency = deal_money.parse_money(message.text or "")
        except ValidationFailed as exc:
            await message.answer(error_text(exc) + "\n" + _(
                "Type the sum again, e.g. “150 000” or “1 250,50 грн”; /cancel to stop."),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
            return
        if amount is None:
            await message.answer(_("Type the sum, e.g. “150 000”; /cancel to stop."))
            return
        values: dict = {"amount": str(amount)}
        if currency:
            values["currency"] = currency
        await _edited(message, staff, state, deal_id, values, _("💰 Amount saved."))

    @router.message(DealEdit.close, F.text, ~F.text.startswith("/"))
    async def close_changed(message: Message, staff: User, state: FSMContext) -> None:
        from bot.routers.activity_card import read_when

        deal_id = int(((await state.get_data()).get("deal_edit") or {}).get("deal_id") or 0)
        when = await read_when(message, staff)
        if when is None:
            return  # said what to type; the question stays
        day = when.astimezone(ZoneInfo(staff.timezone)).date()
        note = _("📆 Expected close saved.")
        if day < utcnow().astimezone(ZoneInfo(staff.timezone)).date():
            note += "\n" + _("⚠️ That date is in the past.")
        await _edited(message, staff, state, deal_id, {"expected_close": day.isoformat()},
                      note)

    @router.callback_query(DealCB.filter(F.action == "unset"))
    async def unset(query: CallbackQuery, callback_data: DealCB, staff: User,
                    state: FSMContext) -> None:
        field_name = "amount" if callback_data.value == "amount" else "expected_close"
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await _edited(query.message, staff, state, callback_data.deal_id, {field_name: None},
                      _("💰 The amount is removed.") if field_name == "amount"
                      else _("📆 The expected close date is removed."))

    # --- the title, typed; the source, picked ------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "rename"))
    async def ask_title(query: CallbackQuery, callback_data: DealCB, staff: User,
                        state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await state.set_state(DealEdit.title)
        await state.update_data(deal_edit={"deal_id": card.deal.id})
        await query.answer()
        await query.message.answer(
            _("📝 The new title of “{title}”? (/cancel to stop)").format(
                title=html.escape(card.deal.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))

    @router.message(DealEdit.title, F.text, ~F.text.startswith("/"))
    async def title_changed(message: Message, staff: User, state: FSMContext) -> None:
        deal_id = int(((await state.get_data()).get("deal_edit") or {}).get("deal_id") or 0)
        await _edited(message, staff, state, deal_id, {"title": message.text or ""},
                      _("📝 Title saved."))

    @router.callback_query(DealCB.filter(F.action == "source"))
    async def source(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _(
            "📣 Where did this deal come from?"),
            await sources_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "setsource"))
    async def source_set(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        source_id = int(callback_data.value or 0) or None
        try:
            await svc.do_update_deal(staff, card.deal.id, {"source_id": source_id},
                                     source="bot")
        except DomainError as exc:  # a source archived since
            await query.answer(alert(error_text(exc)), show_alert=True)
            await put(query.message, await card_text(card, staff) + "\n\n" + _(
                "📣 Where did this deal come from?"),
                await sources_markup(card, callback_data.page), edit=True)
            return
        await query.answer(_("📣 Source saved.") if source_id
                           else _("📣 The deal has no source now."))
        await show_card(query.message, staff, card.deal.id, edit=True,
                        page=callback_data.page)

    @router.callback_query(DealCB.filter(F.action == "contact"))
    async def contact(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        question, markup = await contacts_markup(staff, card, callback_data.page)
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + question, markup,
                  edit=True)

    @router.callback_query(DealCB.filter(F.action == "setcontact"))
    async def contact_set(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        contact_id = int(callback_data.value or 0) or None
        try:
            await svc.do_update_deal(staff, card.deal.id, {"contact_id": contact_id},
                                     source="bot")
        except DomainError as exc:  # a contact archived since
            await query.answer(alert(error_text(exc)), show_alert=True)
            question, markup = await contacts_markup(staff, card, callback_data.page)
            await put(query.message, await card_text(card, staff) + "\n\n" + question,
                      markup, edit=True)
            return
        await query.answer(_("📇 Contact person saved.") if contact_id
                           else _("📇 The deal has no contact person now."))
        await show_card(query.message, staff, card.deal.id, edit=True,
                        page=callback_data.page)

    # --- the probability: the manager's own figure (U-5) -----------------------------------
    @router.callback_query(DealCB.filter(F.action == "prob"))
    async def probability(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _(
            "🎯 Your own figure replaces the estimate until you take it back:"),
            probability_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "setprob"))
    async def probability_set(query: CallbackQuery, callback_data: DealCB,
                              staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        value = int(callback_data.value) if callback_data.value.isdigit() else None
        try:
            await svc.do_update_deal(staff, card.deal.id, {"probability_override": value},
                                     source="bot")
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        await query.answer(_("🎯 Probability set: {value} %.").format(value=value)
                           if value is not None else _("🎯 The estimate is shown again."))
        await show_card(query.message, staff, card.deal.id, edit=True,
                        page=callback_data.page)

    return router
