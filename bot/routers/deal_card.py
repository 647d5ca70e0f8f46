"""A deal in the bot (issue 12: U-1, U-2, U-5..U-7): the questions' states, the list's
page, the card's text and buttons, the stage, reason, competitor, contact and probability
choices, and drawing a card. The handlers are bot/routers/deals.py (the list, the card,
moves, won and lost, a task) with bot/routers/deal_new.py, deal_edit.py, deal_log.py and
deal_claims.py."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.errors import reason
from bot.keyboards import pager_row
from kontakt.formatting import date_text, money_text, when_text
from kontakt.labels import REQUIREMENTS, item_name, process_name, stage_name
from models import ProcessKind, StageKind, User
from notifications.activities import deliver_activity_notices
from services import deal_cards, deal_lists, deal_stats
from services import deals as svc
from services.clock import utcnow
from services.dealers import deal_dealer
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
    title = State()


class DealLog(StatesGroup):
    text = State()
    type = State()


class DealClaimNew(StatesGroup):
    parent = State()  # from the client's card: which deal it is about
    title = State()


class DealClaimClose(StatesGroup):
    resolution = State()
    fault = State()


NO_COMPETITOR = svc.NO_COMPETITOR
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
    if (dealer := await deal_dealer(deal.id)) is not None:  # M-7
        lines.append(_("🏪 Dealer: {name}").format(name=e(dealer.client.name)))
    if deal.contact is not None:
        lines.append(_("📇 Contact person: {name}").format(name=e(contact_name(deal.contact))))
    if deal.source is not None:
        lines.append(_("📣 Source: {name}").format(
            name=e(item_name(deal.source, _, SEEDED_ITEM_NAMES))))
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
        [_btn(_("📇 Contact person"), DealCB(action="contact", deal_id=did, page=page)),
         _btn(_("📣 Source"), DealCB(action="source", deal_id=did, page=page))],
        [_btn(_("📝 Title"), DealCB(action="rename", deal_id=did, page=page)),
         _btn(_("🏪 Dealer"), DealCB(action="dealer", deal_id=did, page=page))],
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


async def sources_markup(card: deal_cards.Card, page: int = 0) -> InlineKeyboardMarkup:
    """The advertising sources to pick from, two a row; the deal's marked 📍."""
    from services.dictionaries import AD_SOURCE, list_items

    did = card.deal.id
    picks = [_btn(("📍 " if item.id == card.deal.source_id else "")
                  + _cut(item_name(item, _, SEEDED_ITEM_NAMES), 30),
                  DealCB(action="setsource", deal_id=did, value=str(item.id), page=page))
             for item in await list_items(AD_SOURCE, limit=40)]
    rows = [picks[k:k + 2] for k in range(0, len(picks), 2)]
    if card.deal.source_id is not None:
        rows.append([_btn(_("🚫 No source"),
                          DealCB(action="setsource", deal_id=did, value="0", page=page))])
    rows.append([_btn(_("↩️ Back"), DealCB(action="card", deal_id=did, page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


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
            for r in await svc.lost_reasons(card.deal.process.kind)]
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
