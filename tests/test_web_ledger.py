"""The JSON API of settlements (K-6, M-6, S-23): balances, open items and the ledger as
decimal strings, a payment as typed, bad input named in the person's language, a
manager refused a payment, and the reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import Department, EntryKind, LedgerEntry, OwnEntity, Role
from services import clients as client_svc
from tests.test_web import signed_in

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal


async def test_k6_m6_s23_settlements_through_the_api(service, emulator, make_staff):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept, language="ru")
    head = await make_staff(Role.HEAD, department=dept, language="ru")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    own = await OwnEntity.create(name="ООО «Контакт»", is_default=True)
    for n, (amount, due) in enumerate((("1000", date(2026, 5, 1)),
                                       ("500", date(2026, 6, 30)))):
        await LedgerEntry.create(client_id=client.id, own_entity_id=own.id, currency="RUB",
                                 kind=EntryKind.INVOICE, dated=date(2026, 4, 1), due=due,
                                 amount=D(amount), number=f"A-{n + 1}")
    await LedgerEntry.create(client_id=client.id, own_entity_id=own.id, currency="RUB",
                             kind=EntryKind.SHIPMENT, dated=date(2026, 6, 2),
                             amount=D("1500"), number="A-2")
    c = service.client
    # a manager reads but does not record
    await signed_in(service, emulator, ivan)
    resp = await c.post("/api/v1/ledger/payments", json={
        "client_id": client.id, "amount": "100", "currency": "RUB"})
    assert resp.status == 403
    body = await (await c.get(f"/api/v1/clients/{client.id}/balances")).json()
    assert [(b["owed"], b["overdue"], b["credit"]) for b in body["items"]] == [
        ("1500.00", "1000.00", "0.00")]
    # the head records a payment as typed, to a named invoice
    await signed_in(service, emulator, head)
    resp = await c.post("/api/v1/ledger/payments", json={
        "client_id": client.id, "amount": "1 200,50", "currency": "RUB",
        "invoice_number": "A-2", "number": "77"})
    assert resp.status == 201, await resp.text()
    paid = await resp.json()
    assert (paid["kind"], paid["amount"]) == ("payment", "1200.50")
    items = (await (await c.get(f"/api/v1/clients/{client.id}/open-items")).json())["items"]
    assert [(i["number"], i["open"], i["days_overdue"]) for i in items] == [
        ("A-1", "299.50", 40)]
    # bad input named in Russian, nothing recorded
    resp = await c.post("/api/v1/ledger/payments", json={
        "client_id": client.id, "amount": "-5", "currency": "RUB"})
    assert resp.status == 422
    resp = await c.post("/api/v1/ledger/payments", json={
        "client_id": client.id, "amount": "5", "currency": "RUB", "invoice_number": "Z-1"})
    assert resp.status == 422 and "Z-1" in await resp.text()
    page = await (await c.get(f"/api/v1/clients/{client.id}/ledger?limit=2")).json()
    assert page["total"] == 4 and page["items"][0]["running"] == "299.50"
    # void: the invoices are open again
    resp = await c.post(f"/api/v1/ledger/entries/{paid['id']}/void", json={"reason": "дубль"})
    assert resp.status == 200 and (await resp.json())["void"] is True
    body = await (await c.get(f"/api/v1/clients/{client.id}/balances")).json()
    assert body["items"][0]["owed"] == "1500.00"
    # terms
    resp = await c.put(f"/api/v1/clients/{client.id}/payment-terms",
                       json={"basis": "month_end", "days": 400})
    assert resp.status == 422
    resp = await c.put(f"/api/v1/clients/{client.id}/payment-terms",
                       json={"basis": "month_end", "days": 10})
    assert (await resp.json()) == {"basis": "month_end", "days": 10, "own": True}
    # reports
    aging = await (await c.get("/api/v1/reports/aging?on=2026-06-10")).json()
    assert [(r["name"], r["current"], r["d31_60"], r["total"]) for r in aging["items"]] == [
        ("Ромашка", "500.00", "1000.00", "1500.00")]
    dso = await (await c.get("/api/v1/reports/dso?on=2026-06-10&days=90")).json()
    assert dso["items"][0]["days"] == "90.0"
    s23 = await (await c.get("/api/v1/reports/payments-shipments?start=2026-06-01"
                             "&end=2026-06-30")).json()
    assert [(r["shipped"], r["paid"], r["difference"]) for r in s23["items"]] == [
        ("1500.00", "0.00", "1500.00")]  # the voided payment counts for nothing
    # another department's head sees nothing of it
    other = await make_staff(Role.HEAD, department=await Department.create(name="Опт"))
    await signed_in(service, emulator, other)
    assert (await c.get(f"/api/v1/clients/{client.id}/balances")).status == 404
    assert (await (await c.get("/api/v1/reports/aging")).json())["items"] == []
