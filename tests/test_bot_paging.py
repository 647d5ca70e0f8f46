"""Lists that grow, in the bot (issue 17), through the Bot API emulator: /find, the
staff directory, /mailings and a client's history come a page at a time (paged in
SQL), with buttons that redraw the message in place; an old page button still
answers, and a search whose query is no longer kept says so."""

from __future__ import annotations

from bot.routers.clients import ClientCB
from models import AuditLog, Role
from services import client_archive, mailings, messaging
from services import clients as client_svc
from tests.conftest import say


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


def current(emulator, chat, msg):
    """The message as it is now (pages are redrawn in place)."""
    return emulator.get_message(chat, msg["message_id"])


async def press(emulator, chat, msg, label=None, *, data=None):
    """Press a button of ``msg`` as it was drawn (an old one too); return the answer to
    the press and the message as it is after it."""
    qid = await emulator.press_button(chat, chat, msg["message_id"],
                                      data or buttons(msg)[label], strict=False)
    answer = await emulator.wait_for_callback_answer(qid)
    settle = getattr(emulator, "settle", None)
    if settle is not None:
        await settle()
    return answer, current(emulator, chat, msg)


def names(msg) -> list[str]:
    return [t for t in buttons(msg) if t not in ("◀️", "▶️")]


async def test_find_pages_through_every_match_and_old_buttons_answer(service, emulator,
                                                                     make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    made = [(await client_svc.do_create_client(ivan, {"name": f"Lutik {n:02}"})).client
            for n in range(1, 24)]
    await client_svc.do_create_client(ivan, {"name": "Romashka"})  # not a match
    chat = ivan.telegram_id
    first = await say(emulator, chat, "/find lutik")
    assert first["text"] == "Found: 1–10 of 23"
    assert names(first) == [f"Lutik {n:02}" for n in range(1, 11)]
    assert set(buttons(first)) - set(names(first)) == {"▶️"}
    page_two_button = buttons(first)["▶️"]
    answer, shown = await press(emulator, chat, first, "▶️")
    assert not answer.get("show_alert")
    assert shown["message_id"] == first["message_id"]  # the same message, redrawn
    assert shown["text"] == "Found: 11–20 of 23"
    assert names(shown) == [f"Lutik {n:02}" for n in range(11, 21)]
    assert {"◀️", "▶️"} <= set(buttons(shown))
    answer, shown = await press(emulator, chat, shown, "▶️")
    assert shown["text"] == "Found: 21–23 of 23"
    assert names(shown) == ["Lutik 21", "Lutik 22", "Lutik 23"]
    assert "▶️" not in buttons(shown) and "◀️" in buttons(shown)
    # a client of the page opens its card
    before = max(m["message_id"] for m in emulator.history(chat))
    answer, _shown = await press(emulator, chat, shown, "Lutik 22")
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert card["text"].startswith("Lutik 22\n") and "Card filled" in card["text"]
    # ten clients go to the archive: the old "page 2" button shows what is there now
    for client in made[:10]:
        await client_archive.do_archive_client(ivan, client.id)
    answer, shown = await press(emulator, chat, first, data=page_two_button)
    assert not answer.get("show_alert")
    assert shown["text"] == "Found: 11–13 of 13"
    assert names(shown) == ["Lutik 21", "Lutik 22", "Lutik 23"]
    # all of them gone: the same button says nothing is found and offers a new client
    for client in made[10:]:
        await client_archive.do_archive_client(ivan, client.id)
    answer, shown = await press(emulator, chat, first, data=page_two_button)
    assert shown["text"].startswith("Nothing found for “lutik”")
    assert set(buttons(shown)) == {"➕ New client"}


async def test_find_with_ten_or_fewer_has_no_pages(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    for n in range(10):
        await client_svc.do_create_client(ivan, {"name": f"Vasilek {n}"})
    reply = await say(emulator, ivan.telegram_id, "/find vasilek")
    assert reply["text"] == "Found: 10" and len(names(reply)) == 10
    assert "▶️" not in buttons(reply)


async def test_a_long_query_is_kept_for_its_buttons_until_cancel(service, emulator,
                                                                 make_staff):
    """A query too long for a button's 64 bytes is kept in the chat's data; after
    /cancel (which discards it) its buttons say the search is out of date."""
    ivan = await make_staff(Role.MANAGER, language="en")
    for n in range(12):
        await client_svc.do_create_client(ivan, {
            "name": f"Северная оптовая база Лютик Восточный склад {n:02}"})
    chat = ivan.telegram_id
    query = "северная оптовая база лютик восточный склад"
    first = await say(emulator, chat, f"/find {query}")
    assert first["text"] == "Found: 1–10 of 12"
    assert query not in buttons(first)["▶️"]  # a key, not the query
    answer, shown = await press(emulator, chat, first, "▶️")
    assert shown["text"] == "Found: 11–12 of 12" and len(names(shown)) == 2
    await say(emulator, chat, "/cancel")
    answer, shown = await press(emulator, chat, shown, "◀️")
    assert answer["show_alert"] and "out of date" in answer["text"]
    assert shown["text"] == "Found: 11–12 of 12"  # left as it was


async def test_history_pages_older_and_newer(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka <LLC>"})).client
    for n in range(35):
        await client_svc.do_update_client(ivan, client.id, {"notes": f"note {n}"})
    total = await AuditLog.filter(client_id=client.id).count()
    assert 31 <= total <= 45
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find romashka")
    await emulator.press_button(chat, chat, found["message_id"], buttons(found)["Romashka <LLC>"])
    card = await emulator.wait_for_bot_message(
        chat, predicate=lambda m: "Card filled" in m.get("text", ""))
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, card["message_id"], buttons(card)["🕓 History"])
    history = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert history["text"].startswith(f"Romashka <LLC> — history, 1–15 of {total}")
    assert "→ note 34" in history["text"] and "→ note 19" not in history["text"]
    assert set(buttons(history)) == {"⬅️ Older"}
    answer, shown = await press(emulator, chat, history, "⬅️ Older")
    assert shown["text"].startswith(f"Romashka <LLC> — history, 16–30 of {total}")
    assert "→ note 19" in shown["text"] and "→ note 34" not in shown["text"]
    assert set(buttons(shown)) == {"⬅️ Older", "Newer ➡️"}
    answer, shown = await press(emulator, chat, shown, "⬅️ Older")
    assert shown["text"].startswith(f"Romashka <LLC> — history, 31–{total} of {total}")
    assert "create" in shown["text"]  # the oldest entry
    assert set(buttons(shown)) == {"Newer ➡️"}
    answer, shown = await press(emulator, chat, shown, "Newer ➡️")
    assert "16–30" in shown["text"]


async def test_history_lines_are_cut_to_fit_a_message(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    for n in range(15):
        await client_svc.do_update_client(ivan, client.id, {"notes": f"{n} " + "x" * 9000})
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find lutik")
    await emulator.press_button(chat, chat, found["message_id"], ClientCB(
        action="history", client_id=client.id).pack(), strict=False)
    history = await emulator.wait_for_bot_message(chat, after_message_id=found["message_id"])
    assert len(history["text"]) < 4096 and history["text"].count("…") == 15


async def test_staff_list_is_paged_in_sql(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Aaron Admin")
    for n in range(20):
        await make_staff(Role.MANAGER, language="en", name=f"Worker {n:02}")
    chat = admin.telegram_id
    first = await say(emulator, chat, "/staff")
    assert first["text"].startswith("Staff: 1–8 of 21.")
    assert names(first)[:2] == ["Aaron Admin", "Worker 00"] and len(names(first)) == 8
    answer, shown = await press(emulator, chat, first, "▶️")
    answer, shown = await press(emulator, chat, shown, "▶️")
    assert shown["text"].startswith("Staff: 17–21 of 21.")
    assert names(shown) == [f"Worker {n:02}" for n in range(15, 20)]
    # the supervisor picker pages too, and leaves the person out
    answer, card = await press(emulator, chat, shown, "Worker 19")
    answer, picker = await press(emulator, chat, card, "Supervisor")
    assert "Worker 19" not in buttons(picker) and "Aaron Admin" in buttons(picker)
    answer, picker = await press(emulator, chat, picker, "▶️")
    answer, picker = await press(emulator, chat, picker, "▶️")
    assert [n for n in names(picker) if n.startswith("Worker")] == [
        "Worker 15", "Worker 16", "Worker 17", "Worker 18"]


async def test_mailings_are_paged_with_their_progress(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    lutik = (await client_svc.do_create_client(admin, {"name": "Lutik",
                                                       "email": "a@lutik.ru"})).client
    nomail = (await client_svc.do_create_client(admin, {"name": "Nomail"})).client
    template = await messaging.do_save_template(admin, {"name": "News", "subject": "News",
                                                        "body": "Our news."})
    for n in range(23):
        await mailings.do_create_mailing(admin, name=f"Mailing {n:02}",
                                         template_id=template.id,
                                         client_ids=[lutik.id, nomail.id])
    chat = admin.telegram_id
    first = await say(emulator, chat, "/mailings")
    assert first["text"].startswith("📣 Mailings: 1–10 of 23, the newest first.")
    assert names(first)[0].startswith("📣 Mailing 22 · ") and names(first)[0].endswith("0/1")
    answer, shown = await press(emulator, chat, first, "▶️")
    answer, shown = await press(emulator, chat, shown, "▶️")
    assert shown["text"].startswith("📣 Mailings: 21–23 of 23")
    assert [n.split(" · ")[0] for n in names(shown)] == [
        "📣 Mailing 02", "📣 Mailing 01", "📣 Mailing 00"]
    # the grouped counts are the ones a mailing's own progress shows
    items, total = await mailings.mailing_page(admin, limit=50)
    assert total == 23
    for item in items:
        assert item == await mailings.counts(item["mailing"])
    # a page button pressed by someone who may no longer send mailings is answered
    admin.role = Role.MANAGER
    await admin.save()
    answer, _shown = await press(emulator, chat, shown, "◀️")
    assert answer["show_alert"] and "administrators and heads" in answer["text"]
