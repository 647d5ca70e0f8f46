"""An activity in the bot: its card (text and buttons, S-19, A-9), a list's row, the
labels of its type, state and priority, and what the activities' routers share: the
error text, a date read from a message, a card's button asking for text, and what
follows a change (reminders, notices S-18, the task's topic K-2)."""

from __future__ import annotations

import html
from datetime import datetime

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB
from bot.errors import validation_text
from kontakt.formatting import time_text, when_text
from kontakt.labels import type_name
from models import Activity, ActivityState, ActivityType, User
from notifications import discussions as topics
from notifications.activities import deliver_activity_notices
from services import activities as svc
from services import quicklog
from services import staff as staff_service
from services.clock import utcnow
from services.errors import DomainError, NotFound, ValidationFailed
from services.permissions import Action, role_may


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


async def after_change(bot: Bot, i18n: I18n, reminders, notices,
                       activity_id: int | None = None, staff: User | None = None,
                       event: str | None = None) -> None:
    """After the commit: wake the reminder loop, tell people, update the task's topic
    (K-2: the change announced, the topic renamed, closed or reopened)."""
    if reminders is not None:
        reminders.poke()
    if notices:
        await deliver_activity_notices(bot, i18n, notices)
    if activity_id is not None:
        await topics.topic_after(bot, i18n, activity_id, staff, event)


async def ask_text(query: CallbackQuery, staff: User, state: FSMContext, activity_id: int,
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
