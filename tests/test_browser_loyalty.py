"""U-9 in Chromium at a phone's 390×844: Anna (admin) sets the loyalty program (a
lowest tier that does not start at 0 is named, the form kept); Ivan (a manager) issues
a card from his client's card, opens /app/loyalty (the analysis and his cards fit the
phone), opens the card, adds 100 points, is told he cannot redeem 300 against an order
of 1 000 ₽ (the balance is 100), redeems 40 and sees the moves; the program page is not
his."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest

from tests.conftest import TEST_NOW
from tests.test_browser import browser, demo, plain, shot  # noqa: F401 - the fixtures

pytestmark = pytest.mark.browser


async def _fits(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


async def _open(browser, demo, tid: int, path: str):  # noqa: F811
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id={tid}")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    return page


async def test_u9_loyalty_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    from models import LoyaltyMove, Order, User
    from services import clients as client_svc

    ivan = await User.get(telegram_id=100003)
    client = (await client_svc.do_create_client(ivan, {"name": "Лояльный"})).client
    for days in (60, 30):
        await Order.create(number=f"U9-{days}", client=client, owner=ivan, state="posted",
                           currency="RUB", total=Decimal(1000),
                           posted_at=TEST_NOW - timedelta(days=days))
    order = await Order.create(number="U9-open", client=client, owner=ivan, state="draft",
                               currency="RUB", total=Decimal(1000))
    # the admin's program form
    page = await _open(browser, demo, 100001, "/app/loyalty/program")
    await page.get_by_test_id("loyalty-program-form").wait_for()
    await page.get_by_test_id("lp-point-value").fill("1")
    await page.get_by_test_id("lp-max-share").fill("10")
    tiers = page.get_by_test_id("lp-tier")  # the demo's programme has tiers: two rows
    while await tiers.count() > 1:
        await page.get_by_test_id("lp-tier-remove").first.click()
    while await tiers.count() < 2:
        await page.get_by_test_id("lp-add-tier").click()
    names = page.get_by_test_id("lp-tier-name")
    for n, (name, threshold, accrual) in enumerate((("Бронза", "100", "1"),
                                                    ("Серебро", "50000", "3"))):
        await names.nth(n).fill(name)
        await page.get_by_test_id("lp-tier-threshold").nth(n).fill(threshold)
        await page.get_by_test_id("lp-tier-accrual").nth(n).fill(accrual)
    await _fits(page)
    await page.get_by_test_id("lp-save").click()
    error = page.get_by_test_id("lp-error")
    await error.wait_for(state="visible")
    assert "0" in await error.inner_text()
    assert await names.nth(1).input_value() == "Серебро"  # kept
    await shot(page, tmp_path, "loyalty-1-program-error", full_page=False)
    await page.get_by_test_id("lp-tier-threshold").nth(0).fill("0")
    async with page.expect_navigation():
        await page.get_by_test_id("lp-save").click()
    assert await page.get_by_test_id("lp-tier").count() == 2
    # Ivan issues a card from the client's card
    ivan_page = await _open(browser, demo, 100003, f"/app/clients/{client.id}")
    await ivan_page.get_by_test_id("loyalty-issue").wait_for()
    await ivan_page.get_by_test_id("loyalty-issue-number").fill("iv-0001")
    async with ivan_page.expect_navigation():
        await ivan_page.get_by_test_id("loyalty-issue-btn").click()
    line = plain(await ivan_page.get_by_test_id("client-loyalty").inner_text())
    assert "IV-0001" in line and "Бронза" in line, line
    await _fits(ivan_page)
    # the loyalty page: the analysis and the cards
    await ivan_page.goto(f"{demo}/app/loyalty")
    await ivan_page.get_by_test_id("loyalty-cohorts").wait_for()
    # the demo's clients of Ivan bought once at most: ours is the one with two orders
    assert "%" in await ivan_page.get_by_test_id("la-repeat").inner_text()
    assert "30.0" in await ivan_page.get_by_test_id("la-interval").inner_text()  # 60 − 30
    assert await ivan_page.get_by_test_id("loyalty-program-link").count() == 0
    await _fits(ivan_page)
    await shot(ivan_page, tmp_path, "loyalty-2-analysis")
    await ivan_page.get_by_test_id("loyalty-search").fill("IV-0001")
    async with ivan_page.expect_navigation():
        await ivan_page.get_by_test_id("loyalty-search").press("Enter")
    rows = ivan_page.get_by_test_id("loyalty-card-row")
    assert await rows.count() == 1
    async with ivan_page.expect_navigation():
        await rows.first.get_by_role("link").click()
    # the card: adjust, a redemption refused, then made
    await ivan_page.get_by_test_id("lc-adjust-points").fill("+100")
    await ivan_page.get_by_test_id("lc-adjust-reason").fill("подарок")
    async with ivan_page.expect_navigation():
        await ivan_page.get_by_test_id("lc-adjust-save").click()
    assert "100" in await ivan_page.get_by_test_id("lc-balance").inner_text()
    await ivan_page.get_by_test_id("lc-order").select_option(str(order.id))
    await ivan_page.get_by_test_id("lc-points").fill("300")
    await ivan_page.get_by_test_id("lc-redeem-save").click()
    err = ivan_page.get_by_test_id("lc-redeem-error")
    await err.wait_for(state="visible")
    assert "100" in await err.inner_text()
    await ivan_page.get_by_test_id("lc-points").fill("40")
    async with ivan_page.expect_navigation():
        await ivan_page.get_by_test_id("lc-redeem-save").click()
    assert "60" in await ivan_page.get_by_test_id("lc-balance").inner_text()
    assert await ivan_page.get_by_test_id("lc-move").count() == 2
    assert await LoyaltyMove.filter(order_id=order.id, points=-40).exists()
    await _fits(ivan_page)
    await shot(ivan_page, tmp_path, "loyalty-3-card")
    resp = await ivan_page.goto(f"{demo}/app/loyalty/program")
    assert resp.status == 403
