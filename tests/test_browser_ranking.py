"""K-8 in Chromium at a phone's 390×844: Anna (admin) opens the client ranking, is told
a bad limit with her form kept, saves the settings, ranks the clients, taps the A×Z
cell down to its one client and opens its card; Ivan (a manager) sees only his own.

On the demo data plus three of Ivan's clients with one order each: 800 000, 150 000
and 50 000 ₽ without cost, so by margin (the demo's one order of some 15 830 ₽ at most
adds d ≤ 15 830): Lux 800 000 / (1 000 000 + d) ≥ 78.76 % → A; Mid 950 000 / … ≤ 95 %
→ B; Small ≥ 98.4 % → C. One order each: a single month out of twelve → Z."""

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


async def _clients():
    from models import Order, OrderLine, Product, User
    from services import clients as client_svc

    ivan = await User.get(telegram_id=100003)
    product = await Product.first()
    made = {}
    for n, (name, amount) in enumerate((("Люкс", 800000), ("Середняк", 150000),
                                        ("Мелочь", 50000))):
        client = (await client_svc.do_create_client(ivan, {"name": name})).client
        order = await Order.create(number=f"K8-{n}", client=client, owner=ivan,
                                   state="posted", currency="RUB",
                                   posted_at=TEST_NOW - timedelta(days=3))
        await OrderLine.create(order=order, product=product, name=product.name,
                               quantity=Decimal(1), list_price=Decimal(amount),
                               price=Decimal(amount), amount=Decimal(amount), cost=Decimal(0))
        made[name] = client
    return made


async def _open(browser, demo, tid: int, path: str):  # noqa: F811
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id={tid}")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    return page


async def test_k8_ranking_page_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    made = await _clients()
    page = await _open(browser, demo, 100001, "/app/ranking")
    await page.get_by_test_id("ranking-matrix").wait_for()
    assert await page.get_by_test_id("cell-AZ").inner_text() == "0"  # not ranked yet
    await _fits(page)
    # the settings: a bad B named, what was typed kept
    form = page.get_by_test_id("ranking-settings")
    await form.scroll_into_view_if_needed()
    await page.get_by_test_id("rs-b").fill("30")
    await page.get_by_test_id("rs-save").click()
    error = page.get_by_test_id("rs-error")
    await error.wait_for(state="visible")
    assert "100" in await error.inner_text()
    assert await page.get_by_test_id("rs-b").input_value() == "30"
    await shot(page, tmp_path, "ranking-1-settings-error", full_page=False)
    await page.get_by_test_id("rs-b").fill("15")
    await page.get_by_test_id("rs-months").fill("12")
    async with page.expect_navigation():
        await page.get_by_test_id("rs-save").click()
    # rank now: the matrix fills in
    async with page.expect_navigation():
        await page.get_by_test_id("ranking-run").click()
    assert await page.get_by_test_id("cell-AZ").inner_text() == "1"
    assert await page.get_by_test_id("cell-BZ").inner_text() == "1"
    assert int(await page.get_by_test_id("cell-CZ").inner_text()) >= 1
    assert "12" in await page.get_by_test_id("ranking-basis").inner_text()
    await _fits(page)
    await shot(page, tmp_path, "ranking-2-matrix")
    # down to the client list, then the card
    await page.get_by_test_id("cell-AZ").click()
    await page.wait_for_url("**/app/ranking?abc=A&xyz=Z")
    rows = page.get_by_test_id("rank-row")
    assert await rows.count() == 1
    text = plain(await rows.first.inner_text())
    assert "Люкс" in text and "AZ" in text and "800 000 ₽" in text
    await _fits(page)
    await shot(page, tmp_path, "ranking-3-list", full_page=False)
    await rows.first.get_by_role("link").click()
    await page.wait_for_url(f"**/app/clients/{made['Люкс'].id}")
    await page.get_by_test_id("client-name").wait_for()
    # a segment's link lists its clients
    await page.goto(f"{demo}/app/ranking")
    # (the first segment that has clients: which one depends on the demo's orders)
    code = await page.evaluate("""() => { for (const a of document.querySelectorAll(
        '[data-testid^=segment-]')) { if (a.closest('tr').querySelector('b').textContent
        .trim() !== '0') return a.dataset.testid.slice(8); } return null; }""")
    assert code is not None
    await page.get_by_test_id(f"segment-{code}").click()
    await page.wait_for_url(f"**segment={code}")
    assert await page.get_by_test_id("rank-row").count() >= 1
    # Ivan, a manager: his own clients, no settings, no run button
    ivan = await _open(browser, demo, 100003, "/app/ranking")
    await ivan.get_by_test_id("ranking-matrix").wait_for()
    assert await ivan.get_by_test_id("ranking-settings").count() == 0
    assert await ivan.get_by_test_id("ranking-run").count() == 0
    assert await ivan.get_by_test_id("cell-AZ").inner_text() == "1"
    await _fits(ivan)
    await shot(ivan, tmp_path, "ranking-4-manager")
