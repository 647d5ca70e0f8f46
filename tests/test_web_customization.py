"""Customisation in the web pages and API (K-3): custom fields on the card with
confidential ones hidden (S-5, A-3), the classifier (S-9), segments as list filters
(K-14), completeness settings (S-10), the admin page."""

from __future__ import annotations

from models import Role
from services import clients as svc
from tests.test_web import signed_in


async def test_admin_builds_and_managers_use(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await svc.do_create_client(ivan, {"name": "Romashka"})).client
    other = (await svc.do_create_client(ivan, {"name": "Vasilek"})).client
    c = service.client
    await signed_in(service, emulator, ivan)
    assert (await c.get("/app/admin")).status == 403
    assert (await c.post("/api/v1/custom-fields", json={
        "code": "x", "name": "X", "type": "text"})).status == 403
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    assert (await c.get("/app/admin")).status == 200
    resp = await c.post("/api/v1/custom-fields", json={
        "code": "loyalty", "name": "Loyalty", "type": "choice",
        "items": ["loyal", "disloyal"]})
    assert resp.status == 201, await resp.text()
    resp = await c.post("/api/v1/custom-fields", json={
        "code": "margin", "name": "Margin", "type": "number", "confidential": True})
    assert resp.status == 201
    resp = await c.put(f"/api/v1/clients/{client.id}/custom",
                       json={"values": {"loyalty": "loyal", "margin": "12.5"}})
    assert resp.status == 200, await resp.text()
    resp = await c.put(f"/api/v1/clients/{client.id}/custom",
                       json={"values": {"margin": "a lot"}})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "margin"]
    node = await (await c.post("/api/v1/classifier", json={"name": "Hot"})).json()
    assert (await c.put(f"/api/v1/clients/{client.id}/classifier/{node['id']}")).status == 200
    seg = await (await c.post("/api/v1/segments", json={"name": "Loyal ones", "rules": {
        "match": "all", "conditions": [{"field": "cf:loyalty", "op": "eq",
                                        "value": "loyal"}]}})).json()
    assert seg["members"] == 1
    bad = await c.post("/api/v1/segments", json={"name": "Bad", "rules": {
        "conditions": [{"field": "shoe_size", "op": "eq", "value": 42}]}})
    assert bad.status == 422
    resp = await c.put("/api/v1/settings/completeness", json={
        "weights": {"name": 50, "phone": 50}, "minimum": 10})
    assert resp.status == 200
    # the manager: sees loyalty, never the confidential margin, in the card or history
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, ivan)
    page = await (await c.get(f"/app/clients/{client.id}")).text()
    assert "Loyalty" in page and "Margin" not in page and "12.5" not in page
    assert "Hot" in page
    hist = await (await c.get(f"/api/v1/clients/{client.id}/history")).json()
    assert all(i["field"] != "cf:margin" for i in hist["items"])
    assert any(i["field"] == "cf:loyalty" for i in hist["items"])
    values = await (await c.get(f"/api/v1/clients/{client.id}/custom")).json()
    assert values["values"] == {"loyalty": "loyal"}
    page = await (await c.get(f"/app/clients?segment={seg['id']}")).text()
    assert "Romashka" in page and "Vasilek" not in page
    page = await (await c.get(f"/app/clients?node={node['id']}")).text()
    assert "Romashka" in page and "Vasilek" not in page
    assert other.id
