"""Issue 15: bench.analytics at a toy size, so the benchmark cannot rot — its data
builder and one round of each measurement (K-8 ranking with regrouping, the RFM
compute, K-9 bonuses, the S-27 manager report, the
bare sum) — and services.rates.rates_on, the ranking's many-days rate look-up, giving
what services.rates.rate gives day by day. Nothing here is timed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bench import analytics as bench
from bench.analytics_data import NOW, TOY, populate
from models import AuditLog, ClientClassification, ClientRank, CurrencyRate, Setting
from services import rates
from services.errors import ValidationFailed


async def test_issue15_bench_builds_and_measures_at_toy_size(database_url):
    """K-8/S-27/K-9: the builder writes the sizes asked, and every measurement runs
    through the services on them; the ranking run classifies each client that bought
    in the period (one ABC group and one history line each, the first time)."""
    from tortoise import connections

    made = await populate(TOY)
    assert made.lines == TOY.lines and made.orders > 0
    assert len(made.managers) == TOY.staff and len(made.heads) == TOY.departments
    figures = await bench.measure(made, TOY, runs=1, reports=3)
    for key in ("abc_s", "rfm_s", "manager_report_p95_ms", "baseline_sum_s"):
        assert isinstance(figures[key], float) and figures[key] >= 0, key
    assert figures["bonus_month_s"] > 0
    conn = connections.get("default")
    ph = ("?", "?") if conn.capabilities.dialect == "sqlite" else ("$1", "$2")
    from services.ranking import months_back

    _, rows = await conn.execute_query(
        "SELECT COUNT(DISTINCT client_id) AS n FROM sales_order WHERE state IN "
        f"('posted', 'shipped', 'closed') AND posted_at >= {ph[0]} AND posted_at <= {ph[1]}",
        [months_back(NOW, 12), NOW])
    buyers = int(rows[0]["n"])
    assert buyers > 0
    assert await ClientRank.all().count() == buyers
    assert await ClientClassification.all().count() == buyers
    assert await AuditLog.filter(field="abc").count() == buyers
    assert (await Setting.get(key="ranking.last_run")).value["ranked"] == buyers
    classes = set(await ClientRank.all().values_list("abc", flat=True))
    assert "A" in classes and classes <= {"A", "B", "C"}
    # the orders in dollars and euros were converted (the builder loads their rates)
    assert (await Setting.get(key="ranking.last_run")).value["missing"] == []


async def test_rates_on_matches_rate_day_by_day(database_url):
    """The ranking's look-up of a year of daily rates in two queries answers as
    services.rates.rate does each day: Friday's rate on a weekend, a cross rate
    through the base, None before the first rate (where rate() refuses)."""
    first = date(2026, 6, 1)  # a Monday
    await CurrencyRate.bulk_create([
        CurrencyRate(dated=first + timedelta(days=k), currency="USD", base="RUB",
                     rate=Decimal(90 + k)) for k in range(5)] + [
        CurrencyRate(dated=first + timedelta(days=2), currency="EUR", base="RUB",
                     rate=Decimal("100.5"))])
    days = [first - timedelta(days=1) + timedelta(days=k) for k in range(10)]
    for src, dst in (("USD", "RUB"), ("RUB", "USD"), ("USD", "EUR"), ("EUR", "USD"),
                     ("RUB", "RUB")):
        got = await rates.rates_on(src, dst, days)
        for day in days:
            try:
                want = await rates.rate(src, dst, day)
            except ValidationFailed:
                want = None
            assert got[day] == want, (src, dst, day)
    got = await rates.rates_on("USD", "RUB", days)
    assert got[first - timedelta(days=1)] is None
    assert got[date(2026, 6, 6)] == got[date(2026, 6, 7)] == Decimal(94)  # Friday's
    assert await rates.rates_on("USD", "RUB", []) == {}
