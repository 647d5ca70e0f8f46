"""A-15 in Chromium on a phone (390×844): a posting over the client's credit limit is
refused with the exact numbers, and the salesperson asks for an exception from the order
editor (an empty reason is refused, the request is recorded once)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from tests.test_browser import browser, demo  # noqa: F401 - the fixtures


async def test_a15_over_the_limit_ask_for_an_exception(demo, browser):  # noqa: F811
    from models import Client, CreditLimit, CreditOverride, Product, User
    from services import orders

    ivan = await User.get(telegram_id=100003)
    romashka = await Client.get(name="ООО «Ромашка»")
    # the demo's shipped order is owed (15 830,40 ₽): a limit of 20 000 leaves 4 169,60
    await CreditLimit.create(client=romashka, amount=Decimal(20000), currency="RUB")
    order = await orders.do_create_order(ivan, {"client_id": romashka.id}, source="system")
    await orders.do_set_lines(ivan, order.id, [
        {"product_id": (await Product.get(code="P-A4")).id, "quantity": "20"}],
        source="system")
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id=100003")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}/app/orders/{order.id}#tgWebAppData={quote(init)}")
    # the draft warns already (A-15: checked when drafted and again at posting)
    warning = page.get_by_test_id("credit-warning")
    await warning.wait_for()
    assert "20 000" in (await warning.inner_text()).replace("\u00a0", " ")
    await page.get_by_test_id("order-post").click()
    error = page.get_by_test_id("order-error")
    await error.wait_for()
    text = (await error.inner_text()).replace("\u00a0", " ")
    assert "20 000" in text and "15 830,40" in text, text
    ask = page.get_by_test_id("credit-ask")
    await ask.wait_for()
    await page.get_by_test_id("credit-ask-send").click()  # no reason: named, no request
    await page.wait_for_function(
        "document.querySelector('[data-testid=order-error]').innerText.includes('почему')")
    assert not await CreditOverride.exists()
    await page.get_by_test_id("credit-reason").fill("Клиент платит завтра, согласовано")
    await page.get_by_test_id("credit-ask-send").click()
    await page.get_by_test_id("order-note").wait_for()
    assert "бот" in await page.get_by_test_id("order-note").inner_text()
    assert await ask.is_hidden()
    (asked,) = await CreditOverride.all()
    assert asked.order_id == order.id and asked.reason == "Клиент платит завтра, согласовано"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await page.screenshot(path="/tmp/shots/credit-ask.png")
