"""Orders (issue 13): lines priced with their trace and totals with VAT (K-5, A-14),
the client's matrix (S-22), price overrides, states with stock reserved, written off and
given back (K-4) — never the same unit twice under parallel postings — and the events a
posting makes (S-17)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from models import (
    Activity,
    ClientTerms,
    DictionaryItem,
    ListPrice,
    MatrixEntry,
    Order,
    OrderLine,
    OrderState,
    OwnEntity,
    PriceList,
    PriceRule,
    Product,
    Role,
    StockLevel,
    StockMove,
    Warehouse,
)
from services import clients as client_svc
from services import orders as svc
from services import stock
from services.errors import NotFound, PermissionDenied, ValidationFailed

D = Decimal


async def _setup(owner, *, on_hand="10", vat_included=True):
    client = (await client_svc.do_create_client(owner, {"name": "Ромашка"})).client
    retail = await PriceList.create(name="Розница", is_default=True, vat_included=vat_included)
    pipe = await Product.create(name="Труба ДН50", code="T-50", vat_rate=D(20),
                                cost_price=D("800.00"))
    bolt = await Product.create(name="Болт М8", code="B-8", vat_rate=D(20), unit="кг")
    mounting = await Product.create(name="Монтаж", is_service=True, vat_rate=None)
    for product, price in ((pipe, "1000.00"), (bolt, "12.50"), (mounting, "5000.00")):
        await ListPrice.create(price_list=retail, product=product, price=D(price))
    store = await Warehouse.create(name="Основной", is_default=True)
    await StockLevel.create(warehouse=store, product=pipe, on_hand=D(on_hand))
    await StockLevel.create(warehouse=store, product=bolt, on_hand=D("3.5"))
    await OwnEntity.create(name="ООО «Контакт»", inn="7707083893", is_default=True)
    return client, retail, store, pipe, bolt, mounting


async def _order(owner, client, lines, **extra):
    order = await svc.do_create_order(owner, {"client_id": client.id, **extra})
    if lines:
        order = await svc.do_set_lines(owner, order.id, lines)
    return order


async def test_k5_lines_keep_their_price_trace_and_totals_with_vat(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client, retail, store, pipe, bolt, mounting = await _setup(ivan)
    await ClientTerms.create(client=client, discount=D(5))
    order = await _order(ivan, client, [
        {"product_id": pipe.id, "quantity": "3"}, {"product_id": bolt.id, "quantity": "2,5"},
        {"product_id": mounting.id, "quantity": 1}])
    assert order.number == f"{order.id:06d}" and order.state == OrderState.DRAFT
    assert (order.price_list_id, order.currency, order.warehouse_id) == (
        retail.id, "RUB", store.id)
    assert (await order.own_entity).name == "ООО «Контакт»"
    lines = await svc.order_lines(order)
    assert [(ln.name, ln.quantity, ln.list_price, ln.price, ln.amount) for ln in lines] == [
        ("Труба ДН50", D("3.000"), D("1000.00"), D("950.00"), D("2850.00")),
        ("Болт М8", D("2.500"), D("12.50"), D("11.88"), D("29.70")),
        ("Монтаж", D("1.000"), D("5000.00"), D("4750.00"), D("4750.00"))]
    assert [s["step"] for s in lines[0].trace] == ["list", "individual"]
    assert lines[0].discount == D("5.00") and lines[0].cost == D("2400.00")
    # VAT inside the price: 2850 × 20 / 120 = 475; the service has none
    assert [ln.vat_amount for ln in lines] == [D("475.00"), D("4.95"), D("0.00")]
    assert (order.subtotal, order.total, order.vat_total) == (
        D("8031.25"), D("7629.70"), D("479.95"))
    assert order.discount_total == D("401.55")
    # a list change later does not touch the order's prices
    await ListPrice.filter(price_list=retail, product=pipe).update(price=D("2000.00"))
    assert (await OrderLine.get(order_id=order.id, product_id=pipe.id)).price == D("950.00")
    # bad input: named, nothing lost
    for bad, field in (([{"product_id": pipe.id, "quantity": "много"}], "lines.0.quantity"),
                       ([{"product_id": pipe.id, "quantity": "0"}], "lines.0.quantity"),
                       ([{"quantity": "1"}], "lines.0.product_id")):
        with pytest.raises(ValidationFailed) as err:
            await svc.do_set_lines(ivan, order.id, bad)
        assert err.value.field == field
    assert await OrderLine.filter(order_id=order.id).count() == 3


async def test_k5_vat_on_top_when_the_list_is_without_it(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client, _retail, _store, pipe, _bolt, _m = await _setup(ivan, vat_included=False)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 2}])
    assert (order.subtotal, order.vat_total, order.total) == (
        D("2000.00"), D("400.00"), D("2400.00"))


async def test_k5_a_price_typed_by_hand_and_the_minimum_margin(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    admin = await make_staff(Role.ADMIN)
    client, retail, _store, pipe, _bolt, _m = await _setup(ivan)
    await PriceRule.create(price_list=retail, position=1, name="Маржа", method="discount",
                           value=D(0), min_margin=D(10))
    order = await _order(ivan, client, [])
    # above the floor (880): anyone, written into the trace
    order = await svc.do_set_lines(ivan, order.id, [
        {"product_id": pipe.id, "quantity": 1, "price": "900"}])
    line = await OrderLine.get(order_id=order.id)
    assert line.price == D("900.00") and line.trace[-1]["step"] == "override"
    assert line.override_by_id is None
    # below it: not a manager; a head or an admin only with a reason
    below = [{"product_id": pipe.id, "quantity": 1, "price": "850"}]
    with pytest.raises(PermissionDenied):
        await svc.do_set_lines(ivan, order.id, below)
    with pytest.raises(ValidationFailed) as err:
        await svc.do_set_lines(admin, order.id, below)
    assert err.value.field == "lines.0.override_reason" and "880" in err.value.message
    order = await svc.do_set_lines(admin, order.id, [
        {**below[0], "override_reason": "Старый клиент, согласовано"}])
    line = await OrderLine.get(order_id=order.id)
    assert (line.price, line.override_by_id, line.override_reason) == (
        D("850.00"), admin.id, "Старый клиент, согласовано")
    assert line.trace[-1]["by"] == admin.id


async def test_s22_a_product_outside_the_clients_matrix_needs_a_confirmation(
        database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client, _retail, _store, pipe, bolt, _m = await _setup(ivan)
    from services.dictionaries import ensure_system_dictionaries

    await ensure_system_dictionaries()
    building = await DictionaryItem.filter(code="construction").first()
    await client.spheres.add(building)
    await MatrixEntry.create(product=pipe, sphere=building)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 1}])
    with pytest.raises(ValidationFailed) as err:
        await svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": 1},
                                                {"product_id": bolt.id, "quantity": 1}])
    assert err.value.field == "lines.1.product_id" and "matrix" in err.value.message
    await svc.do_set_lines(ivan, order.id, [
        {"product_id": pipe.id, "quantity": 1},
        {"product_id": bolt.id, "quantity": 1, "off_matrix": True}])
    flags = await OrderLine.filter(order_id=order.id).order_by("position").values_list(
        "off_matrix", flat=True)
    assert flags == [False, True]


async def test_k4_post_reserves_ship_writes_off_cancel_gives_back(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER, timezone="Europe/Moscow")
    client, _retail, store, pipe, bolt, mounting = await _setup(ivan)
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 4},
                                        {"product_id": mounting.id, "quantity": 1}])
    posted = await svc.do_post(ivan, order.id)
    assert posted.order.state == OrderState.POSTED and posted.order.posted_at is not None
    assert (await stock.free_stock([pipe.id], store.id))[pipe.id] == D(6)
    # a double tap: once
    again = await svc.do_post(ivan, order.id)
    assert not again.changed
    assert (await stock.free_stock([pipe.id], store.id))[pipe.id] == D(6)
    with pytest.raises(ValidationFailed) as err:  # a posted order's lines stay
        await svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": 1}])
    assert err.value.field == "state"
    shipped = await svc.do_ship(ivan, order.id)
    level = await StockLevel.get(warehouse=store, product=pipe)
    assert shipped.order.state == OrderState.SHIPPED
    assert (level.on_hand, level.reserved) == (D(6), D(0))
    closed = await svc.do_close(ivan, order.id)
    assert closed.order.state == OrderState.CLOSED
    with pytest.raises(ValidationFailed):
        await svc.do_cancel(ivan, order.id)
    # cancelled after posting: the reservation is given back
    other = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 5}])
    await svc.do_post(ivan, other.id)
    assert (await stock.free_stock([pipe.id], store.id))[pipe.id] == D(1)
    await svc.do_cancel(ivan, other.id)
    assert (await stock.free_stock([pipe.id], store.id))[pipe.id] == D(6)
    kinds = await StockMove.filter(product_id=pipe.id).order_by("id").values_list(
        "kind", flat=True)
    assert kinds == ["reserve", "ship", "reserve", "release"]


async def test_k4_short_lines_are_named_and_nothing_is_reserved(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client, _retail, store, pipe, bolt, _m = await _setup(ivan, on_hand="2")
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 5},
                                        {"product_id": bolt.id, "quantity": "2"}])
    with pytest.raises(stock.StockShort) as err:
        await svc.do_post(ivan, order.id)
    assert [(s.product.name, s.needed, s.free, s.short_by) for s in err.value.lines] == [
        ("Труба ДН50", D(5), D(2), D(3))]
    assert "«Труба ДН50»: needed 5, free 2, short by 3" in err.value.message
    from kontakt.errors import error_message

    assert "не хватает" in error_message(err.value, "ru").lower()
    assert (await Order.get(id=order.id)).state == OrderState.DRAFT
    assert (await stock.free_stock([bolt.id], store.id))[bolt.id] == D("3.5")
    assert not await StockMove.filter(order_id=order.id).exists()
    # a warehouse that allows backorders takes it
    await Warehouse.filter(id=store.id).update(allow_backorder=True)
    await svc.do_post(ivan, order.id)
    assert (await stock.free_stock([pipe.id], store.id))[pipe.id] == D(-3)


async def test_k4_parallel_postings_never_reserve_the_same_unit(database_url, make_staff):
    """Eight orders of 3 each posted at once against 10 on hand: three go through,
    five are refused, 9 reserved — on PostgreSQL with real concurrent transactions."""
    ivan = await make_staff(Role.MANAGER)
    client, _retail, store, pipe, _bolt, _m = await _setup(ivan)
    made = [await _order(ivan, client, [{"product_id": pipe.id, "quantity": 3}])
            for _ in range(8)]
    results = await asyncio.gather(*(svc.do_post(ivan, o.id) for o in made),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, stock.StockShort)]
    posted = [r for r in results if isinstance(r, svc.OrderResult)]
    assert (len(posted), len(refused)) == (3, 5), results
    level = await StockLevel.get(warehouse=store, product=pipe)
    assert (level.on_hand, level.reserved) == (D(10), D(9))
    assert await Order.filter(state=OrderState.POSTED).count() == 3


async def test_s17_posting_plans_a_call_and_moves_a_deal_waiting_for_an_order(
        database_url, make_staff):
    from services import deal_moves, deal_processes
    from services import deals as deal_svc

    ivan = await make_staff(Role.MANAGER, timezone="Europe/Moscow", language="ru")
    admin = await make_staff(Role.ADMIN)
    client, _retail, _store, pipe, _bolt, _m = await _setup(ivan)
    sale = next(p for p in await deal_svc.process_types() if p.code == "sale")
    stages = await deal_svc.stages_of(sale.id)
    await deal_processes.do_save_process(admin, sale.id, {
        "name": sale.name, "kind": "sale", "mode": "managed",
        "stages": [{"id": s.id, "name": s.name, "kind": s.kind,
                    "probability": s.probability,
                    "requires": ["order_posted"] if s.code == "contract" else [],
                    "skippable": True} for s in stages]})
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id, "amount": "3000",
                                                 "expected_close": "2026-12-31"})).deal
    contract = next(s for s in stages if s.code == "contract")
    with pytest.raises(ValidationFailed) as err:  # no posted order yet
        await deal_moves.do_move(ivan, deal.id, contract.id)
    assert "no posted order" in err.value.message
    order = await _order(ivan, client, [{"product_id": pipe.id, "quantity": 3}],
                         deal_id=deal.id)
    await svc.do_post(ivan, order.id)
    moved = await deal_svc.get_deal(ivan, deal.id)
    assert moved.stage_id == contract.id
    call = await Activity.get(client_id=client.id, deal_id=deal.id)
    assert call.title == f"Звонок по заказу № {order.number}"  # in the owner's language
    assert (await call.type).code == "call"
    local = call.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert local.hour == 10


async def test_orders_are_seen_by_those_who_see_the_client(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    petr = await make_staff(Role.MANAGER)
    client, *_ = await _setup(ivan)
    order = await _order(ivan, client, [])
    with pytest.raises(NotFound):
        await svc.get_order(petr, order.id)
    with pytest.raises(NotFound):
        await svc.do_post(petr, order.id)
    assert [o.id for o in await svc.my_orders(ivan)] == [order.id]
    assert await svc.my_orders(petr) == []
