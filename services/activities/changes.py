"""Every change of an activity (S-12..S-16, S-21, A-8, M-3): each ``do_*`` runs in
one transaction, is audited, and returns the notices to deliver after the commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    Activity,
    ActivityAssignee,
    ActivityComment,
    ActivityKind,
    ActivityState,
    ActivityType,
    AuditLog,
    Role,
    User,
)
from services.activities.access import _may_change, _verifies, assignee_ids, get_activity
from services.activities.common import OPEN, ActivityResult, Notice, _notices, after_done
from services.activities.recurrence import occurrences
from services.activities.reminders import _rebuild_reminders
from services.activities.validation import (
    _aware,
    _validated,
    _validated_assignees,
    _validated_leads,
)
from services.calendar import follow_activity
from services.clock import utcnow
from services.errors import N_, PermissionDenied, ValidationFailed


async def _audit(actor: User | None, source: str, activity: Activity, action: str,
                 field_name: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(
        user_id=actor.id if actor else None, source=source, entity="activity",
        object_id=activity.id, client_id=activity.client_id, action=action,
        field=field_name, old_value=None if old is None else _text(old),
        new_value=None if new is None else _text(new))


def _short(text: str | None, limit: int = 300) -> str | None:
    """A notice quotes at most this much (a Telegram message holds 4,096 characters)."""
    if not text or len(text) <= limit:
        return text
    return text[:limit - 1] + "…"


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def do_create_activity(actor: User, data: dict[str, Any], *, source: str = "web",
                             check_assignees: bool = True) -> ActivityResult:
    """S-12..S-16, A-6..A-8: validate, save with assignees and reminders, audit."""
    if not actor.is_active:
        raise PermissionDenied("not staff")
    values = await _validated(data, actor)
    people = await _validated_assignees(data.get("assignees"), actor, scoped=check_assignees)
    leads = _validated_leads(data.get("reminders"))
    kind = values["type"].kind
    if values.get("duration_min") is None and values["type"].default_duration_min and \
            kind == ActivityKind.EVENT:
        values["duration_min"] = values["type"].default_duration_min
    if values.get("starts_at") and not values.get("ends_at") and values.get("duration_min") \
            and kind == ActivityKind.EVENT:
        values["ends_at"] = values["starts_at"] + timedelta(minutes=values["duration_min"])
    state = ActivityState.PLANNED
    if data.get("done"):
        state = ActivityState.DONE
    parent_id = data.get("parent_id")
    async with in_transaction():
        activity = await Activity.create(
            kind=kind, author_id=actor.id, state=state, source=source,
            timezone=actor.timezone, parent_id=parent_id,
            done_at=utcnow() if state == ActivityState.DONE else None,
            done_by_id=actor.id if state == ActivityState.DONE else None, **values)
        await ActivityAssignee.bulk_create([ActivityAssignee(activity_id=activity.id,
                                                             user_id=uid) for uid in people])
        await _audit(actor, source, activity, "create", new=activity.title)
        await _rebuild_reminders(activity, people, leads)
    kind_notice = "done" if state == ActivityState.DONE else "assigned"
    return ActivityResult(activity, _notices(kind_notice, activity, people, actor))


async def do_log_with_follow_up(actor: User, logged: dict[str, Any] | None,
                                follow_up: dict[str, Any] | None, *, source: str = "bot"
                                ) -> tuple[Activity | None, Activity | None, list[Notice]]:
    """M-3: the logged activity (done) and its follow-up task, both or neither; a
    message that only plans (``logged`` None) saves the plan alone."""
    if logged is None and not follow_up:
        raise ValidationFailed("follow_up", N_("nothing to save"))
    async with in_transaction():
        done = None
        if logged is not None:
            done = await do_create_activity(actor, {**logged, "done": True}, source=source)
        nxt = None
        if follow_up:
            parent = {"parent_id": done.activity.id} if done else {}
            nxt = await do_create_activity(actor, {**follow_up, **parent}, source=source)
    notices = (done.notices if done else []) + (nxt.notices if nxt else [])
    return done.activity if done else None, nxt.activity if nxt else None, notices


async def do_update_activity(actor: User, activity_id: int, changes: dict[str, Any], *,
                             source: str = "web") -> ActivityResult:
    activity = await get_activity(actor, activity_id)
    people = await assignee_ids(activity.id)
    await _may_change(actor, activity, people)
    if (changes.get("starts_at") and "ends_at" not in changes and activity.starts_at
            and activity.ends_at):
        # moving the start moves the end: the duration stays (a drag in the calendar)
        new_start = _aware(changes["starts_at"], "starts_at")
        changes = {**changes, "ends_at": new_start + (activity.ends_at - activity.starts_at)}
    values = await _validated(changes, actor, current=activity)
    new_people = people
    if "assignees" in changes:
        new_people = await _validated_assignees(changes["assignees"], actor, existing=people)
    leads = _validated_leads(changes["reminders"]) if "reminders" in changes else None
    notices: list[Notice] = []
    async with in_transaction():
        moved = False
        for key, new in values.items():
            old = getattr(activity, key)
            if key == "type":
                if activity.type_id != new.id:
                    old_type = await ActivityType.get(id=activity.type_id)
                    activity.type_id, activity.kind = new.id, new.kind
                    await _audit(actor, source, activity, "update", "type", old_type.name,
                                 new.name)
                continue
            if old != new:
                setattr(activity, key, new)
                await _audit(actor, source, activity,
                             "reschedule" if key == "starts_at" else "update", key, old, new)
                moved = moved or key == "starts_at"
        if moved and str(activity.state) == ActivityState.PLANNED:
            activity.state = ActivityState.RESCHEDULED
        if moved:
            activity.escalated_at = None  # overdue again later: told again
            activity.client_notified_at = None  # the client hears the new time
        await activity.save()
        if new_people != people:
            gone = [u for u in people if u not in new_people]
            added = [u for u in new_people if u not in people]
            await ActivityAssignee.filter(activity_id=activity.id, user_id__in=gone).delete()
            await ActivityAssignee.bulk_create([ActivityAssignee(
                activity_id=activity.id, user_id=u) for u in added])
            await _audit(actor, source, activity, "update", "assignees",
                         ",".join(map(str, people)), ",".join(map(str, new_people)))
            notices += [Notice(u, "assigned", activity.id, actor.id) for u in added
                        if u != actor.id]
            notices += [Notice(u, "unassigned", activity.id, actor.id) for u in gone
                        if u != actor.id]
        await _rebuild_reminders(activity, new_people, leads)
    if moved:
        notices += _notices("rescheduled", activity, new_people, actor)
    elif values and not notices:
        notices += _notices("changed", activity, new_people, actor)
    return ActivityResult(activity, notices)


async def do_reschedule(actor: User, activity_id: int, starts_at: datetime, *,
                        source: str = "web") -> ActivityResult:
    """S-13: move an activity; the end moves with it; the move is in the history."""
    activity = await get_activity(actor, activity_id)
    changes: dict[str, Any] = {"starts_at": starts_at}
    if activity.ends_at and activity.starts_at:
        changes["ends_at"] = _aware(starts_at, "starts_at") + (
            activity.ends_at - activity.starts_at)
    return await do_update_activity(actor, activity_id, changes, source=source)


async def _set_state(actor: User, activity: Activity, state: ActivityState, source: str,
                     **extra: Any) -> None:
    old = str(activity.state)
    activity.state = state
    for key, value in extra.items():
        setattr(activity, key, value)
    await activity.save()
    await _audit(actor, source, activity, "state", "state", old, str(state))


async def do_complete(actor: User, activity_id: int, result: str | None = None, *,
                      percent: int | None = 100, source: str = "web") -> ActivityResult:
    """S-13, S-15: done, with the result of the work (asked for by the bot)."""
    activity = await get_activity(actor, activity_id)
    people = await assignee_ids(activity.id)
    await _may_change(actor, activity, people)
    if str(activity.state) not in OPEN:
        raise ValidationFailed("state", N_("the activity is already {state}"), state=activity.state)
    result = (result or "").strip() or activity.result
    if result and len(result) > 20000:
        raise ValidationFailed("result", N_("is too long"))
    if activity.rrule:
        # a repeating activity: the occurrence nearest now is done, the series goes on
        now = utcnow()
        near = occurrences(activity, now - timedelta(days=7), now + timedelta(days=1))
        if not near:
            raise ValidationFailed("state", N_("no occurrence of this repeating activity is "
                                               "near now"))
        original = min(near, key=lambda t: abs(t - now))
        async with in_transaction():
            done = await _split(actor, activity, people, original, original,
                                ActivityState.DONE, source, result=result, done_at=now,
                                done_by_id=actor.id, percent=100)
            await _audit(actor, source, done, "state", "state", "planned", "done")
            await _rebuild_reminders(done, people, None)
        return ActivityResult(done, _notices("done", done, people, actor, _short(result))
                              + await after_done(actor, done, source))
    async with in_transaction():
        if result != activity.result:
            await _audit(actor, source, activity, "update", "result", activity.result, result)
        await _set_state(actor, activity, ActivityState.DONE, source, result=result,
                         done_at=utcnow(), done_by_id=actor.id,
                         percent=100 if percent is None else percent)
        await _rebuild_reminders(activity, people, None)
    return ActivityResult(activity, _notices("done", activity, people, actor, _short(result))
                          + await after_done(actor, activity, source))


async def _split(actor: User, series: Activity, people: list[int], original: datetime,
                 new_start: datetime, state: ActivityState, source: str,
                 **extra: Any) -> Activity:
    """One occurrence of a series made an activity of its own (inside a transaction):
    its start joins the series' left-out dates; the copy points to the series."""
    length = (series.ends_at - series.starts_at) if series.ends_at and series.starts_at \
        else None
    series.exdates = [*(series.exdates or []), original.isoformat()]
    await series.save(update_fields=["exdates", "updated_at"])
    await follow_activity(series, people)  # the calendar's series leaves that date out
    single = await Activity.create(
        kind=series.kind, type_id=series.type_id, category_id=series.category_id,
        title=series.title, goal=series.goal, client_id=series.client_id,
        contact_id=series.contact_id, product_id=series.product_id,
        author_id=series.author_id, priority=series.priority, state=state,
        starts_at=new_start, ends_at=new_start + length if length else None,
        duration_min=series.duration_min, timezone=series.timezone,
        location=series.location, agenda=series.agenda, series_id=series.id,
        original_start=original, source=source, reminder_leads=series.reminder_leads,
        **extra)
    await ActivityAssignee.bulk_create([ActivityAssignee(activity_id=single.id, user_id=u)
                                        for u in people])
    return single


async def do_move_occurrence(actor: User, series_id: int, original_start: datetime,
                             starts_at: datetime, *, source: str = "web") -> ActivityResult:
    """A-8: one occurrence of a recurring activity moved: its start joins the series'
    left-out dates and a copy of it becomes an activity of its own (``series`` and
    ``original_start`` say where it came from), with the same assignees."""
    series = await get_activity(actor, series_id)
    people = await assignee_ids(series.id)
    await _may_change(actor, series, people)
    if not series.rrule:
        raise ValidationFailed("rrule", N_("the activity does not repeat"))
    original = _aware(original_start, "original_start")
    new_start = _aware(starts_at, "starts_at")
    if original not in occurrences(series, original, original + timedelta(seconds=1)):
        raise ValidationFailed("original_start", N_("no occurrence starts then"))
    async with in_transaction():
        moved = await _split(actor, series, people, original, new_start,
                             ActivityState.RESCHEDULED, source)
        await _audit(actor, source, moved, "reschedule", "starts_at", original, new_start)
        await _rebuild_reminders(moved, people, None)
        await _rebuild_reminders(series, people, None)
    return ActivityResult(moved, _notices("rescheduled", moved, people, actor))


async def do_skip_occurrence(actor: User, series_id: int, original_start: datetime, *,
                             source: str = "web") -> ActivityResult:
    """A-8: one occurrence of a recurring activity left out (deleted in a calendar)."""
    series = await get_activity(actor, series_id)
    people = await assignee_ids(series.id)
    await _may_change(actor, series, people)
    original = _aware(original_start, "original_start")
    if not series.rrule or original not in occurrences(series, original,
                                                       original + timedelta(seconds=1)):
        raise ValidationFailed("original_start", N_("no occurrence starts then"))
    async with in_transaction():
        series.exdates = [*(series.exdates or []), original.isoformat()]
        await series.save(update_fields=["exdates", "updated_at"])
        await _audit(actor, source, series, "skip", "occurrence", None, original)
        await _rebuild_reminders(series, people, None)
    return ActivityResult(series, _notices("changed", series, people, actor))


async def do_set_state(actor: User, activity_id: int, state: str, *, source: str = "web"
                       ) -> ActivityResult:
    """Postpone, cancel or reopen (S-15). Done goes through :func:`do_complete`."""
    if state not in (ActivityState.POSTPONED, ActivityState.CANCELLED, ActivityState.PLANNED):
        raise ValidationFailed("state", N_("postponed, cancelled or planned"))
    activity = await get_activity(actor, activity_id)
    people = await assignee_ids(activity.id)
    await _may_change(actor, activity, people)
    if str(activity.state) == state:
        return ActivityResult(activity)
    async with in_transaction():
        extra: dict[str, Any] = {}
        if state == ActivityState.PLANNED:  # reopened
            extra = {"done_at": None, "done_by_id": None, "verified_at": None,
                     "verified_by_id": None, "escalated_at": None}
        await _set_state(actor, activity, ActivityState(state), source, **extra)
        await _rebuild_reminders(activity, people, None)
    kind = {"cancelled": "cancelled", "postponed": "postponed"}.get(state, "reopened")
    return ActivityResult(activity, _notices(kind, activity, people, actor))


async def do_verify(actor: User, activity_id: int, *, source: str = "web") -> ActivityResult:
    """S-21: a head (over an assignee) or an admin marks a done activity as checked."""
    activity = await get_activity(actor, activity_id)
    people = await assignee_ids(activity.id)
    if not await _verifies(actor, people):
        raise PermissionDenied("only the assignees' head or an admin verifies")
    if activity.done_by_id == actor.id and actor.role != Role.ADMIN:
        raise PermissionDenied("one does not verify one's own work")
    if str(activity.state) != ActivityState.DONE:
        raise ValidationFailed("state", N_("only a done activity is verified"))
    if activity.verified_at is not None:
        return ActivityResult(activity)
    async with in_transaction():
        activity.verified_at, activity.verified_by_id = utcnow(), actor.id
        await activity.save(update_fields=["verified_at", "verified_by_id", "updated_at"])
        await _audit(actor, source, activity, "verify", "verified_by", None, actor.full_name)
    return ActivityResult(activity, _notices("verified", activity, people, actor))


async def do_comment(actor: User, activity_id: int, text: str, *, source: str = "web"
                     ) -> tuple[ActivityComment, list[Notice]]:
    activity = await get_activity(actor, activity_id)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("text", N_("is empty"))
    if len(text) > 4000:
        raise ValidationFailed("text", N_("is longer than 4000 characters"))
    people = await assignee_ids(activity.id)
    async with in_transaction():
        comment = await ActivityComment.create(activity_id=activity.id, author_id=actor.id,
                                               author_name=actor.full_name, text=text,
                                               source=source)
        # the task's and the client's timelines show the discussion (K-2, S-7)
        await _audit(actor, source, activity, "comment", new=text[:500])
    return comment, _notices("comment", activity, people, actor, text[:200])
