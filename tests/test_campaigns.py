"""Marketing campaigns (K-10, K-12): management rules, validation, permissions, and the
effectiveness figures (plan vs fact, contacts, cost per contact, deals, revenue,
margin, ROI, first vs last touch, variants side by side), every figure worked out by
hand; on both backends."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import (
    Attribution,
    Campaign,
    CampaignVariant,
    Deal,
    Department,
    Dictionary,
    DictionaryItem,
    Order,
    OrderLine,
    PartnerRole,
    ProcessType,
    Product,
    ProductCategory,
    Role,
    Segment,
    Stage,
    StageKind,
)
from services import campaign_figures as figs
from services import campaigns as svc
from services import clients as client_svc
from services.deal_processes import ensure_processes
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal
YEAR = TEST_NOW.year


async def _attr(client, campaign, variant, touch, subject=None, deal=None):
    return await Attribution.create(subject=subject or f"c:{client.id}", touch=touch,
                                    client=client, deal=deal, campaign=campaign,
                                    variant=variant, via="manual", at=TEST_NOW)


async def _order(owner, client, deal, state, lines, currency="RUB"):
    product = await Product.first()
    order = await Order.create(number=f"C{await Order.all().count() + 1}", client=client,
                               owner=owner, state=state, currency=currency, deal=deal,
                               posted_at=TEST_NOW - timedelta(days=1))
    for n, (amount, cost) in enumerate(lines):
        await OrderLine.create(order=order, position=n, product=product, name=product.name,
                               quantity=D(1), list_price=D(amount), price=D(amount),
                               amount=D(amount), cost=None if cost is None else D(cost))
    return order


async def world(make_staff):
    """Campaign A (budget 10 000 RUB) with variants V1 (email) and V2 (social) and
    campaign B; five clients, three deals, orders; see the tests for the sums."""
    sales = await Department.create(name="Маркетинг")
    admin = await make_staff(Role.ADMIN, timezone="UTC")
    head = await make_staff(Role.HEAD, department=sales, timezone="UTC")
    manager = await make_staff(Role.MANAGER, department=sales, timezone="UTC")
    cat = await ProductCategory.create(name="Трубы")
    await Product.create(name="Труба 20", group=cat)
    a = await svc.do_create_campaign(admin, {"name": "Весна", "starts_on": f"{YEAR}-03-01",
                                             "ends_on": f"{YEAR}-06-30", "budget": "10 000"})
    v1 = await svc.do_create_variant(admin, a.id, {"name": "Письмо", "channel": "email",
                                                   "budget": "4000"})
    v2 = await svc.do_create_variant(admin, a.id, {"name": "Соцсети", "channel": "social",
                                                   "budget": "5000", "promo_code": "vesna-1"})
    b = await svc.do_create_campaign(admin, {"name": "Выставка",
                                             "starts_on": f"{YEAR}-01-10"})
    # costs: V1 3000 planned / 3500 actual; V2 4000 / 2500; the campaign's own 1000 / none
    await svc.do_create_cost(admin, a.id, {"item": "Рассылка", "variant_id": v1.id,
                                           "planned": "3000", "actual": "3 500,00"})
    await svc.do_create_cost(admin, a.id, {"item": "Таргет", "variant_id": v2.id,
                                           "planned": "4000", "actual": "2500"})
    await svc.do_create_cost(admin, a.id, {"item": "Дизайн", "planned": "1000"})
    c = [(await client_svc.do_create_client(admin, {"name": f"Клиент {n}"})).client
         for n in range(1, 6)]
    # first touch: c1, c2 → V1; c3 → V2; c4 → B. Last touch: c1 → V1; c4 → V2
    await _attr(c[0], a, v1, "first")
    await _attr(c[1], a, v1, "first")
    await _attr(c[2], a, v2, "first")
    await _attr(c[3], b, None, "first")
    await _attr(c[0], a, v1, "last")
    await _attr(c[3], a, v2, "last")
    # a lead (inbound request) through V2, both touches
    await _attr(c[4], a, v2, "first", subject="a:901")
    await _attr(c[4], a, v2, "last", subject="a:901")
    await ensure_processes()
    process = await ProcessType.first()
    won = await Stage.get(process=process, kind=StageKind.WON)
    open_ = await Stage.filter(process=process, kind=StageKind.OPEN).first()
    d1 = await Deal.create(title="d1", client=c[0], process=process, stage=won, owner=manager)
    d2 = await Deal.create(title="d2", client=c[3], process=process, stage=won, owner=manager)
    d3 = await Deal.create(title="d3", client=c[1], process=process, stage=open_,
                           owner=manager)
    # d3 has its own attribution: first → A V1, last → B
    await _attr(c[1], a, v1, "first", subject=f"d:{d3.id}", deal=d3)
    await _attr(c[1], b, None, "last", subject=f"d:{d3.id}", deal=d3)
    # an archived deal of c1 counts nothing
    await Deal.create(title="old", client=c[0], process=process, stage=won, owner=manager,
                      archived_at=TEST_NOW)
    # d1: 10 000 (cost 6 000) posted; 700 UAH (other currency) and a draft left out
    await _order(manager, c[0], d1, "posted", [("6000", "4000"), ("4000", "2000")])
    await _order(manager, c[0], d1, "posted", [("700", "100")], currency="UAH")
    await _order(manager, c[0], d1, "draft", [("9999", None)])
    # d2: 5 000 (cost 2 000) shipped, a cancelled one left out
    await _order(manager, c[3], d2, "shipped", [("5000", "2000")])
    await _order(manager, c[3], d2, "cancelled", [("9999", "1")])
    # d3: 2 000 (cost 1 500) closed
    await _order(manager, c[1], d3, "closed", [("2000", "1500")])
    return {"admin": admin, "head": head, "manager": manager, "a": a, "b": b, "v1": v1,
            "v2": v2, "clients": c, "deals": (d1, d2, d3)}


async def test_k10_figures_last_touch_by_hand(database_url, make_staff):
    """K-10, K-12: plan vs fact, contacts, cost per contact, deals, revenue, margin and
    ROI under the last-touch model (the default), per campaign and per variant."""
    w = await world(make_staff)
    cf = await figs.campaign_figures(w["manager"], w["a"].id)
    f = cf.figures
    # planned 3000 + 4000 + 1000 = 8000; actual 3500 + 2500 = 6000; −2000
    assert (f.budget, f.planned, f.actual, f.difference) == (
        D("10000.00"), D("8000.00"), D("6000.00"), D("-2000.00"))
    # contacts: c1, c2, c3 (first touch); 6000 / 3 = 2000 each
    assert (f.contacts, f.cost_per_contact, f.leads) == (3, D("2000.00"), 1)
    # last touch: d1 (c1 → V1) and d2 (c4 → V2); d3's own last touch is B
    assert (f.deals, f.won) == (2, 2)
    assert (f.revenue, f.margin) == (D("15000.00"), D("7000.00"))
    # ROI = (7000 − 6000) / 6000
    assert f.roi == D("0.1667") and f.roi_percent == D("16.7")
    v = {vf.variant.name: vf.figures for vf in cf.variants}
    assert (v["Письмо"].planned, v["Письмо"].actual, v["Письмо"].difference) == (
        D("3000.00"), D("3500.00"), D("500.00"))
    assert (v["Письмо"].contacts, v["Письмо"].cost_per_contact) == (2, D("1750.00"))
    assert (v["Письмо"].deals, v["Письмо"].revenue, v["Письмо"].margin) == (
        1, D("10000.00"), D("4000.00"))
    assert v["Письмо"].roi == D("0.1429")  # (4000 − 3500) / 3500
    assert (v["Соцсети"].contacts, v["Соцсети"].cost_per_contact, v["Соцсети"].leads) == (
        1, D("2500.00"), 1)
    assert (v["Соцсети"].deals, v["Соцсети"].revenue, v["Соцсети"].margin,
            v["Соцсети"].roi) == (1, D("5000.00"), D("3000.00"), D("0.2000"))
    assert v["Соцсети"].budget == D("5000.00")
    # the campaign's own cost (no variant) is a row of the comparison
    rows = figs.comparison(cf)
    assert [r["name"] for r in rows] == ["Письмо", "Соцсети", None]
    assert rows[2]["planned"] == "1000.00" and rows[2]["actual"] == "0.00"
    # B: no cost, ROI None; one contact (c4 first); d3 by its own last touch: 2000 / 500
    b = (await figs.campaign_figures(w["manager"], w["b"].id)).figures
    assert (b.contacts, b.deals, b.revenue, b.margin, b.roi, b.cost_per_contact) == (
        1, 1, D("2000.00"), D("500.00"), None, D("0.00"))


async def test_k10_first_touch_model(database_url, make_staff):
    """K-10: the first-touch model: d1 (c1 first → V1) and d3 (own first → V1) go to A,
    d2 (c4 first → B) to B."""
    w = await world(make_staff)
    f = (await figs.campaign_figures(w["admin"], w["a"].id, "first")).figures
    assert (f.deals, f.won, f.revenue, f.margin) == (2, 1, D("12000.00"), D("4500.00"))
    assert f.roi == D("-0.2500")  # (4500 − 6000) / 6000
    b = (await figs.campaign_figures(w["admin"], w["b"].id, "first")).figures
    assert (b.deals, b.won, b.revenue, b.margin) == (1, 1, D("5000.00"), D("3000.00"))
    with pytest.raises(ValidationFailed) as e:
        await figs.campaign_figures(w["admin"], w["a"].id, "middle")
    assert e.value.field == "model"


async def test_k12_roi_report_by_year_bounded_queries(database_url, make_staff):
    """K-12: the year's report lists the campaigns running that year (not archived, not
    ended before it, not starting after it) in a fixed number of queries."""
    from tests.querycount import counted

    w = await world(make_staff)
    old = await svc.do_create_campaign(w["admin"], {"name": "Прошлый год",
                                                    "starts_on": f"{YEAR - 1}-01-01",
                                                    "ends_on": f"{YEAR - 1}-12-31"})
    await svc.do_create_campaign(w["admin"], {"name": "Будущий", "starts_on": f"{YEAR + 1}-01-01"})
    gone = await svc.do_create_campaign(w["admin"], {"name": "Архив", "starts_on": f"{YEAR}-02-01"})
    await svc.do_archive_campaign(w["admin"], gone.id)
    rows = await figs.roi_report(YEAR)
    assert [r.campaign.name for r in rows] == ["Весна", "Выставка"]
    assert rows[0].figures.roi == D("0.1667")
    assert [r.campaign.name for r in await figs.roi_report(YEAR - 1)] == ["Прошлый год"]
    assert old.id
    for n in range(10):
        c = await svc.do_create_campaign(w["admin"], {"name": f"K{n}",
                                                      "starts_on": f"{YEAR}-05-01"})
        await svc.do_create_variant(w["admin"], c.id, {"name": "v"})
    with counted() as q:
        rows = await figs.roi_report(YEAR, "first")
    assert len(rows) == 12 and len(q) <= 6, q.report()


async def test_k10_validation_messages_name_the_field(database_url, make_staff):
    """K-10: wrong values are refused naming the field."""
    w = await world(make_staff)
    admin, a = w["admin"], w["a"]
    cases = [
        (svc.do_create_campaign(admin, {"name": " ", "starts_on": "2026-01-01"}), "name"),
        (svc.do_create_campaign(admin, {"name": "X"}), "starts_on"),
        (svc.do_create_campaign(admin, {"name": "X", "starts_on": "31.02.2026"}), "starts_on"),
        (svc.do_create_campaign(admin, {"name": "X", "starts_on": "2026-05-01",
                                        "ends_on": "2026-04-01"}), "ends_on"),
        (svc.do_create_campaign(admin, {"name": "X", "starts_on": "2026-05-01",
                                        "budget": "-1"}), "budget"),
        (svc.do_create_campaign(admin, {"name": "X", "starts_on": "2026-05-01",
                                        "currency": "XXX"}), "currency"),
        (svc.do_create_variant(admin, a.id, {"name": "V", "channel": "tv"}), "channel"),
        (svc.do_create_variant(admin, a.id, {"name": "V", "promo_code": "VESNA-1"}),
         "promo_code"),  # V2 has it (upper-cased)
        (svc.do_create_variant(admin, a.id, {"name": "V", "promo_code": "да!"}), "promo_code"),
        (svc.do_create_variant(admin, a.id, {"name": "V", "landing_url": "ftp://x"}),
         "landing_url"),
        (svc.do_create_variant(admin, a.id, {"name": "V", "region_id": 999}), "region_id"),
        (svc.do_create_cost(admin, a.id, {"item": "X", "planned": "abc"}), "planned"),
        (svc.do_create_cost(admin, a.id, {"item": "X", "variant_id": 99999}), "variant_id"),
        (svc.do_create_cost(admin, w["b"].id, {"item": "X", "variant_id": w["v1"].id}),
         "variant_id"),
        (svc.do_create_cost(admin, a.id, {"item": ""}), "item"),
    ]
    for coro, name in cases:
        with pytest.raises(ValidationFailed) as e:
            await coro
        assert e.value.field == name, (name, e.value)
    # the message names the field in the person's words (msgids in translations.json)
    from kontakt.errors import error_line

    with pytest.raises(ValidationFailed) as e:
        await svc.do_create_variant(admin, a.id, {"name": "V", "promo_code": "vesna-1"})
    assert "promo" in error_line(e.value, "en").lower()
    # the promo code is upper-cased, the tracked link token made
    v = await svc.do_create_variant(admin, a.id, {"name": "V3", "promo_code": " leto_5 ",
                                                  "landing_url": "https://example.com/a"})
    assert v.promo_code == "LETO_5" and len(v.link_token) >= 16
    # a region from the region dictionary is accepted
    regions = await Dictionary.get_or_none(code="region") or await Dictionary.create(
        code="region", name="Регион", system=True)
    msk = await DictionaryItem.create(dictionary=regions, name="Москва")
    v = await svc.do_update_variant(admin, a.id, v.id, {"region_id": msk.id})
    assert v.region_id == msk.id


async def test_k10_supplier_picker_and_service(database_url, make_staff):
    """K-10: a cost's supplier is any client while no supplier exists, then only a
    client in the supplier role."""
    w = await world(make_staff)
    admin, a, c = w["admin"], w["a"], w["clients"]
    cost = await svc.do_create_cost(admin, a.id, {"item": "Печать", "supplier_id": c[0].id,
                                                  "invoice_number": "17",
                                                  "invoice_date": "05.06.2026",
                                                  "quantity": "1000"})
    assert cost.invoice_date == date(2026, 6, 5) and cost.supplier_id == c[0].id
    await PartnerRole.create(client=c[1], kind="supplier")
    assert [x.id for x in await svc.supplier_choices()] == [c[1].id]
    with pytest.raises(ValidationFailed) as e:
        await svc.do_update_cost(admin, a.id, cost.id, {"supplier_id": c[2].id})
    assert e.value.field == "supplier_id"
    cost = await svc.do_update_cost(admin, a.id, cost.id, {"supplier_id": c[1].id,
                                                           "actual": "1200"})
    assert cost.actual == D("1200.00")
    # a service names its supplier; another supplier's service is refused
    from models import SupplierService

    banner = await SupplierService.create(supplier=c[1], name="Баннер 3×6", price=D("500"))
    other = await SupplierService.create(supplier=c[0], name="Листовки")
    made = await svc.do_create_cost(admin, a.id, {"item": "Баннер", "service_id": banner.id})
    assert made.supplier_id == c[1].id
    with pytest.raises(ValidationFailed) as e:
        await svc.do_update_cost(admin, a.id, made.id, {"service_id": other.id})
    assert e.value.field == "service_id"
    await svc.do_delete_cost(admin, a.id, cost.id)


async def test_k10_archive_delete_and_permissions(database_url, make_staff):
    """K-10: a campaign with attributions is archived, not deleted; one without is
    deleted; managers see campaigns but change nothing; heads manage."""
    w = await world(make_staff)
    admin, head, manager, a = w["admin"], w["head"], w["manager"], w["a"]
    with pytest.raises(ValidationFailed) as e:
        await svc.do_delete_campaign(admin, a.id)
    assert e.value.field == "campaign"
    with pytest.raises(ValidationFailed):
        await svc.do_delete_variant(admin, a.id, w["v1"].id)
    await svc.do_archive_campaign(admin, a.id)
    assert [c.name for c in await svc.list_campaigns(manager, year=YEAR)] == ["Выставка"]
    assert [c.name for c in await svc.list_campaigns(manager, archived=True)] == ["Весна"]
    await svc.do_archive_campaign(head, a.id, False)
    free = await svc.do_create_campaign(head, {"name": "Пусто", "starts_on": "2026-01-01"})
    v = await svc.do_create_variant(head, free.id, {"name": "v"})
    await svc.do_archive_variant(head, free.id, v.id)
    assert (await CampaignVariant.get(id=v.id)).archived
    await svc.do_delete_variant(head, free.id, v.id)
    await svc.do_delete_campaign(head, free.id)
    assert not await Campaign.exists(id=free.id)
    for coro in (svc.do_create_campaign(manager, {"name": "M", "starts_on": "2026-01-01"}),
                 svc.do_update_campaign(manager, a.id, {"name": "M"}),
                 svc.do_archive_campaign(manager, a.id),
                 svc.do_create_variant(manager, a.id, {"name": "v"}),
                 svc.do_create_cost(manager, a.id, {"item": "x"}),
                 svc.do_delete_campaign(manager, a.id)):
        with pytest.raises(PermissionDenied):
            await coro
    assert (await svc.get_campaign(manager, a.id)).name == "Весна"


async def test_m8_segment_preferences(database_url, make_staff):
    """M-8: the campaign's segment — what its members bought and which channels brought
    them (first touch)."""
    w = await world(make_staff)
    seg = await Segment.create(name="Все", rules={"match": "all", "conditions": []},
                               shared=True, owner=w["admin"])
    await svc.do_update_campaign(w["admin"], w["a"].id, {"segment_id": seg.id})
    p = await figs.preferences(w["admin"], w["a"].id)
    assert p.members == 5
    # sold lines: c1 10 000 + c4 5 000 + c2 2 000 of «Трубы» (RUB), UAH left out of money
    assert p.categories[0]["name"] == "Трубы" and p.categories[0]["buyers"] == 3
    assert p.categories[0]["revenue"] == "17000.00"
    ch = {r["channel"]: r["clients"] for r in p.channels}
    # first touch of clients: c1, c2 email (V1); c3 social (V2); c4 B without a variant
    assert ch["email"] == 2 and ch["social"] == 1 and ch[None] == 1
