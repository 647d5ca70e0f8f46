"""The JSON API and pages of prices, discounts, promos and matrices (issue 13: K-5, M-5,
A-14, S-22): bad input named in the person's language, managers read but do not
change, the pages open for both."""

from __future__ import annotations

from decimal import Decimal

from models import ListPrice, Product, Role
from services import clients as client_svc
from tests.test_web import signed_in

D = Decimal


async def test_k5_m5_lists_rules_prices_and_try_through_the_api(service, emulator,
                                                                 make_staff):
    anna = await make_staff(Role.ADMIN, language="ru", timezone="Europe/Moscow")
    c = service.client
    await signed_in(service, emulator, anna)
    resp = await c.post("/api/v1/price-lists", json={"name": "Розница"})
    assert resp.status == 201
    retail = await resp.json()
    assert retail["is_default"] and retail["currency"] == "RUB"
    resp = await c.post("/api/v1/price-lists", json={"name": "Опт", "currency": "USD",
                                                     "base_list_id": retail["id"]})
    assert resp.status == 422
    [item] = (await resp.json())["detail"]
    assert item["loc"] == ["body", "base_list_id"] and "RUB" in item["msg"]
    opt = await (await c.post("/api/v1/price-lists", json={
        "name": "Опт", "base_list_id": retail["id"]})).json()
    pipe = await Product.create(name="Труба ДН50", code="T-50", cost_price=D(800))
    resp = await c.put(f"/api/v1/price-lists/{retail['id']}/prices/{pipe.id}",
                       json={"price": "1000"})
    assert (await resp.json())["price"] == "1000.00"
    page = await (await c.get(f"/api/v1/price-lists/{opt['id']}/prices?q=труба")).json()
    assert [(i["price"], i["inherited"], i["from_list"]) for i in page["items"]] == [
        (None, "1000.00", "Розница")]
    # a bad value: named in Russian
    resp = await c.post(f"/api/v1/price-lists/{opt['id']}/rules", json={
        "method": "discount", "value": "150"})
    assert resp.status == 422
    [item] = (await resp.json())["detail"]
    assert item["loc"] == ["body", "value"] and item["msg"]
    resp = await c.post(f"/api/v1/price-lists/{opt['id']}/rules", json={
        "name": "Опт −10 %", "method": "discount", "value": "10", "rounding": "1"})
    assert resp.status == 201
    rule = (await resp.json())["rule"]
    assert (rule["scope"], rule["value"], rule["rounding"]) == ("all", "10", "1.00")
    resp = await c.post(f"/api/v1/price-lists/{opt['id']}/rules", json={
        "method": "markup", "base": "cost", "value": "20", "scope": "product",
        "product_id": (await Product.create(name="Кран")).id})
    saved = await resp.json()
    assert len(saved["warnings"]) == 1
    moved = await (await c.post(f"/api/v1/price-rules/{saved['rule']['id']}/move",
                                json={"direction": "up"})).json()
    assert [r["id"] for r in moved["items"]] == [saved["rule"]["id"], rule["id"]]
    client = (await client_svc.do_create_client(anna, {"name": "Ромашка"})).client
    tried = await (await c.get(f"/api/v1/price-try?client_id={client.id}&product_id="
                               f"{pipe.id}&quantity=2&list_id={opt['id']}")).json()
    assert (tried["price"], tried["price_list"]) == ("900.00", "Опт")
    assert [s["step"] for s in tried["trace"]] == ["base_list", "rule"]
    # a manager reads, does not change
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    assert (await c.get(f"/api/v1/price-lists/{opt['id']}/rules")).status == 200
    resp = await c.patch(f"/api/v1/price-rules/{rule['id']}", json={"value": "50"})
    assert resp.status == 403
    assert (await c.put(f"/api/v1/price-lists/{retail['id']}/prices/{pipe.id}",
                        json={"price": "1"})).status == 403
    assert (await ListPrice.get(product=pipe)).price == D(1000)
    for path in ("/app/prices", f"/app/prices/{opt['id']}", "/app/discounts", "/app/matrix"):
        resp = await c.get(path)
        assert resp.status == 200, path
    assert (await c.get("/app/prices/999999")).status == 404


async def test_a14_s22_groups_terms_promos_effect_and_matrices_api(service, emulator,
                                                                   make_staff):
    anna = await make_staff(Role.ADMIN, language="uk")
    c = service.client
    await signed_in(service, emulator, anna)
    await c.post("/api/v1/price-lists", json={"name": "Роздріб"})
    resp = await c.post("/api/v1/discount-groups", json={
        "name": "Дилери", "combine": "chain", "rates": [{"kind_id": None, "percent": "3"}]})
    assert resp.status == 201
    group = await resp.json()
    assert group["rates"] == [{"kind_id": None, "percent": "3.00"}]
    resp = await c.post("/api/v1/promos", json={"name": "Подарунок", "percent": "100",
                                                "starts": "2026-06-01", "ends": "2026-05-01"})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == ["body", "ends"]
    promo = await (await c.post("/api/v1/promos", json={
        "name": "Подарунок", "percent": "100", "starts": "2026-06-01",
        "ends": "2026-06-30"})).json()
    effect = await (await c.get(f"/api/v1/promos/{promo['id']}/effect")).json()
    assert effect["with_promo"] == [] and effect["without"] == []
    # the page offers the effect to whom the service shows it (may_see_effect)
    assert 'data-testid="promo-effect"' in await (await c.get("/app/discounts")).text()
    client = (await client_svc.do_create_client(anna, {"name": "Ромашка"})).client
    resp = await c.put(f"/api/v1/clients/{client.id}/terms", json={
        "discount_group_id": group["id"], "discount": "120"})
    assert resp.status == 422
    terms = await (await c.put(f"/api/v1/clients/{client.id}/terms", json={
        "discount_group_id": group["id"], "discount": "5"})).json()
    assert (terms["discount_group"], terms["discount"]) == ("Дилери", "5.00")
    spheres = (await (await c.get("/api/v1/matrix/spheres")).json())["items"]
    drill = await Product.create(name="Дриль", code="DR")
    resp = await c.put(f"/api/v1/matrix/spheres/{spheres[0]['id']}/products/{drill.id}",
                       json={"on": True})
    assert (await resp.json()) == {"on": True}
    await client_svc.do_update_client(anna, client.id, {"sphere_ids": [spheres[0]["id"]]})
    found = await (await c.get(f"/api/v1/clients/{client.id}/matrix")).json()
    assert [p["code"] for p in found["items"]] == ["DR"]
    card = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="client-prices"' in card and "Дриль" in card
    ivan = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    assert (await c.put(f"/api/v1/my-products/{drill.id}", json={"on": True})).status == 200
    mine = await (await c.get("/api/v1/my-products")).json()
    assert [p["name"] for p in mine["items"]] == ["Дриль"]
    assert (await c.put(f"/api/v1/matrix/spheres/{spheres[0]['id']}/products/{drill.id}",
                        json={"on": False})).status == 403
    assert (await c.get(f"/api/v1/promos/{promo['id']}/effect")).status == 403
    page = await (await c.get("/app/discounts")).text()
    assert "Подарунок" in page and 'data-testid="promo-effect"' not in page
    assert (await c.get(f"/api/v1/clients/{client.id}/terms")).status == 404
    own = (await client_svc.do_create_client(ivan, {"name": "Своя фирма"})).client
    resp = await c.put(f"/api/v1/clients/{own.id}/terms", json={"discount": "50"})
    assert resp.status == 403
    card = await (await c.get(f"/app/clients/{own.id}")).text()
    assert 'data-testid="terms-view"' in card and 'data-testid="terms-form"' not in card
