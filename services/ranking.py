"""Ranking of clients (K-8): ABC by margin or revenue, XYZ by the stability of monthly
purchases and RFM in quintiles with named segments, over a rolling period; the ABC
class moves each client into the "ABC" classifier's groups.

Rules:

* **What counts**: the posted, shipped and closed orders (not drafts, not cancelled)
  of current (not archived) clients, by the moment they were posted, within the
  period: the last ``months`` months up to the run (``months`` set by the admin, 1..36,
  default 12). Revenue is the sum of the lines' amounts; the margin is revenue less the
  lines' cost (a line without a cost counts no cost). Both in the company currency
  (the setting ``currency``, default RUB): an order in another currency is converted
  at the rate of the day it was posted (UTC; services.rates); a currency without a
  rate that day leaves those orders out and the run names it.
* **Months** for XYZ are counted back from the run: the first is the month up to the
  run, the next the month before it, and so on; a month without purchases counts 0.
* **ABC** (the admin chooses margin or revenue): the clients sorted by the value,
  largest first (ties by the client's number); a client's cumulative share is the sum
  of the values up to and including it over the total. Share ≤ ``a`` % (default 80):
  A; ≤ ``a`` + ``b`` % (default 80 + 15 = 95): B; the rest (5 %): C. The first client
  is A whatever its share. A client whose value is 0 or less is C.
* **XYZ**: the coefficient of variation of the monthly revenue, population standard
  deviation over the mean, in percent. ≤ ``x`` (default 10): X; ≤ ``y`` (default 25):
  Y; above, or no revenue at all: Z.
* **RFM**: recency (the last order's moment, later is better), frequency (the number
  of orders) and monetary (revenue), each scored 1..5 among the ranked clients by
  the mid-rank of the client's value: 1 + ⌊5 × (clients strictly worse + half of
  those equal to it) / (clients ranked)⌋ — equal values score alike, and a lone
  client or a population where all are equal scores the middle, 3 (not the bottom:
  a single client who bought today is not "hibernating"). Segments, the first that
  fits: champions (R ≥ 4, F ≥ 4, M ≥ 4),
  loyal (R ≥ 3, F ≥ 4), at risk (R ≤ 2, F ≥ 4), new (R ≥ 4, F = 1), promising
  (R ≥ 4), needs attention (R = 3), about to sleep (F = 3), hibernating (the rest).
* Only clients with an order in the period are ranked; the others have no classes.
* **A run** (nightly, and on demand by an admin or a head) replaces every client's
  ranking (``ClientRank``), puts each ranked client into the classifier group of its
  ABC class (the classifier "ABC" with groups A, B, C, made when missing, named in the
  language of whoever runs it; kept in the setting ``ranking.nodes``, so an admin may
  rename them) and takes it out of the others; a client no longer ranked leaves them.
  A changed class is a line of the client's history. A client that drops out of A is
  a task for its main manager (the primary current one, else the first), made once per
  drop: the drop is seen against the previous run and claimed once.
* **Who**: admins set the settings; admins and heads run; results are read through
  services.ranking_results (an admin sees all, a head their departments' clients, a
  manager their own).
* The database sums per client and month; Python only converts the few foreign sums
  and sorts and cuts the per-client results, off the event loop (a thread).
"""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models import Setting, User
from services.clock import utcnow
from services.errors import N_, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head, require_admin

KEY = "ranking"
BASES = ("margin", "revenue")
CLASSES = ("A", "B", "C")
XYZ = ("X", "Y", "Z")
SEGMENTS = ("champions", "loyal", "at_risk", "new", "promising", "needs_attention",
            "about_to_sleep", "hibernating")
SEGMENT_NAMES = {
    "champions": N_("Champions"), "loyal": N_("Loyal"), "at_risk": N_("At risk"),
    "new": N_("New customers"), "promising": N_("Promising"),
    "needs_attention": N_("Needs attention"), "about_to_sleep": N_("About to sleep"),
    "hibernating": N_("Hibernating"),
}
SOLD = ("posted", "shipped", "closed")
MAX_MONTHS = 36
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


# ---- settings ----------------------------------------------------------------------------

@dataclass
class RankSettings:
    basis: str = "margin"
    months: int = 12
    a: Decimal = Decimal(80)
    b: Decimal = Decimal(15)
    x: Decimal = Decimal(10)
    y: Decimal = Decimal(25)
    currency: str = "RUB"

    @property
    def c(self) -> Decimal:
        return HUNDRED - self.a - self.b

    def as_dict(self) -> dict[str, Any]:
        def text(v: Decimal) -> str:
            return format(v.normalize(), "f")

        return {"basis": self.basis, "months": self.months, "a": text(self.a),
                "b": text(self.b), "c": text(self.c), "x": text(self.x), "y": text(self.y),
                "currency": self.currency}


def _percent(raw: Any, name: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        if isinstance(raw, bool):
            raise InvalidOperation
        value = Decimal(str(raw).strip().replace(",", ".").rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(name, N_("«{value}» is not a number"),
                               value=str(raw)[:20]) from None
    if not value.is_finite() or not low <= value <= high:
        raise ValidationFailed(name, N_("a percent from {low} to {high}"), low=str(low),
                               high=str(high))
    return value.quantize(CENT)


def clean_settings(data: dict[str, Any], current: RankSettings | None = None
                   ) -> RankSettings:
    """The settings from a form (``data`` may name only some of them)."""
    cur = current or RankSettings()
    basis = str(data.get("basis", cur.basis))
    if basis not in BASES:
        raise ValidationFailed("basis", N_("rank by margin or by revenue"))
    raw_months = data.get("months", cur.months)
    try:
        months = int(str(raw_months).strip())
    except ValueError:
        raise ValidationFailed("months", N_("«{value}» is not a number"),
                               value=str(raw_months)[:20]) from None
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationFailed("months", N_("from 1 to {max} months"), max=MAX_MONTHS)
    a = _percent(data.get("a", cur.a), "a", Decimal(1), Decimal(99))
    b = _percent(data.get("b", cur.b), "b", Decimal(0), Decimal(99))
    if a + b > HUNDRED:
        raise ValidationFailed("b", N_("A and B together may not pass 100 %"))
    x = _percent(data.get("x", cur.x), "x", Decimal(0), Decimal(1000))
    y = _percent(data.get("y", cur.y), "y", Decimal(0), Decimal(1000))
    if y <= x:
        raise ValidationFailed("y", N_("the Y limit must be above the X limit"))
    currency = str(data.get("currency", cur.currency) or "").strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise ValidationFailed("currency", N_("a currency code like RUB"))
    return RankSettings(basis, months, a, b, x, y, currency)


async def rank_settings() -> RankSettings:
    row = await Setting.get_or_none(key=KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    try:
        return clean_settings(value)
    except ValidationFailed:
        return RankSettings()


async def do_set_settings(actor: User, data: dict[str, Any]) -> RankSettings:
    """Admins: the basis, the months, the ABC and XYZ limits and the currency."""
    require_admin(actor)
    out = clean_settings(data, await rank_settings())
    value = out.as_dict()
    value.pop("c")
    await Setting.update_or_create(key=KEY, defaults={"value": value})
    return out


def may_run(actor: User | None) -> bool:
    return is_admin_or_head(actor)


# ---- the period --------------------------------------------------------------------------

def months_back(moment: datetime, k: int) -> datetime:
    """``moment`` ``k`` calendar months earlier (the day kept, or the month's last)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - k, 12)
    month += 1
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    last_day = (nxt - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


# ---- the computation (pure; run in a thread) -----------------------------------------------

@dataclass
class Totals:
    """One client's sums over the period, in cents of the company currency."""

    months: list[int]             # revenue per month, [0] the latest
    cost: int = 0
    orders: int = 0
    last: datetime | None = None

    @property
    def revenue(self) -> int:
        return sum(self.months)

    @property
    def margin(self) -> int:
        return self.revenue - self.cost


@dataclass
class Rank:
    client_id: int
    abc: str
    xyz: str
    recency: int
    frequency: int
    monetary: int
    segment: str
    revenue: Decimal
    margin: Decimal
    share: Decimal
    cv: Decimal | None
    orders: int
    last: datetime


def abc_classes(values: dict[int, int], a: Decimal, b: Decimal
                ) -> dict[int, tuple[str, Decimal]]:
    """Each client's ABC class and cumulative share (see the module's rules)."""
    out: dict[int, tuple[str, Decimal]] = {}
    positive = sorted(((v, c) for c, v in values.items() if v > 0),
                      key=lambda p: (-p[0], p[1]))
    total = sum(v for v, _ in positive)
    running = 0
    for n, (value, client) in enumerate(positive):
        running += value
        scaled = running * HUNDRED
        cls = "A" if n == 0 or scaled <= a * total else \
            "B" if scaled <= (a + b) * total else "C"
        out[client] = (cls, (scaled / total).quantize(CENT, ROUND_HALF_UP))
    for client, value in values.items():
        if value <= 0:
            out[client] = ("C", HUNDRED)
    return out


def xyz_class(months: list[int], x: Decimal, y: Decimal) -> tuple[str, Decimal | None]:
    """The XYZ class and the coefficient of variation (%) of monthly sums, exactly:
    cv² = (n·Σv² − (Σv)²) / (Σv)²."""
    n, s = len(months), sum(months)
    if s <= 0:
        return "Z", None
    spread = n * sum(v * v for v in months) - s * s  # n² × variance
    cv = (Decimal(spread).sqrt() * HUNDRED / s).quantize(CENT, ROUND_HALF_UP)
    lhs = Decimal(spread) * HUNDRED * HUNDRED
    if lhs <= x * x * s * s:
        return "X", cv
    if lhs <= y * y * s * s:
        return "Y", cv
    return "Z", cv


def quintiles(values: dict[int, Any]) -> dict[int, int]:
    """1..5 per client by mid-rank: 1 + ⌊5 × (smaller + equal / 2) / clients⌋."""
    ordered = sorted(values.values())
    n = len(ordered)

    def score(v: Any) -> int:
        smaller = bisect.bisect_left(ordered, v)
        equal = bisect.bisect_right(ordered, v) - smaller
        return min(5, 1 + (5 * (2 * smaller + equal)) // (2 * n))

    return {c: score(v) for c, v in values.items()}


def segment(r: int, f: int, m: int) -> str:
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r <= 2 and f >= 4:
        return "at_risk"
    if r >= 4 and f == 1:
        return "new"
    if r >= 4:
        return "promising"
    if r == 3:
        return "needs_attention"
    if f == 3:
        return "about_to_sleep"
    return "hibernating"


def compute(totals: dict[int, Totals], s: RankSettings) -> list[Rank]:
    """Every ranked client's classes, by the module's rules."""
    if not totals:
        return []
    values = {c: (t.margin if s.basis == "margin" else t.revenue) for c, t in totals.items()}
    abc = abc_classes(values, s.a, s.b)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    r = quintiles({c: t.last or epoch for c, t in totals.items()})
    f = quintiles({c: t.orders for c, t in totals.items()})
    m = quintiles({c: t.revenue for c, t in totals.items()})
    out = []
    for c in sorted(totals):
        t = totals[c]
        xyz, cv = xyz_class(t.months, s.x, s.y)
        cls, share = abc[c]
        out.append(Rank(c, cls, xyz, r[c], f[c], m[c], segment(r[c], f[c], m[c]),
                        Decimal(t.revenue) / 100, Decimal(t.margin) / 100, share, cv,
                        t.orders, t.last or epoch))
    return out


# ---- the sums (SQL) --------------------------------------------------------------------------

@dataclass
class Gathered:
    totals: dict[int, Totals]
    missing: list[str] = field(default_factory=list)  # "USD 03.05.2026": no rate


async def gather(s: RankSettings, now: datetime) -> Gathered:
    """Per client and month (and, for other currencies, per day) sums from the
    database, converted into the company currency."""
    from services import rates
    from services.ledger_sql import cents, cur

    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"

    def ph(n: int) -> str:
        return "?" if sqlite else f"${n}"

    now = now.replace(microsecond=0)
    edges = [months_back(now, k) for k in range(1, s.months + 1)]  # month k starts
    # placeholders in the order they appear (SQLite's are positional): the months'
    # edges in the SELECT, then the period in the WHERE
    bucket = "CASE " + " ".join(f"WHEN o.posted_at >= {ph(1 + k)} THEN {k}"
                                for k in range(s.months - 1)) + f" ELSE {s.months - 1} END" \
        if s.months > 1 else "0"
    params: list[Any] = [*edges[:-1], now, edges[-1]]

    def base(first: int) -> str:
        return (f"FROM sales_order o JOIN client cl ON cl.id = o.client_id "
                f"WHERE o.state IN ({', '.join(repr(x) for x in SOLD)}) "
                f"AND cl.archived_at IS NULL AND o.posted_at <= {ph(first)} "
                f"AND o.posted_at >= {ph(first + 1)}")

    lines = base(s.months).replace("FROM sales_order o", "FROM sales_order o JOIN "
                                   "order_line l ON l.order_id = o.id")
    sums = (f"SUM({cents('l.amount')}) AS rev, "
            f"SUM({cents('COALESCE(l.cost, 0)')}) AS cost")
    home = cur(s.currency)
    totals: dict[int, Totals] = {}

    def of(client: int) -> Totals:
        if client not in totals:
            totals[client] = Totals([0] * s.months)
        return totals[client]

    _, rows = await conn.execute_query(
        f"SELECT o.client_id AS c, COUNT(*) AS n, MAX(o.posted_at) AS last {base(1)} "
        f"GROUP BY o.client_id", [now, edges[-1]])
    for row in rows:
        t = of(int(row["c"]))
        t.orders, t.last = int(row["n"]), _aware(row["last"])
    _, rows = await conn.execute_query(
        f"SELECT o.client_id AS c, {bucket} AS b, {sums} {lines} AND o.currency = {home} "
        "GROUP BY 1, 2", params)
    for row in rows:
        t = of(int(row["c"]))
        t.months[int(row["b"])] += int(row["rev"] or 0)
        t.cost += int(row["cost"] or 0)
    day = "date(o.posted_at)" if sqlite else "CAST(o.posted_at AT TIME ZONE 'UTC' AS DATE)"
    _, rows = await conn.execute_query(
        f"SELECT o.client_id AS c, o.currency AS cur, {day} AS d, {bucket} AS b, {sums} "
        f"{lines} AND o.currency <> {home} GROUP BY 1, 2, 3, 4", params)
    foreign = [(row, _as_date(row["d"])) for row in rows]
    found: dict[tuple[str, Any], Decimal | None] = {}
    for code in sorted({row["cur"] for row, _ in foreign}):
        days = {d for row, d in foreign if row["cur"] == code}
        try:  # one look-up per currency, not per day
            found.update(((code, d), r) for d, r in (
                await rates.rates_on(code, s.currency, days)).items())
        except ValidationFailed:
            found.update(((code, d), None) for d in days)
    missing: set[tuple[str, Any]] = set()
    for row, d in foreign:
        key = (row["cur"], d)
        rate = found[key]
        if rate is None:
            missing.add(key)
            continue
        t = of(int(row["c"]))
        t.months[int(row["b"])] += int((int(row["rev"] or 0) * rate).to_integral_value(
            ROUND_HALF_UP))
        t.cost += int((int(row["cost"] or 0) * rate).to_integral_value(ROUND_HALF_UP))
    return Gathered(totals, [f"{c} {d.strftime('%d.%m.%Y')}" for c, d in sorted(missing)])


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_date(value: Any):
    from services.ledger_sql import as_date

    return as_date(value)


async def compute_now(now: datetime | None = None) -> tuple[list[Rank], list[str]]:
    """The classes as a run would make them (nothing is written)."""
    s = await rank_settings()
    got = await gather(s, now or utcnow())
    ranks = await asyncio.to_thread(compute, got.totals, s)
    return ranks, got.missing


def next_morning(tz: str, now: datetime | None = None) -> datetime:
    """10:00 of the next day in the time zone ``tz``."""
    zone = ZoneInfo(tz or "UTC")
    day = (now or utcnow()).astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(10), zone)


def check_runner(actor: User | None) -> None:
    if actor is not None and not may_run(actor):
        raise PermissionDenied("only admins and heads run the ranking")


def per_class(ranks: list[Rank]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in ranks:
        out[r.abc] += 1
    return {c: out.get(c, 0) for c in CLASSES}
