"""Deals over the JSON API, the parts around a sale (issue 12: U-4, U-5, U-6, U-7): the
card's probability with its basis and readable factors and the manager's override; the
deal's environment (parties, links); a claim's fields; the funnel, lost-deal, Brier and
claim reports — who counts whose deals (a manager only their own), bad input refused
with a 422 naming the field in Russian, money as strings per currency."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models import Deal, Department, Product, Role
from services import clients as client_svc
from services import contacts as contact_svc
from services import deal_moves
from services import deal_stats as stats
from services import deals as deal_svc
from tests.conftest import in_pinned_quarter, pinned_quarter
from tests.test_deal_stats import _history, _sources
from tests.test_web import signed_in

Q2 = in_pinned_quarter()  # in the quarter of the pinned clock


async def _as(service, emulator, user) -> None:
    service.client.session.cookie_jar.clear()
    await signed_in(service, emulator, user)


async def _client(owner, name="Ромашка"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


def _field(body: dict) -> tuple[list, str, str]:
    item = body["detail"][0]
    return item["loc"], item["field"], item["msg"]


async def _sale():
    sale = next(p for p in await deal_svc.process_types() if p.code == "sale")
    return sale, {s.code: s for s in await deal_svc.stages_of(sale.id)}


async def test_u5_card_probability_basis_readable_factors_and_the_override(
        service, emulator, make_staff):
    """U-5: the card says where its figure comes from and names the top factor
    readably (the source by its name, in Russian); the manager's override is shown as
    such with Kontakt's estimate beside it, and cleared again."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    sale, stages = await _sale()
    a, b = await _sources()
    for source, won, lost in ((a, 15, 5), (b, 5, 15)):
        for n in range(won + lost):
            await _history(ivan, client, stages, ["lead", "need", "offer"],
                           "won" if n < won else "lost", source=source, start=Q2)
    stats.refresh()
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id, "source_id": a.id,
                                                 "amount": "500"})).deal
    for code in ("need", "offer"):
        await deal_moves.do_move(ivan, deal.id, stages[code].id)
    await signed_in(service, emulator, ivan)
    c = service.client
    card = await (await c.get(f"/api/v1/deals/{deal.id}")).json()
    detail = card["probability_detail"]
    assert card["probability"] == 73 and detail["basis"] == "model"
    assert detail["basis_name"] == "по закрытым сделкам"
    source_name = card["source"]["name"]
    assert detail["factors"] == [{
        "feature": "source", "feature_name": "источник", "value": str(a.id),
        "value_name": source_name, "ratio": 2.67, "ratio_text": "×2,7",
        "text": f"источник: {source_name} ×2,7"}]
    assert detail["text"] == f"73\xa0% · по закрытым сделкам · источник: {source_name} ×2,7"
    # the manager's own figure
    resp = await c.patch(f"/api/v1/deals/{deal.id}", json={"probability_override": 40})
    detail = (await resp.json())["probability_detail"]
    assert (detail["value"], detail["basis"], detail["override"], detail["estimate"]) == (
        40, "override", 40, 73)
    assert detail["factors"] == []
    assert detail["text"] == "40\xa0% · задано менеджером (оценка Контакта: 73 %)"
    resp = await c.patch(f"/api/v1/deals/{deal.id}", json={"probability_override": 101})
    assert resp.status == 422 and _field(await resp.json())[1] == "вероятность"
    resp = await c.patch(f"/api/v1/deals/{deal.id}", json={"probability_override": None})
    card = await resp.json()
    assert card["probability"] == 73 and card["probability_detail"]["basis"] == "model"
    # a fresh deal like every one before it: even odds, no factor stands out
    fresh = await (await c.post("/api/v1/deals", json={"client_id": client.id})).json()
    assert fresh["probability_detail"]["text"] == "50\xa0% · по закрытым сделкам"
    won = await (await c.post(f"/api/v1/deals/{fresh['id']}/win")).json()
    assert won["deal"]["probability_detail"]["text"] == "100\xa0% · сделка закрыта"


async def test_u4_environment_parties_and_links_over_the_api(service, emulator, make_staff):
    """U-4: a competitor from the base, a named decision maker, the client's contact as
    an influencer, a link "Финдиректор → влияет на → Директор"; roles and stances are
    choices with names; refusals name the field in Russian; a colleague gets 404."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    rival = await _client(ivan, "Конкурент-Плюс")
    contact = await contact_svc.do_add_contact(ivan, client.id, {
        "first_name": "Анна", "last_name": "Финдиректорова"})
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id})).deal
    other = (await deal_svc.do_create_deal(ivan, {"client_id": client.id})).deal
    await signed_in(service, emulator, ivan)
    c = service.client
    url = f"/api/v1/deals/{deal.id}"
    env = await (await c.get(url + "/environment")).json()
    assert env["parties"] == [] and env["links"] == []
    assert {r["code"]: r["name"] for r in env["roles"]}["decision_maker"] == "ЛПР"
    assert [s["name"] for s in env["stances"]] == ["за нас", "нейтрален", "против нас",
                                                  "позиция неизвестна"]
    assert set(env["company_roles"]) == {"competitor", "subcontractor", "partner"}
    # a competitor must come from the base
    resp = await c.post(url + "/parties", json={"role": "competitor", "name": "Кто-то"})
    assert resp.status == 422
    assert _field(await resp.json())[:2] == (["body", "client_id"], "клиент")
    resp = await c.post(url + "/parties", json={"role": "king", "name": "x"})
    loc, field, msg = _field(await resp.json())
    assert (loc, field) == (["body", "role"], "роль") and "ЛПР" in msg
    resp = await c.post(url + "/parties", json={"role": "influencer"})
    assert _field(await resp.json())[1] == "название"
    resp = await c.post(url + "/parties", json={"role": "competitor", "client_id": rival.id,
                                                "stance": "opponent"})
    assert resp.status == 201, await resp.text()
    resp = await c.post(url + "/parties", json={"role": "decision_maker",
                                                "name": "Директор", "stance": "neutral"})
    resp = await c.post(url + "/parties", json={"role": "influencer",
                                                "contact_id": contact.id,
                                                "note": "Финдиректор"})
    env = await resp.json()
    assert [(p["role_name"], p["who"], p["stance_name"]) for p in env["parties"]] == [
        ("ЛПР", "Директор", "нейтрален"),
        ("влияет на решение", "Финдиректорова Анна", "позиция неизвестна"),
        ("конкурент", "Конкурент-Плюс", "против нас")]
    ids = {p["who"]: p["id"] for p in env["parties"]}
    assert env["parties"][2]["client"] == {"id": rival.id, "name": "Конкурент-Плюс"}
    resp = await c.post(url + "/links", json={"from_id": ids["Финдиректорова Анна"],
                                              "to_id": ids["Директор"],
                                              "kind": "influences"})
    assert resp.status == 201, await resp.text()
    env = await resp.json()
    assert [lnk["text"] for lnk in env["links"]] == [
        "Финдиректорова Анна → влияет на → Директор"]
    # the ends must be around this deal; named "кто" and "кого"
    resp = await c.post(f"/api/v1/deals/{other.id}/links", json={
        "from_id": ids["Директор"], "to_id": ids["Конкурент-Плюс"], "kind": "influences"})
    assert resp.status == 422 and _field(await resp.json())[:2] == (["body", "from_id"], "кто")
    resp = await c.post(url + "/links", json={"from_id": ids["Директор"],
                                              "to_id": ids["Директор"], "kind": "influences"})
    assert _field(await resp.json())[:2] == (["body", "to_id"], "кого")
    # changed and removed (a party's links go with it)
    resp = await c.patch(url + f"/parties/{ids['Директор']}", json={"stance": "supporter"})
    env = await resp.json()
    assert env["parties"][0]["stance_name"] == "за нас"
    resp = await c.patch(f"/api/v1/deals/{other.id}/parties/{ids['Директор']}",
                         json={"stance": "opponent"})
    assert resp.status == 404  # not a party of that deal
    resp = await c.delete(url + f"/parties/{ids['Финдиректорова Анна']}")
    env = await resp.json()
    assert len(env["parties"]) == 2 and env["links"] == []
    resp = await c.post(url + "/links", json={"from_id": ids["Директор"],
                                              "to_id": ids["Конкурент-Плюс"],
                                              "kind": "competes_with"})
    link_id = (await resp.json())["links"][0]["id"]
    assert (await (await c.delete(url + f"/links/{link_id}")).json())["links"] == []
    # a colleague who does not see the deal
    await _as(service, emulator, olga)
    assert (await c.get(url + "/environment")).status == 404
    resp = await c.post(url + "/parties", json={"role": "user", "name": "x"})
    assert resp.status == 404
    resp = await c.delete(url + f"/parties/{ids['Директор']}")
    assert resp.status == 404


async def test_u7_claim_fields_on_the_card_and_closing_needs_them(service, emulator,
                                                                   make_staff):
    """U-7: a claim's deal, product, resolution and "our fault" set by PATCH and shown on
    the card; the deal of another client is refused naming the field; closing without a
    resolution is refused at the resolution, then succeeds."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    other_client = await _client(ivan, "Лютик")
    sale = (await deal_svc.do_create_deal(ivan, {"client_id": client.id, "title": "Поставка",
                                                 "amount": "1000"})).deal
    elsewhere = (await deal_svc.do_create_deal(ivan, {"client_id": other_client.id})).deal
    bolts = await Product.create(name="Болты")
    claim_type = next(p for p in await deal_svc.process_types() if p.code == "claim")
    await signed_in(service, emulator, ivan)
    c = service.client
    claim = await (await c.post("/api/v1/deals", json={
        "client_id": client.id, "process_id": claim_type.id, "title": "Брак"})).json()
    assert claim["process"]["kind"] == "claim"
    assert (claim["parent"], claim["product"], claim["resolution"], claim["our_fault"]) == (
        None, None, None, None)
    url = f"/api/v1/deals/{claim['id']}"
    resp = await c.patch(url, json={"parent_id": elsewhere.id})
    loc, field, msg = _field(await resp.json())
    assert (loc, field, msg) == (["body", "parent_id"], "сделка, о которой претензия",
                                 "это сделка другого клиента")
    resp = await c.patch(url, json={"our_fault": "может быть"})
    assert resp.status == 422 and _field(await resp.json())[1] == "наша вина"
    resp = await c.patch(url, json={"parent_id": sale.id, "product_id": bolts.id})
    card = await resp.json()
    assert card["parent"] == {"id": sale.id, "name": "Поставка"}
    assert card["product"] == {"id": bolts.id, "name": "Болты"}
    settled = next(s for s in card["stages"] if s["kind"] == "won")
    refusal = next(m["refused"] for m in card["moves"] if m["stage"]["id"] == settled["id"])
    assert refusal == ("чтобы закрыть претензию, опишите решение и укажите, "
                       "наша ли это вина")
    resp = await c.post(url + "/win")
    loc, field, msg = _field(await resp.json())
    assert resp.status == 422 and (loc, field) == (["body", "resolution"], "решение")
    resp = await c.patch(url, json={"resolution": "Заменили партию", "our_fault": False})
    assert (await resp.json())["our_fault"] is False
    won = await (await c.post(url + "/win")).json()
    assert won["moved"] and won["deal"]["stage"]["kind"] == "won"
    assert won["deal"]["resolution"] == "Заменили партию"


async def test_u5_funnel_a_manager_counts_only_their_own(service, emulator, make_staff):
    """U-5: the cohort funnel of this quarter by default; a manager gets their own numbers
    whatever department or colleague they ask for; a head their department's; an admin
    chooses a department or a person; the weighted pipeline per currency as strings; a
    period that ends before it starts is refused naming the field in Russian."""
    sales = await Department.create(name="Продажи")
    retail = await Department.create(name="Розница")
    head = await make_staff(Role.HEAD, department=sales, language="ru")
    ivan = await make_staff(Role.MANAGER, department=sales, language="ru")
    petr = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER, department=retail)
    admin = await make_staff(Role.ADMIN, language="en")
    sale, stages = await _sale()
    for who, n_on, n_lost in ((ivan, 3, 1), (petr, 2, 2), (olga, 1, 0)):
        client = await _client(who, f"Клиент {who.id}")
        for n in range(n_on):
            await _history(who, client, stages, ["lead", "need"], None, start=Q2,
                           days=(n + 1,))
        for _ in range(n_lost):
            await _history(who, client, stages, ["lead"], "lost", start=Q2, days=(10,))
    open_deal = await deal_svc.do_create_deal(ivan, {
        "client_id": (await _client(ivan, "Ещё")).id, "amount": "1000,50",
        "currency": "USD"})
    c = service.client
    await signed_in(service, emulator, ivan)
    body = await (await c.get("/api/v1/deal-reports/funnel")).json()
    assert body["process"]["name"] == "Продажа" and body["owner_id"] == ivan.id
    first, last = pinned_quarter()
    assert body["start"].startswith(f"{first.isoformat()}T00:00:00+03:00")
    assert body["end"].startswith(f"{(last + timedelta(days=1)).isoformat()}T00:00:00+03:00")
    lead = body["rows"][0]
    assert lead["stage"]["name"] == "Первичный контакт"
    # Ivan's own: 3 moved on, 1 lost; and the deal made today, still there
    assert (lead["entered"], lead["moved_on"], lead["lost"], lead["still"]) == (5, 3, 1, 1)
    assert lead["conversion"] == 0.75
    assert lead["median_days"] == 2.5 and lead["p90_days"] == 7.9
    assert body["open_total"] == {"USD": "1000.50"}
    weighted = (Decimal("1000.50") * open_deal.deal.probability / 100).quantize(
        Decimal("0.01"))
    assert body["weighted"] == {"USD": f"{weighted:.2f}"}
    for asked in (f"owner_id={petr.id}", f"department_id={retail.id}"):
        other = await (await c.get(f"/api/v1/deal-reports/funnel?{asked}")).json()
        assert other["rows"][0]["entered"] == 5 and other["owner_id"] == ivan.id
    # bad input, in Russian, by the field
    resp = await c.get("/api/v1/deal-reports/funnel?start=2026-05-01T00:00:00%2B03:00"
                       "&end=2026-04-01T00:00:00%2B03:00")
    assert resp.status == 422
    assert _field(await resp.json())[1:] == ("окончание", "должно быть позже начала")
    resp = await c.get("/api/v1/deal-reports/funnel?start=вчера")
    loc, field, _msg = _field(await resp.json())
    assert resp.status == 422 and (loc, field) == (["query", "start"], "начало")
    resp = await c.get("/api/v1/deal-reports/funnel?process_id=999999")
    assert resp.status == 404
    # the head: the department (Ivan and Petr), or one of them
    await _as(service, emulator, head)
    body = await (await c.get("/api/v1/deal-reports/funnel")).json()
    assert body["rows"][0]["entered"] == 9 and body["owner_id"] is None
    body = await (await c.get(f"/api/v1/deal-reports/funnel?owner_id={petr.id}")).json()
    assert (body["rows"][0]["entered"], body["rows"][0]["lost"]) == (4, 2)
    body = await (await c.get(f"/api/v1/deal-reports/funnel?owner_id={olga.id}")).json()
    assert body["rows"][0]["entered"] == 0  # not in the head's departments
    # the admin: everyone's, a department
    await _as(service, emulator, admin)
    body = await (await c.get("/api/v1/deal-reports/funnel")).json()
    assert body["rows"][0]["entered"] == 10 and body["rows"][0]["stage"]["name"] == \
        "First contact"
    body = await (await c.get(f"/api/v1/deal-reports/funnel?department_id={retail.id}"
                              )).json()
    assert (body["rows"][0]["entered"], body["rows"][1]["entered"]) == (1, 1)


async def test_u6_lost_deals_by_reason_competitor_stage_and_owner(service, emulator,
                                                                  make_staff):
    """U-6: lost deals of the period by reason (named in the reader's language), by
    competitor (none named said so), by the stage lost at and by owner; sums per
    currency as strings; a manager sees only their own."""
    ivan = await make_staff(Role.MANAGER, language="ru", name="Иван Петров")
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    rival = await _client(ivan, "Конкурент")
    sale, stages = await _sale()
    reasons = {r.code: r for r in await deal_svc.lost_reasons()}
    for n in range(3):
        deal = await _history(ivan, client, stages, ["lead", "need"], "lost",
                              amount=Decimal(100), reason=reasons["price"], start=Q2)
        if n == 0:
            await Deal.filter(id=deal.id).update(competitor_id=rival.id, currency="USD")
    await _history(ivan, client, stages, ["lead"], "lost", reason=reasons["no_need"],
                   start=Q2)
    await _history(olga, await _client(olga, "Чужой"), stages, ["lead"], "lost",
                   reason=reasons["price"], start=Q2)
    await signed_in(service, emulator, ivan)
    c = service.client
    body = await (await c.get("/api/v1/deal-reports/lost")).json()
    assert body["by"] == "reason" and body["total"] == 4
    price = body["lines"][0]
    assert (price["key"], price["count"], price["amounts"]) == (
        reasons["price"].id, 3, {"RUB": "200.00", "USD": "100.00"})
    assert price["name"] == "Дорого"
    body = await (await c.get(f"/api/v1/deal-reports/lost?by=competitor&process_id={sale.id}"
                              )).json()
    assert [(line["name"], line["count"]) for line in body["lines"]] == [
        ("конкурент не назван", 3), ("Конкурент", 1)]
    assert body["process"]["name"] == "Продажа"
    body = await (await c.get("/api/v1/deal-reports/lost?by=stage")).json()
    assert [(line["name"], line["count"]) for line in body["lines"]] == [
        ("Выявление потребности", 3), ("Первичный контакт", 1)]
    body = await (await c.get("/api/v1/deal-reports/lost?by=owner")).json()
    assert [(line["name"], line["count"]) for line in body["lines"]] == [("Иван Петров", 4)]
    resp = await c.get("/api/v1/deal-reports/lost?by=weather")
    loc, field, _msg = _field(await resp.json())
    assert resp.status == 422 and loc == ["query", "by"] and field == "разрез"


async def test_u5_brier_score_against_the_stage_only_baseline(service, emulator,
                                                             make_staff):
    """U-5: the model's Brier score beside the stage-only baseline, with a one-line
    explanation in the reader's language; too few closed deals said so."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    sale, stages = await _sale()
    await signed_in(service, emulator, ivan)
    c = service.client
    body = await (await c.get("/api/v1/deal-reports/brier")).json()
    assert (body["deals"], body["model"], body["verdict"]) == (0, None, None)
    assert body["explanation"].startswith("Слишком мало закрытых сделок")
    a, b = await _sources()
    for n in range(80):
        source = a if n % 2 else b
        won = (n % 2 == 1) == (n % 10 != 0)
        await _history(ivan, client, stages, ["lead", "need", "offer"],
                       "won" if won else "lost", source=source, start=Q2 + timedelta(hours=n))
    body = await (await c.get(f"/api/v1/deal-reports/brier?process_id={sale.id}&last=20"
                              )).json()
    expected = await stats.brier(sale.id, last=20)
    assert (body["deals"], body["points"], body["model"], body["baseline"]) == (
        20, 60, expected.model, expected.baseline)
    assert body["verdict"] == "better" and body["explanation"].startswith(
        "Модель предсказывает лучше, чем одни этапы.")
    resp = await c.get("/api/v1/deal-reports/brier?last=5")
    assert resp.status == 422 and _field(await resp.json())[1] == "сколько сделок"


async def test_u7_claims_per_client_and_product(service, emulator, make_staff):
    """U-7: claims of the period per client and per product (none: "без продукта")."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    sale = (await deal_svc.do_create_deal(ivan, {"client_id": client.id})).deal
    bolts = await Product.create(name="Болты")
    claim_type = next(p for p in await deal_svc.process_types() if p.code == "claim")
    settled = (await deal_svc.do_create_deal(ivan, {
        "client_id": client.id, "process_id": claim_type.id, "parent_id": sale.id,
        "product_id": bolts.id, "resolution": "Заменили", "our_fault": True})).deal
    await deal_moves.do_win(ivan, settled.id)
    await deal_svc.do_create_deal(ivan, {"client_id": client.id, "process_id": claim_type.id})
    await signed_in(service, emulator, ivan)
    c = service.client
    body = await (await c.get("/api/v1/deal-reports/claims")).json()
    assert body["total"] == 2
    assert [(x["name"], x["claims"], x["our_fault"], x["open"]) for x in body["lines"]] == [
        ("Ромашка", 2, 1, 1)]
    body = await (await c.get("/api/v1/deal-reports/claims?by=product")).json()
    assert sorted((x["name"], x["claims"]) for x in body["lines"]) == [
        ("Болты", 1), ("без продукта", 1)]


async def test_u4_u7_routes_in_the_openapi_document(service):
    doc = await (await service.client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    for path, methods in {
            "/api/v1/deals/{deal_id}/environment": {"get"},
            "/api/v1/deals/{deal_id}/parties": {"post"},
            "/api/v1/deals/{deal_id}/parties/{party_id}": {"patch", "delete"},
            "/api/v1/deals/{deal_id}/links": {"post"},
            "/api/v1/deals/{deal_id}/links/{link_id}": {"delete"},
            "/api/v1/deal-reports/funnel": {"get"}, "/api/v1/deal-reports/lost": {"get"},
            "/api/v1/deal-reports/brier": {"get"}, "/api/v1/deal-reports/claims": {"get"}}.items():
        assert methods <= set(paths[path]), path
    card = doc["components"]["schemas"]["DealCardOut"]["properties"]
    assert {"probability_detail", "parent", "product", "resolution", "our_fault"} <= set(card)
    patch = doc["components"]["schemas"]["DealPatch"]["properties"]
    assert {"parent_id", "product_id", "resolution", "our_fault"} <= set(patch)
