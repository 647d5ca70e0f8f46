"""S-27 (issue 15): per manager and period the funnel of their deals (the deals that
entered each stage) with every count opening its deals, and revenue and margin per
person as a chart image on the reports page and in the bot's /stats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Deal, DealEvent, ProcessType, Stage, StageKind
from services import manager_charts, manager_funnel, manager_report
from services.deal_processes import ensure_processes
from services.errors import ValidationFailed
from tests.conftest import TEST_NOW, say, settled
from tests.test_manager_report import END, START
from tests.test_sales_plans import _order, _world
from tests.test_web import signed_in


async def _moves(owner, client, stages, *, at=TEST_NOW - timedelta(days=1), archived=False,
                 title="Сделка"):
    """A deal of ``owner`` that went through ``stages`` (one entry each, an hour apart)."""
    deal = await Deal.create(title=title, client=client, process_id=stages[0].process_id,
                             stage=stages[-1], owner=owner,
                             archived_at=TEST_NOW if archived else None)
    prev = None
    for seq, stage in enumerate(stages, start=1):
        await DealEvent.create(deal=deal, seq=seq, from_stage=prev, to_stage=stage,
                               at=at + timedelta(hours=seq), process_id=stage.process_id,
                               owner_id=owner.id, department_id=owner.department_id)
        prev = stage
    return deal


async def _stages():
    await ensure_processes()
    process = await ProcessType.first()
    stages = await Stage.filter(process=process).order_by("position", "id")
    opens = [s for s in stages if s.kind == StageKind.OPEN]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    return opens, won, lost


async def test_s27_funnel_by_hand_and_reach(database_url, make_staff):
    (_sales, _other), (admin, head, ivan, olga), client, _cats, _products = \
        await _world(make_staff)
    opens, won, lost = await _stages()
    first, second = opens[0], opens[1]
    # Ivan in the period: A first→second→won, B first→second→first→second (each stage
    # once), C first→lost; before the period D first; archived E first
    a = await _moves(ivan, client, [first, second, won], title="A")
    b = await _moves(ivan, client, [first, second, first, second], title="B")
    c = await _moves(ivan, client, [first, lost], title="C")
    await _moves(ivan, client, [first], at=START - timedelta(days=2), title="D")
    await _moves(ivan, client, [first], archived=True, title="E")
    await _moves(olga, client, [first], title="F")
    f = await manager_funnel.manager_funnel(admin, START, END)
    assert f.count(ivan.id, first.id) == 3 and f.count(ivan.id, second.id) == 2
    assert (f.count(ivan.id, won.id), f.count(ivan.id, lost.id)) == (1, 1)
    assert f.count(olga.id, first.id) == 1 and f.stage_total(first.id) == 4
    order = [s.id for s in f.stages]  # open stages in order, then won, then lost
    assert order == [first.id, second.id, won.id, lost.id]
    # the reach: a head their department, a manager themselves
    assert [uid for uid, _n in (await manager_funnel.manager_funnel(head, START, END)).people] \
        == [ivan.id]
    assert [uid for uid, _n in (await manager_funnel.manager_funnel(olga, START, END)).people] \
        == [olga.id]
    # the deals behind a count
    rows, total = await manager_report.records(admin, "stage", ivan.id, START, END,
                                               stage_id=first.id)
    assert total == 3 and {r.id for r in rows} == {a.id, b.id, c.id}
    assert all(r.kind == "deal" for r in rows)
    assert await manager_report.records(olga, "stage", ivan.id, START, END,
                                        stage_id=first.id) == ([], 0)
    assert await manager_report.records(head, "stage", olga.id, START, END,
                                        stage_id=first.id) == ([], 0)
    with pytest.raises(ValidationFailed):  # a stage count needs its stage
        await manager_report.records(admin, "stage", ivan.id, START, END)
    with pytest.raises(ValidationFailed):
        await manager_report.records(admin, "won", ivan.id, START, END, stage_id=first.id)


async def test_s27_revenue_and_margin_chart(database_url, make_staff):
    (_sales, _other), (admin, _head, ivan, olga), client, _cats, (pipe, valve) = \
        await _world(make_staff)
    await _order(ivan, client, "posted", [(pipe, 1, "1000", "600"), (valve, 1, "500", "300")])
    await _order(olga, client, "posted", [(pipe, 1, "300", "100")])
    await _order(olga, client, "posted", [(pipe, 1, "99", "1")], currency="UAH")
    rows = await manager_report.manager_report(admin, START, END)
    assert manager_charts.chart_currency(rows) == "RUB"
    assert manager_charts.chart_points(rows, "RUB") == [
        (ivan.full_name, 1500.0, 600.0), (olga.full_name, 300.0, 200.0)]
    assert manager_charts.chart_points(rows, "UAH") == [(olga.full_name, 99.0, 98.0)]
    mine = await manager_report.manager_report(olga, START, END)
    assert [p[0] for p in manager_charts.chart_points(mine, "RUB")] == [olga.full_name]
    png = manager_charts.sales_chart_png(manager_charts.chart_points(rows, "RUB"), "Выручка",
                                         revenue_label="Выручка", margin_label="Маржа")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    empty = manager_charts.sales_chart_png([], "Пусто", revenue_label="В", margin_label="М")
    assert empty[:4] == b"\x89PNG"


async def test_s27_reports_page_api_and_bot(service, emulator, make_staff):
    (_sales, _other), (admin, head, ivan, olga), client, _cats, (pipe, _valve) = \
        await _world(make_staff)
    await _order(ivan, client, "posted", [(pipe, 1, "1000", "600")])
    opens, won, _lost = await _stages()
    deal = await _moves(ivan, client, [opens[0], won], title="Поставка труб")
    hidden = await _moves(olga, client, [opens[0]], title="Чужая сделка")
    http = service.client
    await signed_in(service, emulator, head)
    day = TEST_NOW.date()
    period = f"from={(day - timedelta(days=7)).isoformat()}&to={day.isoformat()}"
    page = await (await http.get(f"/app/reports?{period}")).text()
    assert 'data-testid="sales-chart"' in page and "/api/v1/reports/sales.png?start=" in page
    assert 'data-testid="drill-margin"' in page
    link = f"/app/reports/records?kind=stage&amp;stage={won.id}&amp;user={ivan.id}"
    assert link in page and olga.full_name not in page
    listed = await (await http.get(
        f"/app/reports/records?kind=stage&stage={won.id}&user={ivan.id}&{period}")).text()
    assert f"/app/deals/{deal.id}" in listed and "Поставка труб" in listed
    assert 'data-testid="records-total">1<' in listed
    listed = await (await http.get(
        f"/app/reports/records?kind=stage&stage={opens[0].id}&user={olga.id}&{period}")).text()
    assert f"/app/deals/{hidden.id}" not in listed  # not the head's to see
    bad = await http.get(f"/app/reports/records?kind=stage&user={ivan.id}&{period}")
    assert bad.status == 400
    q = {"start": START.isoformat(), "end": END.isoformat()}
    got = await http.get("/api/v1/reports/sales.png", params=q)
    assert got.status == 200 and got.content_type == "image/png"
    assert (await got.read())[:4] == b"\x89PNG"
    assert (await http.get("/api/v1/reports/sales.png",
                           params={**q, "currency": "rubles"})).status == 422
    funnel = await (await http.get("/api/v1/reports/manager-funnel", params=q)).json()
    assert [r["user_id"] for r in funnel["rows"]] == [ivan.id]
    assert funnel["rows"][0]["entered"] == {str(opens[0].id): 1, str(won.id): 1}
    assert {s["id"] for s in funnel["stages"]} == {opens[0].id, won.id}
    recs = await (await http.get("/api/v1/reports/records", params={
        **q, "kind": "stage", "stage_id": won.id, "user_id": ivan.id})).json()
    assert recs["total"] == 1 and recs["items"][0]["id"] == deal.id
    # the bot: the activities chart, the sales chart, the sales text, the funnel
    await say(emulator, head.telegram_id, "/stats week")
    await settled(service, emulator)
    history = emulator.history(head.telegram_id)
    photos = [m for m in history if m.get("photo")]
    assert len(photos) == 2
    from kontakt.i18n import translator
    from kontakt.labels import stage_name

    last = history[-1]["text"]  # the funnel: the person, each stage with its count
    assert f"{ivan.full_name}: " in last and f"{stage_name(won, translator('ru'))} 1" in last
    assert olga.full_name not in last
