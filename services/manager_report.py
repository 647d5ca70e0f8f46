"""The manager report (S-27): per person and period, what they sold and how their deals
ended, beside the activity counts and reaction times of :mod:`services.analytics`.

Rules:

* **Who** is counted is the reach of :mod:`services.analytics` (an admin everyone, a
  head their departments, a manager themselves), narrowed to a department's subtree
  when asked; only people with a figure in the period are listed.
* **Sales**: the orders a person owns that were posted in ``[start, end)`` and are
  posted, shipped or closed now; revenue is the lines' amounts, margin revenue less
  the lines' cost (a line without a cost counts nothing as cost), the average order
  revenue over orders — per currency, never converted.
* **Deals**: those the person owns that were closed in the period (archived ones left
  out): won and lost; the won rate is won over won and lost, in whole percent; the
  average deal is the won amount over won deals that have an amount, per currency.
* **Activities** done and the **reaction** to inbound requests (median minutes) come
  from :mod:`services.analytics` for the same people and period.
* The database sums (one grouped query for orders, one for deals); Python only puts
  the small per-person results together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum

from models import Deal, OrderLine, StageKind, User
from services.analytics import (
    _names,
    _scope,
    _utc_period,
    activities_by_manager_and_type,
    reaction_times,
)
from services.sales_plans import SOLD

CENT = Decimal("0.01")


@dataclass
class Money:
    currency: str
    amount: Decimal


@dataclass
class ManagerRow:
    user_id: int
    full_name: str
    orders: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    margin: dict[str, Decimal] = field(default_factory=dict)
    orders_by_currency: dict[str, int] = field(default_factory=dict)
    won: int = 0
    lost: int = 0
    won_amount: dict[str, Decimal] = field(default_factory=dict)
    won_with_amount: dict[str, int] = field(default_factory=dict)
    activities: int = 0
    reaction_minutes: float | None = None

    @property
    def won_rate(self) -> int | None:
        closed = self.won + self.lost
        return int((Decimal(self.won * 100) / closed).to_integral_value(ROUND_HALF_UP)) \
            if closed else None

    @property
    def average_order(self) -> dict[str, Decimal]:
        return {c: (v / self.orders_by_currency[c]).quantize(CENT, ROUND_HALF_UP)
                for c, v in self.revenue.items() if self.orders_by_currency.get(c)}

    @property
    def average_deal(self) -> dict[str, Decimal]:
        return {c: (v / self.won_with_amount[c]).quantize(CENT, ROUND_HALF_UP)
                for c, v in self.won_amount.items() if self.won_with_amount.get(c)}


async def manager_report(actor: User, start: datetime, end: datetime, *,
                         department_id: int | None = None) -> list[ManagerRow]:
    """One row per person with a figure in ``[start, end)``, by revenue (the largest
    sum of any currency), then won deals, then activities, then name."""
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    lines = OrderLine.filter(order__state__in=SOLD, order__posted_at__gte=start,
                             order__posted_at__lt=end)
    deals = Deal.filter(closed_at__gte=start, closed_at__lt=end, archived_at=None,
                        stage__kind__in=(StageKind.WON, StageKind.LOST))
    if not scope.everyone:
        people = Subquery(scope.users().values("id"))
        lines = lines.filter(order__owner_id__in=people)
        deals = deals.filter(owner_id__in=people)
    sold = await lines.annotate(revenue=Sum("amount"), cost=Sum("cost"),
                                orders=Count("order_id", distinct=True)).group_by(
        "order__owner_id", "order__currency").values(
        "order__owner_id", "order__currency", "revenue", "cost", "orders")
    closed = await deals.annotate(n=Count("id"), amount=Sum("amount"),
                                  priced=Count("amount")).group_by(
        "owner_id", "stage__kind", "currency").values(
        "owner_id", "stage__kind", "currency", "n", "amount", "priced")
    table = await activities_by_manager_and_type(actor, start, end,
                                                 department_id=department_id)
    reactions = await reaction_times(actor, start, end, department_id=department_id)
    rows: dict[int, ManagerRow] = {}

    def row(uid: int) -> ManagerRow:
        return rows.setdefault(uid, ManagerRow(user_id=uid, full_name=""))

    for s in sold:
        r = row(s["order__owner_id"])
        cur = s["order__currency"]
        revenue = Decimal(s["revenue"] or 0).quantize(CENT)
        r.revenue[cur] = revenue
        r.margin[cur] = (revenue - Decimal(s["cost"] or 0)).quantize(CENT)
        r.orders_by_currency[cur] = int(s["orders"])
        r.orders += int(s["orders"])
    for d in closed:
        r = row(d["owner_id"])
        if d["stage__kind"] == StageKind.WON:
            r.won += int(d["n"])
            if d["priced"]:
                cur = d["currency"]
                r.won_amount[cur] = r.won_amount.get(cur, Decimal(0)) + Decimal(d["amount"])
                r.won_with_amount[cur] = r.won_with_amount.get(cur, 0) + int(d["priced"])
        else:
            r.lost += int(d["n"])
    for uid, total in table.totals.items():
        row(uid).activities = total
    for rt in reactions:
        if rt.median_minutes is not None:
            row(rt.user_id).reaction_minutes = rt.median_minutes
    names = await _names(rows)
    for uid, r in rows.items():
        r.full_name = names.get(uid, str(uid))
    return sorted(rows.values(), key=lambda r: (-max(r.revenue.values(), default=0), -r.won,
                                                -r.activities, r.full_name.casefold()))


def totals(rows: list[ManagerRow]) -> ManagerRow:
    """The rows added up (a department's or the company's line)."""
    out = ManagerRow(user_id=0, full_name="")
    acc: dict[str, defaultdict] = {k: defaultdict(Decimal) for k in
                                   ("revenue", "margin", "won_amount")}
    counts: dict[str, defaultdict] = {k: defaultdict(int) for k in
                                      ("orders_by_currency", "won_with_amount")}
    for r in rows:
        out.orders += r.orders
        out.won += r.won
        out.lost += r.lost
        out.activities += r.activities
        for k in acc:
            for c, v in getattr(r, k).items():
                acc[k][c] += v
        for k in counts:
            for c, v in getattr(r, k).items():
                counts[k][c] += v
    for k, v in {**acc, **counts}.items():
        setattr(out, k, dict(v))
    return out


# --- the records behind a figure ----------------------------------------------------
RECORD_KINDS = ("orders", "won", "lost", "stage", "activities")  # stage: the funnel's entries
MAX_RECORDS = 200


@dataclass
class Record:
    kind: str  # "order" | "deal" | "activity"
    id: int
    title: str  # the order's number, the deal's or the activity's title
    client: str
    when: datetime | None
    amount: Decimal | None
    currency: str | None
    client_id: int | None = None  # an activity opens its client's card


async def records(actor: User, kind: str, user_id: int, start: datetime, end: datetime,
                  *, department_id: int | None = None, stage_id: int | None = None
                  ) -> tuple[list[Record], int]:
    """The orders (``orders``), the won or lost deals or the done activities
    (``activities``, as :func:`services.analytics.activities_by_manager_and_type` counts
    them) behind one person's figure of
    :func:`manager_report`, with the same rules, or the deals that entered a stage
    (``stage`` with ``stage_id``: a count of :mod:`services.manager_funnel`), newest
    first: at most :data:`MAX_RECORDS`, and how many there are. Someone outside
    ``actor``'s reach has none."""
    from models import Order
    from services.errors import N_, ValidationFailed

    if kind not in RECORD_KINDS or (kind == "stage") != (stage_id is not None):
        raise ValidationFailed("kind", N_("choose a value from the list"))
    if kind == "stage":
        from services.manager_funnel import stage_deals

        found, total = await stage_deals(actor, user_id, int(stage_id), start, end,
                                         limit=MAX_RECORDS, department_id=department_id)
        return [Record("deal", r["id"], r["title"], r["client_name"], r["at"], r["amount"],
                       r["currency"]) for r in found], total
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    if not scope.everyone and not await scope.users().filter(id=user_id).exists():
        return [], 0
    if kind == "orders":
        qs = Order.filter(owner_id=user_id, state__in=SOLD, posted_at__gte=start,
                          posted_at__lt=end)
        total = await qs.count()
        rows = await qs.order_by("-posted_at", "-id").limit(MAX_RECORDS).values(
            "id", "number", "posted_at", "currency", client_name="client__name")
        # the lines' amounts, as the revenue figure sums them (the total may add VAT)
        amounts = dict(await OrderLine.filter(order_id__in=[r["id"] for r in rows]).annotate(
            revenue=Sum("amount")).group_by("order_id").values_list("order_id", "revenue"))
        return [Record("order", r["id"], r["number"], r["client_name"], r["posted_at"],
                       Decimal(amounts.get(r["id"]) or 0).quantize(CENT), r["currency"])
                for r in rows], total
    if kind == "activities":
        from models import ActivityAssignee, ActivityState

        done = ActivityAssignee.filter(user_id=user_id, activity__state=ActivityState.DONE,
                                       activity__done_at__gte=start, activity__done_at__lt=end)
        total = await done.count()
        rows = await done.order_by("-activity__done_at", "-activity_id").limit(
            MAX_RECORDS).values("activity_id", title="activity__title",
                                at="activity__done_at", client_id="activity__client_id",
                                client_name="activity__client__name")
        return [Record("activity", r["activity_id"], r["title"], r["client_name"] or "",
                       r["at"], None, None, r["client_id"]) for r in rows], total
    stage = StageKind.WON if kind == "won" else StageKind.LOST
    qs = Deal.filter(owner_id=user_id, closed_at__gte=start, closed_at__lt=end,
                     archived_at=None, stage__kind=stage)
    total = await qs.count()
    rows = await qs.order_by("-closed_at", "-id").limit(MAX_RECORDS).values(
        "id", "title", "closed_at", "amount", "currency", client_name="client__name")
    return [Record("deal", r["id"], r["title"], r["client_name"], r["closed_at"],
                   r["amount"], r["currency"]) for r in rows], total


async def stage_named(stage_id: int):
    """The stage a funnel's drill-down names in its title (None when gone)."""
    from models import Stage

    return await Stage.get_or_none(id=stage_id)
