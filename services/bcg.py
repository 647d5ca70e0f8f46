"""BCG matrix of product groups (U-9): each group's share of the company's sales against
its growth, period over period.

Rules:

* **Groups** are the top-level product categories: a product in a subcategory counts
  for its top category; products without a category form one group of their own.
* **Sales** are the lines' amounts of the posted, shipped and closed orders posted in
  the period — the last ``months`` months up to now — and in the ``months`` before
  it, in the ranking's company currency (:mod:`services.ranking` settings); orders in
  another currency are converted at the rate of the day they were posted, and a
  currency without a rate that day is left out and named (``missing``).
* **Share** = the group's sales / the company's sales in the period (%); **growth** =
  sales in the period / sales in the period before − 1 (%), None for a group that
  sold nothing before (new).
* **Quadrants**: a share at or above the average share of the groups that sold
  (100 / their number) is high; growth at or above the company's own growth is high.
  Stars (high, high), cash cows (high share, low growth), question marks (low share,
  high growth), dogs (low, low); a new group is a question mark, or a star if its
  share is high.
* Admins and heads see it (it is the whole company's figure); the database sums per
  category, currency and day; Python adds the few rows up and draws the chart in a
  thread (:func:`chart_png`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise import connections

from models import ProductCategory, User
from services.clock import utcnow
from services.errors import N_, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head
from services.ranking import SOLD, months_back, rank_settings

QUADRANTS = ("star", "cash_cow", "question", "dog")
QUADRANT_NAMES = {"star": N_("Stars"), "cash_cow": N_("Cash cows"),
                  "question": N_("Question marks"), "dog": N_("Dogs")}
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass
class GroupPoint:
    category_id: int | None  # None: products without a category
    name: str
    sales: Decimal
    before: Decimal
    share: Decimal
    growth: Decimal | None
    quadrant: str


@dataclass
class Matrix:
    months: int
    currency: str
    start: datetime
    end: datetime
    groups: list[GroupPoint]
    company_growth: Decimal | None
    share_line: Decimal
    missing: list[str]


def _aware_date(value: Any):
    from datetime import date

    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value if not isinstance(value, datetime) else value.date()


def may_see(actor: User | None) -> bool:
    """The matrix is the whole company's figure: admins and heads."""
    return is_admin_or_head(actor)


async def bcg(actor: User, *, months: int = 12, now: datetime | None = None) -> Matrix:
    """The matrix over the last ``months`` (1..24) against the ``months`` before."""
    from services import rates
    from services.ledger_sql import cents

    if not may_see(actor):
        raise PermissionDenied("the BCG matrix is for admins and heads")
    if not 1 <= int(months) <= 24:
        raise ValidationFailed("months", N_("from 1 to 24"))
    settings = await rank_settings()
    now = (now or utcnow()).replace(microsecond=0)
    mid, first = months_back(now, months), months_back(now, 2 * months)
    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"
    ph = (lambda n: "?") if sqlite else (lambda n: f"${n}")
    day = "date(o.posted_at)" if sqlite else "CAST(o.posted_at AT TIME ZONE 'UTC' AS DATE)"
    _, rows = await conn.execute_query(
        f"SELECT p.group_id AS g, o.currency AS cur, {day} AS d, "
        f"CASE WHEN o.posted_at >= {ph(1)} THEN 1 ELSE 0 END AS now_, "
        f"SUM({cents('l.amount')}) AS rev "
        "FROM order_line l JOIN sales_order o ON o.id = l.order_id "
        "JOIN product p ON p.id = l.product_id "
        f"WHERE o.state IN ({', '.join(repr(x) for x in SOLD)}) "
        f"AND o.posted_at >= {ph(2)} AND o.posted_at < {ph(3)} "
        "GROUP BY 1, 2, 3, 4", [mid, first, now])
    # top-level ancestor of each category (one query for the tree)
    parents = dict(await ProductCategory.all().values_list("id", "parent_id"))
    names = dict(await ProductCategory.all().values_list("id", "name"))

    def top(cid: int | None) -> int | None:
        seen: set[int] = set()
        while cid is not None and parents.get(cid) is not None and cid not in seen:
            seen.add(cid)
            cid = parents[cid]
        return cid

    sums: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])  # [before, now]
    found: dict[tuple[str, Any], Decimal | None] = {}
    missing: set[tuple[str, Any]] = set()
    for row in rows:
        value = int(row["rev"] or 0)
        if row["cur"] != settings.currency:
            key = (row["cur"], _aware_date(row["d"]))
            if key not in found:
                try:
                    found[key] = await rates.rate(key[0], settings.currency, key[1])
                except ValidationFailed:
                    found[key] = None
            if found[key] is None:
                missing.add(key)
                continue
            value = int((value * found[key]).to_integral_value(ROUND_HALF_UP))
        sums[top(row["g"])][int(row["now_"])] += value
    total_now = sum(v[1] for v in sums.values())
    total_before = sum(v[0] for v in sums.values())
    company_growth = (Decimal(total_now - total_before) * HUNDRED / total_before).quantize(
        CENT, ROUND_HALF_UP) if total_before else None
    selling = [g for g, v in sums.items() if v[1] > 0]
    share_line = (HUNDRED / len(selling)).quantize(CENT, ROUND_HALF_UP) if selling else HUNDRED
    points = []
    for g, (before, current) in sums.items():
        share = (Decimal(current) * HUNDRED / total_now).quantize(CENT, ROUND_HALF_UP) \
            if total_now else Decimal(0)
        growth = (Decimal(current - before) * HUNDRED / before).quantize(
            CENT, ROUND_HALF_UP) if before else None
        high_share = share >= share_line and current > 0
        high_growth = growth is None or company_growth is None or growth >= company_growth
        quadrant = ("star" if high_growth else "cash_cow") if high_share else \
            ("question" if high_growth and current > 0 else "dog")
        points.append(GroupPoint(g, names.get(g, "") if g is not None else "",
                                 (Decimal(current) / 100).quantize(CENT),
                                 (Decimal(before) / 100).quantize(CENT), share, growth,
                                 quadrant))
    points.sort(key=lambda p: (-p.sales, p.name.casefold()))
    return Matrix(months, settings.currency, mid, now, points, company_growth, share_line,
                  [f"{c} {d.strftime('%d.%m.%Y')}" for c, d in sorted(missing)])


def chart_png(m: Matrix, labels: dict[str, str], *, no_category: str) -> bytes:
    """The matrix as a scatter (share across, growth up) with the quadrant lines and
    names, PNG 600 px wide; CPU work for a thread."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5), dpi=100)  # 600 px: legible on a phone's width
    ax = fig.add_subplot()
    xs = [float(p.share) for p in m.groups]
    known = [float(p.growth) for p in m.groups if p.growth is not None]
    # a new group has no growth: drawn above every other and the company's line, as
    # the list counts it among the high-growth ones
    new_y = max([*known, float(m.company_growth or 0)]) + 10.0
    ys = [float(p.growth) if p.growth is not None else new_y for p in m.groups]
    colours = {"star": "#f2b705", "cash_cow": "#2e7d32", "question": "#1565c0",
               "dog": "#9e9e9e"}
    sizes = [max(40.0, min(2000.0, float(p.sales) ** 0.5)) for p in m.groups]
    ax.scatter(xs, ys, s=sizes, c=[colours[p.quadrant] for p in m.groups], alpha=0.7)
    for p, x, y in zip(m.groups, xs, ys, strict=True):
        ax.annotate((p.name or no_category) + (" ★" if p.growth is None else ""), (x, y),
                    fontsize=12, ha="center", va="bottom", parse_math=False)
    ax.axvline(float(m.share_line), color="#555", lw=1, ls="--")
    ax.axhline(float(m.company_growth or 0), color="#555", lw=1, ls="--")
    ax.set_xlabel(labels["share"], fontsize=12)
    ax.set_ylabel(labels["growth"], fontsize=12)
    ax.tick_params(labelsize=11)
    left, right = ax.get_xlim()
    bottom, top_ = ax.get_ylim()
    for q, (x, y) in {"star": (right, top_), "question": (left, top_),
                      "cash_cow": (right, bottom), "dog": (left, bottom)}.items():
        ax.text(x, y, labels[q], fontsize=12, color=colours[q], weight="bold", parse_math=False,
                ha="right" if x == right else "left", va="top" if y == top_ else "bottom")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
