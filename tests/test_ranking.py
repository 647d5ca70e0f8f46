"""K-8: the ranking of clients (services.ranking, services.ranking_run,
services.ranking_results) on hand-made data with the answers worked out by hand: ABC
boundaries, XYZ, RFM quintiles and segments, margin against revenue, the regrouping in
the "ABC" classifier with its history, the task when a client drops out of A (once per
drop) and who sees and does what."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import (
    Activity,
    AuditLog,
    ClassifierNode,
    ClientClassification,
    ClientRank,
    Department,
    Order,
    OrderLine,
    Product,
    Role,
    Setting,
    User,
)
from services import clients as client_svc
from services import ranking as svc
from services import ranking_results as res
from services import ranking_run as runner
from services import rates
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal


# ---- the rules alone -----------------------------------------------------------------------

def test_k8_abc_boundaries():
    """K-8: cumulative share ≤ 80 % is A, ≤ 95 % is B, the rest C; a share exactly at
    a limit stays in the better class; the first client is A whatever its share; a
    value of 0 or less is C."""
    # 50 + 30 + 10 + 5 + 3 + 2 = 100: cumulative 50, 80 (= 80: A), 90, 95 (= 95: B),
    # 98, 100
    got = svc.abc_classes({1: 50, 2: 30, 3: 10, 4: 5, 5: 3, 6: 2, 7: 0, 8: -5},
                          D(80), D(15))
    assert {c: v[0] for c, v in got.items()} == {1: "A", 2: "A", 3: "B", 4: "B", 5: "C",
                                                 6: "C", 7: "C", 8: "C"}
    assert [got[c][1] for c in (1, 2, 3, 4, 5, 6)] == [D(50), D(80), D(90), D(95), D(98),
                                                       D(100)]
    # 8001 of 10000 is 80.01 %: just past A
    got = svc.abc_classes({1: 8001, 2: 1999}, D(80), D(15))
    assert got[1][0] == "A"  # the first, though its share is 80.01 %
    got = svc.abc_classes({1: 5000, 2: 3001, 3: 1999}, D(80), D(15))
    # 50 %, 80.01 % (B), 100 % (C)
    assert [got[c][0] for c in (1, 2, 3)] == ["A", "B", "C"]
    # the admin's own limits 50/30/20: 50 (A), 80 (B), 90 (C)
    got = svc.abc_classes({1: 50, 2: 30, 3: 10, 4: 10}, D(50), D(30))
    assert [got[c][0] for c in (1, 2, 3, 4)] == ["A", "B", "C", "C"]
    # ties by the client's number: 40, 40, 20 → 40 % A, 80 % A, 100 % C
    got = svc.abc_classes({9: 40, 3: 40, 5: 20}, D(80), D(15))
    assert (got[3], got[9][0], got[5][0]) == (("A", D(40)), "A", "C")


def test_k8_xyz_coefficient_of_variation():
    """K-8: cv = population standard deviation / mean; ≤ 10 % X, ≤ 25 % Y, else Z."""
    x, y = D(10), D(25)
    assert svc.xyz_class([100, 100, 100], x, y) == ("X", D(0))
    # mean 100, deviations ±10 → σ = 10 → cv 10 % exactly: X
    assert svc.xyz_class([110, 90], x, y) == ("X", D(10))
    # ±11 → 11 %: Y
    assert svc.xyz_class([111, 89], x, y) == ("Y", D(11))
    # ±25 → 25 % exactly: Y; ±26: Z
    assert svc.xyz_class([125, 75], x, y) == ("Y", D(25))
    assert svc.xyz_class([126, 74], x, y) == ("Z", D(26))
    # 300 in one month of three: mean 100, variance (100² + 100² + 200²)/3 = 20000,
    # σ = 141.42 → 141.42 %
    assert svc.xyz_class([0, 0, 300], x, y) == ("Z", D("141.42"))
    assert svc.xyz_class([0, 0, 0], x, y) == ("Z", None)
    # the admin's limits 20/50: 26 % is Y
    assert svc.xyz_class([126, 74], D(20), D(50))[0] == "Y"


def test_k8_rfm_quintiles_and_segments():
    """K-8: score = 1 + ⌊5 × (smaller + equal / 2) / clients⌋ (the mid-rank)."""
    # ten distinct values: k smaller, 1 equal: 1 + ⌊(k + ½) / 2⌋ → 1,1,2,2,3,3,4,4,5,5
    assert list(svc.quintiles({c: c for c in range(1, 11)}).values()) == \
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # ties score alike: the three 1s (0 smaller, 3 equal: 1 + ⌊5 × 1.5 / 5⌋ = 2),
    # 5 (3 smaller: 1 + ⌊5 × 3.5 / 5⌋ = 4), 7 (4 smaller: 1 + ⌊4.5⌋ = 5)
    assert svc.quintiles({1: 1, 2: 1, 3: 1, 4: 5, 5: 7}) == {1: 2, 2: 2, 3: 2, 4: 4, 5: 5}
    # a lone client, or all equal, is in the middle: 1 + ⌊5 × 0.5⌋ = 3
    assert svc.quintiles({1: 42}) == {1: 3}
    assert set(svc.quintiles({1: 1, 2: 1, 3: 1}).values()) == {3}
    assert [svc.segment(*rfm) for rfm in (
        (5, 5, 5), (3, 4, 1), (2, 5, 5), (5, 1, 1), (4, 2, 3), (3, 2, 2), (2, 3, 1),
        (1, 1, 5))] == ["champions", "loyal", "at_risk", "new", "promising",
                        "needs_attention", "about_to_sleep", "hibernating"]


def test_k8_settings_validation():
    """K-8: the admin's settings are checked and named when wrong."""
    s = svc.clean_settings({"basis": "revenue", "months": "6", "a": "70", "b": "20,5",
                            "x": "12.5", "y": "30", "currency": "uah"})
    assert (s.basis, s.months, s.a, s.b, s.c, s.x, s.y, s.currency) == (
        "revenue", 6, D(70), D("20.5"), D("9.5"), D("12.5"), D(30), "UAH")
    for bad, name in (({"basis": "profit"}, "basis"), ({"months": 0}, "months"),
                      ({"months": "x"}, "months"), ({"a": 0}, "a"),
                      ({"a": 90, "b": 20}, "b"), ({"x": 30, "y": 20}, "y"),
                      ({"currency": "рубль"}, "currency"), ({"a": "abc"}, "a")):
        with pytest.raises(ValidationFailed) as err:
            svc.clean_settings(bad)
        assert err.value.field == name


# ---- a run on the database -------------------------------------------------------------------

async def _order(owner, client, lines, *, days_ago, state="posted", currency="RUB"):
    order = await Order.create(number=f"R{await Order.all().count() + 1}", client=client,
                               owner=owner, state=state, currency=currency,
                               posted_at=TEST_NOW - timedelta(days=days_ago, hours=1))
    product = await Product.first() or await Product.create(name="Труба")
    for n, (amount, cost) in enumerate(lines):
        await OrderLine.create(order=order, position=n, product=product, name=product.name,
                               quantity=D(1), list_price=D(amount), price=D(amount),
                               amount=D(amount), cost=None if cost is None else D(cost))
    return order


@pytest.fixture
async def shop(database_url):
    """Sales (head Hanna; manager Ivan: Alpha, Beta) and Retail (manager Petr: Gamma,
    Delta, Epsilon); three months' period.

    Alpha: 1000 (cost 600) in each of the three months → revenue 3000, margin 1200.
    Beta: 2000 (cost 1900) two days ago → 2000 and 100.
    Gamma: 10 USD (cost 5 USD) 40 days ago at 90 ₽ → 900 and 450.
    Delta: 300 (cost 200) 10 and 20 days ago → 600 and 200; a cancelled order of
      100 000, a draft and one of 200 days ago are not counted.
    Epsilon: nothing → not ranked."""
    sales = await Department.create(name="Sales")
    retail = await Department.create(name="Retail")
    admin = await User.create(full_name="Admin", telegram_id=801, role=Role.ADMIN,
                              timezone="UTC")
    head = await User.create(full_name="Hanna", telegram_id=802, role=Role.HEAD,
                             department=sales)
    ivan = await User.create(full_name="Ivan", telegram_id=803, department=sales,
                             timezone="Europe/Moscow", language="ru")
    petr = await User.create(full_name="Petr", telegram_id=804, department=retail)
    names = {}
    for who, name in ((ivan, "Alpha"), (ivan, "Beta"), (petr, "Gamma"), (petr, "Delta"),
                      (petr, "Epsilon")):
        names[name] = (await client_svc.do_create_client(who, {"name": name})).client
    alpha, beta, gamma, delta = (names[n] for n in ("Alpha", "Beta", "Gamma", "Delta"))
    for days in (5, 35, 65):
        await _order(ivan, alpha, [("600", "400"), ("400", "200")], days_ago=days)
    await _order(ivan, beta, [("2000", "1900")], days_ago=2)
    day = (TEST_NOW - timedelta(days=40, hours=1)).date()
    await rates.do_set_rate(admin, "USD", "90", day - timedelta(days=3))
    await _order(petr, gamma, [("10", "5")], days_ago=40, currency="USD")
    await _order(petr, delta, [("300", "200")], days_ago=10)
    await _order(petr, delta, [("300", "200")], days_ago=20)
    await _order(petr, delta, [("100000", "1")], days_ago=3, state="cancelled")
    await _order(petr, delta, [("100000", "1")], days_ago=3, state="draft")
    await _order(petr, delta, [("100000", "1")], days_ago=200)
    await svc.do_set_settings(admin, {"months": 3})
    return {"admin": admin, "head": head, "ivan": ivan, "petr": petr, **names}


def _classes(ranks):
    return {r.client_id: r.abc for r in ranks}


async def test_k8_margin_against_revenue_xyz_and_rfm(shop):
    """K-8: by margin 1200 + 450 + 200 + 100 = 1950: Alpha 61.54 % A, Gamma 84.62 % B,
    Delta 94.87 % B, Beta 100 % C. By revenue 3000 + 2000 + 900 + 600 = 6500: Alpha
    46.15 % A, Beta 76.92 % A, Gamma 90.77 % B, Delta 100 % C."""
    a, b, g, d = (shop[n].id for n in ("Alpha", "Beta", "Gamma", "Delta"))
    ranks, missing = await svc.compute_now()
    assert missing == []
    by = {r.client_id: r for r in ranks}
    assert set(by) == {a, b, g, d}  # Epsilon bought nothing
    assert _classes(ranks) == {a: "A", g: "B", d: "B", b: "C"}
    assert [by[c].share for c in (a, g, d, b)] == [D("61.54"), D("84.62"), D("94.87"),
                                                   D(100)]
    assert (by[g].revenue, by[g].margin) == (D(900), D(450))  # 10 and 5 USD at 90
    # XYZ over three months: Alpha 1000 each: 0 % X; Beta [2000, 0, 0]: 141.42 % Z;
    # Gamma [0, 900, 0] Z; Delta [600, 0, 0] Z
    assert {c: (by[c].xyz, by[c].cv) for c in (a, b)} == {a: ("X", D(0)),
                                                          b: ("Z", D("141.42"))}
    assert by[g].xyz == by[d].xyz == "Z"
    # score = 1 + ⌊5 × (2 × worse + equal) / 8⌋ among the four:
    # R by the last order: Gamma 40 days (0 worse: ⌊5/8⌋ → 1), Delta 10 (1: ⌊15/8⌋ → 2),
    # Alpha 5 (2: ⌊25/8⌋ → 4), Beta 2 (3: ⌊35/8⌋ → 5)
    # F: Beta 1, Gamma 1 (0 worse, 2 equal: ⌊10/8⌋ → 2), Delta 2 (2: → 4), Alpha 3 (→ 5)
    # M by revenue: Delta 600 → 1, Gamma 900 → 2, Beta 2000 → 4, Alpha 3000 → 5
    assert {c: (by[c].recency, by[c].frequency, by[c].monetary, by[c].segment)
            for c in (a, b, g, d)} == {
        a: (4, 5, 5, "champions"), b: (5, 2, 4, "promising"), g: (1, 2, 2, "hibernating"),
        d: (2, 4, 1, "at_risk")}
    await svc.do_set_settings(shop["admin"], {"basis": "revenue"})
    ranks, _ = await svc.compute_now()
    assert _classes(ranks) == {a: "A", b: "A", g: "B", d: "C"}
    assert {r.client_id: r.share for r in ranks}[b] == D("76.92")


async def test_k8_missing_rate_is_named(shop):
    """K-8: an order in a currency without a rate that day is left out and named."""
    await Setting.filter(key="ranking").delete()
    from models import CurrencyRate

    await CurrencyRate.all().delete()
    await svc.do_set_settings(shop["admin"], {"months": 3})
    ranks, missing = await svc.compute_now()
    day = (TEST_NOW - timedelta(days=40, hours=1)).date()
    assert missing == [f"USD {day.strftime('%d.%m.%Y')}"]
    assert {r.client_id: r.revenue for r in ranks}[shop["Gamma"].id] == D(0)


async def test_k8_regrouping_history_and_drop_task_once(shop):
    """K-8: a run puts each client into its class's group of the classifier "ABC"
    (made in the runner's language), writes a history line per change, and a drop
    out of A is one task for the client's manager — not again at the next run; a new
    drop later is a new task."""
    admin, ivan = shop["admin"], shop["ivan"]
    a, b, g, d = (shop[n].id for n in ("Alpha", "Beta", "Gamma", "Delta"))
    report = await runner.run(admin, source="web")
    assert (report.ranked, report.classes, report.moved) == (4, {"A": 1, "B": 2, "C": 1}, 4)
    nodes = await runner.abc_nodes("en")
    names = {n.id: n.name for n in await ClassifierNode.filter(id__in=list(nodes.values()))}
    assert names[nodes["root"]] == "ABC-классы"  # the admin's language: Russian
    assert [names[nodes[c]] for c in "ABC"] == ["Класс A", "Класс B", "Класс C"]

    async def members():
        rows = await ClientClassification.filter(node_id__in=[nodes[c] for c in "ABC"]
                                                 ).values_list("client_id", "node_id")
        inverse = {nodes[c]: c for c in "ABC"}
        return {c: inverse[n] for c, n in rows}

    assert await members() == {a: "A", g: "B", d: "B", b: "C"}
    history = await AuditLog.filter(field="abc").order_by("id").values_list(
        "client_id", "old_value", "new_value", "user_id", "source")
    assert sorted(history) == sorted([(a, None, "A", admin.id, "web"),
                                      (b, None, "C", admin.id, "web"),
                                      (g, None, "B", admin.id, "web"),
                                      (d, None, "B", admin.id, "web")])
    # by revenue Beta rises to A and Delta falls to C (the nightly job: no actor)
    await svc.do_set_settings(admin, {"basis": "revenue"})
    report = await runner.nightly()
    assert (report.moved, report.dropped) == (2, [])
    assert await members() == {a: "A", b: "A", g: "B", d: "C"}
    last = await AuditLog.filter(field="abc", client_id=b).order_by("-id").first()
    assert (last.old_value, last.new_value, last.user_id, last.source) == (
        "C", "A", None, "system")
    # back to margin: Beta drops out of A → a task for Ivan, its manager
    await svc.do_set_settings(admin, {"basis": "margin"})
    report = await runner.nightly()
    assert report.dropped == [b] and len(report.tasks) == 1
    task = await Activity.get(id=report.tasks[0])
    assert (task.client_id, task.author_id, task.priority) == (b, ivan.id, "high")
    assert "«Beta»" in task.title and task.title.endswith("C)")  # in Ivan's language
    assert await task.assignments.all().values_list("user_id", flat=True) == [ivan.id]
    # the next run: Beta is still C — no second task
    report = await runner.nightly()
    assert (report.moved, report.dropped, report.tasks) == (0, [], [])
    assert await Activity.filter(client_id=b).count() == 1
    # up to A and out again: a new drop, a new task
    await svc.do_set_settings(admin, {"basis": "revenue"})
    await runner.nightly()
    await svc.do_set_settings(admin, {"basis": "margin"})
    report = await runner.nightly()
    assert len(report.tasks) == 1
    assert await Activity.filter(client_id=b).count() == 2


async def test_k8_regroup_recreates_deleted_groups_and_clears_strays(shop):
    """K-8: a deleted group is made again; a client put into a class group by hand
    (or no longer ranked) is taken out at the next run."""
    admin = shop["admin"]
    await runner.run(admin)
    nodes = await runner.abc_nodes("ru")
    await ClientClassification.create(node_id=nodes["A"], client_id=shop["Epsilon"].id)
    await ClassifierNode.filter(id=nodes["C"]).delete()
    await runner.run(admin)
    again = await runner.abc_nodes("ru")
    assert again["A"] == nodes["A"] and again["C"] != nodes["C"]
    assert not await ClientClassification.exists(node_id=nodes["A"],
                                                  client_id=shop["Epsilon"].id)
    assert await ClientClassification.exists(node_id=again["C"], client_id=shop["Beta"].id)


async def test_k8_permissions(shop):
    """K-8: admins set and run; heads run and see their departments' clients;
    managers see only their own clients and may not run or set."""
    admin, head, ivan, petr = (shop[n] for n in ("admin", "head", "ivan", "petr"))
    with pytest.raises(PermissionDenied):
        await svc.do_set_settings(head, {"months": 6})
    with pytest.raises(PermissionDenied):
        await runner.run(ivan)
    await runner.run(head)
    assert await ClientRank.all().count() == 4
    a, b, g, d = (shop[n].id for n in ("Alpha", "Beta", "Gamma", "Delta"))
    everyone = await res.summary(admin)
    assert everyone.total == 4 and everyone.matrix["A"] == {"X": 1, "Y": 0, "Z": 0}
    assert everyone.matrix["B"]["Z"] == 2
    sales = await res.summary(head)  # Alpha and Beta, Ivan's
    assert sales.total == 2 and sales.segments["champions"] == 1 \
        and sales.segments["promising"] == 1
    rows, total = await res.results(ivan)
    assert total == 2 and [r.client_id for r in rows] == [a, b]  # by share: 61.54, 100
    rows, total = await res.results(petr, abc="B")
    assert [r.client_id for r in rows] == [g, d]
    rows, total = await res.results(petr, segment="hibernating")
    assert [r.client_id for r in rows] == [g]
    assert await res.client_rank(ivan, g) is None
    assert (await res.client_rank(petr, g)).abc == "B"
    assert await res.own_counts(ivan) == {"A": 1, "B": 0, "C": 1}
    with pytest.raises(ValidationFailed):
        await res.results(admin, abc="D")
    rows, total = await res.results(admin, limit=1, offset=1)
    assert (total, [r.client_id for r in rows]) == (4, [g])


def test_k8_months_back():
    """K-8: months are counted back from the run, the day kept or the month's last."""
    from datetime import UTC, datetime

    assert svc.months_back(datetime(2026, 3, 31, 5, tzinfo=UTC), 1) == \
        datetime(2026, 2, 28, 5, tzinfo=UTC)
    assert svc.months_back(datetime(2026, 1, 10, tzinfo=UTC), 13) == \
        datetime(2024, 12, 10, tzinfo=UTC)
    assert svc.months_back(TEST_NOW, 0) == TEST_NOW


def test_k8_nightly_job_is_registered():
    """K-8: the ranking runs every night (02:15 UTC) through the job runner."""
    from notifications.scheduler import add_ranking_job, build_scheduler

    scheduler, jobs = build_scheduler()
    add_ranking_job(scheduler, jobs, lang="uk")
    job = scheduler.get_job("client-ranking")
    assert job is not None and str(job.trigger) == "cron[hour='2', minute='15']"
