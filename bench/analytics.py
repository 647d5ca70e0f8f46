"""Analytics (issue 15): the ABC/XYZ/RFM ranking with its regrouping, the month's bonus
statements and a manager's report, over 10,000 clients, 500 staff in 25 departments
and 1,000,000 order lines over two years (1,000 clients, 50 staff and 100,000 lines
with --quick), on SQLite and (with --postgres) on a scratch PostgreSQL database.

The data (bench.analytics_data) is written in bulk and ends at the tests' pinned
"now", 2026-06-10 07:00 UTC; the clock is pinned there (time_machine) while the
services run. Through the services, each the median of three runs:

* ``abc_s``: :func:`services.ranking_run.run` as an admin — the sums, ABC/XYZ/RFM,
  ``ClientRank`` rewritten, the clients moved between the "ABC" classifier's groups
  with a history line each, the tasks for clients out of A. The three runs are three
  nightly runs, at now − 2 days, now − 1 day and now: the first one classifies every
  client from nothing (its time goes to stderr as ``abc_first_s``), the others move
  those whose class changed;
* ``rfm_s``: :func:`services.ranking.compute_now` — the same SQL sums and the
  ABC/XYZ/RFM classes computed, nothing written. RFM is not separable from the rest:
  its R, F and M come from the same two grouped queries as ABC and XYZ, and scoring
  the quintiles is milliseconds of Python; so this is the ranking without regrouping;
* ``bonus_month_s``: :func:`measure_bonus`, i.e. K-9's
  :func:`services.motivation_statements.compute_month` of every statement of the
  last full month as an admin, after :func:`prepare_bonus` gave each seller revenue
  and deals-won plans and made three schemes;
* ``manager_report_p95_ms``: :func:`services.manager_report.manager_report` of one
  manager (as that manager) for one calendar month, 50 calls over managers and the
  last 24 months, the 95th percentile (p50 to stderr);
* ``baseline_sum_s``: a bare ``SELECT SUM(l.amount)`` over the lines ABC sums (sold
  orders posted in the ranking's 12 months), in the same run.

    python -m bench.analytics [--quick] [--postgres URL]

Last line: {"abc_s", "rfm_s", "bonus_month_s", "manager_report_p95_ms" (each the worse
backend), "baseline_sum_s"}; each backend's figures go to stderr. Aims: ABC under 5 s,
bonuses under 5 s, a manager's report under 300 ms.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench.analytics_data import FULL, NOW, QUICK, Sizes, month_start, populate
from bench.common import on_both_backends, pct

RUNS = 3
REPORTS = 50


def _at(moment: datetime):
    import time_machine

    return time_machine.travel(moment, tick=True)


async def measure_abc(admin, moment: datetime) -> float:
    """One ranking run (K-8) with its regrouping, at ``moment``."""
    from services import ranking_run

    with _at(moment):
        t = time.perf_counter()
        await ranking_run.run(admin)
        return time.perf_counter() - t


async def measure_rfm(moment: datetime) -> float:
    """The ranking's sums and classes (ABC, XYZ, RFM) without writing anything."""
    from services import ranking

    with _at(moment):
        t = time.perf_counter()
        await ranking.compute_now(moment)
        return time.perf_counter() - t


async def prepare_bonus(admin, sellers, month: date) -> None:
    """K-9's inputs for ``month``: each seller's revenue and deals-won plans (S-26) and
    three schemes for everyone — +2 % of sales up to 30 % over plan and +3 % from 30 to
    100 %, a fixed sum per deals-won step, a penalty of 1 % below 80 %."""
    from models import PlanMetric, SalesPlan
    from services import motivation
    from services.sales_plans import _subject

    rnd = random.Random(9)
    await SalesPlan.bulk_create([
        SalesPlan(user_id=u.id, month=month, metric=metric, currency=cur,
                  target=Decimal(target), subject=_subject(metric, None, None, cur),
                  set_by_id=admin.id)
        for u in sellers for metric, cur, target in (
            (PlanMetric.REVENUE, "RUB", rnd.randint(200, 4000) * 1000),
            (PlanMetric.DEALS_WON, None, rnd.randint(1, 8)))], batch_size=1000)
    for name, metric, kind, base, steps in (
            ("Бонус с продаж", "revenue", "bonus", "percent",
             [{"lower": "0", "upper": "30", "value": "2"},
              {"lower": "30", "upper": "100", "value": "3"}]),
            ("Бонус за сделки", "deals_won", "bonus", "fixed",
             [{"lower": "0", "upper": "50", "value": "5000"},
              {"lower": "50", "upper": None, "value": "15000"}]),
            ("Штраф за недобор", "revenue", "penalty", "percent",
             [{"lower": "20", "upper": None, "value": "1"}])):
        await motivation.do_save_scheme(admin, motivation.SchemeIn(
            name=name, metric=metric, kind=kind, base=base, currency="RUB",
            steps=steps, active_from=month))


async def measure_bonus(admin, month: date) -> float:
    """K-9: every bonus statement of ``month`` (its first day) as ``admin``, in seconds."""
    from services.motivation_statements import compute_month

    with _at(NOW):
        t = time.perf_counter()
        statements = await compute_month(admin, month)
        elapsed = time.perf_counter() - t
    assert statements, "no statements: the bench measured nothing"
    return elapsed


async def measure_report(actor, month: date) -> float:
    """One manager's report for one calendar month (Moscow time), in milliseconds."""
    from zoneinfo import ZoneInfo

    from services.manager_report import manager_report

    zone = ZoneInfo("Europe/Moscow")
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=zone)
    t = time.perf_counter()
    await manager_report(actor, start, end)
    return (time.perf_counter() - t) * 1000


async def measure_baseline(moment: datetime, months: int = 12) -> float:
    """A bare sum of the lines the ranking sums, in seconds."""
    from tortoise import connections

    from services.ranking import SOLD, months_back

    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"
    marks = ("?", "?") if sqlite else ("$1", "$2")
    states = ", ".join(f"'{s}'" for s in SOLD)
    t = time.perf_counter()
    await conn.execute_query(
        f"SELECT SUM(l.amount) FROM order_line l JOIN sales_order o ON o.id = l.order_id "
        f"WHERE o.state IN ({states}) AND o.posted_at >= {marks[0]} "
        f"AND o.posted_at <= {marks[1]}",
        [months_back(moment.replace(microsecond=0), months), moment])
    return time.perf_counter() - t


def warm_up() -> None:
    """Import what the services import lazily (kontakt.i18n pulls in aiogram: seconds),
    as a running service has, so the first run is not timing imports."""
    import time_machine  # noqa: F401

    import kontakt.i18n  # noqa: F401
    import services.activities  # noqa: F401
    import services.manager_report  # noqa: F401
    import services.ranking_run  # noqa: F401


async def measure(made, sizes: Sizes, runs: int = RUNS, reports: int = REPORTS) -> dict:
    """Every figure on the populated database (also the smoke test's entry)."""
    from models import Role

    admin = made.admin
    abc = [await measure_abc(admin, NOW - timedelta(days=runs - 1 - k)) for k in range(runs)]
    rfm = [await measure_rfm(NOW) for _ in range(runs)]
    sellers = [m for m in made.managers if m.role == Role.MANAGER] or made.managers
    await prepare_bonus(admin, sellers, month_start(1))
    bonus = [await measure_bonus(admin, month_start(1)) for _ in range(runs)]
    rnd = random.Random(27)
    report_ms = [await measure_report(sellers[rnd.randrange(len(sellers))],
                                      month_start(rnd.randrange(24)))
                 for _ in range(reports)]
    base = [await measure_baseline(NOW) for _ in range(runs)]
    return {
        "abc_s": round(statistics.median(abc), 3), "abc_first_s": round(abc[0], 3),
        "rfm_s": round(statistics.median(rfm), 3),
        "bonus_month_s": round(statistics.median(bonus), 3),
        "manager_report_p95_ms": round(pct(report_ms, 95), 2),
        "manager_report_p50_ms": round(statistics.median(report_ms), 2),
        "baseline_sum_s": round(statistics.median(base), 3),
    }


async def run_backend(url: str, _dialect: str, quick: bool) -> dict:
    from kontakt import db as kdb

    sizes = QUICK if quick else FULL
    await kdb.init_db(url)
    await kdb.migrate(url)
    warm_up()
    t0 = time.perf_counter()
    made = await populate(sizes)
    load_s = time.perf_counter() - t0
    out = {"clients": sizes.clients, "staff": sizes.staff, "orders": made.orders,
           "lines": made.lines, "load_s": round(load_s, 1)}
    out.update(await measure(made, sizes))
    await kdb.close_db()
    return out


async def main() -> None:
    await on_both_backends(run_backend, highest=("abc_s", "rfm_s", "bonus_month_s",
                                                 "manager_report_p95_ms"),
                           baseline="baseline_sum_s")


if __name__ == "__main__":
    asyncio.run(main())
