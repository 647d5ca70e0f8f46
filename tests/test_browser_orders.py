"""In Chromium at a phone's 390×844: the order editor of the Mini App (issue 13: S-17,
K-4, K-5, S-22) on the demo data — Ivan starts an order for ООО «Ромашка» from its
card, finds the paper with a typo, is told a bad quantity, sees the price 263,84 ₽ and
why, adds a product outside the client's matrix with a confirming tap, posts the
order and makes its invoice."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import expect

from tests.test_browser import browser, demo, plain, shot  # noqa: F401 - the fixtures

pytestmark = pytest.mark.browser





async def test_s17_k5_s22_an_order_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    from models import Client, DictionaryItem, MatrixEntry, Order, Product

    romashka = await Client.get(name="ООО «Ромашка»")
    building = await DictionaryItem.get(code="construction")
    await romashka.spheres.add(building)  # its matrix: the construction sphere's and paper
    await MatrixEntry.create(product=await Product.get(code="P-A4"), sphere=building)
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id=100003")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}/app/clients/{romashka.id}#tgWebAppData={quote(init)}")
    await page.get_by_test_id("client-name").wait_for()
    # the client card: its orders (none yet) and 🧾 Order
    block = page.get_by_test_id("card-orders")
    await block.scroll_into_view_if_needed()
    await shot(page, tmp_path, "orders-1-card")
    await page.get_by_test_id("card-order-new").click()
    await page.wait_for_url("**/app/orders/*")
    await page.get_by_test_id("order-no-lines").wait_for()
    assert "ООО «Ромашка»" in await page.get_by_test_id("order-client").inner_text()
    assert "ООО «Контакт-Опт»" in await page.get_by_test_id("order-own").inner_text()
    await shot(page, tmp_path, "orders-2-new-order")
    # the picker: the client's matrix first; «бумга» finds the A4 paper, not the A3
    await page.get_by_test_id("order-add").click()
    sheet = page.get_by_test_id("picker")
    await sheet.wait_for()
    assert await page.get_by_test_id("picker-matrix").get_attribute("aria-pressed") == "true"
    await page.get_by_test_id("picker-search").fill("бумга")
    await expect(page.get_by_test_id("picker-item")).to_have_count(1)
    item = page.get_by_test_id("picker-item").filter(has_text="Бумага A4")
    sub = plain(await item.inner_text())
    # 400 packs less the demo's shipped order of 60
    assert "Бумага A4 «Снегурочка», 500 л." in sub and "свободно: 340 пач" in sub
    await shot(page, tmp_path, "orders-3-picker")
    await item.click()
    await sheet.wait_for(state="hidden")
    line = page.get_by_test_id("order-line")
    await line.wait_for()
    # a bad quantity: named, what was typed kept, the line as it was
    qty = line.get_by_test_id("line-qty")
    await qty.fill("abc")
    await qty.press("Enter")
    error = line.get_by_test_id("line-error")
    await error.wait_for(state="visible")
    assert "«abc»" in await error.inner_text()
    assert await qty.input_value() == "abc"
    await shot(page, tmp_path, "orders-4-bad-quantity")
    await qty.fill("60")
    await qty.press("Enter")
    await page.wait_for_function("document.querySelector('[data-testid=line-amount]')"
                                 ".textContent.startsWith('15')")
    line = page.get_by_test_id("order-line")
    assert plain(await line.get_by_test_id("line-price").input_value()) == "263,84 ₽"
    assert plain(await line.get_by_test_id("line-amount").inner_text()) == "15 830,40 ₽"
    assert plain(await page.get_by_test_id("total").inner_text()) == "15 830,40 ₽"
    assert plain(await page.get_by_test_id("total-vat").inner_text()) == "2 638,40 ₽"
    assert plain(await page.get_by_test_id("total-net").inner_text()) == "13 192,00 ₽"
    # why this price: the list, the rules, the group, the final price — in words
    await line.get_by_test_id("line-why").locator("summary").click()
    trace = plain(await line.get_by_test_id("line-trace").inner_text())
    assert "«Розница»: 320,00 ₽" in trace
    assert "«От 50 шт. −15 %»: −15 % → 272,00 ₽" in trace
    assert "«Дилеры»: −3 % → 263,84 ₽" in trace
    assert "263,84 ₽" in trace.splitlines()[-1]
    await shot(page, tmp_path, "orders-5-trace")
    # a product outside the matrix: "all products", then a confirming tap
    await page.get_by_test_id("order-add").click()
    await sheet.wait_for()
    await page.get_by_test_id("picker-all").click()
    await page.get_by_test_id("picker-search").fill("степлер")
    stapler = page.get_by_test_id("picker-item").filter(has_text="Степлер")
    await stapler.wait_for()
    assert "не в матрице клиента" in await stapler.inner_text()
    await stapler.click()
    await stapler.get_by_test_id("picker-confirm").wait_for(state="visible")
    await shot(page, tmp_path, "orders-6-off-matrix")
    assert await page.get_by_test_id("order-line").count() == 1  # not yet
    await stapler.click()
    await sheet.wait_for(state="hidden")
    await page.get_by_test_id("line-off-matrix").wait_for()
    assert await page.get_by_test_id("order-line").count() == 2
    # ten drills, seven in stock: posting refused, the short line named with its numbers
    await page.get_by_test_id("order-add").click()
    await page.get_by_test_id("picker-matrix").click()
    await page.get_by_test_id("picker-search").fill("дрель")
    await page.get_by_test_id("picker-item").filter(has_text="Дрель").click()
    await sheet.wait_for(state="hidden")
    drill = page.get_by_test_id("order-line").nth(2)
    one = await drill.get_by_test_id("line-amount").inner_text()
    await drill.get_by_test_id("line-qty").fill("10")
    await drill.get_by_test_id("line-qty").press("Enter")
    await expect(page.get_by_test_id("order-line").nth(2).get_by_test_id(
        "line-amount")).not_to_have_text(one)
    await page.get_by_test_id("order-post").click()
    short = page.get_by_test_id("line-short")
    await short.wait_for()
    assert plain(await short.inner_text()) == "⚠️ не хватает 3 шт: нужно 10, свободно 7"
    assert "нужно 10, свободно 7, не хватает 3" in await page.get_by_test_id(
        "order-error").inner_text()
    assert await page.get_by_test_id("order-line").nth(2).get_by_test_id(
        "line-short").count() == 1
    await shot(page, tmp_path, "orders-7-short")
    await page.get_by_test_id("order-line").nth(2).get_by_test_id("line-remove").click()
    await expect(page.get_by_test_id("order-line")).to_have_count(2)
    # posting reserves the stock
    await page.get_by_test_id("order-post").click()
    await page.get_by_test_id("order-ship").wait_for(state="visible")
    assert "Проведён" in await page.get_by_test_id("order-state").inner_text()
    assert await page.get_by_test_id("line-qty").first.is_disabled()
    # the invoice: a PDF link
    await page.get_by_test_id("order-invoice").click()
    link = page.get_by_test_id("order-invoice-link")
    await link.wait_for()
    href = await link.get_attribute("href")
    pdf = await page.request.get(f"{demo}{href}")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")
    await shot(page, tmp_path, "orders-8-posted")
    # ... and emails it to the client
    await page.get_by_test_id("order-send").click()
    await page.get_by_test_id("order-note").filter(has_text="info@romashka.ru").wait_for()
    assert "Счёт отправляется на info@romashka.ru" in await page.get_by_test_id(
        "order-note").inner_text()
    order = await Order.filter(client_id=romashka.id).order_by("-id").first()
    assert str(order.state) == "posted" and order.invoice_id
    # the list of orders, by state
    await page.goto(f"{demo}/app/orders?state=posted")
    row = page.get_by_test_id("order-row")
    await row.wait_for()
    assert f"№ {order.number}" in await row.inner_text()
    await shot(page, tmp_path, "orders-9-list")
    # nothing wider than the phone
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390
