"""K-9 motivation: bonus and penalty schemes on a plan's metric, with any number of
steps; the statements are in :mod:`services.motivation_statements`, the records a
fact comes from in :mod:`services.motivation_sources`.

Rules:

* **Metrics** (:class:`models.SchemeMetric`): revenue, margin, deals won, documents
  prepared and payments collected are measured against the person's S-26 sales plan
  of that metric for the month (money metrics: the plan in the scheme's currency; a
  plan of a product or a category is not one of them); done activities against the
  M-14 monthly work plan of the scheme's activity type, or, without a type, the sum of
  all the person's monthly work plans against the done activities of those types. The
  fact is :func:`services.sales_plans.plans_vs_fact`'s and
  :func:`services.analytics.plan_vs_fact`'s: in the person's time zone.
* **Achievement** is fact / plan × 100, rounded half up to hundredths of a percent;
  every comparison with a step uses this rounded figure. A bonus's scale is on the
  percent *over* plan (achievement − 100: 130% of plan is 30 over), a penalty's on the
  percent *short* of it (100 − achievement: 70% of plan is 30 short).
* **Steps** are rows (lower, upper, value), ascending, each starting where the one
  before ends: no gap, no overlap. A row holds the percents *above* its lower bound
  up to *and including* its upper bound — (0, 30] holds exactly 30, and 30.01 goes to
  the next row (30, 100]. The first row holds its lower bound too: [0, 30] pays for
  meeting the plan exactly. The last row may have no upper bound (no end). Below the
  first row, or above a last row that ends, nothing is paid. A bonus's lower bounds
  may start below plan (from −100: "from 90% of plan" is a row from −10); a
  penalty's start at 0 or above, and a penalty is never charged when the plan is met
  (nothing short of it). Every bad row is named ("row 2: ...") at once.
* **Amount**: a percent scheme pays the row's percent of the *whole* fact (+3% of
  sales when 31–100% over plan is 3% of all sales, not of the part over plan); a
  fixed scheme pays the row's sum once. Percents are for money metrics only (a percent
  of 5 deals means nothing); counts take fixed sums. A penalty's amount is negative.
  Amounts are rounded half up to cents, in the scheme's currency.
* **No plan, no line**: a scheme whose metric has no plan (or a plan of 0) for the
  person in the month makes no line; the statement names such schemes
  (``unplanned``) so nobody wonders where a bonus went.
* **Who the scheme is for**: everyone, a department with every department under it,
  or people named; only while the month is within [active from, active to] and the
  scheme is not archived. Archived schemes keep the lines of approved statements.
* **Who**: an admin makes and changes any scheme; a head those for their departments
  (a department in their subtree, or people all of their departments) — "everyone" is
  an admin's. Admins and heads see every scheme; a manager sees the schemes that
  apply to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    ActivityType,
    BonusScheme,
    Department,
    Role,
    SchemeBase,
    SchemeKind,
    SchemeMetric,
    SchemeReach,
    SchemeStep,
    User,
)
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_staff
from services.sales_plans import CellErrors, month_of

MONEY_METRICS = (SchemeMetric.REVENUE, SchemeMetric.MARGIN, SchemeMetric.PAYMENTS)
MAX_STEPS = 30
MAX_NAME = 200
MAX_PEOPLE = 1000
MAX_VALUE = Decimal("99999999999999")
MAX_BOUND = Decimal("1000000")
CENT = Decimal("0.01")


# --- the scale ---------------------------------------------------------------------
def achievement(fact: Decimal, plan: Decimal) -> Decimal | None:
    """fact / plan × 100, half up to hundredths; None for a plan of 0."""
    if not plan:
        return None
    return (Decimal(fact) * 100 / Decimal(plan)).quantize(CENT, ROUND_HALF_UP)


def measure(kind: str, achieved: Decimal) -> Decimal:
    """The percent a scale is read on: over plan (bonus) or short of it (penalty)."""
    return achieved - 100 if kind == SchemeKind.BONUS else 100 - achieved


@dataclass(frozen=True)
class Step:
    lower: Decimal
    upper: Decimal | None
    value: Decimal


def pick_step(kind: str, steps: list[Step], achieved: Decimal) -> int | None:
    """The index of the row that holds ``achieved`` (see the rules), or None."""
    m = measure(kind, achieved)
    if kind == SchemeKind.PENALTY and m <= 0:
        return None  # the plan is met: nothing to charge
    for i, s in enumerate(steps):
        above = m >= s.lower if i == 0 else m > s.lower
        if above and (s.upper is None or m <= s.upper):
            return i
    return None


def amount_of(kind: str, base: str, step: Step, fact: Decimal) -> Decimal:
    """What the row pays: a percent of the fact or a fixed sum; negative for a penalty."""
    if base == SchemeBase.PERCENT:
        value = (abs(Decimal(fact)) * step.value / 100).quantize(CENT, ROUND_HALF_UP)
    else:
        value = step.value.quantize(CENT, ROUND_HALF_UP)
    return -value if kind == SchemeKind.PENALTY else value


# --- checking what a form sends -------------------------------------------------------
def _number(raw: Any) -> Decimal | None:
    """A number a person typed ("1 000,5"), None when empty; ValueError if not one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError
    text = raw if isinstance(raw, (int, Decimal)) else str(raw).replace(
        "\u00a0", "").replace(" ", "").replace(",", ".").replace("%", "")
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite():
        raise ValueError
    return value


def _plain(value: Decimal) -> str:
    """30.00 → "30", 30.50 → "30.5": a bound as a person typed it."""
    return f"{value.normalize():f}"


def check_steps(kind: str, base: str, rows: list[dict[str, Any]]) -> list[Step]:
    """The scale from the form's rows ({lower, upper, value}), or CellErrors naming each
    bad row ("row 2: ...") — all of them at once."""
    errors: list[tuple[str, ValidationFailed]] = []
    if not rows:
        raise ValidationFailed("steps", N_("add at least one row"))
    if len(rows) > MAX_STEPS:
        raise ValidationFailed("steps", N_("at most {n} rows"), n=MAX_STEPS)
    floor = Decimal(-100) if kind == SchemeKind.BONUS else Decimal(0)
    out: list[Step | None] = []

    def bad(n: int, template: str, **params: Any) -> None:
        errors.append((str(n), ValidationFailed("steps", template, **params)))
        out.append(None)

    for n, row in enumerate(rows, start=1):
        try:
            lower = _number(row.get("lower"))
        except ValueError:
            bad(n, N_("«{text}» is not a number"), text=str(row.get("lower"))[:40])
            continue
        try:
            upper = _number(row.get("upper"))
        except ValueError:
            bad(n, N_("«{text}» is not a number"), text=str(row.get("upper"))[:40])
            continue
        try:
            value = _number(row.get("value"))
        except ValueError:
            bad(n, N_("«{text}» is not a number"), text=str(row.get("value"))[:40])
            continue
        if lower is None:
            bad(n, N_("give the lower bound"))
        elif value is None:
            bad(n, N_("give the bonus or penalty of the row"))
        elif lower < floor or lower > MAX_BOUND or (upper is not None and upper > MAX_BOUND):
            bad(n, N_("the bounds must be from {low} to {high} percent"), low=floor,
                high=MAX_BOUND)
        elif upper is not None and upper <= lower:
            bad(n, N_("the upper bound must be above the lower one"))
        elif value < 0 or value > MAX_VALUE or (base == SchemeBase.PERCENT and value > 100):
            bad(n, N_("the percent must be from 0 to 100") if base == SchemeBase.PERCENT
                else N_("the sum must be from 0 up"))
        elif upper is None and n < len(rows):
            bad(n, N_("only the last row may have no upper bound"))
        else:
            out.append(Step(lower.quantize(CENT), None if upper is None else upper.quantize(
                CENT), value.quantize(CENT)))
    for n in range(2, len(out) + 1):  # each row starts where the one before ends
        prev, cur = out[n - 2], out[n - 1]
        if prev is None or cur is None or prev.upper is None:
            continue
        if cur.lower < prev.upper:
            errors.append((str(n), ValidationFailed("steps", N_(
                "starts at {lower}, inside row {m} (up to {upper}): rows must not overlap"),
                lower=_plain(cur.lower), m=n - 1, upper=_plain(prev.upper))))
        elif cur.lower > prev.upper:
            errors.append((str(n), ValidationFailed("steps", N_(
                "leaves a gap from {upper} to {lower} after row {m}"),
                lower=_plain(cur.lower), m=n - 1, upper=_plain(prev.upper))))
    if errors:
        errors.sort(key=lambda e: int(e[0]))
        raise CellErrors(errors)
    return [s for s in out if s is not None]


# --- who may do what -------------------------------------------------------------------
def may_edit_schemes(actor: User | None) -> bool:
    return actor is not None and actor.is_active and (
        actor.role == Role.ADMIN or (actor.role == Role.HEAD and actor.department_id is not None))


async def editor_choices(actor: User) -> dict[str, Any]:
    """What the scheme editor offers its author (admins and heads): the departments, the
    people a scheme may name, the activity types and the default currency."""
    from services.analytics import plannable_people
    from services.sales_plans import default_currency

    if not may_edit_schemes(actor):
        raise PermissionDenied("only admins and heads edit bonus schemes")
    return {
        "departments": await Department.all().order_by("name").values("id", "name"),
        "people": await plannable_people(actor),
        "types": await ActivityType.all().order_by("sort_order", "name").values(
            "id", "name", "code"),
        "currency": await default_currency(),
    }


async def _head_reach(actor: User) -> set[int]:
    return await department_subtree_ids(actor.department_id) if actor.department_id else set()


async def _check_reach(actor: User, reach: str, department_id: int | None,
                       people: list[int]) -> None:
    """A head may aim a scheme only at their departments or their departments' people."""
    if actor.role == Role.ADMIN:
        return
    mine = await _head_reach(actor)
    if reach == SchemeReach.EVERYONE:
        raise PermissionDenied("only an admin makes a scheme for everyone")
    if reach == SchemeReach.DEPARTMENT and department_id not in mine:
        raise PermissionDenied("that department is outside yours")
    if reach == SchemeReach.PEOPLE:
        depts = await User.filter(id__in=people).values_list("department_id", flat=True)
        if any(d not in mine for d in depts):
            raise PermissionDenied("not all of them are your people")


@dataclass
class SchemeIn:
    """What a form sends for a scheme; ``steps`` are rows {lower, upper, value}."""

    name: str
    metric: str
    kind: str
    base: str
    currency: str | None
    steps: list[dict[str, Any]]
    reach: str = SchemeReach.EVERYONE
    department_id: int | None = None
    people: list[int] | None = None
    active_from: Any = None
    active_to: Any = None
    activity_type_id: int | None = None


async def _clean(actor: User, data: SchemeIn) -> tuple[dict[str, Any], list[Step]]:
    from services.sales_plans import default_currency

    name = " ".join((data.name or "").split())
    if not name:
        raise ValidationFailed("name", N_("give the scheme a name"))
    if len(name) > MAX_NAME:
        raise ValidationFailed("name", N_("at most {n} characters"), n=MAX_NAME)
    try:
        metric, kind, base = (SchemeMetric(data.metric), SchemeKind(data.kind),
                              SchemeBase(data.base))
    except ValueError:
        raise ValidationFailed("metric", N_("choose a value from the list")) from None
    try:
        reach = SchemeReach(data.reach)
    except ValueError:
        raise ValidationFailed("reach", N_("choose a value from the list")) from None
    if base == SchemeBase.PERCENT and metric not in MONEY_METRICS:
        raise ValidationFailed("scheme_base", N_("a percent is of a sum of money: for a count "
                                          "(deals, activities, documents) give fixed sums"))
    currency = (data.currency or await default_currency()).strip().upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise ValidationFailed("currency", N_("a currency is three letters, like RUB or UAH"))
    type_id = None
    if metric == SchemeMetric.ACTIVITIES and data.activity_type_id:
        if not await ActivityType.filter(id=data.activity_type_id).exists():
            raise ValidationFailed("activity_type_id", N_("no such activity type"))
        type_id = data.activity_type_id
    department_id, people = None, []
    if reach == SchemeReach.DEPARTMENT:
        if not data.department_id or not await Department.filter(
                id=data.department_id).exists():
            raise ValidationFailed("department_id", N_("choose a department"))
        department_id = data.department_id
    elif reach == SchemeReach.PEOPLE:
        people = sorted({int(p) for p in data.people or []})
        if not people:
            raise ValidationFailed("people", N_("choose at least one person"))
        if len(people) > MAX_PEOPLE:
            raise ValidationFailed("people", N_("at most {n} people"), n=MAX_PEOPLE)
        if await User.filter(id__in=people).count() != len(people):
            raise ValidationFailed("people", N_("no such active staff member"))
    if data.active_from in (None, ""):
        raise ValidationFailed("active_from", N_("give the first month"))
    active_from = month_of(data.active_from)
    active_to = month_of(data.active_to) if data.active_to not in (None, "") else None
    if active_to is not None and active_to < active_from:
        raise ValidationFailed("active_to", N_("the last month is before the first"))
    steps = check_steps(kind, base, data.steps)
    await _check_reach(actor, reach, department_id, people)
    return {"name": name, "metric": metric, "kind": kind, "base": base, "currency": currency,
            "reach": reach, "department_id": department_id, "people": people,
            "active_from": active_from, "active_to": active_to,
            "activity_type_id": type_id}, steps


async def do_save_scheme(actor: User, data: SchemeIn, scheme_id: int | None = None
                         ) -> BonusScheme:
    """Make a scheme (``scheme_id`` None) or change one: its rows are replaced."""
    require_staff(actor)
    if not may_edit_schemes(actor):
        raise PermissionDenied("only admins and heads make bonus schemes")
    old = None
    if scheme_id is not None:
        old = await get_scheme(actor, scheme_id)
        await _check_reach(actor, old.reach, old.department_id, old.people)
    values, steps = await _clean(actor, data)
    async with in_transaction():
        if old is None:
            scheme = await BonusScheme.create(created_by_id=actor.id, **values)
        else:
            scheme = old
            scheme.update_from_dict(values)
            await scheme.save()
            await SchemeStep.filter(scheme_id=scheme.id).delete()
        await SchemeStep.bulk_create([
            SchemeStep(scheme_id=scheme.id, position=n, lower=s.lower, upper=s.upper,
                       value=s.value) for n, s in enumerate(steps)])
    return scheme


async def do_archive_scheme(actor: User, scheme_id: int, archived: bool = True) -> BonusScheme:
    """Archive a scheme (it pays nothing from then on) or bring it back."""
    if not may_edit_schemes(actor):
        raise PermissionDenied("only admins and heads change bonus schemes")
    scheme = await get_scheme(actor, scheme_id)
    await _check_reach(actor, scheme.reach, scheme.department_id, scheme.people)
    scheme.archived = bool(archived)
    await scheme.save(update_fields=["archived", "updated_at"])
    return scheme


async def do_delete_scheme(actor: User, scheme_id: int) -> None:
    """Delete a scheme; approved statements keep their lines (with its name)."""
    if not may_edit_schemes(actor):
        raise PermissionDenied("only admins and heads delete bonus schemes")
    scheme = await get_scheme(actor, scheme_id)
    await _check_reach(actor, scheme.reach, scheme.department_id, scheme.people)
    await scheme.delete()


def steps_of(scheme: BonusScheme) -> list[Step]:
    """The scheme's rows in order (``steps`` fetched)."""
    return [Step(Decimal(s.lower), None if s.upper is None else Decimal(s.upper),
                 Decimal(s.value)) for s in sorted(scheme.steps, key=lambda s: s.position)]


def applies(scheme: BonusScheme, person_id: int, department_id: int | None,
            subtrees: dict[int, set[int]], month: date) -> bool:
    """Whether ``scheme`` is for that person in that month (``subtrees``: department →
    its subtree, for department schemes)."""
    if scheme.archived or month < scheme.active_from or (
            scheme.active_to is not None and month > scheme.active_to):
        return False
    if scheme.reach == SchemeReach.EVERYONE:
        return True
    if scheme.reach == SchemeReach.DEPARTMENT:
        return department_id is not None and department_id in subtrees.get(
            scheme.department_id, set())
    return person_id in (scheme.people or [])


async def live_schemes(month: date | None = None) -> tuple[list[BonusScheme],
                                                            dict[int, set[int]]]:
    """The schemes not archived (active in ``month``, if given) with their rows, and
    the subtree of each department a scheme is for."""
    qs = BonusScheme.filter(archived=False)
    if month is not None:
        qs = qs.filter(active_from__lte=month)
    schemes = [s for s in await qs.prefetch_related("steps", "activity_type").order_by(
        "kind", "metric", "name", "id")
        if month is None or s.active_to is None or s.active_to >= month]
    subtrees = {d: await department_subtree_ids(d) for d in
                {s.department_id for s in schemes if s.department_id}}
    return schemes, subtrees


async def get_scheme(actor: User, scheme_id: int) -> BonusScheme:
    require_staff(actor)
    scheme = await BonusScheme.get_or_none(id=scheme_id).prefetch_related(
        "steps", "activity_type", "department")
    if scheme is None:
        raise NotFound("scheme")
    if not may_edit_schemes(actor):
        subtrees = {scheme.department_id: await department_subtree_ids(
            scheme.department_id)} if scheme.department_id else {}
        if scheme.archived or not applies(scheme, actor.id, actor.department_id, subtrees,
                                          scheme.active_from):
            raise NotFound("scheme")
    return scheme


async def list_schemes(actor: User, *, archived: bool = False) -> list[BonusScheme]:
    """Admins and heads: every scheme (archived ones when asked); a manager: the
    schemes that apply to them."""
    require_staff(actor)
    schemes = await BonusScheme.filter(archived=archived).prefetch_related(
        "steps", "activity_type", "department").order_by("kind", "name", "id")
    if may_edit_schemes(actor):
        return schemes
    subtrees = {d: await department_subtree_ids(d)
                for d in {s.department_id for s in schemes if s.department_id}}
    return [s for s in schemes if applies(s, actor.id, actor.department_id, subtrees,
                                          s.active_from)]
