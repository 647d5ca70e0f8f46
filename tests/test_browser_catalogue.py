"""The catalogue on a phone (issue 13, section 7; K-4), in Chromium at 390×844 over the
demo data: the admin adds a product with a bad VAT rate, reads the message with the
draft kept, fixes it, finds the product by search, sets its stock; a manager sees the
catalogue and a product's card without any edit button."""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest

from tests.test_browser import browser, demo  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("KONTAKT_SCREENSHOTS")
FITS = """() => {
  const W = innerWidth, out = [];
  const inScroller = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true; } return false; };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 1 || r.left < -1) && !inScroller(el)
        && !el.closest('dialog:not([open])'))
      out.push((el.dataset.testid || el.tagName) + ' ' + Math.round(r.left) + '..' +
               Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, wide: out.slice(0, 5)};
}"""


async def _phone(demo, browser, telegram_id: int, path: str):  # noqa: F811
    context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True,
                                        timezone_id="Europe/Moscow", locale="ru-RU")
    page = await context.new_page()
    init = (await (await page.request.get(
        f"{demo}/sandbox/api/initdata?user_id={telegram_id}")).json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    await page.get_by_test_id("tabbar").wait_for()
    return page


async def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))


async def _fits(page, what: str) -> None:
    fit = await page.evaluate(FITS)
    assert fit["scroll"] <= PHONE["width"] and not fit["wide"], (what, fit)


async def test_k4_admin_adds_a_product_fixes_vat_finds_it_sets_stock(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100001, "/app/catalogue")  # Anna, admin
    rows = page.get_by_test_id("cat-row")
    await rows.first.wait_for()
    assert await rows.count() == 7  # the demo's products
    await _fits(page, "catalogue list")
    await _shot(page, "catalogue-list-admin")
    await page.get_by_test_id("cat-new").click()
    form = page.get_by_test_id("product-form")
    await form.wait_for()
    await page.get_by_test_id("pf-name").fill("Скрепки 28 мм")
    await page.get_by_test_id("pf-code").fill("SK-28")
    await page.get_by_test_id("pf-unit").fill("уп")
    await page.get_by_test_id("pf-vat").fill("18")
    await page.get_by_test_id("pf-cost").fill("35,50")
    await page.get_by_test_id("pf-category").select_option(label="Бумага и канцтовары")
    await page.get_by_test_id("pf-save").click()
    error = page.get_by_test_id("pf-error")
    await error.wait_for(state="visible")
    assert "«18»" in await error.inner_text()
    assert await page.get_by_test_id("pf-vat").get_attribute("aria-invalid") == "true"
    assert await page.get_by_test_id("pf-name").input_value() == "Скрепки 28 мм"
    assert await page.get_by_test_id("pf-cost").input_value() == "35,50"
    await _fits(page, "product form")
    await _shot(page, "catalogue-form-bad-vat")
    await page.get_by_test_id("pf-vat").fill("20")
    await page.get_by_test_id("pf-save").click()
    sheet = page.get_by_test_id("product-sheet")
    await sheet.wait_for()
    await page.get_by_test_id("ps-name").filter(has_text="Скрепки 28 мм").wait_for()
    assert "SK-28" in await page.get_by_test_id("ps-sub").inner_text()
    await _shot(page, "catalogue-card-new")
    await page.get_by_test_id("ps-close").click()
    await page.get_by_test_id("cat-search").fill("скрепки")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=cat-row]').length === 1")
    assert "Скрепки 28 мм" in await rows.first.inner_text()
    # its stock, set in the stock page's row
    await page.goto(f"{demo}/app/stock")
    await page.get_by_test_id("stock-search").fill("SK-28")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=stock-row]').length === 1")
    on_hand = page.get_by_test_id("stock-on-hand")
    await on_hand.fill("много")
    await on_hand.press("Enter")
    await page.get_by_test_id("stock-error").wait_for(state="visible")
    assert await on_hand.input_value() == "много"
    await on_hand.fill("25")
    await on_hand.press("Enter")
    await page.wait_for_function(
        "document.querySelector('[data-testid=stock-free]').textContent.trim() === '25'")
    await _fits(page, "stock")
    await _shot(page, "stock-admin")
    await page.goto(f"{demo}/app/catalogue")
    await page.get_by_test_id("cat-search").fill("SK-28")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=cat-row]').length === 1")
    await rows.first.click()
    await page.get_by_test_id("ps-stock-row").first.wait_for()
    assert "25" in await page.get_by_test_id("ps-stock-row").first.inner_text()
    await _shot(page, "catalogue-card-stock")
    # the settings: categories, kinds, warehouses, our legal entities; a bad INN named
    await page.goto(f"{demo}/app/catalogue/settings#entities")
    await page.get_by_test_id("cs-entity-new").locator("summary").click()
    new = page.get_by_test_id("cs-entity-new")
    await new.get_by_test_id("ce-name").fill("ООО «Второе»")
    await new.get_by_test_id("ce-inn").fill("7707083890")
    await new.get_by_test_id("ce-save").click()
    await new.get_by_test_id("ce-error").wait_for(state="visible")
    assert await new.get_by_test_id("ce-inn").input_value() == "7707083890"
    await _fits(page, "catalogue settings")
    await _shot(page, "catalogue-settings")


async def test_k4_a_manager_sees_the_catalogue_without_edit_buttons(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100003, "/app/more")  # Ivan, manager
    await page.get_by_test_id("nav-catalogue").click()
    rows = page.get_by_test_id("cat-row")
    await rows.first.wait_for()
    assert await page.get_by_test_id("cat-new").count() == 0
    assert await page.get_by_test_id("cat-settings-link").count() == 0
    await page.get_by_test_id("cat-chip").filter(has_text="Инструмент").click()
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=cat-row]').length === 2")
    await rows.first.click()
    await page.get_by_test_id("ps-price").first.wait_for()
    assert await page.get_by_test_id("ps-price").count() == 2  # retail and wholesale
    assert await page.get_by_test_id("ps-edit").count() == 0
    assert await page.get_by_test_id("ps-archive").count() == 0
    await _fits(page, "manager's card")
    await _shot(page, "catalogue-card-manager")
    await page.goto(f"{demo}/app/stock")
    await page.get_by_test_id("stock-row").first.wait_for()
    assert await page.get_by_test_id("stock-on-hand").count() == 0
    await page.get_by_test_id("stock-short").check()
    await page.get_by_test_id("stock-empty").wait_for()  # the demo has everything in stock
    await _shot(page, "stock-manager-short")
