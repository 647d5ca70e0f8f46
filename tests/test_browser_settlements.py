"""In Chromium at a phone's 390×844: settlements (issue 14: K-6, M-6, S-23) on the demo
data — Svetlana (a head) opens ООО «Ромашка», sees it owes 15 830,40 ₽ for Ivan's shipped
order, is told a bad amount with the sheet kept, records 10 000 and sees 5 830,40 ₽ left;
the ledger shows the payment; the settlements report lists Ромашка in its aging."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import expect

from tests.test_browser import browser, demo, plain, shot  # noqa: F401 - the fixtures

pytestmark = pytest.mark.browser
NBSP = "\u00a0"





async def _fits(page) -> None:
    """Nothing wider than the phone's screen."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


async def test_k6_m6_s23_settlements_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    from models import Client

    romashka = await Client.get(name="ООО «Ромашка»")
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id=100005")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}/app/clients/{romashka.id}#tgWebAppData={quote(init)}")
    await page.get_by_test_id("client-name").wait_for()
    section = page.get_by_test_id("client-settlements")
    await section.scroll_into_view_if_needed()
    owed = page.get_by_test_id("settle-owed")
    assert plain(await owed.inner_text()) == "15 830,40 ₽"
    assert "Расчёты" in await section.inner_text()
    await _fits(page)
    await shot(page, tmp_path, "settlements-1-card", full_page=False)
    # a payment: a bad amount named, the sheet kept with what was typed
    await page.get_by_test_id("settle-payment").click()
    sheet = page.get_by_test_id("settle-sheet")
    await sheet.wait_for()
    await page.get_by_test_id("settle-amount").fill("abc")
    await page.get_by_test_id("settle-number").fill("512")
    await page.get_by_test_id("settle-save").click()
    error = page.get_by_test_id("settle-error")
    await error.wait_for(state="visible")
    assert "«abc»" in await error.inner_text()
    assert await page.get_by_test_id("settle-amount").input_value() == "abc"
    assert await sheet.is_visible()
    await shot(page, tmp_path, "settlements-2-sheet-error", full_page=False)
    await page.get_by_test_id("settle-amount").fill("10 000")
    await page.get_by_test_id("settle-save").click()
    await expect(page.get_by_test_id("settle-owed")).to_have_text(f"5{NBSP}830,40{NBSP}₽")
    await page.get_by_test_id("client-settlements").scroll_into_view_if_needed()
    assert "10 000 ₽" in plain(await page.get_by_test_id("settle-payments").inner_text())
    await _fits(page)
    await shot(page, tmp_path, "settlements-3-paid", full_page=False)
    # the ledger: the payment on top, in words
    await page.get_by_test_id("settle-ledger-link").click()
    await page.wait_for_url("**/ledger")
    first = page.get_by_test_id("ledger-row").first
    text = plain(await first.inner_text())
    assert "Оплата" in text and "−10 000 ₽" in text and "5 830,40 ₽" in text
    await _fits(page)
    await shot(page, tmp_path, "settlements-4-ledger", full_page=False)
    # the report: Ромашка in the aging, a tap opens its card
    await page.goto(f"{demo}/app/settlements")
    row = page.get_by_test_id("aging-row").filter(has_text="Ромашка")
    await row.wait_for()
    assert "5 830,40 ₽" in plain(await row.inner_text())
    await _fits(page)
    await shot(page, tmp_path, "settlements-5-aging", full_page=False)
    await page.get_by_test_id("tab-s23").click()
    await page.get_by_test_id("s23").wait_for()
    await _fits(page)
    await shot(page, tmp_path, "settlements-6-s23", full_page=False)
    await page.goto(f"{demo}/app/settlements")
    await page.get_by_test_id("aging-client").filter(has_text="Ромашка").click()
    await page.wait_for_url(f"**/app/clients/{romashka.id}*")
    await page.get_by_test_id("client-settlements").wait_for()
