"""/today, /week and /overdue in the bot (S-19, S-20): the agenda of a day or of the
next seven, or what is overdue, narrowed by the words after the command — a type, a
priority, a state, a client's name, or @a colleague whose calendar one may open."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB
from bot.keyboards import BTN_TODAY
from bot.routers.activity_card import (
    _btn,
    error_text,
    item_button,
    priority_label,
    state_label,
    type_label,
)
from kontakt.formatting import when_text
from models import User
from services import activities as svc
from services import staff as staff_service
from services.clock import utcnow
from services.errors import DomainError, NotFound


async def parse_filters(args: str | None) -> svc.Filters:
    """S-19: words after /today, /week, /overdue: a type (code or name), a priority,
    a state; anything else is looked up as a client name."""
    f = svc.Filters()
    rest: list[str] = []
    types = await svc.list_types()
    priorities = {p: p for p in ("low", "normal", "high", "critical")}
    priorities.update({priority_label(p).lower(): p for p in priorities.copy()})
    states = {s: s for s in ("planned", "done", "postponed", "cancelled", "rescheduled")}
    states.update({state_label(s).lower(): s for s in states.copy()})
    for word in (args or "").split():
        w = word.lower()
        if w.startswith("@") and len(w) > 1:  # a colleague's agenda: @username
            person = await staff_service.get_by_username(w[1:])
            f.assignee_id = person.id if person else -1
            continue
        found = next((t for t in types if w in (t.code, t.name.lower(),
                                                type_label(t).split(" ", 1)[-1].lower())), None)
        if found is not None:
            if found.code:
                f.type_code = found.code
            else:
                f.type_id = found.id
        elif w in priorities:
            f.priority = priorities[w]
        elif w in states:
            f.state = states[w]
        else:
            rest.append(word)
    return f if not rest else _with_client(f, " ".join(rest))


def _with_client(f: svc.Filters, text: str) -> svc.Filters:
    f.client_query = text  # type: ignore[attr-defined] - resolved by the caller
    return f


async def _resolve_client(staff: User, f: svc.Filters) -> str | None:
    from services.client_search import search_clients

    text = getattr(f, "client_query", None)
    if not text:
        return None
    found = await search_clients(staff, text, limit=2)
    if len(found) != 1:
        return _("No single client matches “{query}”.").format(query=html.escape(text))
    f.client_id = found[0].id
    return None


async def send_agenda(message: Message, staff: User, kind: str, args: str | None) -> None:
    try:
        await _send_agenda(message, staff, kind, args)
    except DomainError as exc:  # a colleague one may not see, or nobody of that name
        await message.answer(error_text(exc))


async def _send_agenda(message: Message, staff: User, kind: str, args: str | None) -> None:
    f = await parse_filters(args)
    if f.assignee_id == -1:
        raise NotFound("person")
    if problem := await _resolve_client(staff, f):
        await message.answer(problem)
        return
    now = utcnow()
    if kind == "overdue":
        items = await svc.overdue(staff, filters=f)
        title = _("⚠️ Overdue: {count}").format(count=len(items))
        rows = [item_button(a, staff) for a in items[:40]]
    else:
        days = 7 if kind == "week" else 1
        start, end = svc.day_bounds(now, staff.timezone, days)
        items = await svc.agenda(staff, start, end, filters=f)
        if kind == "week":
            title = _("🗓 Next 7 days: {count}").format(count=len(items))
        else:
            title = _("📅 Today: {count}").format(count=len(items))
        rows = []
        day = None
        for item in items[:40]:
            label = when_text(item.start, staff.timezone, str(staff.language), now=now)[:-7]
            if kind == "week" and label != day:
                day = label
                rows.append([_btn(f"— {label} —", ActivityCB(action="noop"))])
            rows.append(item_button(item, staff))
        overdue_count = len(await svc.overdue(staff, filters=f, limit=100))
        if overdue_count:
            rows.append([_btn(_("⚠️ Overdue: {count}").format(count=overdue_count),
                              ActivityCB(action="list", value="overdue"))])
    if not items:
        title += "\n" + _("Nothing here. Type what you did, e.g. “called Petrov, meet on "
                          "Friday at 15:00”, or use /task.")
    await message.answer(title, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
                         if rows else None)


def build_agenda_router() -> Router:
    """/today, /week, /overdue and the list buttons (a part of the activities' router,
    which lets only private chats in)."""
    router = Router(name="activities.agenda")

    @router.message(Command("today"))
    @router.message(F.text == BTN_TODAY)
    async def today(message: Message, staff: User, command: CommandObject | None = None):
        await send_agenda(message, staff, "today", command.args if command else None)

    @router.message(Command("week"))
    async def week(message: Message, staff: User, command: CommandObject) -> None:
        await send_agenda(message, staff, "week", command.args)

    @router.message(Command("overdue"))
    async def overdue_cmd(message: Message, staff: User, command: CommandObject) -> None:
        await send_agenda(message, staff, "overdue", command.args)

    @router.callback_query(ActivityCB.filter(F.action == "list"))
    async def list_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User):
        await query.answer()
        await send_agenda(query.message, staff, callback_data.value, None)

    @router.callback_query(ActivityCB.filter(F.action == "noop"))
    async def noop(query: CallbackQuery) -> None:
        await query.answer()

    return router
