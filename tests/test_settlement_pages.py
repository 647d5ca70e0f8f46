"""The Mini App's settlements pages (issue 14: K-6, M-6, S-23): the client card's
"💰 Settlements" section with a known balance, no payment buttons for a manager, a head's
payment through the sheet's API call and the new balance on the card, the ledger page
(words, not codes; void for heads) and the report page (aging, DSO, S-23)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models import Department, EntryKind, LedgerEntry, OwnEntity, Role
from services import clients as client_svc
from services.clock import utcnow
from tests.test_web import signed_in

NBSP = "\u00a0"


def plain(text: str) -> str:
    return text.replace(NBSP, " ")


async def _setup(make_staff):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept, language="ru", name="Иван Петров")
    head = await make_staff(Role.HEAD, department=dept, language="ru")
    client = (await client_svc.do_create_client(ivan, {"name": "ООО «Ромашка»"})).client
    own = await OwnEntity.create(name="ООО «Контакт-Опт»", is_default=True)
    today = utcnow().date()
    invoice = await LedgerEntry.create(
        client_id=client.id, own_entity_id=own.id, currency="RUB", kind=EntryKind.INVOICE,
        dated=today - timedelta(days=40), due=today - timedelta(days=35),
        amount=Decimal("15830.40"), number="A-7")
    await LedgerEntry.create(
        client_id=client.id, own_entity_id=own.id, currency="RUB", kind=EntryKind.SHIPMENT,
        dated=today - timedelta(days=40), amount=Decimal("15830.40"), number="A-7")
    return ivan, head, client, invoice


async def test_k6_m6_card_section_balance_and_a_heads_payment(service, emulator, make_staff):
    ivan, head, client, invoice = await _setup(make_staff)
    c = service.client
    # a manager: the section with the balance, overdue, the open invoice; no buttons
    await signed_in(service, emulator, ivan)
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    assert 'data-testid="client-settlements"' in html
    assert "15 830,40 ₽" in html and 'data-testid="settle-overdue"' in html
    assert 'data-testid="settle-open-row"' in html and "A-7" in html
    assert f'href="/app/clients/{client.id}/ledger"' in html
    assert 'data-testid="settle-payment"' not in html and 'id="settle-sheet"' not in html
    assert 'data-testid="settle-terms-form"' not in html
    # a head: the buttons, the sheet with the open invoice to pay first, the terms form
    await signed_in(service, emulator, head)
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    for testid in ("settle-payment", "settle-credit-note", "settle-adjust", "settle-sheet",
                   "settle-terms-form"):
        assert f'data-testid="{testid}"' in html, testid
    assert f'<option value="{invoice.id}" data-currency="RUB">' in html
    # the sheet's call: a bad amount named, nothing recorded
    body = {"client_id": client.id, "amount": "abc", "currency": "RUB",
            "dated": utcnow().date().isoformat(), "number": None, "note": None,
            "invoice_entry_id": invoice.id}
    resp = await c.post("/api/v1/ledger/payments", json=body)
    assert resp.status == 422 and "«abc»" in str(await resp.json())
    resp = await c.post("/api/v1/ledger/payments", json={**body, "amount": "10 000"})
    assert resp.status == 201, await resp.text()
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    assert "5 830,40 ₽" in html and "15 830,40 ₽" not in html
    assert 'data-testid="settle-payments"' in html and "10 000 ₽" in html


async def test_m6_terms_form_names_bad_days(service, emulator, make_staff):
    _ivan, head, client, _inv = await _setup(make_staff)
    await signed_in(service, emulator, head)
    c = service.client
    resp = await c.put(f"/api/v1/clients/{client.id}/payment-terms",
                       json={"basis": "shipment", "days": "abc"})
    assert resp.status == 422 and "«abc»" in str(await resp.json())
    resp = await c.put(f"/api/v1/clients/{client.id}/payment-terms",
                       json={"basis": "shipment", "days": "14"})
    assert resp.status == 200
    html = await (await c.get(f"/app/clients/{client.id}")).text()
    assert '<option value="shipment" selected>' in html and 'value="14"' in html
    assert 'data-testid="settle-terms-default"' in html


async def test_k6_ledger_page_words_running_balance_and_void(service, emulator, make_staff):
    ivan, head, client, invoice = await _setup(make_staff)
    c = service.client
    await signed_in(service, emulator, ivan)
    html = plain(await (await c.get(f"/app/clients/{client.id}/ledger")).text())
    assert html.count('data-testid="ledger-row"') == 2
    assert "🧾" in html and "🚚" in html and "+15 830,40 ₽" in html
    assert ">invoice<" not in html and ">shipment<" not in html
    assert 'data-testid="ledger-void"' not in html and 'data-testid="ledger-more"' not in html
    await signed_in(service, emulator, head)
    html = await (await c.get(f"/app/clients/{client.id}/ledger")).text()
    assert 'data-testid="ledger-void"' in html and 'data-testid="void-sheet"' in html
    # the void sheet's call: a reason is needed
    resp = await c.post(f"/api/v1/ledger/entries/{invoice.id}/void", json={"reason": ""})
    assert resp.status == 422
    resp = await c.post(f"/api/v1/ledger/entries/{invoice.id}/void", json={"reason": "дубль"})
    assert resp.status == 200
    html = await (await c.get(f"/app/clients/{client.id}/ledger")).text()
    assert "dismissed" in html and "дубль" in html
    # someone else's client: not found
    resp = await c.get("/app/clients/999999/ledger")
    assert resp.status == 404


async def test_k6_s23_report_page(service, emulator, make_staff):
    ivan, head, client, _inv = await _setup(make_staff)
    c = service.client
    await signed_in(service, emulator, head)
    html = plain(await (await c.get("/app/settlements")).text())
    assert 'data-testid="aging-row"' in html and "ООО «Ромашка»" in html
    assert f'href="/app/clients/{client.id}#settlements"' in html
    assert "15 830,40 ₽" in html and 'class="b-d31_60"' in html
    assert 'data-testid="dso"' in html
    html = plain(await (await c.get("/app/settlements?by=manager")).text())
    assert "Иван Петров" in html
    html = await (await c.get("/app/settlements?on=31.12.2025")).text()
    assert 'data-testid="settle-report-error"' in html
    start = (utcnow().date() - timedelta(days=60)).isoformat()
    html = plain(await (await c.get(f"/app/settlements?tab=s23&from={start}")).text())
    assert 'data-testid="s23-row"' in html and "15 830,40 ₽" in html
    html = await (await c.get("/app/settlements?tab=s23&from=2026-02-01&to=2026-01-01")).text()
    assert 'data-testid="settle-report-error"' in html
    # linked from ☰ More and from the reports
    assert 'href="/app/settlements"' in await (await c.get("/app/more")).text()
    assert 'data-testid="settlements-link"' in await (await c.get("/app/reports")).text()


async def test_a15_the_cards_credit_limit(service, emulator, make_staff):
    """A-15 on the card: no limit; a head sets one (a bad amount named), the card shows
    it with what is used and free; a manager sees it and cannot change it."""
    ivan, head, client, _inv = await _setup(make_staff)
    c = service.client
    await signed_in(service, emulator, head)
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    assert 'data-testid="credit-none"' in html and 'data-testid="credit-form"' in html
    resp = await c.put(f"/api/v1/clients/{client.id}/credit",
                       json={"amount": "много", "currency": "RUB"})
    assert resp.status == 422 and "«много»" in str(await resp.json())
    resp = await c.put(f"/api/v1/clients/{client.id}/credit",
                       json={"amount": "20 000", "currency": "RUB", "overdue_days": "10"})
    assert resp.status == 200, await resp.text()
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    assert "20 000 ₽" in html and "15 830,40 ₽" in html and "4 169,60 ₽" in html
    assert 'value="20000"' in html and 'value="10"' in html
    await signed_in(service, emulator, ivan)
    html = plain(await (await c.get(f"/app/clients/{client.id}")).text())
    assert 'data-testid="credit-limit-amount"' in html and "20 000 ₽" in html
    assert 'data-testid="credit-form"' not in html
    assert (await c.put(f"/api/v1/clients/{client.id}/credit",
                        json={"amount": "1", "currency": "RUB"})).status == 403
