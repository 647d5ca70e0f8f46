"""M-7 in Chromium at a phone's 390×844: Anna (admin) opens the dealers list (the demo's
Fresh Market LLC), is told grade B's revenue may not be above A's (the form kept), adds
a dealer, opens Fresh Market's scorecard, applies the partnership scenario (its deal
listed), sets grade A by hand; Ivan (a manager) reads the list and a scorecard without
the forms; every page fits the phone."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_browser import browser, demo  # noqa: F401 - the fixtures
from tests.test_mini_app_phone import _check_fits

pytestmark = pytest.mark.browser


async def _open(browser, demo, tid: int, path: str):  # noqa: F811
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id={tid}")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    return page


async def test_m7_dealers_on_a_phone(demo, browser):  # noqa: F811
    from models import Client, Deal, PartnerRole

    fresh = await Client.get(name="Fresh Market LLC")
    page = await _open(browser, demo, 100001, "/app/dealers")
    await page.get_by_test_id("dealers-list").wait_for()
    rows = page.get_by_test_id("dealer-row")
    assert await rows.count() == 1 and "Fresh Market LLC" in await rows.first.inner_text()
    await _check_fits(page, "dealers, admin")
    # the grade settings: B above A is refused, naming the field; the typed values stay
    await page.get_by_test_id("dealer-grade-settings").locator("summary").click()
    await page.get_by_test_id("gs-a-revenue").fill("1000")
    await page.get_by_test_id("gs-b-revenue").fill("5000")
    await page.get_by_test_id("gs-save").click()
    error = page.get_by_test_id("gs-error")
    await error.wait_for()
    assert "B" in await error.inner_text() or "b_revenue" in await error.inner_text()
    assert await page.get_by_test_id("gs-b-revenue").input_value() == "5000"
    await _check_fits(page, "dealers, the settings refused")
    # a new dealer
    await page.get_by_test_id("dealer-new-name").fill("Дилер Восток")
    async with page.expect_navigation():
        await page.get_by_test_id("dealer-new-save").click()
    await page.get_by_test_id("dealers-list").wait_for()
    assert await page.get_by_test_id("dealer-row").count() == 2
    assert await PartnerRole.filter(client__name="Дилер Восток", kind="dealer").exists()
    # the scorecard: the Kyiv deal through the dealer, a scenario applied, grade A by hand
    await page.get_by_test_id("dealer-row").filter(has_text="Fresh Market LLC").locator(
        "a").click()
    await page.get_by_test_id("dealer-figures").wait_for()
    assert "Оптові поставки" in await page.get_by_test_id("dealer-deals").inner_text()
    await _check_fits(page, "scorecard, admin")
    async with page.expect_navigation():
        await page.get_by_test_id("scenario-apply").click()
    await page.get_by_test_id("dealer-partner-deal").wait_for()
    assert await Deal.filter(client_id=fresh.id, process__kind="partner").count() == 1
    await page.get_by_test_id("dealer-grade-select").select_option("A")
    async with page.expect_navigation():
        await page.get_by_test_id("dealer-save").click()
    await page.get_by_test_id("dealer-grade-reason").wait_for()
    assert (await page.get_by_test_id("dealer-grade-reason").inner_text()).startswith("A")
    assert (await PartnerRole.get(client_id=fresh.id)).grade_manual
    await _check_fits(page, "scorecard after the changes")
    # the deal card names its dealer and offers the picker
    deal = await Deal.get(title="Оптові поставки")
    await page.goto(f"{page.url.split('/app/')[0]}/app/deals/{deal.id}")
    await page.get_by_test_id("deal-dealer").wait_for()
    assert "Fresh Market LLC" in await page.get_by_test_id("deal-dealer-name").inner_text()
    await _check_fits(page, "deal card with its dealer")
    await page.close()
    # Ivan, a manager: reads, does not manage
    ivan = await _open(browser, demo, 100003, "/app/dealers")
    await ivan.get_by_test_id("dealers-list").wait_for()
    assert await ivan.get_by_test_id("dealer-new-form").count() == 0
    await _check_fits(ivan, "dealers, manager")
    await ivan.goto(ivan.url.split("/app/")[0] + f"/app/dealers/{fresh.id}")
    await ivan.get_by_test_id("dealer-figures").wait_for()
    assert await ivan.get_by_test_id("dealer-grade-form").count() == 0
    assert await ivan.get_by_test_id("scenario-form").count() == 0
    await _check_fits(ivan, "scorecard, manager")
    await ivan.close()
