"""M-7 dealers over the JSON API (/api/v1/dealers), on the Mini App's pages (the list,
the scorecard, the client card's line, the deal card's picker) and in the bot
(/dealers, the scorecard with Open in the app, Back and Close; the deal card's dealer
line and picker)."""

from __future__ import annotations

from datetime import timedelta

from models import Deal, DealParty, ProcessType, Role, Stage, StageKind
from services import dealers as svc
from services.clients import do_create_client
from services.deal_processes import ensure_processes
from tests.conftest import TEST_NOW, say
from tests.test_bot_clients import buttons, press
from tests.test_web import signed_in


async def _world(make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Anna Admin")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field")
    client = (await do_create_client(ivan, {"name": "Romashka"})).client
    dealer = (await do_create_client(admin, {"name": "South Dealer"})).client
    await ensure_processes()
    sale = await ProcessType.get(code="sale")
    won = await Stage.get(process=sale, kind=StageKind.WON)
    first = await Stage.filter(process=sale, kind=StageKind.OPEN).order_by("position").first()
    deal = await Deal.create(title="Pipes", client=client, process=sale, stage=won, owner=ivan,
                             closed_at=TEST_NOW - timedelta(days=1))
    open_deal = await Deal.create(title="Valves", client=client, process=sale, stage=first,
                                  owner=ivan)
    return admin, ivan, client, dealer, deal, open_deal


async def test_m7_api_pages_and_permissions(service, emulator, make_staff):
    """M-7: a manager reads the list and the scorecard but may not mark, grade or
    archive (403); the admin marks, creates, grades, sets the thresholds (a bad one
    named), archives; a deal's dealer is set and cleared (one per deal); the pages show
    the numbers, the client card's line and the deal card's picker."""
    admin, ivan, client, dealer, deal, open_deal = await _world(make_staff)
    c = service.client
    await signed_in(service, emulator, ivan)
    assert (await c.put(f"/api/v1/dealers/{dealer.id}", json={})).status == 403
    assert (await c.post("/api/v1/dealer-grades")).status == 403
    await signed_in(service, emulator, admin)
    marked = await c.put(f"/api/v1/dealers/{dealer.id}", json={"since": "2026-01-15",
                                                               "note": "south"})
    assert marked.status == 200, await marked.text()
    assert (await marked.json())["since"] == "2026-01-15"
    made = await c.post("/api/v1/dealers", json={"name": "North Dealer", "since": ""})
    assert made.status == 201, await made.text()
    north = (await made.json())["client_id"]
    bad = await c.put("/api/v1/dealer-grades/settings", json={
        "period_days": 365, "currency": "RUB", "a_revenue": "100", "a_won_rate": 50,
        "b_revenue": "500", "b_won_rate": 10})
    assert bad.status == 422 and "b_revenue" in await bad.text()
    ok = await c.put("/api/v1/dealer-grades/settings", json={
        "period_days": 365, "currency": "RUB", "a_revenue": "0", "a_won_rate": 100,
        "b_revenue": "0", "b_won_rate": 0})
    assert ok.status == 200, await ok.text()
    # the deal's dealer: set, a second one replaces it, a non-dealer is refused
    await signed_in(service, emulator, ivan)
    r = await c.put(f"/api/v1/deals/{deal.id}/dealer", json={"client_id": client.id})
    assert r.status == 422
    r = await c.put(f"/api/v1/deals/{deal.id}/dealer", json={"client_id": north})
    assert r.status == 200
    r = await c.put(f"/api/v1/deals/{deal.id}/dealer", json={"client_id": dealer.id})
    assert (await r.json())["client_id"] == dealer.id
    assert await DealParty.filter(deal_id=deal.id, role="dealer").count() == 1
    await c.put(f"/api/v1/deals/{open_deal.id}/dealer", json={"client_id": dealer.id})
    await signed_in(service, emulator, admin)
    graded = await c.post("/api/v1/dealer-grades")
    assert graded.status == 200 and (await graded.json()) == {"A": 1, "B": 1}
    await signed_in(service, emulator, ivan)
    listed = await (await c.get("/api/v1/dealers")).json()
    got = {d["name"]: (d["grade"], d["figures"]["won"], d["figures"]["open"])
           for d in listed["items"]}
    assert got == {"South Dealer": ("A", 1, 1), "North Dealer": ("B", 0, 0)}
    card = await (await c.get(f"/api/v1/dealers/{dealer.id}")).json()
    assert sorted(d["title"] for d in card["deals"]) == ["Pipes", "Valves"]
    assert card["dealer"]["grade_reason"].startswith("revenue 0 RUB and won rate 100")
    bad_period = await c.get(f"/api/v1/dealers/{dealer.id}?start=2026-06-10&end=2026-06-01")
    assert bad_period.status == 422
    choices = await (await c.get("/api/v1/dealers/choices?q=nor")).json()
    assert [x["name"] for x in choices["items"]] == ["North Dealer"]
    # the pages
    page = await (await c.get("/app/dealers")).text()
    assert "South Dealer" in page and 'data-testid="dealer-new-form"' not in page
    assert 'data-testid="dealer-grade-settings"' not in page  # permissions.is_admin
    page = await (await c.get(f"/app/dealers/{dealer.id}")).text()
    assert 'data-testid="df-rate"' in page and "100%" in page and "Pipes" in page
    assert 'data-testid="dealer-grade-form"' not in page  # a manager does not manage
    page = await (await c.get(f"/app/deals/{deal.id}")).text()
    assert 'data-testid="deal-dealer-select"' in page and "South Dealer" in page
    page = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="client-dealer"' in page and 'client-dealer-on' not in page
    assert (await c.get("/app/dealers/999999")).status == 404
    more = await (await c.get("/app/more")).text()
    assert 'href="/app/dealers"' in more
    await signed_in(service, emulator, admin)
    page = await (await c.get("/app/dealers")).text()
    assert 'data-testid="grade-settings-form"' in page and 'dealer-new-form' in page
    assert 'data-testid="dealer-grade-settings"' in page
    page = await (await c.get(f"/app/clients/{dealer.id}")).text()
    assert 'data-testid="client-dealer-link"' in page and 'client-dealer-off' in page
    # by hand, back to the numbers, archived
    r = await c.patch(f"/api/v1/dealers/{dealer.id}", json={"grade": "C"})
    assert (await r.json())["grade"] == "C" and (await r.json())["grade_manual"]
    r = await c.patch(f"/api/v1/dealers/{dealer.id}", json={"grade": "auto"})
    assert (await r.json())["grade"] == "A"
    r = await c.post(f"/api/v1/dealers/{north}/archive", json={"archived": True})
    assert (await r.json())["archived"] is True
    listed = await (await c.get("/api/v1/dealers?archived=true")).json()
    assert [d["name"] for d in listed["items"]] == ["North Dealer"]
    # the partner scenario from the API
    partner = await ProcessType.get(code="partner")
    r = await c.post(f"/api/v1/dealers/{dealer.id}/scenarios",
                     json={"process_id": partner.id})
    assert r.status == 201 and (await r.json())["created"] is True
    r = await c.post(f"/api/v1/dealers/{dealer.id}/scenarios",
                     json={"process_id": partner.id})
    assert (await r.json())["created"] is False
    r = await c.put(f"/api/v1/deals/{deal.id}/dealer", json={"client_id": None})
    assert r.status == 200 and not await svc.deal_dealer(deal.id)


async def test_m7_bot_dealers_and_the_deal_card(service, emulator, make_staff):
    """M-7: /dealers lists the dealers with grade and revenue as buttons; a press shows
    the scorecard with Open in the app, Back and Close; the deal card shows its dealer
    and ✏️ Edit → 🏪 Dealer picks and clears it."""
    admin, ivan, client, dealer, deal, open_deal = await _world(make_staff)
    await svc.do_mark_dealer(admin, dealer.id)
    await svc.do_update_dealer(admin, dealer.id, {"grade": "B"})
    await svc.do_set_deal_dealer(ivan, deal.id, dealer.id)
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/dealers")
    assert "Dealers by revenue" in reply["text"]
    label = next(t for t in buttons(reply) if "South Dealer" in t)
    assert label.startswith("B · South Dealer")
    await press(emulator, chat, reply, label)
    await emulator.settle()
    card = emulator.get_message(chat, reply["message_id"])
    assert "South Dealer" in card["text"] and "Won rate: 100%" in card["text"], card["text"]
    assert "set by hand" in card["text"]
    # the Open-in-app button is there when the Mini App is served over HTTPS
    from aiogram.utils.i18n import I18n

    from bot.routers.dealers import card_view
    from kontakt.i18n import ensure_compiled

    i18n = I18n(path=ensure_compiled(), default_locale="en", domain="kontakt")
    with i18n.context(), i18n.use_locale("en"):
        _text, markup = await card_view(ivan, dealer.id, "https://crm.example/app")
    assert markup.inline_keyboard[0][0].web_app.url == f"https://crm.example/app/dealers/{dealer.id}"
    await press(emulator, chat, card, "◀️ Back")
    await emulator.settle()
    back = emulator.get_message(chat, reply["message_id"])
    assert "Dealers by revenue" in back["text"]
    await press(emulator, chat, back, "✖️ Close")
    await emulator.settle()
    assert all(m["message_id"] != reply["message_id"] for m in emulator.history(chat))
    # the deal card in the bot: the dealer line, ✏️ Edit → 🏪 Dealer → a pick, then none
    await svc.do_set_deal_dealer(ivan, open_deal.id, dealer.id)
    listed = await say(emulator, chat, "/deals")
    label = next(t for t in buttons(listed) if "Valves" in t)
    before = await press(emulator, chat, listed, label)
    await emulator.settle()
    msgs = [m for m in emulator.history(chat) if m["message_id"] > before]
    deal_msg = msgs[-1] if msgs else emulator.get_message(chat, listed["message_id"])
    assert "🏪 Dealer: South Dealer" in deal_msg["text"], deal_msg["text"]
    await press(emulator, chat, deal_msg, "✏️ Edit")
    await emulator.settle()
    deal_msg = emulator.get_message(chat, deal_msg["message_id"])
    await press(emulator, chat, deal_msg, "🏪 Dealer")
    await emulator.settle()
    deal_msg = emulator.get_message(chat, deal_msg["message_id"])
    assert "📍 South Dealer" in buttons(deal_msg)
    await press(emulator, chat, deal_msg, "🚫 No dealer")
    await emulator.settle()
    assert await svc.deal_dealer(open_deal.id) is None
    deal_msg = emulator.get_message(chat, deal_msg["message_id"])
    assert "🏪 Dealer" not in deal_msg["text"]
