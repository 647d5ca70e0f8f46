"""The order editor's services and API (issue 13: S-17, K-4, K-5, S-22): the list of
orders, a draft's header changed with a version check (the lines re-priced when the
client or the list changes), the picker with the client's matrix, the price and the
free stock, each line's stock, the pages; and S-17's rule that a shipment marks the
order's activities."""

from __future__ import annotations

from decimal import Decimal

from models import (
    Activity,
    ActivityState,
    ClientTerms,
    Deal,
    DictionaryItem,
    MatrixEntry,
    OrderState,
    PriceList,
    Role,
)
from services import order_editing as editing
from services import orders as svc
from tests.test_orders import _order, _setup
from tests.test_web import signed_in

D = Decimal


async def test_s17_orders_list_sees_what_the_clients_allow(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    petr = await make_staff(Role.MANAGER)
    admin = await make_staff(Role.ADMIN)
    client, _retail, _store, pipe, _bolt, _m = await _setup(ivan)
    draft = await _order(ivan, client, [{"product_id": pipe.id, "quantity": "1"}])
    posted = await _order(ivan, client, [{"product_id": pipe.id, "quantity": "1"}])
    await svc.do_post(ivan, posted.id)
    assert [o.id for o in await editing.list_orders(ivan)] == [posted.id, draft.id]
    assert [o.id for o in await editing.list_orders(ivan, state="draft")] == [draft.id]
    assert await editing.list_orders(petr) == []  # not his client
    assert len(await editing.list_orders(admin)) == 2
    assert await editing.list_orders(admin, mine=True) == []


async def test_s17_header_changes_with_a_version_check_and_reprices(service, emulator,
                                                                    make_staff):
    from models import ClientManager, ListPrice
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="ru")
    head = await make_staff(Role.HEAD, language="en")
    client, retail, _store, pipe, _bolt, _m = await _setup(ivan)
    other = (await client_svc.do_create_client(ivan, {"name": "Василёк"})).client
    deal = await _deal(ivan, client)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": "2"}])
    c = service.client
    await signed_in(service, emulator, ivan)
    url = f"/api/v1/orders/{order.id}"
    # the deal of this client, then one of another client's refused
    resp = await c.patch(url, json={"deal_id": deal.id, "version": order.version})
    body = await resp.json()
    assert resp.status == 200 and body["deal_id"] == deal.id
    other_deal = await _deal(ivan, other)
    resp = await c.patch(url, json={"deal_id": other_deal.id})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "deal_id"]
    # a stale version: said, nothing changed
    resp = await c.patch(url, json={"deal_id": None, "version": order.version})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "version"]
    assert (await svc.get_order(ivan, order.id)).deal_id == deal.id
    # a manager does not change the list (it is the client's terms)
    cheap = await PriceList.create(name="Акция", currency="RUB")
    await ListPrice.create(price_list=cheap, product=pipe, price=D("700.00"))
    resp = await c.patch(url, json={"price_list_id": cheap.id})
    assert resp.status == 403
    # a head who sees the client does; the lines are re-priced on the new list
    await ClientManager.create(client=client, user=head)
    order = await editing.do_update_order(head, order.id, {"price_list_id": cheap.id})
    lines = await svc.order_lines(order)
    assert (order.price_list_id, lines[0].price, order.total) == (cheap.id, D("700.00"),
                                                                  D("1400.00"))
    # another client: its own list, its primary legal entity, the deal dropped
    order = await editing.do_update_order(ivan, order.id, {"client_id": other.id})
    assert (order.client_id, order.deal_id, order.price_list_id) == (other.id, None,
                                                                     retail.id)
    assert (await svc.order_lines(order))[0].price == D("1000.00")
    # a posted order's header stays
    await svc.do_post(ivan, order.id)
    resp = await c.patch(url, json={"comment": "срочно"})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "state"]


async def _deal(owner, client) -> Deal:
    from services import deals

    return (await deals.do_create_deal(owner, {"client_id": client.id, "title": "Поставка"},
                                       source="system")).deal


async def test_s22_k4_k5_picker_keeps_to_the_matrix_with_price_and_stock(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client, _retail, store, pipe, bolt, mounting = await _setup(ivan, on_hand="4")
    await ClientTerms.create(client=client, discount=D(5))
    from services.dictionaries import ensure_system_dictionaries

    await ensure_system_dictionaries()
    sphere = await DictionaryItem.filter(code="construction").first()
    await client.spheres.add(sphere)
    await MatrixEntry.create(product=pipe, sphere=sphere)
    order = await _order(ivan, client, [])
    c = service.client
    await signed_in(service, emulator, ivan)
    resp = await c.get(f"/api/v1/orders/{order.id}/picker")
    body = await resp.json()
    assert body["has_matrix"] is True
    assert [(i["product"]["code"], i["price"], i["free"], i["in_matrix"])
            for i in body["items"]] == [("T-50", "950.00", "4.000", True)]
    # all products: the others outside the matrix, a service without stock; a typo found
    body = await (await c.get(f"/api/v1/orders/{order.id}/picker?scope=all&q=трубв")).json()
    assert [i["product"]["code"] for i in body["items"]] == ["T-50"]
    body = await (await c.get(f"/api/v1/orders/{order.id}/picker?scope=all")).json()
    by_name = {i["product"]["name"]: i for i in body["items"]}
    assert by_name["Болт М8"]["in_matrix"] is False
    assert by_name["Монтаж"]["free"] is None and by_name["Монтаж"]["price"] == "4750.00"
    # each line's stock: short by one, before posting is refused
    await svc.do_set_lines(ivan, order.id, [
        {"product_id": pipe.id, "quantity": "5"},
        {"product_id": mounting.id, "quantity": "1", "off_matrix": True}])
    body = await (await c.get(f"/api/v1/orders/{order.id}/stock")).json()
    assert body["items"] == [{"product_id": pipe.id, "name": "Труба ДН50", "unit": "шт",
                              "needed": "5.000", "free": "4.000", "short": "1.000"}]
    resp = await c.get(f"/api/v1/orders/{order.id}/picker?scope=everything")
    assert resp.status == 422
    assert bolt.id  # outside the matrix: added only when confirmed (services.orders)


async def test_s17_shipment_marks_the_orders_activities(database_url, make_staff):
    """The follow-up call stays planned, its goal noting the shipment (once); a task
    linked to the order is completed; a done one is left alone."""
    from services.activities import do_create_activity

    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client, _retail, _store, pipe, _bolt, _m = await _setup(ivan)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": "1"}])
    await svc.do_post(ivan, order.id)
    call = await Activity.get(order_id=order.id)
    assert call.title == f"Call about order № {order.number}"
    task = (await do_create_activity(ivan, {"type": "task", "title": "Deliver the pipes",
                                            "client_id": client.id})).activity
    old = (await do_create_activity(ivan, {"type": "task", "title": "Pack",
                                           "client_id": client.id, "done": True})).activity
    await Activity.filter(id__in=[task.id, old.id]).update(order_id=order.id)
    result = await svc.do_ship(ivan, order.id)
    assert result.changed
    shipped = (await svc.get_order(ivan, order.id)).shipped_at
    day = shipped.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow")).strftime(
        "%d.%m.%Y")
    text = f"🚚 Order № {order.number} shipped on {day}"
    call = await Activity.get(id=call.id)
    assert call.state == ActivityState.PLANNED and call.goal == text
    task = await Activity.get(id=task.id)
    assert task.state == ActivityState.DONE and task.result == text
    old = await Activity.get(id=old.id)
    assert old.result is None
    # a second shipment (a double tap) changes nothing more
    assert not (await svc.do_ship(ivan, order.id)).changed
    await svc.mark_shipped(ivan, await svc.get_order(ivan, order.id), "test")
    assert (await Activity.get(id=call.id)).goal == text
    assert (await svc.get_order(ivan, order.id)).state == OrderState.SHIPPED


async def test_s17_pages_list_editor_and_the_cards(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client, _retail, _store, pipe, _bolt, _m = await _setup(ivan)
    deal = await _deal(ivan, client)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": "2,5"}],
                         deal_id=deal.id)
    c = service.client
    await signed_in(service, emulator, ivan)
    page = await (await c.get("/app/orders")).text()
    assert f"№ {order.number}" in page and "2\u00a0500,00\u00a0₽" in page
    page = await (await c.get("/app/orders?state=posted")).text()
    assert f"№ {order.number}" not in page
    resp = await c.get(f"/app/orders/{order.id}")
    page = await resp.text()
    assert resp.status == 200 and 'id="order-data"' in page and "Ромашка" in page
    assert (await c.get("/app/orders/999999")).status == 404
    assert (await c.get("/app/orders/abc")).status == 404
    page = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="card-order-new"' in page and f"№ {order.number}" in page
    page = await (await c.get(f"/app/deals/{deal.id}")).text()
    assert f"deal_id: {deal.id}" in page and f"№ {order.number}" in page
    page = await (await c.get("/app/more")).text()
    assert 'href="/app/orders"' in page
