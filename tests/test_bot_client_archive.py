"""Archiving a client from the bot card through the emulator: what is open is said
before anything is asked, the confirmation has ✅ Yes and ◀️ Back, the archived card
says who archived it (a manager is told to ask their head), a head restores it."""

from __future__ import annotations

from bot.routers.clients import ClientCB
from models import Client, Department, Role
from services import clients as client_svc
from services import deals as deal_svc
from tests.conftest import say
from tests.test_bot_deals import buttons, current, plain, press


async def test_archive_with_confirmation_and_restore_by_the_head(service, emulator,
                                                                 make_staff):
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field", department=dept)
    head = await make_staff(Role.HEAD, language="en", name="Hanna Head", department=dept)
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka <LLC>"})).client
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id,
                                                 "title": "Supply"})).deal
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find romashka")
    _answer, card = await press(emulator, chat, found, "Romashka <LLC>")
    # an open deal: said at once, nothing asked, the card stays as it was
    answer, said = await press(emulator, chat, card, "🗄 Archive")
    assert said is not None and plain(said["text"]) == (
        "⛔ Not archived: the client still has open deals: 1. Close or settle these first.")
    assert "Card filled" in current(emulator, chat, card)["text"]
    await deal_svc.do_archive_deal(ivan, deal.id)
    # the question, and Back returns to the card
    answer, _none = await press(emulator, chat, card, "🗄 Archive")
    asked = current(emulator, chat, card)
    assert asked["text"].startswith("🗄 Archive “Romashka <LLC>”?")
    assert set(buttons(asked)) == {"✅ Yes, archive", "◀️ Back"}
    answer, _none = await press(emulator, chat, asked, "◀️ Back")
    back = current(emulator, chat, card)
    assert "Card filled" in back["text"] and "🗄 Archive" in buttons(back)
    # archived: the card turns into the archived one
    await press(emulator, chat, back, "🗄 Archive")
    answer, _none = await press(emulator, chat, current(emulator, chat, card), "✅ Yes, archive")
    assert answer["text"] == "Archived."
    archived = current(emulator, chat, card)
    assert "🗄 Archived on " in archived["text"] and "by Ivan Field" in archived["text"]
    assert "ask your head" in archived["text"] and "♻️ Restore" not in buttons(archived)
    assert (await Client.get(id=client.id)).archived_at is not None
    _answer, history = await press(emulator, chat, archived, "🕓 History")
    assert "archived" in history["text"]
    reply = await say(emulator, chat, "/find romashka")
    assert "Nothing found" in reply["text"]
    # a press of an old Yes once it is archived is answered, not repeated
    answer, _none = await press(emulator, chat, archived, data=f"ca:yes:{client.id}")
    assert answer["show_alert"] and "already archived" in answer["text"]
    # the head opens it (an old button) and restores it
    hchat = head.telegram_id
    old = await say(emulator, hchat, "/find romashka")  # archived: not found, but an old
    _answer, hcard = await press(emulator, hchat, old, data=ClientCB(  # button opens it
        action="card", client_id=client.id).pack())
    assert "♻️ Restore" in buttons(hcard)
    answer, _none = await press(emulator, hchat, hcard, "♻️ Restore")
    assert answer["text"] == "Restored."
    restored = current(emulator, hchat, hcard)
    assert "Card filled" in restored["text"] and "🗄 Archive" in buttons(restored)
    assert (await Client.get(id=client.id)).archived_at is None

