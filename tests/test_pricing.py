"""Prices with known answers (issue 13): the client's list (M-5), the list's rules with
volume steps, categories, client conditions, rounding and a minimum margin (K-5),
discount groups, individual discounts and promos up to a gift (A-14) — and the trace
each price keeps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import (
    ClassifierNode,
    ClientClassification,
    ClientList,
    ClientTerms,
    CombineMode,
    DiscountGroup,
    DiscountRate,
    ListForCategory,
    ListPrice,
    PriceList,
    PriceRule,
    Product,
    ProductCategory,
    ProductKind,
    Promo,
    Role,
)
from services import clients as client_svc
from services import pricing
from services.errors import ValidationFailed

DAY = date(2026, 6, 10)
D = Decimal


async def _client(owner, name="Ромашка", **extra):
    return (await client_svc.do_create_client(owner, {"name": name, **extra})).client


async def _catalogue():
    pipes = await ProductCategory.create(name="Трубы")
    steel = await ProductCategory.create(name="Стальные", parent=pipes)
    fittings = await ProductCategory.create(name="Фитинги")
    k_pipe = await ProductKind.create(name="Трубный прокат")
    k_fit = await ProductKind.create(name="Соединения")
    dn50 = await Product.create(name="Труба ДН50", code="T-50", group=steel, kind=k_pipe,
                                cost_price=D("800.00"), vat_rate=D(20))
    elbow = await Product.create(name="Отвод 90°", code="O-90", group=fittings, kind=k_fit,
                                 cost_price=D("90.00"), vat_rate=D(20))
    valve = await Product.create(name="Кран шаровый", code="K-15", cost_price=D("300.00"))
    retail = await PriceList.create(name="Розница", is_default=True)
    wholesale = await PriceList.create(name="Опт", base_list=retail)
    for product, price in ((dn50, "1000.00"), (elbow, "150.00"), (valve, "500.00")):
        await ListPrice.create(price_list=retail, product=product, price=D(price))
    await ListPrice.create(price_list=wholesale, product=dn50, price=D("950.00"))
    return {"pipes": pipes, "steel": steel, "fittings": fittings, "dn50": dn50,
            "elbow": elbow, "valve": valve, "retail": retail, "wholesale": wholesale,
            "k_pipe": k_pipe, "k_fit": k_fit}


async def _price(client, product, qty="1", on=DAY):
    return await pricing.price_of(client.id, product.id, D(qty), on)


def _steps(priced):
    return [s["step"] for s in priced.trace]


async def test_m5_which_list_a_client_gets(database_url, make_staff):
    """The card's list, else the category's (a node counting for its branch), else
    the default; a list outside its dates is passed over."""
    ivan = await make_staff(Role.MANAGER)
    c = await _catalogue()
    plain = await _client(ivan, "Простой")
    assert (await _price(plain, c["dn50"])).price == D("1000.00")
    dealers = await ClassifierNode.create(name="Дилеры")
    regional = await ClassifierNode.create(name="Региональные", parent=dealers)
    dealer = await _client(ivan, "Дилер")
    await ClientClassification.create(node=regional, client=dealer)
    await ListForCategory.create(client_node=dealers, price_list=c["wholesale"])
    priced = await _price(dealer, c["dn50"])
    assert priced.price == D("950.00") and priced.trace[0]["list"] == "Опт"
    # a product without the list's own price: its base list's
    priced = await _price(dealer, c["elbow"])
    assert priced.price == D("150.00") and _steps(priced) == ["base_list"]
    # the card's own list wins; a list out of its dates is passed over
    summer = await PriceList.create(name="Лето", valid_from=date(2026, 6, 1),
                                    valid_to=date(2026, 8, 31))
    await ListPrice.create(price_list=summer, product=c["dn50"], price=D("900.00"))
    await ClientTerms.create(client=dealer, price_list=summer)
    assert (await _price(dealer, c["dn50"])).price == D("900.00")
    assert (await _price(dealer, c["dn50"], on=date(2026, 9, 1))).price == D("950.00")
    # no list at all: said so
    await PriceList.filter(is_default=True).update(is_default=False)
    with pytest.raises(ValidationFailed) as err:
        await _price(plain, c["dn50"])
    assert err.value.field == "price_list"


async def test_k5_rules_volume_steps_categories_rounding_and_conditions(
        database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    c = await _catalogue()
    client = await _client(ivan)
    retail = c["retail"]
    # a category rule reaches its subcategories; volume steps: the largest reached
    await PriceRule.create(price_list=retail, position=1, name="Трубы от 10",
                           category=c["pipes"], min_qty=D(10), value=D(5))
    await PriceRule.create(price_list=retail, position=1, name="Трубы от 100",
                           category=c["pipes"], min_qty=D(100), value=D(10))
    assert (await _price(client, c["dn50"], "5")).price == D("1000.00")
    at_50 = await _price(client, c["dn50"], "50")
    assert at_50.price == D("950.00") and at_50.trace[1]["rule"] == "Трубы от 10"
    at_150 = await _price(client, c["dn50"], "150")
    assert at_150.price == D("900.00") and _steps(at_150) == ["list", "rule"]
    assert at_150.list_price == D("900.00") and at_150.discount == D(0)
    # two rules alike with the same minimum are not a ladder: both apply, in order
    await PriceRule.create(price_list=retail, position=2, name="Трубы от 10: ещё 1 %",
                           category=c["pipes"], min_qty=D(10), value=D(1))
    assert (await _price(client, c["dn50"], "50")).price == D("940.50")  # 950 − 1 %
    await PriceRule.filter(name="Трубы от 10: ещё 1 %").delete()
    # the fittings are not pipes
    assert (await _price(client, c["elbow"], "150")).price == D("150.00")
    # a markup on the cost with a surcharge and rounding to 10, for partners only
    await PriceRule.create(price_list=retail, position=2, name="Краны: себестоимость + 37%",
                           product=c["valve"], method="markup", base="cost", value=D(37),
                           surcharge=D("3.50"), rounding=D(10),
                           client_status=ClientList.PARTNER)
    valve = await _price(client, c["valve"])
    # 300 × 1.37 = 411 + 3.50 = 414.50 → 410
    assert valve.price == D("410.00")
    counterparty = await _client(ivan, "Контрагент", list_type="counterparty")
    assert (await _price(counterparty, c["valve"])).price == D("500.00")
    # a fixed price for one category of clients, final: the rules after it are skipped
    vip = await ClassifierNode.create(name="VIP")
    await ClientClassification.create(node=vip, client=client)
    await PriceRule.create(price_list=retail, position=0, name="VIP", product=c["dn50"],
                           method="fixed", value=D("880.00"), client_node=vip, final=True)
    assert (await _price(client, c["dn50"], "150")).price == D("880.00")
    assert (await _price(counterparty, c["dn50"], "150")).price == D("900.00")
    # another list as the base
    await PriceRule.create(price_list=retail, position=3, name="Опт − 2%", product=c["dn50"],
                           base="other", base_list=c["wholesale"], value=D(2))
    priced = await _price(counterparty, c["dn50"], "1")
    assert priced.price == D("931.00")  # 950 − 2 %
    # a product without any price: refused naming it
    bare = await Product.create(name="Заглушка")
    with pytest.raises(ValidationFailed) as err:
        await _price(client, bare)
    assert "Заглушка" in err.value.message and "Розница" in err.value.message


async def test_a14_groups_individual_promos_and_the_minimum_margin(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    c = await _catalogue()
    client = await _client(ivan)
    group = await DiscountGroup.create(name="Партнёры", combine=CombineMode.BEST)
    await DiscountRate.create(group=group, kind=c["k_pipe"], percent=D(10))
    await DiscountRate.create(group=group, kind=None, percent=D(3))
    terms = await ClientTerms.create(client=client, discount_group=group, discount=D(5))
    # best of: 10 % (the pipes' rate) over 5 % (the client's own)
    pipe = await _price(client, c["dn50"])
    assert pipe.price == D("900.00") and _steps(pipe) == ["list", "group"]
    assert pipe.discount == D("10.00") and pipe.list_price == D("1000.00")
    # another kind: the group's 3 % loses to the client's 5 %
    elbow = await _price(client, c["elbow"])
    assert elbow.price == D("142.50") and _steps(elbow) == ["list", "individual"]
    # one after another: 10 % then 5 % = 14.5 %
    await DiscountGroup.filter(id=group.id).update(combine=CombineMode.CHAIN)
    pipe = await _price(client, c["dn50"])
    assert pipe.price == D("855.00") and _steps(pipe) == ["list", "group", "individual"]
    assert pipe.trace[1]["combine"] == "chain"
    # a minimum margin of 10 % over the cost (800 → 880): raised back to the floor
    await PriceRule.create(price_list=c["retail"], position=5, name="Маржа",
                           category=c["pipes"], method="discount", value=D(0),
                           min_margin=D(10))
    pipe = await _price(client, c["dn50"])
    assert pipe.price == D("880.00") and _steps(pipe)[-1] == "min_margin"
    assert pipe.floor == D("880.00")
    # a promo may go below it: 100 % is a gift line
    gift = await Promo.create(name="Отвод в подарок", percent=D(100), starts=DAY,
                              ends=DAY, product=c["elbow"], min_qty=D(2))
    assert (await _price(client, c["elbow"], "1")).promo_id is None
    free = await _price(client, c["elbow"], "2")
    assert free.price == D("0.00") and free.promo_id == gift.id
    assert free.amount == D("0.00") and _steps(free)[-1] == "promo"
    # a promo of a category, only on its days
    await Promo.create(name="Неделя труб", percent=D(30), starts=DAY, ends=DAY,
                       category=c["pipes"])
    pipe = await _price(client, c["dn50"])
    # chain: 10 %, 5 % → 855, raised to the 880 floor, then the promo's 30 % → 616
    assert pipe.price == D("616.00")
    assert _steps(pipe) == ["list", "rule", "group", "individual", "min_margin", "promo"]
    assert (await _price(client, c["dn50"], on=date(2026, 6, 11))).price == D("880.00")
    await terms.delete()


async def test_k5_a_whole_order_is_priced_in_one_go(database_url, make_staff):
    """Fifty lines in one call: the same answers as one by one."""
    ivan = await make_staff(Role.MANAGER)
    c = await _catalogue()
    client = await _client(ivan)
    await PriceRule.create(price_list=c["retail"], position=1, category=c["pipes"],
                           min_qty=D(10), value=D(5))
    ctx = await pricing.context_for(client.id, DAY)
    wanted = [(p.id, D(q)) for q in ("1", "10", "2.5") for p in
              (c["dn50"], c["elbow"], c["valve"])] * 5
    lines = await pricing.price_lines(ctx, wanted[:50])
    assert len(lines) == 45
    for line, (pid, qty) in zip(lines, wanted, strict=False):
        one = await pricing.price_of(client.id, pid, qty, DAY)
        assert (line.product.id, line.price, line.quantity) == (pid, one.price, qty)
    assert lines[3].price == D("950.00") and lines[3].amount == D("9500.00")
    with pytest.raises(ValidationFailed):
        await pricing.price_lines(ctx, [(c["dn50"].id, D(1))] * (pricing.MAX_LINES + 1))
