"""K-9 motivation: bonus and penalty schemes with steps on a plan's metric (the scale
at each boundary, percent and fixed sums), the monthly statement per person traced to
its deals, orders, payments and activities, approval that freezes it, who sees and
approves whose, bad rows named."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import (
    BonusScheme,
    BonusStatement,
    Deal,
    EntryKind,
    LedgerEntry,
    ProcessType,
    Stage,
    StageKind,
)
from services import analytics, sales_plans
from services import clients as client_svc
from services import motivation as svc
from services import motivation_statements as st_svc
from services.deal_processes import ensure_processes
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW
from tests.test_analytics import make as make_activity
from tests.test_sales_plans import MONTH, _order, _world

D = Decimal
SCALE = [{"lower": "0", "upper": "30", "value": "2"},
         {"lower": "30", "upper": "100", "value": "3"},
         {"lower": "100", "upper": "", "value": "5"}]


def _scheme(name="Бонус с продаж", metric="revenue", kind="bonus", base="percent",
            steps=None, **kw) -> svc.SchemeIn:
    return svc.SchemeIn(name=name, metric=metric, kind=kind, base=base, currency="RUB",
                        steps=steps if steps is not None else SCALE,
                        active_from=MONTH.strftime("%Y-%m"), **kw)


def test_k9_bonus_scale_at_each_boundary():
    """K-9: +2% up to 30% over plan (exactly 30 included), +3% above 30 up to 100
    (30.01 and exactly 100), +5% above 100 (100.01); meeting the plan exactly is the
    first row; below plan nothing."""
    steps = svc.check_steps("bonus", "percent", SCALE)
    plan = D("10000")
    cases = [("9999", None, "0"), ("10000", 1, "200.00"), ("13000", 1, "260.00"),
             ("13001", 2, "390.03"), ("20000", 2, "600.00"), ("20001", 3, "1000.05")]
    for fact, row, amount in cases:
        achieved = svc.achievement(D(fact), plan)
        index = svc.pick_step("bonus", steps, achieved)
        assert (None if index is None else index + 1) == row, (fact, achieved)
        got = D("0.00") if index is None else svc.amount_of("bonus", "percent", steps[index],
                                                            D(fact))
        assert got == D(amount), fact
    assert svc.achievement(D("13001"), plan) == D("130.01")
    # fixed sums: the row's sum once, whatever the fact
    fixed = svc.check_steps("bonus", "fixed", [{"lower": 0, "upper": 30, "value": "1000"},
                                               {"lower": 30, "upper": None, "value": "2500"}])
    assert svc.amount_of("bonus", "fixed", fixed[0], D("13000")) == D("1000.00")
    assert svc.pick_step("bonus", fixed, svc.achievement(D("13001"), plan)) == 1


def test_k9_penalty_scale_at_each_boundary():
    """K-9: penalties on the percent short of plan: exactly 30 short is the first row,
    30.01 short the second, 100 short (nothing done) still the second, beyond it (a
    negative margin) the open last row; the plan met is never charged."""
    steps = svc.check_steps("penalty", "fixed", [
        {"lower": "0", "upper": "30", "value": "1000"},
        {"lower": "30", "upper": "100", "value": "3000"},
        {"lower": "100", "upper": "", "value": "5000"}])
    plan = D("10000")
    for fact, row, amount in [("10000", None, "0"), ("12000", None, "0"),
                              ("9999", 1, "-1000.00"), ("7000", 1, "-1000.00"),
                              ("6999", 2, "-3000.00"), ("0", 2, "-3000.00"),
                              ("-1", 3, "-5000.00")]:
        index = svc.pick_step("penalty", steps, svc.achievement(D(fact), plan))
        assert (None if index is None else index + 1) == row, fact
        got = D("0") if index is None else svc.amount_of("penalty", "fixed", steps[index],
                                                         D(fact))
        assert got == D(amount), fact
    percent = svc.check_steps("penalty", "percent", [{"lower": 0, "upper": None,
                                                      "value": "1.5"}])
    assert svc.amount_of("penalty", "percent", percent[0], D("7000")) == D("-105.00")


def test_k9_bad_rows_are_named_all_at_once():
    """K-9: a gap, an overlap, a word for a number, an open row that is not the last,
    bounds upside down, a percent over 100: each named by its row."""
    with pytest.raises(sales_plans.CellErrors) as err:
        svc.check_steps("bonus", "percent", [
            {"lower": "0", "upper": "30", "value": "2"},
            {"lower": "31", "upper": "100", "value": "3"},       # a gap 30..31
            {"lower": "90", "upper": "", "value": "5"},           # overlaps, open, not last
            {"lower": "сто", "upper": "200", "value": "1"},
            {"lower": "300", "upper": "250", "value": "1"},
            {"lower": "400", "upper": "", "value": "150"}])
    text = err.value.text()
    assert [w for w, _e in err.value.errors] == ["2", "3", "4", "5", "6"]
    assert "row 2: leaves a gap from 30 to 31 after row 1" in text
    assert "row 3: only the last row may have no upper bound" in text
    assert "row 4: «сто» is not a number" in text
    assert "row 5: the upper bound must be above the lower one" in text
    assert "row 6: the percent must be from 0 to 100" in text
    with pytest.raises(sales_plans.CellErrors) as err:
        svc.check_steps("bonus", "fixed", [{"lower": "0", "upper": "50", "value": "1"},
                                           {"lower": "40", "upper": "", "value": "2"}])
    assert "row 2: starts at 40, inside row 1 (up to 50)" in err.value.text()
    with pytest.raises(sales_plans.CellErrors) as err:  # a penalty starts at 0 or above
        svc.check_steps("penalty", "fixed", [{"lower": "-10", "upper": "", "value": "1"}])
    assert "row 1: the bounds must be from 0" in err.value.text()
    with pytest.raises(ValidationFailed):
        svc.check_steps("bonus", "fixed", [])


async def _setup(make_staff):
    (sales, other), (admin, head, ivan, olga), client, cats, (pipe, valve) = \
        await _world(make_staff)
    mine = (await client_svc.do_create_client(ivan, {"name": "Клиент Ивана"})).client
    return (sales, other), (admin, head, ivan, olga), client, mine, (pipe, valve)


async def test_k9_statement_lines_traced_to_their_records(database_url, make_staff):
    """K-9: a statement has a line per scheme with a plan; each line's fact is traced
    to the orders, deals, payments and activities it comes from; a scheme without a
    plan makes no line but is named."""
    (sales, other), (admin, head, ivan, olga), client, mine, (pipe, valve) = \
        await _setup(make_staff)
    o1 = await _order(ivan, client, "posted", [(pipe, 10, "10000", "6000")])
    o2 = await _order(ivan, mine, "shipped", [(valve, 1, "3001", "1")])
    await _order(ivan, client, "cancelled", [(pipe, 1, "99999", "1")])
    await _order(olga, client, "posted", [(pipe, 1, "5000", "1")])
    await ensure_processes()
    process = await ProcessType.first()
    won = await Stage.get(process=process, kind=StageKind.WON)
    deal = await Deal.create(title="Поставка труб", client=client, process=process,
                             stage=won, owner=ivan, closed_at=TEST_NOW)
    pay = await LedgerEntry.create(client=mine, currency="RUB", kind=EntryKind.PAYMENT,
                                   dated=TEST_NOW.date(), amount=D("4000"), number="П-1")
    await LedgerEntry.create(client=mine, currency="RUB", kind=EntryKind.PAYMENT,
                             dated=TEST_NOW.date(), amount=D("999"), void=True)
    await LedgerEntry.create(client=client, currency="RUB", kind=EntryKind.PAYMENT,
                             dated=TEST_NOW.date(), amount=D("777"))  # the admin's client
    call = await make_activity(ivan, "call", done_at=TEST_NOW - timedelta(hours=2))
    await make_activity(ivan, "meeting", done_at=TEST_NOW - timedelta(hours=2))
    await sales_plans.do_set_plans(head, MONTH, [
        sales_plans.Cell(ivan.id, "revenue", "10000"),
        sales_plans.Cell(ivan.id, "deals_won", "1"),
        sales_plans.Cell(ivan.id, "documents", "2"),
        sales_plans.Cell(ivan.id, "payments", "5000")])
    await analytics.do_set_plan(head, ivan.id, "month", MONTH, "call", 1)
    await svc.do_save_scheme(admin, _scheme())  # 13001 / 10000: 30.01% over → 3%
    await svc.do_save_scheme(admin, _scheme("За сделки", "deals_won", base="fixed", steps=[
        {"lower": "0", "upper": "", "value": "500"}]))
    await svc.do_save_scheme(admin, _scheme("Документы", "documents", base="fixed", steps=[
        {"lower": "0", "upper": "", "value": "100"}]))
    await svc.do_save_scheme(admin, _scheme("Недосбор оплат", "payments", kind="penalty",
                                            base="fixed", steps=[
        {"lower": "0", "upper": "20", "value": "300"},
        {"lower": "20", "upper": "", "value": "700"}]))  # 4000 / 5000: exactly 20 short
    await svc.do_save_scheme(admin, _scheme("Звонки", "activities", base="fixed", steps=[
        {"lower": "0", "upper": "", "value": "50"}]))
    await svc.do_save_scheme(admin, _scheme("Маржа", "margin"))  # no margin plan
    got = await st_svc.statement(head, ivan.id, MONTH)
    lines = {x.scheme_name: x for x in got.lines}
    revenue = lines["Бонус с продаж"]
    assert (revenue.plan, revenue.fact, revenue.achievement, revenue.step, revenue.amount) \
        == (D("10000"), D("13001.00"), D("130.01"), 2, D("390.03"))
    assert (lines["За сделки"].fact, lines["За сделки"].amount) == (D(1), D("500.00"))
    assert (lines["Документы"].fact, lines["Документы"].amount) == (D(2), D("100.00"))
    payments = lines["Недосбор оплат"]
    assert (payments.fact, payments.achievement, payments.step, payments.amount) == (
        D("4000.00"), D("80.00"), 1, D("-300.00"))
    assert (lines["Звонки"].fact, lines["Звонки"].amount) == (D(1), D("50.00"))
    assert got.unplanned == ["Маржа"]
    assert got.totals == {"RUB": D("390.03") + 500 + 100 - 300 + 50}

    async def traced(name):
        n, items = await st_svc.line_sources(head, ivan.id, MONTH, lines[name].position)
        assert n == len(items)
        return {(i.kind, i.id, i.amount) for i in items}

    assert await traced("Бонус с продаж") == {("order", o1.id, D("10000")),
                                              ("order", o2.id, D("3001"))}
    assert await traced("За сделки") == {("deal", deal.id, D(1))}
    assert await traced("Документы") == {("order", o1.id, D(1)), ("order", o2.id, D(1))}
    assert await traced("Недосбор оплат") == {("payment", pay.id, D("4000"))}
    assert await traced("Звонки") == {("activity", call.id, D(1))}
    n, page = await st_svc.line_sources(head, ivan.id, MONTH, revenue.position, limit=1)
    assert n == 2 and len(page) == 1
    with pytest.raises(NotFound):
        await st_svc.line_sources(head, ivan.id, MONTH, 99)


async def test_k9_approval_freezes_and_reopening_recomputes(database_url, make_staff):
    """K-9: the head approves; a later order changes nothing of the approved
    statement; the person cannot approve their own, a head not their own either;
    reopening makes it a draft that counts the new order."""
    (sales, other), (admin, head, ivan, olga), client, mine, (pipe, valve) = \
        await _setup(make_staff)
    order = await _order(ivan, client, "posted", [(pipe, 1, "13000", None)])
    await sales_plans.do_set_plans(head, MONTH, [sales_plans.Cell(ivan.id, "revenue", "10000"),
                                                 sales_plans.Cell(head.id, "revenue", "1")])
    await svc.do_save_scheme(admin, _scheme())
    with pytest.raises(PermissionDenied):
        await st_svc.do_approve(ivan, ivan.id, MONTH)
    with pytest.raises(PermissionDenied):
        await st_svc.do_approve(head, head.id, MONTH)
    approved = await st_svc.do_approve(head, ivan.id, MONTH)
    assert approved.state == "approved" and approved.approved_by == head.full_name
    assert approved.lines[0].amount == D("260.00")  # exactly 30% over: 2%
    with pytest.raises(ValidationFailed):
        await st_svc.do_approve(admin, ivan.id, MONTH)
    await _order(ivan, client, "posted", [(pipe, 1, "7000", None)])
    frozen = await st_svc.statement(ivan, ivan.id, MONTH)
    assert (frozen.state, frozen.lines[0].fact, frozen.totals) == (
        "approved", D("13000.00"), {"RUB": D("260.00")})
    n, items = await st_svc.line_sources(ivan, ivan.id, MONTH, 0)
    assert [(i.kind, i.id) for i in items] == [("order", order.id)]
    row = await BonusStatement.get(user_id=ivan.id, month=MONTH)
    assert row.totals == {"RUB": "260.00"}
    with pytest.raises(PermissionDenied):
        await st_svc.do_reopen(ivan, ivan.id, MONTH)
    again = await st_svc.do_reopen(head, ivan.id, MONTH)
    assert again.state == "draft" and again.lines[0].fact == D("20000.00")
    assert again.lines[0].amount == D("600.00")  # exactly 100% over: still 3%
    with pytest.raises(ValidationFailed):
        await st_svc.do_reopen(head, ivan.id, MONTH)


async def test_k9_a_manager_sees_only_own_figures(database_url, make_staff):
    """K-9: a manager's month has only their own statement, another's is "not found";
    a head sees their departments' people; schemes are made by admins and heads (a
    head only for their departments)."""
    (sales, other), (admin, head, ivan, olga), client, mine, (pipe, valve) = \
        await _setup(make_staff)
    await sales_plans.do_set_plans(admin, MONTH, [
        sales_plans.Cell(ivan.id, "revenue", "100"), sales_plans.Cell(olga.id, "revenue", "100")])
    await _order(olga, client, "posted", [(pipe, 1, "150", None)])
    await svc.do_save_scheme(admin, _scheme())
    assert [s.user_id for s in await st_svc.compute_month(ivan, MONTH)] == [ivan.id]
    # the head and Ivan (a scheme for everyone; the head has no plan: no line)
    seen = {s.user_id: s for s in await st_svc.compute_month(head, MONTH)}
    assert set(seen) == {head.id, ivan.id} and seen[head.id].lines == []
    assert seen[head.id].unplanned == ["Бонус с продаж"]
    everyone = {s.user_id: s for s in await st_svc.compute_month(admin, MONTH)}
    assert everyone[olga.id].totals == {"RUB": D("4.50")}  # 50% over: 3% of 150
    assert [s.user_id for s in await st_svc.compute_month(
        admin, MONTH, department_id=other.id)] == [olga.id]
    with pytest.raises(NotFound):
        await st_svc.statement(ivan, olga.id, MONTH)
    with pytest.raises(NotFound):
        await st_svc.statement(head, olga.id, MONTH)
    with pytest.raises(NotFound):  # out of the head's reach: not even seen
        await st_svc.do_approve(head, olga.id, MONTH)
    with pytest.raises(PermissionDenied):
        await svc.do_save_scheme(ivan, _scheme())
    with pytest.raises(PermissionDenied):  # "everyone" is an admin's
        await svc.do_save_scheme(head, _scheme())
    with pytest.raises(PermissionDenied):
        await svc.do_save_scheme(head, _scheme(reach="department", department_id=other.id))
    ours = await svc.do_save_scheme(head, _scheme("Отдел", reach="department",
                                                  department_id=sales.id))
    assert ours.department_id == sales.id
    with pytest.raises(PermissionDenied):
        await svc.do_archive_scheme(head, (await BonusScheme.get(name="Бонус с продаж")).id)
    # a manager lists the schemes that apply to them only
    await svc.do_save_scheme(admin, _scheme("Ольге", reach="people", people=[olga.id]))
    assert {s.name for s in await svc.list_schemes(ivan)} == {"Бонус с продаж", "Отдел"}
    assert len(await svc.list_schemes(head)) == 3
    # an archived scheme pays nothing
    await svc.do_archive_scheme(admin, ours.id)
    assert [x.scheme_name for x in (await st_svc.statement(ivan, ivan.id, MONTH)).lines] == [
        "Бонус с продаж"]
    # a percent of a count is refused, and so is a month the wrong way round
    with pytest.raises(ValidationFailed) as err:
        await svc.do_save_scheme(admin, _scheme(metric="deals_won"))
    assert err.value.field == "scheme_base"
    with pytest.raises(ValidationFailed) as err:
        await svc.do_save_scheme(admin, _scheme(active_to="2000-01"))
    assert err.value.field == "active_to"


async def test_k9_schemes_only_in_their_months(database_url, make_staff):
    (sales, other), (admin, head, ivan, olga), client, mine, (pipe, valve) = \
        await _setup(make_staff)
    await sales_plans.do_set_plans(admin, MONTH, [sales_plans.Cell(ivan.id, "revenue", "100")])
    later = (MONTH + timedelta(days=40)).replace(day=1)
    data = _scheme()
    data.active_from = later.isoformat()
    await svc.do_save_scheme(admin, data)
    assert await st_svc.compute_month(admin, MONTH) == []
    assert isinstance(MONTH, date)
