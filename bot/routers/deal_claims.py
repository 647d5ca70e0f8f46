"""Opening a claim in the bot (issue 12: U-7): ⚠️ Claim on a deal's card, or from the
client's card (the deal it is about chosen first), then its title. Closing one (its
resolution and "our fault?") is with won and lost in bot/routers/deals.py."""

from __future__ import annotations

import contextlib
import html

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.routers.deal_card import (
    MAX_TITLE,
    DealClaimNew,
    _after,
    _btn,
    _card,
    _cut,
    alert,
    cancel_row,
    error_text,
    show_card,
)
from kontakt.labels import stage_name
from models import User
from services import deal_lists
from services import deals as svc
from services.errors import DomainError


def build_deal_claims_router() -> Router:
    """⚠️ Claim: a new claim about a deal."""
    router = Router(name="deals.claims")

    # --- a claim about a deal (U-7) ----------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "claim"))
    async def claim(query: CallbackQuery, callback_data: DealCB, staff: User,
                    state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await deal_lists.claim_process() is None:
            await query.answer(_("There is no claim process: an administrator archived it."),
                               show_alert=True)
            return
        await query.answer()
        await _ask_claim_title(query.message, state, card.deal.client_id, card.deal)

    async def _ask_claim_title(message: Message, state: FSMContext, client_id: int,
                               parent) -> None:
        await state.set_state(DealClaimNew.title)
        await state.update_data(new_claim={"client_id": client_id,
                                           "parent_id": parent.id if parent else None})
        if parent is not None:
            text = _("⚠️ A claim about “{title}”. What is it about? Type a short title, e.g. "
                     "“A damaged batch”. (/cancel to stop)").format(
                title=html.escape(parent.title))
        else:
            text = _("⚠️ A claim not about a deal. What is it about? Type a short title, "
                     "e.g. “Late delivery”. (/cancel to stop)")
        await message.answer(text, reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[cancel_row()]))

    @router.callback_query(DealCB.filter(F.action == "claimc"))
    async def claim_from_client(query: CallbackQuery, callback_data: DealCB, staff: User,
                                state: FSMContext) -> None:
        from bot.routers.clients import error_text as client_error
        from services.clients import get_client

        try:
            found = await get_client(staff, int(callback_data.value or 0))
        except DomainError as exc:
            await query.answer(alert(client_error(exc)), show_alert=True)
            return
        if await deal_lists.claim_process() is None:
            await query.answer(_("There is no claim process: an administrator archived it."),
                               show_alert=True)
            return
        await query.answer()
        deals = await deal_lists.claimable_deals(staff, found.id)
        if not deals:
            await _ask_claim_title(query.message, state, found.id, None)
            return
        await state.set_state(DealClaimNew.parent)
        await state.update_data(new_claim={"client_id": found.id})
        rows = [[_btn(f"💼 {_cut(d.title, 40)} · {_cut(stage_name(d.stage, _), 20)}",
                      DealCB(action="claimp", deal_id=d.id, value=str(found.id)))]
                for d in deals]
        rows.append([_btn(_("Not about a deal"), DealCB(action="claimp", deal_id=0,
                                                       value=str(found.id)))])
        rows.append(cancel_row())
        await query.message.answer(
            _("⚠️ A claim from {client}. Which deal is it about?").format(
                client=f"<b>{html.escape(found.name)}</b>"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(DealClaimNew.parent, DealCB.filter(F.action == "claimp"))
    async def claim_parent(query: CallbackQuery, callback_data: DealCB, staff: User,
                           state: FSMContext) -> None:
        data = (await state.get_data()).get("new_claim") or {}
        client_id = int(data.get("client_id") or 0)
        if str(client_id) != callback_data.value:
            await query.answer(_("This question was already left."), show_alert=True)
            return
        parent = None
        if callback_data.deal_id:
            if (card := await _card(query, staff, callback_data.deal_id)) is None:
                return
            parent = card.deal
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await _ask_claim_title(query.message, state, client_id, parent)

    @router.message(DealClaimNew.title, F.text, ~F.text.startswith("/"))
    async def claim_titled(message: Message, staff: User, state: FSMContext, bot: Bot,
                           i18n: I18n, reminders=None) -> None:
        title = " ".join((message.text or "").split())
        if len(title) > MAX_TITLE:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("title"), message=_("write 1 to 200 characters")),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
            return
        data = (await state.get_data()).get("new_claim") or {}
        process = await deal_lists.claim_process()
        if process is None:
            await state.set_state(None)
            await message.answer(_("There is no claim process: an administrator archived it."))
            return
        try:
            made = await svc.do_create_deal(staff, {
                "client_id": data.get("client_id"), "process_id": process.id,
                "parent_id": data.get("parent_id"), "title": title}, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.set_state(None)
        await state.update_data(new_claim=None)
        await show_card(message, staff, made.deal.id, note=_("⚠️ Claim opened."))
        await _after(bot, i18n, reminders, made.notices)

    return router
