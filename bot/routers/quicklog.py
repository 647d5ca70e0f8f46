"""The quick log in the bot (M-3): one message becomes a proposal with buttons;
nothing is saved until Save. The proposal never dead-ends (issue 17): Save and
Cancel answer whatever step it is at, a client search that finds nothing offers to
make the client or go back, a date typed on the proposal is taken, other text is
told that a draft waits, and the buttons of a proposal already saved or cancelled
say so. A saved log goes with the client's open deal (issue 12): the only one at once,
said in the confirmation; one of several chosen with a tap (or none)."""

from __future__ import annotations

import contextlib
import html
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import QuickLogCB
from bot.routers.activity_card import (
    _btn,
    error_text,
    read_when,
    show_card,
    type_label,
)
from kontakt.formatting import when_text
from models import Activity, User
from notifications.activities import deliver_activity_notices
from services import activities as svc
from services import clients as client_service
from services import contacts as contact_service
from services import quicklog
from services.clock import utcnow
from services.errors import DomainError


class QuickLog(StatesGroup):
    confirm = State()
    date = State()
    client = State()


def _draft_of(p: quicklog.Proposal) -> dict:
    f = p.follow_up
    return {
        "text": p.text, "type": p.type_code, "result": p.result, "done": p.done,
        "client_id": p.client.id if p.client else None,
        "candidates": [c.id for c in p.clients][:8],
        "contact_id": p.contact.id if p.contact else None,
        "follow": None if f is None else {
            "type": f.type_code, "title": f.title,
            "starts_at": f.starts_at.isoformat() if f.starts_at else None},
        "problems": p.problems,
    }


async def proposal_text(draft: dict, staff: User) -> str:
    e = html.escape
    lines = [_("I understood:")]
    types = {t.code: t for t in await svc.list_types()}  # seeds them on a fresh install
    t = types.get(draft["type"])
    if draft.get("done", True):
        lines.append(_("Done: {type} — {result}").format(type=type_label(t), result=e(
            draft["result"][:500])))
    else:
        lines.append(_("A plan only: nothing done is logged — {text}").format(
            text=e(draft["result"][:500])))
    client = await client_service.find_client(draft["client_id"]) if draft["client_id"] else None
    if client:
        lines.append("🏢 " + e(client.name))
    elif draft["candidates"]:
        lines.append(_("🏢 Several clients match: choose one below."))
    else:
        lines.append(_("🏢 No client matched: choose one or save without."))
    if draft["contact_id"]:
        c = await contact_service.find_contact(draft["contact_id"])
        if c:
            lines.append("👤 " + e(" ".join(p for p in (c.last_name, c.first_name) if p)))
    follow = draft.get("follow")
    if follow:
        ft = types.get(follow["type"])
        when = _("no date yet: set one") if not follow["starts_at"] else when_text(
            datetime.fromisoformat(follow["starts_at"]), staff.timezone, str(staff.language),
            now=utcnow())
        label = type_label(ft)
        # a title that only repeats the type ("📞 Call Call") is said once
        title = "" if label.casefold().endswith(follow["title"].strip().casefold()) else \
            e(follow["title"])
        lines.append(_("Next: {type} {title} — {when}").format(
            type=label, title=title, when=when).replace("  — ", " — "))
        if "past_date" in draft["problems"]:
            lines.append(_("⚠️ That date is in the past."))
    lines.append(_("Nothing is saved until you press Save."))
    return "\n".join(lines)


async def proposal_markup(draft: dict) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if not draft["client_id"] and draft["candidates"]:
        for client in await client_service.clients_by_ids(draft["candidates"]):
            rows.append([_btn("🏢 " + client.name[:50], QuickLogCB(action="pick",
                                                                  value=str(client.id)))])
    rows.append([_btn(_("✅ Save"), QuickLogCB(action="save"))])
    done = draft.get("done", True)
    rows.append([_btn(_("🏢 Client"), QuickLogCB(action="client")),
                 *([_btn(_("🔖 Type"), QuickLogCB(action="types"))] if done else []),
                 _btn(_("📅 Date"), QuickLogCB(action="date"))])
    if draft.get("follow"):
        # a plan read as done, or done read as a plan: one tap sets it right
        rows.append([_btn(_("📝 Only the plan") if done else _("✅ Something was done too"),
                          QuickLogCB(action="plan" if done else "did"))])
    if draft.get("follow"):
        rows.append([_btn(_("🔖 Next step's type"), QuickLogCB(action="types", value="next"))])
    row = [_btn(_("✖️ Cancel"), QuickLogCB(action="cancel"))]
    if draft.get("follow"):
        row.insert(0, _btn(_("🚫 No next step"), QuickLogCB(action="nofollow")))
    rows.append(row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def save_quicklog(staff: User, draft: dict
                        ) -> tuple[Activity, list[int], list[svc.Notice]]:
    """One tap saves all: the logged activity (done) and its follow-up task, in one
    transaction (a refused follow-up leaves nothing half-saved); returns the one to
    show, the ids of both, and whom to tell."""
    follow = draft.get("follow")
    done = draft.get("done", True) or not follow
    logged, nxt, notices = await svc.do_log_with_follow_up(staff, {
        "title": draft["result"][:120], "type": draft["type"], "result": draft["result"],
        "client_id": draft["client_id"], "contact_id": draft["contact_id"],
        "starts_at": utcnow(), "reminders": []} if done else None, {
        "title": follow["title"][:300], "type": follow["type"],
        "client_id": draft["client_id"], "contact_id": draft["contact_id"],
        "starts_at": follow["starts_at"]} if follow else None, source="bot")
    return nxt or logged, [a.id for a in (logged, nxt) if a is not None], notices


def deal_choice_markup(deals: list, ids: list[int]) -> InlineKeyboardMarkup:
    """The client's open deals to link a saved log to, one tap each, or none."""
    from kontakt.labels import stage_name

    saved = ".".join(str(i) for i in ids)
    rows = [[_btn(f"💼 {d.title[:40]} · {stage_name(d.stage, _)[:20]}",
                  QuickLogCB(action="deal", value=f"{d.id}-{saved}"))] for d in deals]
    rows.append([_btn(_("🚫 No deal"), QuickLogCB(action="deal", value=f"0-{saved}"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _quick(message: Message, staff: User, state: FSMContext) -> None:
    """M-3: one message → a proposal with buttons; nothing saved until confirmed."""
    text = (message.text or "").strip()
    if len(text) < 8 or len(text.split()) < 2:
        await message.answer(_("Type what you did in one message, e.g. “called Petrov "
                               "from Romashka, meet on Friday at 15:00”, or use the menu."))
        return
    proposal = await quicklog.propose(staff, text[:2000], language=str(staff.language),
                                      timezone=staff.timezone, now=utcnow())
    draft = _draft_of(proposal)
    await state.set_state(QuickLog.confirm)
    await _show(message, staff, state, draft)


async def _show(message: Message, staff: User, state: FSMContext, draft: dict, *,
                edit: bool = False) -> None:
    """Draw the proposal (as a new message, or in place) and remember which message
    carries its buttons: only that one's buttons act on the draft."""
    text, markup = await proposal_text(draft, staff), await proposal_markup(draft)
    if edit:
        await message.edit_text(text, reply_markup=markup)
        draft["message_id"] = message.message_id
    else:
        sent = await message.answer(text, reply_markup=markup)
        draft["message_id"] = sent.message_id
    await state.update_data(quicklog=draft)


async def _close(state: FSMContext, message_id: int | None, how: str) -> None:
    """The draft is saved or cancelled: its buttons answer so from now on."""
    data = await state.get_data()
    closed = dict(data.get("quicklog_closed") or {})
    if message_id is not None:
        closed[str(message_id)] = how
    closed = dict(list(closed.items())[-20:])
    await state.set_state(None)
    await state.update_data(quicklog=None, quicklog_closed=closed)



def build_quicklog_router() -> Router:
    router = Router(name="quicklog")
    router.message.filter(F.chat.type == "private")

    # any other text in no dialog
    @router.message(StateFilter(None), F.text, ~F.text.startswith("/"))
    async def quick(message: Message, staff: User, state: FSMContext) -> None:
        await _quick(message, staff, state)

    @router.callback_query(QuickLogCB.filter(F.action == "deal"))
    async def deal_chosen(query: CallbackQuery, callback_data: QuickLogCB,
                          staff: User) -> None:
        """A saved log (and its follow-up) linked to the deal chosen, or to none; the
        choice can be changed with the same buttons."""
        from bot.routers.deal_card import error_text as deal_error
        from services.deals import get_deal

        deal_part, _sep, saved = callback_data.value.partition("-")
        ids = [int(i) for i in saved.split(".") if i.isdigit()]
        deal_id = int(deal_part) if deal_part.isdigit() and int(deal_part) else None
        try:
            await quicklog.do_link_to_deal(staff, ids, deal_id)
            deal = await get_deal(staff, deal_id) if deal_id else None
        except DomainError as exc:
            await query.answer(deal_error(exc)[:190], show_alert=True)
            return
        if deal is None:
            said = _("Not linked to any deal.")
        else:
            said = _("🔗 Linked to the deal “{title}”.").format(title=html.escape(deal.title))
        await query.answer(html.unescape(said)[:190])
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(said, reply_markup=query.message.reply_markup)

    @router.callback_query(QuickLogCB.filter())
    async def quick_button(query: CallbackQuery, callback_data: QuickLogCB, staff: User,
                           state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        data = await state.get_data()
        draft = data.get("quicklog")
        here = query.message.message_id if query.message else None
        action, value = callback_data.action, callback_data.value
        elsewhere = action in ("back", "newclient")  # buttons under a question, not on it
        if not draft or (not elsewhere and draft.get("message_id") not in (None, here)):
            how = (data.get("quicklog_closed") or {}).get(str(here))
            await query.answer(
                _("This proposal is already saved.") if how == "saved" else
                _("This proposal was cancelled; nothing was saved from it.")
                if how == "cancelled" else
                _("This proposal is out of date; the newer one is further down, or "
                  "type it again."), show_alert=True)
            if query.message is not None:
                await query.message.edit_reply_markup(reply_markup=None)
            return
        if action == "cancel":
            await _close(state, here, "cancelled")
            await query.answer(_("Cancelled; nothing was saved."))
            await query.message.edit_reply_markup(reply_markup=None)
            await query.message.answer(_("✖️ Cancelled; nothing was saved."))
            return
        if action == "save":
            if draft.get("follow") and not draft["follow"]["starts_at"]:
                await query.answer(_("Set the date of the next step first (📅 Date), or "
                                     "press 🚫 No next step."), show_alert=True)
                return
            try:
                activity, ids, notices = await save_quicklog(staff, draft)
            except DomainError as exc:
                await query.answer(error_text(exc)[:190], show_alert=True)
                return  # the proposal stays as it was
            await _close(state, here, "saved")
            await query.answer(_("Saved."))
            await query.message.edit_reply_markup(reply_markup=None)
            # issue 12: the client's open deal gets it (several: the person chooses)
            link = await quicklog.link_to_open_deal(staff, draft.get("client_id"), ids)
            said = _("✅ Logged.") if draft.get("done", True) else _("✅ Planned.")
            if link.linked is not None:
                said += "\n" + _("🔗 Linked to the deal “{title}”.").format(
                    title=html.escape(link.linked.title))
            await query.message.answer(said)
            await show_card(query.message, staff, activity.id)
            if link.choices:
                await query.message.answer(
                    _("🔗 The client has several open deals. Which one is this about?"),
                    reply_markup=deal_choice_markup(link.choices, ids))
            if reminders is not None:
                reminders.poke()
            if notices:
                await deliver_activity_notices(bot, i18n, notices)
            return
        if action == "date":
            await state.set_state(QuickLog.date)
            await query.answer()
            await query.message.answer(_("When is the next step? For example “tomorrow "
                                         "10:00”. (/cancel to drop the draft)"))
            return
        if action == "client":
            await state.set_state(QuickLog.client)
            await query.answer()
            await query.message.answer(_("Type part of the client's name, phone or INN. "
                                         "(/cancel to drop the draft)"),
                                       reply_markup=_back_markup())
            return
        if action == "types":
            await query.answer()
            types = [t for t in await svc.list_types() if t.code]
            rows = [[_btn(type_label(t), QuickLogCB(action="settype" if value != "next"
                                                    else "setnext", value=t.code))]
                    for t in types]
            rows.append([_btn(_("↩️ Back"), QuickLogCB(action="back"))])
            await query.message.edit_reply_markup(
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            return
        if action == "newclient":
            name = (draft.get("new_client") or "").strip()
            from bot.routers.clients import region_of
            from services.clients import do_create_client

            try:
                created = await do_create_client(staff, {"kind": "company", "name": name},
                                                 source="bot", region=region_of(staff))
            except DomainError as exc:
                await query.answer(error_text(exc)[:190], show_alert=True)
                return
            draft["client_id"] = created.client.id
            draft["candidates"] = [created.client.id]
            draft["contact_id"] = None
            draft.pop("new_client", None)
            await state.set_state(QuickLog.confirm)
            await query.answer(_("Client “{name}” created.").format(name=name[:60]))
            await query.message.edit_reply_markup(reply_markup=None)
            await _show(query.message, staff, state, draft)
            return
        if action == "pick":
            if int(value) not in draft["candidates"]:
                await query.answer()
                return
            draft["client_id"] = int(value)
            draft["contact_id"] = await quicklog.contact_in(draft["client_id"], draft["text"])
        elif action == "nofollow":
            draft["follow"] = None
            draft["done"] = True  # without a plan, what is saved is what was done
        elif action in ("plan", "did"):
            draft["done"] = action == "did"
        elif action == "settype":
            draft["type"] = value
        elif action == "setnext" and draft.get("follow"):
            draft["follow"]["type"] = value
        # back, and the changes above: the proposal again
        await state.set_state(QuickLog.confirm)
        await query.answer()
        if here == draft.get("message_id"):
            await _show(query.message, staff, state, draft, edit=True)
        else:  # from a question under the proposal: the proposal again, below it
            await query.message.edit_reply_markup(reply_markup=None)
            await _show(query.message, staff, state, draft)

    def _back_markup() -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[
            _btn(_("↩️ Back to the proposal"), QuickLogCB(action="back"))]])

    @router.message(QuickLog.confirm, F.text, ~F.text.startswith("/"))
    async def text_on_proposal(message: Message, staff: User, state: FSMContext) -> None:
        """Text while the proposal waits: a date when the next step has none, else
        the person is told the draft waits, and the proposal is shown again."""
        draft = (await state.get_data()).get("quicklog") or {}
        follow = draft.get("follow")
        if not draft:
            await state.set_state(None)
            await _quick(message, staff, state)
            return
        if follow is not None and not follow.get("starts_at"):
            when = quicklog.parse_when(message.text or "", language=str(staff.language),
                                       timezone=staff.timezone, now=utcnow())
            if when is not None:
                await _set_date(message, staff, state, draft, when)
                return
        await message.answer(_("A draft is waiting: press ✅ Save or ✖️ Cancel on it "
                               "(here it is again). To log something else, cancel it "
                               "first."))
        await _show(message, staff, state, draft)

    async def _set_date(message: Message, staff: User, state: FSMContext, draft: dict,
                        when: datetime) -> None:
        follow = draft.get("follow") or {"type": "task", "title": _("Next step")}
        follow["starts_at"] = when.isoformat()
        draft["follow"] = follow
        draft["problems"] = [p for p in draft.get("problems", []) if p not in (
            "no_date", "past_date")] + (["past_date"] if when < utcnow() else [])
        await state.set_state(QuickLog.confirm)
        await _show(message, staff, state, draft)

    @router.message(QuickLog.date, F.text, ~F.text.startswith("/"))
    async def quick_date(message: Message, staff: User, state: FSMContext) -> None:
        draft = (await state.get_data()).get("quicklog") or {}
        when = await read_when(message, staff)
        if when is None:
            return
        await _set_date(message, staff, state, draft, when)

    @router.message(QuickLog.client, F.text, ~F.text.startswith("/"))
    async def quick_client(message: Message, staff: User, state: FSMContext) -> None:
        from services.client_search import search_clients

        draft = (await state.get_data()).get("quicklog") or {}
        typed = " ".join((message.text or "").split())[:300]
        found = await search_clients(staff, typed, limit=8)
        if not found:
            draft["new_client"] = typed
            await state.update_data(quicklog=draft)
            rows = [[_btn(_("↩️ Back to the proposal"), QuickLogCB(action="back"))]]
            if any(ch.isalnum() for ch in typed):
                rows.insert(0, [_btn(_("➕ New client “{name}”").format(name=typed[:40]),
                                     QuickLogCB(action="newclient"))])
            await message.answer(_("Nothing found for “{query}”. Type another part of the "
                                   "name, a phone or an INN, make it a new client, or go "
                                   "back.").format(query=html.escape(typed)),
                                 reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            return
        draft["candidates"] = [c.id for c in found]
        draft["client_id"] = found[0].id if len(found) == 1 else None
        draft["contact_id"] = await quicklog.contact_in(found[0].id, draft["text"]) \
            if len(found) == 1 else None
        await state.set_state(QuickLog.confirm)
        await _show(message, staff, state, draft)

    return router


def build_quicklog_in_search_router() -> Router:
    """After a search the chat stays in search mode; a message that reads as a log
    of work ("called Petrov...") is a quick log all the same (M-3)."""
    from bot.routers.clients import Search

    router = Router(name="quicklog-in-search")
    router.message.filter(F.chat.type == "private")

    @router.message(Search.query, F.text, ~F.text.startswith("/"),
                    F.text.func(quicklog.looks_like_log))
    async def quick_from_search(message: Message, staff: User, state: FSMContext) -> None:
        await state.set_state(None)
        await _quick(message, staff, state)

    return router
