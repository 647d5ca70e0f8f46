"""The manager report (S-27): revenue, margin, the average order, deals won and lost,
the won rate and the average deal per person and period, with the activity counts and
reaction times; every figure worked out by hand; a manager sees only their own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models import Deal, Department, Order, ProcessType, Stage, StageKind
from services import manager_report as svc
from services.deal_processes import ensure_processes
from tests.conftest import TEST_NOW, say
from tests.test_sales_plans import _order, _world

D = Decimal
START, END = TEST_NOW - timedelta(days=7), TEST_NOW + timedelta(days=1)


async def _deal(owner, client, stage, amount, *, currency="RUB", closed=TEST_NOW, **kw):
    return await Deal.create(title="Сделка", client=client, process_id=stage.process_id,
                             stage=stage, owner=owner, amount=None if amount is None else D(amount),
                             currency=currency, closed_at=closed, **kw)


async def test_s27_figures_by_hand_and_reach(database_url, make_staff):
    (sales, other), (admin, head, ivan, olga), client, _cats, (pipe, valve) = \
        await _world(make_staff)
    # Ivan: two orders 1000 (cost 600) + 500 (cost 300) and 2000 (no cost):
    # revenue 3500, margin 2600, average order 1750; a cancelled one and one posted
    # before the period count nothing
    await _order(ivan, client, "posted", [(pipe, 1, "1000", "600"), (valve, 1, "500", "300")])
    await _order(ivan, client, "closed", [(pipe, 1, "2000", None)])
    await _order(ivan, client, "cancelled", [(pipe, 1, "9999", "1")])
    await _order(ivan, client, "posted", [(pipe, 1, "9999", "1")],
                 posted=START - timedelta(hours=1))
    await _order(olga, client, "posted", [(pipe, 1, "300", "100")])
    await ensure_processes()
    process = await ProcessType.first()
    won = await Stage.get(process=process, kind=StageKind.WON)
    lost = await Stage.get(process=process, kind=StageKind.LOST)
    # Ivan's deals: won 100 000 and 50 000 and one without an amount, lost two;
    # won rate 3 / 5 = 60%, average deal 150 000 / 2 = 75 000
    for stage, amount in ((won, "100000"), (won, "50000"), (won, None), (lost, "1"),
                          (lost, None)):
        await _deal(ivan, client, stage, amount)
    await _deal(ivan, client, won, "7", closed=START - timedelta(days=1))  # before
    await _deal(ivan, client, won, "7", archived_at=TEST_NOW)  # archived
    rows = {r.full_name: r for r in await svc.manager_report(admin, START, END)}
    r = rows[ivan.full_name]
    assert (r.orders, r.revenue, r.margin) == (2, {"RUB": D("3500.00")}, {"RUB": D("2600.00")})
    assert r.average_order == {"RUB": D("1750.00")}
    assert (r.won, r.lost, r.won_rate) == (3, 2, 60)
    assert r.average_deal == {"RUB": D("75000.00")}
    assert rows[olga.full_name].won_rate is None and rows[olga.full_name].orders == 1
    total = svc.totals(list(rows.values()))
    assert (total.orders, total.revenue, total.won) == (3, {"RUB": D("3800.00")}, 3)
    # the reach: a head sees their department, a manager only themselves
    assert [x.full_name for x in await svc.manager_report(head, START, END)] == [
        ivan.full_name]
    assert [x.full_name for x in await svc.manager_report(olga, START, END)] == [
        olga.full_name]
    assert await svc.manager_report(admin, START, END,
                                    department_id=(await Department.get(name="Опт")).id)


async def test_s27_reports_page_and_the_records_behind_a_figure(service, emulator, make_staff):
    from tests.test_web import signed_in

    (sales, other), (admin, head, ivan, olga), client, _cats, (pipe, valve) = \
        await _world(make_staff)
    mine = await _order(ivan, client, "posted", [(pipe, 1, "1000", "600")])
    await Order.filter(id=mine.id).update(vat_included=False, total=D("1200"))  # VAT on top
    await _order(olga, client, "posted", [(pipe, 1, "300", "100")])
    await ensure_processes()
    won = await Stage.get(process=await ProcessType.first(), kind=StageKind.WON)
    deal = await _deal(ivan, client, won, "100000")
    http = service.client
    await signed_in(service, emulator, head)
    day = TEST_NOW.date()
    period = f"from={(day - timedelta(days=7)).isoformat()}&to={day.isoformat()}"
    page = await (await http.get(f"/app/reports?{period}")).text()
    assert 'data-testid="manager-row"' in page and "1 000,00 RUB" in page
    assert olga.full_name not in page  # outside the head's department
    assert f"kind=activities&amp;user={ivan.id}" in page  # done activities open too
    listed = await (await http.get(
        f"/app/reports/records?kind=activities&user={ivan.id}&{period}")).text()
    assert "Выполнено дел" in listed and 'data-testid="records-total">0<' in listed
    listed = await (await http.get(
        f"/app/reports/records?kind=orders&user={ivan.id}&{period}")).text()
    assert f"/app/orders/{mine.id}" in listed and 'data-testid="records-total">1<' in listed
    assert "1 000,00 RUB" in listed and "1 200" not in listed  # the lines, as the figure
    listed = await (await http.get(
        f"/app/reports/records?kind=won&user={ivan.id}&{period}")).text()
    assert f"/app/deals/{deal.id}" in listed
    listed = await (await http.get(
        f"/app/reports/records?kind=orders&user={olga.id}&{period}")).text()
    assert 'data-testid="record"' not in listed  # not the head's to see
    bad = await http.get(f"/app/reports/records?kind=bonus&user={ivan.id}&{period}")
    assert bad.status == 400 and "Ссылка неверна" in await bad.text()
    # the bot's /stats: the chart, then what each sold and how their deals ended
    from tests.conftest import settled

    chart = await say(emulator, head.telegram_id, "/stats week")
    assert chart.get("photo")
    await settled(service, emulator)
    text = emulator.history(head.telegram_id)[-1]["text"]
    assert f"{ivan.full_name}: выручка 1\u00a0000,00 RUB, заказов 1, выиграно сделок 1/1 (100%)" \
        in text


async def test_s27_done_activities_open_their_records(database_url, make_staff):
    """S-27: the done-activities figure opens the activities it counts — done in the
    period by that person, newest first — and a manager cannot open a colleague's."""
    from services.activities import do_complete, do_create_activity

    _deps, (admin, head, ivan, olga), client, _cats, _products = await _world(make_staff)
    made = []
    for title in ("Позвонить", "Отправить КП", "Встреча"):
        made.append((await do_create_activity(admin, {
            "type": "call", "title": title, "client_id": client.id, "assignees": [ivan.id],
            "starts_at": TEST_NOW - timedelta(hours=2)})).activity)
    for activity in made[:2]:  # the third stays planned: not counted
        await do_complete(admin, activity.id, "ok")
    counted = {r.full_name: r.activities for r in await svc.manager_report(admin, START, END)}
    rows, total = await svc.records(admin, "activities", ivan.id, START, END)
    assert total == counted[ivan.full_name] == 2
    assert {r.title for r in rows} == {"Позвонить", "Отправить КП"}
    assert all(r.kind == "activity" and r.client_id == client.id for r in rows)
    assert await svc.records(olga, "activities", ivan.id, START, END) == ([], 0)
    assert (await svc.records(head, "activities", ivan.id, START, END))[1] == 2
