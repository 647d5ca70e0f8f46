"""Loyalty analysis (U-9): the repeat rate, the churn by cohort and the interval
between orders, over the clients one sees.

Rules:

* **Orders counted**: posted, shipped and closed (not drafts, not cancelled), by the
  moment they were posted, of current clients the person sees (like services.analytics:
  an admin all, a head their departments', a manager their own).
* **The period** is ``[start, end]`` of days in the person's time zone (default: the
  365 days up to today).
* **Repeat rate**: the clients with two or more orders in the period over the clients
  with at least one, in percent (two places; none: no rate).
* **Churn by cohort**: a client's cohort is the month (UTC) of its first order ever; a
  client of the cohort has churned when its last order is more than ``days`` days
  (default 90, 1..3650) before now. Per cohort: clients, churned and the churned share
  in percent. Cohorts whose month begins within the period's months are shown, oldest
  first.
* **Interval between orders**: for each client with two or more orders in the period,
  (last − first) / (orders − 1) in days; the mean and the median over those clients
  (one place).
* The database counts and sums; Python only takes the median of the per-client values.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections

from models import User
from services.clock import utcnow
from services.errors import N_, ValidationFailed

SOLD = ("posted", "shipped", "closed")
DEFAULT_DAYS = 90
MAX_DAYS = 3650


@dataclass
class Cohort:
    month: str      # "2026-03"
    clients: int
    churned: int

    @property
    def share(self) -> Decimal:
        return _percent(self.churned, self.clients) or Decimal(0)


@dataclass
class Analysis:
    start: date
    end: date
    days: int
    buyers: int = 0
    repeaters: int = 0
    cohorts: list[Cohort] = field(default_factory=list)
    interval_clients: int = 0
    interval_mean: Decimal | None = None
    interval_median: Decimal | None = None

    @property
    def repeat_rate(self) -> Decimal | None:
        return _percent(self.repeaters, self.buyers)

    def as_dict(self) -> dict[str, Any]:
        def text(v: Decimal | None) -> str | None:
            return None if v is None else f"{v}"

        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "days": self.days, "buyers": self.buyers, "repeaters": self.repeaters,
                "repeat_rate": text(self.repeat_rate),
                "cohorts": [{"month": c.month, "clients": c.clients, "churned": c.churned,
                             "share": f"{c.share}"} for c in self.cohorts],
                "interval_clients": self.interval_clients,
                "interval_mean": text(self.interval_mean),
                "interval_median": text(self.interval_median)}


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _day(raw: Any, name: str) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    try:
        return date.fromisoformat(text) if "-" in text else \
            date(*reversed([int(x) for x in text.split(".")]))
    except (ValueError, TypeError):
        raise ValidationFailed(name, N_("a date like 31.12.2025")) from None


def clean_days(raw: Any) -> int:
    if raw in (None, ""):
        return DEFAULT_DAYS
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed("days", N_("«{value}» is not a number"),
                               value=str(raw)[:20]) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed("days", N_("from 1 to {max} days"), max=MAX_DAYS)
    return days


async def analysis(actor: User, *, start: Any = None, end: Any = None,
                   days: Any = None) -> Analysis:
    """The three measures for ``actor``'s clients (the rules)."""
    from services.ledger_sql import client_scope

    tz = ZoneInfo(actor.timezone or "UTC")
    today = utcnow().astimezone(tz).date()
    end_day = _day(end, "end") or today
    start_day = _day(start, "start") or end_day - timedelta(days=364)
    if start_day > end_day:
        raise ValidationFailed("start", N_("the start is after the end"))
    churn_days = clean_days(days)
    out = Analysis(start_day, end_day, churn_days)
    lo = datetime.combine(start_day, time(0), tz)
    hi = datetime.combine(end_day + timedelta(days=1), time(0), tz)
    scope = await client_scope(actor, "o.client_id")
    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"
    ph = ["?"] * 3 if sqlite else ["$1", "$2", "$3"]
    sold = f"o.state IN ({', '.join(repr(x) for x in SOLD)})"
    in_period = f"{sold} AND o.posted_at >= {ph[0]} AND o.posted_at < {ph[1]} AND {scope}"

    span = ("(julianday(MAX(o.posted_at)) - julianday(MIN(o.posted_at)))" if sqlite else
            "(EXTRACT(EPOCH FROM MAX(o.posted_at) - MIN(o.posted_at)) / 86400.0)")
    _, rows = await conn.execute_query(
        f"SELECT COUNT(*) AS buyers, SUM(CASE WHEN t.n >= 2 THEN 1 ELSE 0 END) AS rep "
        f"FROM (SELECT o.client_id AS c, COUNT(*) AS n FROM sales_order o WHERE "
        f"{in_period} GROUP BY o.client_id) t", [lo, hi])
    out.buyers, out.repeaters = int(rows[0]["buyers"] or 0), int(rows[0]["rep"] or 0)

    _, rows = await conn.execute_query(
        f"SELECT {span} / (COUNT(*) - 1) AS gap FROM sales_order o WHERE {in_period} "
        f"GROUP BY o.client_id HAVING COUNT(*) >= 2", [lo, hi])
    gaps = [float(r["gap"]) for r in rows]
    if gaps:
        out.interval_clients = len(gaps)
        out.interval_mean = Decimal(str(sum(gaps) / len(gaps))).quantize(
            Decimal("0.1"), ROUND_HALF_UP)
        out.interval_median = Decimal(str(statistics.median(gaps))).quantize(
            Decimal("0.1"), ROUND_HALF_UP)

    month = ("substr(MIN(o.posted_at), 1, 7)" if sqlite else
             "to_char(MIN(o.posted_at) AT TIME ZONE 'UTC', 'YYYY-MM')")
    cutoff = utcnow() - timedelta(days=churn_days)
    first = f"{start_day.year:04d}-{start_day.month:02d}"
    last = f"{end_day.year:04d}-{end_day.month:02d}"
    _, rows = await conn.execute_query(
        f"SELECT t.m AS m, COUNT(*) AS n, SUM(CASE WHEN t.last < {ph[0]} THEN 1 ELSE 0 END) "
        f"AS churned FROM (SELECT {month} AS m, MAX(o.posted_at) AS last FROM sales_order o "
        f"WHERE {sold} AND o.posted_at IS NOT NULL AND {scope} GROUP BY o.client_id) t "
        f"WHERE t.m >= {ph[1]} AND t.m <= {ph[2]} GROUP BY t.m ORDER BY t.m",
        [cutoff, first, last])
    out.cohorts = [Cohort(str(r["m"]), int(r["n"]), int(r["churned"] or 0)) for r in rows]
    return out
