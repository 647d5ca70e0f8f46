"""Activities in the bot: the quick log (M-3), /today, /week, /overdue with filters
(S-19), an activity's card with its actions (done with a result, reschedule, snooze,
open the client, comment, verify, cancel, reopen: A-9, S-13, S-15, S-21), guided
creation (/task) and a shared location logging a visit."""

from __future__ import annotations

import html
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB, PlaybookCB, ReminderCB
from bot.errors import validation_text
from bot.keyboards import BTN_TASK, BTN_TODAY
from kontakt.formatting import time_text, when_text
from kontakt.labels import type_name
from models import Activity, ActivityState, ActivityType, User
from notifications import discussions as topics
from notifications.activities import deliver_activity_notices
from services import activities as svc
from services import clients as client_service
from services import quicklog
from services import staff as staff_service
from services.clock import utcnow
from services.errors import N_, DomainError, NotFound, ValidationFailed
from services.permissions import Action, role_may


class Act(StatesGroup):
    result = State()  # the result of an activity being completed
    resched = State()  # a new date for an activity
    comment = State()


class EditField(StatesGroup):
    title = State()
    client = State()


class NewTask(StatesGroup):
    title = State()
    when = State()



def type_label(t: ActivityType | None) -> str:
    if t is None:
        return ""
    return f"{t.icon} {type_name(t.code, t.name, _)}".strip()


def state_label(state: str) -> str:
    return {"planned": _("planned"), "done": _("done"), "postponed": _("postponed"),
            "cancelled": _("cancelled"), "rescheduled": _("rescheduled")}.get(state, state)


def priority_label(priority: str) -> str:
    return {"low": _("low"), "normal": _("normal"), "high": _("high"),
            "critical": _("critical")}.get(priority, priority)


def _btn(text: str, cb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def error_text(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return validation_text(exc)
    if isinstance(exc, NotFound):
        return _("That was not found or is not yours.")
    return _("You do not have the right to do that.")


def _activity_of(message: Message | None) -> int | None:
    """The activity a bot message is about: its card/open button says so."""
    markup = message.reply_markup if message is not None else None
    for row in (markup.inline_keyboard if markup else []):
        for button in row:
            data = button.callback_data or ""
            if data.startswith("ac:"):
                try:
                    return ActivityCB.unpack(data).activity_id or None
                except (ValueError, TypeError):
                    continue
    return None


async def read_when(message: Message, staff: User) -> datetime | None:
    """The date and time a person typed (their zone and language), or None after
    saying it could not be read; the dialog waits for another try."""
    when = quicklog.parse_when(message.text or "", language=str(staff.language),
                               timezone=staff.timezone, now=utcnow())
    if when is None:
        await message.answer(_("⚠️ I could not read a date in “{text}”. Try “tomorrow "
                               "10:00” or “28.11 9:00”; /cancel to stop.").format(
            text=html.escape(message.text or "")))
    return when


def _cut(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


async def card_text(activity: Activity, staff: User) -> str:
    e = html.escape
    await svc.fetch_card(activity)
    lang, tz = str(staff.language), staff.timezone
    lines = [f"<b>{e(activity.title)}</b>", type_label(activity.type)]
    if activity.starts_at:
        when = when_text(activity.starts_at, tz, lang, now=utcnow())
        if activity.ends_at:
            when += "–" + time_text(activity.ends_at, tz)
        lines.append("🕒 " + when)
    status = state_label(str(activity.state))
    if svc.is_overdue(activity):
        status += " · " + _("⚠️ overdue")
    lines.append(_("State: {state}").format(state=status) + " · " + _(
        "priority: {priority}").format(priority=priority_label(str(activity.priority))))
    if activity.rrule:
        lines.append("🔁 " + e(activity.rrule))
    if activity.client:
        lines.append("🏢 " + e(activity.client.name))
    if activity.contact:
        lines.append("👤 " + e(" ".join(p for p in (activity.contact.last_name,
                                                   activity.contact.first_name) if p)))
    if activity.location:
        lines.append("📍 " + e(activity.location))
    people = await svc.assignees(activity.id)
    lines.append(_("Assignees: {names}").format(names=e(", ".join(p.full_name
                                                                  for p in people))))
    if activity.goal:
        lines.append(_("Goal: {text}").format(text=e(_cut(activity.goal))))
    if activity.result:
        lines.append(_("Result: {text}").format(text=e(_cut(activity.result))))
    if activity.verified_at:
        who = await staff_service.get_by_id(activity.verified_by_id)
        lines.append(_("☑️ Verified by {name}").format(name=e(who.full_name if who else "")))
    if activity.client_id:
        lines += await notice_lines(activity)
    return "\n".join(lines)  # each part cut before escaping: no entity is cut in half


def message_state_label(state: str) -> str:
    return {"queued": _("queued"), "sending": _("sending"), "sent": _("sent"),
            "failed": _("failed"), "cancelled": _("cancelled")}.get(state, state)


async def notice_lines(activity: Activity) -> list[str]:
    """A-18 on the card: the notice to the client, and its messages' delivery state."""
    from services.messaging import activity_notice

    e = html.escape
    template, messages = await activity_notice(activity)
    lines = []
    if template is not None:
        icon = "📱" if str(template.channel) == "sms" else "✉️"
        lines.append(_("🔔 The client is told {hours} h before: {template}").format(
            hours=activity.client_notice_hours, template=f"{icon} {e(template.name)}"))
    for m in messages:
        icon = "📱" if str(m.channel) == "sms" else "✉️"
        line = f"{icon} {e(m.to_address)}: {message_state_label(str(m.state))}"
        if m.last_error and str(m.state) != "sent":
            line += " — " + e(_cut(m.last_error, 150))
        lines.append(line)
    return lines


async def card_markup(activity: Activity, staff: User) -> InlineKeyboardMarkup:
    aid = activity.id
    rows: list[list[InlineKeyboardButton]] = []
    if str(activity.state) in svc.OPEN:
        rows.append([_btn(_("✅ Done"), ActivityCB(action="done", activity_id=aid)),
                     _btn(_("📅 Reschedule"), ActivityCB(action="resched", activity_id=aid))])
        rows.append([_btn(_("💤 1 h"), ActivityCB(action="later", activity_id=aid, value="1h")),
                     _btn(_("💤 Tomorrow"), ActivityCB(action="later", activity_id=aid,
                                                      value="tomorrow")),
                     _btn(_("✏️ Edit"), ActivityCB(action="edit", activity_id=aid))])
        rows.append([_btn(_("⏸ Postpone"), ActivityCB(action="postpone", activity_id=aid)),
                     _btn(_("✖️ Cancel it"), ActivityCB(action="cancel", activity_id=aid))])
    else:
        rows.append([_btn(_("↩️ Reopen"), ActivityCB(action="reopen", activity_id=aid))])
        if (str(activity.state) == ActivityState.DONE and activity.verified_at is None
                and role_may(staff.role, Action.VERIFY_ACTIVITIES)
                and activity.done_by_id != staff.id):
            rows.append([_btn(_("☑️ Verify"), ActivityCB(action="verify", activity_id=aid))])
    last = [_btn(_("💬 Comment"), ActivityCB(action="comment", activity_id=aid)),
            _btn(_("🗣 Discuss"), ActivityCB(action="discuss", activity_id=aid))]
    if activity.client_id:
        last.append(_btn(_("🏢 Open client"), ActivityCB(action="client", activity_id=aid)))
    rows.append(last)
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_card(message: Message, staff: User, activity_id: int, *, edit: bool = False
                    ) -> None:
    activity = await svc.get_activity(staff, activity_id)
    text, markup = await card_text(activity, staff), await card_markup(activity, staff)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


# --- lists ---------------------------------------------------------------------------
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
    from services.clients import search_clients

    text = getattr(f, "client_query", None)
    if not text:
        return None
    found = await search_clients(staff, text, limit=2)
    if len(found) != 1:
        return _("No single client matches “{query}”.").format(query=html.escape(text))
    f.client_id = found[0].id
    return None


def item_button(item: svc.AgendaItem | Activity, staff: User) -> list[InlineKeyboardButton]:
    activity = item.activity if isinstance(item, svc.AgendaItem) else item
    start = item.start if isinstance(item, svc.AgendaItem) else activity.starts_at
    when = ""
    if start is not None:
        when = time_text(start, staff.timezone) if isinstance(item, svc.AgendaItem) else \
            when_text(start, staff.timezone, str(staff.language), now=utcnow())
    icon = activity.type.icon if activity.type else ""
    done = "✔️ " if str(activity.state) == ActivityState.DONE else ""
    client = f" · {activity.client.name}" if activity.client_id and activity.client else ""
    text = f"{done}{when} {icon} {activity.title}{client}".strip()
    return [_btn(text[:60], ActivityCB(action="card", activity_id=activity.id))]


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


# --- the router ----------------------------------------------------------------------
def build_activities_router() -> Router:
    router = Router(name="activities")
    router.message.filter(F.chat.type == "private")

    async def _after(bot: Bot, i18n: I18n, reminders, notices, activity_id: int | None = None,
                     staff: User | None = None, event: str | None = None) -> None:
        """After the commit: wake the reminder loop, tell people, update the task's topic
        (K-2: the change announced, the topic renamed, closed or reopened)."""
        if reminders is not None:
            reminders.poke()
        if notices:
            await deliver_activity_notices(bot, i18n, notices)
        if activity_id is not None:
            await topics.topic_after(bot, i18n, activity_id, staff, event)

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

    @router.callback_query(ActivityCB.filter(F.action == "card"))
    async def card(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                   state: FSMContext) -> None:
        try:
            await show_card(query.message, staff, callback_data.activity_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        # a file or photo sent now is attached to this activity (S-16)
        await state.update_data(open_activity_id=callback_data.activity_id)
        await query.answer()

    # --- actions on a card --------------------------------------------------------
    async def _ask(query: CallbackQuery, staff: User, state: FSMContext, activity_id: int,
                   step: State) -> Activity | None:
        """A card's button that asks for text: the activity must be one's own to see."""
        try:
            activity = await svc.get_activity(staff, activity_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return None
        await state.set_state(step)
        await state.update_data(activity_id=activity.id)
        await query.answer()
        return activity

    @router.callback_query(ActivityCB.filter(F.action == "done"))
    async def done_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                           state: FSMContext) -> None:
        activity = await _ask(query, staff, state, callback_data.activity_id, Act.result)
        if activity is None:
            return
        await query.message.answer(
            _("What is the result of “{title}”? Type it, or press Skip.").format(
                title=html.escape(activity.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(
                _("Skip"), ActivityCB(action="skipresult", activity_id=activity.id))]]))

    async def _complete(message: Message, staff: User, state: FSMContext, activity_id: int,
                        result: str | None, bot: Bot, i18n: I18n, reminders) -> None:
        try:
            done = await svc.do_complete(staff, activity_id, result, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))  # the typed result stays in the chat
            return
        await state.set_state(None)
        await message.answer(_("✅ Done. Plan the next step? Type it, e.g. “call back on "
                               "Monday at 10:00”."))
        await show_card(message, staff, done.activity.id)
        await _after(bot, i18n, reminders, done.notices, activity_id, staff, "done")

    @router.message(Act.result, F.text, ~F.text.startswith("/"))
    async def result_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                           i18n: I18n, reminders=None) -> None:
        data = await state.get_data()
        await _complete(message, staff, state, data["activity_id"], message.text, bot, i18n,
                        reminders)

    @router.callback_query(ActivityCB.filter(F.action == "skipresult"))
    async def result_skipped(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                             state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        await query.answer()
        await _complete(query.message, staff, state, callback_data.activity_id, None, bot,
                        i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "resched"))
    async def resched_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                              state: FSMContext) -> None:
        if await _ask(query, staff, state, callback_data.activity_id, Act.resched) is None:
            return
        await query.message.answer(_("When? For example “tomorrow 10:00”, “on Friday at "
                                     "15:30” or “28.11 9:00”."))

    @router.message(Act.resched, F.text, ~F.text.startswith("/"))
    async def resched_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n, reminders=None) -> None:
        when = await read_when(message, staff)
        if when is None:
            return
        data = await state.get_data()
        try:
            moved = await svc.do_reschedule(staff, data["activity_id"], when, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        text = _("📅 Moved to {when}.").format(when=when_text(
            when, staff.timezone, str(staff.language), now=utcnow()))
        if when < utcnow():
            text += "\n" + _("⚠️ That date is in the past.")
        await message.answer(text)
        await show_card(message, staff, moved.activity.id)
        await _after(bot, i18n, reminders, moved.notices, moved.activity.id, staff,
                     "rescheduled")

    @router.callback_query(ActivityCB.filter(F.action.in_({"postpone", "cancel", "reopen"})))
    async def set_state(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                        bot: Bot, i18n: I18n, reminders=None) -> None:
        target = {"postpone": "postponed", "cancel": "cancelled", "reopen": "planned"}[
            callback_data.action]
        try:
            changed = await svc.do_set_state(staff, callback_data.activity_id, target,
                                             source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(state_label(str(changed.activity.state)))
        await show_card(query.message, staff, changed.activity.id, edit=True)
        event = {"postpone": "postponed", "cancel": "cancelled"}.get(callback_data.action,
                                                                       "reopened")
        await _after(bot, i18n, reminders, changed.notices, changed.activity.id, staff, event)

    @router.callback_query(ActivityCB.filter(F.action == "verify"))
    async def verify(query: CallbackQuery, callback_data: ActivityCB, staff: User, bot: Bot,
                     i18n: I18n) -> None:
        try:
            checked = await svc.do_verify(staff, callback_data.activity_id, source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(_("Verified."))
        await show_card(query.message, staff, checked.activity.id, edit=True)
        await _after(bot, i18n, None, checked.notices)

    @router.callback_query(ActivityCB.filter(F.action == "comment"))
    async def comment_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                              state: FSMContext) -> None:
        if await _ask(query, staff, state, callback_data.activity_id, Act.comment) is None:
            return
        await query.message.answer(_("Type the comment."))

    @router.message(Act.comment, F.text, ~F.text.startswith("/"))
    async def comment_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n) -> None:
        data = await state.get_data()
        try:
            _comment, notices = await svc.do_comment(staff, data["activity_id"],
                                                     message.text or "", source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        await message.answer(_("💬 Saved."))
        await _after(bot, i18n, None, notices)
        await topics.post_comment(bot, data["activity_id"], staff.full_name,
                                  message.text or "")

    @router.callback_query(ActivityCB.filter(F.action == "client"))
    async def open_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                          state: FSMContext, webapp_url: str | None) -> None:
        from bot.routers.clients import show_card as show_client

        try:
            activity = await svc.get_activity(staff, callback_data.activity_id)
            if activity.client_id is None:
                raise NotFound("client")
            await show_client(query.message, state, staff, activity.client_id, webapp_url)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer()

    # --- editing with buttons ------------------------------------------------------------
    @router.callback_query(ActivityCB.filter(F.action == "later"))
    async def remind_later(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                           reminders=None) -> None:
        try:
            again = await svc.do_remind_later(staff, callback_data.activity_id,
                                              callback_data.value)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if reminders is not None:
            reminders.poke()
        await query.answer(_("💤 I will remind you at {time}.").format(
            time=when_text(again.due_at, staff.timezone, str(staff.language), now=utcnow())))

    @router.callback_query(ActivityCB.filter(F.action == "edit"))
    async def edit_menu(query: CallbackQuery, callback_data: ActivityCB, staff: User) -> None:
        aid = callback_data.activity_id
        try:
            activity = await svc.get_activity(staff, aid)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        rows = [
            [_btn(_("Title"), ActivityCB(action="etitle", activity_id=aid)),
             _btn(_("🔖 Type"), ActivityCB(action="etype", activity_id=aid))],
            [_btn(f"⚡ {priority_label(p)}", ActivityCB(action="eprio", activity_id=aid,
                                                       value=p))
             for p in ("low", "normal", "high", "critical")],
            [_btn(_("🏢 Client"), ActivityCB(action="eclient", activity_id=aid)),
             _btn(_("👥 Assignees"), ActivityCB(action="epeople", activity_id=aid))],
        ]
        if activity.client_id:  # the client told before it by email or SMS
            rows.append([_btn(_("🔔 Tell the client"), ActivityCB(action="enotice",
                                                                 activity_id=aid))])
        await query.answer()
        await query.message.answer(_("What to change?"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "enotice"))
    async def edit_notice(query: CallbackQuery, callback_data: ActivityCB, staff: User):
        from services.messaging import list_templates

        aid = callback_data.activity_id
        try:
            activity = await svc.get_activity(staff, aid)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if not activity.client_id:
            await query.answer(_("Choose the client first: the message goes to the client."),
                               show_alert=True)
            return
        templates = await list_templates()
        rows = [[_btn(("📱 " if str(t.channel) == "sms" else "✉️ ") + f"{t.name} ({t.language})"[
            :50], ActivityCB(action="ntpl", activity_id=aid, value=str(t.id)))]
            for t in templates[:30]]
        if activity.client_notice_hours:
            rows.append([_btn(_("🔕 Off"), ActivityCB(action="nset", activity_id=aid,
                                                     value="off"))])
        await query.answer()
        if not templates and not rows:
            await query.message.answer(_("No message templates yet: an administrator writes "
                                         "them on the settings page."))
            return
        await query.message.answer(_("🔔 Which message does the client get before it?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "ntpl"))
    async def notice_template(query: CallbackQuery, callback_data: ActivityCB) -> None:
        aid, tid = callback_data.activity_id, callback_data.value
        if not tid.isdigit():
            await query.answer()
            return
        rows = [[_btn(_("{hours} h before").format(hours=h), ActivityCB(
            action="nset", activity_id=aid, value=f"{tid}-{h}")) for h in (1, 3, 24)],
            [_btn(_("🔕 Off"), ActivityCB(action="nset", activity_id=aid, value="off"))]]
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_("🔔 How long before the start?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "nset"))
    async def notice_set(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         bot: Bot, i18n: I18n, reminders=None) -> None:
        tid, _sep, hours = callback_data.value.partition("-")
        if callback_data.value == "off":
            changes = {"client_notice_hours": None, "client_notice_template_id": None}
        elif tid.isdigit() and hours.isdigit():
            changes = {"client_notice_template_id": int(tid), "client_notice_hours": int(hours)}
        else:
            await query.answer()
            return
        if await _apply(query, staff, callback_data.activity_id, changes, bot, i18n, reminders):
            await query.message.edit_reply_markup(reply_markup=None)

    async def _apply(query_or_message, staff: User, aid: int, changes: dict, bot: Bot,
                     i18n: I18n, reminders) -> bool:
        message = getattr(query_or_message, "message", None) or query_or_message
        try:
            changed = await svc.do_update_activity(staff, aid, changes, source="bot")
        except DomainError as exc:
            if isinstance(query_or_message, CallbackQuery):
                await query_or_message.answer(error_text(exc)[:190], show_alert=True)
            else:
                await message.answer(error_text(exc))
            return False
        if isinstance(query_or_message, CallbackQuery):
            await query_or_message.answer(_("Saved."))
        await show_card(message, staff, aid)
        await _after(bot, i18n, reminders, changed.notices, aid, staff,
                     "assignees" if "assignees" in changes else "changed")
        return True

    @router.callback_query(ActivityCB.filter(F.action == "eprio"))
    async def edit_priority(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                            bot: Bot, i18n: I18n, reminders=None) -> None:
        await _apply(query, staff, callback_data.activity_id,
                     {"priority": callback_data.value}, bot, i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "etype"))
    async def edit_type(query: CallbackQuery, callback_data: ActivityCB) -> None:
        types = await svc.list_types()
        rows = [[_btn(type_label(t), ActivityCB(action="settype",
                                                activity_id=callback_data.activity_id,
                                                value=t.code or str(t.id)))] for t in types]
        await query.answer()
        await query.message.answer(_("🔖 Type"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "settype"))
    async def set_type(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                       bot: Bot, i18n: I18n, reminders=None) -> None:
        value = callback_data.value
        await _apply(query, staff, callback_data.activity_id,
                     {"type": int(value) if value.isdigit() else value}, bot, i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "etitle"))
    async def edit_title(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         state: FSMContext) -> None:
        if await _ask(query, staff, state, callback_data.activity_id, EditField.title) is None:
            return
        await query.message.answer(_("Type the new title."))

    @router.message(EditField.title, F.text, ~F.text.startswith("/"))
    async def title_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                          i18n: I18n, reminders=None) -> None:
        data = await state.get_data()
        if await _apply(message, staff, data["activity_id"], {"title": message.text}, bot,
                        i18n, reminders):
            await state.set_state(None)

    @router.callback_query(ActivityCB.filter(F.action == "eclient"))
    async def edit_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                          state: FSMContext) -> None:
        if await _ask(query, staff, state, callback_data.activity_id,
                      EditField.client) is None:
            return
        await query.message.answer(_("Type part of the client's name, phone or INN."))

    @router.message(EditField.client, F.text, ~F.text.startswith("/"))
    async def client_typed(message: Message, staff: User, state: FSMContext) -> None:
        from services.clients import search_clients

        data = await state.get_data()
        found = await search_clients(staff, message.text or "", limit=8)
        if not found:
            await message.answer(_("Nothing found for “{query}”. Try part of the name, "
                                   "a phone or an INN.").format(
                query=html.escape(message.text or "")))
            return
        rows = [[_btn("🏢 " + c.name[:50], ActivityCB(action="setclient",
                                                      activity_id=data["activity_id"],
                                                      value=str(c.id)))] for c in found]
        await message.answer(_("🏢 Client"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "setclient"))
    async def set_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        if await _apply(query, staff, callback_data.activity_id,
                        {"client_id": int(callback_data.value)}, bot, i18n, reminders):
            await state.set_state(None)

    @router.callback_query(ActivityCB.filter(F.action == "epeople"))
    async def edit_people(query: CallbackQuery, callback_data: ActivityCB, staff: User):
        aid = callback_data.activity_id
        try:
            await svc.get_activity(staff, aid)  # not theirs: not found, nothing shown
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        current = set(await svc.assignee_ids(aid))
        people = await svc.assignable_people(staff)
        rows = [[_btn(("✅ " if p.id in current else "▫️ ") + p.full_name[:50],
                      ActivityCB(action="toggle", activity_id=aid, value=str(p.id)))]
                for p in people[:40]]
        await query.answer()
        await query.message.answer(_("👥 Assignees"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "toggle"))
    async def toggle_person(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                            bot: Bot, i18n: I18n, reminders=None) -> None:
        aid, uid = callback_data.activity_id, int(callback_data.value)
        current = await svc.assignee_ids(aid)
        wanted = [u for u in current if u != uid] if uid in current else [*current, uid]
        if not wanted:
            await query.answer(_("An activity needs at least one assignee."), show_alert=True)
            return
        await _apply(query, staff, aid, {"assignees": wanted}, bot, i18n, reminders)

    @router.callback_query(ReminderCB.filter(F.action == "snooze"))
    async def snooze(query: CallbackQuery, callback_data: ReminderCB, staff: User,
                     reminders=None) -> None:
        try:
            again = await svc.do_snooze(staff, callback_data.reminder_id, callback_data.value)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if reminders is not None:
            reminders.poke()
        await query.answer(_("💤 I will remind you at {time}.").format(
            time=when_text(again.due_at, staff.timezone, str(staff.language), now=utcnow())))
        await query.message.edit_reply_markup(reply_markup=None)

    # --- from a client's card: its activities, a playbook (S-7, M-4) -------------------
    from bot.routers.clients import ClientCB

    @router.callback_query(ClientCB.filter(F.action == "acts"))
    async def client_acts(query: CallbackQuery, callback_data: ClientCB, staff: User) -> None:
        _last, _next, latest = await svc.client_activities(staff, callback_data.client_id,
                                                           limit=15)
        await query.answer()
        await svc.fetch_for_list(latest)
        rows = [item_button(a, staff) for a in latest]
        await query.message.answer(
            _("📅 Activities: {count}").format(count=len(latest)) if latest
            else _("No activities yet. Type what you did, or /task."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)

    @router.callback_query(PlaybookCB.filter(F.playbook_id == 0))
    async def playbook_list(query: CallbackQuery, callback_data: PlaybookCB) -> None:
        from services import playbooks

        books = await playbooks.list_playbooks()
        await query.answer()
        if not books:
            await query.message.answer(_("No playbooks yet: an administrator writes them on "
                                         "the settings page."))
            return
        rows = [[_btn(f"🧭 {b.name} ({len(b.steps)})"[:60], PlaybookCB(
            client_id=callback_data.client_id, playbook_id=b.id))] for b in books]
        await query.message.answer(_("Which playbook?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(PlaybookCB.filter(F.playbook_id > 0))
    async def playbook_apply(query: CallbackQuery, callback_data: PlaybookCB, staff: User,
                             bot: Bot, i18n: I18n, reminders=None) -> None:
        from services import playbooks

        try:
            tasks, notices = await playbooks.do_apply_playbook(
                staff, callback_data.playbook_id, callback_data.client_id, source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(_("Saved."))
        await query.message.edit_reply_markup(reply_markup=None)
        await svc.fetch_for_list(tasks)
        rows = [item_button(t, staff) for t in tasks]
        await query.message.answer(_("🧭 Tasks created: {count}").format(count=len(tasks)),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        await _after(bot, i18n, reminders, notices)

    # --- guided creation ----------------------------------------------------------------
    @router.message(Command("task"))
    @router.message(F.text == BTN_TASK)
    async def new_task(message: Message, state: FSMContext,
                       command: CommandObject | None = None) -> None:
        data = await state.get_data()
        await state.set_state(NewTask.title)
        await state.update_data(task={"client_id": data.get("open_client_id")})
        if command is not None and command.args:
            await _task_title(message, state, command.args)
            return
        await message.answer(_("New task. What is to be done? (/cancel to stop)"))

    async def _task_title(message: Message, state: FSMContext, text: str) -> None:
        title = " ".join(text.split())
        if not title or len(title) > 300:  # the service's words, before the time is asked
            await message.answer(validation_text(ValidationFailed(
                "title", N_("is empty") if not title else N_("is longer than 300 characters"))))
            return
        data = await state.get_data()
        task = {**data.get("task", {}), "title": title}
        await state.update_data(task=task)
        await state.set_state(NewTask.when)
        await message.answer(_("When? For example “tomorrow 10:00” — or Skip."),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(
                                 _("Skip"), ActivityCB(action="nowhen"))]]))

    @router.message(NewTask.title, F.text, ~F.text.startswith("/"))
    async def task_title(message: Message, state: FSMContext) -> None:
        await _task_title(message, state, message.text or "")

    async def _save_task(message: Message, staff: User, state: FSMContext,
                         when: datetime | None, bot: Bot, i18n: I18n, reminders) -> None:
        data = await state.get_data()
        task = data.get("task", {})
        try:
            created = await svc.do_create_activity(staff, {
                "title": task.get("title"), "type": "task", "client_id": task.get("client_id"),
                "starts_at": when}, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))  # the draft stays; fix and send again
            return
        await state.set_state(None)
        await state.update_data(task={})
        await message.answer(_("➕ Task saved."))
        await show_card(message, staff, created.activity.id)
        await _after(bot, i18n, reminders, created.notices)

    @router.message(NewTask.when, F.text, ~F.text.startswith("/"))
    async def task_when(message: Message, staff: User, state: FSMContext, bot: Bot,
                        i18n: I18n, reminders=None) -> None:
        when = await read_when(message, staff)
        if when is None:
            return
        await _save_task(message, staff, state, when, bot, i18n, reminders)

    @router.callback_query(NewTask.when, ActivityCB.filter(F.action == "nowhen"))
    async def task_nowhen(query: CallbackQuery, staff: User, state: FSMContext, bot: Bot,
                          i18n: I18n, reminders=None) -> None:
        await query.answer()
        await _save_task(query.message, staff, state, None, bot, i18n, reminders)

    # --- a shared location logs a visit -------------------------------------------
    @router.message(F.location)
    async def location(message: Message, staff: User, state: FSMContext, bot: Bot,
                       i18n: I18n) -> None:
        data = await state.get_data()
        client_id = data.get("open_client_id")
        client = None
        if client_id:
            client = await client_service.find_client(client_id)
        title = _("Visit: {client}").format(client=client.name) if client else _("Visit")
        try:
            created = await svc.do_create_activity(staff, {
                "title": title, "type": "visit", "client_id": client_id, "done": True,
                "starts_at": utcnow(), "latitude": message.location.latitude,
                "longitude": message.location.longitude, "reminders": []}, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("🚗 Visit logged."))
        await show_card(message, staff, created.activity.id)

    # --- relay mode (K-2): a reply to a task's message is a comment of the task -------
    @router.message(StateFilter(None), F.text, ~F.text.startswith("/"),
                    F.reply_to_message.reply_markup)
    async def reply_comment(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n) -> None:
        activity_id = _activity_of(message.reply_to_message)
        if activity_id is None:
            raise SkipHandler  # not a task's message: the quick log's to read
        try:
            _comment, notices = await svc.do_comment(staff, activity_id, message.text or "",
                                                     source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("💬 Saved."))
        await _after(bot, i18n, None, notices)
        await topics.post_comment(bot, activity_id, staff.full_name, message.text or "")

    return router
