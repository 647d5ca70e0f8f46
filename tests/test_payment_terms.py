"""Payment terms (K-6, M-6): the due date for each basis (known answers, February and
December into January), a client's own terms or the company's default, who sets them
and bad input named."""

from __future__ import annotations

from datetime import date

import pytest

from models import Department, Role, TermsBasis
from services import clients as client_svc
from services import payment_terms as svc
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.payment_terms import Terms, due_date


@pytest.mark.parametrize(("basis", "days", "invoice", "shipment", "due"), [
    ("invoice", 0, date(2026, 6, 10), None, date(2026, 6, 10)),
    ("invoice", 14, date(2026, 2, 20), None, date(2026, 3, 6)),
    ("invoice", 10, date(2025, 12, 28), None, date(2026, 1, 7)),
    ("shipment", 10, date(2026, 6, 1), None, None),  # not shipped: no due date yet
    ("shipment", 10, date(2026, 6, 1), date(2026, 6, 25), date(2026, 7, 5)),
    ("shipment", 5, date(2025, 12, 1), date(2025, 12, 29), date(2026, 1, 3)),
    ("month_end", 0, date(2026, 2, 3), None, date(2026, 2, 28)),
    ("month_end", 0, date(2028, 2, 3), None, date(2028, 2, 29)),  # a leap year
    ("month_end", 15, date(2026, 2, 14), None, date(2026, 3, 15)),
    ("month_end", 10, date(2025, 12, 5), None, date(2026, 1, 10)),
])
def test_m6_due_date_for_each_basis(basis, days, invoice, shipment, due):
    assert due_date(Terms(TermsBasis(basis), days), invoice, shipment) == due


async def test_k6_terms_of_a_client_or_the_company_default(database_url, make_staff):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept)
    head = await make_staff(Role.HEAD, department=dept)
    admin = await make_staff(Role.ADMIN)
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    assert await svc.get_terms(ivan, client.id) == Terms(TermsBasis.INVOICE, 0)
    # the company's default, set by an admin
    await svc.do_set_company_terms(admin, {"basis": "month_end", "days": 5})
    assert await svc.get_terms(ivan, client.id) == Terms(TermsBasis.MONTH_END, 5)
    with pytest.raises(PermissionDenied):
        await svc.do_set_company_terms(head, {"basis": "invoice", "days": 5})
    # the client's own, set by the head; a manager may not
    terms = await svc.do_set_terms(head, client.id, {"basis": "shipment", "days": "30"})
    assert terms == Terms(TermsBasis.SHIPMENT, 30, own=True)
    assert await svc.get_terms(ivan, client.id) == terms
    with pytest.raises(PermissionDenied):
        await svc.do_set_terms(ivan, client.id, {"basis": "invoice", "days": 1})
    # bad input names the field
    for bad, field in (({"basis": "invoice", "days": 366}, "days"),
                       ({"basis": "invoice", "days": -1}, "days"),
                       ({"basis": "invoice", "days": "много"}, "days"),
                       ({"basis": "later", "days": 1}, "basis")):
        with pytest.raises(ValidationFailed) as err:
            await svc.do_set_terms(head, client.id, bad)
        assert err.value.field == field
    assert await svc.get_terms(ivan, client.id) == terms  # unchanged
    # back to the default
    assert await svc.do_set_terms(head, client.id, None) == Terms(TermsBasis.MONTH_END, 5)
    # a head of another department does not see the client
    other = await make_staff(Role.HEAD, department=await Department.create(name="Опт"))
    with pytest.raises(NotFound):
        await svc.do_set_terms(other, client.id, {"basis": "invoice", "days": 1})
