"""The JSON API of products, prices and orders (issue 13: K-4, K-5, A-14, S-17): money
as decimal strings, bad input named in the person's language, a short line refused
with its numbers, nothing reserved, and another manager's order not found."""

from __future__ import annotations

from decimal import Decimal

from models import ClientTerms, Role, StockLevel
from tests.test_orders import _setup
from tests.test_web import signed_in

D = Decimal


async def test_k5_s17_an_order_through_the_api(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client, _retail, store, pipe, bolt, _m = await _setup(ivan, on_hand="4")
    await ClientTerms.create(client=client, discount=D(5))
    c = service.client
    await signed_in(service, emulator, ivan)
    found = await (await c.get("/api/v1/products/search?q=труба")).json()
    assert [p["code"] for p in found["items"]] == ["T-50"]
    body = await (await c.get(f"/api/v1/price?client_id={client.id}&product_id={pipe.id}"
                              "&quantity=2,5")).json()
    assert (body["price"], body["amount"], body["list_price"]) == ("950.00", "2375.00",
                                                                   "1000.00")
    assert [s["step"] for s in body["trace"]] == ["list", "individual"]
    assert body["stock"] == {"Основной": "4.000"}
    resp = await c.post("/api/v1/orders", json={"client_id": client.id})
    assert resp.status == 201
    order = await resp.json()
    assert order["state"] == "draft" and order["lines"] == []
    # bad input: named in Russian, the draft kept
    resp = await c.put(f"/api/v1/orders/{order['id']}/lines", json={"lines": [
        {"product_id": pipe.id, "quantity": "много"}]})
    assert resp.status == 422
    assert "«много» — не число" in (await resp.json())["detail"][0]["msg"]
    resp = await c.put(f"/api/v1/orders/{order['id']}/lines", json={"lines": [
        {"product_id": pipe.id, "quantity": "5"}, {"product_id": bolt.id, "quantity": "1"}]})
    order = await resp.json()
    assert resp.status == 200 and order["total"] == "4761.88"
    assert order["lines"][0]["trace"][-1]["step"] == "individual"
    # posting: short by one, said with the numbers, nothing reserved
    resp = await c.post(f"/api/v1/orders/{order['id']}/post")
    assert resp.status == 409
    assert "нужно 5, свободно 4, не хватает 1" in (await resp.json())["detail"]
    assert (await StockLevel.get(warehouse=store, product=pipe)).reserved == D(0)
    await c.put(f"/api/v1/orders/{order['id']}/lines", json={"lines": [
        {"product_id": pipe.id, "quantity": "4"}]})
    resp = await c.post(f"/api/v1/orders/{order['id']}/post")
    assert resp.status == 200 and (await resp.json())["state"] == "posted"
    # a posted order's lines stay
    resp = await c.put(f"/api/v1/orders/{order['id']}/lines", json={"lines": []})
    assert resp.status == 422
    resp = await c.post(f"/api/v1/orders/{order['id']}/invoice", json={"language": "uk"})
    assert resp.status == 200 and (await resp.json())["document_id"]
    # another manager does not see it
    petr = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, petr)
    resp = await c.get(f"/api/v1/orders/{order['id']}")
    assert resp.status == 404
    resp = await c.get(f"/api/v1/price?client_id={client.id}&product_id={pipe.id}")
    assert resp.status == 404
