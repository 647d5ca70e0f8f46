"""Marketing campaigns (K-10, K-12) on a phone (390×844): the list and the demo
campaign's card fit the screen; a bad cost keeps the draft and names the field."""

from __future__ import annotations

from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits, _phone


async def test_k10_campaign_list_and_card_fit_a_phone(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100001)  # Anna, the admin
    await page.goto(f"{demo}/app/more")
    await page.get_by_test_id("nav-campaigns").click()
    await page.get_by_test_id("campaign-row").first.wait_for()
    assert "Весенняя распродажа" in await page.inner_text("main")
    await _check_fits(page, "campaigns")
    await page.get_by_role("link", name="Весенняя распродажа").click()
    await page.get_by_test_id("campaign-figures").wait_for()
    assert await page.get_by_test_id("variant-card").count() == 2
    # planned 20 000 + 80 000 + 15 000; actual 18 500 + 91 000 + 15 000
    assert "115\u00a0000" in await page.get_by_test_id("cf-planned").inner_text()
    assert "124\u00a0500" in await page.get_by_test_id("cf-actual").inner_text()
    await _check_fits(page, "campaign card")
    await page.get_by_test_id("cost-new").locator("summary").click()
    await page.get_by_test_id("kf-item").last.fill("Листовки")
    await page.get_by_test_id("kf-planned").last.fill("много")
    await page.get_by_test_id("kn-save").click()
    err = page.get_by_test_id("kn-error")
    await err.wait_for()
    assert await page.get_by_test_id("kf-item").last.input_value() == "Листовки"
    await page.get_by_test_id("kf-planned").last.fill("5000")
    await page.get_by_test_id("kn-save").click()
    await page.get_by_text("Листовки").first.wait_for()
    await _check_fits(page, "campaign card after a cost")
