"""Handing over a person's clients (A-5): the service (history, primary kept, a
successor already a manager, refusals, a head's scope), the API and the bot card."""

from __future__ import annotations

import pytest

from models import AuditLog, ClientManager, Role
from services import clients as client_svc
from services import handover as svc
from services import managers as managers_svc
from services import staff as staff_service
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import say
from tests.test_bot_deals import buttons, current, plain, press
from tests.test_web import signed_in


@pytest.fixture
def org(staff_world):
    return staff_world


async def _current(client_id: int) -> list[tuple[str, bool]]:
    rows = await ClientManager.filter(client_id=client_id, unassigned_at=None
                                      ).prefetch_related("user").order_by("id")
    return [(r.user.full_name, r.is_primary) for r in rows]


async def test_hand_over_moves_with_history_and_keeps_primary(org):
    admin, ivan, maria = org["admin"], org["ivan"], org["maria"]
    a = (await client_svc.do_create_client(ivan, {"name": "A"})).client  # Ivan primary
    b = (await client_svc.do_create_client(maria, {"name": "B"})).client  # Maria primary
    await managers_svc.do_assign_manager(admin, b.id, ivan.id)  # Ivan a second manager
    c = (await client_svc.do_create_client(ivan, {"name": "C"})).client
    await managers_svc.do_assign_manager(admin, c.id, maria.id)  # Maria already on C
    result = await svc.do_hand_over(admin, ivan.id, maria.id, source="bot")
    assert result.count == 3
    assert [(n.user_id, n.count, n.from_name) for n in result.notices] == [
        (maria.id, 3, "Ivan Field")]
    assert await _current(a.id) == [("Maria Stone", True)]
    assert await _current(b.id) == [("Maria Stone", True)]  # not primary-ed twice
    assert await _current(c.id) == [("Maria Stone", True)]  # kept row, now primary
    assert await ClientManager.filter(client_id=c.id, user_id=maria.id).count() == 1
    ended = await ClientManager.get(client_id=a.id, user_id=ivan.id)
    assert ended.unassigned_at is not None and ended.unassigned_by_id == admin.id
    logged = await AuditLog.filter(client_id=a.id, entity="manager").order_by("id"
                                                                             ).values_list(
        "action", "source")
    assert logged[-2:] == [("unassign", "bot"), ("assign", "bot")]
    assert await svc.clients_to_hand_over(ivan.id) == 0
    again = await svc.do_hand_over(admin, ivan.id, maria.id)
    assert again.count == 0 and again.notices == []


async def test_hand_over_of_a_dismissed_person(org):
    admin, ivan, olena = org["admin"], org["ivan"], org["olena"]
    a = (await client_svc.do_create_client(ivan, {"name": "A"})).client
    await staff_service.do_dismiss(admin, ivan.id)
    assert (await svc.do_hand_over(admin, ivan.id, olena.id)).count == 1
    assert await _current(a.id) == [("Olena Koval", True)]


async def test_refusals_and_the_heads_scope(org):
    admin, head, ivan, maria, olena = (org[k] for k in (
        "admin", "head_msk", "ivan", "maria", "olena"))
    a = (await client_svc.do_create_client(ivan, {"name": "A"})).client
    with pytest.raises(ValidationFailed) as same:
        await svc.do_hand_over(admin, ivan.id, ivan.id)
    assert same.value.field == "to_user_id"
    await staff_service.do_dismiss(admin, maria.id)
    with pytest.raises(ValidationFailed, match="no such active"):
        await svc.do_hand_over(admin, ivan.id, maria.id)
    with pytest.raises(ValidationFailed, match="outside your departments"):
        await svc.do_hand_over(head, ivan.id, olena.id)  # Olena is in Kyiv
    with pytest.raises(PermissionDenied):
        await svc.do_hand_over(head, olena.id, ivan.id)  # not the head's person
    with pytest.raises(PermissionDenied):
        await svc.do_hand_over(ivan, ivan.id, admin.id)  # managers may not
    assert await _current(a.id) == [("Ivan Field", True)]  # nothing changed
    assert [p.full_name for p in await svc.successors(head, ivan.id)] == ["Head Moscow"]
    assert (await svc.do_hand_over(head, ivan.id, head.id)).count == 1
    assert await _current(a.id) == [("Head Moscow", True)]


async def test_api_hand_over_and_notice(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Old")
    maria = await make_staff(Role.MANAGER, language="en", name="Maria New")
    await client_svc.do_create_client(ivan, {"name": "Romashka"})
    await client_svc.do_create_client(ivan, {"name": "Vasilek"})
    await emulator.send_message(maria.telegram_id, "/menu")
    await emulator.wait_for_bot_message(maria.telegram_id)
    await signed_in(service, emulator, admin)
    c = service.client
    page = await (await c.get(f"/app/profile/{ivan.id}")).text()
    assert 'data-testid="handover-form"' in page and "Maria New" in page
    resp = await c.post(f"/api/v1/staff/{ivan.id}/hand-over", json={"to_user_id": ivan.id})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "to_user_id"]
    resp = await c.post(f"/api/v1/staff/{ivan.id}/hand-over", json={"to_user_id": maria.id})
    assert resp.status == 200, await resp.text()
    assert (await resp.json()) == {"moved": 2, "deals": 0, "tasks": 0}
    told = await emulator.wait_for_bot_message(
        maria.telegram_id, predicate=lambda m: "Ivan Old" in m.get("text", ""))
    assert "clients — 2, open deals — 0, open tasks — 0" in told["text"]
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, ivan)
    resp = await c.post(f"/api/v1/staff/{maria.id}/hand-over", json={"to_user_id": ivan.id})
    assert resp.status == 403


async def test_bot_hand_over_from_the_staff_card(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Anna Admin")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Old")
    maria = await make_staff(Role.MANAGER, language="en", name="Maria New")
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka"})).client
    await emulator.send_message(maria.telegram_id, "/menu")  # Maria has opened the bot
    await emulator.wait_for_bot_message(maria.telegram_id)
    chat = admin.telegram_id
    listing = await say(emulator, chat, "/staff")
    _answer, _none = await press(emulator, chat, listing, "Ivan Old")
    card = current(emulator, chat, listing)
    assert "🔁 Hand over clients" in buttons(card)
    answer, _none = await press(emulator, chat, card, "🔁 Hand over clients")
    picker = current(emulator, chat, listing)
    assert "Clients: 1" in plain(picker["text"])
    assert "Ivan Old" not in buttons(picker) and "◀️ Back" in buttons(picker)
    await press(emulator, chat, picker, "Maria New")
    asked = current(emulator, chat, listing)
    assert plain(asked["text"]) == "Hand over the clients of Ivan Old to Maria New? Clients: 1."
    assert set(buttons(asked)) == {"✅ Yes", "◀️ Back"}
    await press(emulator, chat, asked, "◀️ Back")  # back to the picker
    assert "Maria New" in buttons(current(emulator, chat, listing))
    await press(emulator, chat, current(emulator, chat, listing), "Maria New")
    answer, _none = await press(emulator, chat, current(emulator, chat, listing), "✅ Yes")
    done = current(emulator, chat, listing)
    assert "Handed over: clients — 1, open deals — 0, open tasks — 0." in done["text"]
    assert "🔁 Hand over clients" not in buttons(done)
    assert await _current(client.id) == [("Maria New", True)]
    told = await emulator.wait_for_bot_message(
        maria.telegram_id, predicate=lambda m: "Ivan Old" in m.get("text", ""))
    assert "clients — 1" in told["text"]
    # an old Yes pressed again: answered, nothing to move
    answer, _none = await press(emulator, chat, asked, data=buttons(asked)["✅ Yes"])
    assert answer is not None
