"""K-9 motivation through the API and the Mini App: schemes made with every bad row
named in the person's language, the month's statements, a line's records, approval
and reopening, and a manager who sees only their own figures; the scheme editor on a
phone (steps as rows, not JSON)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import BonusScheme, Role, SchemeStep
from services import sales_plans
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_sales_plans import MONTH, _order, _world

D = Decimal
M = MONTH.strftime("%Y-%m")


def _body(**kw):
    body = {"name": "Бонус с продаж", "metric": "revenue", "kind": "bonus",
            "base": "percent", "currency": "RUB", "active_from": M,
            "steps": [{"lower": "0", "upper": "30", "value": "2"},
                      {"lower": "30", "upper": "100", "value": "3"},
                      {"lower": "100", "upper": None, "value": "5"}]}
    body.update(kw)
    return body


async def test_k9_api_schemes_statements_approval(service, emulator, make_staff):
    from tests.test_web import signed_in

    (sales, other), (admin, head, ivan, olga), client, cats, (pipe, valve) = \
        await _world(make_staff)
    http = service.client
    order = await _order(ivan, client, "posted", [(pipe, 1, "13001", None)])
    await _order(olga, client, "posted", [(pipe, 1, "500", None)])
    await sales_plans.do_set_plans(admin, MONTH, [
        sales_plans.Cell(ivan.id, "revenue", "10000"),
        sales_plans.Cell(olga.id, "revenue", "100")])
    await signed_in(service, emulator, admin)
    bad = _body(steps=[{"lower": "0", "upper": "30", "value": "2"},
                       {"lower": "35", "upper": "100", "value": "три"},
                       {"lower": "100", "upper": "", "value": "5"}])
    resp = await http.post("/api/v1/bonus-schemes", json=bad)
    assert resp.status == 422
    msg = (await resp.json())["detail"][0]["msg"]
    assert "строка 2" in msg and "три" in msg, msg
    assert await BonusScheme.all().count() == 0
    resp = await http.post("/api/v1/bonus-schemes", json=_body(steps=[
        {"lower": "0", "upper": "30", "value": "2"},
        {"lower": "35", "upper": None, "value": "3"}]))
    msg = (await resp.json())["detail"][0]["msg"]
    assert resp.status == 422 and "строка 2" in msg and "30" in msg and "35" in msg, msg
    resp = await http.post("/api/v1/bonus-schemes", json=_body())
    assert resp.status == 201, await resp.text()
    scheme = await resp.json()
    assert [s["upper"] for s in scheme["steps"]] == ["30.00", "100.00", None]
    resp = await http.put(f"/api/v1/bonus-schemes/{scheme['id']}", json=_body(
        name="Бонус с продаж 2026"))
    assert resp.status == 200 and (await resp.json())["name"] == "Бонус с продаж 2026"
    assert await SchemeStep.all().count() == 3
    got = await (await http.get(f"/api/v1/bonus-statements?month={M}")).json()
    by_user = {s["user_id"]: s for s in got["items"]}
    line = by_user[ivan.id]["lines"][0]
    assert (line["achievement"], line["step"], line["amount"]) == ("130.01", 2, "390.03")
    assert by_user[olga.id]["totals"] == {"RUB": "25.00"}  # 400% over: 5% of 500
    assert by_user[ivan.id]["may_approve"] is True
    sources = await (await http.get(
        f"/api/v1/bonus-statements/{ivan.id}/{M}/lines/0/sources")).json()
    assert [(i["kind"], i["id"]) for i in sources["items"]] == [("order", order.id)]
    assert (await http.get(f"/api/v1/bonus-statements/{ivan.id}/{M}/lines/5/sources")
            ).status == 404
    # the head approves Ivan's; the manager sees only their own
    await signed_in(service, emulator, head)
    resp = await http.post(f"/api/v1/bonus-statements/{ivan.id}/{M}/approve")
    assert resp.status == 200 and (await resp.json())["state"] == "approved"
    assert (await http.post(f"/api/v1/bonus-statements/{olga.id}/{M}/approve")).status == 404
    await signed_in(service, emulator, ivan)
    got = await (await http.get(f"/api/v1/bonus-statements?month={M}")).json()
    assert [s["user_id"] for s in got["items"]] == [ivan.id]
    assert got["items"][0]["state"] == "approved" and got["items"][0]["may_approve"] is False
    assert (await http.get(f"/api/v1/bonus-statements/{olga.id}/{M}")).status == 404
    assert (await http.post(f"/api/v1/bonus-statements/{ivan.id}/{M}/reopen")).status == 403
    assert (await http.post("/api/v1/bonus-schemes", json=_body())).status == 403
    assert (await http.delete(f"/api/v1/bonus-schemes/{scheme['id']}")).status == 403
    listed = await (await http.get("/api/v1/bonus-schemes")).json()
    assert [s["id"] for s in listed["items"]] == [scheme["id"]] and not listed["may_edit"]
    page = await (await http.get(f"/app/motivation/statements?month={M}")).text()
    assert ivan.full_name in page and olga.full_name not in page
    page = await (await http.get(f"/app/motivation/statements/{ivan.id}/{M}")).text()
    assert "statement-line" in page and "statement-approve" not in page
    assert (await http.get(f"/app/motivation/statements/{olga.id}/{M}")).status == 404
    # the head reopens; the admin archives and deletes the scheme
    await signed_in(service, emulator, head)
    resp = await http.post(f"/api/v1/bonus-statements/{ivan.id}/{M}/reopen")
    assert resp.status == 200 and (await resp.json())["state"] == "draft"
    page = await (await http.get(f"/app/motivation/statements/{ivan.id}/{M}")).text()
    assert 'data-testid="statement-approve"' in page
    await signed_in(service, emulator, admin)
    resp = await http.post(f"/api/v1/bonus-schemes/{scheme['id']}/archive",
                           json={"archived": True})
    assert resp.status == 200 and (await resp.json())["archived"] is True
    page = await (await http.get("/app/motivation?archived=1")).text()
    assert "Бонус с продаж 2026" in page
    page = await (await http.get(f"/app/motivation?edit={scheme['id']}")).text()
    assert 'data-testid="step-row"' in page
    assert (await http.delete(f"/api/v1/bonus-schemes/{scheme['id']}")).status == 200
    assert await BonusScheme.all().count() == 0
    assert (await http.get("/api/v1/bonus-statements?month=2026-13")).status == 422


@pytest.mark.browser
async def test_k9_scheme_editor_on_a_phone(demo, browser):  # noqa: F811
    """K-9: an admin makes a scheme on a 390 px phone: rows added and removed with
    buttons, a gap named by its row, then saved; the statements page fits too."""
    from tests.test_mini_app_phone import _check_fits, _phone

    page = await _phone(demo, browser, 100001)  # the demo's admin
    await page.goto(f"{demo}/app/plans")
    await page.get_by_test_id("bonus-schemes-link").click()
    await page.get_by_test_id("scheme-new").click()
    await page.get_by_test_id("scheme-form").wait_for()
    await _check_fits(page, "scheme editor")
    await page.get_by_test_id("scheme-name").fill("Бонус за выручку")
    rows = page.get_by_test_id("step-row")
    await rows.nth(0).get_by_test_id("step-upper").fill("30")
    await rows.nth(0).get_by_test_id("step-value").fill("2")
    await page.get_by_test_id("step-add").click()
    assert await rows.nth(1).get_by_test_id("step-lower").input_value() == "30"
    await rows.nth(1).get_by_test_id("step-lower").fill("31")  # a gap
    await rows.nth(1).get_by_test_id("step-upper").fill("100")
    await rows.nth(1).get_by_test_id("step-value").fill("3")
    await page.get_by_test_id("step-add").click()
    await page.get_by_test_id("step-add").click()
    assert await rows.count() == 4
    await rows.nth(3).get_by_test_id("step-remove").click()
    assert await rows.count() == 3
    await rows.nth(2).get_by_test_id("step-value").fill("5")
    await _check_fits(page, "scheme editor with rows")
    await page.screenshot(path="/tmp/motivation-editor.png", full_page=True)
    await page.get_by_test_id("scheme-save").click()
    error = page.get_by_test_id("scheme-error")
    await error.wait_for()
    assert "2" in await error.inner_text() and "31" in await error.inner_text()
    await rows.nth(1).get_by_test_id("step-lower").fill("30")
    async with page.expect_navigation():
        await page.get_by_test_id("scheme-save").click()
    await page.get_by_test_id("schemes").wait_for()
    scheme = await BonusScheme.get(name="Бонус за выручку").prefetch_related("steps")
    assert sorted((s.lower, s.upper, s.value) for s in scheme.steps) == [
        (D("0"), D("30"), D("2")), (D("30"), D("100"), D("3")), (D("100"), None, D("5"))]
    await _check_fits(page, "schemes")
    await page.get_by_test_id("statements-link").click()
    await page.get_by_test_id("statements-month").wait_for()
    await _check_fits(page, "statements")
    await page.screenshot(path="/tmp/motivation.png", full_page=True)
    assert Role.ADMIN
