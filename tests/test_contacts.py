"""Contact persons (S-3): added, changed, archived and restored in the service, the
JSON API and the bot; who may; bad input said, nothing lost."""

from __future__ import annotations

import pytest

from models import AuditLog, ContactPerson, Role
from services import client_search, customfields
from services import clients as client_svc
from services import contacts as svc
from services.errors import NotFound, ValidationFailed
from tests.conftest import say, settled
from tests.test_bot_activities import buttons, press
from tests.test_web import signed_in


async def _client(owner, name="Ромашка"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


async def test_add_change_archive_restore_with_history(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    maria = await svc.do_add_contact(ivan, client.id, {
        "first_name": "Мария", "last_name": "Иванова", "phones": ["8 916 000-11-22"],
        "emails": ["Maria@Romashka.RU"]})
    assert maria.phones == ["+79160001122"] and maria.emails == ["Maria@romashka.ru"]
    # found by her phone through the client's search
    assert [c.id for c in await client_search.search_clients(ivan, "9160001122")] == [client.id]
    maria = await svc.do_update_contact(ivan, maria.id, {
        "position": "бухгалтер", "phones": "8 916 000-11-22, +7 903 111 22 33",
        "birthday": "31.12.1980"}, source="bot")
    assert maria.position == "бухгалтер" and len(maria.phones) == 2
    assert maria.birthday.isoformat() == "1980-12-31"
    changes = await AuditLog.filter(entity="contact", object_id=maria.id,
                                    action="update").values_list("field", "source")
    assert set(changes) == {("position", "bot"), ("phones", "bot"), ("birthday", "bot")}
    await svc.do_archive_contact(ivan, maria.id)
    assert [c.id for c in await svc.list_contacts(ivan, client.id)] == []
    assert [c.id for c in await svc.list_contacts(ivan, client.id, archived=True)] == [
        maria.id]
    # archived: no longer found by her phone
    assert await client_search.search_clients(ivan, "9160001122") == []
    await svc.do_restore_contact(ivan, maria.id)
    assert [c.id for c in await svc.list_contacts(ivan, client.id)] == [maria.id]
    actions = await AuditLog.filter(entity="contact", object_id=maria.id).order_by(
        "id").values_list("action", flat=True)
    assert actions[0] == "create" and actions[-2:] == ["archive", "restore"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"first_name": ""}, "first_name"),
    ({"phones": "12"}, "phones"),
    ({"emails": ["not-an-email"]}, "emails"),
    ({"birthday": "31.12.2999"}, "birthday"),
    ({"birthday": "вчера"}, "birthday"),
    ({"position": "x" * 201}, "position"),
    ({"client_id": 5}, "client_id"),
])
async def test_bad_input_names_the_field_and_changes_nothing(database_url, make_staff, changes,
                                                            field):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    petrov = await svc.do_add_contact(ivan, client.id, {"first_name": "Пётр",
                                                        "phones": ["+79031112233"]})
    with pytest.raises(ValidationFailed) as err:
        await svc.do_update_contact(ivan, petrov.id, changes)
    assert err.value.field == field
    again = await ContactPerson.get(id=petrov.id)
    assert (again.first_name, again.phones, again.position) == ("Пётр", ["+79031112233"],
                                                                None)


async def test_a_colleagues_contact_is_not_found(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    petrov = await svc.do_add_contact(ivan, client.id, {"first_name": "Пётр"})
    for attempt in (svc.get_contact(olga, petrov.id),
                    svc.do_update_contact(olga, petrov.id, {"first_name": "Олег"}),
                    svc.do_archive_contact(olga, petrov.id),
                    svc.list_contacts(olga, client.id),
                    svc.do_add_contact(olga, client.id, {"first_name": "Олег"})):
        with pytest.raises(NotFound):
            await attempt
    assert (await ContactPerson.get(id=petrov.id)).first_name == "Пётр"


async def test_custom_values_of_a_contact_saved_with_it_or_not_at_all(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    client = await _client(admin)
    await customfields.do_create_field(admin, "contact", "hobby", "Хобби", "text")
    await customfields.do_create_field(admin, "contact", "kids", "Дети", "number")
    c = await svc.do_add_contact(admin, client.id, {"first_name": "Пётр",
                                                    "custom": {"hobby": "рыбалка"}})
    assert (await customfields.values_for(admin, "contact", c.id))["hobby"] == "рыбалка"
    with pytest.raises(ValidationFailed):
        await svc.do_add_contact(admin, client.id, {"first_name": "Олег",
                                                    "custom": {"kids": "много"}})
    assert await ContactPerson.filter(first_name="Олег").count() == 0  # nothing half-saved
    await svc.do_update_contact(admin, c.id, {"custom": {"kids": "2"}})
    assert (await customfields.values_for(admin, "contact", c.id))["kids"] == 2


async def test_card_opens_with_choice_fields_of_contacts(service, emulator, make_staff):
    """A contact field with a list (one value or several) puts its choices in the card's
    contact form; the card used to fail (500) as soon as an admin made one."""
    admin = await make_staff(Role.ADMIN, language="ru")
    client = await _client(admin)
    await customfields.do_create_field(admin, "contact", "hobby", "Хобби", "choice",
                                       items=["рыбалка", "шахматы"])
    await customfields.do_create_field(admin, "contact", "langs", "Языки", "multichoice",
                                       items=["английский", "немецкий"])
    await svc.do_add_contact(admin, client.id, {"first_name": "Мария",
                                                "custom": {"langs": ["немецкий"]}})
    await signed_in(service, emulator, admin)
    resp = await service.client.get(f"/app/clients/{client.id}")
    assert resp.status == 200, await resp.text()
    page = await resp.text()
    for choice in ("рыбалка", "шахматы", "английский", "немецкий"):
        assert f'<option value="{choice}">{choice}</option>' in page
    assert 'data-testid="contact-cf-langs" multiple' in page
    assert "&#34;langs&#34;: [&#34;немецкий&#34;]" in page


async def test_api_list_patch_archive_restore(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    petrov = await svc.do_add_contact(ivan, client.id, {"first_name": "Пётр"})
    await signed_in(service, emulator, ivan)
    http = service.client
    resp = await http.patch(f"/api/v1/contacts/{petrov.id}",
                            json={"last_name": "Петров", "phones": ["8 903 111-22-33"]})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["last_name"] == "Петров" and body["phones"] == ["+79031112233"]
    resp = await http.patch(f"/api/v1/contacts/{petrov.id}", json={"emails": ["bad"]})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"][-1] == "emails"
    assert (await http.post(f"/api/v1/contacts/{petrov.id}/archive")).status == 200
    listed = await (await http.get(f"/api/v1/clients/{client.id}/contacts")).json()
    assert listed["items"] == []
    listed = await (await http.get(
        f"/api/v1/clients/{client.id}/contacts?archived=true")).json()
    assert [c["id"] for c in listed["items"]] == [petrov.id]
    assert (await http.post(f"/api/v1/contacts/{petrov.id}/restore")).status == 200
    # another manager: not found, and nothing changes
    await signed_in(service, emulator, olga)
    for resp in (await http.patch(f"/api/v1/contacts/{petrov.id}", json={"first_name": "X"}),
                 await http.post(f"/api/v1/contacts/{petrov.id}/archive"),
                 await http.get(f"/api/v1/contacts/{petrov.id}/custom")):
        assert resp.status == 404
    assert (await ContactPerson.get(id=petrov.id)).archived_at is None


async def _contacts_screen(service, emulator, ivan, client):
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find Ромашка")
    card = await press(emulator, chat, found, client.name)
    label = next((t for t in buttons(card) if t.startswith("👥")), None)
    assert label, (card["text"], buttons(card))
    return chat, await press(emulator, chat, card, label)


async def test_bot_adds_a_contact_in_three_steps_and_keeps_asking_on_a_bad_phone(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    chat, screen = await _contacts_screen(service, emulator, ivan, client)
    assert "Ромашка" in screen["text"] and "пока нет" in screen["text"]
    asked = await press(emulator, chat, screen, "➕ Контакт")
    assert "/cancel" in asked["text"]
    phone_q = await say(emulator, chat, "Иванова Мария Петровна")
    bad = await say(emulator, chat, "12")
    assert "⚠️" in bad["text"] and "Skip" not in bad["text"]  # said, and asked again
    email_q = await say(emulator, chat, "8 916 000-11-22")
    assert phone_q and email_q
    done = await press(emulator, chat, email_q, "Пропустить")
    assert "Иванова Мария Петровна" in done["text"] and "+79160001122" in done["text"]
    [maria] = await ContactPerson.filter(client_id=client.id)
    assert (maria.last_name, maria.first_name, maria.middle_name) == (
        "Иванова", "Мария", "Петровна")
    assert maria.emails == []


async def test_bot_edits_archives_and_restores_a_contact(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    petrov = await svc.do_add_contact(ivan, client.id, {"first_name": "Пётр",
                                                        "last_name": "Петров"})
    chat, screen = await _contacts_screen(service, emulator, ivan, client)
    card = await press(emulator, chat, screen, "👤 Петров Пётр")
    asked = await press(emulator, chat, card, "📞 Телефоны")
    assert "запятую" in asked["text"]
    bad = await say(emulator, chat, "8 916 000-11-22, 12")
    assert "⚠️" in bad["text"]
    assert (await ContactPerson.get(id=petrov.id)).phones == []  # nothing half-saved
    saved = await say(emulator, chat, "8 916 000-11-22, +7 903 111 22 33")
    assert "+79160001122" in saved["text"] and "+79031112233" in saved["text"]
    await press(emulator, chat, saved, "🗄 В архив", wait=False)
    await settled(service, emulator)
    assert (await ContactPerson.get(id=petrov.id)).archived_at is not None
    edited = [m for m in emulator.history(chat) if m["message_id"] == saved["message_id"]][-1]
    await press(emulator, chat, edited, "↩️ Восстановить", wait=False)
    await settled(service, emulator)
    assert (await ContactPerson.get(id=petrov.id)).archived_at is None


async def test_bot_contact_question_is_left_by_a_menu_command(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan)
    petrov = await svc.do_add_contact(ivan, client.id, {"first_name": "Пётр"})
    chat, screen = await _contacts_screen(service, emulator, ivan, client)
    card = await press(emulator, chat, screen, "👤 Пётр")
    await press(emulator, chat, card, "💼 Должность")
    today = await say(emulator, chat, "/today")
    assert "Сегодня" in today["text"]
    await say(emulator, chat, "звонил Петрову, договорились на завтра")
    assert (await ContactPerson.get(id=petrov.id)).position is None
