"""K-9: the monthly bonus statement per person — a line per scheme that applies to
them and has a plan — its approval, and the records each line comes from.

Rules (the scale's own are in :mod:`services.motivation`):

* **A draft** is computed anew on every view from the plans and their facts; nothing
  of it is stored. **Approving** stores the statement with its lines and the records
  each line's fact came from (at most ``MAX_KEPT`` per line): an approved statement
  shows what was approved, whatever changes later. **Reopening** drops the stored
  lines: the statement is a draft again (who reopened it and when is kept).
* **Who sees**: an admin everyone's, a head those of the people of their departments
  (and their own), a manager only their own (others' are "not found" for them).
  **Who approves and reopens**: an admin, or a head of the person's department (or
  one above it) — never a head their own statement.
* **People listed** for a month: active staff in the actor's reach with at least one
  scheme for them in the month, and anyone with a statement approved for it.
* **Totals** are per currency (a bonus in roubles and one in hryvnias are not added).
* **Speed** (:func:`compute_month`): the facts come from
  :func:`services.sales_plans.plans_vs_fact` and :func:`services.analytics.plan_vs_fact`
  — one grouped query per metric kind and time zone — and one query each for the
  schemes, the people and the approved statements; nothing is read per person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models import (
    BonusLine,
    BonusScheme,
    BonusStatement,
    PlanMetric,
    Role,
    SchemeMetric,
    StaffStatus,
    StatementState,
    User,
)
from services import analytics
from services import motivation as schemes_svc
from services import motivation_sources as src
from services.analytics import _local_bounds, _scope
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_staff
from services.sales_plans import month_of, plans_vs_fact

PLAN_OF = {SchemeMetric.REVENUE: PlanMetric.REVENUE, SchemeMetric.MARGIN: PlanMetric.MARGIN,
           SchemeMetric.DEALS_WON: PlanMetric.DEALS_WON,
           SchemeMetric.DOCUMENTS: PlanMetric.DOCUMENTS,
           SchemeMetric.PAYMENTS: PlanMetric.PAYMENTS}


@dataclass
class Line:
    """One scheme's line: the plan against the fact, the row of the scale applied
    (1-based; None: outside the scale) and what it pays (negative: a penalty)."""

    scheme_id: int | None
    scheme_name: str
    metric: str
    kind: str
    base: str
    currency: str
    plan_currency: str | None
    plan: Decimal
    fact: Decimal
    achievement: Decimal
    step: int | None
    rate: Decimal | None
    amount: Decimal
    activity_type_id: int | None = None
    position: int = 0
    frozen: bool = False  # an approved line: its records are the ones kept


@dataclass
class Statement:
    user_id: int
    full_name: str
    department_id: int | None
    timezone: str
    month: date
    state: str = StatementState.DRAFT
    lines: list[Line] = field(default_factory=list)
    unplanned: list[str] = field(default_factory=list)  # schemes without a plan
    approved_by: str | None = None
    approved_at: Any = None
    reopened_at: Any = None
    statement_id: int | None = None  # the stored statement of an approved one

    @property
    def totals(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            out[line.currency] += line.amount
        return dict(sorted(out.items()))

    @property
    def achievement(self) -> Decimal | None:
        """The first line's achievement: "plan X%" of a digest."""
        return self.lines[0].achievement if self.lines else None


# --- who ----------------------------------------------------------------------------
async def _may_see(actor: User, person: User) -> bool:
    if actor.role == Role.ADMIN or actor.id == person.id:
        return True
    return (actor.role == Role.HEAD and actor.department_id is not None
            and person.department_id is not None
            and person.department_id in await department_subtree_ids(actor.department_id))


async def may_approve(actor: User, person_id: int, department_id: int | None) -> bool:
    """An admin, or a head of the person's department (never their own statement)."""
    if not actor.is_active:
        return False
    if actor.role == Role.ADMIN:
        return True
    return (actor.role == Role.HEAD and actor.department_id is not None
            and person_id != actor.id and department_id is not None
            and department_id in await department_subtree_ids(actor.department_id))


async def approver_reach(actor: User) -> set[int] | None:
    """The departments whose people's statements ``actor`` approves: None for all (an
    admin), else a set (empty for a manager)."""
    if actor.is_active and actor.role == Role.ADMIN:
        return None
    if actor.is_active and actor.role == Role.HEAD and actor.department_id is not None:
        return await department_subtree_ids(actor.department_id)
    return set()


def approves(actor: User, reach: set[int] | None, st: Statement) -> bool:
    """:func:`may_approve` with the actor's :func:`approver_reach` worked out once."""
    if reach is None:
        return True
    return st.user_id != actor.id and st.department_id in reach


# --- computing -----------------------------------------------------------------------
async def compute_month(actor: User, month: date | str, *, department_id: int | None = None,
                        user_id: int | None = None) -> list[Statement]:
    """Every statement of ``month`` that ``actor`` may see (narrowed to a department's
    subtree or to one person): drafts computed now, approved ones as stored. Sorted
    by name."""
    require_staff(actor)
    month = month_of(month)
    scope = await _scope(actor, department_id)
    people_qs = User.filter(status=StaffStatus.ACTIVE)
    if not scope.everyone:
        people_qs = people_qs.filter(id__in=Subquery(scope.users().values("id")))
    if user_id is not None:
        people_qs = people_qs.filter(id=user_id)
    people = {p["id"]: p for p in await people_qs.values(
        "id", "full_name", "department_id", "timezone")}
    stored_qs = BonusStatement.filter(month=month)
    if not scope.everyone:
        stored_qs = stored_qs.filter(user_id__in=Subquery(scope.users().values("id")))
    if user_id is not None:
        stored_qs = stored_qs.filter(user_id=user_id)
    stored = {s.user_id: s for s in await stored_qs.prefetch_related("approved_by", "user")}
    kept_lines: dict[int, list[Line]] = defaultdict(list)  # without their records: heavy
    for x in await BonusLine.filter(statement_id__in=[
            s.id for s in stored.values() if s.state == StatementState.APPROVED]).order_by(
            "statement_id", "position").values("statement_id", *LINE_FIELDS):
        kept_lines[x["statement_id"]].append(_stored_line(x))
    for s in stored.values():  # a dismissed person's approved statement stays listed
        if s.user_id not in people and s.state == StatementState.APPROVED:
            people[s.user_id] = {"id": s.user_id, "full_name": s.user.full_name,
                                 "department_id": s.user.department_id,
                                 "timezone": s.user.timezone}
    schemes, subtrees = await schemes_svc.live_schemes(month)
    mine = {pid: [s for s in schemes if schemes_svc.applies(
        s, pid, p["department_id"], subtrees, month)] for pid, p in people.items()}
    wanted = {pid for pid, ss in mine.items() if ss} | {
        uid for uid, s in stored.items() if s.state == StatementState.APPROVED}
    if not wanted:
        return []
    sales: dict[tuple[int, str, str | None], Any] = {}
    if any(s.metric != SchemeMetric.ACTIVITIES for s in schemes):
        for r in await plans_vs_fact(actor, month, department_id=department_id,
                                     user_id=user_id):
            if not r.subject and r.user_id in wanted:
                sales[(r.user_id, r.metric.value, r.currency)] = r
    work: dict[int, list[analytics.PlanRow]] = defaultdict(list)
    type_keys: dict[int, str] = {}
    if any(s.metric == SchemeMetric.ACTIVITIES for s in schemes):
        for r in await analytics.plan_vs_fact(actor, "month", month,
                                              department_id=department_id):
            if r.user_id in wanted:
                work[r.user_id].append(r)
        type_keys = {s.activity_type_id: analytics._type_key(
            s.activity_type.code, s.activity_type_id) for s in schemes if s.activity_type_id}
    out = []
    for pid in wanted:
        p = people[pid]
        st = Statement(pid, p["full_name"], p["department_id"], p["timezone"], month)
        kept = stored.get(pid)
        if kept is not None and kept.state == StatementState.APPROVED:
            st.state = StatementState.APPROVED
            st.lines = kept_lines.get(kept.id, [])
            st.statement_id = kept.id
            st.approved_by = kept.approved_by.full_name if kept.approved_by else None
            st.approved_at = kept.approved_at
        else:
            st.reopened_at = kept.reopened_at if kept is not None else None
            for scheme in mine[pid]:
                line = _line(scheme, pid, sales, work.get(pid, []), type_keys)
                if line is None:
                    st.unplanned.append(scheme.name)
                else:
                    line.position = len(st.lines)
                    st.lines.append(line)
        out.append(st)
    out.sort(key=lambda s: (s.full_name.casefold(), s.user_id))
    return out


def _line(scheme: BonusScheme, pid: int, sales: dict, work: list[analytics.PlanRow],
          type_keys: dict[int, str]) -> Line | None:
    metric = SchemeMetric(scheme.metric)
    plan_currency = None
    if metric == SchemeMetric.ACTIVITIES:
        rows = [r for r in work if scheme.activity_type_id is None
                or r.type_code == type_keys.get(scheme.activity_type_id)]
        if not rows:
            return None
        plan = Decimal(sum(r.target for r in rows))
        fact = Decimal(sum(r.fact for r in rows))
    else:
        plan_metric = PLAN_OF[metric]
        plan_currency = scheme.currency if metric in schemes_svc.MONEY_METRICS else None
        row = sales.get((pid, plan_metric.value, plan_currency))
        if row is None:
            return None
        plan, fact = row.target, row.fact
    achieved = schemes_svc.achievement(fact, plan)
    if achieved is None:
        return None  # a plan of 0 is no plan
    steps = schemes_svc.steps_of(scheme)
    index = schemes_svc.pick_step(scheme.kind, steps, achieved)
    amount = Decimal("0.00") if index is None else schemes_svc.amount_of(
        scheme.kind, scheme.base, steps[index], fact)
    return Line(scheme.id, scheme.name, metric.value, str(scheme.kind), str(scheme.base),
                scheme.currency, plan_currency, plan, fact, achieved,
                None if index is None else index + 1,
                None if index is None else steps[index].value, amount,
                activity_type_id=scheme.activity_type_id)


LINE_FIELDS = ("scheme_id", "scheme_name", "metric", "kind", "base", "currency",
               "plan_currency", "plan", "fact", "achievement", "step", "rate", "amount",
               "position")


def _stored_line(x: dict[str, Any]) -> Line:
    return Line(x["scheme_id"], x["scheme_name"], x["metric"], x["kind"], x["base"],
                x["currency"], x["plan_currency"], Decimal(x["plan"]), Decimal(x["fact"]),
                Decimal(x["achievement"]), x["step"],
                None if x["rate"] is None else Decimal(x["rate"]), Decimal(x["amount"]),
                position=x["position"], frozen=True)


async def statement(actor: User, user_id: int, month: date | str) -> Statement:
    """One person's statement of a month; NotFound for a person out of the actor's
    reach; an empty draft for someone without schemes."""
    require_staff(actor)
    person = await User.get_or_none(id=user_id)
    if person is None or not await _may_see(actor, person):
        raise NotFound("statement")
    month = month_of(month)
    got = await compute_month(actor, month, user_id=user_id)
    if got:
        return got[0]
    return Statement(person.id, person.full_name, person.department_id, person.timezone,
                     month)


async def my_summary(user: User, month: date | None = None) -> Statement | None:
    """The person's own statement of this month (in their time zone) when any scheme
    gives them a line: for /plan and the morning digest."""
    from zoneinfo import ZoneInfo

    if month is None:
        month = utcnow().astimezone(ZoneInfo(user.timezone or "UTC")).date().replace(day=1)
    got = await compute_month(user, month, user_id=user.id)
    return got[0] if got and got[0].lines else None


# --- the records behind a line --------------------------------------------------------
async def line_sources(actor: User, user_id: int, month: date | str, position: int, *,
                       offset: int = 0, limit: int = src.PAGE
                       ) -> tuple[int, list[src.Source]]:
    """(how many, a page): the records behind the fact of line ``position`` (0-based)
    of a statement — live for a draft, as approved for an approved one."""
    st = await statement(actor, user_id, month)
    if not 0 <= position < len(st.lines):
        raise NotFound("line")
    line = st.lines[position]
    offset, limit = max(0, int(offset)), max(1, min(int(limit), 500))
    if line.frozen:
        kept = await BonusLine.filter(statement_id=st.statement_id,
                                      position=line.position).first().values_list(
            "sources", flat=True) or []
        return len(kept), [src.Source.from_dict(d) for d in kept[offset:offset + limit]]
    return await _live_sources(line, st, offset=offset, limit=limit)


async def _live_sources(line: Line, st: Statement, *, offset: int, limit: int
                        ) -> tuple[int, list[src.Source]]:
    start, end = _local_bounds("month", st.month, st.timezone)
    type_ids = None
    if line.metric == SchemeMetric.ACTIVITIES:
        if line.activity_type_id is not None:
            type_ids = [line.activity_type_id]
        else:  # the types the person has a monthly work plan of
            from models import WorkPlan

            type_ids = list(await WorkPlan.filter(
                user_id=st.user_id, period="month", period_start=st.month).values_list(
                "type_id", flat=True))
    return await src.sources(line.metric, st.user_id, start, end, st.timezone,
                             currency=line.plan_currency, type_ids=type_ids,
                             offset=offset, limit=limit)


# --- approving -------------------------------------------------------------------------
async def do_approve(actor: User, user_id: int, month: date | str) -> Statement:
    """Freeze the person's statement of the month as it is now (see the rules)."""
    require_staff(actor)
    st = await statement(actor, user_id, month)
    if not await may_approve(actor, st.user_id, st.department_id):
        raise PermissionDenied("only the person's head or an admin approves a statement")
    if st.state == StatementState.APPROVED:
        raise ValidationFailed("state", N_("the statement is already approved"))
    if not st.lines:
        raise ValidationFailed("state", N_("the statement has no lines to approve"))
    kept: list[list[dict[str, Any]]] = []
    for line in st.lines:
        _n, records = await _live_sources(line, st, offset=0, limit=src.MAX_KEPT)
        kept.append([r.as_dict() for r in records])
    now = utcnow()
    async with in_transaction():
        row, _ = await BonusStatement.get_or_create(user_id=st.user_id, month=st.month)
        row = await BonusStatement.select_for_update().get(id=row.id)
        if row.state == StatementState.APPROVED:
            raise ValidationFailed("state", N_("the statement is already approved"))
        row.state = StatementState.APPROVED
        row.totals = {c: str(v) for c, v in st.totals.items()}
        row.approved_by_id, row.approved_at = actor.id, now
        await row.save()
        await BonusLine.filter(statement_id=row.id).delete()
        await BonusLine.bulk_create([BonusLine(
            statement_id=row.id, scheme_id=line.scheme_id, position=n,
            scheme_name=line.scheme_name, metric=line.metric, kind=line.kind,
            base=line.base, currency=line.currency, plan_currency=line.plan_currency,
            plan=line.plan, fact=line.fact, achievement=line.achievement, step=line.step,
            rate=line.rate, amount=line.amount, sources=records)
            for n, (line, records) in enumerate(zip(st.lines, kept, strict=True))])
    return await statement(actor, user_id, st.month)


async def do_reopen(actor: User, user_id: int, month: date | str) -> Statement:
    """Make an approved statement a draft again (its stored lines are dropped)."""
    require_staff(actor)
    st = await statement(actor, user_id, month)
    if not await may_approve(actor, st.user_id, st.department_id):
        raise PermissionDenied("only the person's head or an admin reopens a statement")
    if st.state != StatementState.APPROVED:
        raise ValidationFailed("state", N_("the statement is not approved"))
    async with in_transaction():
        row = await BonusStatement.select_for_update().get(user_id=st.user_id,
                                                            month=st.month)
        await BonusLine.filter(statement_id=row.id).delete()
        row.state, row.totals = StatementState.DRAFT, {}
        row.reopened_by_id, row.reopened_at = actor.id, utcnow()
        await row.save()
    return await statement(actor, user_id, st.month)
