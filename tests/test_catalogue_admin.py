"""The catalogue kept by admins (issue 13, section 7; K-4): products with every field,
the category tree without cycles, kinds, warehouses, our legal entities with checked
requisites; the list with search, a category's branch and paging, a product's card
with its prices and stock; on hand set by hand. Bad input is named by its field and a
manager cannot change anything."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import ListPrice, PriceList, Product, Role, StockLevel, Warehouse
from services import catalogue_admin as cat
from services import catalogue_setup as setup
from services.errors import PermissionDenied, ValidationFailed

D = Decimal


async def test_k4_admin_makes_a_product_with_every_field_and_archives_it(database_url,
                                                                         make_staff):
    anna = await make_staff(Role.ADMIN)
    paper = await setup.do_create_category(anna, {"name": "Бумага"})
    office = await setup.do_create_category(anna, {"name": "Офисная", "parent_id": paper.id})
    goods = await setup.do_create_kind(anna, {"name": "Товары"})
    p = await cat.do_create_product(anna, {
        "code": "P-A4", "name": "Бумага A4", "group_id": office.id, "unit": "пач",
        "vat_rate": "20 %", "kind_id": goods.id, "is_service": False,
        "cost_price": "210,50", "barcode": "4600000000001"})
    assert (p.vat_rate, p.cost_price, p.unit, p.group_id) == (D(20), D("210.50"), "пач",
                                                              office.id)
    assert "бумага" in p.search_text and "p a4" in p.search_text.replace("-", " ")
    p = await cat.do_update_product(anna, p.id, {"name": "Бумага A4 «Снегурочка»",
                                                 "vat_rate": "без НДС"})
    assert p.vat_rate is None and "снегурочка" in p.search_text
    # bad input, each named by its field; nothing saved
    for data, where in (({"code": "P-A4", "name": "Другая"}, "code"),
                        ({"name": "X", "vat_rate": "18"}, "vat_rate"),
                        ({"name": "X", "cost_price": "дорого"}, "cost_price"),
                        ({"name": ""}, "name"), ({"name": "X", "unit": ""}, "unit"),
                        ({"name": "X", "group_id": 999999}, "group_id")):
        with pytest.raises(ValidationFailed) as err:
            await cat.do_create_product(anna, data)
        assert err.value.field == where, data
    with pytest.raises(ValidationFailed) as err:
        await cat.do_create_product(anna, {"name": "X", "vat_rate": "18"})
    assert "0, 5, 7, 10, 14, 20" in err.value.message
    assert await Product.all().count() == 1
    # archive and restore: the list shows it where asked
    await cat.do_update_product(anna, p.id, {"archived": True})
    assert (await cat.list_products()).rows == []
    assert [r.product.id for r in (await cat.list_products(archived=True)).rows] == [p.id]
    await cat.do_update_product(anna, p.id, {"archived": False})
    assert [r.product.id for r in (await cat.list_products()).rows] == [p.id]


async def test_k4_a_manager_cannot_change_the_catalogue(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    head = await make_staff(Role.HEAD)
    anna = await make_staff(Role.ADMIN)
    p = await cat.do_create_product(anna, {"name": "Степлер"})
    store = await setup.do_create_warehouse(anna, {"name": "Склад"})
    for who in (ivan, head):
        for call in (cat.do_create_product(who, {"name": "X"}),
                     cat.do_update_product(who, p.id, {"name": "Y"}),
                     cat.do_set_on_hand(who, store.id, p.id, "5"),
                     setup.do_create_category(who, {"name": "X"}),
                     setup.do_create_kind(who, {"name": "X"}),
                     setup.do_create_warehouse(who, {"name": "X"}),
                     setup.do_create_own_entity(who, {"name": "X"})):
            with pytest.raises(PermissionDenied):
                await call
    assert (await Product.get(id=p.id)).name == "Степлер"


async def test_k4_category_tree_moves_but_never_under_itself(database_url, make_staff):
    anna = await make_staff(Role.ADMIN)
    a = await setup.do_create_category(anna, {"name": "A"})
    b = await setup.do_create_category(anna, {"name": "B", "parent_id": a.id})
    c = await setup.do_create_category(anna, {"name": "C", "parent_id": b.id})
    assert [(n.path, n.depth) for n in await setup.category_tree()] == [
        ("A", 0), ("A / B", 1), ("A / B / C", 2)]
    for parent in (a.id, c.id):
        with pytest.raises(ValidationFailed) as err:
            await setup.do_update_category(anna, a.id, {"parent_id": parent})
        assert err.value.field == "parent_id"
    with pytest.raises(ValidationFailed):  # the same name beside it
        await setup.do_create_category(anna, {"name": "B", "parent_id": a.id})
    await setup.do_update_category(anna, c.id, {"parent_id": None, "name": "C2"})
    assert [n.path for n in await setup.category_tree()] == ["A", "A / B", "C2"]
    await setup.do_update_category(anna, b.id, {"archived": True})
    assert [n.path for n in await setup.category_tree()] == ["A", "C2"]
    # a filter by a category takes its branch
    await setup.do_update_category(anna, b.id, {"archived": False})
    in_b = await cat.do_create_product(anna, {"name": "Болт", "group_id": b.id})
    await cat.do_create_product(anna, {"name": "Гайка", "group_id": c.id})
    assert [r.product.id for r in (await cat.list_products(category_id=a.id)).rows] == [
        in_b.id]
    assert (await cat.list_products(category_id=a.id)).rows[0].category == "A / B"
    assert await setup.category_by_path("a / b", create=False) == b.id
    made = await setup.category_by_path("A / Новая / Глубже", create=True)
    assert [n.path for n in await setup.category_tree()] == [
        "A", "A / B", "A / Новая", "A / Новая / Глубже", "C2"]
    assert made is not None


async def test_k4_kinds_warehouses_and_our_legal_entities(database_url, make_staff):
    anna = await make_staff(Role.ADMIN)
    k = await setup.do_create_kind(anna, {"name": "Трубы"})
    with pytest.raises(ValidationFailed):
        await setup.do_create_kind(anna, {"name": "Трубы"})
    await setup.do_update_kind(anna, k.id, {"name": "Трубы ПП", "archived": True})
    assert await setup.list_kinds() == []
    one = await setup.do_create_warehouse(anna, {"name": "Основной"})
    two = await setup.do_create_warehouse(anna, {"name": "Дальний", "allow_backorder": True})
    assert one.is_default and not two.is_default and two.allow_backorder
    await setup.do_update_warehouse(anna, two.id, {"is_default": True})
    assert [w.name for w in await Warehouse.filter(is_default=True)] == ["Дальний"]
    await setup.do_update_warehouse(anna, two.id, {"archived": True})
    assert not (await Warehouse.get(id=two.id)).is_default
    with pytest.raises(ValidationFailed):
        await setup.do_update_warehouse(anna, two.id, {"name": "Основной"})
    # requisites are checked: a bad INN is named, a good one saved
    with pytest.raises(ValidationFailed) as err:
        await setup.do_create_own_entity(anna, {"name": "ООО «Контакт»", "inn": "7707083890"})
    assert err.value.field == "inn"
    with pytest.raises(ValidationFailed) as err:
        await setup.do_create_own_entity(anna, {"name": "ТОВ", "country": "UA",
                                                "edrpou": "14360571"})
    assert err.value.field == "edrpou"
    ru = await setup.do_create_own_entity(anna, {
        "name": "ООО «Контакт»", "inn": "7707083893", "kpp": "773601001",
        "bik": "044525225", "account": "40702810938000012345"})
    assert ru.is_default and ru.inn == "7707083893"
    ua = await setup.do_create_own_entity(anna, {"name": "ТОВ «Контакт»", "country": "UA",
                                                 "edrpou": "14360570", "is_default": True})
    assert [e.id for e in await setup.list_own_entities()] == [ua.id, ru.id]
    await setup.do_update_own_entity(anna, ru.id, {"inn": "", "archived": True})
    assert [e.id for e in await setup.list_own_entities()] == [ua.id]


async def test_k4_list_search_paging_card_and_stock(database_url, make_staff):
    anna = await make_staff(Role.ADMIN)
    retail = await PriceList.create(name="Розница", is_default=True)
    wholesale = await PriceList.create(name="Опт", base_list=retail, sort_order=1)
    store = await setup.do_create_warehouse(anna, {"name": "Основной"})
    far = await setup.do_create_warehouse(anna, {"name": "Дальний"})
    made = []
    for i in range(5):
        made.append(await cat.do_create_product(anna, {"code": f"T-{i}",
                                                       "name": f"Труба {i}"}))
    service = await cat.do_create_product(anna, {"name": "Доставка", "is_service": "да"})
    pipe = made[0]
    await ListPrice.create(price_list=retail, product=pipe, price=D("100.00"))
    await ListPrice.create(price_list=wholesale, product=made[1], price=D("90.00"))
    await cat.do_set_on_hand(anna, store.id, pipe.id, "12,5")
    await StockLevel.filter(warehouse=store, product=pipe).update(reserved=D(2))
    first = await cat.list_products(q="труба", limit=2)
    assert [r.product.code for r in first.rows] == ["T-0", "T-1"] and first.has_more
    assert (first.rows[0].price, first.rows[0].free) == (D("100.00"), D("10.500"))
    last = await cat.list_products(q="труба", offset=4, limit=2)
    assert [r.product.code for r in last.rows] == ["T-4"] and not last.has_more
    assert [r.product.code for r in (await cat.list_products(q="T-3")).rows] == ["T-3"]
    assert [r.product.code for r in (await cat.list_products(q="трубв")).rows]  # a typo
    card = await cat.product_card(pipe.id)
    assert [(pl.name, price, inherited) for pl, price, inherited in card.prices] == [
        ("Розница", D("100.00"), False), ("Опт", D("100.00"), True)]
    assert [(s.warehouse.name, s.on_hand, s.reserved, s.free) for s in card.stock] == [
        ("Основной", D("12.5"), D(2), D("10.5")), ("Дальний", D(0), D(0), D(0))]
    assert (await cat.product_card(service.id)).stock == []
    # stock of a warehouse; "short" shows what has nothing free
    rows, more = await cat.stock_page(store.id)
    assert len(rows) == 5 and not more and service.id not in {r.product.id for r in rows}
    short, _ = await cat.stock_page(store.id, short=True)
    assert pipe.id not in {r.product.id for r in short} and len(short) == 4
    short, _ = await cat.stock_page(far.id, short=True)
    assert len(short) == 5
    for bad in ("-1", "много"):
        with pytest.raises(ValidationFailed) as err:
            await cat.do_set_on_hand(anna, store.id, pipe.id, bad)
        assert err.value.field == "on_hand"
    with pytest.raises(ValidationFailed):
        await cat.do_set_on_hand(anna, store.id, service.id, "1")
    row = await cat.do_set_on_hand(anna, store.id, pipe.id, "2")
    assert (row.on_hand, row.reserved, row.free) == (D(2), D(2), D(0))
    assert pipe.id in {r.product.id for r in (await cat.stock_page(store.id, short=True))[0]}
