"""Activities: the contacts log and tasks (S-12..S-21, A-6..A-9, K-11, K-15).

Rules:

* Who sees an activity (A-3, S-20): its author and assignees; a head, those whose
  author or an assignee is in their department or below; an admin, all. Anyone else
  gets "not found".
* Who changes it: its author, its assignees, a head over one of them, an admin.
  Only a head over an assignee (or an admin) verifies a done activity (S-21); the
  person who did it cannot verify their own work.
* States (S-15): planned → done | postponed | cancelled | rescheduled; rescheduled
  and postponed are open like planned; done and cancelled may be reopened. Overdue
  is derived: open and its due time (a task's end, else its start) has passed.
* Rescheduling (S-13) keeps each move in the history (audit_log, entity "activity",
  field "starts_at") with who moved it and from where.
* Reminders (A-8, K-15) are rows per assignee and lead time; they are rebuilt when
  the time, the assignees or the state change. Snoozing moves one reminder.
* Recurring activities (A-8) keep an RFC 5545 RRULE and a list of left-out starts;
  occurrences are computed when asked (:func:`occurrences`), never stored. A changed
  occurrence becomes its own activity pointing to the series.

Every ``do_*`` changes the database in one transaction and returns the notices to
deliver after the commit (the front end sends them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    OPEN_STATES,
    Activity,
    ActivityAssignee,
    ActivityCategory,
    ActivityComment,
    ActivityKind,
    ActivityState,
    ActivityType,
    AuditLog,
    Client,
    ContactPerson,
    CustomEntity,
    Priority,
    Product,
    Reminder,
    ReminderState,
    Role,
    StaffStatus,
    User,
)
from services.calendar import follow_activity
from services.clients import get_client
from services.clock import utcnow
from services.customfields import register_object_check
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids

# code, Russian name, kind, icon, detail fields of the form, default minutes
SYSTEM_TYPES: list[tuple[str, str, ActivityKind, str, list[str], int | None]] = [
    ("call", "Звонок", ActivityKind.EVENT, "📞", ["contact", "result"], 15),
    ("meeting", "Встреча", ActivityKind.EVENT, "🤝",
     ["contact", "location", "agenda", "minutes", "result"], 60),
    ("visit", "Визит", ActivityKind.EVENT, "🚗", ["contact", "location", "result"], 60),
    ("email", "Письмо", ActivityKind.EVENT, "✉️", ["contact", "result"], None),
    ("presentation", "Презентация", ActivityKind.EVENT, "📊",
     ["contact", "product", "location", "result"], 60),
    ("sale", "Продажа", ActivityKind.EVENT, "💰", ["contact", "product", "result"], None),
    ("inbound_request", "Входящий запрос", ActivityKind.EVENT, "📥", ["contact", "result"],
     None),
    ("data_processing", "Обработка данных", ActivityKind.TASK, "🗂", ["percent"], None),
    ("task", "Задача", ActivityKind.TASK, "✅", ["percent", "result"], None),
]
DEFAULT_LEADS = (15,)  # minutes before the start, when none are given
MAX_LEADS = 5
MAX_LEAD_MINUTES = 60 * 24 * 14
SNOOZE_CHOICES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
OPEN = tuple(str(s) for s in OPEN_STATES)
SOURCES = ("bot", "web", "miniapp", "api", "calendar", "system")


def _next_morning(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    tomorrow = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return tomorrow.astimezone(ZoneInfo("UTC"))


# --- dictionaries ----------------------------------------------------------------
async def ensure_activity_types() -> None:
    """Create the system types if missing (idempotent; an admin's renames are kept)."""
    existing = set(await ActivityType.exclude(code=None).values_list("code", flat=True))
    for order, (code, name, kind, icon, form, minutes) in enumerate(SYSTEM_TYPES):
        if code not in existing:
            await ActivityType.get_or_create(code=code, defaults=dict(
                name=name, kind=kind, icon=icon, form_fields=form,
                default_duration_min=minutes, sort_order=order))


async def list_types() -> list[ActivityType]:
    await ensure_activity_types()
    return await ActivityType.filter(archived=False).order_by("sort_order", "name")


async def get_type(code_or_id: str | int) -> ActivityType:
    await ensure_activity_types()
    if isinstance(code_or_id, str) and code_or_id.isdigit() and len(code_or_id) < 10:
        code_or_id = int(code_or_id)  # a type an admin added has no code: its id
    if isinstance(code_or_id, int) and not isinstance(code_or_id, bool):
        found = await ActivityType.get_or_none(id=code_or_id, archived=False)
    else:
        found = await ActivityType.get_or_none(code=str(code_or_id), archived=False)
    if found is None:
        raise ValidationFailed("type", N_("choose an activity type from the list"))
    return found


async def do_add_type(actor: User, name: str, kind: str = "task", icon: str = "") -> ActivityType:
    """A-7: admins extend the list of types."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the activity types")
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed("name", N_("is empty or longer than 100 characters"))
    if kind not in ActivityKind.__members__.values():
        raise ValidationFailed("kind", N_("must be event or task"))
    if await ActivityType.filter(name=name).exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return await ActivityType.create(name=name, kind=kind, icon=icon[:8], sort_order=100)


async def do_add_category(actor: User, name: str, colour: str) -> ActivityCategory:
    import re

    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the categories")
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed("name", N_("is empty or longer than 100 characters"))
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        raise ValidationFailed("colour", N_("use #rrggbb"))
    if await ActivityCategory.filter(name=name).exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return await ActivityCategory.create(name=name, colour=colour.lower())


async def list_categories() -> list[ActivityCategory]:
    """The categories in use, in their order (the organizer's choice list)."""
    return await ActivityCategory.filter(archived=False).order_by("sort_order", "name")


async def list_products() -> list[Product]:
    return await Product.filter(archived=False).order_by("name").limit(2000)


async def do_add_product(actor: User, data: dict[str, Any]) -> Product:
    """S-12: the basic catalogue (name, code, category, unit); admins keep it."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the product catalogue")
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 300:
        raise ValidationFailed("name", N_("one to 300 characters"))
    code = str(data.get("code") or "").strip() or None
    if code and await Product.filter(code=code).exists():
        raise ValidationFailed("code", N_("«{code}» is already used"), code=code)
    unit = str(data.get("unit") or "шт").strip()[:16] or "шт"
    category = str(data.get("category") or "").strip()[:100] or None
    return await Product.create(name=name, code=code, unit=unit, category=category)


# --- access ------------------------------------------------------------------------
async def visible_activities(actor: User) -> QuerySet[Activity]:
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    if actor.role == Role.ADMIN:
        return Activity.all()
    if actor.role == Role.HEAD and actor.department_id is not None:
        depts = list(await department_subtree_ids(actor.department_id))
        people = Subquery(User.filter(department_id__in=depts).values("id"))
        assigned = ActivityAssignee.filter(user_id__in=people)
        return Activity.filter(Q(author_id__in=people)
                               | Q(id__in=Subquery(assigned.values("activity_id"))))
    assigned = ActivityAssignee.filter(user_id=actor.id)
    return Activity.filter(Q(author_id=actor.id)
                           | Q(id__in=Subquery(assigned.values("activity_id"))))


async def get_activity(actor: User, activity_id: int) -> Activity:
    found = await (await visible_activities(actor)).get_or_none(id=activity_id)
    if found is None:
        raise NotFound("activity")
    return found


async def find_activity(activity_id: int) -> Activity | None:
    """An activity by id without an access check: for what follows a change the person
    was allowed to make (the task's topic announcing it)."""
    return await Activity.get_or_none(id=activity_id)


async def assignee_ids(activity_id: int) -> list[int]:
    return list(await ActivityAssignee.filter(activity_id=activity_id).order_by(
        "id").values_list("user_id", flat=True))


async def assignees(activity_id: int) -> list[User]:
    """The assignees as people."""
    return await User.filter(id__in=await assignee_ids(activity_id))


async def _is_head_over(actor: User, user_ids: Iterable[int]) -> bool:
    if actor.role != Role.HEAD or actor.department_id is None:
        return False
    depts = await department_subtree_ids(actor.department_id)
    return await User.filter(id__in=list(user_ids), department_id__in=list(depts)).exists()


async def _may_change(actor: User, activity: Activity, people: list[int]) -> None:
    if actor.role == Role.ADMIN or actor.id == activity.author_id or actor.id in people:
        return
    if await _is_head_over(actor, [*people, activity.author_id or 0]):
        return
    raise PermissionDenied("only the author, the assignees, their head or an admin")


async def may_see_calendar_of(actor: User, person_id: int) -> bool:
    """S-20: one's own calendar; a head, their departments' people; an admin, all."""
    if actor.id == person_id or actor.role == Role.ADMIN:
        return True
    return await _is_head_over(actor, [person_id])


async def calendar_people(actor: User) -> list[tuple[int, str]]:
    """S-20: (id, name) of the active people whose calendars ``actor`` may open, by name,
    themselves always among them: a head (of a department), their departments' people;
    an admin, everyone; anybody else, themselves."""
    qs = User.filter(status=StaffStatus.ACTIVE)
    if actor.role == Role.HEAD and actor.department_id:
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    elif actor.role != Role.ADMIN:
        qs = qs.filter(id=actor.id)
    rows = await qs.order_by("full_name").values_list("id", "full_name")
    if actor.id not in {i for i, _n in rows}:
        rows = [(actor.id, actor.full_name), *rows]
    return rows


async def _verifies(actor: User, people: list[int]) -> bool:
    """S-21: an admin, or a head over one of ``people`` (the assignees)."""
    return actor.role == Role.ADMIN or await _is_head_over(actor, people)


async def may_verify(actor: User, activity: Activity, people: list[int]) -> bool:
    """Whether the card offers ``actor`` to verify the activity (``people``: its
    assignees): done, not verified yet, done by someone else, and :func:`do_verify`
    would let them."""
    return (str(activity.state) == ActivityState.DONE and activity.verified_at is None
            and activity.done_by_id != actor.id and await _verifies(actor, people))


# --- notices -----------------------------------------------------------------------
@dataclass
class Notice:
    """Tell ``user_id`` about ``activity_id`` after the commit (S-18)."""

    user_id: int
    kind: str  # created | assigned | rescheduled | done | verified | cancelled | comment
    activity_id: int
    by_user_id: int | None
    detail: str | None = None


@dataclass
class ActivityResult:
    activity: Activity
    notices: list[Notice] = field(default_factory=list)


def _notices(kind: str, activity: Activity, people: Iterable[int], actor: User,
             detail: str | None = None) -> list[Notice]:
    """Everybody concerned but the person who acted."""
    targets = dict.fromkeys([*(people or []), activity.author_id])
    return [Notice(uid, kind, activity.id, actor.id, detail) for uid in targets
            if uid and uid != actor.id]


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


# --- validation --------------------------------------------------------------------
def _aware(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(name, N_("«{value}» is not a date and time"), value=value)
    if not isinstance(value, datetime):
        raise ValidationFailed(name, N_("is not a date and time"))
    if value.tzinfo is None:
        raise ValidationFailed(name, N_("give the time zone (for example +03:00)"))
    return value.astimezone(ZoneInfo("UTC"))


ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _rule(rule: str, start: datetime, tz: str):
    """The rule expanded from the start in its own zone (aware: 10:00 stays 10:00 local
    across daylight saving, and an UNTIL in UTC compares as RFC 5545 says)."""
    return rrulestr(rule, dtstart=start.astimezone(ZoneInfo(tz)))


def _check_rrule(rule: str | None, start: datetime | None, tz: str) -> str | None:
    if not rule:
        return None
    rule = rule.strip().removeprefix("RRULE:").upper()
    if start is None:
        raise ValidationFailed("rrule", N_("a recurring activity needs a start"))
    freq = dict(p.split("=", 1) for p in rule.split(";") if "=" in p).get("FREQ")
    if freq not in ALLOWED_FREQ:
        raise ValidationFailed("rrule", N_("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"))
    try:
        _rule(rule, start, tz)[0]  # noqa: B018 - an impossible rule raises here
    except (ValueError, IndexError, TypeError) as exc:
        if "UNTIL" in str(exc):
            raise ValidationFailed("rrule", N_("not an RFC 5545 rule: give UNTIL in UTC, "
                                               "ending with Z")) from None
        raise ValidationFailed("rrule", N_("not an RFC 5545 repeat rule")) from None
    return rule


async def _validated(data: dict[str, Any], actor: User, *, current: Activity | None = None
                     ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data or current is None:
        title = " ".join(str(data.get("title") or "").split())
        if not title:
            raise ValidationFailed("title", N_("is empty"))
        if len(title) > 300:
            raise ValidationFailed("title", N_("is longer than 300 characters"))
        out["title"] = title
    if "type" in data or current is None:
        out["type"] = await get_type(data.get("type") or "task")
    for key in ("goal", "result", "location", "agenda", "minutes"):
        if key in data:
            value = str(data[key] or "").strip() or None
            if value and len(value) > (400 if key == "location" else 20000):
                raise ValidationFailed(key, N_("is too long"))
            out[key] = value
    if "priority" in data:
        if data["priority"] not in Priority.__members__.values():
            raise ValidationFailed("priority", N_("must be low, normal, high or critical"))
        out["priority"] = Priority(data["priority"])
    if "percent" in data:
        percent = data["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValidationFailed("percent", N_("must be a whole number from 0 to 100"))
        out["percent"] = percent
    if "duration_min" in data:
        minutes = data["duration_min"]
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)
                                    or not 0 < minutes <= 60 * 24 * 31):
            raise ValidationFailed("duration_min", N_("must be minutes, more than 0"))
        out["duration_min"] = minutes
    if "all_day" in data:  # a whole day (or days, to ends_at's day) in the activity's zone
        if not isinstance(data["all_day"], bool):
            raise ValidationFailed("all_day", N_("must be true or false"))
        out["all_day"] = data["all_day"]
    for key in ("starts_at", "ends_at"):
        if key in data:
            out[key] = _aware(data[key], key)
    start = out.get("starts_at", current.starts_at if current else None)
    end = out.get("ends_at", current.ends_at if current else None)
    if start and end and end < start:
        raise ValidationFailed("ends_at", N_("is before the start"))
    if "rrule" in data:
        out["rrule"] = _check_rrule(data["rrule"], start,
                                    current.timezone if current else actor.timezone)
    if "client_id" in data:
        out["client_id"] = None
        if data["client_id"]:
            try:
                out["client_id"] = (await get_client(actor, int(data["client_id"]))).id
            except NotFound:
                raise ValidationFailed("client", N_("no such client among yours"))
    client_id = out.get("client_id", current.client_id if current else None)
    if "contact_id" in data:
        out["contact_id"] = None
        if data["contact_id"]:
            contact = await ContactPerson.get_or_none(id=data["contact_id"], archived_at=None)
            if contact is None or contact.client_id != client_id:
                raise ValidationFailed("contact", N_("is not a contact person of the client"))
            out["contact_id"] = contact.id
    if "product_id" in data:
        out["product_id"] = None
        if data["product_id"]:
            if not await Product.filter(id=data["product_id"], archived=False).exists():
                raise ValidationFailed("product", N_("no such product"))
            out["product_id"] = data["product_id"]
    if "category_id" in data:
        out["category_id"] = None
        if data["category_id"]:
            if not await ActivityCategory.filter(id=data["category_id"],
                                                 archived=False).exists():
                raise ValidationFailed("category", N_("no such category"))
            out["category_id"] = data["category_id"]
    if "client_notice_hours" in data:
        hours = data["client_notice_hours"]
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int)
                                  or not 1 <= hours <= 168):
            raise ValidationFailed("client_notice_hours", N_("hours from 1 to 168"))
        out["client_notice_hours"] = hours
    if "client_notice_template_id" in data:
        from models import MessageTemplate

        out["client_notice_template_id"] = None
        if data["client_notice_template_id"]:
            if not await MessageTemplate.filter(id=data["client_notice_template_id"],
                                                archived=False).exists():
                raise ValidationFailed("client_notice_template", N_("no such template"))
            out["client_notice_template_id"] = data["client_notice_template_id"]
    if out.get("client_notice_hours") and not (
            out.get("client_notice_template_id") or (current and
                                                     current.client_notice_template_id)):
        raise ValidationFailed("client_notice_template", N_("choose the message to send"))
    for key in ("latitude", "longitude"):
        if key in data:
            value = data[key]
            limit = 90 if key == "latitude" else 180
            if value is not None and (not isinstance(value, int | float)
                                      or not -limit <= value <= limit):
                raise ValidationFailed(key, N_("is out of range"))
            out[key] = value
    return out


async def _validated_assignees(raw: Any, actor: User, *, scoped: bool = True,
                               existing: Iterable[int] = ()) -> list[int]:
    """Active staff ids; the people added (not ``existing`` ones) must be within the
    actor's reach: a manager's department, a head's departments."""
    if raw is None:
        if existing:
            raise ValidationFailed("assignees", N_("choose at least one person"))
        return [actor.id]
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed("assignees", N_("choose at least one person"))
    if any(isinstance(x, bool) or not isinstance(x, int) for x in raw):
        raise ValidationFailed("assignees", N_("give staff ids"))
    ids = list(dict.fromkeys(raw))
    found = set(await User.filter(id__in=ids, status=StaffStatus.ACTIVE).values_list(
        "id", flat=True))
    if missing := [i for i in ids if i not in found]:
        raise ValidationFailed("assignees", N_("no active staff member with id {id}"),
                               id=missing[0])
    kept = set(existing)
    others = [i for i in ids if i != actor.id and i not in kept] if scoped else []
    if others and actor.role == Role.MANAGER:
        # a manager assigns to colleagues of their department (or to themselves)
        same = await User.filter(id__in=others, department_id=actor.department_id).count() \
            if actor.department_id else 0
        if same != len(others):
            raise PermissionDenied("a manager assigns tasks within their department")
    if others and actor.role == Role.HEAD and not await _all_under(actor, others):
        raise PermissionDenied("that person is outside your departments")
    return ids


async def _all_under(head: User, ids: list[int]) -> bool:
    if head.department_id is None:
        return False
    depts = await department_subtree_ids(head.department_id)
    return await User.filter(id__in=ids, department_id__in=list(depts)).count() == len(ids)


def _validated_leads(raw: Any) -> list[int]:
    if raw is None:
        return list(DEFAULT_LEADS)
    if not isinstance(raw, list | tuple):
        raise ValidationFailed("reminders", N_("give minutes before the start"))
    leads = sorted(set(raw))
    if len(leads) > MAX_LEADS:
        raise ValidationFailed("reminders", N_("at most {max_leads} reminders"),
                               max_leads=MAX_LEADS)
    for lead in leads:
        if isinstance(lead, bool) or not isinstance(lead, int) or \
                not 0 <= lead <= MAX_LEAD_MINUTES:
            raise ValidationFailed("reminders", N_("minutes from 0 to two weeks"))
    return leads


# --- reminders (K-15) -------------------------------------------------------------
def occurrences(activity: Activity, start: datetime, end: datetime,
                *, limit: int = 500) -> list[datetime]:
    """A-8: the starts of an activity within [start, end), its RRULE expanded lazily in
    its own time zone (so 10:00 stays 10:00 across a daylight-saving change), left-out
    starts removed."""
    if activity.starts_at is None:
        return []
    if not activity.rrule:
        return [activity.starts_at] if start <= activity.starts_at < end else []
    rule = _rule(activity.rrule, activity.starts_at, activity.timezone)
    skip = {datetime.fromisoformat(x) for x in activity.exdates or []}
    out: list[datetime] = []
    lo = start.astimezone(ZoneInfo(activity.timezone)) - timedelta(days=1)
    for local in rule.xafter(lo, inc=True):
        when = local.astimezone(ZoneInfo("UTC"))
        if when >= end or len(out) >= limit:
            break
        if when >= start and when not in skip:
            out.append(when)
    return out


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


async def assignable_people(actor: User) -> list[User]:
    """Whom ``actor`` may make an assignee: a manager, their department; a head, their
    departments; an admin, anyone active."""
    qs = User.filter(status=StaffStatus.ACTIVE)
    if actor.role == Role.ADMIN:
        pass
    elif actor.department_id is None:
        qs = qs.filter(id=actor.id)
    elif actor.role == Role.HEAD:
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    else:
        qs = qs.filter(department_id=actor.department_id)
    return await qs.order_by("full_name")


# --- changes -----------------------------------------------------------------------
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
        return ActivityResult(done, _notices("done", done, people, actor, _short(result)))
    async with in_transaction():
        if result != activity.result:
            await _audit(actor, source, activity, "update", "result", activity.result, result)
        await _set_state(actor, activity, ActivityState.DONE, source, result=result,
                         done_at=utcnow(), done_by_id=actor.id,
                         percent=100 if percent is None else percent)
        await _rebuild_reminders(activity, people, None)
    return ActivityResult(activity, _notices("done", activity, people, actor, _short(result)))


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


# --- reading -----------------------------------------------------------------------
def day_bounds(day: datetime, tz: str, days: int = 1) -> tuple[datetime, datetime]:
    """[start, end) in UTC of ``days`` local days starting at ``day``'s local date."""
    zone = ZoneInfo(tz)
    local = day.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    end_local = (start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), end_local.astimezone(ZoneInfo("UTC"))


@dataclass
class Filters:
    """S-19: what an agenda list is narrowed by."""

    type_code: str | None = None
    type_id: int | None = None  # a type an admin added has no code
    client_id: int | None = None
    state: str | None = None
    priority: str | None = None
    assignee_id: int | None = None


async def _filtered(actor: User, filters: Filters | None, *, person_id: int | None
                    ) -> QuerySet[Activity]:
    qs = await visible_activities(actor)
    f = filters or Filters()
    person = f.assignee_id or person_id
    if person is not None:
        if not await may_see_calendar_of(actor, person):
            raise PermissionDenied("not your colleague's calendar")
        qs = qs.filter(id__in=Subquery(ActivityAssignee.filter(user_id=person).values(
            "activity_id")))
    if f.type_code:
        qs = qs.filter(type__code=f.type_code)
    if f.type_id:
        qs = qs.filter(type_id=f.type_id)
    if f.client_id:
        qs = qs.filter(client_id=f.client_id)
    if f.state:
        qs = qs.filter(state=f.state)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    return qs


@dataclass
class AgendaItem:
    activity: Activity
    start: datetime | None  # this occurrence's start
    overdue: bool


async def agenda(actor: User, start: datetime, end: datetime, *, person_id: int | None = None,
                 filters: Filters | None = None, limit: int = 500) -> list[AgendaItem]:
    """S-19, S-20: activities in [start, end) (recurring ones expanded), of ``person_id``
    (default: the actor), filtered; ordered by time."""
    person = person_id if person_id is not None else actor.id
    qs = await _filtered(actor, filters, person_id=person)
    now = utcnow()
    single = await qs.filter(rrule=None, starts_at__gte=start, starts_at__lt=end).order_by(
        "starts_at", "id").limit(limit).prefetch_related("type", "client", "category")
    items = [AgendaItem(a, a.starts_at, is_overdue(a, now)) for a in single]
    series = await qs.exclude(rrule=None).filter(starts_at__lt=end).prefetch_related(
        "type", "client", "category")
    for a in series:
        for when in occurrences(a, start, end):
            items.append(AgendaItem(a, when, str(a.state) in OPEN and when < now and False))
    items.sort(key=lambda i: (i.start, i.activity.id))
    return items[:limit]


def is_overdue(activity: Activity, now: datetime | None = None) -> bool:
    """S-15: open and its due time passed (a recurring series is never overdue as a
    whole)."""
    due = activity.due_at
    return (str(activity.state) in OPEN and due is not None and not activity.rrule
            and due < (now or utcnow()))


async def overdue(actor: User, *, person_id: int | None = None, filters: Filters | None = None,
                  limit: int = 200) -> list[Activity]:
    person = person_id if person_id is not None else actor.id
    qs = await _filtered(actor, filters, person_id=person)
    now = utcnow()
    return await qs.filter(state__in=OPEN, rrule=None).filter(
        Q(kind=ActivityKind.TASK, ends_at__lt=now)
        | Q(ends_at=None, starts_at__lt=now)
        | Q(kind=ActivityKind.EVENT, starts_at__lt=now)).order_by(
        "starts_at", "id").limit(limit).prefetch_related("type", "client")


async def fetch_card(activity: Activity) -> Activity:
    """The activity with what its card shows loaded: type, client, contact, category."""
    await activity.fetch_related("type", "client", "contact", "category")
    return activity


async def fetch_for_list(activities: list[Activity]) -> list[Activity]:
    """The activities with what a list row shows loaded: each one's type and client."""
    for a in activities:
        await a.fetch_related("type", "client")
    return activities


@dataclass
class ListDetails:
    """What the organizer's rows show beside the activities themselves."""

    assignees: dict[int, list[int]]  # activity id → its assignees' ids, in order
    names: dict[int, str]  # staff id → full name (of those assignees)
    types: dict[int, ActivityType]  # every type by id
    colours: dict[int, str]  # category id → colour
    clients: dict[int, str]  # client id → name (of the activities' clients)


async def list_details(activities: list[Activity]) -> ListDetails:
    """The assignees, types, colours and client names of a list, a query each."""
    assigned: dict[int, list[int]] = {}
    for aid, uid in await ActivityAssignee.filter(
            activity_id__in=[a.id for a in activities]).order_by("id").values_list(
            "activity_id", "user_id"):
        assigned.setdefault(aid, []).append(uid)
    people = {u for us in assigned.values() for u in us}
    names = dict(await User.filter(id__in=list(people)).values_list("id", "full_name")) \
        if people else {}
    types = {t.id: t for t in await ActivityType.all()}
    colours = dict(await ActivityCategory.all().values_list("id", "colour"))
    clients = dict(await Client.filter(id__in=list({a.client_id for a in activities
                                                    if a.client_id})).values_list("id", "name"))
    return ListDetails(assigned, names, types, colours, clients)


async def reminder_leads(activity_id: int) -> list[int]:
    """The lead times (minutes before the start) of its reminders, snoozes and
    cancelled ones left out."""
    return sorted(set(await Reminder.filter(activity_id=activity_id, snoozed=False).exclude(
        state=ReminderState.CANCELLED).values_list("lead_minutes", flat=True)))


async def history(actor: User, activity_id: int) -> list[AuditLog]:
    activity = await get_activity(actor, activity_id)
    return await AuditLog.filter(entity="activity", object_id=activity.id).order_by(
        "at", "id").prefetch_related("user")


async def client_activities(actor: User, client_id: int, *, limit: int = 50
                            ) -> tuple[Activity | None, Activity | None, list[Activity]]:
    """The client card: last done, next planned, and the latest (S-7)."""
    qs = (await visible_activities(actor)).filter(client_id=client_id)
    now = utcnow()
    last = await qs.filter(state=ActivityState.DONE).order_by("-done_at", "-id").first(
    ).prefetch_related("type")
    nxt = await qs.filter(state__in=OPEN, starts_at__gte=now).order_by(
        "starts_at", "id").first().prefetch_related("type")
    latest = await qs.order_by("-created_at", "-id").limit(limit).prefetch_related("type")
    return last, nxt, latest


async def comments(actor: User, activity_id: int) -> list[ActivityComment]:
    activity = await get_activity(actor, activity_id)
    return await ActivityComment.filter(activity_id=activity.id, deleted_at=None).order_by(
        "created_at", "id")


# --- the morning digest and overdue escalation (S-18, K-15) -------------------------
DIGEST_HOUR_KEY = "organizer.digest_hour"  # local hour of the morning digest (0-23)
ESCALATION_KEY = "organizer.escalation_hours"  # overdue this long → the supervisor; 0 off
DEFAULT_DIGEST_HOUR = 8
DEFAULT_ESCALATION_HOURS = 24


async def organizer_settings() -> dict[str, int]:
    from models import Setting

    rows = dict(await Setting.filter(key__in=[DIGEST_HOUR_KEY, ESCALATION_KEY]).values_list(
        "key", "value"))
    return {"digest_hour": int(rows.get(DIGEST_HOUR_KEY, DEFAULT_DIGEST_HOUR)),
            "escalation_hours": int(rows.get(ESCALATION_KEY, DEFAULT_ESCALATION_HOURS))}


async def do_set_organizer_settings(actor: User, digest_hour: int,
                                    escalation_hours: int) -> dict[str, int]:
    from models import Setting

    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins change the organizer settings")
    if isinstance(digest_hour, bool) or not isinstance(digest_hour, int) or \
            not 0 <= digest_hour <= 23:
        raise ValidationFailed("digest_hour", N_("an hour from 0 to 23"))
    if isinstance(escalation_hours, bool) or not isinstance(escalation_hours, int) or \
            not 0 <= escalation_hours <= 24 * 30:
        raise ValidationFailed("escalation_hours", N_("hours from 0 (off) to 720"))
    for key, value in ((DIGEST_HOUR_KEY, digest_hour), (ESCALATION_KEY, escalation_hours)):
        await Setting.update_or_create(key=key, defaults={"value": value})
    return await organizer_settings()


async def claim_once(kind: str, user_id: int, key: str) -> bool:
    """True for the one caller (of any replica) whose row is new."""
    from tortoise.exceptions import IntegrityError

    from models import NotificationLog

    try:
        await NotificationLog.create(kind=kind, user_id=user_id, key=key)
    except IntegrityError:
        return False
    return True


@dataclass
class Digest:
    user: User
    today: list[AgendaItem]
    overdue: list[Activity]


async def due_digests(now: datetime | None = None) -> list[Digest]:
    """The people whose local morning hour has come and who have not had today's
    digest, each claimed once; people with nothing today and nothing overdue get none."""
    from models import NotificationLog

    now = now or utcnow()
    hour = (await organizer_settings())["digest_hour"]
    out = []
    for user in await User.filter(status=StaffStatus.ACTIVE).exclude(telegram_id=None):
        local = now.astimezone(ZoneInfo(user.timezone))
        if local.hour != hour:
            continue  # only within the digest hour: a start at 23:00 sends nothing
        day = local.date().isoformat()
        if await NotificationLog.filter(kind="digest", user_id=user.id, key=day).exists():
            continue
        # claimed even when there is nothing to say: no late digest that day
        if not await claim_once("digest", user.id, day):
            continue
        start, end = day_bounds(now, user.timezone)
        today = await agenda(user, start, end)
        late = await overdue(user, limit=20)
        if today or late:
            out.append(Digest(user, today, late))
    return out


async def due_escalations(now: datetime | None = None) -> list[tuple[User, Activity, User]]:
    """(supervisor, activity, assignee) for open activities overdue longer than the
    admin's delay, each told once; the activity is marked escalated."""
    now = now or utcnow()
    hours = (await organizer_settings())["escalation_hours"]
    if hours <= 0:
        return []
    limit = now - timedelta(hours=hours)
    found = await Activity.filter(state__in=OPEN, rrule=None, escalated_at=None).filter(
        Q(kind=ActivityKind.TASK, ends_at__lt=limit) | Q(ends_at=None, starts_at__lt=limit)
        | Q(kind=ActivityKind.EVENT, starts_at__lt=limit)).limit(200)
    out = []
    for activity in found:
        claimed = await Activity.filter(id=activity.id, escalated_at=None).update(
            escalated_at=now)
        if not claimed:
            continue  # another replica has it
        for uid in await assignee_ids(activity.id):
            person = await User.get_or_none(id=uid)
            if person is None or person.supervisor_id is None:
                continue
            boss = await User.get_or_none(id=person.supervisor_id, status=StaffStatus.ACTIVE)
            if boss is not None and await claim_once("escalation", boss.id, str(activity.id)):
                out.append((boss, activity, person))
    return out


# --- custom fields of activities (S-16) -------------------------------------------
async def _activity_check(actor: User, object_id: int, write: bool) -> int | None:
    """Who may read and write an activity's custom values: whoever sees it; whoever may
    change it. Returns the client id for the audit log (the client's timeline)."""
    activity = await get_activity(actor, object_id)
    if write:
        await _may_change(actor, activity, await assignee_ids(activity.id))
    return activity.client_id


register_object_check(CustomEntity.ACTIVITY, _activity_check)
