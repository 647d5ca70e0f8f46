"""The catalogue from 1C in CommerceML 2 (issue 13): products and groups (import.xml),
prices by price type (K-5) and stock per warehouse (K-4) from offers.xml; a second
import updates, a partial one changes only what it lists, a bad file writes nothing,
only admins import; the JSON endpoint. The sample files in tests/data/commerceml follow
the published format (1C-Bitrix's description of import.xml and offers.xml and 1C's
exports quoted there): one with the default namespace, one without, one partial in
windows-1251."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import FormData

from models import (
    ListPrice,
    PriceList,
    Product,
    ProductCategory,
    ProductKind,
    Role,
    StaffStatus,
    StockLevel,
    StockMove,
    User,
    Warehouse,
)
from services import commerceml as cml
from services.commerceml_parse import decimal_of, parse
from services.errors import PermissionDenied, ValidationFailed
from tests.test_web import signed_in

DATA = Path(__file__).parent / "data" / "commerceml"
IMPORT, OFFERS = DATA / "import.xml", DATA / "offers.xml"
CHANGES, BROKEN = DATA / "offers-changes.xml", DATA / "broken.xml"


async def _admin(role: Role = Role.ADMIN, tid: int = 1) -> User:
    return await User.create(full_name="Ada Admin", telegram_id=tid, role=role)


async def _levels(code: str) -> dict[str, tuple[Decimal, Decimal]]:
    product = await Product.get(code=code)
    return {lvl.warehouse.external_id: (lvl.on_hand, lvl.reserved)
            for lvl in await StockLevel.filter(product=product).prefetch_related("warehouse")}


async def _price(code: str, list_ext: str) -> Decimal:
    row = await ListPrice.get(product__code=code, price_list__external_id=list_ext)
    return row.price


def test_numbers_in_either_notation():
    assert decimal_of("1 234,50") == decimal_of("1234.50") == Decimal("1234.50")
    assert decimal_of("1\u00a0234,5") == Decimal("1234.5")
    assert decimal_of("1.234,50") == decimal_of("1,234.50") == Decimal("1234.50")
    assert decimal_of("-3") == Decimal(-3)
    assert decimal_of("12 шт") is None and decimal_of("1e5") is None
    assert decimal_of("NaN") is None and decimal_of("") is None


async def test_k4_k5_import_then_offers_create_the_catalogue(database_url):
    """K-4, K-5: import.xml makes the group tree and the products; offers.xml the price
    lists, warehouses, prices and stock per warehouse (both layouts)."""
    admin = await _admin()
    await ProductKind.create(name="Трубы")
    report = await cml.do_import_commerceml(admin, IMPORT)
    assert (report.kind, report.partial, report.schema_version) == ("import", False, "2.08")
    assert report.categories.created == 6 and report.products.created == 6
    assert [(s.what, s.item, s.reason.template) for s in report.skipped] == [
        ("product", "NONAME-1", "a product without Ид and without a name")]

    pp = await ProductCategory.get(external_id="grp-pipes-pp").prefetch_related("parent")
    assert pp.parent.external_id == "grp-pipes" and pp.name == "Трубы полипропиленовые"
    assert (await ProductCategory.get(external_id="grp-pipes")).parent_id is None
    assert (await ProductCategory.get(external_id="grp-old")).archived

    pipe = await Product.get(external_id="prod-pp20").prefetch_related("group", "kind")
    assert (pipe.code, pipe.barcode, pipe.unit, pipe.vat_rate, pipe.is_service) == (
        "PP-20", "4607004650017", "м", Decimal("20.00"), False)
    assert pipe.group.external_id == "grp-pipes-pp" and pipe.kind.name == "Трубы"
    assert "полипропиленовая" in pipe.search_text and "pp-20" in pipe.search_text
    assert "4607004650017" in pipe.search_text and "polipropilenovaya" in pipe.search_text
    steel = await Product.get(code="ST-57")
    assert (steel.unit, steel.vat_rate, steel.kind_id) == ("кг", Decimal("10.00"), None)
    elbow = await Product.get(code="EL-20-90")
    assert (elbow.unit, elbow.vat_rate) == ("шт", Decimal("18.00"))  # code 796; «18/118»
    service = await Product.get(code="SRV-01")
    assert service.is_service and service.vat_rate is None and service.unit == "ч"
    assert (await Product.get(code="VLV-OLD")).archived  # Статус="Удален"
    assert (await Product.get(code="TAP-OLD")).archived  # ПометкаУдаления

    report = await cml.do_import_commerceml(admin, OFFERS)
    assert (report.kind, report.partial) == ("offers", False)
    assert report.price_lists.created == 2 and report.warehouses.created == 2
    retail = await PriceList.get(external_id="price-retail")
    wholesale = await PriceList.get(external_id="price-wholesale")
    assert (retail.name, retail.currency, retail.vat_included) == ("Розничная", "RUB", True)
    assert (wholesale.name, wholesale.vat_included) == ("Оптовая", False)
    assert await Warehouse.get(external_id="wh-north").values_list("name", flat=True) \
        == "Склад «Север»"
    assert await _price("PP-20", "price-retail") == Decimal("1234.50")  # «1 234,50»
    assert await _price("PP-20", "price-wholesale") == Decimal("1100.00")
    assert await _price("ST-57", "price-retail") == Decimal("98.40")
    assert await _price("EL-20-90", "price-retail") == Decimal("45.00")  # first char.
    assert await _price("SRV-01", "price-retail") == Decimal("2500.00")
    assert report.prices.created == 5
    assert await _levels("PP-20") == {"wh-main": (120, 0), "wh-north": (30, 0)}
    assert await _levels("ST-57") == {"wh-main": (1000, 0), "wh-north": (Decimal("12.5"), 0)}
    assert await _levels("EL-20-90") == {"wh-main": (55, 0)}  # 40 + 15 characteristics
    assert await _levels("SRV-01") == {}  # a service has no stock
    assert report.stock_levels.created == 5
    moves = await StockMove.filter(product__code="PP-20").order_by("warehouse_id")
    assert [(m.kind, m.quantity, m.source, m.user_id) for m in moves] == [
        ("set", 120, "commerceml", admin.id), ("set", 30, "commerceml", admin.id)]
    reasons = {(s.what, s.item): s.reason for s in report.skipped}
    assert reasons[("price", "serv-install · price-vip")].template == \
        "a price of an unknown price type «{type}»"
    assert str(reasons[("price", "serv-install · price-vip")]) == \
        "a price of an unknown price type «price-vip»"
    assert reasons[("offer", "prod-never-imported")].template == \
        "an offer for an unknown product"


async def test_k4_k5_a_second_import_updates_instead_of_duplicating(database_url):
    """K-4, K-5: the same files again change nothing; a changed name, price or stock is
    updated in place; a full import archives what 1C no longer lists (only rows with an
    external_id), a product made by hand matches by its article and is linked."""
    admin = await _admin()
    hand_made = await Product.create(name="Труба PP 20 (вручную)", code="PP-20")
    manual = await Product.create(name="Доставка", code="DLV")  # no external_id
    await cml.do_import_commerceml(admin, IMPORT)
    await cml.do_import_commerceml(admin, OFFERS)
    linked = await Product.get(id=hand_made.id)
    assert linked.external_id == "prod-pp20"
    assert linked.name == "Труба полипропиленовая PN20 20 мм"
    counts = (await Product.all().count(), await ProductCategory.all().count(),
              await ListPrice.all().count(), await StockLevel.all().count(),
              await StockMove.all().count())

    again = await cml.do_import_commerceml(admin, IMPORT)
    assert (again.products.created, again.products.updated, again.products.unchanged) == (
        0, 0, 6)
    assert (again.categories.created, again.categories.updated) == (0, 0)
    again = await cml.do_import_commerceml(admin, OFFERS)
    assert again.prices.unchanged == 5 and again.stock_levels.unchanged == 5
    assert again.price_lists.unchanged == 2 and again.warehouses.unchanged == 2
    assert counts == (await Product.all().count(), await ProductCategory.all().count(),
                      await ListPrice.all().count(), await StockLevel.all().count(),
                      await StockMove.all().count())

    # 1C renames a product and drops the elbow and the steel group from a full catalogue
    text = IMPORT.read_text("utf-8")
    start = text.index("\t\t\t<Товар>\n\t\t\t\t<Ид>prod-elbow</Ид>")
    text = text[:start] + text[text.index("</Товар>", start) + len("</Товар>\n"):]
    start = text.index("\t\t\t\t\t<Группа>\n\t\t\t\t\t\t<Ид>grp-pipes-steel")
    text = text[:start] + text[text.index("</Группа>", start) + len("</Группа>\n"):]
    text = text.replace("Монтаж системы отопления", "Монтаж отопления")
    report = await cml.do_import_commerceml(admin, text.encode("utf-8"))
    assert report.products.updated == 1 and report.products.archived == 1
    assert report.categories.archived == 1
    assert (await Product.get(code="SRV-01")).name == "Монтаж отопления"
    assert (await Product.get(code="EL-20-90")).archived
    assert (await ProductCategory.get(external_id="grp-pipes-steel")).archived
    assert not (await Product.get(id=manual.id)).archived  # not from 1C: untouched
    # the elbow is back in the next full catalogue
    report = await cml.do_import_commerceml(admin, IMPORT)
    assert not (await Product.get(code="EL-20-90")).archived


async def test_k4_k5_partial_offers_change_only_what_they_list(database_url):
    """K-4, K-5: СодержитТолькоИзменения="true" (here in windows-1251): one price and one
    warehouse's stock change; the other list, warehouse and products stay, nothing is
    archived; a reservation made meanwhile is kept."""
    admin = await _admin()
    await cml.do_import_commerceml(admin, IMPORT)
    await cml.do_import_commerceml(admin, OFFERS)
    pipe = await Product.get(code="PP-20")
    await StockLevel.filter(product=pipe, warehouse__external_id="wh-north").update(
        reserved=Decimal(4))
    report = await cml.do_import_commerceml(admin, CHANGES)
    assert (report.kind, report.partial, report.schema_version) == ("offers", True, "2.05")
    assert (report.prices.updated, report.stock_levels.updated) == (1, 1)
    assert await _price("PP-20", "price-retail") == Decimal("1299.00")
    assert await _price("PP-20", "price-wholesale") == Decimal("1100.00")
    assert await _levels("PP-20") == {"wh-main": (120, 0), "wh-north": (25, 4)}
    assert await _levels("ST-57") == {"wh-main": (1000, 0), "wh-north": (Decimal("12.5"), 0)}
    assert await Product.filter(archived=True).count() == 2  # the two marked in 1C
    moves = await StockMove.filter(product=pipe).order_by("-id").first()
    assert (moves.quantity, moves.kind) == (25, "set")


async def test_k4_k5_a_partial_import_archives_nothing_missing(database_url):
    """K-5: a partial import.xml updates the products it lists and archives nothing."""
    admin = await _admin()
    await cml.do_import_commerceml(admin, IMPORT)
    text = IMPORT.read_text("utf-8").replace('СодержитТолькоИзменения="false"',
                                             'СодержитТолькоИзменения="true"')
    start = text.index("\t\t\t<Товар>\n\t\t\t\t<Ид>prod-steel57</Ид>")
    text = text[:start] + text[text.index("</Товар>", start) + len("</Товар>\n"):]
    report = await cml.do_import_commerceml(admin, text.encode("utf-8"))
    assert report.partial and report.products.archived == 0
    assert not (await Product.get(code="ST-57")).archived
    # a full file with archive_missing=False archives nothing either
    full = text.replace('СодержитТолькоИзменения="true"', 'СодержитТолькоИзменения="false"')
    report = await cml.do_import_commerceml(admin, full.encode(), archive_missing=False)
    assert report.products.archived == 0 and not (await Product.get(code="ST-57")).archived


async def test_k4_k5_a_bad_file_is_refused_and_nothing_is_written(database_url):
    """K-4, K-5: malformed XML is refused naming the problem and its line; nothing of
    the file's good beginning is written; so are a file that is not CommerceML and one
    with a DTD."""
    admin = await _admin()
    with pytest.raises(ValidationFailed) as refused:
        await cml.do_import_commerceml(admin, BROKEN)
    assert refused.value.field == "file"
    assert refused.value.template == "a closing tag does not match the opening one " \
                                     "(line {line}, column {column})"
    assert refused.value.params["line"] == 19
    assert not await ProductCategory.exists() and not await Product.exists()
    with pytest.raises(ValidationFailed) as refused:
        await cml.do_import_commerceml(admin, b"<yml_catalog><shop/></yml_catalog>")
    assert refused.value.params == {"root": "yml_catalog"}
    with pytest.raises(ValidationFailed):
        await cml.do_import_commerceml(admin, b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    with pytest.raises(ValidationFailed) as refused:
        await cml.do_import_commerceml(admin, IMPORT.read_bytes()[:2000])
    assert "line" in refused.value.params
    assert not await Product.exists()
    # the service goes on: the good file still imports
    assert (await cml.do_import_commerceml(admin, IMPORT)).products.created == 6


async def test_k4_k5_limits(database_url, monkeypatch):
    """K-4, K-5: a file over the size or the element limit is refused before writing."""
    from services import commerceml_parse

    admin = await _admin()
    monkeypatch.setattr(commerceml_parse, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ValidationFailed) as refused:
        await cml.do_import_commerceml(admin, IMPORT)
    assert refused.value.template == "the file is larger than {mb} MB"
    monkeypatch.setattr(commerceml_parse, "MAX_FILE_BYTES", 10**6)
    monkeypatch.setattr(commerceml_parse, "MAX_ELEMENTS", 50)
    with pytest.raises(ValidationFailed) as refused:
        await cml.do_import_commerceml(admin, IMPORT)
    assert refused.value.params == {"limit": 50}
    assert not await ProductCategory.exists()


async def test_k4_k5_only_admins_import(database_url):
    """K-4, K-5: a head or a manager is refused before the file is read."""
    for tid, role in enumerate((Role.HEAD, Role.MANAGER), start=10):
        with pytest.raises(PermissionDenied):
            await cml.do_import_commerceml(await _admin(role, tid), IMPORT)
    dismissed = await _admin(Role.ADMIN, 20)
    dismissed.status = StaffStatus.DISMISSED
    with pytest.raises(PermissionDenied):
        await cml.do_import_commerceml(dismissed, IMPORT)
    assert not await Product.exists()


def test_the_sample_files_read_alike_with_and_without_namespace():
    with_ns = parse(IMPORT)
    without = parse(IMPORT.read_text("utf-8").replace(
        ' xmlns="urn:1C.ru:commerceml_2"', "").encode("utf-8"))
    assert with_ns.products == without.products
    assert [g.external_id for g in with_ns.groups] == [g.external_id for g in without.groups]
    offers = parse(OFFERS.read_text("utf-8").replace(
        "<КоммерческаяИнформация ", '<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_210" ',
        1).encode("utf-8"))
    assert offers.offers == parse(OFFERS).offers


async def _post(client, content: bytes, name: str = "offers.xml", field: str = "file"):
    form = FormData()
    form.add_field(field, content, filename=name, content_type="application/xml")
    return await client.post("/api/v1/catalogue/commerceml", data=form)


async def test_k4_k5_the_api_endpoint(service, emulator, make_staff):
    """K-4, K-5: POST /api/v1/catalogue/commerceml takes one file (multipart "file"),
    tells import from offers by its content and answers the report, its reasons in the
    person's language; a manager is refused; a bad file is a 422 naming the line."""
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    c = service.client
    resp = await _post(c, IMPORT.read_bytes(), "import0_1.xml")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["kind"] == "import" and body["partial"] is False
    assert body["products"] == {"created": 6, "updated": 0, "unchanged": 0, "archived": 0}
    assert body["categories"]["created"] == 6
    assert body["skipped"] == [{"what": "product", "what_label": "product", "item": "NONAME-1",
                                "message": "a product without Ид and without a name"}]
    resp = await _post(c, OFFERS.read_bytes(), "whatever.xml")
    body = await resp.json()
    assert body["kind"] == "offers" and body["prices"]["created"] == 5
    assert body["stock_levels"]["created"] == 5 and body["skipped_total"] == 2
    assert {s["message"] for s in body["skipped"]} == {
        "a price of an unknown price type «price-vip»", "an offer for an unknown product"}
    assert await StockLevel.all().count() == 5

    resp = await _post(c, BROKEN.read_bytes(), "import.xml")
    assert resp.status == 422
    detail = (await resp.json())["detail"][0]
    assert detail["loc"] == ["body", "file"] and detail["field"] == "file"
    assert detail["msg"] == "a closing tag does not match the opening one (line 19, column 53)"
    assert (await _post(c, IMPORT.read_bytes(), field="other")).status == 422
    resp = await c.post("/api/v1/catalogue/commerceml", json={"file": "x"})
    assert resp.status == 415
    assert (await c.get("/app/admin")).status == 200  # the rest of the service is fine

    c.session.cookie_jar.clear()
    manager = await make_staff(Role.MANAGER, language="ru")
    await signed_in(service, emulator, manager)
    resp = await _post(c, IMPORT.read_bytes())
    assert resp.status == 403
    assert (await resp.json())["detail"] == "у вас нет права это делать"
    c.session.cookie_jar.clear()
    assert (await _post(c, IMPORT.read_bytes())).status == 401


PROPERTY_KIND = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.10">
  <Классификатор>
    <Ид>cls</Ид>
    <Свойства>
      <Свойство>
        <Ид>prop-kind</Ид>
        <Наименование>Вид номенклатуры</Наименование>
        <ТипЗначений>Справочник</ТипЗначений>
        <ВариантыЗначений>
          <Справочник><ИдЗначения>v-service</ИдЗначения><Значение>Услуга</Значение></Справочник>
        </ВариантыЗначений>
      </Свойство>
    </Свойства>
  </Классификатор>
  <Каталог СодержитТолькоИзменения="true">
    <Товары>
      <Товар>
        <Ид>svc-delivery#</Ид>
        <Наименование>Доставка</Наименование>
        <ЗначенияСвойств>
          <ЗначенияСвойства><Ид>prop-kind</Ид><Значение>v-service</Значение></ЗначенияСвойства>
        </ЗначенияСвойств>
      </Товар>
    </Товары>
  </Каталог>
</КоммерческаяИнформация>""".encode()


def test_kinds_from_properties_and_ids_before_the_hash():
    parsed = parse(PROPERTY_KIND)
    assert parsed.partial and parsed.kind == "import"
    [product] = parsed.products
    assert (product.external_id, product.service, product.kind) == (
        "svc-delivery", True, "Услуга")


TOTALS = """<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация ВерсияСхемы="2.04">
  <ПакетПредложений СодержитТолькоИзменения="true">
    <Предложения>
      <Предложение><Ид>prod-pp20</Ид><Количество>7</Количество></Предложение>
    </Предложения>
  </ПакетПредложений>
</КоммерческаяИнформация>""".encode()


async def test_k4_a_total_quantity_goes_to_the_default_warehouse(database_url):
    """K-4: an offer with only «Количество» sets the default warehouse's level; with
    several warehouses and none the default, it is left out with the reason."""
    admin = await _admin()
    await cml.do_import_commerceml(admin, IMPORT)
    await Warehouse.create(name="Первый")
    await Warehouse.create(name="Второй")
    report = await cml.do_import_commerceml(admin, TOTALS)
    assert report.stock_levels.created == 0
    assert [s.reason.template for s in report.skipped] == [
        "offers with only a total quantity and no default warehouse to put it in: {count}"]
    await Warehouse.filter(name="Второй").update(is_default=True)
    report = await cml.do_import_commerceml(admin, TOTALS)
    assert report.stock_levels.created == 1 and not report.skipped
    level = await StockLevel.get(product__code="PP-20").prefetch_related("warehouse")
    assert (level.warehouse.name, level.on_hand) == ("Второй", 7)
