"""Receivables reports (K-6, S-23) with known numbers from hand-made entries, the clock
pinned at 2026-06-10: aging per client, manager and department on a date, DSO, payments
against shipments; each person sees the clients they see."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import Department, EntryKind, LedgerEntry, LegalEntity, OwnEntity, Role
from services import clients as client_svc
from services import ledger, ledger_reports
from services.errors import ValidationFailed

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal
ON = date(2026, 6, 10)


async def _world(make_staff):
    sales = await Department.create(name="Продажи")
    opt = await Department.create(name="Опт")
    ivan = await make_staff(Role.MANAGER, department=sales, name="Иван Петров")
    petr = await make_staff(Role.MANAGER, department=opt, name="Пётр Сидоров")
    head = await make_staff(Role.HEAD, department=sales)
    admin = await make_staff(Role.ADMIN)
    r = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    v = (await client_svc.do_create_client(petr, {"name": "Василёк"})).client
    own = await OwnEntity.create(name="ООО «Контакт»", is_default=True)
    le = await LegalEntity.create(client=r, name="ООО «Ромашка»")

    async def entry(client, kind, amount, dated, due=None, currency="RUB", legal=None):
        await LedgerEntry.create(client_id=client.id, legal_entity_id=legal,
                                 own_entity_id=own.id, currency=currency, kind=kind,
                                 dated=dated, due=due, amount=D(amount))

    inv = EntryKind.INVOICE
    for amount, dated, due in (("1000", date(2026, 6, 1), date(2026, 6, 15)),
                               ("500", date(2026, 5, 20), date(2026, 6, 1)),
                               ("700", date(2026, 3, 20), date(2026, 4, 20)),
                               ("300", date(2026, 2, 20), date(2026, 3, 20)),
                               ("200", date(2025, 12, 1), date(2026, 1, 1))):
        await entry(r, inv, amount, dated, due, legal=le.id)
    await entry(r, EntryKind.SHIPMENT, "1500", date(2026, 6, 2), legal=le.id)
    await entry(v, inv, "1000", date(2026, 4, 1), date(2026, 5, 1))
    await entry(v, inv, "400", date(2026, 6, 1), date(2026, 6, 30), currency="USD")
    await entry(v, EntryKind.SHIPMENT, "400", date(2026, 6, 3), currency="USD")
    # paid 100 on 5 June: the oldest due (the 200 of 1 January)
    await ledger.do_record_payment(admin, {"client_id": r.id, "amount": "100",
                                           "currency": "RUB", "dated": date(2026, 6, 5)})
    return ivan, petr, head, admin, r, v, sales


def _table(rows):
    return {(row.name, row.currency): tuple(row.buckets.values()) for row in rows}


async def test_k6_aging_per_client_manager_and_department(database_url, make_staff):
    ivan, petr, head, admin, r, v, sales = await _world(make_staff)
    assert _table(await ledger_reports.aging(admin, ON)) == {
        ("Ромашка", "RUB"): (D(1000), D(500), D(700), D(300), D(100)),
        ("Василёк", "RUB"): (D(0), D(0), D(1000), D(0), D(0)),
        ("Василёк", "USD"): (D(400), D(0), D(0), D(0), D(0))}
    # on an earlier day: the payment of 5 June not made yet
    assert _table(await ledger_reports.aging(admin, date(2026, 6, 4)))[
        ("Ромашка", "RUB")] == (D(1000), D(500), D(700), D(300), D(200))
    by_manager = await ledger_reports.aging(admin, ON, by="manager")
    assert {(row.name, row.currency): row.total for row in by_manager} == {
        ("Иван Петров", "RUB"): D(2600), ("Пётр Сидоров", "RUB"): D(1000),
        ("Пётр Сидоров", "USD"): D(400)}
    by_dept = await ledger_reports.aging(admin, ON, by="department")
    assert {(row.name, row.currency): row.total for row in by_dept} == {
        ("Продажи", "RUB"): D(2600), ("Опт", "RUB"): D(1000), ("Опт", "USD"): D(400)}
    # who sees what: the head their department's clients, a manager their own
    assert set(_table(await ledger_reports.aging(head, ON))) == {("Ромашка", "RUB")}
    assert set(_table(await ledger_reports.aging(petr, ON))) == {
        ("Василёк", "RUB"), ("Василёк", "USD")}
    assert set(_table(await ledger_reports.aging(admin, ON, department_id=sales.id))) == {
        ("Ромашка", "RUB")}
    with pytest.raises(ValidationFailed) as err:
        await ledger_reports.aging(admin, ON, by="colour")
    assert err.value.field == "by"


async def test_k6_dso(database_url, make_staff):
    ivan, petr, head, admin, r, v, sales = await _world(make_staff)
    found = {d.currency: d for d in await ledger_reports.dso(admin, ON, days=30)}
    # RUB: 3600 open ÷ 1500 invoiced since 11 May × 30 days
    assert (found["RUB"].receivables, found["RUB"].sales, found["RUB"].days) == (
        D("3600.00"), D("1500.00"), D("72.0"))
    assert found["USD"].days == D("30.0")
    [mine] = await ledger_reports.dso(ivan, ON, days=30)
    assert (mine.receivables, mine.days) == (D("2600.00"), D("52.0"))
    assert (await ledger_reports.dso(petr, ON, days=30))[0].days is None  # no RUB sales
    with pytest.raises(ValidationFailed):
        await ledger_reports.dso(admin, ON, days=0)


async def test_s23_payments_against_shipments(database_url, make_staff):
    ivan, petr, head, admin, r, v, sales = await _world(make_staff)
    rows = await ledger_reports.payments_vs_shipments(admin, date(2026, 6, 1),
                                                      date(2026, 6, 30))
    assert [(x.client, x.currency, x.shipped, x.paid, x.difference) for x in rows] == [
        ("Ромашка", "RUB", D(1500), D(100), D(1400)),
        ("Василёк", "USD", D(400), D(0), D(400))]
    by_entity = await ledger_reports.payments_vs_shipments(
        head, date(2026, 6, 1), date(2026, 6, 30), by="legal_entity")
    assert [(x.legal_entity, x.difference) for x in by_entity] == [("ООО «Ромашка»", D(1400))]
    assert await ledger_reports.payments_vs_shipments(admin, date(2026, 5, 1),
                                                      date(2026, 5, 31)) == []
    with pytest.raises(ValidationFailed) as err:
        await ledger_reports.payments_vs_shipments(admin, ON, date(2026, 6, 1))
    assert err.value.field == "end"
