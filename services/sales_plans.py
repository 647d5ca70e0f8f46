"""Sales plans per person and month against the fact (S-26).

Rules:

* **Metrics** (:class:`models.PlanMetric`): revenue, margin, deals won, and the
  quantity or the sold sum of one product or one product category (the category
  with every category under it). Money metrics carry a currency (the company's
  default unless given); the fact counts only orders in that currency (no
  conversion: a plan in roubles is met by sales in roubles).
* **The fact** comes from the person's own records in the month *in their time
  zone*: revenue is the sum of the lines' amounts of the orders they own that were
  posted in the month and are posted, shipped or closed now (a cancelled order
  counts nothing), margin is that revenue less the lines' cost (a line without a
  cost counts its whole amount); deals won are the deals they own that are at a won
  stage and were closed in the month. Documents prepared (K-9) are the orders they
  own that were posted in the month and are not cancelled (each carries its invoice),
  plus invoices they entered on a ledger by hand (without an order) dated in the
  month; payments collected (K-9) are the payments (not void) dated in the month on
  the ledgers of the clients whose main manager they are now (the primary current
  manager, else the first current one), in the plan's currency. The database sums;
  one grouped query per metric kind and time zone among the people asked for.
* **Who**: an admin sets and sees everyone's plans; a head those of the people of
  their departments; a manager sees only their own and sets none (the same reach as
  the activity plans of :mod:`services.analytics`).
* **In bulk**: :func:`do_set_plans` takes many cells (from the page's grid or an
  XLSX file) and checks every one before writing any; the errors name each cell.
  A target of nothing (None or an empty cell) removes that plan. Writing a plan
  that exists changes it (one per person, month, metric and subject).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from models import (
    Deal,
    OrderLine,
    OrderState,
    PlanMetric,
    Product,
    ProductCategory,
    Role,
    SalesPlan,
    StaffStatus,
    StageKind,
    User,
)
from services.analytics import _local_bounds, _may_manage, _scope
from services.errors import N_, ValidationFailed
from services.motivation_sources import documents_by_person, payments_by_person
from services.permissions import require_staff

SOLD = (OrderState.POSTED, OrderState.SHIPPED, OrderState.CLOSED)
MONEY_METRICS = (PlanMetric.REVENUE, PlanMetric.MARGIN, PlanMetric.SUM, PlanMetric.PAYMENTS)
COUNT_METRICS = (PlanMetric.DEALS_WON, PlanMetric.DOCUMENTS)
SUBJECT_METRICS = (PlanMetric.QUANTITY, PlanMetric.SUM)
MAX_TARGET = Decimal("99999999999999")
MAX_CELLS = 5000
CENT = Decimal("0.01")
ROW = N_("row {n}")


def month_of(value: date | str) -> date:
    """The first day of the month of ``value`` (a date, "YYYY-MM" or "YYYY-MM-DD")."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(f"{text}-01" if len(text) == 7 else text)
        except ValueError:
            raise ValidationFailed("month", N_("«{text}» is not a month"), text=text)
    if not 2000 <= value.year <= 2100:
        raise ValidationFailed("month", N_("«{text}» is not a month"), text=str(value)[:7])
    return value.replace(day=1)


class CellErrors(ValidationFailed):
    """Several bad cells at once: each (where, ValidationFailed); :meth:`text` says
    them all, one a line, in the reader's language."""

    def __init__(self, errors: list[tuple[str, ValidationFailed]]) -> None:
        self.errors = errors
        where, first = errors[0]
        super().__init__(first.field, first.template, **first.params)

    def text(self, gettext=lambda s: s) -> str:  # type: ignore[override]
        def place(where: str) -> str:  # a row of a file, or the front end's own name
            return gettext(ROW).format(n=where) if where.isdigit() else where

        return "\n".join(f"{place(where)}: {err.text(gettext)}" for where, err in self.errors)


@dataclass
class Cell:
    """One plan to write: ``target`` None removes it."""

    user_id: int
    metric: str
    target: Any
    product_id: int | None = None
    category_id: int | None = None
    currency: str | None = None
    where: str = ""  # how the front end names the cell ("row 3", "Ivan · Revenue")


def _subject(metric: PlanMetric, product_id: int | None, category_id: int | None,
             currency: str | None) -> str:
    return f"p{product_id or ''}c{category_id or ''}{currency or ''}"


def _target(raw: Any) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError
    text = str(raw).replace("\u00a0", "").replace(" ", "").replace(",", ".") \
        if not isinstance(raw, (int, Decimal, float)) else raw
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite() or value < 0 or value > MAX_TARGET:
        raise ValueError
    return value.quantize(CENT, ROUND_HALF_UP)


def may_set_plans(actor: User | None) -> bool:
    """Admins, and heads who have a department (whose people they plan for)."""
    return actor is not None and actor.is_active and (
        actor.role == Role.ADMIN or (actor.role == Role.HEAD and actor.department_id is not None))


async def default_currency() -> str:
    """The currency of the company's default legal entity's country (RUB otherwise)."""
    from models import OwnEntity
    from services.bank_import import _COUNTRY_CURRENCY

    country = await OwnEntity.filter(archived=False).order_by("-is_default", "id").first() \
        .values_list("country", flat=True)
    return _COUNTRY_CURRENCY.get(country or "RU", "RUB")


async def do_set_plans(actor: User, month: date | str, cells: list[Cell]) -> int:
    """Write many plans of one month at once (S-26): all or nothing. Returns how many
    plans were written or removed. Every bad cell is named in one ValidationFailed
    (``errors``: [(where, message)])."""
    require_staff(actor)
    if not may_set_plans(actor):
        from services.errors import PermissionDenied

        raise PermissionDenied("only admins and heads of departments set plans")
    month = month_of(month)
    if len(cells) > MAX_CELLS:
        raise ValidationFailed("cells", N_("at most {n} plans at once"), n=MAX_CELLS)
    currency = await default_currency()
    people = {u.id: u for u in await User.filter(
        id__in=sorted({c.user_id for c in cells}))}
    products = set(await Product.filter(
        id__in=sorted({c.product_id for c in cells if c.product_id})).values_list(
        "id", flat=True))
    categories = set(await ProductCategory.filter(
        id__in=sorted({c.category_id for c in cells if c.category_id})).values_list(
        "id", flat=True))
    errors: list[tuple[str, ValidationFailed]] = []
    writes: list[tuple[dict[str, Any], Decimal | None, str | None]] = []
    allowed: dict[int, bool] = {}

    def bad(where: str, template: str, **params: Any) -> None:
        errors.append((where, ValidationFailed("target", template, **params)))

    for c in cells:
        where = c.where or str(len(writes) + len(errors) + 1)
        person = people.get(c.user_id)
        if person is None or person.status != StaffStatus.ACTIVE:
            bad(where, N_("no such active staff member"))
            continue
        if person.id not in allowed:
            try:
                await _may_manage(actor, person)
                allowed[person.id] = True
            except Exception:  # noqa: BLE001 - PermissionDenied, said per cell
                allowed[person.id] = False
        if not allowed[person.id]:
            bad(where, N_("not one of your people"))
            continue
        try:
            metric = PlanMetric(c.metric)
        except ValueError:
            bad(where, N_("choose a value from the list"))
            continue
        product_id = c.product_id if metric in SUBJECT_METRICS else None
        category_id = c.category_id if metric in SUBJECT_METRICS else None
        if metric in SUBJECT_METRICS:
            if bool(product_id) == bool(category_id):
                bad(where, N_("name either a product or a category"))
                continue
            if product_id and product_id not in products:
                bad(where, N_("no such product"))
                continue
            if category_id and category_id not in categories:
                bad(where, N_("no such category"))
                continue
        cur = ((c.currency or currency).strip().upper()
               if metric in MONEY_METRICS else None)
        if cur is not None and (len(cur) != 3 or not (cur.isascii() and cur.isalpha())):
            bad(where, N_("a currency is three letters, like RUB or UAH"))
            continue
        try:
            target = _target(c.target)
        except ValueError:
            bad(where, N_("«{text}» is not a number from 0 up"), text=str(c.target)[:40])
            continue
        if metric in COUNT_METRICS and target is not None \
                and target != target.to_integral_value():
            bad(where, N_("must be a whole number"))
            continue
        key = {"user_id": person.id, "month": month, "metric": metric,
               "subject": _subject(metric, product_id, category_id, cur)}
        writes.append(({**key, "product_id": product_id, "category_id": category_id},
                       target, cur))
    if errors:
        raise CellErrors(errors)
    for attempt in range(2):  # a concurrent save of the same plan: the second try updates it
        try:
            async with in_transaction():
                for key, target, cur in writes:
                    lookup = {k: key[k] for k in ("user_id", "month", "metric", "subject")}
                    if target is None:
                        await SalesPlan.filter(**lookup).delete()
                        continue
                    await SalesPlan.update_or_create(
                        defaults={"target": target, "currency": cur, "set_by_id": actor.id,
                                  "product_id": key["product_id"],
                                  "category_id": key["category_id"]}, **lookup)
            return len(writes)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def percent_of(fact: Decimal, target: Decimal) -> int | None:
    """Fact / target in whole percent, half up; None for a target of 0."""
    return int((fact * 100 / target).to_integral_value(ROUND_HALF_UP)) if target else None


@dataclass
class SalesPlanRow:
    """One plan against its fact; ``percent`` is fact / target in whole percent (None
    for a target of 0)."""

    plan_id: int
    user_id: int
    full_name: str
    department_id: int | None
    metric: PlanMetric
    subject: str  # the product's or category's name, or ""
    product_id: int | None
    category_id: int | None
    currency: str | None
    target: Decimal
    fact: Decimal

    @property
    def percent(self) -> int | None:
        return percent_of(self.fact, self.target)


async def _category_products(category_ids: set[int]) -> dict[int, set[int]]:
    """Each category's subtree of categories (one query for the whole tree)."""
    rows = await ProductCategory.all().values_list("id", "parent_id")
    children: dict[int | None, list[int]] = defaultdict(list)
    for cid, parent in rows:
        children[parent].append(cid)
    out: dict[int, set[int]] = {}
    for root in category_ids:
        seen, frontier = {root}, [root]
        while frontier:
            frontier = [c for p in frontier for c in children.get(p, []) if c not in seen]
            seen.update(frontier)
        out[root] = seen
    return out


async def plans_vs_fact(actor: User, month: date | str, *, department_id: int | None = None,
                        user_id: int | None = None) -> list[SalesPlanRow]:
    """Every sales plan of the month for the people ``actor`` may see (narrowed to a
    department's subtree or one person), each with its fact."""
    month = month_of(month)
    scope = await _scope(actor, department_id)
    plans = SalesPlan.filter(month=month)
    if not scope.everyone:
        plans = plans.filter(user_id__in=Subquery(scope.users().values("id")))
    if user_id is not None:
        plans = plans.filter(user_id=user_id)
    rows = await plans.order_by("user__full_name", "user_id", "metric", "id").values(
        "id", "user_id", "metric", "product_id", "category_id", "currency", "target",
        full_name="user__full_name", timezone="user__timezone",
        department_id="user__department_id", product="product__name",
        category="category__name")
    if not rows:
        return []
    trees = await _category_products({r["category_id"] for r in rows if r["category_id"]})
    by_zone: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        by_zone[r["timezone"]].add(r["user_id"])
    facts: dict[int, Decimal] = {}
    for tz, people in sorted(by_zone.items()):
        start, end = _local_bounds("month", month, tz)
        mine = [r for r in rows if r["user_id"] in people]
        await _facts(mine, sorted(people), start, end, trees, facts)
    out = []
    for r in rows:
        out.append(SalesPlanRow(
            plan_id=r["id"], user_id=r["user_id"], full_name=r["full_name"],
            department_id=r["department_id"], metric=PlanMetric(r["metric"]),
            subject=r["product"] or r["category"] or "", product_id=r["product_id"],
            category_id=r["category_id"], currency=r["currency"],
            target=Decimal(r["target"]), fact=facts.get(r["id"], Decimal(0))))
    return out


async def _facts(rows: list[dict[str, Any]], people: list[int], start, end,
                 trees: dict[int, set[int]], facts: dict[int, Decimal]) -> None:
    metrics = {PlanMetric(r["metric"]) for r in rows}
    sold = OrderLine.filter(order__owner_id__in=people, order__state__in=SOLD,
                            order__posted_at__gte=start, order__posted_at__lt=end)
    if metrics & {PlanMetric.REVENUE, PlanMetric.MARGIN}:
        sums = await sold.annotate(revenue=Sum("amount"), cost=Sum("cost")).group_by(
            "order__owner_id", "order__currency").values(
            "order__owner_id", "order__currency", "revenue", "cost")
        money = {(s["order__owner_id"], s["order__currency"]):
                 (Decimal(s["revenue"] or 0), Decimal(s["cost"] or 0)) for s in sums}
        # a line without a cost: its whole amount is margin (cost counted as 0)
        for r in rows:
            revenue, cost = money.get((r["user_id"], r["currency"]), (Decimal(0), Decimal(0)))
            if r["metric"] == PlanMetric.REVENUE:
                facts[r["id"]] = revenue.quantize(CENT)
            elif r["metric"] == PlanMetric.MARGIN:
                facts[r["id"]] = (revenue - cost).quantize(CENT)
    if PlanMetric.DEALS_WON in metrics:
        won = await Deal.filter(owner_id__in=people, stage__kind=StageKind.WON,
                                closed_at__gte=start, closed_at__lt=end,
                                archived_at=None).annotate(n=Count("id")).group_by(
            "owner_id").values("owner_id", "n")
        counts = {w["owner_id"]: w["n"] for w in won}
        for r in rows:
            if r["metric"] == PlanMetric.DEALS_WON:
                facts[r["id"]] = Decimal(counts.get(r["user_id"], 0))
    if metrics & {PlanMetric.DOCUMENTS, PlanMetric.PAYMENTS}:
        if PlanMetric.DOCUMENTS in metrics:
            docs = await documents_by_person(people, start, end)
            for r in rows:
                if r["metric"] == PlanMetric.DOCUMENTS:
                    facts[r["id"]] = Decimal(docs.get(r["user_id"], 0))
        if PlanMetric.PAYMENTS in metrics:
            paid = await payments_by_person(people, start, end, rows[0]["timezone"])
            for r in rows:
                if r["metric"] == PlanMetric.PAYMENTS:
                    facts[r["id"]] = paid.get((r["user_id"], r["currency"]),
                                              Decimal(0)).quantize(CENT)
    subject_rows = [r for r in rows if r["metric"] in SUBJECT_METRICS]
    if subject_rows:
        product_ids = {r["product_id"] for r in subject_rows if r["product_id"]}
        category_ids = set().union(*(trees[r["category_id"]] for r in subject_rows
                                     if r["category_id"])) if any(
            r["category_id"] for r in subject_rows) else set()
        cond = Q(product_id__in=sorted(product_ids)) if product_ids else Q(id=-1)
        if category_ids:
            cond |= Q(product__group_id__in=sorted(category_ids))
        lines = await sold.filter(cond).annotate(qty=Sum("quantity"), total=Sum("amount")) \
            .group_by("order__owner_id", "order__currency", "product_id",
                      "product__group_id").values(
            "order__owner_id", "order__currency", "product_id", "product__group_id",
            "qty", "total")
        for r in subject_rows:
            value = Decimal(0)
            group = trees.get(r["category_id"], set()) if r["category_id"] else set()
            for x in lines:
                if x["order__owner_id"] != r["user_id"]:
                    continue
                if r["product_id"] and x["product_id"] != r["product_id"]:
                    continue
                if r["category_id"] and x["product__group_id"] not in group:
                    continue
                if r["metric"] == PlanMetric.SUM:
                    if x["order__currency"] == r["currency"]:
                        value += Decimal(x["total"] or 0)
                else:
                    value += Decimal(x["qty"] or 0)
            facts[r["id"]] = value.quantize(CENT) if r["metric"] == PlanMetric.SUM else value


@dataclass
class Total:
    metric: PlanMetric
    subject: str
    currency: str | None
    target: Decimal
    fact: Decimal

    @property
    def percent(self) -> int | None:
        return percent_of(self.fact, self.target)


def totals(rows: list[SalesPlanRow]) -> list[Total]:
    """Plan and fact summed per metric, subject and currency over ``rows`` (a
    department's or the company's): only people with such a plan count, so target
    and fact cover the same people."""
    acc: dict[tuple[str, int, int, str], list[Any]] = {}
    for r in rows:  # keyed by the subject's id: two products may share a name
        key = (r.metric.value, r.product_id or 0, r.category_id or 0, r.currency or "")
        t = acc.setdefault(key, [r.subject, Decimal(0), Decimal(0)])
        t[1] += r.target
        t[2] += r.fact
    return [Total(PlanMetric(m), name, c or None, t, f)
            for (m, _p, _c, c), (name, t, f) in sorted(
                acc.items(), key=lambda kv: (kv[0][0], kv[1][0].casefold(), kv[0]))]
