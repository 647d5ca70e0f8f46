"""The ledger of settlements (K-6 receivables, M-6 payment deadlines): entries from an
order's invoice, shipment and cancellation in the same transaction; payments allocated
oldest due first or to the invoice named, partial and over payments, the credit taken
by the next debit, voids reallocating; who may record; bad input named.
The clock is pinned at 2026-06-10 (Moscow)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import Department, EntryKind, LedgerEntry, OwnEntity, Role
from services import ledger, order_invoices, payment_terms
from services import orders as order_svc
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.storage import LocalFileStore
from tests.test_orders import _setup

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal


async def _people(make_staff):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept, timezone="Europe/Moscow")
    head = await make_staff(Role.HEAD, department=dept, timezone="Europe/Moscow")
    return ivan, head


async def _posted(ivan, client, pipe, qty="2"):
    order = await order_svc.do_create_order(ivan, {"client_id": client.id})
    await order_svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": qty}])
    return (await order_svc.do_post(ivan, order.id)).order


async def _entries(client, kind=None):
    qs = LedgerEntry.filter(client_id=client.id)
    if kind:
        qs = qs.filter(kind=kind)
    return await qs.order_by("id")


async def test_k6_m6_entries_follow_the_order(database_url, make_staff, tmp_path):
    ivan, head = await _people(make_staff)
    client, _r, _s, pipe, _b, _m = await _setup(ivan)
    store = LocalFileStore(tmp_path)
    order = await _posted(ivan, client, pipe)  # 2 × 1000
    await order_invoices.do_make_invoice(ivan, order.id, store)
    await order_invoices.do_make_invoice(ivan, order.id, store)  # again: no second entry
    [inv] = await _entries(client, EntryKind.INVOICE)
    assert (inv.amount, inv.number, inv.dated, inv.due, inv.order_id) == (
        D("2000.00"), order.number, date(2026, 6, 10), date(2026, 6, 10), order.id)
    await order_svc.do_ship(ivan, order.id)
    [ship] = await _entries(client, EntryKind.SHIPMENT)
    assert (ship.amount, ship.dated) == (D("2000.00"), date(2026, 6, 10))
    # shipment basis: no due date until the goods go out
    await payment_terms.do_set_terms(head, client.id, {"basis": "shipment", "days": 10})
    second = await _posted(ivan, client, pipe, "1")
    await order_invoices.do_make_invoice(ivan, second.id, store)
    inv2 = (await _entries(client, EntryKind.INVOICE))[-1]
    assert inv2.due is None
    await order_svc.do_ship(ivan, second.id)
    assert (await LedgerEntry.get(id=inv2.id)).due == date(2026, 6, 20)
    # shipped without an invoice: the debt arises at the shipment
    third = await _posted(ivan, client, pipe, "1")
    await order_svc.do_ship(ivan, third.id)
    inv3 = (await _entries(client, EntryKind.INVOICE))[-1]
    assert (inv3.order_id, inv3.amount, inv3.due) == (third.id, D("1000.00"), date(2026, 6, 20))
    # cancelled after its invoice, nothing paid: the invoice entry is voided
    fourth = await _posted(ivan, client, pipe, "1")
    await order_invoices.do_make_invoice(ivan, fourth.id, store)
    await order_svc.do_cancel(ivan, fourth.id)
    assert (await LedgerEntry.get(order_id=fourth.id, kind=EntryKind.INVOICE)).void
    # cancelled after a part was paid: a credit note of the open amount
    fifth = await _posted(ivan, client, pipe, "1")
    await order_invoices.do_make_invoice(ivan, fifth.id, store)
    await ledger.do_record_payment(head, {"client_id": client.id, "amount": "300",
                                          "currency": "RUB", "invoice_number": fifth.number})
    await order_svc.do_cancel(ivan, fifth.id)
    [note] = await _entries(client, EntryKind.CREDIT_NOTE)
    assert (note.amount, note.order_id) == (D("700.00"), fifth.id)
    items = await ledger.open_items(ivan, client.id)
    assert [(i.number, i.open) for i in items] == [
        (order.number, D("2000.00")), (second.number, D("1000.00")),
        (third.number, D("1000.00"))]
    [bal] = await ledger.balances(ivan, client.id)
    assert (bal.owed, bal.credit, bal.overdue, bal.balance) == (
        D("4000.00"), D("0.00"), D("0.00"), D("4000.00"))


async def _hand_made(client, own):
    """Three invoices of 1000, 500 and 700, due 1 May, 1 June and 1 July 2026."""
    made = []
    for n, (amount, dated, due) in enumerate((
            ("1000.00", date(2026, 4, 1), date(2026, 5, 1)),
            ("500.00", date(2026, 5, 2), date(2026, 6, 1)),
            ("700.00", date(2026, 6, 1), date(2026, 7, 1)))):
        made.append(await LedgerEntry.create(
            client_id=client.id, own_entity_id=own.id, currency="RUB",
            kind=EntryKind.INVOICE, dated=dated, due=due, amount=D(amount),
            number=f"A-{n + 1}"))
    return made


async def _open(actor, client):
    return {i.number: i.open for i in await ledger.open_items(actor, client.id)}


async def test_k6_payments_partial_named_over_credit_and_void(database_url, make_staff):
    ivan, head = await _people(make_staff)
    client, *_ = await _setup(ivan)
    own = await OwnEntity.get(is_default=True)
    a, b, c = await _hand_made(client, own)
    pay = {"client_id": client.id, "currency": "RUB", "dated": date(2026, 6, 5)}
    # partial: oldest due first
    first = await ledger.do_record_payment(head, {**pay, "amount": "1 200,50", "number": "15"})
    assert first.kind == EntryKind.PAYMENT and first.amount == D("1200.50")
    assert await _open(ivan, client) == {"A-2": D("299.50"), "A-3": D("700.00")}
    # the named invoice first
    await ledger.do_record_payment(head, {**pay, "amount": "300", "invoice_number": "A-3"})
    assert await _open(ivan, client) == {"A-2": D("299.50"), "A-3": D("400.00")}
    # over: the rest is the client's credit
    third = await ledger.do_record_payment(head, {**pay, "amount": D("1000")})
    assert await _open(ivan, client) == {}
    [bal] = await ledger.balances(ivan, client.id)
    assert (bal.owed, bal.credit, bal.balance) == (D("0.00"), D("300.50"), D("-300.50"))
    # the next debit takes the credit by itself
    await ledger.do_adjust(head, {**pay, "amount": "100", "direction": "debit",
                                  "note": "доставка"})
    [bal] = await ledger.balances(ivan, client.id)
    assert (bal.owed, bal.credit) == (D("0.00"), D("200.50"))
    # void the first payment: its money leaves; the free 200,50 of the third
    # goes to the oldest due
    await ledger.do_void(head, first.id, "введён дважды")
    assert await _open(ivan, client) == {"A-1": D("799.50"), "A-2": D("200.50")}
    [bal] = await ledger.balances(ivan, client.id)
    assert (bal.owed, bal.credit, bal.overdue, bal.oldest_due) == (
        D("1000.00"), D("0.00"), D("1000.00"), date(2026, 5, 1))
    items = await ledger.open_items(ivan, client.id)
    assert [i.days_overdue for i in items] == [40, 9]
    # the ledger: newest first with each entry's running balance
    lines, total = await ledger.ledger(ivan, client.id, limit=3)
    assert total == 7
    assert [(ln.kind, ln.amount, ln.running, ln.void) for ln in lines] == [
        (EntryKind.DEBIT, D("100.00"), D("1000.00"), False),
        (EntryKind.PAYMENT, D("1000.00"), D("900.00"), False),
        (EntryKind.PAYMENT, D("300.00"), D("1900.00"), False)]
    assert (await ledger.ledger(ivan, client.id, offset=6))[0][0].id == a.id
    # /debts: mine, the overdue first
    [debt] = await ledger.overdue_of(ivan)
    assert (debt.client_id, debt.owed, debt.overdue, debt.days_overdue) == (
        client.id, D("1000.00"), D("1000.00"), 40)
    assert await ledger.overdue_of(head) == []  # not theirs to chase
    # a credit note to an invoice; void of a debit frees its credit again
    await ledger.do_credit_note(head, {**pay, "amount": "200,50", "invoice_entry_id": b.id})
    assert await _open(ivan, client) == {"A-1": D("799.50")}
    assert third.id and c.id


async def test_k6_bad_input_and_who_may_record(database_url, make_staff):
    ivan, head = await _people(make_staff)
    client, *_ = await _setup(ivan)
    own = await OwnEntity.get(is_default=True)
    await _hand_made(client, own)
    pay = {"client_id": client.id, "currency": "RUB"}
    for bad, field in (({"amount": "-5"}, "amount"), ({"amount": "0"}, "amount"),
                       ({"amount": "много"}, "amount"),
                       ({"amount": "10", "invoice_number": "Z-9"}, "invoice_number"),
                       ({"amount": "10", "currency": "рубли"}, "currency"),
                       ({"amount": "10", "dated": "2026-07-01"}, "dated"),
                       ({"amount": "10", "invoice_number": "A-1", "currency": "USD"},
                        "currency")):
        with pytest.raises(ValidationFailed) as err:
            await ledger.do_record_payment(head, {**pay, **bad})
        assert err.value.field == field
    with pytest.raises(ValidationFailed) as err:
        await ledger.do_adjust(head, {**pay, "amount": "10", "direction": "credit"})
    assert err.value.field == "note"
    with pytest.raises(PermissionDenied):  # a manager does not record payments
        await ledger.do_record_payment(ivan, {**pay, "amount": "10"})
    stranger = await make_staff(Role.HEAD, department=await Department.create(name="Опт"))
    with pytest.raises(NotFound):
        await ledger.do_record_payment(stranger, {**pay, "amount": "10"})
    with pytest.raises(NotFound):
        await ledger.balances(stranger, client.id)
    paid = await ledger.do_record_payment(head, {**pay, "amount": "10"})
    with pytest.raises(ValidationFailed) as err:
        await ledger.do_void(head, paid.id, "  ")
    assert err.value.field == "reason"
    with pytest.raises(PermissionDenied):
        await ledger.do_void(ivan, paid.id, "ошибка")
    assert await LedgerEntry.filter(client_id=client.id, kind=EntryKind.PAYMENT).count() == 1
