"""Clients in the bot through the emulator: search (S-11), card, guided creation
with validation that keeps the draft (S-1), shared contact (S-3), files (S-2)."""

from __future__ import annotations

from models import Client, Document, Role
from services import clients as svc
from tests.conftest import say, wait_until


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def press(emulator, chat, msg, label):
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, msg["message_id"], buttons(msg)[label])
    return before


async def test_search_and_card(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field")
    client = (await svc.do_create_client(ivan, {
        "name": "Romashka LLC", "phone": "+79161234567", "street": "Tverskaya", "building": "1",
        "legal": {"name": "OOO Romashka", "inn": "7707083893"}})).client
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/find romashka")
    assert "Romashka LLC" in buttons(reply)
    before = await press(emulator, chat, reply, "Romashka LLC")
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "INN 7707083893" in card["text"] and "+79161234567" in card["text"]
    assert "Ivan Field" in card["text"]  # managers
    # S-4: the address on the three map services people use in RU/UA
    assert "Tverskaya, 1" in card["text"]
    assert buttons(card)["🗺 Yandex"].startswith("https://yandex.ru/maps/?text=Tverskaya")
    assert buttons(card)["🗺 2GIS"].startswith("https://2gis.ru/search/Tverskaya")
    assert buttons(card)["🗺 Google"].startswith("https://www.google.com/maps/search/")
    # typo and transliteration in the search state: just type
    reply = await say(emulator, chat, "ромашко")
    assert "Romashka LLC" in buttons(reply)
    # the history shows the creation
    before = await press(emulator, chat, card, "🕓 History")
    hist = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "create" in hist["text"]
    assert client.id


async def test_someone_elses_client_is_named_not_opened(service, emulator, make_staff):
    """Issue 17: not "nothing found" (which invites a second card), but whose it is —
    and no button to open it."""
    ivan = await make_staff(Role.MANAGER, language="en")
    olena = await make_staff(Role.MANAGER, language="en", name="Olena Koval")
    await svc.do_create_client(olena, {"name": "Secret Client"})
    reply = await say(emulator, ivan.telegram_id, "/find secret")
    assert "Secret Client is the client of Olena Koval" in reply["text"]
    assert not reply.get("reply_markup")


async def test_guided_creation_keeps_the_draft_on_bad_input(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    msg = await say(emulator, chat, "/newclient")
    before = await press(emulator, chat, msg, "Company")
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    reply = await say(emulator, chat, "Vasilek Trading")
    assert "Phone" in reply["text"]
    reply = await say(emulator, chat, "12345")
    assert "phone" in reply["text"] and "not a" in reply["text"]  # names the field
    reply = await say(emulator, chat, "8 (916) 765-43-21")
    assert "Email" in reply["text"]
    reply = await say(emulator, chat, "not-an-email")
    assert "email" in reply["text"].lower() and "Try again" in reply["text"]
    reply = await say(emulator, chat, "sales@vasilek.ru")
    assert "INN" in reply["text"]
    reply = await say(emulator, chat, "7707083894")  # wrong check digit
    assert "INN" in reply["text"] and "check digit" in reply["text"]
    reply = await say(emulator, chat, "7707083893")
    assert "Vasilek Trading" in reply["text"] and "+79167654321" in reply["text"]
    before = await press(emulator, chat, reply, "✅ Save")
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "INN 7707083893" in card["text"]
    client = await Client.get(name="Vasilek Trading")
    assert client.phone == "+79167654321" and client.email == "sales@vasilek.ru"


async def test_cancel_discards_the_draft(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    msg = await say(emulator, chat, "/newclient")
    before = await press(emulator, chat, msg, "Individual")
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    await say(emulator, chat, "Petr Petrov")
    reply = await say(emulator, chat, "/cancel")
    assert "discarded" in reply["text"]
    assert not await Client.exists()


async def test_shared_contact_finds_or_creates(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    await emulator.send_contact(chat, "+380501112233", "Taras", last_name="Shevchenko")
    await wait_until(lambda: Client.exists(phone="+380501112233"))
    card = await emulator.wait_for_bot_message(
        chat, predicate=lambda m: "Taras Shevchenko" in m.get("text", ""))
    assert "Individual" in card["text"]
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.send_contact(chat, "380501112233", "Taras")
    again = await emulator.wait_for_bot_message(chat, after_message_id=before + 1)
    assert "Taras Shevchenko" in again["text"]
    assert await Client.all().count() == 1


async def test_file_sent_while_card_open_is_attached(service, emulator, make_staff, tmp_path):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/find nothing-here")
    assert "Nothing found" in reply["text"]
    doc_before = await emulator.send_document(chat, "offer.pdf", b"%PDF-1.4 offer",
                                              "application/pdf")
    refusal = await emulator.wait_for_bot_message(chat, after_message_id=doc_before["message_id"])
    assert "Open a client's card first" in refusal["text"]
    client = (await svc.do_create_client(ivan, {"name": "Docs Client"})).client
    reply = await say(emulator, chat, "/find docs")
    before = await press(emulator, chat, reply, "Docs Client")
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    sent = await emulator.send_document(chat, "offer.pdf", b"%PDF-1.4 offer", "application/pdf")
    ok = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert "Attached" in ok["text"]
    doc = await Document.get(client_id=client.id)
    assert doc.filename == "offer.pdf" and doc.size == len(b"%PDF-1.4 offer")
    assert (service.settings.data_dir / doc.storage_path).read_bytes() == b"%PDF-1.4 offer"


async def test_card_lists_every_legal_entity_and_the_consent_flags(service, emulator,
                                                                    make_staff):
    """S-1, K-16: the bot's card shows each legal entity (name and codes, the primary
    first) and whether the client agrees to emails and SMS or is not to be contacted —
    in the person's language."""
    from services.legal import CARD_ENTITIES

    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field")
    client = (await svc.do_create_client(ivan, {
        "name": "Romashka Group", "legal": {"name": "OOO Romashka", "inn": "7707083893"}})
    ).client
    await svc.do_add_legal_entity(ivan, client.id, {"name": "TOV Romashka Ukraine",
                                                     "edrpou": "14360570"})
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/find romashka")
    before = await press(emulator, chat, reply, "Romashka Group")
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    lines = card["text"].splitlines()
    legal = [line for line in lines if line.startswith("🏢")]
    assert legal == ["🏢 OOO Romashka · INN 7707083893",
                     "🏢 TOV Romashka Ukraine · EDRPOU 14360570"]
    assert "Consent: emails ✅, SMS ✅" in lines
    assert not any("do not contact" in line for line in lines)
    await svc.do_update_client(ivan, client.id, {"sms_consent": False,
                                                 "do_not_contact": True})
    # a Ukrainian colleague on the same client: the words in Ukrainian
    olena = await make_staff(Role.ADMIN, language="uk", name="Olena Koval")
    reply = await say(emulator, olena.telegram_id, "/find romashka")
    before = await press(emulator, olena.telegram_id, reply, "Romashka Group")
    card = await emulator.wait_for_bot_message(olena.telegram_id, after_message_id=before)
    lines = card["text"].splitlines()
    assert "🏢 TOV Romashka Ukraine · ЄДРПОУ 14360570" in lines
    assert any(line.endswith("✅, SMS ❌") for line in lines)
    assert "🚫 не зв'язуватися зовсім" in lines
    assert CARD_ENTITIES >= 2
