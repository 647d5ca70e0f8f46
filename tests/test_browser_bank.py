"""In Chromium at a phone's 390×844: bank statements and currency rates (issue 14: K-6,
A-15) on the demo data — Svetlana (a head) opens 🏦 Bank and rates from ☰ More, uploads a
1C statement (cp1251) with a payment from ООО «Ромашка» for invoice 000001 and one from an
unknown INN, reads the report (1 matched, 1 waiting with the reason in words), assigns
the waiting one to «ИП Сидоров» (it leaves the queue); a client not chosen from the list
is named. Rates are changed by admins: Anna (the admin) sets a manual USD rate «92,5058»
(a bad rate named, the draft kept), converts 100 USD, and deletes the rate."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.async_api import expect

from tests.test_browser import browser, demo, plain, shot  # noqa: F401 - the fixtures

pytestmark = pytest.mark.browser
OURS = "40702810938000012345"  # the demo's ООО «Контакт-Опт»



def statement(day: str) -> bytes:
    docs = "".join(
        f"СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата={day}\r\nСумма={amount}\r\n"
        f"ПлательщикСчет={acc}\r\nПлательщик=ИНН {inn} {name}\r\nПлательщикИНН={inn}\r\n"
        f"Плательщик1={name}\r\nПолучательСчет={OURS}\r\nДатаПоступило={day}\r\n"
        f"Получатель1=ООО «Контакт-Опт»\r\nНазначениеПлатежа={purpose}\r\nКонецДокумента\r\n"
        for n, amount, acc, inn, name, purpose in (
            ("311", "5000.00", "40702810400000000001", "7707083893", "ООО «Ромашка»",
             "Оплата по счёту 000001 за товар"),
            ("312", "2400.00", "40802810500000000077", "500100732259", "ИП Сидоров А. В.",
             "Оплата за товар, без НДС")))
    return ("1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\n"
            f"ДатаНачала={day}\r\nДатаКонца={day}\r\nРасчСчет={OURS}\r\n{docs}"
            "КонецФайла\r\n").encode("cp1251")




async def _fits(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


async def _sign_in(browser, demo, tid: int, path: str):  # noqa: F811
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id={tid}")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    await page.get_by_test_id("current-user").wait_for()
    return page


async def test_k6_a15_bank_and_rates_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    from services.clock import utcnow

    today = utcnow().date()
    page = await _sign_in(browser, demo, 100005, "/app/more")
    await page.get_by_test_id("nav-bank").click()
    await page.wait_for_url("**/app/bank")
    assert "Загрузить выписку" in await page.get_by_test_id("bank-upload").inner_text()
    src = tmp_path / "kl_to_1c.txt"
    src.write_bytes(statement(today.strftime("%d.%m.%Y")))
    await page.get_by_test_id("bank-file").set_input_files(str(src))
    report = page.get_by_test_id("bank-report")
    await report.wait_for(state="visible")
    text = plain(await report.inner_text())
    assert "Входящих платежей в файле: 2" in text
    assert "разнесено по клиентам: 1" in text and "ждут разбора (ниже): 1" in text
    line = page.get_by_test_id("bank-line")
    await expect(line).to_have_count(1)
    one = plain(await line.inner_text())
    assert "2 400 ₽" in one and "500100732259" in one and "ИП Сидоров" in one
    assert "ни у одного клиента" in one.lower() or "ИНН" in one
    reason = plain(await page.get_by_test_id("bank-reason").inner_text())
    assert reason and "no_client" not in reason
    matched = page.get_by_test_id("bank-matched-row")
    await expect(matched).to_have_count(1)
    assert "Ромашка" in await matched.inner_text()
    await _fits(page)
    await shot(page, tmp_path, "bank-1-report")
    # assign: a name typed but not chosen is named, the sheet stays
    await page.get_by_test_id("bank-assign").click()
    sheet = page.get_by_test_id("bank-assign-sheet")
    await sheet.wait_for()
    await page.get_by_test_id("bank-client").fill("Нет такого")
    await page.get_by_test_id("bank-assign-save").click()
    error = page.get_by_test_id("bank-assign-error")
    await error.wait_for(state="visible")
    assert "выберите клиента" in await error.inner_text()
    await page.get_by_test_id("bank-client").fill("")
    await page.get_by_test_id("bank-client").press_sequentially("Сидор", delay=30)
    option = page.locator("#bank-clients option[value='ИП Сидоров А. В.']")
    await option.wait_for(state="attached")
    await page.get_by_test_id("bank-client").fill("ИП Сидоров А. В.")
    await _fits(page)
    await shot(page, tmp_path, "bank-2-assign")
    await page.get_by_test_id("bank-assign-save").click()
    await page.get_by_test_id("bank-queue-empty").wait_for()
    await expect(page.get_by_test_id("bank-line")).to_have_count(0)
    # the rates tab: a head views, no changes
    await page.get_by_test_id("tab-rates").click()
    await page.get_by_test_id("convert-box").wait_for()
    assert await page.get_by_test_id("rate-manual").count() == 0
    await page.close()

    # the admin: a manual USD rate (a bad one named, the draft kept), convert, delete
    page = await _sign_in(browser, demo, 100001, "/app/bank?tab=rates")
    await page.get_by_test_id("rate-currency").select_option("USD")
    await page.get_by_test_id("rate-value").fill("92,50,58")
    await page.get_by_test_id("rate-save").click()
    error = page.get_by_test_id("rate-error")
    await error.wait_for(state="visible")
    assert "не число" in await error.inner_text()
    assert await page.get_by_test_id("rate-value").input_value() == "92,50,58"
    await page.get_by_test_id("rate-value").fill("92,5058")
    await page.get_by_test_id("rate-save").click()
    row = page.get_by_test_id("rate-row").filter(has_text="USD")
    await row.wait_for()
    assert "92,5058 RUB" in plain(await row.inner_text())
    assert "вручную" in await row.inner_text()
    await page.get_by_test_id("convert-amount").fill("100")
    await page.get_by_test_id("convert-go").click()
    result = page.get_by_test_id("convert-result")
    await result.wait_for(state="visible")
    assert "9 250,58 RUB" in plain(await result.inner_text())
    await page.get_by_test_id("convert-from").select_option("EUR")
    await page.get_by_test_id("convert-go").click()
    cerr = page.get_by_test_id("convert-error")
    await cerr.wait_for(state="visible")
    assert "EUR" in await cerr.inner_text()
    await _fits(page)
    await shot(page, tmp_path, "bank-3-rates")
    page.once("dialog", lambda d: d.accept())
    await row.get_by_test_id("rate-delete").click()
    await page.get_by_test_id("rates-empty").wait_for()
    await shot(page, tmp_path, "bank-4-deleted")
