"""Deals in the bot (issue 12: U-1, U-2, U-5..U-7): ``/deals`` (💼 Deals) lists one's
open deals, those without a next step first and flagged; a deal's card with its stage,
amount, win probability (its basis and strongest factors), next step and time in stage;
➡️ Move (a list of the stages, one tap), ✅ Won, ❌ Lost (a reason, then the competitor
or "No competitor": two taps), ➕ Task (linked to the deal), 📝 Log contact (a done
activity, its type read as the quick log reads it or chosen in one tap), ✏️ Edit (the
amount and expected close typed, the contact person picked), 🎯 Probability (the
manager's own figure in one tap), 💬 Discuss (the topic of the deal's next step),
⚠️ Claim (a claim about the deal), 🏢 Client; a new deal and a claim from the client's
card. Closing a claim asks its resolution and "our fault?" when they are missing.

Buttons carry the deal's id (and a stage button the deal's version), so a card's
buttons answer whenever they are pressed: with the deal as it is now, "already
there", or "not found" for a deal one may not see. Every question has ✖️ Cancel and
says /cancel; a menu button or a command leaves it (bot/dialogs.py).

The card, its buttons and the questions' states are bot/routers/deal_card.py; here are
the list, the card's moves, won and lost (a claim's closing too), a task and ✖️ Cancel;
a new deal is bot/routers/deal_new.py, editing bot/routers/deal_edit.py, logging a
contact and discussing bot/routers/deal_log.py, a new claim bot/routers/deal_claims.py.
They are sub-routers of one, tried in the order the handlers always were."""

from __future__ import annotations

import contextlib
import html
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.keyboards import BTN_DEALS
from bot.routers.deal_card import (
    DIALOGS,
    NO_COMPETITOR,
    DealClaimClose,
    DealLost,
    DealTask,
    _after,
    _card,
    _closing,
    _cut,
    _fault_question,
    _lost_question,
    alert,
    cancel_row,
    card_markup,
    card_text,
    competitor_markup,
    error_text,
    fault_markup,
    is_claim,
    list_page,
    move_markup,
    put,
    reasons_markup,
    show_card,
)
from bot.routers.deal_claims import build_deal_claims_router
from bot.routers.deal_edit import build_deal_edit_router
from bot.routers.deal_log import build_deal_log_router
from bot.routers.deal_new import build_deal_new_router
from kontakt.labels import item_name, stage_name
from models import ProcessKind, StageKind, User
from services import deal_cards, deal_moves
from services import deals as svc
from services.clock import utcnow
from services.dictionaries import SEEDED_ITEM_NAMES
from services.errors import DomainError, ValidationFailed


# --- the router ----------------------------------------------------------------------
def build_deals_router() -> Router:
    """The router of deals: its parts in the order their handlers were always tried."""
    router = Router(name="deals")
    router.message.filter(F.chat.type == "private")
    router.include_routers(_card_router(), build_deal_new_router(), build_deal_edit_router(),
                           build_deal_log_router(), build_deal_claims_router(),
                           _cancel_router())
    return router


def _card_router() -> Router:
    """/deals, the card, moves, won and lost (a claim's closing too), a task, the client."""
    router = Router(name="deals.card")

    # --- the list -----------------------------------------------------------------
    @router.message(Command("deals"))
    @router.message(F.text == BTN_DEALS)
    async def deals(message: Message, staff: User) -> None:
        text, markup = await list_page(staff, 0)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(DealCB.filter(F.action == "list"))
    async def list_pressed(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        text, markup = await list_page(staff, callback_data.page)
        await query.answer()
        await put(query.message, text, markup, edit=True)

    # --- the card ------------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action.in_({"card", "open"})))
    async def card(query: CallbackQuery, callback_data: DealCB, staff: User,
                   state: FSMContext) -> None:
        try:
            await show_card(query.message, staff, callback_data.deal_id,
                            edit=callback_data.action == "card", page=callback_data.page)
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        if await state.get_state() == DealLost.competitor.state:
            await state.set_state(None)  # "Back to the deal" leaves the competitor's search
        await query.answer()

    @router.callback_query(DealCB.filter(F.action == "move"))
    async def move(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _(
            "➡️ Move to which stage?"), move_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "stage"))
    async def stage(query: CallbackQuery, callback_data: DealCB, staff: User, bot: Bot,
                    i18n: I18n, reminders=None) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        page, target = callback_data.page, int(callback_data.value or 0)
        named = next((stage_name(s, _) for s in card.stages if s.id == target), "")
        if card.deal.stage_id == target:
            await query.answer(_("The deal is already at «{stage}».").format(stage=named))
            await put(query.message, await card_text(card, staff), card_markup(card, page),
                      edit=True)
            return
        if card.deal.version != callback_data.v:  # a list drawn before another move
            await query.answer(_("The deal was moved meanwhile; here it is now."),
                               show_alert=True)
            await put(query.message, await card_text(card, staff), card_markup(card, page),
                      edit=True)
            return
        try:
            moved = await deal_moves.do_move(staff, card.deal.id, target, source="bot")
        except DomainError as exc:  # a requirement, a stage one may not skip
            refusal = error_text(exc)
            await query.answer(alert(refusal), show_alert=True)
            await put(query.message, refusal + "\n\n" + await card_text(card, staff),
                      card_markup(card, page), edit=True)
            return
        await query.answer(_("Moved to «{stage}».").format(stage=named) if moved.moved
                           else _("The deal is already at «{stage}».").format(stage=named))
        await show_card(query.message, staff, card.deal.id, edit=True, page=page)
        await _after(bot, i18n, reminders, moved.notices)

    @router.callback_query(DealCB.filter(F.action == "won"))
    async def won(query: CallbackQuery, callback_data: DealCB, staff: User, bot: Bot,
                  i18n: I18n, state: FSMContext, reminders=None) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        if await _claim_questions(query, card, state, "won", callback_data.page):
            return
        await _win(query, staff, card, callback_data.page, bot, i18n, reminders)

    async def _win(query: CallbackQuery, staff: User, card: deal_cards.Card, page: int, bot: Bot,
                   i18n: I18n, reminders) -> None:
        try:
            result = await deal_moves.do_win(staff, card.deal.id, source="bot")
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            if isinstance(exc, ValidationFailed):  # the card as it is, under the question
                await show_card(query.message, staff, card.deal.id, edit=True, page=page)
            return
        if card.deal.process.kind == ProcessKind.SALE:
            await query.answer(_("✅ Won! Congratulations."))
        else:
            await query.answer(_("✅ Closed as «{stage}».").format(
                stage=_closing(card, StageKind.WON)))
        await show_card(query.message, staff, card.deal.id, edit=True, page=page)
        await _after(bot, i18n, reminders, result.notices)

    # --- closing a claim: its resolution and whether it was our fault (U-7) ----------------
    async def _claim_questions(query: CallbackQuery, card: deal_cards.Card, state: FSMContext,
                               then: str, page: int) -> bool:
        """Won or lost on a claim without its resolution or "our fault": the missing one
        is asked first (typed, then Yes/No); True when a question was asked."""
        deal = card.deal
        if not is_claim(deal) or (deal.resolution and deal.our_fault is not None):
            return False
        kind = StageKind.WON if then == "won" else StageKind.LOST
        await state.update_data(deal_claim={"deal_id": deal.id, "then": then, "page": page})
        await query.answer()
        if not deal.resolution:
            await state.set_state(DealClaimClose.resolution)
            await query.message.answer(
                _("⚠️ To close the claim “{title}” as «{stage}», write its resolution: what "
                  "was done or decided. (/cancel to stop)").format(
                    title=html.escape(deal.title), stage=html.escape(_closing(card, kind))),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
        else:
            await state.set_state(DealClaimClose.fault)
            await query.message.answer(_fault_question(deal.title),
                                       reply_markup=fault_markup(deal.id))
        return True

    @router.message(DealClaimClose.resolution, F.text, ~F.text.startswith("/"))
    async def resolution_typed(message: Message, state: FSMContext) -> None:
        text = (message.text or "").strip()
        data = dict((await state.get_data()).get("deal_claim") or {})
        if len(text) > 5000:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("resolution"), message=_("write 1 to 5000 characters")),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
            return
        data["resolution"] = text
        await state.update_data(deal_claim=data)
        await state.set_state(DealClaimClose.fault)
        await message.answer(_fault_question(""), reply_markup=fault_markup(
            int(data.get("deal_id") or 0)))

    @router.callback_query(DealClaimClose.fault, DealCB.filter(F.action == "fault"))
    async def fault_chosen(query: CallbackQuery, callback_data: DealCB, staff: User,
                           state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        data = (await state.get_data()).get("deal_claim") or {}
        if data.get("deal_id") != callback_data.deal_id:
            await query.answer(_("This question was already left."), show_alert=True)
            return
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await state.set_state(None)
        await state.update_data(deal_claim=None)
        page = int(data.get("page") or 0)
        if await _closed_already(query, card, staff, page):
            return
        values: dict = {"our_fault": callback_data.value == "yes"}
        if data.get("resolution"):
            values["resolution"] = data["resolution"]
        try:
            await svc.do_update_deal(staff, card.deal.id, values, source="bot")
            card = await deal_cards.deal_card(staff, card.deal.id)
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        if data.get("then") == "lost":
            await query.answer()
            await put(query.message, await card_text(card, staff) + "\n\n" + _lost_question(
                card), await reasons_markup(card, page), edit=True)
            return
        await _win(query, staff, card, page, bot, i18n, reminders)

    async def _closed_already(query: CallbackQuery, card: deal_cards.Card, staff: User,
                              page: int) -> bool:
        """Won or Lost on an old card of a deal closed since: said, the card redrawn."""
        kind = card.deal.stage.kind
        if kind == StageKind.OPEN:
            return False
        if card.deal.process.kind == ProcessKind.SALE:
            said = _("The deal is already won.") if kind == StageKind.WON else _(
                "The deal is already lost.")
        else:
            said = _("It is already closed as «{stage}».").format(
                stage=_closing(card, StageKind(kind)))
        await query.answer(said, show_alert=True)
        await put(query.message, await card_text(card, staff), card_markup(card, page),
                  edit=True)
        return True

    # --- lost: a reason, then the competitor (U-6) ------------------------------------
    @router.callback_query(DealCB.filter(F.action == "lost"))
    async def lost(query: CallbackQuery, callback_data: DealCB, staff: User,
                   state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        if await _claim_questions(query, card, state, "lost", callback_data.page):
            return
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _lost_question(
            card), await reasons_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "reason"))
    async def reason_chosen(query: CallbackQuery, callback_data: DealCB, staff: User,
                            state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        reasons = {r.id: r for r in await svc.lost_reasons(card.deal.process.kind)}
        picked = reasons.get(int(callback_data.value or 0))
        if picked is None:  # an admin archived it since
            await query.answer(_("That reason is no longer in the list; choose again."),
                               show_alert=True)
            await put(query.message, await card_text(card, staff) + "\n\n" + _lost_question(
                card), await reasons_markup(card, callback_data.page), edit=True)
            return
        if card.deal.process.kind in NO_COMPETITOR:  # a claim or an execution: no rival
            await _lose(query, staff, state, card, picked.id, None, callback_data.page, bot,
                        i18n, reminders)
            return
        await state.set_state(DealLost.competitor)
        await state.update_data(deal_lost={"deal_id": card.deal.id, "reason_id": picked.id,
                                           "page": callback_data.page})
        await query.answer()
        await put(query.message, await card_text(card, staff) + "\n\n" + _(
            "❌ Lost: {reason}. Who won it? Type part of the competitor's name to find them "
            "among your clients, or press “No competitor”.").format(
            reason=html.escape(item_name(picked, _, SEEDED_ITEM_NAMES))),
            competitor_markup(card.deal.id, picked.id, page=callback_data.page), edit=True)

    @router.message(DealLost.competitor, F.text, ~F.text.startswith("/"))
    async def competitor_typed(message: Message, staff: User, state: FSMContext) -> None:
        from services.client_search import search_clients

        data = (await state.get_data()).get("deal_lost") or {}
        deal_id, reason_id = int(data.get("deal_id") or 0), int(data.get("reason_id") or 0)
        page = int(data.get("page") or 0)
        try:
            deal = await svc.get_deal(staff, deal_id)
        except DomainError as exc:
            await state.set_state(None)
            await message.answer(error_text(exc))
            return
        query_text = " ".join((message.text or "").split())[:200]
        found = [c for c in await search_clients(staff, query_text, limit=9)
                 if c.id != deal.client_id][:8]
        shown = html.escape(_cut(query_text, 60))
        if found:
            text = _("Who won “{title}”? Choose, or type another name.").format(
                title=html.escape(deal.title))
        else:
            text = _("Nothing found for “{query}” among your clients. Type another part of "
                     "the name, or press “No competitor”.").format(query=shown)
        await message.answer(text, reply_markup=competitor_markup(deal_id, reason_id, found,
                                                                  page))

    @router.callback_query(DealCB.filter(F.action.in_({"lostok", "comp"})))
    async def lost_saved(query: CallbackQuery, callback_data: DealCB, staff: User,
                         state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        reason_id, _sep, competitor = callback_data.value.partition("-")
        await _lose(query, staff, state, card, int(reason_id or 0),
                    int(competitor) if competitor else None, callback_data.page, bot, i18n,
                    reminders)

    async def _lose(query: CallbackQuery, staff: User, state: FSMContext, card: deal_cards.Card,
                    reason_id: int, competitor_id: int | None, page: int, bot: Bot,
                    i18n: I18n, reminders) -> None:
        if card.deal.stage.kind == StageKind.LOST:
            await _closed_already(query, card, staff, page)
            return
        try:
            result = await deal_moves.do_lose(staff, card.deal.id, reason_id, competitor_id,
                                              source="bot")
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        data = (await state.get_data()).get("deal_lost") or {}
        if await state.get_state() == DealLost.competitor.state and \
                data.get("deal_id") == card.deal.id:
            await state.set_state(None)
            await state.update_data(deal_lost=None)
        if card.deal.process.kind == ProcessKind.SALE:
            await query.answer(_("❌ Saved as lost."))
        else:
            await query.answer(_("❌ Closed as «{stage}».").format(
                stage=_closing(card, StageKind.LOST)))
        await show_card(query.message, staff, card.deal.id, edit=True, page=page)
        await _after(bot, i18n, reminders, result.notices)

    # --- a task of the deal ---------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "task"))
    async def task(query: CallbackQuery, callback_data: DealCB, staff: User,
                   state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await state.set_state(DealTask.title)
        await state.update_data(deal_task={"deal_id": card.deal.id})
        await query.answer()
        await query.message.answer(
            _("➕ A task of the deal “{title}”. What is to be done? (/cancel to stop)").format(
                title=html.escape(card.deal.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))

    @router.message(DealTask.title, F.text, ~F.text.startswith("/"))
    async def task_title(message: Message, state: FSMContext) -> None:
        title = " ".join((message.text or "").split())
        if len(title) > 300:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("title"), message=_("write 1 to 300 characters")),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))
            return
        data = dict((await state.get_data()).get("deal_task") or {})
        data["title"] = title
        await state.update_data(deal_task=data)
        await state.set_state(DealTask.when)
        await message.answer(_("When? For example “tomorrow 10:00”, “on Friday at 15:30” or "
                               "“28.11 9:00”."),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))

    @router.message(DealTask.when, F.text, ~F.text.startswith("/"))
    async def task_when(message: Message, staff: User, state: FSMContext, bot: Bot,
                        i18n: I18n, reminders=None) -> None:
        from bot.routers.activity_card import read_when

        when: datetime | None = await read_when(message, staff)
        if when is None:
            return
        data = (await state.get_data()).get("deal_task") or {}
        deal_id = int(data.get("deal_id") or 0)
        try:
            created = await svc.do_add_activity(staff, deal_id, {
                "title": data.get("title"), "type": "task", "starts_at": when},
                source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.set_state(None)
        await state.update_data(deal_task=None)
        note = _("➕ Task saved.")
        if when < utcnow():
            note += "\n" + _("⚠️ That date is in the past.")
        await show_card(message, staff, deal_id, note=note)
        await _after(bot, i18n, reminders, created.notices)

    # --- the client --------------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "client"))
    async def client(query: CallbackQuery, callback_data: DealCB, staff: User,
                     state: FSMContext, webapp_url: str | None) -> None:
        from bot.routers.clients import error_text as client_error
        from bot.routers.clients import show_card as show_client

        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        try:
            await show_client(query.message, state, staff, card.deal.client_id, webapp_url)
        except DomainError as exc:
            await query.answer(alert(client_error(exc)), show_alert=True)
            return
        await query.answer()

    return router


def _cancel_router() -> Router:
    """✖️ Cancel on any of the deals' questions."""
    router = Router(name="deals.cancel")

    # --- leaving a question ----------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        current = await state.get_state() or ""
        if current.split(":")[0] in DIALOGS:
            await state.set_state(None)
            await state.update_data(new_deal=None, deal_task=None, deal_lost=None,
                                    deal_edit=None, deal_log=None, deal_claim=None,
                                    new_claim=None)
            await query.answer(_("Cancelled; nothing was saved."))
        else:
            await query.answer(_("This question was already left."))
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)

    return router
