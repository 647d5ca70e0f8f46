"""U-9: the loyalty analysis (services.loyalty_analysis) on hand-made orders with the
answers worked out by hand: the repeat rate, the churn by cohort and the interval
between orders, for an admin and for a manager who sees only their own clients."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import Order, Role, User
from services import clients as client_svc
from services import loyalty_analysis as svc
from services.errors import ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal


def _month(days_ago: int) -> str:
    return (TEST_NOW - timedelta(days=days_ago)).strftime("%Y-%m")


@pytest.fixture
async def buyers(database_url):
    """Ivan's A (orders 300, 200 and 100 days ago) and B (50, 20); Petr's C (10), F (40,
    31, 30), D (500 days ago, and a cancelled one 5 days ago) and E (a draft only)."""
    admin = await User.create(full_name="Admin", telegram_id=951, role=Role.ADMIN,
                              timezone="UTC")
    ivan = await User.create(full_name="Ivan", telegram_id=952, timezone="UTC")
    petr = await User.create(full_name="Petr", telegram_id=953, timezone="UTC")
    made = {}
    for who, name, orders in (
            (ivan, "A", [(300, "posted"), (200, "shipped"), (100, "closed")]),
            (ivan, "B", [(50, "posted"), (20, "posted")]),
            (petr, "C", [(10, "posted")]),
            (petr, "F", [(40, "posted"), (31, "posted"), (30, "posted")]),
            (petr, "D", [(500, "posted"), (5, "cancelled")]),
            (petr, "E", [(3, "draft")])):
        client = (await client_svc.do_create_client(who, {"name": name})).client
        made[name] = client
        for days, state in orders:
            await Order.create(number=f"N{await Order.all().count() + 1}", client=client,
                               owner=who, state=state, total=D(100),
                               posted_at=None if state == "draft" else
                               TEST_NOW - timedelta(days=days))
    return {"admin": admin, "ivan": ivan, "petr": petr, **made}


async def test_u9_repeat_rate_interval_and_churn_by_cohort(buyers):
    """U-9, the admin, the 365 days up to today: buyers A, B, C, F (D's order is older,
    its other cancelled; E has a draft) — 4; with two or more: A, B, F — 75.00 %.
    Intervals: A (300 − 100) / 2 = 100, B 30, F (40 − 30) / 2 = 5: mean 45.0, median
    30.0. Cohorts (the month of the first order): A's (300 days ago), B's (50), C's and
    F's (10 and 40 days ago: the same month) — D's (500 days ago) is before the period.
    Churned at 90 days: A (last 100 days ago) only; at 25 days: A and F (30)."""
    got = await svc.analysis(buyers["admin"])
    assert (got.start, got.end) == (TEST_NOW.date() - timedelta(days=364), TEST_NOW.date())
    assert (got.buyers, got.repeaters, got.repeat_rate) == (4, 3, D("75.00"))
    assert (got.interval_clients, got.interval_mean, got.interval_median) == (
        3, D("45.0"), D("30.0"))
    assert _month(10) == _month(40)  # 31.05 and 01.05 of the pinned clock's year
    assert [(c.month, c.clients, c.churned, c.share) for c in got.cohorts] == [
        (_month(300), 1, 1, D(100)), (_month(50), 1, 0, D(0)), (_month(10), 2, 0, D(0))]
    got = await svc.analysis(buyers["admin"], days="25")
    assert [(c.clients, c.churned, c.share) for c in got.cohorts] == [
        (1, 1, D(100)), (1, 0, D(0)), (2, 1, D(50))]
    # a shorter period: the last 45 days: B (20; its 50 is before), C (10), F (three)
    start = TEST_NOW.date() - timedelta(days=45)
    got = await svc.analysis(buyers["admin"], start=start.isoformat())
    assert (got.buyers, got.repeaters, got.repeat_rate) == (3, 1, D("33.33"))
    assert (got.interval_clients, got.interval_mean) == (1, D("5.0"))
    # cohorts from the start's month (26.04): B's April and May — A's August is older
    assert [c.month for c in got.cohorts] == [_month(50), _month(10)]


async def test_u9_analysis_reach_and_bad_input(buyers):
    """U-9: a manager counts only their own clients: Ivan's A and B — both repeat
    (100.00 %), intervals 100 and 30 (mean 65.0, median 65.0); bad input is named."""
    got = await svc.analysis(buyers["ivan"])
    assert (got.buyers, got.repeaters, got.repeat_rate) == (2, 2, D("100.00"))
    assert (got.interval_mean, got.interval_median) == (D("65.0"), D("65.0"))
    assert [(c.month, c.clients, c.churned) for c in got.cohorts] == [
        (_month(300), 1, 1), (_month(50), 1, 0)]
    empty = await User.create(full_name="New", telegram_id=954)
    got = await svc.analysis(empty)
    assert (got.buyers, got.repeat_rate, got.interval_mean, got.cohorts) == (0, None, None,
                                                                              [])
    for kwargs, name in (({"days": "0"}, "days"), ({"days": "x"}, "days"),
                         ({"start": "31.02.2026"}, "start"),
                         ({"start": "2026-06-01", "end": "2026-05-01"}, "start")):
        with pytest.raises(ValidationFailed) as err:
            await svc.analysis(buyers["admin"], **kwargs)
        assert err.value.field == name
