"""Product matrices (issue 13: S-22): admins tick products per business sphere, each
person keeps "my products", a client's matrix is its spheres' — and an order still
asks to confirm a product outside it."""

from __future__ import annotations

import pytest

from models import DictionaryItem, Product, Role
from services import clients as client_svc
from services import matrices as svc
from services import orders as order_svc
from services.errors import NotFound, PermissionDenied


async def test_s22_spheres_my_products_and_a_clients_matrix(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    ivan = await make_staff(Role.MANAGER)
    [building, *_rest] = await svc.spheres()
    drill = await Product.create(name="Дрель", code="DR-18")
    bolt = await Product.create(name="Болт М8", code="BT-8")
    paper = await Product.create(name="Бумага A4", code="P-A4")
    await svc.do_set_matrix(admin, building.id, drill.id, True)
    await svc.do_set_matrix(admin, building.id, bolt.id, True)
    await svc.do_set_matrix(admin, building.id, bolt.id, True)  # twice: once
    await svc.do_set_matrix(admin, building.id, bolt.id, False)
    rows, more = await svc.sphere_products(building.id)
    assert not more and [(t.product.code, t.on) for t in rows] == [
        ("BT-8", False), ("P-A4", False), ("DR-18", True)]
    rows, _ = await svc.sphere_products(building.id, q="дрель")
    assert [t.product.code for t in rows] == ["DR-18"]
    rows, _ = await svc.sphere_products(building.id, only_on=True)
    assert [t.product.code for t in rows] == ["DR-18"]
    with pytest.raises(PermissionDenied):
        await svc.do_set_matrix(ivan, building.id, paper.id, True)
    with pytest.raises(NotFound):
        await svc.do_set_matrix(admin, 999999, paper.id, True)
    not_a_sphere = await DictionaryItem.exclude(dictionary__code="sphere").first()
    with pytest.raises(NotFound):
        await svc.sphere_products(not_a_sphere.id)
    # my products: each his own
    await svc.do_track(ivan, paper.id, True)
    await svc.do_track(ivan, bolt.id, True)
    await svc.do_track(ivan, bolt.id, False)
    assert [p.code for p in await svc.my_products(ivan)] == ["P-A4"]
    assert await svc.my_products(admin) == []
    with pytest.raises(NotFound):
        await svc.do_track(ivan, 999999, True)
    # a client's matrix: its spheres'
    client = (await client_svc.do_create_client(ivan, {"name": "Стройка"})).client
    assert await svc.client_matrix(client.id) is None
    assert await svc.client_products(ivan, client.id) == []
    await client_svc.do_update_client(ivan, client.id, {"sphere_ids": [building.id]})
    assert await svc.client_matrix(client.id) == {drill.id}
    assert await order_svc.client_matrix(client.id) == {drill.id}  # the orders' name
    assert [p.code for p in await svc.client_products(ivan, client.id)] == ["DR-18"]
    with pytest.raises(NotFound):
        await svc.client_products(await make_staff(Role.MANAGER), client.id)
