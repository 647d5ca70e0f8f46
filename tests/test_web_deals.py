"""Deals over the JSON API (issue 12: U-1, U-2, U-6): every route, who sees what (a
manager gets 404 for a colleague's deal, a head sees the department's), bad input
refused with a 422 naming the field in the person's language, money as strings, the
admin's process editor, and the routes in the OpenAPI document."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from models import Deal, Department, Role
from services import clients as client_svc
from services import deals as deal_svc
from tests.conftest import TEST_NOW
from tests.test_web import signed_in


async def _as(service, emulator, user) -> None:
    service.client.session.cookie_jar.clear()
    await signed_in(service, emulator, user)


async def _client(owner, name="Ромашка"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


def _field(body: dict) -> tuple[list, str, str]:
    item = body["detail"][0]
    return item["loc"], item["field"], item["msg"]


async def test_u2_create_list_card_and_change_with_money_as_strings(service, emulator,
                                                                    make_staff):
    """U-2: a deal made, listed, opened and changed; every sum a string, never a float."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    await signed_in(service, emulator, ivan)
    c = service.client
    resp = await c.post("/api/v1/deals", json={"client_id": client.id, "title": "Поставка",
                                               "amount": "150 000,50",
                                               "expected_close": "2026-07-01"})
    assert resp.status == 201, await resp.text()
    deal = await resp.json()
    assert deal["amount"] == "150000.50" and deal["currency"] == "RUB"
    assert deal["stage"]["name"] == "Первичный контакт" and deal["stage"]["kind"] == "open"
    assert deal["no_next_step"] is True and deal["next_step"] is None
    assert deal["days_in_stage"] == 0 and deal["owner"]["id"] == ivan.id
    assert deal["probability"] == 10 and deal["probability_override"] is None
    assert [e["to_stage"] for e in deal["events"]] == ["Первичный контакт"]
    moscow = TEST_NOW.astimezone(ZoneInfo("Europe/Moscow")).strftime("%H:%M")
    assert deal["events"][0]["text"].endswith(
        f"{moscow} · {ivan.full_name} (Mini App): сделка создана на этапе «Первичный контакт»")
    # every other stage is offered; those whose requirements are missing say why
    moves = {m["stage"]["name"]: m["refused"] for m in deal["moves"]}
    assert set(moves) == {"Выявление потребности", "Коммерческое предложение",
                          "Переговоры", "Договор", "Выиграна", "Проиграна"}
    assert moves["Выявление потребности"] is None and moves["Договор"] is None  # has both
    # the list, filtered
    listed = await (await c.get("/api/v1/deals?q=постав&state=open")).json()
    assert listed["total"] == 1 and listed["items"][0]["amount"] == "150000.50"
    assert listed["items"][0]["client"]["name"] == "Ромашка"
    assert (await (await c.get("/api/v1/deals?state=won")).json())["total"] == 0
    assert (await (await c.get(f"/api/v1/deals?client_id={client.id}&mine=true"))
            .json())["total"] == 1
    # a task of the deal becomes its next step
    resp = await c.post(f"/api/v1/deals/{deal['id']}/activities", json={
        "title": "Позвонить", "type": "call", "starts_at": "2026-06-11T10:00:00+03:00"})
    assert resp.status == 201, await resp.text()
    card = await (await c.get(f"/api/v1/deals/{deal['id']}")).json()
    assert card["next_step"]["title"] == "Позвонить" and card["no_next_step"] is False
    assert card["next_step"]["type"].endswith("Звонок")
    assert [a["title"] for a in card["activities"]] == ["Позвонить"]
    assert card["activities"][0]["state_name"] == "запланировано"
    row = (await (await c.get("/api/v1/deals")).json())["items"][0]
    assert row["next_step"]["title"] == "Позвонить"
    # changed; a bad sum is refused naming the field in Russian, nothing changes
    resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={
        "amount": "2 500,5", "currency": "USD", "probability_override": 35})
    assert resp.status == 200, await resp.text()
    card = await resp.json()
    assert (card["amount"], card["currency"], card["probability"]) == ("2500.50", "USD", 35)
    resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"amount": "много",
                                                               "title": "Другое"})
    assert resp.status == 422
    loc, field, msg = _field(await resp.json())
    assert loc == ["body", "amount"] and field == "сумма" and "много" in msg
    resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"amount": 1500.5})
    assert resp.status == 422 and _field(await resp.json())[1] == "сумма"
    resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"currency": "XYZ"})
    assert _field(await resp.json())[1] == "валюта"
    resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"expected_close": "31.02.2027"})
    assert _field(await resp.json())[1] == "ожидаемая дата закрытия"
    kept = await Deal.get(id=deal["id"])
    assert (kept.title, str(kept.amount)) == ("Поставка", "2500.50")
    # no client: refused naming it
    resp = await c.post("/api/v1/deals", json={"title": "Без клиента"})
    assert resp.status == 422 and _field(await resp.json())[1] == "клиент"


async def test_u1_u6_move_win_lose_with_reason_and_competitor(service, emulator, make_staff):
    """U-1: a move refused naming what the stage needs; U-6: lost takes a reason from the
    list and the competitor who won; won; a double tap moves once."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    rival = await _client(ivan, "Конкурент")
    await signed_in(service, emulator, ivan)
    c = service.client
    deal = await (await c.post("/api/v1/deals", json={"client_id": client.id})).json()
    stages = {s["name"]: s["id"] for s in deal["stages"]}
    moves = {m["stage"]["name"]: m["refused"] for m in deal["moves"]}
    assert moves["Договор"] == \
        "нельзя перейти на этап «Договор»: нет суммы; нет ожидаемой даты закрытия"
    resp = await c.post(f"/api/v1/deals/{deal['id']}/move",
                        json={"stage_id": stages["Договор"]})
    assert resp.status == 422
    loc, field, msg = _field(await resp.json())
    assert (loc, field) == (["body", "stage_id"], "этап") and "нет суммы" in msg
    for expect in (True, False):  # the second tap finds it there
        resp = await c.post(f"/api/v1/deals/{deal['id']}/move",
                            json={"stage_id": stages["Выявление потребности"]})
        moved = await resp.json()
        assert resp.status == 200 and moved["moved"] is expect
    assert moved["deal"]["stage"]["name"] == "Выявление потребности"
    assert [e["to_stage"] for e in moved["deal"]["events"]] == [
        "Выявление потребности", "Первичный контакт"]  # newest first
    # lost: the reason is required
    resp = await c.post(f"/api/v1/deals/{deal['id']}/lose", json={})
    loc, field, msg = _field(await resp.json())
    assert resp.status == 422 and field == "причина" and msg == "выберите причину проигрыша"
    reasons = (await (await c.get("/api/v1/lost-reasons")).json())["items"]
    names = {r["name"]: r["id"] for r in reasons}
    assert "Выбрали конкурента" in names and "Дорого" in names
    resp = await c.post(f"/api/v1/deals/{deal['id']}/lose", json={
        "lost_reason_id": names["Выбрали конкурента"], "competitor_id": client.id})
    assert _field(await resp.json())[1] == "конкурент"
    resp = await c.post(f"/api/v1/deals/{deal['id']}/move", json={
        "stage_id": stages["Проиграна"], "lost_reason_id": names["Выбрали конкурента"],
        "competitor_id": rival.id})
    lost = (await resp.json())["deal"]
    assert lost["stage"]["kind"] == "lost" and lost["no_next_step"] is False
    assert lost["lost_reason"]["name"] == "Выбрали конкурента"
    assert lost["competitor"] == {"id": rival.id, "name": "Конкурент"}
    assert lost["closed_at"] is not None
    # reopened, then won
    await c.post(f"/api/v1/deals/{deal['id']}/move", json={"stage_id": stages["Переговоры"]})
    won = await (await c.post(f"/api/v1/deals/{deal['id']}/win")).json()
    assert won["moved"] and won["deal"]["stage"]["kind"] == "won"
    assert won["deal"]["lost_reason"] is None


async def test_u2_who_sees_a_deal_over_the_api(service, emulator, make_staff):
    """U-2: a manager gets 404 for a colleague's deal; a head sees the department's; the
    team sees it; only an admin restores an archived deal."""
    sales = await Department.create(name="Продажи")
    head = await make_staff(Role.HEAD, department=sales, language="en")
    ivan = await make_staff(Role.MANAGER, department=sales)
    petr = await make_staff(Role.MANAGER, department=sales)
    admin = await make_staff(Role.ADMIN)
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id,
                                                 "amount": "10"})).deal
    c = service.client
    await _as(service, emulator, petr)
    assert (await c.get(f"/api/v1/deals/{deal.id}")).status == 404
    body = await (await c.get(f"/api/v1/deals/{deal.id}")).json()
    assert body["detail"] == "не найдено: сделка"
    for method, url, payload in (
            ("PATCH", f"/api/v1/deals/{deal.id}", {"title": "x"}),
            ("POST", f"/api/v1/deals/{deal.id}/move", {"stage_id": deal.stage_id + 1}),
            ("POST", f"/api/v1/deals/{deal.id}/win", None),
            ("PUT", f"/api/v1/deals/{deal.id}/team", {"user_ids": [petr.id]}),
            ("POST", f"/api/v1/deals/{deal.id}/archive", None)):
        resp = await c.request(method, url, json=payload)
        assert resp.status == 404, (method, url)
    assert (await (await c.get("/api/v1/deals?state=all")).json())["total"] == 0
    await _as(service, emulator, head)
    card = await (await c.get(f"/api/v1/deals/{deal.id}")).json()
    assert card["stage"]["name"] == "First contact"  # the reader's language
    assert (await (await c.get("/api/v1/deals")).json())["total"] == 1
    resp = await c.put(f"/api/v1/deals/{deal.id}/team", json={"user_ids": [petr.id]})
    assert [m["id"] for m in (await resp.json())["team"]] == [petr.id]
    await _as(service, emulator, petr)  # on the team now
    assert (await c.get(f"/api/v1/deals/{deal.id}")).status == 200
    assert (await (await c.get("/api/v1/deals?mine=true")).json())["total"] == 1
    assert (await c.post(f"/api/v1/deals/{deal.id}/archive")).status == 200
    assert (await c.get(f"/api/v1/deals/{deal.id}")).status == 404
    assert (await c.post(f"/api/v1/deals/{deal.id}/restore")).status == 403
    await _as(service, emulator, admin)
    resp = await c.post(f"/api/v1/deals/{deal.id}/restore")
    assert resp.status == 200 and (await resp.json())["id"] == deal.id


async def test_u1_pipeline_counts_and_sums_per_stage_as_strings(service, emulator,
                                                                make_staff):
    """U-1: each stage's count and sum, per currency too; one's own or the department's."""
    head = await make_staff(Role.HEAD, department=await Department.create(name="Опт"),
                            language="uk")
    ivan = await make_staff(Role.MANAGER, department_id=head.department_id)
    client = await _client(ivan)
    for amount, currency in (("100.10", "RUB"), ("200", "RUB"), ("5", "USD")):
        await deal_svc.do_create_deal(ivan, {"client_id": client.id, "amount": amount,
                                             "currency": currency})
    await deal_svc.do_create_deal(head, {"client_id": (await _client(head, "Своя")).id})
    await signed_in(service, emulator, head)
    c = service.client
    body = await (await c.get("/api/v1/deal-pipeline")).json()
    assert body["process"]["name"] == "Продаж"  # the seeded "sale" in Ukrainian
    first = body["stages"][0]
    assert first["stage"]["name"] == "Перший контакт"
    assert first["count"] == 4 and first["amount"] == "305.10"
    assert first["amounts"] == {"RUB": "300.10", "USD": "5.00"}
    assert [s["count"] for s in body["stages"][1:]] == [0] * 6
    assert body["stages"][-1]["stage"]["kind"] == "lost"
    mine = await (await c.get("/api/v1/deal-pipeline?mine=true")).json()
    assert mine["stages"][0]["count"] == 1 and mine["stages"][0]["amount"] == "0.00"
    theirs = await (await c.get(f"/api/v1/deal-pipeline?owner_id={ivan.id}")).json()
    assert theirs["stages"][0]["count"] == 3
    claim = next(p for p in (await (await c.get("/api/v1/process-types")).json())["items"]
                 if p["code"] == "claim")
    body = await (await c.get(f"/api/v1/deal-pipeline?process_id={claim['id']}")).json()
    assert body["process"]["name"] == "Претензія" and body["stages"][0]["count"] == 0
    assert (await c.get("/api/v1/deal-pipeline?process_id=99999")).status == 404


async def test_u1_process_types_and_the_admins_editor(service, emulator, make_staff):
    """U-1: process types with readable names; an admin adds and changes one with its
    stages (a refusal names the stage's field), archives and restores it; a manager may
    not."""
    admin = await make_staff(Role.ADMIN, language="ru")
    ivan = await make_staff(Role.MANAGER, language="en")
    c = service.client
    await signed_in(service, emulator, ivan)
    items = (await (await c.get("/api/v1/process-types")).json())["items"]
    sale = items[0]
    assert (sale["name"], sale["stored_name"], sale["kind_name"]) == ("Sale", "Продажа", "sale")
    assert sale["mode_name"].startswith("simple")
    assert sale["stages"][2]["requires"] == ["amount"]
    body = {"name": "Тендер", "kind": "sale", "mode": "managed", "regulation": "Правила",
            "stages": [{"name": "Заявка"}, {"name": "Торги", "requires": ["amount"],
                                            "skippable": False, "probability": 40},
                       {"name": "Выиграли", "kind": "won", "probability": 100},
                       {"name": "Проиграли", "kind": "lost"}]}
    assert (await c.post("/api/v1/process-types", json=body)).status == 403
    await _as(service, emulator, admin)
    resp = await c.post("/api/v1/process-types", json=body)
    assert resp.status == 201, await resp.text()
    tender = await resp.json()
    assert [s["name"] for s in tender["stages"]] == ["Заявка", "Торги", "Выиграли",
                                                     "Проиграли"]
    assert tender["mode"] == "managed" and tender["kind_name"] == "продажа"
    # a refusal names the field in Russian, its stage in loc
    bad = {**body, "stages": [*body["stages"], {"name": "Заявка"}]}
    resp = await c.put(f"/api/v1/process-types/{tender['id']}", json=bad)
    assert resp.status == 422
    loc, field, msg = _field(await resp.json())
    assert loc == ["body", "stages.5.name"] and field == "название" and "Заявка" in msg
    resp = await c.put(f"/api/v1/process-types/{tender['id']}", json={
        **body, "stages": [{"name": "Заявка", "requires": ["moon"]}]})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"][:3] == [
        "body", "stages", 0]
    # renamed, a stage added between, order kept
    stages = [{"id": s["id"], "name": s["stored_name"], "kind": s["kind"]}
              for s in tender["stages"]]
    stages.insert(1, {"name": "Квалификация", "probability": 20})
    resp = await c.put(f"/api/v1/process-types/{tender['id']}",
                       json={**body, "name": "Тендеры", "stages": stages})
    assert resp.status == 200, await resp.text()
    saved = await resp.json()
    assert saved["name"] == "Тендеры"
    assert [s["name"] for s in saved["stages"]] == ["Заявка", "Квалификация", "Торги",
                                                    "Выиграли", "Проиграли"]
    assert (await c.post(f"/api/v1/process-types/{tender['id']}/archive")).status == 200
    names = [p["name"] for p in (await (await c.get("/api/v1/process-types")).json())["items"]]
    assert "Тендеры" not in names
    old = (await (await c.get("/api/v1/process-types?archived=true")).json())["items"]
    assert [p["name"] for p in old] == ["Тендеры"]
    assert (await c.post(f"/api/v1/process-types/{tender['id']}/restore")).status == 200
    assert (await c.post("/api/v1/process-types/999999/archive")).status == 404


async def test_openapi_lists_the_deal_routes_with_money_as_strings(service):
    """U-1, U-2, U-6: every deal route is in the OpenAPI document; sums are strings."""
    doc = await (await service.client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    for path, methods in {
            "/api/v1/deals": {"get", "post"},
            "/api/v1/deals/{deal_id}": {"get", "patch"},
            "/api/v1/deals/{deal_id}/move": {"post"}, "/api/v1/deals/{deal_id}/win": {"post"},
            "/api/v1/deals/{deal_id}/lose": {"post"},
            "/api/v1/deals/{deal_id}/archive": {"post"},
            "/api/v1/deals/{deal_id}/restore": {"post"},
            "/api/v1/deals/{deal_id}/activities": {"post"},
            "/api/v1/deals/{deal_id}/team": {"put"}, "/api/v1/deal-pipeline": {"get"},
            "/api/v1/lost-reasons": {"get"}, "/api/v1/process-types": {"get", "post"},
            "/api/v1/process-types/{process_id}": {"put"},
            "/api/v1/process-types/{process_id}/archive": {"post"},
            "/api/v1/process-types/{process_id}/restore": {"post"}}.items():
        assert methods <= set(paths[path]), path
    schemas = doc["components"]["schemas"]
    amount = schemas["DealCardOut"]["properties"]["amount"]
    assert {t.get("type") for t in amount["anyOf"]} == {"string", "null"}
    assert schemas["StageSumOut"]["properties"]["amount"]["type"] == "string"


async def test_u2_deal_pages_answer_and_hide_a_colleagues_deal(service, emulator, make_staff):
    """U-2: the pipeline and the card render for the person in their language; a
    colleague's deal is "not found" as a page too."""
    ivan = await make_staff(Role.MANAGER, language="uk")
    petr = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id, "title": "Поставка",
                                                 "amount": "1500,5", "currency": "UAH"})).deal
    await signed_in(service, emulator, ivan)
    c = service.client
    for url in ("/app/deals", f"/app/deals?process={deal.process_id}&stage={deal.stage_id}",
                f"/app/deals/{deal.id}", f"/app/clients/{client.id}"):
        resp = await c.get(url)
        page = await resp.text()
        assert resp.status == 200, url
        assert "{{" not in page and "{%" not in page and "Угоди" in page, url
    page = await (await c.get(f"/app/deals/{deal.id}")).text()
    assert "Перший контакт" in page and "Змінити етап" in page
    assert 'value="1500,50"' in page  # the form's sum as a Ukrainian types it
    assert "1500,50" in page.replace("\xa0", "").replace("\u202f", "").replace(" ", "")
    await _as(service, emulator, petr)
    resp = await c.get(f"/app/deals/{deal.id}")
    assert resp.status == 404 and "Сделка не найдена" in await resp.text()
    assert (await c.get("/app/deals/99999999999")).status == 404
