"""U-9 over the JSON API (/api/v1/loyalty) and on the client's card in the Mini App
and the bot, on the data of tests.test_loyalty (the program: a point pays 0.50 ₽,
points pay up to 20 %, Bronze 1 % from 0, Silver 3 % from 10 000, Gold from 50 000)."""

from __future__ import annotations

from tests.test_loyalty import _order, club  # noqa: F401 - the hand-made data
from tests.test_web import signed_in


def _known(emulator, *people):
    for p in people:
        emulator.add_user(p.telegram_id, p.full_name, None, username=f"u{p.telegram_id}",
                          language_code="en")


async def test_u9_api_program_cards_moves_and_analysis(service, emulator, club):  # noqa: F811
    admin, head, ivan, petr = (club[k] for k in ("admin", "head", "ivan", "petr"))
    _known(emulator, admin, head, ivan, petr)
    c = service.client
    await signed_in(service, emulator, ivan)
    prog = await (await c.get("/api/v1/loyalty/program")).json()
    assert (prog["point_value"], prog["max_share"], prog["expiry_months"]) == ("0.5", "20", 6)
    assert [(t["name"], t["threshold"]) for t in prog["tiers"]] == [
        ("Bronze", "0.00"), ("Silver", "10000.00"), ("Gold", "50000.00")]
    form = {"point_value": "0.5", "max_share": "20", "expiry_months": "6",
            "tiers": prog["tiers"]}
    assert (await c.put("/api/v1/loyalty/program", json=form)).status == 403
    assert (await c.post("/api/v1/loyalty/run")).status == 403
    # a card for Alpha, a duplicate number named, Gamma's client is not Ivan's
    made = await c.post("/api/v1/loyalty/cards", json={"client_id": club["Alpha"].id,
                                                      "number": "al-77"})
    assert made.status == 201
    card = await made.json()
    assert (card["number"], card["tier"], card["balance"]) == ("AL-77", "Bronze", 0)
    dup = await c.post("/api/v1/loyalty/cards", json={"client_id": club["Beta"].id,
                                                     "number": "AL-77"})
    assert dup.status == 422 and "AL-77" in await dup.text()
    assert (await c.post("/api/v1/loyalty/cards", json={
        "client_id": club["Gamma"].id})).status == 404
    order = await _order(ivan, club["Alpha"], "1000", state="posted")
    adj = await c.post(f"/api/v1/loyalty/cards/{card['id']}/adjust",
                       json={"points": "+500", "reason": "welcome"})
    assert adj.status == 201 and (await adj.json())["points"] == 500
    too_much = await c.post(f"/api/v1/loyalty/cards/{card['id']}/redeem",
                            json={"order_id": order.id, "points": "401"})
    assert too_much.status == 422 and "400" in await too_much.text()
    ok = await c.post(f"/api/v1/loyalty/cards/{card['id']}/redeem",
                      json={"order_id": order.id, "points": "400"})
    assert ok.status == 201 and (await ok.json())["amount"] == "200.00"
    moves = await (await c.get(f"/api/v1/loyalty/cards/{card['id']}/moves")).json()
    assert moves["balance"] == 100
    assert [(m["kind"], m["points"]) for m in moves["items"]] == [("redemption", -400),
                                                                 ("adjustment", 500)]
    patched = await c.patch(f"/api/v1/loyalty/cards/{card['id']}", json={"blocked": True})
    assert (await patched.json())["blocked"] is True
    page = await (await c.get("/api/v1/loyalty/cards?q=al-")).json()
    assert page["total"] == 1 and page["items"][0]["balance"] == 100
    got = await (await c.get("/api/v1/loyalty/analysis?days=30")).json()
    assert (got["buyers"], got["repeaters"], got["days"]) == (1, 0, 30)
    assert (await c.get("/api/v1/loyalty/analysis?days=0")).status == 422

    # Petr does not see Alpha's card; the head of Sales does and may recalculate
    await signed_in(service, emulator, petr)
    assert (await c.get(f"/api/v1/loyalty/cards/{card['id']}")).status == 404
    assert (await (await c.get("/api/v1/loyalty/cards")).json())["total"] == 0
    await signed_in(service, emulator, head)
    assert (await (await c.get("/api/v1/loyalty/cards")).json())["total"] == 1
    assert (await c.post("/api/v1/loyalty/run")).status == 200
    # the program is the admins' (services.permissions.is_admin), pages included
    assert (await c.get("/app/loyalty/program")).status == 403
    assert 'data-testid="loyalty-program-link"' not in await (await c.get("/app/loyalty")).text()
    # the admin: a bad row named, then saved
    await signed_in(service, emulator, admin)
    assert (await c.get("/app/loyalty/program")).status == 200
    assert 'data-testid="loyalty-program-link"' in await (await c.get("/app/loyalty")).text()
    bad = await c.put("/api/v1/loyalty/program", json=form | {"tiers": [
        {**t, "threshold": "5"} if t["name"] == "Bronze" else t for t in prog["tiers"]]})
    assert bad.status == 422 and "0" in await bad.text()
    saved = await c.put("/api/v1/loyalty/program", json=form | {"max_share": "30"})
    assert saved.status == 200 and (await saved.json())["max_share"] == "30"
    archived = await c.post(f"/api/v1/loyalty/cards/{card['id']}/archive")
    assert (await archived.json())["archived"] is True


async def test_u9_the_client_card_shows_the_loyalty_card(service, emulator, club):  # noqa: F811
    """U-9: the Mini App's client card and the bot's say the card's number, tier and
    balance in one line; a client without one offers to issue it."""
    from services import loyalty_cards as cards
    from services import loyalty_points as points
    from tests.conftest import say
    from tests.test_bot_clients import press

    ivan = club["ivan"]
    _known(emulator, ivan)
    await signed_in(service, emulator, ivan)
    beta = club["Beta"]
    page = await (await service.client.get(f"/app/clients/{beta.id}")).text()
    assert 'data-testid="loyalty-issue"' in page
    card = await cards.do_issue(ivan, {"client_id": beta.id, "number": "BT-1"})
    await points.do_adjust(ivan, card.id, {"points": "42", "reason": "gift"})
    page = await (await service.client.get(f"/app/clients/{beta.id}")).text()
    assert 'data-testid="client-loyalty"' in page and "№ BT-1" in page and "42" in page
    chat = ivan.telegram_id
    before = await press(emulator, chat, await say(emulator, chat, "/find Beta"), "Beta")
    msg = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "💳 Карта № BT-1 · Bronze · баллов: 42" in msg["text"], msg["text"]  # Ivan reads Russian
