"""The Mini App's bank statements and currency rates page (issue 14: K-6, A-15):
/app/bank renders for a head (upload, the queue with the reason in words, matched lines
of the last statement with a link to the client card), a manager gets a readable
refusal; the rates tab (admins change, heads view); the ☰ More link only for those who
may record payments."""

from __future__ import annotations

from datetime import date

from aiohttp import FormData

from models import Client, CurrencyRate, LegalEntity, OwnEntity, Role
from tests.test_bank_api import recorded  # noqa: F401 - the fixture (no ledger)
from tests.test_web import signed_in

OURS = "40702810900000012345"
NBSP = "\u00a0"


def _statement() -> bytes:
    docs = []
    for number, inn, name, amount in (("1", "7736207543", 'ООО "Ромашка"', "1500.00"),
                                      ("2", "7702070139", 'АО "Неизвестный"', "700.50")):
        docs.append(f"СекцияДокумент=Платежное поручение\r\nНомер={number}\r\n"
                    f"Дата=02.06.2026\r\nСумма={amount}\r\nПлательщикСчет=4070281040000000000"
                    f"{number}\r\nПлательщик1={name}\r\nПлательщикИНН={inn}\r\n"
                    f"ПолучательСчет={OURS}\r\nДатаПоступило=02.06.2026\r\n"
                    f"НазначениеПлатежа=Оплата по счету № 15\r\nКонецДокумента\r\n")
    text = ("1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\n"
            f"ДатаНачала=01.06.2026\r\nДатаКонца=04.06.2026\r\nРасчСчет={OURS}\r\n"
            + "".join(docs) + "КонецФайла\r\n")
    return text.encode("cp1251")


async def test_k6_bank_page_for_a_head_refused_for_a_manager(service, emulator, make_staff,
                                                            recorded):  # noqa: F811
    await OwnEntity.create(name='ООО "Контакт"', account=OURS)
    romashka = await Client.create(name='ООО "Ромашка"')
    await LegalEntity.create(client=romashka, name='ООО "Ромашка"', inn="7736207543")
    head = await make_staff(Role.HEAD, language="ru")
    manager = await make_staff(Role.MANAGER, language="ru")
    c = service.client
    # a manager: no link in ☰ More, a readable refusal on the page
    await signed_in(service, emulator, manager)
    more = await (await c.get("/app/more")).text()
    assert 'data-testid="nav-bank"' not in more
    resp = await c.get("/app/bank")
    assert resp.status == 403
    text = await resp.text()
    assert "администратор" in text.lower() and 'data-testid="bank-upload"' not in text
    assert 'data-testid="settle-bank-link"' not in await (await c.get("/app/settlements")).text()
    # a head: the link, the page with the upload and an empty queue
    await signed_in(service, emulator, head)
    assert 'data-testid="nav-bank"' in await (await c.get("/app/more")).text()
    assert 'data-testid="settle-bank-link"' in await (await c.get("/app/settlements")).text()
    html = await (await c.get("/app/bank")).text()
    assert 'data-testid="bank-upload"' in html and 'data-testid="bank-queue-empty"' in html
    form = FormData()
    form.add_field("file", _statement(), filename="kl_to_1c.txt")
    resp = await c.post("/api/v1/bank/statements", data=form)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["new"], body["matched"], body["unmatched"]) == (2, 1, 1)
    html = (await (await c.get("/app/bank")).text()).replace(NBSP, " ")
    assert html.count('data-testid="bank-line"') == 1
    assert "700,50 ₽" in html and "7702070139" in html and "Неизвестный" in html
    assert 'data-testid="bank-reason"' in html and "no_client" not in html
    # the matched one of the last statement, with the client card's link
    assert f'href="/app/clients/{romashka.id}#settlements"' in html
    # ignore it: out of the queue, in the "ignored" filter with Restore
    line_id = int(html.split('data-testid="bank-line" data-id="')[1].split('"')[0])
    resp = await c.post(f"/api/v1/bank/lines/{line_id}/ignore", json={"reason": "возврат"})
    assert resp.status == 200, await resp.text()
    html = await (await c.get("/app/bank")).text()
    assert 'data-testid="bank-line"' not in html
    html = await (await c.get("/app/bank?show=ignored")).text()
    assert "возврат" in html and 'data-testid="bank-restore"' in html


async def test_a15_rates_tab_admins_change_heads_view(service, emulator, make_staff):
    await CurrencyRate.create(dated=date(2026, 6, 5), currency="USD", base="RUB",
                              rate="92.5058", source="manual")
    head = await make_staff(Role.HEAD, language="ru")
    admin = await make_staff(Role.ADMIN, language="ru")
    c = service.client
    await signed_in(service, emulator, head)
    html = await (await c.get("/app/bank?tab=rates")).text()
    assert "1 USD = " in html and "92,5058 RUB" in html
    assert 'data-testid="rate-manual"' not in html and 'data-testid="rate-delete"' not in html
    assert 'data-testid="convert-box"' in html and 'data-testid="rates-admins"' in html
    await signed_in(service, emulator, admin)
    html = await (await c.get("/app/bank?tab=rates&on=2026-06-05")).text()
    assert 'data-testid="rate-manual"' in html and 'data-testid="rate-delete"' in html
    assert 'data-testid="rates-upload"' in html
    html = await (await c.get("/app/bank?tab=rates&on=2026-06-04")).text()
    assert 'data-testid="rates-empty"' in html
    html = await (await c.get("/app/bank?tab=rates&on=junk")).text()  # bad input: named
    assert 'class="error"' in html
