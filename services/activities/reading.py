"""Reading activities (S-7, S-15, S-19, S-20): the agenda of a period with
recurring ones expanded, the overdue, a card's and a list's parts, the history and
comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import (
    Activity,
    ActivityAssignee,
    ActivityCategory,
    ActivityComment,
    ActivityKind,
    ActivityState,
    ActivityType,
    AuditLog,
    Client,
    User,
)
from services.activities.access import (
    get_activity,
    may_see_calendar_of,
    visible_activities,
)
from services.activities.common import OPEN
from services.activities.recurrence import occurrences
from services.clock import utcnow
from services.errors import PermissionDenied


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
