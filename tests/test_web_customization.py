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


async def test_exports_never_carry_confidential_fields(service, emulator, make_staff):
    """A-3: confidential custom fields are hidden in exports too."""
    from services import customfields

    admin = await make_staff(Role.ADMIN)
    ivan = await make_staff(Role.MANAGER)
    client = (await svc.do_create_client(ivan, {"name": "Romashka"})).client
    await customfields.do_create_field(admin, "client", "region_note", "Note", "text")
    await customfields.do_create_field(admin, "client", "margin", "Margin", "number",
                                       confidential=True)
    await customfields.do_set_values(admin, "client", client.id,
                                     {"region_note": "north", "margin": "42.5"})
    c = service.client
    await signed_in(service, emulator, admin)
    text = (await (await c.get("/api/v1/clients/export?format=csv")).read()).decode("utf-8-sig")
    header = text.splitlines()[0].split(";")
    assert "Margin" in header and "42.5" in text  # a custom column named as the admin named it
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, ivan)
    text = (await (await c.get("/api/v1/clients/export?format=csv")).read()).decode("utf-8-sig")
    header = text.splitlines()[0].split(";")
    assert "Note" in header and "north" in text
    assert "Margin" not in header and "42.5" not in text
    xlsx = await (await c.get("/api/v1/clients/export?format=xlsx")).read()
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx), read_only=True).active
    cells = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert "Margin" not in cells and "42.5" not in " ".join(cells)


async def test_related_clients_and_card_layouts(service, emulator, make_staff):
    """U-3 relations between clients; A-2 the card's sections per department."""
    from models import Department

    sales = await Department.create(name="Sales")
    admin = await make_staff(Role.ADMIN)
    ivan = await make_staff(Role.MANAGER, department=sales)
    group = (await svc.do_create_client(ivan, {"name": "Vostok Group"})).client
    member = (await svc.do_create_client(ivan, {"name": "Vostok North"})).client
    c = service.client
    await signed_in(service, emulator, ivan)
    resp = await c.post(f"/api/v1/clients/{member.id}/links",
                        json={"other_id": group.id, "kind": "group_member"})
    assert resp.status == 201
    assert (await c.post(f"/api/v1/clients/{member.id}/links",
                         json={"other_id": member.id, "kind": "dealer_of"})).status == 422
    page = await (await c.get(f"/app/clients/{group.id}")).text()
    assert "Vostok North" in page and 'data-section="history"' in page
    # the admin trims the card for the Sales department
    assert (await c.put("/api/v1/card-layout", json={
        "sections": ["contacts"], "department_id": sales.id})).status == 403
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    resp = await c.put("/api/v1/card-layout", json={
        "sections": ["links", "contacts", "nonsense"], "department_id": sales.id})
    assert resp.status == 422
    resp = await c.put("/api/v1/card-layout", json={
        "sections": ["links", "contacts"], "department_id": sales.id})
    assert resp.status == 200
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, ivan)
    page = await (await c.get(f"/app/clients/{group.id}")).text()
    assert 'data-section="links"' in page and 'data-section="history"' not in page
    assert page.index('data-section="links"') < page.index('data-section="contacts"')
