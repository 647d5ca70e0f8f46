"""Reminders (A-8, K-15): rows per assignee and lead time, rebuilt when the time,
the assignees or the state change; snoozing and "remind me later" add one."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from models import Activity, Reminder, ReminderState, User
from services.activities.access import assignee_ids, get_activity
from services.activities.common import OPEN
from services.activities.recurrence import occurrences
from services.calendar import follow_activity
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed

SNOOZE_CHOICES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}


def _next_morning(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    tomorrow = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return tomorrow.astimezone(ZoneInfo("UTC"))


async def _rebuild_reminders(activity: Activity, people: list[int],
                             leads: list[int] | None) -> None:
    """Pending reminders follow the activity: for each assignee and lead time (kept on
    the activity), at the next start still to come (the next occurrence, for a
    recurring one). Sent ones stay as history; one being sent right now is left alone
    (rebuilding it would send it twice); snoozes stay while the person is assigned.
    Connected calendars follow too (K-1): the events are marked to be pushed."""
    await follow_activity(activity, people)
    now = utcnow()
    if leads is not None and leads != activity.reminder_leads:
        activity.reminder_leads = leads
        await Activity.filter(id=activity.id).update(reminder_leads=leads)
    leads = list(activity.reminder_leads or [])
    pending = Reminder.filter(activity_id=activity.id, state=ReminderState.PENDING)
    if str(activity.state) not in OPEN or activity.starts_at is None:
        await pending.delete()
        return
    await pending.filter(Q(snoozed=False) | ~Q(user_id__in=people or [0])).delete()
    upcoming = occurrences(activity, now, now + timedelta(days=400), limit=1) \
        if activity.rrule else [activity.starts_at]
    if not upcoming or upcoming[0] < now or not leads:
        return  # past, or no reminders wanted
    await _remind_at(activity, people, leads, upcoming[0], now)


async def _remind_at(activity: Activity, people: list[int], leads: list[int],
                     start: datetime, now: datetime) -> None:
    taken = set(await Reminder.filter(
        activity_id=activity.id, occurrence_start=start, snoozed=False,
        state__in=[ReminderState.SENT, ReminderState.SENDING]).values_list(
        "user_id", "lead_minutes"))
    rows = [Reminder(activity_id=activity.id, user_id=uid, lead_minutes=lead,
                     occurrence_start=start, due_at=max(start - timedelta(minutes=lead), now),
                     next_attempt_at=max(start - timedelta(minutes=lead), now))
            for uid in people for lead in leads if (uid, lead) not in taken]
    if rows:
        await Reminder.bulk_create(rows)


async def schedule_next_occurrence(activity_id: int, after: datetime) -> None:
    """A-8, K-15: a recurring activity's reminder was sent: the next occurrence's
    reminders are made now (each occurrence gets its own)."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or not activity.rrule or str(activity.state) not in OPEN:
        return
    now = utcnow()
    nxt = occurrences(activity, max(after + timedelta(seconds=1), now),
                      now + timedelta(days=400), limit=1)
    leads = list(activity.reminder_leads or [])
    if not nxt or not leads:
        return
    if await Reminder.filter(activity_id=activity.id, occurrence_start=nxt[0],
                             snoozed=False).exists():
        return
    await _remind_at(activity, await assignee_ids(activity.id), leads, nxt[0], now)


async def _remind_again(actor: User, activity: Activity, occurrence_start: datetime | None,
                        choice: str) -> Reminder:
    """One more reminder for ``actor``: in 15 min, 1 h, or tomorrow at 9:00 local."""
    if str(activity.state) not in OPEN:
        raise ValidationFailed("state", N_("the activity is no longer open"))
    now = utcnow()
    if choice == "tomorrow":
        due = _next_morning(now, actor.timezone)
    elif choice in SNOOZE_CHOICES:
        due = now + SNOOZE_CHOICES[choice]
    else:
        raise ValidationFailed("snooze", N_("15m, 1h or tomorrow"))
    return await Reminder.create(activity_id=activity.id, user_id=actor.id, lead_minutes=0,
                                 occurrence_start=occurrence_start or activity.starts_at or due,
                                 due_at=due, next_attempt_at=due, snoozed=True)


async def do_snooze(actor: User, reminder_id: int, choice: str) -> Reminder:
    """K-15: snooze a reminder 15 min / 1 h / tomorrow morning (the person's zone)."""
    reminder = await Reminder.get_or_none(id=reminder_id, user_id=actor.id)
    if reminder is None:
        raise NotFound("reminder")
    activity = await get_activity(actor, reminder.activity_id)  # no longer theirs: none
    return await _remind_again(actor, activity, reminder.occurrence_start, choice)


async def do_remind_later(actor: User, activity_id: int, choice: str) -> Reminder:
    """"Remind me later" from an activity's card: one more reminder for the person."""
    return await _remind_again(actor, await get_activity(actor, activity_id), None, choice)


async def reminder_leads(activity_id: int) -> list[int]:
    """The lead times (minutes before the start) of its reminders, snoozes and
    cancelled ones left out."""
    return sorted(set(await Reminder.filter(activity_id=activity_id, snoozed=False).exclude(
        state=ReminderState.CANCELLED).values_list("lead_minutes", flat=True)))
