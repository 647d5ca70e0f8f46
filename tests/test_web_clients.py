"""The dossier over the JSON API: create with validation (S-1), access (A-3),
managers with a Telegram notice (S-6, S-25), history (audit), documents (S-2)."""

from __future__ import annotations

from aiohttp import FormData

from models import Role
from tests.test_web import signed_in


async def test_create_read_patch_and_history(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    c = service.client
    resp = await c.post("/api/v1/clients", json={
        "name": "Romashka", "phone": "8 916 123 45 67",
        "legal": {"name": "OOO Romashka", "inn": "7707083893"}})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    cid = body["id"]
    assert body["phone"] == "+79161234567"
    assert body["legal_entities"][0]["inn"] == "7707083893"
    assert [m["user_id"] for m in body["managers"]] == [ivan.id]
    resp = await c.patch(f"/api/v1/clients/{cid}", json={"email": "a@romashka.ru"})
    assert resp.status == 200
    resp = await c.get(f"/api/v1/clients/{cid}/history")
    fields = [i["field"] for i in (await resp.json())["items"]]
    assert "email" in fields
    resp = await c.get("/api/v1/clients?q=romash")
    assert [i["name"] for i in (await resp.json())["items"]] == ["Romashka"]
    resp = await c.get("/api/v1/clients?sort=-completeness&per_page=5")
    assert (await resp.json())["total"] == 1


async def test_bad_input_is_422_naming_the_field(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    c = service.client
    resp = await c.post("/api/v1/clients", json={"name": "X", "legal": {
        "name": "X", "inn": "7707083894"}})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "legal.inn"]
    resp = await c.post("/api/v1/clients", json={"name": "X", "phone": "123"})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "phone"]
    resp = await c.post("/api/v1/clients", json={"name": "X", "colour": "red"})
    assert resp.status == 422
    assert (await c.get("/api/v1/clients")).status == 200
    assert (await (await c.get("/api/v1/clients")).json())["total"] == 0


async def test_access_and_assignment_notice(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    olena = await make_staff(Role.MANAGER, language="uk")
    await emulator.send_message(olena.telegram_id, "/menu")  # Olena has opened the bot
    await emulator.wait_for_bot_message(olena.telegram_id)
    await signed_in(service, emulator, ivan)
    c = service.client
    cid = (await (await c.post("/api/v1/clients", json={"name": "Ivan's"})).json())["id"]
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, olena)
    assert (await c.get(f"/api/v1/clients/{cid}")).status == 404
    assert (await c.post(f"/api/v1/clients/{cid}/managers",
                         json={"user_id": olena.id})).status == 404
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    resp = await c.post(f"/api/v1/clients/{cid}/managers", json={"user_id": olena.id})
    assert resp.status == 200
    notice = await emulator.wait_for_bot_message(
        olena.telegram_id, predicate=lambda m: "Ivan's" in m.get("text", ""))
    assert "відповідаєте" in notice["text"] or "Ivan's" in notice["text"]
    resp = await c.delete(f"/api/v1/clients/{cid}/managers/{ivan.id}")
    managers = (await resp.json())["managers"]
    assert [(m["full_name"], m["unassigned_at"] is None) for m in managers] == [
        (ivan.full_name, False), (olena.full_name, True)]


async def test_document_upload_and_download(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    c = service.client
    cid = (await (await c.post("/api/v1/clients", json={"name": "Docs"})).json())["id"]
    form = FormData()
    form.add_field("file", b"contract text", filename="../../contract.txt",
                   content_type="text/plain")
    resp = await c.post(f"/api/v1/clients/{cid}/documents", data=form)
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert doc["filename"] == "contract.txt"  # no path tricks
    resp = await c.get(f"/api/v1/documents/{doc['id']}")
    assert resp.status == 200 and await resp.read() == b"contract text"
    empty = FormData()
    empty.add_field("file", b"", filename="empty.txt", content_type="text/plain")
    resp = await c.post(f"/api/v1/clients/{cid}/documents", data=empty)
    assert resp.status == 422


async def test_client_pages(service, emulator, make_staff):
    from services import clients as svc

    ivan = await make_staff(Role.MANAGER, language="ru")
    olena = await make_staff(Role.MANAGER)
    mine = (await svc.do_create_client(ivan, {
        "name": "Ромашка", "street": "Тверская", "building": "1",
        "legal": {"name": "ООО Ромашка", "inn": "7707083893"}})).client
    theirs = (await svc.do_create_client(olena, {"name": "Чужой"})).client
    for i in range(30):
        await svc.do_create_client(ivan, {"name": f"Клиент {i:02d}"})
    await signed_in(service, emulator, ivan)
    c = service.client
    page = await (await c.get("/app/clients")).text()
    assert 'data-testid="clients-total">31<' in page
    assert "Чужой" not in page and 'data-testid="next-page"' in page
    page = await (await c.get("/app/clients?q=ромаш")).text()
    assert "Ромашка" in page and "Клиент 01" not in page
    page = await (await c.get(f"/app/clients/{mine.id}")).text()
    assert "ИНН 7707083893" in page and "2gis.ru/search/" in page and "yandex.ru/maps" in page
    assert "google.com/maps" in page
    resp = await c.get(f"/app/clients/{theirs.id}")
    assert resp.status == 404 and "Чужой" not in await resp.text()
    assert (await c.get("/app/clients/99999999999")).status == 404


async def test_address_spheres_and_ad_source(service, emulator, make_staff):
    """S-4 structured address from the A-16 dictionaries with map links, S-8 spheres,
    A-17 advertising source: set on create and edit, checked, audited."""
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    c = service.client

    async def add(code: str, name: str, parent_id: int | None = None) -> int:
        resp = await c.post(f"/api/v1/dictionaries/{code}",
                            json={"name": name, "parent_id": parent_id})
        assert resp.status == 201, await resp.text()
        return (await resp.json())["id"]

    moscow_region = await add("region", "Московская область")
    kyiv_region = await add("region", "Київська область")
    khimki = await add("city", "Химки", moscow_region)
    centre = await add("district", "Центральный", khimki)
    spheres = {i["name"]: i["id"] for i in (await (await c.get(
        "/api/v1/dictionaries/sphere")).json())["items"]}
    sources = {i["name"]: i["id"] for i in (await (await c.get(
        "/api/v1/dictionaries/ad_source")).json())["items"]}

    # a city outside the region is refused, naming the city; nothing is created
    resp = await c.post("/api/v1/clients", json={
        "name": "Ромашка", "region_id": kyiv_region, "city_id": khimki})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "city"]
    resp = await c.post("/api/v1/clients", json={"name": "Ромашка", "ad_source_id": khimki})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "ad_source"]
    assert (await (await c.get("/api/v1/clients")).json())["total"] == 0

    resp = await c.post("/api/v1/clients", json={
        "name": "Ромашка", "region_id": moscow_region, "city_id": khimki,
        "district_id": centre, "street": "ул. Ленина", "building": "5",
        "sphere_ids": [spheres["Торговля"], spheres["Производство"]],
        "ad_source_id": sources["Выставка"]})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["city"]["name"] == "Химки" and body["district"]["id"] == centre
    assert body["ad_source"]["name"] == "Выставка"
    assert sorted(s["name"] for s in body["spheres"]) == ["Производство", "Торговля"]
    assert body["address"] == "Московская область, Химки, Центральный, ул. Ленина, 5"
    assert set(body["map_links"]) == {"2GIS", "Yandex", "Google"}
    assert "yandex.ru/maps/?text=" in body["map_links"]["Yandex"]

    cid = body["id"]
    resp = await c.patch(f"/api/v1/clients/{cid}", json={
        "sphere_ids": [spheres["Торговля"]], "ad_source_id": 0, "district_id": 0})
    body = await resp.json()
    assert [s["name"] for s in body["spheres"]] == ["Торговля"]
    assert body["ad_source"] is None and body["district"] is None
    assert body["city"]["name"] == "Химки"
    # a district of another city is refused against the city already on the card
    other = await add("city", "Мытищи", moscow_region)
    other_district = await add("district", "Северный", other)
    resp = await c.patch(f"/api/v1/clients/{cid}", json={"district_id": other_district})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "district"]
    history = (await (await c.get(f"/api/v1/clients/{cid}/history")).json())["items"]
    changes = {i["field"]: (i["old_value"], i["new_value"]) for i in history if i["field"]}
    assert changes["spheres"] == ("Производство, Торговля", "Торговля")
    assert changes["ad_source"] == ("Выставка", None)
    assert changes["district"] == ("Центральный", None)
