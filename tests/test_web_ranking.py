"""K-8 over the JSON API (/api/v1/ranking): the counts and the client pages of the
people's own scope, the admin's settings and a run on demand; on the data of
tests.test_ranking (by margin: Alpha A, Gamma B, Delta B, Beta C)."""

from __future__ import annotations

from tests.test_ranking import shop  # noqa: F401 - the hand-made data
from tests.test_web import signed_in


def _known(emulator, *people):
    for p in people:
        emulator.add_user(p.telegram_id, p.full_name, None, username=f"u{p.telegram_id}",
                          language_code="en")


async def test_k8_api_settings_run_and_results(service, emulator, shop):  # noqa: F811
    admin, head, ivan = shop["admin"], shop["head"], shop["ivan"]
    _known(emulator, admin, head, ivan)
    c = service.client
    await signed_in(service, emulator, ivan)
    # a manager: no settings, no run; sees the counts of own clients (none ranked yet)
    assert (await c.get("/api/v1/ranking/settings")).status == 403
    assert (await c.post("/api/v1/ranking/run")).status == 403
    body = await (await c.get("/api/v1/ranking")).json()
    assert (body["total"], body["may_run"], body["last_run"]) == (0, False, None)
    assert 'data-testid="ranking-settings"' not in await (await c.get("/app/ranking")).text()

    await signed_in(service, emulator, admin)
    # the settings form is offered to whom the service lets save them (permissions.is_admin)
    assert 'data-testid="ranking-settings"' in await (await c.get("/app/ranking")).text()
    got = await (await c.get("/api/v1/ranking/settings")).json()
    assert got == {"basis": "margin", "months": 3, "a": "80", "b": "15", "c": "5",
                   "x": "10", "y": "25", "currency": "RUB"}
    form = {k: v for k, v in got.items() if k != "c"}
    bad = await c.put("/api/v1/ranking/settings", json=form | {"a": "90", "b": "20"})
    assert bad.status == 422 and "100" in (await bad.text())
    ok = await c.put("/api/v1/ranking/settings", json=form | {"a": "75"})
    assert ok.status == 200 and (await ok.json())["c"] == "10"
    await c.put("/api/v1/ranking/settings", json=form)
    run = await (await c.post("/api/v1/ranking/run")).json()
    assert (run["ranked"], run["classes"], run["moved"], run["missing"]) == (
        4, {"A": 1, "B": 2, "C": 1}, 4, [])
    body = await (await c.get("/api/v1/ranking")).json()
    assert body["total"] == 4 and body["matrix"]["B"] == {"X": 0, "Y": 0, "Z": 2}
    assert body["segments"]["champions"] == 1 and body["last_run"]["ranked"] == 4
    page = await (await c.get("/api/v1/ranking/clients?abc=B&limit=1")).json()
    assert page["total"] == 2 and [r["client"] for r in page["items"]] == ["Gamma"]
    assert page["items"][0]["share"] == "84.62" and page["items"][0]["rfm"] == "122"
    assert (await c.get("/api/v1/ranking/clients?abc=Q")).status == 422

    # the head of Sales sees Alpha and Beta only, and may run
    await signed_in(service, emulator, head)
    body = await (await c.get("/api/v1/ranking")).json()
    assert (body["total"], body["may_run"]) == (2, True)
    assert 'data-testid="ranking-settings"' not in await (await c.get("/app/ranking")).text()
    page = await (await c.get("/api/v1/ranking/clients")).json()
    assert [r["client"] for r in page["items"]] == ["Alpha", "Beta"]
    assert (await c.post("/api/v1/ranking/run")).status == 200
    assert (await c.put("/api/v1/ranking/settings", json={"basis": "revenue", "months": 3,
                        "a": "80", "b": "15", "x": "10", "y": "25",
                        "currency": "RUB"})).status == 403


async def test_k8_bot_abc_counts_own_clients(service, emulator, shop):  # noqa: F811
    """K-8: /abc gives the person's own clients per ABC class and the button to the
    Mini App's ranking page; before any run it says how ranking happens."""
    import re

    from models import User
    from services import ranking_run
    from tests.conftest import say

    ivan, petr = shop["ivan"], shop["petr"]
    await User.filter(id__in=[ivan.id, petr.id]).update(language="en")
    _known(emulator, ivan, petr)

    def text(msg) -> str:
        return re.sub(r"</?b>", "", msg["text"])

    before = await say(emulator, ivan.telegram_id, "/abc")
    assert "not been ranked yet" in text(before)
    await ranking_run.run(shop["admin"])
    msg = await say(emulator, ivan.telegram_id, "/abc")  # Alpha A, Beta C
    assert all(part in text(msg) for part in ("A: 1", "B: 0", "C: 1")), text(msg)
    assert "Client ranking" in text(msg)  # the way to the page (no HTTPS: no button)
    msg = await say(emulator, petr.telegram_id, "/abc")  # Gamma B, Delta B
    assert all(part in text(msg) for part in ("A: 0", "B: 2", "C: 0")), text(msg)


async def test_k8_the_card_shows_the_class_in_the_mini_app_and_the_bot(
        service, emulator, shop):  # noqa: F811
    """K-8: once ranked, a client's card says its class, RFM and segment."""
    from services import ranking_run as runner
    from tests.conftest import say

    admin, ivan = shop["admin"], shop["ivan"]
    _known(emulator, ivan)
    await runner.run(admin, source="web")
    await signed_in(service, emulator, ivan)
    alpha = shop["Alpha"]
    page = await (await service.client.get(f"/app/clients/{alpha.id}")).text()
    assert 'data-testid="client-rank"' in page and "AX" in page and "RFM 455" in page
    from tests.test_bot_clients import press

    chat = ivan.telegram_id
    before = await press(emulator, chat, await say(emulator, chat, "/find Alpha"), "Alpha")
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "🏆 Класс AX · RFM 455 · Чемпионы" in card["text"]
