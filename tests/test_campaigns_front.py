"""Marketing campaigns (K-10, K-12) through the API, the Mini App pages, the bot's
/campaign and on a phone (390×844): figures by hand as in tests.test_campaigns."""

from __future__ import annotations

from tests.conftest import say
from tests.test_bot_deals import buttons, current, plain, press
from tests.test_campaigns import YEAR, world


async def test_k10_api_campaigns(service, emulator, make_staff):
    """K-10, K-12: the API lists, shows, compares, reports; refuses a manager's change;
    names the field of a bad value; deletes only what nothing is attributed to."""
    from tests.test_web import signed_in

    w = await world(make_staff)
    http = service.client
    await signed_in(service, emulator, w["manager"])
    resp = await http.get(f"/api/v1/campaigns?year={YEAR}")
    assert resp.status == 200, await resp.text()
    got = await resp.json()
    assert not got["may_manage"]
    items = {c["name"]: c for c in got["items"]}
    assert items["Весна"]["figures"]["roi"] == "0.1667"
    assert items["Весна"]["figures"]["cost_per_contact"] == "2000.00"
    resp = await http.post("/api/v1/campaigns", json={"name": "X", "starts_on": "2026-01-01"})
    assert resp.status == 403
    resp = await http.get(f"/api/v1/campaigns/{w['a'].id}/comparison?model=first")
    cmp_ = await resp.json()
    assert cmp_["campaign"]["deals"] == 2 and cmp_["campaign"]["roi"] == "-0.2500"
    assert [r["name"] for r in cmp_["variants"]] == ["Письмо", "Соцсети", None]
    resp = await http.get(f"/api/v1/campaigns/report?year={YEAR}")
    assert [c["name"] for c in (await resp.json())["items"]] == ["Весна", "Выставка"]
    resp = await http.get(f"/api/v1/campaigns/{w['a'].id}/chart.png")
    assert resp.status == 200 and (await resp.read())[:4] == b"\x89PNG"

    await signed_in(service, emulator, w["admin"])
    resp = await http.post(f"/api/v1/campaigns/{w['a'].id}/variants",
                           json={"name": "V", "landing_url": "nope"})
    assert resp.status == 422
    assert "landing_url" in await resp.text()
    resp = await http.post("/api/v1/campaigns", json={"name": "Осень",
                                                      "starts_on": f"{YEAR}-09-01",
                                                      "budget": "1000"})
    assert resp.status == 201, await resp.text()
    new = await resp.json()
    resp = await http.post(f"/api/v1/campaigns/{new['id']}/costs",
                           json={"item": "Баннер", "planned": "500", "actual": "400"})
    assert resp.status == 201
    resp = await http.get(f"/api/v1/campaigns/{new['id']}")
    d = await resp.json()
    assert d["figures"]["difference"] == "-100.00" and len(d["costs"]) == 1
    resp = await http.delete(f"/api/v1/campaigns/{w['a'].id}")
    assert resp.status in (409, 422), await resp.text()
    resp = await http.delete(f"/api/v1/campaigns/{new['id']}")
    assert resp.status == 204


async def test_k10_bot_campaign_figures(service, emulator, make_staff):
    """K-10: /campaign lists this year's campaigns as buttons; a press shows the
    figures (money the project's way), Back returns to the list."""
    w = await world(make_staff)
    chat = w["manager"].telegram_id
    reply = await say(emulator, chat, "/campaign")
    assert "Весна" in buttons(reply) and "Выставка" in buttons(reply)
    _answer, _none = await press(emulator, chat, reply, "Весна")
    card = current(emulator, chat, reply)
    text = plain(card["text"])
    assert "10 000 ₽" in text  # the budget
    assert "8 000 ₽" in text and "6 000 ₽" in text  # plan, fact
    assert "2 000 ₽" in text  # cost per contact
    assert "15 000 ₽" in text and "7 000 ₽" in text  # revenue, margin
    assert "+16,7 %" in text
    back = [k for k in buttons(card) if "◀" in k][0]
    await press(emulator, chat, card, back)
    assert "Весна" in buttons(current(emulator, chat, reply))


async def test_k10_pages(service, emulator, make_staff):
    """K-10: the list and the card render with the figures; a manager sees no forms."""
    from tests.test_web import signed_in

    w = await world(make_staff)
    http = service.client
    await signed_in(service, emulator, w["manager"])
    html = await (await http.get(f"/app/campaigns?year={YEAR}")).text()
    assert "Весна" in html and "campaign-new-form" not in html
    html = await (await http.get(f"/app/campaigns/{w['a'].id}")).text()
    assert "variant-card" in html and "cost-new-form" not in html
    await signed_in(service, emulator, w["admin"])
    html = await (await http.get(f"/app/campaigns/{w['a'].id}")).text()
    assert "cost-new-form" in html and "variant-new-form" in html
    assert (await http.get("/app/campaigns/999999")).status == 404
