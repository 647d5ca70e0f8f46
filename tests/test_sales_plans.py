"""Sales plans per person and month (S-26): revenue, margin, deals won, a product's
quantity and a category's sum against the fact from orders and deals, set in bulk
with every bad cell named, and who may set and see whose."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models import (
    Deal,
    Department,
    Order,
    OrderLine,
    ProcessType,
    Product,
    ProductCategory,
    Role,
    SalesPlan,
    Stage,
    StageKind,
)
from services import clients as client_svc
from services import sales_plans as svc
from services.deal_processes import ensure_processes
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW
from tests.test_browser import browser, demo  # noqa: F401 - fixtures

D = Decimal
MONTH = TEST_NOW.date().replace(day=1)


async def _order(owner, client, state, lines, *, currency="RUB", posted=None):
    order = await Order.create(number=f"N{await Order.all().count() + 1}", client=client,
                               owner=owner, state=state, currency=currency,
                               posted_at=posted or TEST_NOW - timedelta(hours=1))
    for n, (product, qty, amount, cost) in enumerate(lines):
        await OrderLine.create(order=order, position=n, product=product, name=product.name,
                               quantity=D(qty), list_price=D(amount), price=D(amount),
                               amount=D(amount), cost=None if cost is None else D(cost))
    return order


async def _world(make_staff):
    sales = await Department.create(name="Продажи")
    other = await Department.create(name="Опт")
    admin = await make_staff(Role.ADMIN, timezone="UTC")
    head = await make_staff(Role.HEAD, department=sales, timezone="UTC")
    ivan = await make_staff(Role.MANAGER, department=sales, timezone="Europe/Moscow")
    olga = await make_staff(Role.MANAGER, department=other, timezone="UTC")
    client = (await client_svc.do_create_client(admin, {"name": "Ромашка"})).client
    pipes = await ProductCategory.create(name="Трубы")
    steel = await ProductCategory.create(name="Стальные", parent=pipes)
    pipe = await Product.create(name="Труба 20", group=steel)
    valve = await Product.create(name="Кран")
    return (sales, other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve)


async def test_fact_from_orders_and_deals_by_hand(database_url, make_staff):
    """S-26: the fact of each metric worked out by hand."""
    (sales, other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    # Ivan's month: 1000 (cost 600) of pipes ×10 + 500 (cost 300) of a valve ×2, posted;
    # 2000 (no cost) shipped; counted: revenue 3500, margin 3500 − 900 = 2600
    await _order(ivan, client, "posted", [(pipe, 10, "1000", "600"), (valve, 2, "500", "300")])
    await _order(ivan, client, "shipped", [(pipe, 5, "2000", None)])
    # not counted: cancelled, a draft, last month, Olga's, and 700 UAH (another currency)
    await _order(ivan, client, "cancelled", [(pipe, 99, "9999", "1")])
    await _order(ivan, client, "draft", [(pipe, 99, "9999", "1")])
    await _order(ivan, client, "posted", [(pipe, 99, "9999", "1")],
                 # 20:00 UTC on the last day of last month: 23:00 in Moscow, still May
                 posted=datetime.combine(MONTH, datetime.min.time(), TEST_NOW.tzinfo)
                 - timedelta(hours=4))
    await _order(olga, client, "posted", [(pipe, 99, "9999", "1")])
    await _order(ivan, client, "posted", [(pipe, 1, "700", "100")], currency="UAH")
    # deals: one won this month, one won last month, one lost
    await ensure_processes()
    process = await ProcessType.first()
    won = await Stage.get(process=process, kind=StageKind.WON)
    lost = await Stage.get(process=process, kind=StageKind.LOST)
    for stage, closed in ((won, TEST_NOW), (won, TEST_NOW - timedelta(days=40)),
                          (lost, TEST_NOW)):
        await Deal.create(title="Сделка", client=client, process=process, stage=stage,
                          owner=ivan, closed_at=closed)
    cells = [svc.Cell(ivan.id, "revenue", "5 000"), svc.Cell(ivan.id, "margin", "2000"),
             svc.Cell(ivan.id, "revenue", "1000", currency="UAH"),
             svc.Cell(ivan.id, "deals_won", 2),
             svc.Cell(ivan.id, "quantity", 20, category_id=pipes.id),
             svc.Cell(ivan.id, "quantity", 4, product_id=valve.id),
             svc.Cell(ivan.id, "sum", "2500", product_id=pipe.id)]
    assert await svc.do_set_plans(head, MONTH, cells) == 7
    rows = {(r.metric.value, r.subject, r.currency): r
            for r in await svc.plans_vs_fact(admin, MONTH)}
    assert rows[("revenue", "", "RUB")].fact == D("3500.00")
    assert rows[("revenue", "", "RUB")].percent == 70  # 3500 / 5000
    assert rows[("margin", "", "RUB")].fact == D("2600.00")
    assert rows[("margin", "", "RUB")].percent == 130
    assert rows[("revenue", "", "UAH")].fact == D("700.00")
    assert rows[("deals_won", "", None)].fact == 1
    # 10 + 5 + 1 (sold for hryvnias: a quantity has no currency); the subcategory counts
    assert rows[("quantity", "Трубы", None)].fact == 16
    assert rows[("quantity", "Кран", None)].fact == 2
    assert rows[("sum", "Труба 20", "RUB")].fact == D("3000.00")
    # the department's totals cover only the people with such a plan
    await svc.do_set_plans(admin, MONTH, [svc.Cell(olga.id, "revenue", "10000")])
    totals = {(t.metric.value, t.subject, t.currency): t
              for t in svc.totals(await svc.plans_vs_fact(admin, MONTH))}
    assert (totals[("revenue", "", "RUB")].target, totals[("revenue", "", "RUB")].fact) == (
        D("15000"), D("3500") + D("9999"))


async def test_bulk_names_every_bad_cell_and_writes_nothing(database_url, make_staff):
    (sales, other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    cells = [svc.Cell(ivan.id, "revenue", "100", where="A"),
             svc.Cell(ivan.id, "revenue", "сто", where="B"),
             svc.Cell(ivan.id, "quantity", "5", where="C"),
             svc.Cell(ivan.id, "deals_won", "1.5", where="D"),
             svc.Cell(olga.id, "revenue", "100", where="E"),
             svc.Cell(ivan.id, "bonus", "100", where="F"),
             svc.Cell(ivan.id, "revenue", "-1", currency="RUB", where="G"),
             svc.Cell(ivan.id, "sum", "1", product_id=pipe.id, currency="РУБ", where="H")]
    with pytest.raises(svc.CellErrors) as err:
        await svc.do_set_plans(head, MONTH, cells)
    assert [w for w, _e in err.value.errors] == ["B", "C", "D", "E", "F", "G", "H"]
    text = err.value.text()
    assert "B: «сто» is not a number from 0 up" in text
    assert "E: not one of your people" in text
    assert await SalesPlan.all().count() == 0
    # an empty target removes a plan; setting again changes it
    await svc.do_set_plans(head, "2026-06", [svc.Cell(ivan.id, "revenue", "100")])
    await svc.do_set_plans(head, "2026-06", [svc.Cell(ivan.id, "revenue", "250")])
    assert [p.target for p in await SalesPlan.all()] == [D("250.00")]
    await svc.do_set_plans(head, "2026-06", [svc.Cell(ivan.id, "revenue", "")])
    assert await SalesPlan.all().count() == 0
    with pytest.raises(ValidationFailed):
        await svc.do_set_plans(head, "июнь", [])


async def test_who_sets_and_sees_whose_plans(database_url, make_staff):
    (sales, other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    with pytest.raises(PermissionDenied):
        await svc.do_set_plans(ivan, MONTH, [svc.Cell(ivan.id, "revenue", "1")])
    await svc.do_set_plans(admin, MONTH, [svc.Cell(ivan.id, "revenue", "1"),
                                          svc.Cell(olga.id, "revenue", "2")])
    assert {r.full_name for r in await svc.plans_vs_fact(ivan, MONTH)} == {ivan.full_name}
    assert {r.full_name for r in await svc.plans_vs_fact(head, MONTH)} == {ivan.full_name}
    assert len(await svc.plans_vs_fact(admin, MONTH)) == 2
    with pytest.raises(PermissionDenied):
        await svc.plans_vs_fact(head, MONTH, department_id=other.id)


def _xlsx(rows) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_api_grid_and_xlsx_upload_with_bad_cells_named(service, emulator, make_staff):
    from aiohttp import FormData

    from tests.test_web import signed_in

    (sales, other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    await ivan.fetch_related("department")
    http = service.client
    await signed_in(service, emulator, head)
    month = MONTH.strftime("%Y-%m")
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "revenue", "target": "1 000,50", "where": "Иван · Выручка"},
        {"user_id": ivan.id, "metric": "margin", "target": "много", "where": "Иван · Маржа"}]})
    assert resp.status == 422
    assert "Иван · Маржа: «много» — не число" in (await resp.json())["detail"][0]["msg"]
    assert await SalesPlan.all().count() == 0

    async def upload(data: bytes):
        form = FormData()
        form.add_field("file", data, filename="plans.xlsx")
        return await http.post(f"/api/v1/plans/sales/upload?month={month}", data=form)

    bad = _xlsx([["Сотрудник", "Показатель", "Товар", "Категория", "Валюта", "План"],
                 [ivan.full_name, "выручка", None, None, None, "5000"],
                 [olga.full_name, "выручка", None, None, None, "5000"],
                 [ivan.full_name, "количество", "Нет такого", None, None, "3"],
                 [ivan.full_name, "премия", None, None, None, "3"]])
    resp = await upload(bad)
    assert resp.status == 422
    msg = (await resp.json())["detail"][0]["msg"]
    assert "строка 3" in msg and "строка 4" in msg and "строка 5" in msg and "строка 2" not in msg
    assert await SalesPlan.all().count() == 0
    good = _xlsx([["Показатель", "Сотрудник", "План", "Товар", "Категория"],
                  ["выручка", ivan.full_name, "5000"],
                  ["количество", ivan.full_name, "3", "Кран"],
                  ["Quantity", ivan.email or f"@{ivan.telegram_username}", "7", None, "Трубы"]])
    resp = await upload(good)
    assert resp.status == 200 and (await resp.json())["written"] == 3
    # two people of the same name: the name is not guessed, the email is asked for
    twin = await make_staff(Role.MANAGER, name=ivan.full_name, department=sales)
    resp = await upload(_xlsx([["Сотрудник", "Показатель", "План"],
                               [ivan.full_name, "выручка", "1"],
                               [None, "маржа", None]]))  # the template's example row
    msg = (await resp.json())["detail"][0]["msg"]
    assert resp.status == 422 and "строка 2" in msg and "неоднозначно" in msg, msg
    assert "строка 3" not in msg
    await twin.delete()
    resp = await upload(b"not a workbook")
    assert resp.status == 422 and "XLSX" in (await resp.json())["detail"][0]["msg"]
    got = await (await http.get(f"/api/v1/plans/sales?month={month}")).json()
    assert {(i["metric"], i["subject"]) for i in got["items"]} == {
        ("revenue", ""), ("quantity", "Кран"), ("quantity", "Трубы")}
    template = await http.get("/api/v1/plans/sales/template.xlsx")
    assert template.status == 200 and (await template.read())[:2] == b"PK"
    page = await (await http.get(f"/app/plans?month={month}")).text()
    assert 'data-testid="plans-grid"' in page and "Трубы" in page
    await signed_in(service, emulator, ivan)  # a manager sees their own, sets nothing
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "revenue", "target": "1"}]})
    assert resp.status == 403
    resp = await upload(b"not even read")  # refused before the file is read
    assert resp.status == 403
    assert (await http.get("/api/v1/plans/sales?month=9999-12")).status == 422
    page = await (await http.get(f"/app/plans?month={month}")).text()
    assert 'data-testid="plans-grid"' not in page and "Трубы" in page


@pytest.mark.browser
async def test_plan_grid_on_a_phone(demo, browser):  # noqa: F811
    from models import User
    from tests.test_mini_app_phone import _check_fits, _phone

    ivan = await User.get(telegram_id=100003)
    page = await _phone(demo, browser, 100005)  # Svetlana, head of Ivan's department
    await page.goto(f"{demo}/app/reports")
    await page.get_by_test_id("plans-link").click()
    await page.get_by_test_id("plans-grid").wait_for()
    await _check_fits(page, "plans")
    await page.get_by_test_id(f"plan-{ivan.id}-revenue").fill("1 500 000")
    await page.get_by_test_id(f"plan-{ivan.id}-deals_won").fill("два")
    await page.get_by_test_id("plans-save").click()
    error = page.get_by_test_id("plans-error")
    await error.wait_for()
    assert "два" in await error.inner_text()
    assert await page.get_by_test_id(f"plan-{ivan.id}-revenue").input_value() == "1 500 000"
    await page.get_by_test_id(f"plan-{ivan.id}-deals_won").fill("2")
    async with page.expect_navigation():
        await page.get_by_test_id("plans-save").click()
    await page.get_by_test_id("plans-totals").wait_for()
    assert await page.get_by_test_id(f"plan-{ivan.id}-revenue").input_value() == "1500000"
    assert {p.metric.value: p.target for p in await SalesPlan.filter(user_id=ivan.id)} == {
        "revenue": D("1500000"), "deals_won": D("2")}
    await _check_fits(page, "plans saved")
    await page.screenshot(path="/tmp/plans.png", full_page=True)


def test_bot_messages_are_cut_at_whole_lines():
    """/plan and /stats: long reports go in several messages, a caption keeps whole
    lines (a cut could end inside an HTML entity, which Telegram refuses)."""
    from bot.routers.reports import chunks, fit

    lines = [f"Мар&#x27;яна · {i}" for i in range(600)]
    parts = chunks(lines)
    assert len(parts) > 1 and all(len(p) <= 4000 for p in parts)
    assert "\n".join(parts).split("\n") == lines
    caption = fit(lines, 1024)
    assert len(caption) <= 1024 and caption.endswith("…")
    assert all(line in lines for line in caption.split("\n")[:-1])
