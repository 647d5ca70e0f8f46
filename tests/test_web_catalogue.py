"""The catalogue's JSON API and files (issue 13, section 7; K-4): an admin makes and
changes a product (a bad VAT rate named by its field), categories, kinds, warehouses
and our legal entities; everyone lists and opens products and stock; a manager is
refused every change; on hand set by hand and by an uploaded file whose bad row is
reported; the exports download; the pages render for both."""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal

from aiohttp import FormData
from openpyxl import Workbook

from models import ListPrice, PriceList, Role, StockLevel
from tests.test_web import signed_in

D = Decimal


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _upload(c, what: str, data: bytes, name: str):
    form = FormData()
    form.add_field("file", data, filename=name)
    resp = await c.post(f"/api/v1/catalogue/import?what={what}", data=form)
    return resp


async def _finished(c, job_id: str) -> dict:
    for _ in range(200):
        j = await (await c.get(f"/api/v1/catalogue/import/{job_id}")).json()
        if j["status"] != "running":
            return j
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_k4_catalogue_api_admin_and_manager(service, emulator, make_staff):
    anna = await make_staff(Role.ADMIN, language="ru")
    ivan = await make_staff(Role.MANAGER, language="ru")
    c = service.client
    await signed_in(service, emulator, anna)
    retail = await PriceList.create(name="Розница", is_default=True)
    resp = await c.post("/api/v1/catalogue/categories", json={"name": "Бумага"})
    assert resp.status == 201
    paper = await resp.json()
    office = await (await c.post("/api/v1/catalogue/categories",
                                 json={"name": "Офисная", "parent_id": paper["id"]})).json()
    assert office["path"] == "Бумага / Офисная" and office["depth"] == 1
    resp = await c.patch(f"/api/v1/catalogue/categories/{paper['id']}",
                         json={"parent_id": office["id"]})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "parent_id"]
    kind = await (await c.post("/api/v1/catalogue/kinds", json={"name": "Товары"})).json()
    store = await (await c.post("/api/v1/catalogue/warehouses",
                                json={"name": "Основной"})).json()
    assert store["is_default"]
    # a bad VAT rate: named by its field, nothing made
    draft = {"code": "P-A4", "name": "Бумага A4", "group_id": office["id"], "unit": "пач",
             "vat_rate": "18", "kind_id": kind["id"], "cost_price": "210,5"}
    resp = await c.post("/api/v1/catalogue/products", json=draft)
    assert resp.status == 422
    err = (await resp.json())["detail"][0]
    assert err["loc"] == ["body", "vat_rate"] and "«18»" in err["msg"]
    resp = await c.post("/api/v1/catalogue/products", json={**draft, "vat_rate": "20 %"})
    assert resp.status == 201
    p = await resp.json()
    assert (p["vat_rate"], p["cost_price"], p["category"], p["kind"]) == (
        "20", "210.50", "Бумага / Офисная", "Товары")
    resp = await c.post("/api/v1/catalogue/products", json={"code": "P-A4", "name": "Двойник"})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == ["body", "code"]
    await ListPrice.create(price_list=retail, product_id=p["id"], price=D("320"))
    resp = await c.put(f"/api/v1/stock/{store['id']}/{p['id']}", json={"on_hand": "40,5"})
    assert resp.status == 200 and (await resp.json())["free"] == "40.500"
    resp = await c.put(f"/api/v1/stock/{store['id']}/{p['id']}", json={"on_hand": "-1"})
    assert resp.status == 422
    page = await (await c.get("/api/v1/catalogue/products?q=бумага")).json()
    assert [(i["code"], i["price"], i["free"]) for i in page["items"]] == [
        ("P-A4", "320.00", "40.500")]
    assert page["price_list"] == "Розница"
    page = await (await c.get(f"/api/v1/catalogue/products?category_id={paper['id']}")).json()
    assert len(page["items"]) == 1
    card = await (await c.get(f"/api/v1/catalogue/products/{p['id']}")).json()
    assert card["prices"][0]["price"] == "320.00" and card["stock"][0]["on_hand"] == "40.500"
    resp = await c.patch(f"/api/v1/catalogue/products/{p['id']}", json={"vat_rate": ""})
    assert resp.status == 200 and (await resp.json())["vat_rate"] is None
    resp = await c.post("/api/v1/catalogue/own-entities", json={"name": "ООО", "inn": "123"})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == ["body", "inn"]
    resp = await c.post("/api/v1/catalogue/own-entities",
                        json={"name": "ООО «Контакт»", "inn": "7707083893"})
    assert resp.status == 201 and (await resp.json())["is_default"]
    for path in ("/app/catalogue", "/app/stock", "/app/catalogue/settings"):
        resp = await c.get(path)
        assert resp.status == 200, path
    assert 'data-testid="cat-new"' in await (await c.get("/app/catalogue")).text()
    # a manager reads, and is refused every change
    await signed_in(service, emulator, ivan)
    page = await (await c.get("/api/v1/catalogue/products")).json()
    assert [i["code"] for i in page["items"]] == ["P-A4"]
    # the margins are the admins' (services.permissions.is_admin): no cost price for him
    card = await (await c.get(f"/api/v1/catalogue/products/{p['id']}")).json()
    assert card["code"] == "P-A4" and card["cost_price"] is None
    rows = await (await c.get(f"/api/v1/stock?warehouse_id={store['id']}&short=true")).json()
    assert rows["items"] == []
    for method, url, body in (
            ("POST", "/api/v1/catalogue/products", {"name": "X"}),
            ("PATCH", f"/api/v1/catalogue/products/{p['id']}", {"archived": True}),
            ("POST", "/api/v1/catalogue/categories", {"name": "X"}),
            ("POST", "/api/v1/catalogue/kinds", {"name": "X"}),
            ("POST", "/api/v1/catalogue/warehouses", {"name": "X"}),
            ("POST", "/api/v1/catalogue/own-entities", {"name": "X"}),
            ("PUT", f"/api/v1/stock/{store['id']}/{p['id']}", {"on_hand": "1"})):
        resp = await c.request(method, url, json=body)
        assert resp.status == 403, url
    resp = await _upload(c, "catalogue", _xlsx([["name"], ["X"]]), "c.xlsx")
    assert resp.status == 403
    html = await (await c.get("/app/catalogue")).text()
    assert 'data-testid="cat-new"' not in html and 'data-testid="cat-list"' in html
    assert (await c.get("/app/catalogue/settings")).status == 403
    resp = await c.get("/api/v1/catalogue/export?format=csv")
    assert resp.status == 200 and "P-A4" in (await resp.read()).decode("utf-8-sig")


async def test_k4_catalogue_and_stock_files_through_the_api(service, emulator, make_staff):
    anna = await make_staff(Role.ADMIN, language="ru")
    c = service.client
    await signed_in(service, emulator, anna)
    store = await (await c.post("/api/v1/catalogue/warehouses",
                                json={"name": "Основной"})).json()
    resp = await _upload(c, "catalogue", _xlsx([
        ["Артикул", "Наименование", "Категория", "НДС, %"],
        ["T-50", "Труба", "Трубы / Стальные", "20"], ["B-8", "Болт", None, "18"]]), "c.xlsx")
    assert resp.status == 202
    job = await _finished(c, (await resp.json())["id"])
    assert job["status"] == "done", job
    report = job["report"]
    assert (report["created"], report["bad_rows"]) == (1, 1)
    assert report["errors"][0]["row"] == 3 and report["errors"][0]["field"] == "vat_rate"
    assert "«18»" in report["errors"][0]["message"]
    resp = await _upload(c, "stock", _xlsx([["Склад", "Артикул", "Остаток"],
                                            ["Основной", "T-50", "7"],
                                            ["Основной", "NOPE", "1"]]), "s.xlsx")
    job = await _finished(c, (await resp.json())["id"])
    assert (job["report"]["updated"], job["report"]["bad_rows"]) == (1, 1)
    assert (await StockLevel.get(warehouse_id=store["id"])).on_hand == D(7)
    resp = await c.get(f"/api/v1/stock/export?format=xlsx&warehouse_id={store['id']}")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    resp = await c.get("/api/v1/catalogue/export?format=pdf")
    assert resp.status == 422
    form = FormData()
    form.add_field("file", b"x", filename="c.pdf")
    resp = await c.post("/api/v1/catalogue/import", data=form)
    assert resp.status == 422
