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
says /cancel; a menu button or a command leaves it (bot/dialogs.py)."""

from __future__ import annotations

import contextlib
import html
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.errors import reason
from bot.keyboards import BTN_DEALS, pager_row
from kontakt.formatting import date_text, money_text, when_text
from kontakt.labels import REQUIREMENTS, item_name, process_name, stage_name
from models import ProcessKind, StageKind, User
from notifications.activities import deliver_activity_notices
from services import deal_cards, deal_lists, deal_money, deal_stats
from services import deals as svc
from services.clock import utcnow
from services.dictionaries import SEEDED_ITEM_NAMES
from services.errors import N_, DomainError, NotFound, ValidationFailed

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


class DealEdit(StatesGroup):
    amount = State()
    close = State()


class DealLog(StatesGroup):
    text = State()
    type = State()


class DealClaimNew(StatesGroup):
    parent = State()  # from the client's card: which deal it is about
    title = State()


class DealClaimClose(StatesGroup):
    resolution = State()
    fault = State()


NO_COMPETITOR = (ProcessKind.CLAIM, ProcessKind.EXECUTION)
DIALOGS = ("NewDeal", "DealTask", "DealLost", "DealEdit", "DealLog", "DealClaimNew",
           "DealClaimClose")


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
def _row_label(row: deal_lists.DealRow, staff: User) -> str:
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
    filters = deal_lists.DealFilters(mine=True)
    rows, total = await deal_lists.deal_page(staff, filters, page + 1, PAGE)
    if not rows and page > 0:
        page = max(0, (total - 1) // PAGE)
        rows, total = await deal_lists.deal_page(staff, filters, page + 1, PAGE)
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
def _stage_line(card: deal_cards.Card) -> str:
    deal, e = card.deal, html.escape
    stage, process = e(stage_name(deal.stage, _)), e(process_name(deal.process, _))
    if deal.stage.kind != StageKind.OPEN:
        return f"{'✅' if deal.stage.kind == StageKind.WON else '❌'} {process}: {stage}"
    opened = [s for s in card.stages if s.kind == StageKind.OPEN]
    number = next((i for i, s in enumerate(opened, 1) if s.id == deal.stage_id), 0)
    return "📍 " + _("{process}: stage {n} of {m}, {stage}").format(
        process=process, n=number, m=len(opened), stage=stage)


BASIS = {"model": N_("from the company's closed deals"),
         "stages": N_("from stage-to-stage conversion"),
         "default": N_("the stage's estimate"), "override": N_("set by the manager")}
BANDS = {"none": N_("no amount"), "b0": N_("under 100 000"),
         "b1": N_("100 000 to 1 million"), "b2": N_("1 to 10 million"),
         "b3": N_("10 million and more")}
OVERRIDES = (10, 25, 50, 75, 90)


def _ratio(value: float) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if str(get_i18n().current_locale) in ("ru", "uk") else text


def factor_text(factor: deal_stats.Factor) -> str:
    """A factor of the model's estimate as a person reads it: "↑ source: Website (×1.8)"."""
    e = html.escape
    if factor.feature == "source":
        text = _("source: {name}").format(name=e(
            item_name(factor.item, _, SEEDED_ITEM_NAMES)) if factor.item is not None
            else _("none"))
    elif factor.feature == "owner":
        text = _("owner: {name}").format(name=e(factor.person.full_name)
                                         if factor.person is not None else _("nobody"))
    elif factor.feature == "kind":
        text = _("the client is a company") if factor.value == "company" else _(
            "the client is an individual")
    elif factor.feature == "band":
        text = _("amount: {band}").format(band=_(BANDS.get(factor.value, BANDS["none"])))
    else:
        text = e(f"{factor.feature}: {factor.value}")
    arrow = "↑" if factor.ratio >= 1 else "↓"
    return f"  {arrow} {text} (×{_ratio(factor.ratio)})"


def probability_lines(est: deal_stats.Estimate, factors: list[deal_stats.Factor]
                      ) -> list[str]:
    lines = [_("🎯 Probability: {value} % — {basis}").format(
        value=est.value, basis=_(BASIS.get(est.basis, BASIS["default"])))]
    if factors:
        lines.append(_("What moves it most:"))
        lines += [factor_text(f) for f in factors]
    return lines


def contact_name(contact) -> str:
    return " ".join(x for x in (contact.last_name, contact.first_name,
                                getattr(contact, "middle_name", None)) if x)


def is_claim(deal) -> bool:
    return deal.process.kind == ProcessKind.CLAIM


async def card_text(card: deal_cards.Card, staff: User) -> str:
    deal, e = card.deal, html.escape
    now = utcnow()
    lines = [f"💼 <b>{e(deal.title)}</b>", "🏢 " + e(deal.client.name), _stage_line(card)]
    if card.parent is not None:
        lines.append(_("📌 About the deal: {title}").format(title=e(card.parent.title)))
    if deal.stage.kind == StageKind.LOST:
        if deal.lost_reason is not None:
            lines.append(_("Reason: {reason}").format(
                reason=e(item_name(deal.lost_reason, _, SEEDED_ITEM_NAMES))))
        if deal.competitor is not None:
            lines.append(_("Competitor: {name}").format(name=e(deal.competitor.name)))
    if is_claim(deal) and deal.resolution:
        lines.append(_("📝 Resolution: {text}").format(text=e(_cut(deal.resolution, 500))))
    if is_claim(deal) and deal.our_fault is not None:
        lines.append(_("Our fault: yes") if deal.our_fault else _("Our fault: no"))
    lines.append("💰 " + (money_text(deal.amount, deal.currency) if deal.amount is not None
                         else _("no amount yet")))
    if deal.stage.kind == StageKind.OPEN:
        lines += probability_lines(*await deal_stats.explained(deal))
    if deal.expected_close is not None:
        lines.append(_("📆 Expected close: {date}").format(
            date=deal.expected_close.strftime("%d.%m.%Y")))
    lines.append(_("👤 Owner: {name}").format(name=e(deal.owner.full_name)))
    if deal.contact is not None:
        lines.append(_("📇 Contact person: {name}").format(name=e(contact_name(deal.contact))))
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


def _closing(card: deal_cards.Card, kind: StageKind) -> str:
    """The won or lost stage's name for its button ("Won", "Settled", "Выиграна")."""
    stage = next((s for s in card.stages if s.kind == kind), None)
    if stage is None:
        return _("Won") if kind == StageKind.WON else _("Lost")
    return _cut(stage_name(stage, _), 24)


def card_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
    deal = card.deal
    did = deal.id
    rows: list[list[InlineKeyboardButton]] = []
    if deal.stage.kind == StageKind.OPEN:
        rows.append([_btn(_("➡️ Move"), DealCB(action="move", deal_id=did, page=page)),
                     _btn("✅ " + _closing(card, StageKind.WON),
                          DealCB(action="won", deal_id=did, page=page)),
                     _btn("❌ " + _closing(card, StageKind.LOST),
                          DealCB(action="lost", deal_id=did, page=page))])
    else:
        rows.append([_btn(_("↩️ Reopen"), DealCB(action="move", deal_id=did, page=page))])
    rows.append([_btn(_("➕ Task"), DealCB(action="task", deal_id=did)),
                 _btn(_("📝 Log contact"), DealCB(action="log", deal_id=did))])
    edit_row = [_btn(_("✏️ Edit"), DealCB(action="edit", deal_id=did, page=page))]
    if deal.stage.kind == StageKind.OPEN:
        edit_row.append(_btn(_("🎯 Probability"), DealCB(action="prob", deal_id=did,
                                                        page=page)))
    rows.append(edit_row)
    talk_row = [_btn(_("💬 Discuss"), DealCB(action="discuss", deal_id=did))]
    if not is_claim(deal):
        talk_row.append(_btn(_("⚠️ Claim"), DealCB(action="claim", deal_id=did)))
    rows.append(talk_row)
    rows.append([_btn(_("🏢 Client"), DealCB(action="client", deal_id=did)),
                 _btn(_("◀️ My deals"), DealCB(action="list", page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def edit_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
    did = card.deal.id
    return InlineKeyboardMarkup(inline_keyboard=[
        [_btn(_("💰 Amount"), DealCB(action="amount", deal_id=did, page=page)),
         _btn(_("📆 Expected close"), DealCB(action="close", deal_id=did, page=page))],
        [_btn(_("📇 Contact person"), DealCB(action="contact", deal_id=did, page=page))],
        [_btn(_("↩️ Back"), DealCB(action="card", deal_id=did, page=page))]])


def probability_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
    did = card.deal.id
    values = [_btn(f"{v} %", DealCB(action="setprob", deal_id=did, value=str(v), page=page))
              for v in OVERRIDES]
    rows = [values[:3], values[3:]]
    if card.deal.probability_override is not None:
        rows.append([_btn(_("🧮 Back to the estimate"),
                          DealCB(action="setprob", deal_id=did, value="", page=page))])
    rows.append([_btn(_("↩️ Back"), DealCB(action="card", deal_id=did, page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def contacts_markup(staff: User, card: deal_cards.Card, page: int = 0
                          ) -> tuple[str, InlineKeyboardMarkup]:
    from services.contacts import list_contacts

    did = card.deal.id
    people = await list_contacts(staff, card.deal.client_id)
    rows = [[_btn(("📍 " if p.id == card.deal.contact_id else "👤 ")
                  + _cut(contact_name(p), 50),
                  DealCB(action="setcontact", deal_id=did, value=str(p.id), page=page))]
            for p in people[:20]]
    if card.deal.contact_id is not None:
        rows.append([_btn(_("🚫 No contact person"),
                          DealCB(action="setcontact", deal_id=did, value="0", page=page))])
    rows.append([_btn(_("↩️ Back"), DealCB(action="card", deal_id=did, page=page))])
    if not people:
        return _("📇 The client has no contact persons yet: add one on the client's card "
                 "(🏢 Client → 👥 Contacts)."), InlineKeyboardMarkup(inline_keyboard=rows)
    return _("📇 Who is the deal's contact person?"), InlineKeyboardMarkup(inline_keyboard=rows)


def move_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
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


async def reasons_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
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


def _fault_question(title: str) -> str:
    if title:
        return _("⚠️ The claim “{title}”: was it our fault?").format(title=html.escape(title))
    return _("Was it our fault?")


def fault_markup(deal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_btn(_("Yes, ours"), DealCB(action="fault", deal_id=deal_id, value="yes")),
         _btn(_("No, not ours"), DealCB(action="fault", deal_id=deal_id, value="no"))],
        cancel_row()])


def _lost_question(card: deal_cards.Card) -> str:
    if card.deal.process.kind == ProcessKind.SALE:
        return _("❌ Why was it lost?")
    return _("❌ «{stage}»: why? Choose the reason.").format(
        stage=html.escape(_closing(card, StageKind.LOST)))


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
                    page: int = 0, note: str | None = None) -> deal_cards.Card:
    card = await deal_cards.deal_card(staff, deal_id)
    text = await card_text(card, staff)
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

    async def _card(query: CallbackQuery, staff: User, deal_id: int) -> deal_cards.Card | None:
        """The deal as it is now, or None after answering "not found"."""
        try:
            return await deal_cards.deal_card(staff, deal_id)
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
            moved = await svc.do_move(staff, card.deal.id, target, source="bot")
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
            result = await svc.do_win(staff, card.deal.id, source="bot")
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
        reasons = {r.id: r for r in await svc.lost_reasons()}
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
            result = await svc.do_lose(staff, card.deal.id, reason_id, competitor_id,
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

    # --- log a contact of the deal -------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "log"))
    async def log(query: CallbackQuery, callback_data: DealCB, staff: User,
                  state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await state.set_state(DealLog.text)
        await state.update_data(deal_log={"deal_id": card.deal.id})
        await query.answer()
        await query.message.answer(
            _("📝 What happened in “{title}”? Type it as you would say it, e.g. “called "
              "Petrov, they agreed to the price”. (/cancel to stop)").format(
                title=html.escape(card.deal.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))

    @router.message(DealLog.text, F.text, ~F.text.startswith("/"))
    async def log_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                        i18n: I18n, reminders=None) -> None:
        from services import quicklog

        text = (message.text or "").strip()[:2000]
        data = dict((await state.get_data()).get("deal_log") or {})
        data["text"] = text
        code = quicklog.done_type(text)
        if code is not None:
            await _log(message, staff, state, data, code, bot, i18n, reminders)
            return
        await state.update_data(deal_log=data)
        await state.set_state(DealLog.type)
        await message.answer(_("🔖 What kind of contact was it?"),
                             reply_markup=await _types_markup(int(data.get("deal_id") or 0)))

    async def _types_markup(deal_id: int) -> InlineKeyboardMarkup:
        from bot.routers.activity_card import type_label
        from services.activities import list_types

        types = [t for t in await list_types() if t.code != "task"]
        buttons = [_btn(_cut(type_label(t), 30), DealCB(action="logtype", deal_id=deal_id,
                                                       value=t.code or str(t.id)))
                   for t in types]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        rows.append(cancel_row())
        return InlineKeyboardMarkup(inline_keyboard=rows)

    @router.callback_query(DealLog.type, DealCB.filter(F.action == "logtype"))
    async def log_type(query: CallbackQuery, callback_data: DealCB, staff: User,
                       state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        data = (await state.get_data()).get("deal_log") or {}
        if data.get("deal_id") != callback_data.deal_id or not data.get("text"):
            await query.answer(_("This question was already left."), show_alert=True)
            return
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await _log(query.message, staff, state, dict(data), callback_data.value, bot, i18n,
                   reminders)

    async def _log(message: Message, staff: User, state: FSMContext, data: dict, code: str,
                   bot: Bot, i18n: I18n, reminders) -> None:
        from bot.routers.activity_card import type_label
        from services import quicklog
        from services.activities import get_type

        deal_id, text = int(data.get("deal_id") or 0), str(data.get("text") or "")
        try:
            deal = await svc.get_deal(staff, deal_id)
            contact_id = await quicklog.contact_in(deal.client_id, text) or deal.contact_id
            kind = await get_type(code)
            saved = await svc.do_add_activity(staff, deal_id, {
                "title": _cut(" ".join(text.split()), 120), "type": code, "result": text,
                "contact_id": contact_id, "starts_at": utcnow(), "reminders": [],
                "done": True}, source="bot")
        except DomainError as exc:
            await state.set_state(None)
            await state.update_data(deal_log=None)
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        await state.update_data(deal_log=None)
        await show_card(message, staff, deal_id, note=_("📝 Logged: {type}.").format(
            type=type_label(kind)))
        await _after(bot, i18n, reminders, saved.notices)

    # --- discuss: the topic of the deal's next step (K-2) -----------------------------------
    @router.callback_query(DealCB.filter(F.action == "discuss"))
    async def discuss(query: CallbackQuery, callback_data: DealCB, staff: User, bot: Bot,
                      i18n: I18n) -> None:
        from notifications import discussions as topics

        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        step = card.next_step
        if step is None:
            await query.answer(_("The deal is discussed in the topic of its next step, and it "
                                 "has none: plan one with ➕ Task first."), show_alert=True)
            return
        try:
            opened = await topics.open_topic(bot, i18n, staff, step.id,
                                             str(i18n.default_locale))
        except DomainError:  # on the deal's team, but not on that task
            await query.answer(_("The next step is someone else's task; ask its assignee to "
                                 "open the discussion."), show_alert=True)
            return
        await query.answer()
        if opened.link is None:
            await query.message.answer(_("There is no team forum group yet (an administrator "
                                         "adds the bot to one and sends /setup there). "
                                         "Comments on the task stay in the CRM."))
            return
        await query.message.answer(
            _("💬 “{title}” is discussed in the topic of its next step, “{step}”:").format(
                title=html.escape(card.deal.title), step=html.escape(_cut(step.title, 100))),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                [InlineKeyboardButton(text=_("Open the topic"), url=opened.link)]]))

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
