"""Price lists, their prices and rules as an admin edits them (issue 13: K-5, M-5), and
discount groups, clients' terms and promos (A-14): bad input refused naming the field,
only admins change, and "try a price" shows the trace of the rules just edited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import ClassifierNode, ListPrice, PriceList, Product, ProductCategory, Role
from services import clients as client_svc
from services import discount_admin as disc
from services import price_admin as svc
from services.errors import NotFound, PermissionDenied, ValidationFailed

D = Decimal
DAY = date(2026, 6, 10)  # the pinned clock's day (tests/conftest.py)


async def _refused(coro, field: str) -> str:
    with pytest.raises(ValidationFailed) as err:
        await coro
    assert err.value.field == field, err.value
    return err.value.message


async def _lists(admin):
    retail = await svc.do_save_list(admin, None, {"name": "Розница"})
    opt = await svc.do_save_list(admin, None, {"name": "Опт", "base_list_id": retail.id})
    return retail, opt


async def test_k5_lists_one_default_same_currency_no_cycles(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    manager = await make_staff(Role.MANAGER)
    retail, opt = await _lists(admin)
    assert retail.is_default and not opt.is_default  # the first list is the default
    assert opt.base_list_id == retail.id
    with pytest.raises(PermissionDenied):
        await svc.do_save_list(manager, retail.id, {"name": "Моя"})
    assert "already" in await _refused(svc.do_save_list(admin, None, {"name": "Опт"}), "name")
    await _refused(svc.do_save_list(admin, None, {"name": "X", "currency": "рубли"}),
                   "currency")
    await _refused(svc.do_save_list(admin, None, {"name": "X", "valid_from": "2026-06-10",
                                                  "valid_to": "2026-06-01"}), "valid_to")
    await _refused(svc.do_save_list(admin, None, {"name": "USD", "currency": "USD",
                                                  "base_list_id": retail.id}),
                   "base_list_id")
    # a cycle, even through another list
    await _refused(svc.do_save_list(admin, retail.id, {"base_list_id": opt.id}),
                   "base_list_id")
    await _refused(svc.do_save_list(admin, opt.id, {"base_list_id": opt.id}), "base_list_id")
    # a chain of at most five
    top = opt
    for n in range(3):
        top = await svc.do_save_list(admin, None, {"name": f"L{n}", "base_list_id": top.id})
    await _refused(svc.do_save_list(admin, None, {"name": "L6", "base_list_id": top.id}),
                   "base_list_id")
    # the currency of a list others stand on stays
    await _refused(svc.do_save_list(admin, retail.id, {"currency": "EUR"}), "currency")
    # exactly one default: unmarking refused, marking another moves it
    await _refused(svc.do_save_list(admin, retail.id, {"is_default": False}), "is_default")
    await _refused(svc.do_save_list(admin, retail.id, {"archived": True}), "archived")
    await svc.do_save_list(admin, opt.id, {"is_default": True})
    assert [p.name for p in await PriceList.filter(is_default=True)] == ["Опт"]
    await svc.do_save_list(admin, retail.id, {"archived": True})
    assert "Розница" not in [p.name for p in await svc.list_price_lists()]
    await svc.do_save_list(admin, retail.id, {"archived": False})
    assert "Розница" in [p.name for p in await svc.list_price_lists()]


async def test_k5_prices_set_cleared_inherited_and_searched(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    retail, opt = await _lists(admin)
    pipe = await Product.create(name="Труба ДН50", code="T-50", cost_price=D(800))
    bolt = await Product.create(name="Болт М8", code="B-8")
    await svc.do_set_price(admin, retail.id, pipe.id, "1 000,50")
    await svc.do_set_price(admin, retail.id, bolt.id, "12")
    await _refused(svc.do_set_price(admin, retail.id, pipe.id, "дорого"), "price")
    await _refused(svc.do_set_price(admin, retail.id, pipe.id, "-1"), "price")
    assert (await ListPrice.get(price_list=retail, product=pipe)).price == D("1000.50")
    await svc.do_set_price(admin, opt.id, pipe.id, "950")
    rows, more = await svc.list_prices(opt.id)
    assert not more
    assert [(r.product.name, r.price, r.inherited, r.from_list) for r in rows] == [
        ("Болт М8", None, D("12.00"), "Розница"), ("Труба ДН50", D("950.00"), None, None)]
    rows, _ = await svc.list_prices(opt.id, q="труба")
    assert [r.product.code for r in rows] == ["T-50"]
    rows, _ = await svc.list_prices(opt.id, only_priced=True)
    assert [r.product.code for r in rows] == ["T-50"]
    rows, more = await svc.list_prices(retail.id, per_page=1)
    assert more and len(rows) == 1
    await svc.do_set_price(admin, opt.id, pipe.id, "")
    assert not await ListPrice.filter(price_list=opt, product=pipe).exists()
    with pytest.raises(NotFound):
        await svc.do_set_price(admin, opt.id, 999999, "1")


async def test_k5_rules_validated_field_by_field_reordered_and_tried(database_url,
                                                                    make_staff):
    admin = await make_staff(Role.ADMIN)
    retail, opt = await _lists(admin)
    cat = await ProductCategory.create(name="Трубы")
    pipe = await Product.create(name="Труба ДН50", group=cat, cost_price=D(800))
    nocost = await Product.create(name="Кран")
    await svc.do_set_price(admin, retail.id, pipe.id, "1000")
    await svc.do_set_price(admin, retail.id, nocost.id, "500")
    new = svc.do_create_rule
    assert "0 to 100" in await _refused(new(admin, opt.id, {"method": "discount",
                                                           "value": "120"}), "value")
    await _refused(new(admin, opt.id, {"method": "markup", "value": "-5"}), "value")
    await _refused(new(admin, opt.id, {"method": "fixed", "value": "abc"}), "value")
    await _refused(new(admin, opt.id, {"method": "bogus", "value": "1"}), "method")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "base": "other"}), "base_list_id")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5", "base": "other",
                                       "base_list_id": opt.id}), "base_list_id")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "min_qty": "-1"}), "min_qty")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "valid_from": "2026-07-01",
                                       "valid_to": "2026-06-01"}), "valid_to")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5", "scope": "product",
                                       "product_id": pipe.id, "category_id": cat.id}),
                   "category_id")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "scope": "category"}), "category_id")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "client_node_id": 99999}), "client_node_id")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "client_status": "vip"}), "client_status")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "rounding": "0"}), "rounding")
    await _refused(new(admin, opt.id, {"method": "discount", "value": "5",
                                       "min_margin": "-3"}), "min_margin")
    with pytest.raises(PermissionDenied):
        await new(await make_staff(Role.MANAGER), opt.id, {"method": "discount", "value": "5"})
    # a cost-price rule for a product without a cost price: saved, with a warning
    warned = await new(admin, opt.id, {"method": "markup", "base": "cost", "value": "30",
                                       "scope": "product", "product_id": nocost.id})
    assert warned.warnings and "cost price" in str(warned.warnings[0])
    await svc.do_update_rule(admin, warned.rule.id, {"archived": True})
    first = (await new(admin, opt.id, {"name": "−10 %", "method": "discount", "value": "10",
                                       "rounding": "1"})).rule
    second = (await new(admin, opt.id, {"name": "Трубы +50", "method": "fixed",
                                        "value": "700", "scope": "category",
                                        "category_id": cat.id, "surcharge": "50",
                                        "min_margin": "10", "final": True})).rule
    assert not (await new(admin, opt.id, {"method": "discount", "value": "1"})).warnings
    assert [r.name for r in await svc.list_rules(opt.id)][:2] == ["−10 %", "Трубы +50"]
    client = (await client_svc.do_create_client(admin, {"name": "Ромашка"})).client
    priced, pl = await svc.try_price(admin, client.id, pipe.id, "2", DAY, list_id=opt.id)
    # 700 + 50 = 750, then the floor: 800 + 10 % = 880
    assert pl.name == "Опт" and priced.price == D("880.00")
    assert [s["step"] for s in priced.trace] == ["base_list", "rule", "rule", "min_margin"]
    await svc.do_move_rule(admin, second.id, "up")
    assert [r.id for r in await svc.list_rules(opt.id)][:2] == [second.id, first.id]
    priced, _ = await svc.try_price(admin, client.id, pipe.id, "2", DAY, list_id=opt.id)
    assert [s["step"] for s in priced.trace] == ["base_list", "rule", "min_margin"]  # final
    await _refused(svc.do_move_rule(admin, second.id, "sideways"), "direction")
    await _refused(svc.try_price(admin, client.id, pipe.id, "много", DAY), "quantity")
    with pytest.raises(NotFound):
        await svc.try_price(await make_staff(Role.MANAGER), client.id, pipe.id, "1", DAY)


async def test_m5_a_client_category_gets_a_list(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    _retail, opt = await _lists(admin)
    node = await ClassifierNode.create(name="Дилеры")
    row = await svc.do_set_category_list(admin, {"client_node_id": node.id,
                                                 "price_list_id": opt.id, "priority": 2})
    assert (row.client_node.name, row.price_list.name) == ("Дилеры", "Опт")  # loaded
    assert [(r.client_node.name, r.price_list.name, r.priority)
            for r in await svc.category_lists()] == [("Дилеры", "Опт", 2)]
    await _refused(svc.do_set_category_list(admin, {"client_node_id": node.id}),
                   "price_list_id")
    await _refused(svc.do_set_category_list(admin, {"price_list_id": opt.id}),
                   "client_node_id")
    await svc.do_remove_category_list(admin, row.id)
    assert await svc.category_lists() == []


async def test_a14_groups_terms_and_promos_refuse_bad_input(database_url, make_staff):
    from models import ProductKind

    admin = await make_staff(Role.ADMIN)
    manager = await make_staff(Role.MANAGER)
    retail, _opt = await _lists(admin)
    kind = await ProductKind.create(name="Трубы")
    group = await disc.do_save_group(admin, None, {"name": "Дилеры", "combine": "chain",
                                                   "rates": [{"kind_id": kind.id,
                                                              "percent": "5"},
                                                             {"kind_id": None,
                                                              "percent": "2,5"}]})
    [(g, rates)] = await disc.list_groups()
    assert g.combine == "chain" and rates == {kind.id: D("5.00"), None: D("2.50")}
    await _refused(disc.do_save_group(admin, group.id, {"rates": [
        {"kind_id": kind.id, "percent": "101"}]}), "rates.0.percent")
    await _refused(disc.do_save_group(admin, group.id, {"combine": "sum"}), "combine")
    await _refused(disc.do_save_group(admin, None, {"name": "Дилеры"}), "name")
    with pytest.raises(PermissionDenied):
        await disc.do_save_group(manager, group.id, {"name": "Мои"})
    # terms: a head or an admin who sees the client; its own manager only sees them
    client = (await client_svc.do_create_client(manager, {"name": "Ромашка"})).client
    with pytest.raises(PermissionDenied):
        await disc.do_set_terms(manager, client.id, {"discount": "50"})
    terms = await disc.do_set_terms(admin, client.id, {
        "price_list_id": retail.id, "discount_group_id": group.id, "discount": "7"})
    assert (terms.price_list.name, terms.discount_group.name, terms.discount) == (
        "Розница", "Дилеры", D("7.00"))
    await _refused(disc.do_set_terms(admin, client.id, {"discount": "150"}), "discount")
    await _refused(disc.do_set_terms(admin, client.id, {"price_list_id": 99999}),
                   "price_list_id")
    with pytest.raises(NotFound):
        await disc.do_set_terms(await make_staff(Role.HEAD), client.id, {"discount": "1"})
    # promos
    pipe = await Product.create(name="Труба")
    promo = await disc.do_save_promo(admin, None, {
        "name": "Подарок", "percent": "100", "starts": "2026-06-01", "ends": "2026-06-30",
        "scope": "product", "product_id": pipe.id, "min_qty": "10"})
    assert promo.percent == D(100) and promo.product_id == pipe.id
    await _refused(disc.do_save_promo(admin, promo.id, {"percent": "100,5"}), "percent")
    await _refused(disc.do_save_promo(admin, promo.id, {"ends": "2026-05-01"}), "ends")
    await _refused(disc.do_save_promo(admin, promo.id, {"scope": "kind"}), "kind_id")
    await _refused(disc.do_save_promo(admin, None, {"name": "Без процента"}), "percent")
    with pytest.raises(PermissionDenied):
        await disc.do_save_promo(manager, promo.id, {"archived": True})
    promo = await disc.do_save_promo(admin, promo.id, {"scope": "all", "archived": True})
    assert promo.product_id is None and promo.archived
