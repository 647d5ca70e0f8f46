"""A client is not made twice by accident (issue 17, S-1): creating one warns about a
likely duplicate (same INN, phone, email, or a very similar name) and offers to
open it; a colleague's client is named with its manager and nothing more; a name
needs a letter or a digit; a search that finds only a colleague's client says whose
it is instead of offering to create it again."""

from __future__ import annotations

import pytest

from models import Department, Role
from services import clients as client_svc
from services import duplicates
from services.errors import ValidationFailed
from tests.conftest import say


async def _two_departments(make_staff):
    sales, support = await Department.create(name="Sales"), await Department.create(
        name="Support")
    ivan = await make_staff(Role.MANAGER, name="Ivan Petrov", language="en", department=sales)
    olga = await make_staff(Role.MANAGER, name="Olga Sidorova", language="en",
                            department=support)
    return ivan, olga


async def test_likely_duplicates_by_each_key_and_what_one_may_know(database_url, make_staff):
    ivan, olga = await _two_departments(make_staff)
    mine = (await client_svc.do_create_client(ivan, {
        "name": "ООО «Ромашка»", "phone": "+7 916 123-45-67",
        "legal": {"name": "ООО «Ромашка»", "inn": "7707083893"}})).client
    hers = (await client_svc.do_create_client(olga, {
        "name": "Василёк", "email": "office@vasilek.ru"})).client

    async def found(data):
        return {(m.client_id, m.reason, m.visible) for m in
                await duplicates.likely_duplicates(ivan, data)}

    assert await found({"name": "Ромашка"}) == {(mine.id, "name", True)}
    assert await found({"name": "Другая", "phone": "8 (916) 123 45 67"}) == {
        (mine.id, "phone", True)}
    assert await found({"name": "Другая", "legal": {"inn": "7707083893"}}) == {
        (mine.id, "inn", True)}
    assert await found({"name": "Другая", "email": "OFFICE@vasilek.ru"}) == {
        (hers.id, "email", False)}
    [match] = await duplicates.likely_duplicates(ivan, {"name": "ТОВ Василек"})
    assert (match.client_id, match.visible, match.managers) == (hers.id, False,
                                                                ["Olga Sidorova"])
    assert await found({"name": "Совсем другой клиент"}) == set()


@pytest.mark.parametrize("name", ["!!!", "«»", " - . "])
async def test_a_name_needs_a_letter_or_a_digit(database_url, make_staff, name):
    ivan = await make_staff(Role.MANAGER)
    with pytest.raises(ValidationFailed) as err:
        await client_svc.do_create_client(ivan, {"name": name})
    assert err.value.field == "name"


async def test_the_bot_warns_before_making_a_duplicate_and_offers_to_open_it(
        service, emulator, make_staff):
    ivan, _olga = await _two_departments(make_staff)
    mine = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                     "phone": "+79161234567"})).client
    chat = ivan.telegram_id

    def buttons(msg):
        return {b["text"]: b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"]
                for b in row}

    kind = await say(emulator, chat, "/newclient")
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, kind["message_id"], buttons(kind)["Individual"])
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    phone_q = await say(emulator, chat, "Lutik Shop")
    assert "Phone" in phone_q["text"]
    email_q = await say(emulator, chat, "8 916 123-45-67")
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, email_q["message_id"], buttons(email_q)["Skip"])
    confirm = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "may already be in Kontakt" in confirm["text"] and "same phone" in confirm["text"]
    labels = buttons(confirm)
    assert "Open “Lutik”" in labels and "✅ Save anyway" in labels
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, confirm["message_id"], labels["Open “Lutik”"])
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "Lutik" in card["text"]
    from models import Client

    assert await Client.filter(phone=mine.phone).count() == 1


async def test_a_search_for_a_colleagues_client_says_whose_it_is(service, emulator,
                                                                make_staff):
    ivan, olga = await _two_departments(make_staff)
    await client_svc.do_create_client(olga, {"name": "Vasilek Trading"})
    reply = await say(emulator, ivan.telegram_id, "/find Vasilek")
    assert "Vasilek Trading" in reply["text"] and "Olga Sidorova" in reply["text"]
    assert "ask them or your head" in reply["text"]
    assert "New client" not in str(reply.get("reply_markup"))
    # nothing at all: the offer to create it stays
    reply = await say(emulator, ivan.telegram_id, "/find Nosuchname")
    assert "Nothing found" in reply["text"]


async def test_my_clients_in_the_bot_paged(service, emulator, make_staff):
    """Issue 17: "my clients", ten a page, each opening its card; another's not listed;
    an empty list says what to do next."""
    ivan, olga = await _two_departments(make_staff)
    for i in range(23):
        await client_svc.do_create_client(ivan, {"name": f"Client {i:02}"})
    await client_svc.do_create_client(olga, {"name": "Not Ivan's"})
    chat = ivan.telegram_id
    prompt = await say(emulator, chat, "🔎 Clients")
    labels = {b["text"]: b["callback_data"]
              for row in prompt["reply_markup"]["inline_keyboard"] for b in row}
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, prompt["message_id"], labels["📋 My clients"])
    page = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "1–10 of 23" in page["text"]

    def names(msg):
        return [b["text"] for row in msg["reply_markup"]["inline_keyboard"] for b in row]

    assert names(page)[:10] == [f"Client {i:02}" for i in range(10)] and "▶️" in names(page)
    nav = {b["text"]: b["callback_data"] for b in page["reply_markup"]["inline_keyboard"][-1]}
    await emulator.press_button(chat, chat, page["message_id"], nav["▶️"])
    await emulator.wait_for_call("editMessageText", predicate=lambda p: "11–20" in p["text"])
    # the last page, by the command
    reply = await say(emulator, chat, "/clients")
    assert "1–10 of 23" in reply["text"]
    assert "Not Ivan's" not in str(reply)
    empty = await say(emulator, olga.telegram_id, "/clients")
    assert "1–1 of 1" in empty["text"]
    newcomer = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, newcomer.telegram_id, "/clients")
    assert "no clients yet" in reply["text"] and "New client" in str(reply["reply_markup"])
