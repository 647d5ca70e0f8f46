"""S-26 (issue 15): plans of a product or a category (quantity or sum) set from the plan
grid — pick the subject, then a column of cells, one per person, with plan vs fact —
not only from an XLSX file; bad cells named, who may set whose, and a phone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import Product, ProductCategory, SalesPlan
from services import sales_plan_subjects as subjects
from services.errors import ValidationFailed
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_sales_plans import MONTH, _order, _world
from tests.test_web import signed_in

D = Decimal


async def test_s26_subjects_found_and_named(database_url, make_staff):
    _deps, (admin, _head, ivan, _olga), _client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    await ProductCategory.create(name="Старые трубы", archived=True)
    assert (await subjects.subject_of(f"p{pipe.id}")).name == "Труба 20"
    got = await subjects.subject_of(f"c{steel.id}")
    assert (got.category_id, got.product_id) == (steel.id, None)
    for code, words in (("x1", "choose"), ("p", "choose"), ("p999999", "product"),
                        ("c999999", "category"), ("", "choose")):
        with pytest.raises(ValidationFailed) as err:
            await subjects.subject_of(code)
        assert err.value.field == "subject" and words in str(err.value)
    with pytest.raises(ValidationFailed) as err:
        subjects.measure_of("revenue")  # the grid has its own cells for that
    assert err.value.field == "measure"
    assert subjects.measure_of("sum").value == "sum"
    found = [s.code for s in await subjects.search_subjects(ivan, "труб")]
    assert found[:2] == [f"c{pipes.id}", f"p{pipe.id}"] or set(found) == {
        f"c{pipes.id}", f"p{pipe.id}"}
    assert all("Старые" not in s.name for s in await subjects.search_subjects(ivan, "трубы"))
    assert [s.code for s in await subjects.search_subjects(admin, "")] == [f"c{pipes.id}"]


async def test_s26_grid_column_of_a_subject(service, emulator, make_staff):
    """The column's cells go through PUT /plans/sales with the subject; the page shows
    the column with plan vs fact; bad cells named; a head only for their people."""
    (_sales, _other), (admin, head, ivan, olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    await _order(ivan, client, "posted", [(pipe, 10, "1000", "600"), (valve, 2, "500", "300")])
    http = service.client
    month = MONTH.strftime("%Y-%m")
    await signed_in(service, emulator, head)
    resp = await http.get("/api/v1/plans/subjects?q=кран")
    assert resp.status == 200
    assert [(s["code"], s["name"]) for s in (await resp.json())["items"]] == [
        (f"p{valve.id}", "Кран")]
    page = await (await http.get(
        f"/app/plans?month={month}&subject=c{pipes.id}&measure=quantity")).text()
    assert f'data-testid="plan-{ivan.id}-subject"' in page
    assert f'data-testid="plan-{olga.id}-subject"' not in page  # not the head's person
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "quantity", "category_id": pipes.id, "target": "12",
         "where": "Иван · Трубы · Количество"},
        {"user_id": ivan.id, "metric": "sum", "product_id": valve.id, "target": "два",
         "where": "Иван · Кран · Сумма"},
        {"user_id": olga.id, "metric": "quantity", "category_id": pipes.id, "target": "5",
         "where": "Ольга · Трубы · Количество"},
        {"user_id": ivan.id, "metric": "quantity", "target": "5",
         "where": "Иван · ? · Количество"}]})
    assert resp.status == 422
    msg = (await resp.json())["detail"][0]["msg"]
    assert "Иван · Кран · Сумма: «два»" in msg and "Ольга · Трубы · Количество" in msg
    assert "Иван · ? · Количество" in msg and "Иван · Трубы" not in msg
    assert await SalesPlan.all().count() == 0
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "quantity", "category_id": pipes.id, "target": "12"},
        {"user_id": ivan.id, "metric": "sum", "product_id": valve.id, "target": "1000"}]})
    assert resp.status == 200, await resp.text()
    page = await (await http.get(
        f"/app/plans?month={month}&subject=c{pipes.id}&measure=quantity")).text()
    # Ivan sold 10 pipes (a category's subtree) of a plan of 12: 83 %
    assert 'value="12"' in page and "10 / 12" in page and "83%" in page
    assert 'data-testid="plan-subjects-planned"' in page and "Кран" in page
    page = await (await http.get(
        f"/app/plans?month={month}&subject=p{valve.id}&measure=sum")).text()
    assert "500,00 RUB / 1 000,00 RUB" in page and "50%" in page
    page = await (await http.get(f"/app/plans?month={month}&subject=zzz&measure=sum")).text()
    assert 'data-testid="plans-grid"' in page and f'plan-{ivan.id}-subject' not in page
    # removing with an empty cell
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "sum", "product_id": valve.id, "target": ""}]})
    assert resp.status == 200
    assert await SalesPlan.filter(metric="sum").count() == 0
    # a manager: sees their own column's figures, sets nothing, no picker
    await signed_in(service, emulator, ivan)
    page = await (await http.get(
        f"/app/plans?month={month}&subject=c{pipes.id}&measure=quantity")).text()
    assert 'data-testid="plan-subject-form"' not in page and "Трубы" in page
    resp = await http.put("/api/v1/plans/sales", json={"month": month, "cells": [
        {"user_id": ivan.id, "metric": "quantity", "category_id": pipes.id, "target": "1"}]})
    assert resp.status == 403
    assert (await SalesPlan.get(metric="quantity")).target == D(12)


@pytest.mark.browser
async def test_s26_subject_column_on_a_phone(demo, browser):  # noqa: F811
    from models import User
    from tests.test_mini_app_phone import _check_fits, _phone

    ivan = await User.get(telegram_id=100003)
    drill = await Product.get(code="DR-18")
    page = await _phone(demo, browser, 100005)  # Svetlana, head of Ivan's department
    await page.goto(f"{demo}/app/plans")
    await page.get_by_test_id("plan-subject-form").wait_for()
    await _check_fits(page, "plans with the subject picker")
    await page.get_by_test_id("plan-subject-search").fill("дрель")
    await page.wait_for_function(
        "document.querySelector('[data-testid=plan-subject]').options.length === 1")
    await page.get_by_test_id("plan-measure").select_option("quantity")
    async with page.expect_navigation():
        await page.get_by_test_id("plan-subject-show").click()
    cell = page.get_by_test_id(f"plan-{ivan.id}-subject")
    await cell.wait_for()
    await _check_fits(page, "plans with a product column")
    await cell.fill("три")
    await page.get_by_test_id("plans-save").click()
    error = page.get_by_test_id("plans-error")
    await error.wait_for()
    assert "три" in await error.inner_text() and "Дрель" in await error.inner_text()
    await cell.fill("3")
    async with page.expect_navigation():
        await page.get_by_test_id("plans-save").click()
    await page.get_by_test_id(f"plan-{ivan.id}-subject").wait_for()
    assert await page.get_by_test_id(f"plan-{ivan.id}-subject").input_value() == "3"
    plan = await SalesPlan.get(user_id=ivan.id, metric="quantity")
    assert (plan.product_id, plan.target) == (drill.id, D(3))
    await _check_fits(page, "plans column saved")
