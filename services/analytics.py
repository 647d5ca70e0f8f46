"""Analytics: activity counts per manager and type (S-27) with a chart, work plans
against the fact (M-14) and reaction time to inbound requests (M-16).

Rules:

* Who is counted: an admin sees everyone; a head, the people of their department and
  every department under it; a manager, only themselves. People outside the actor's
  reach are left out silently; naming a department outside a head's reach is
  PermissionDenied. ``department_id`` narrows any of these to that department's
  subtree.
* Periods are ``[start, end)`` of aware datetimes (converted to UTC: that is how
  activities are stored). Work plans are per local month or day: the fact is counted
  in each person's own time zone (``User.timezone``).
* An activity with several assignees counts once for each of them.
* The database does the counting; Python only sorts the (small) results and computes
  the median and 90th percentile of reaction times per person.

The chart (:func:`chart_png`) is CPU work of some tens of milliseconds: front ends
run it in an executor (``loop.run_in_executor``), not on the event loop.
"""

from __future__ import annotations

import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    ActivityAssignee,
    ActivityState,
    ActivityType,
    Role,
    StaffStatus,
    User,
    WorkPlan,
)
from services.activities import get_type
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_staff

INBOUND_REQUEST = "inbound_request"
PLAN_PERIODS = ("month", "day")
MAX_TARGET = 10_000


# --- who is counted ----------------------------------------------------------------
@dataclass(frozen=True)
class _Scope:
    """The people an actor's report covers: those in ``departments`` (None: any
    department, or none) and, for a manager, only ``person``."""

    departments: tuple[int, ...] | None = None
    person: int | None = None

    @property
    def everyone(self) -> bool:
        return self.departments is None and self.person is None

    def users(self) -> QuerySet[User]:
        qs = User.all()
        if self.departments is not None:
            qs = qs.filter(department_id__in=list(self.departments))
        if self.person is not None:
            qs = qs.filter(id=self.person)
        return qs

    def assignments(self) -> QuerySet[ActivityAssignee]:
        if self.everyone:
            return ActivityAssignee.all()
        if self.person is not None and self.departments is None:
            return ActivityAssignee.filter(user_id=self.person)
        return ActivityAssignee.filter(user_id__in=Subquery(self.users().values("id")))


async def _scope(actor: User, department_id: int | None = None) -> _Scope:
    require_staff(actor)
    asked: set[int] | None = None
    if department_id is not None:
        asked = await department_subtree_ids(int(department_id))
    if actor.role == Role.ADMIN:
        return _Scope(departments=None if asked is None else tuple(sorted(asked)))
    if actor.role == Role.HEAD and actor.department_id is not None:
        mine = await department_subtree_ids(actor.department_id)
        if asked is not None and int(department_id) not in mine:
            raise PermissionDenied("that department is outside yours")
        return _Scope(departments=tuple(sorted(asked if asked is not None else mine)))
    # a manager (or a head without a department): themselves only
    if asked is not None and actor.department_id not in asked:
        return _Scope(departments=(), person=actor.id)  # nobody
    return _Scope(person=actor.id)


async def _may_manage(actor: User, person: User) -> None:
    """Plans: an admin sets anyone's, a head those of their departments' people."""
    require_staff(actor)
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.HEAD and actor.department_id is not None \
            and person.department_id is not None \
            and person.department_id in await department_subtree_ids(actor.department_id):
        return
    raise PermissionDenied("only the person's head or an admin sets work plans")


async def plannable_people(actor: User) -> list[User]:
    """Whose work plans ``actor`` may set (M-14): an admin anyone active, a head the
    active people of their departments, others nobody."""
    from models import StaffStatus

    if actor.role == Role.ADMIN:
        return await User.filter(status=StaffStatus.ACTIVE).order_by("full_name")
    if actor.role == Role.HEAD and actor.department_id is not None:
        return await User.filter(status=StaffStatus.ACTIVE, department_id__in=list(
            await department_subtree_ids(actor.department_id))).order_by("full_name")
    return []


def _utc_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime):
            raise ValidationFailed(name, N_("is not a date and time"))
        if value.tzinfo is None:
            raise ValidationFailed(name, N_("give the time zone"))
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ValidationFailed("end", N_("is not after the start"))
    return start, end


def _type_key(code: str | None, type_id: int) -> str:
    """The key of a type in reports: its code; types admins added have none."""
    return code or f"type_{type_id}"


async def _names(user_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return dict(await User.filter(id__in=ids).values_list("id", "full_name"))


# --- S-27: done activities per manager and type -------------------------------------
@dataclass
class Table:
    """S-27: done activities per person and type.

    ``people`` (id, full name) are sorted by total, largest first, then name; only
    people with at least one done activity are listed. ``types`` (code, name) follow
    the order of the types dictionary; a type without a code is keyed ``type_<id>``.
    ``counts`` holds only non-zero cells.
    """

    people: list[tuple[int, str]] = field(default_factory=list)
    types: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[tuple[int, str], int] = field(default_factory=dict)
    totals: dict[int, int] = field(default_factory=dict)

    def count(self, user_id: int, type_code: str) -> int:
        return self.counts.get((user_id, type_code), 0)

    @property
    def total(self) -> int:
        return sum(self.totals.values())


async def activities_by_manager_and_type(actor: User, start: datetime, end: datetime, *,
                                         department_id: int | None = None) -> Table:
    """S-27: how many activities each person (an assignee) finished per type, with
    ``done_at`` in ``[start, end)``. One grouped query, then names."""
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    rows = await scope.assignments().filter(
        activity__state=ActivityState.DONE, activity__done_at__gte=start,
        activity__done_at__lt=end,
    ).annotate(n=Count("id")).group_by("user_id", "activity__type_id").values(
        "user_id", type_id="activity__type_id", n="n")
    if not rows:
        return Table()
    type_rows = await ActivityType.filter(
        id__in=sorted({r["type_id"] for r in rows})).order_by("sort_order", "name", "id"
                                                              ).values("id", "code", "name")
    keys = {t["id"]: _type_key(t["code"], t["id"]) for t in type_rows}
    counts: dict[tuple[int, str], int] = defaultdict(int)
    totals: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[(r["user_id"], keys[r["type_id"]])] += r["n"]
        totals[r["user_id"]] += r["n"]
    names = await _names(totals)
    people = sorted(((uid, names.get(uid, str(uid))) for uid in totals),
                    key=lambda p: (-totals[p[0]], p[1].casefold(), p[0]))
    return Table(people=people, types=[(keys[t["id"]], t["name"]) for t in type_rows],
                 counts=dict(counts), totals=dict(totals))


def chart_png(table: Table, title: str, *, empty_text: str = "—") -> bytes:
    """S-27: ``table`` as a horizontal stacked bar chart (a bar per person, a colour
    per type, the total at the end of each bar), PNG 800 px wide for a phone screen.

    Uses matplotlib's object API with the Agg canvas (no pyplot: nothing global is
    registered, nothing to close, safe in threads)."""
    from matplotlib.ticker import MaxNLocator

    people = table.people
    types = [t for t in table.types if any(table.count(p, t[0]) for p, _ in people)]
    legend_rows = math.ceil(len(types) / 2) if types else 0
    height = 1.4 + 0.5 * max(len(people), 1) + 0.32 * legend_rows
    fig, ax = bar_figure(title, height, empty_text if not people else None)
    if people:
        labels = [_short(name) for _, name in people]
        ys = list(range(len(people)))
        left = [0] * len(people)
        colours = _colours(len(types))
        for (code, name), colour in zip(types, colours, strict=True):
            widths = [table.count(uid, code) for uid, _ in people]
            ax.barh(ys, widths, left=left, color=colour, label=_short(name), height=0.7,
                    edgecolor="white", linewidth=0.6)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for y, (uid, _) in zip(ys, people, strict=True):
            ax.text(table.totals.get(uid, 0), y, f" {table.totals.get(uid, 0)}",
                    va="center", ha="left", fontsize=11)
        ax.set_yticks(ys, labels, fontsize=12)
        ax.invert_yaxis()  # the first person on top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(axis="x", labelsize=11)
        ax.set_xlim(0, max(left) * 1.12 + 0.5)
        plain_axes(ax)
        fig.legend(loc="outside lower center", ncols=min(2, len(types)), fontsize=11,
                   frameon=False)
    return png_bytes(fig)


def bar_figure(title: str, height: float, empty_text: str | None = None):
    """(figure, axes) for a phone-wide chart (800 px) with its title on the left;
    with ``empty_text`` the axes are hidden and the text stands in their place.
    matplotlib's object API on the Agg canvas: nothing global, safe in threads."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, min(height, 60)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=14, loc="left")
    if empty_text is not None:
        ax.set_axis_off()
        ax.text(0.5, 0.5, empty_text, ha="center", va="center", fontsize=14,
                transform=ax.transAxes)
    return fig, ax


def plain_axes(ax) -> None:
    """A light grid along x behind the bars, no top or right frame."""
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


# --- M-14: work plans ---------------------------------------------------------------
def _plan_period(period: str, period_start: date | str) -> tuple[str, date]:
    if period not in PLAN_PERIODS:
        raise ValidationFailed("period", N_("month or day"))
    if isinstance(period_start, str):
        text = period_start.strip()
        try:
            period_start = date.fromisoformat(f"{text}-01" if len(text) == 7 else text)
        except ValueError:
            raise ValidationFailed("period_start", N_("«{text}» is not a date"), text=text)
    if isinstance(period_start, datetime) or not isinstance(period_start, date):
        raise ValidationFailed("period_start", N_("is not a date"))
    if period == "month":
        period_start = period_start.replace(day=1)
    return period, period_start


def _local_bounds(period: str, period_start: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local month or day that begins at ``period_start``."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if period == "month":
        after = date(period_start.year + period_start.month // 12,
                     period_start.month % 12 + 1, 1)
    else:
        after = period_start + timedelta(days=1)
    start = datetime(period_start.year, period_start.month, period_start.day, tzinfo=zone)
    end = datetime(after.year, after.month, after.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def do_set_plan(actor: User, user_id: int, period: str, period_start: date | str,
                      type_code: str, target: int) -> WorkPlan:
    """M-14: set (or change) how many activities of a type a person should do in a
    month (``period_start`` is moved to the 1st) or a day. Heads set plans of their
    departments' people, admins anyone's; managers cannot. The unique key (person,
    period, start, type) makes it an upsert."""
    require_staff(actor)
    if actor.role == Role.MANAGER:
        raise PermissionDenied("managers do not set work plans")
    period, period_start = _plan_period(period, period_start)
    if isinstance(target, bool) or not isinstance(target, int) \
            or not 0 <= target <= MAX_TARGET:
        raise ValidationFailed("target", N_("must be a whole number from 0 to {max_target}"),
                               max_target=MAX_TARGET)
    person = await User.get_or_none(id=user_id)
    if person is None:
        raise NotFound("user")
    await _may_manage(actor, person)
    if person.status != StaffStatus.ACTIVE:
        raise ValidationFailed("user", N_("is dismissed"))
    kind = await get_type(type_code)
    key = dict(user_id=person.id, period=period, period_start=period_start, type_id=kind.id)
    for attempt in range(2):
        try:
            async with in_transaction():
                plan, _ = await WorkPlan.update_or_create(
                    defaults={"target": target, "set_by_id": actor.id}, **key)
            return plan
        except IntegrityError:  # a concurrent insert of the same key won: update it
            if attempt:
                raise
    raise AssertionError("unreachable")


@dataclass
class PlanRow:
    """M-14: one person's plan of one type against the fact. ``percent`` is
    fact / target rounded to a whole number, None for a target of 0."""

    user_id: int
    full_name: str
    type_code: str
    target: int
    fact: int
    percent: int | None
    type_name: str = ""


async def plan_vs_fact(actor: User, period: str, period_start: date | str, *,
                       department_id: int | None = None) -> list[PlanRow]:
    """M-14: every plan of the period for the people the actor may see, with the
    number of done activities of that type where the person is an assignee and
    ``done_at`` falls in the period *in the person's own time zone*. One query for
    the plans, then one grouped query per time zone among those people."""
    period, period_start = _plan_period(period, period_start)
    scope = await _scope(actor, department_id)
    plans = WorkPlan.filter(period=period, period_start=period_start)
    if not scope.everyone:
        plans = plans.filter(user_id__in=Subquery(scope.users().values("id")))
    rows = await plans.order_by("user__full_name", "user_id", "type__sort_order",
                                "type__name").values(
        "user_id", "target", "type_id", full_name="user__full_name",
        timezone="user__timezone", code="type__code", type_name="type__name")
    if not rows:
        return []
    by_zone: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        by_zone[r["timezone"]].add(r["user_id"])
    type_ids = sorted({r["type_id"] for r in rows})
    facts: dict[tuple[int, int], int] = {}
    for tz, people in sorted(by_zone.items()):
        start, end = _local_bounds(period, period_start, tz)
        counted = await ActivityAssignee.filter(
            user_id__in=sorted(people), activity__state=ActivityState.DONE,
            activity__done_at__gte=start, activity__done_at__lt=end,
            activity__type_id__in=type_ids,
        ).annotate(n=Count("id")).group_by("user_id", "activity__type_id").values(
            "user_id", type_id="activity__type_id", n="n")
        for c in counted:
            facts[(c["user_id"], c["type_id"])] = c["n"]
    out = []
    for r in rows:
        fact = facts.get((r["user_id"], r["type_id"]), 0)
        target = r["target"]
        out.append(PlanRow(
            user_id=r["user_id"], full_name=r["full_name"],
            type_code=_type_key(r["code"], r["type_id"]), target=target, fact=fact,
            percent=round(fact * 100 / target) if target else None,
            type_name=r["type_name"]))
    return out


def department_totals(rows: Iterable[PlanRow]) -> dict[str, tuple[int, int]]:
    """M-14: per type code, (sum of targets, sum of facts) over ``rows``: only people
    with a plan of that type count, so target and fact cover the same people."""
    totals: dict[str, tuple[int, int]] = {}
    for r in rows:
        target, fact = totals.get(r.type_code, (0, 0))
        totals[r.type_code] = (target + r.target, fact + r.fact)
    return totals


async def plan_vs_fact_by_department(actor: User, period: str, period_start: date | str, *,
                                     department_id: int | None = None
                                     ) -> dict[str, tuple[int, int]]:
    """M-14: the department's (or the actor's whole reach's) plan against the fact
    per type code: :func:`department_totals` of :func:`plan_vs_fact`. A page showing
    both calls ``plan_vs_fact`` once and ``department_totals`` on its rows."""
    return department_totals(await plan_vs_fact(actor, period, period_start,
                                                department_id=department_id))


# --- M-16: reaction time to inbound requests ----------------------------------------
@dataclass
class ReactionRow:
    """M-16: one person's inbound requests in the period, how many got a reaction,
    and the median and 90th percentile (linear interpolation) of the minutes to it;
    None when nothing was answered."""

    user_id: int
    full_name: str
    requests: int
    answered: int
    median_minutes: float | None
    p90_minutes: float | None


class _Params:
    """Placeholders in the order they appear: ``?`` (SQLite) or ``$n`` (PostgreSQL)."""

    def __init__(self, dialect: str) -> None:
        self.numbered = dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.numbered else "?"

    def many(self, values: Iterable[Any]) -> str:
        return ", ".join(self(v) for v in values)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite gives back the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile with linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def reaction_times(actor: User, start: datetime, end: datetime, *,
                         department_id: int | None = None) -> list[ReactionRow]:
    """M-16: for each inbound request (type ``inbound_request``) whose time — its
    ``starts_at``, else its ``created_at`` — is in ``[start, end)``, per assignee:
    the reaction is the first other activity (any type but an inbound request) with
    the same client, created after the request's time, that the same person authored
    or is assigned to. A request without a client counts but is never answered.

    One SQL query gives each (request, assignee) pair with its first reaction (a
    correlated MIN subquery); Python computes the median and 90th percentile."""
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    conn = connections.get("default")
    p = _Params(conn.capabilities.dialect)
    asked = "COALESCE(r.starts_at, r.created_at)"
    sql = f"""
        SELECT aa.user_id AS user_id, {asked} AS asked_at,
          (SELECT MIN(o.created_at) FROM activity o
             JOIN activity_type ot ON ot.id = o.type_id
            WHERE o.client_id = r.client_id
              AND (ot.code IS NULL OR ot.code <> {p(INBOUND_REQUEST)})
              AND o.created_at > {asked}
              AND (o.author_id = aa.user_id OR EXISTS (
                   SELECT 1 FROM activity_assignee oa
                    WHERE oa.activity_id = o.id AND oa.user_id = aa.user_id))
          ) AS answered_at
          FROM activity r
          JOIN activity_type rt ON rt.id = r.type_id
          JOIN activity_assignee aa ON aa.activity_id = r.id
         WHERE rt.code = {p(INBOUND_REQUEST)}
           AND {asked} >= {p(start)} AND {asked} < {p(end)}"""
    if scope.departments is not None:
        if not scope.departments:
            return []
        sql += f"""
           AND aa.user_id IN (SELECT id FROM staff_user
                               WHERE department_id IN ({p.many(scope.departments)}))"""
    if scope.person is not None:
        sql += f"\n           AND aa.user_id = {p(scope.person)}"
    pairs = await conn.execute_query_dict(sql, p.values)
    asked_count: dict[int, int] = defaultdict(int)
    minutes: dict[int, list[float]] = defaultdict(list)
    for row in pairs:
        uid = row["user_id"]
        asked_count[uid] += 1
        if row["answered_at"] is not None:
            delta = _as_datetime(row["answered_at"]) - _as_datetime(row["asked_at"])
            minutes[uid].append(delta.total_seconds() / 60)
    names = await _names(asked_count)
    out = []
    for uid, count in asked_count.items():
        values = minutes.get(uid, [])
        out.append(ReactionRow(
            user_id=uid, full_name=names.get(uid, str(uid)), requests=count,
            answered=len(values),
            median_minutes=round(statistics.median(values), 1) if values else None,
            p90_minutes=round(percentile(values, 0.9), 1) if values else None))
    out.sort(key=lambda r: (r.full_name.casefold(), r.user_id))
    return out
