"""M-8 the registry of marketing service suppliers: the role on a client (marked,
made new, removed), the services with agreed prices (bad input named, rights), and the
figures by hand: the supplier's costs per campaign, contacts gained by first touch and
the cost per contact."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import Attribution, Campaign, CampaignCost, PartnerRole, Touch, TouchVia
from services import clients as client_svc
from services import suppliers as svc
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal


async def _client(actor, name):
    return (await client_svc.do_create_client(actor, {"name": name})).client


async def test_m8_supplier_role_services_and_rights(staff_world):
    """M-8: heads and admins mark a client a supplier, add, edit and archive its
    services; a manager reads only; the role removed goes to the archived list."""
    w = staff_world
    print_house = await _client(w["ivan"], "Типография Бета")  # Ivan manages it
    with pytest.raises(PermissionDenied):
        await svc.do_mark_supplier(w["ivan"], print_house.id)
    await svc.do_mark_supplier(w["head_msk"], print_house.id)
    await svc.do_mark_supplier(w["head_msk"], print_house.id)  # again: one role
    assert await PartnerRole.filter(client_id=print_house.id).count() == 1
    made = await svc.do_create_supplier(w["admin"], {"name": "Радио Волна"})
    rows, total = await svc.list_suppliers(w["admin"])
    assert total == 2 and [r.client.name for r in rows] == ["Радио Волна", "Типография Бета"]
    rows, total = await svc.list_suppliers(w["admin"], q="типография")
    assert [r.client.id for r in rows] == [print_house.id]
    # the Kyiv manager sees neither client: neither supplier
    assert (await svc.list_suppliers(w["olena"]))[1] == 0
    with pytest.raises(NotFound):
        await svc.get_supplier(w["olena"], print_house.id)
    service = await svc.do_add_service(w["head_msk"], print_house.id, {
        "name": "Листовки A5", "unit": "1000 шт", "price": "4 500,50", "currency": "rub",
        "agreed_on": "2026-05-01", "valid_until": "2026-12-31"})
    assert service.price == D("4500.50") and service.currency == "RUB"
    for bad, field in [({"name": ""}, "name"), ({"name": "x", "price": "abc"}, "price"),
                       ({"name": "x", "price": "-5"}, "price"),
                       ({"name": "x", "currency": "XYZ"}, "currency"),
                       ({"name": "x", "agreed_on": "01.05.2026"}, "agreed_on"),
                       ({"name": "x", "agreed_on": "2026-05-01",
                         "valid_until": "2026-04-01"}, "valid_until")]:
        with pytest.raises(ValidationFailed) as exc:
            await svc.do_add_service(w["head_msk"], print_house.id, bad)
        assert exc.value.field == field
    with pytest.raises(PermissionDenied):
        await svc.do_add_service(w["ivan"], print_house.id, {"name": "Мой"})
    await svc.do_update_service(w["admin"], service.id, {"price": "5000", "note": "с НДС"})
    await svc.do_archive_service(w["admin"], service.id)
    got = await svc.services_of(w["ivan"], print_house.id)
    assert [(s.price, s.archived, s.note) for s in got] == [(D("5000.00"), True, "с НДС")]
    await svc.do_unmark_supplier(w["admin"], made.client_id)
    assert [r.client.name for r in (await svc.list_suppliers(w["admin"]))[0]] == [
        "Типография Бета"]
    assert [r.client.name for r in (await svc.list_suppliers(
        w["admin"], archived=True))[0]] == ["Радио Волна"]
    with pytest.raises(ValidationFailed):
        await svc.do_add_service(w["admin"], made.client_id, {"name": "Эфир"})
    await svc.do_mark_supplier(w["admin"], made.client_id)  # back
    assert (await svc.role_of(made.client_id)).archived_at is None


async def test_m8_supplier_figures_by_hand(staff_world):
    """M-8: costs of the supplier per campaign (planned, actual), contacts gained =
    distinct clients whose FIRST touch names the campaign (last touches and other
    campaigns not counted), cost per contact = the campaign's actual costs / contacts."""
    w = staff_world
    admin = w["admin"]
    sup = await _client(admin, "Агентство Альфа")
    other_sup = await _client(admin, "Агентство Омега")
    await svc.do_mark_supplier(admin, sup.id)
    start = TEST_NOW.date() - timedelta(days=30)
    spring = await Campaign.create(name="Весна", starts_on=start)
    autumn = await Campaign.create(name="Осень", starts_on=start + timedelta(days=10),
                                   currency="UAH")
    unrelated = await Campaign.create(name="Чужая", starts_on=start)
    await CampaignCost.create(campaign=spring, item="Баннеры", planned=D("10000"),
                              actual=D("12000"), supplier=sup)
    await CampaignCost.create(campaign=spring, item="Эфир", planned=D("5000"),
                              actual=None, supplier=sup)
    await CampaignCost.create(campaign=spring, item="SMM", planned=D("3000"),
                              actual=D("3000"), supplier=other_sup)
    await CampaignCost.create(campaign=autumn, item="Листовки", planned=D("700.50"),
                              actual=D("600.25"), supplier=sup)
    await CampaignCost.create(campaign=unrelated, item="Прочее", planned=D("1"),
                              actual=D("1"), supplier=other_sup)
    people = [await _client(admin, f"Клиент {n}") for n in range(5)]
    at = TEST_NOW

    async def touch(client, campaign, kind, subject=None):
        await Attribution.create(subject=subject or f"c:{client.id}", touch=kind,
                                 client=client, campaign=campaign, via=TouchVia.MANUAL, at=at)
    for p in people[:3]:
        await touch(p, spring, Touch.FIRST)
    # the same client's deal first touch: still one contact
    await touch(people[0], spring, Touch.FIRST, subject="d:9001")
    await touch(people[3], spring, Touch.LAST)          # last touch: not gained
    await touch(people[3], unrelated, Touch.FIRST)
    got = await svc.figures(admin, sup.id)
    rows = {r.name: r for r in got.campaigns}
    assert set(rows) == {"Весна", "Осень"}
    s = rows["Весна"]
    assert (s.planned, s.actual, s.campaign_actual, s.contacts, s.per_contact) == (
        D("15000.00"), D("12000.00"), D("15000.00"), 3, D("5000.00"))
    a = rows["Осень"]
    assert (a.planned, a.actual, a.contacts, a.per_contact, a.currency) == (
        D("700.50"), D("600.25"), 0, None, "UAH")
    assert got.planned == {"RUB": D("15000.00"), "UAH": D("700.50")}
    assert got.actual == {"RUB": D("12000.00"), "UAH": D("600.25")}
    assert [r.name for r in got.campaigns] == ["Осень", "Весна"]  # newest first
