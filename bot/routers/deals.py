"""Deals in the bot (issue 12: U-1, U-2, U-6): ``/deals`` (💼 Deals) lists one's open
deals, those without a next step first and flagged; a deal's card with its stage,
amount, next step and time in stage; ➡️ Move (a list of the stages, one tap), ✅ Won,
❌ Lost (a reason, then the competitor or "No competitor": two taps), ➕ Task (linked to
the deal), 🏢 Client; a new deal from the client's card (title, amount).

Buttons carry the deal's id (and a stage button the deal's version), so a card's
buttons answer whenever they are pressed: with the deal as it is now, "already
there", or "not found" for a deal one may not see. Every question has ✖️ Cancel and
says /cancel; a menu button or a command leaves it (bot/dialogs.py)."""

from __future__ import annotations

import contextlib
import html
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.errors import reason
from bot.keyboards import BTN_DEALS, pager_row
from kontakt.formatting import date_text, money_text, when_text
from kontakt.labels import REQUIREMENTS, item_name, process_name, stage_name
from models import StageKind, User
from notifications.activities import deliver_activity_notices
from services import deals as svc
from services.clock import utcnow
from services.dictionaries import SEEDED_ITEM_NAMES
from services.errors import DomainError, NotFound, ValidationFailed

PAGE = 10
MAX_TITLE = 200


class NewDeal(StatesGroup):
    title = State()
    amount = State()


class DealTask(StatesGroup):
    title = State()
    when = State()


class DealLost(StatesGroup):
    competitor = State()


def _btn(text: str, cb: DealCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def error_text(exc: DomainError) -> str:
    """A refusal about a deal in the person's language: a value refused with what is
    wrong with it (a stage's requirements name what is missing), else not found or
    not allowed."""
    if isinstance(exc, ValidationFailed):
        fields = {"amount": REQUIREMENTS["amount"], "title": "title"}
        if exc.field in fields:
            return _("⚠️ {field}: {message}").format(field=_(fields[exc.field]),
                                                     message=reason(exc))
        return "⚠️ " + reason(exc)
    if isinstance(exc, NotFound):
        return _("That deal was not found or is not yours.")
    return _("You do not have the right to do that.")


def alert(text: str) -> str:
    """A refusal for a callback's alert: plain text (not HTML), as long as one holds."""
    return _cut(html.unescape(text), 190)


def cancel_row() -> list[InlineKeyboardButton]:
    return [_btn(_("✖️ Cancel"), DealCB(action="cancel"))]


# --- the list ------------------------------------------------------------------------
def _row_label(row: svc.DealRow, staff: User) -> str:
    deal = row.deal
    mark = "⚠️" if row.next_step is None else date_text(row.next_step, staff.timezone)[:5]
    text = f"{mark} {deal.title}"
    if deal.client and deal.client.name != deal.title:
        text += f" · {deal.client.name}"
    if deal.amount:
        text += f" · {money_text(deal.amount, deal.currency)}"
    return _cut(text, 64)


async def list_page(staff: User, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """One's open deals, ten a page: those without a next step first (⚠️), then by
    the next step's date."""
    from bot.routers.clients import MyClientsCB

    page = max(0, page)
    filters = svc.DealFilters(mine=True)
    rows, total = await svc.deal_page(staff, filters, page + 1, PAGE)
    if not rows and page > 0:
        page = max(0, (total - 1) // PAGE)
        rows, total = await svc.deal_page(staff, filters, page + 1, PAGE)
    if not total:
        return _("💼 You have no open deals. To start one, open a client (🔎 Clients or "
                 "/clients) and press 💼 New deal on its card."), InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(
                text=_("📋 My clients"), callback_data=MyClientsCB(page=0).pack())]])
    buttons = [[_btn(_row_label(r, staff), DealCB(action="card", deal_id=r.deal.id,
                                                 page=page))] for r in rows]
    pager_row(buttons, total, page, PAGE, lambda p: DealCB(action="list", page=p))
    first = page * PAGE + 1
    lines = [_("💼 My open deals: {first}–{last} of {total}").format(
        first=first, last=first + len(rows) - 1, total=total)]
    if any(r.next_step is None for r in rows):
        lines.append(_("⚠️ — no next step: open the deal and plan one with ➕ Task."))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


# --- the card ------------------------------------------------------------------------
def _stage_line(card: svc.Card) -> str:
    deal, e = card.deal, html.escape
    stage, process = e(stage_name(deal.stage, _)), e(process_name(deal.process, _))
    if deal.stage.kind != StageKind.OPEN:
        return f"{'✅' if deal.stage.kind == StageKind.WON else '❌'} {process}: {stage}"
    opened = [s for s in card.stages if s.kind == StageKind.OPEN]
    number = next((i for i, s in enumerate(opened, 1) if s.id == deal.stage_id), 0)
    return "📍 " + _("{process}: stage {n} of {m}, {stage}").format(
        process=process, n=number, m=len(opened), stage=stage)


def card_text(card: svc.Card, staff: User) -> str:
    deal, e = card.deal, html.escape
    now = utcnow()
    lines = [f"💼 <b>{e(deal.title)}</b>", "🏢 " + e(deal.client.name), _stage_line(card)]
    if deal.stage.kind == StageKind.LOST:
        if deal.lost_reason is not None:
            lines.append(_("Reason: {reason}").format(
                reason=e(item_name(deal.lost_reason, _, SEEDED_ITEM_NAMES))))
        if deal.competitor is not None:
            lines.append(_("Competitor: {name}").format(name=e(deal.competitor.name)))
    lines.append("💰 " + (money_text(deal.amount, deal.currency) if deal.amount is not None
                         else _("no amount yet")))
    if deal.expected_close is not None:
        lines.append(_("📆 Expected close: {date}").format(
            date=deal.expected_close.strftime("%d.%m.%Y")))
    lines.append(_("👤 Owner: {name}").format(name=e(deal.owner.full_name)))
    step = card.next_step
    if step is not None:
        icon = step.type.icon if step.type else ""
        lines.append(_("➡️ Next step: {when} {icon} {title}").format(
            when=when_text(step.starts_at, staff.timezone, str(staff.language), now=now),
            icon=icon, title=e(_cut(step.title, 200))))
    elif deal.stage.kind == StageKind.OPEN:
        lines.append(_("⚠️ No next step: plan one with ➕ Task."))
    if deal.stage.kind == StageKind.OPEN:
        days = max(0, (now - card.in_stage_since).days)
        lines.append(_("⏱ In this stage: {days} d.").format(days=days))
    return "\n".join(lines)


def card_markup(card: svc.Card, page: int = 0) -> InlineKeyboardMarkup:
    deal = card.deal
    did = deal.id
    rows: list[list[InlineKeyboardButton]] = []
    if deal.stage.kind == StageKind.OPEN:
        rows.append([_btn(_("➡️ Move"), DealCB(action="move", deal_id=did, page=page)),
                     _btn(_("✅ Won"), DealCB(action="won", deal_id=did, page=page)),
                     _btn(_("❌ Lost"), DealCB(action="lost", deal_id=did, page=page))])
    else:
        rows.append([_btn(_("↩️ Reopen"), DealCB(action="move", deal_id=did, page=page))])
    rows.append([_btn(_("➕ Task"), DealCB(action="task", deal_id=did)),
                 _btn(_("🏢 Client"), DealCB(action="client", deal_id=did))])
    rows.append([_btn(_("◀️ My deals"), DealCB(action="list", page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def move_markup(card: svc.Card, page: int = 0) -> InlineKeyboardMarkup:
    """The open stages it may go to, one tap each (won and lost have their buttons)."""
    deal = card.deal
    opened = [s for s in card.stages if s.kind == StageKind.OPEN]
    rows = [[_btn(f"{'➡️' if s.id != deal.stage_id else '📍'} {n}. "
                  + _cut(stage_name(s, _), 50),
                  DealCB(action="stage", deal_id=deal.id, v=deal.version, value=str(s.id),
                         page=page))]
            for n, s in enumerate(opened, 1) if s.id != deal.stage_id]
    rows.append([_btn(_("↩️ Back"), DealCB(action="card", deal_id=deal.id, page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def reasons_markup(card: svc.Card, page: int = 0) -> InlineKeyboardMarkup:
    rows = [[_btn(_cut(item_name(r, _, SEEDED_ITEM_NAMES), 60),
                  DealCB(action="reason", deal_id=card.deal.id, value=str(r.id), page=page))]
            for r in await svc.lost_reasons()]
    rows.append([_btn(_("↩️ Back"), DealCB(action="card", deal_id=card.deal.id, page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def competitor_markup(deal_id: int, reason_id: int, found=(), page: int = 0
                      ) -> InlineKeyboardMarkup:
    rows = [[_btn("🏢 " + _cut(c.name, 50), DealCB(action="comp", deal_id=deal_id,
                                                   value=f"{reason_id}-{c.id}", page=page))]
            for c in found]
    rows.append([_btn(_("🤷 No competitor"), DealCB(action="lostok", deal_id=deal_id,
                                                   value=str(reason_id), page=page))])
    rows.append([_btn(_("↩️ Back to the deal"), DealCB(action="card", deal_id=deal_id,
                                                      page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def put(message: Message, text: str, markup: InlineKeyboardMarkup | None, *,
              edit: bool) -> None:
    """Draw in place (a list's page, a card's next state), or as a new message."""
    if edit:
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
    await message.answer(text, reply_markup=markup)


async def show_card(message: Message, staff: User, deal_id: int, *, edit: bool = False,
                    page: int = 0, note: str | None = None) -> svc.Card:
    card = await svc.deal_card(staff, deal_id)
    text = card_text(card, staff)
    if note:
        text = note + "\n\n" + text
    await put(message, text, card_markup(card, page), edit=edit)
    return card


# --- the router ----------------------------------------------------------------------
def build_deals_router() -> Router:
    router = Router(name="deals")
    router.message.filter(F.chat.type == "private")

    async def _after(bot: Bot, i18n: I18n, reminders, notices) -> None:
        """After the commit: the tasks' reminders and the people told (S-18)."""
        if reminders is not None:
            reminders.poke()
        if notices:
            await deliver_activity_notices(bot, i18n, notices)

    async def _card(query: CallbackQuery, staff: User, deal_id: int) -> svc.Card | None:
        """The deal as it is now, or None after answering "not found"."""
        try:
            return await svc.deal_card(staff, deal_id)
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return None

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
        await put(query.message, card_text(card, staff) + "\n\n" + _(
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
            await put(query.message, card_text(card, staff), card_markup(card, page),
                      edit=True)
            return
        if card.deal.version != callback_data.v:  # a list drawn before another move
            await query.answer(_("The deal was moved meanwhile; here it is now."),
                               show_alert=True)
            await put(query.message, card_text(card, staff), card_markup(card, page),
                      edit=True)
            return
        try:
            moved = await svc.do_move(staff, card.deal.id, target, source="bot")
        except DomainError as exc:  # a requirement, a stage one may not skip
            refusal = error_text(exc)
            await query.answer(alert(refusal), show_alert=True)
            await put(query.message, refusal + "\n\n" + card_text(card, staff),
                      card_markup(card, page), edit=True)
            return
        await query.answer(_("Moved to «{stage}».").format(stage=named) if moved.moved
                           else _("The deal is already at «{stage}».").format(stage=named))
        await show_card(query.message, staff, card.deal.id, edit=True, page=page)
        await _after(bot, i18n, reminders, moved.notices)

    @router.callback_query(DealCB.filter(F.action == "won"))
    async def won(query: CallbackQuery, callback_data: DealCB, staff: User, bot: Bot,
                  i18n: I18n, reminders=None) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        try:
            result = await svc.do_win(staff, card.deal.id, source="bot")
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        await query.answer(_("✅ Won! Congratulations."))
        await show_card(query.message, staff, card.deal.id, edit=True,
                        page=callback_data.page)
        await _after(bot, i18n, reminders, result.notices)

    async def _closed_already(query: CallbackQuery, card: svc.Card, staff: User,
                              page: int) -> bool:
        """Won or Lost on an old card of a deal closed since: said, the card redrawn."""
        kind = card.deal.stage.kind
        if kind == StageKind.OPEN:
            return False
        await query.answer(_("The deal is already won.") if kind == StageKind.WON
                           else _("The deal is already lost."), show_alert=True)
        await put(query.message, card_text(card, staff), card_markup(card, page), edit=True)
        return True

    # --- lost: a reason, then the competitor (U-6) ------------------------------------
    @router.callback_query(DealCB.filter(F.action == "lost"))
    async def lost(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        await query.answer()
        await put(query.message, card_text(card, staff) + "\n\n" + _(
            "❌ Why was it lost?"), await reasons_markup(card, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "reason"))
    async def reason_chosen(query: CallbackQuery, callback_data: DealCB, staff: User,
                            state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        if await _closed_already(query, card, staff, callback_data.page):
            return
        reasons = {r.id: r for r in await svc.lost_reasons()}
        picked = reasons.get(int(callback_data.value or 0))
        if picked is None:  # an admin archived it since
            await query.answer(_("That reason is no longer in the list; choose again."),
                               show_alert=True)
            await put(query.message, card_text(card, staff) + "\n\n" + _(
                "❌ Why was it lost?"), await reasons_markup(card, callback_data.page),
                edit=True)
            return
        await state.set_state(DealLost.competitor)
        await state.update_data(deal_lost={"deal_id": card.deal.id, "reason_id": picked.id,
                                           "page": callback_data.page})
        await query.answer()
        await put(query.message, card_text(card, staff) + "\n\n" + _(
            "❌ Lost: {reason}. Who won it? Type part of the competitor's name to find them "
            "among your clients, or press “No competitor”.").format(
            reason=html.escape(item_name(picked, _, SEEDED_ITEM_NAMES))),
            competitor_markup(card.deal.id, picked.id, page=callback_data.page), edit=True)

    @router.message(DealLost.competitor, F.text, ~F.text.startswith("/"))
    async def competitor_typed(message: Message, staff: User, state: FSMContext) -> None:
        from services.clients import search_clients

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
        if card.deal.stage.kind == StageKind.LOST:
            await query.answer(_("The deal is already lost."), show_alert=True)
            await put(query.message, card_text(card, staff),
                      card_markup(card, callback_data.page), edit=True)
            return
        try:
            result = await svc.do_lose(staff, card.deal.id, int(reason_id or 0),
                                       int(competitor) if competitor else None, source="bot")
        except DomainError as exc:
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        data = (await state.get_data()).get("deal_lost") or {}
        if await state.get_state() == DealLost.competitor.state and \
                data.get("deal_id") == card.deal.id:
            await state.set_state(None)
            await state.update_data(deal_lost=None)
        await query.answer(_("❌ Saved as lost."))
        await show_card(query.message, staff, card.deal.id, edit=True,
                        page=callback_data.page)
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
        from bot.routers.activities import read_when

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
            amount, currency = svc.parse_money(message.text or "")
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

    # --- leaving a question ----------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        current = await state.get_state() or ""
        if current.split(":")[0] in ("NewDeal", "DealTask", "DealLost"):
            await state.set_state(None)
            await state.update_data(new_deal=None, deal_task=None, deal_lost=None)
            await query.answer(_("Cancelled; nothing was saved."))
        else:
            await query.answer(_("This question was already left."))
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)

    return router
