"""No dead ends in the bot (issue 17), through the Bot API emulator: menu buttons and
commands leave every dialog; the quick log's proposal answers every button and every
text at every step (a client search that finds nothing offers to make the client);
buttons of old messages answer that they are out of date; whatever else is sent in
a dialog is told what the dialog waits for and how to leave it."""

from __future__ import annotations

import pytest

from models import Activity, ActivityState, Client, Role
from tests.conftest import say, settled


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def press(emulator, chat, msg, label):
    """Press a button of ``msg`` as it was drawn (a button since removed can still be
    pressed in an old client); return (the callback's answer, the bot's next message
    or None)."""
    before = max(m["message_id"] for m in emulator.history(chat))
    qid = await emulator.press_button(chat, chat, msg["message_id"], buttons(msg)[label],
                                      strict=False)
    answer = await emulator.wait_for_callback_answer(qid)
    settle = getattr(emulator, "settle", None)
    if settle is not None:  # the handler may answer first and send its message after commit
        await settle()
    try:
        reply = await emulator.wait_for_bot_message(chat, after_message_id=before,
                                                    timeout=0.5)
    except (AssertionError, TimeoutError):
        reply = None
    return answer, reply


# each dialog: how a Russian-speaking salesperson enters it
DIALOGS = {
    "search by button": ["🔎 Клиенты"],
    "search by command": ["/find"],
    "search after results": ["/find Ромашка"],
    "new client": ["➕ Новый клиент"],
    "new task": ["➕ Задача"],
    "new task title given": ["/task Позвонить", ],
    "quick-log proposal": ["звонил в Ромашку, обсудили цены"],
}
# a menu button or command, and the start of what it answers outside any dialog
LEAVERS = {
    "📅 Сегодня": "📅 Сегодня:",
    "➕ Новый клиент": "Новый клиент. Это компания",
    "➕ Задача": "Новая задача.",
    "/task": "Новая задача.",
    "🔎 Клиенты": "Введите название клиента",
    "/menu": "",
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
async def test_menu_buttons_and_commands_leave_every_dialog(service, emulator, make_staff,
                                                            dialog):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    await Client.create(name="ООО Ромашка", kind="company")
    chat = ivan.telegram_id
    for button, answer in LEAVERS.items():
        for step in DIALOGS[dialog]:
            await say(emulator, chat, step)
        await settled(service, emulator)
        reply = await say(emulator, chat, button)
        assert reply["text"].startswith(answer), (dialog, button, reply["text"])
        assert "Ничего не найдено" not in reply["text"]
        await settled(service, emulator)
        await say(emulator, chat, "/cancel")
    # nothing was saved by any of it: no task titled with a button's text, no client
    assert not await Activity.filter(title__contains="Задача").exists()
    assert await Client.all().count() == 1


async def test_quick_log_client_not_found_offers_new_client_and_keeps_answering(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "called Vasilek, discussed the prices")
    assert "✅ Save" in buttons(proposal)
    _answer, question = await press(emulator, chat, proposal, "🏢 Client")
    assert "/cancel" in question["text"] and "↩️ Back to the proposal" in buttons(question)
    nothing = await say(emulator, chat, "Vasilek Trading")
    assert "Nothing found" in nothing["text"]
    assert set(buttons(nothing)) == {"➕ New client “Vasilek Trading”", "↩️ Back to the proposal"}
    # make the client from here: the proposal comes back with it
    answer, again = await press(emulator, chat, nothing, "➕ New client “Vasilek Trading”")
    assert "Vasilek Trading" in answer["text"]
    assert "🏢 Vasilek Trading" in again["text"]
    client = await Client.get(name="Vasilek Trading")
    assert client.kind == "company"
    answer, saved = await press(emulator, chat, again, "✅ Save")
    assert answer["text"] == "Saved."
    await settled(service, emulator)
    logged = await Activity.get(client_id=client.id)
    assert logged.state == ActivityState.DONE
    # the old proposal's buttons answer instead of doing nothing
    answer, _reply = await press(emulator, chat, proposal, "✅ Save")
    assert answer["show_alert"] and "out of date" in answer["text"]
    answer, _reply = await press(emulator, chat, again, "✅ Save")
    assert "already saved" in answer["text"]
    assert await Activity.filter(client_id=client.id).count() == 1


async def test_save_and_cancel_answer_while_the_proposal_asks_for_a_client(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "called Vasilek, discussed the prices")
    await press(emulator, chat, proposal, "🏢 Client")
    nothing = await say(emulator, chat, "Nobody Such")
    assert "Nothing found" in nothing["text"]
    answer, reply = await press(emulator, chat, proposal, "✖️ Cancel")
    assert "nothing was saved" in answer["text"]
    assert reply is not None and "Cancelled" in reply["text"]
    answer, _ = await press(emulator, chat, proposal, "✅ Save")
    assert "cancelled" in answer["text"]
    answer, _ = await press(emulator, chat, nothing, "↩️ Back to the proposal")
    assert "out of date" in answer["text"] or "cancelled" in answer["text"]
    assert await Activity.all().count() == 0
    # and the next text is a new quick log, not a client search
    reply = await say(emulator, chat, "met Petrov at the office, signed the contract")
    assert "✅ Save" in buttons(reply)


async def test_a_date_typed_on_the_proposal_is_taken(service, emulator, make_staff):
    olena = await make_staff(Role.MANAGER, language="en", timezone="Europe/Kyiv")
    chat = olena.telegram_id
    proposal = await say(emulator, chat, "called Romashka, agreed to call back")
    assert "no date yet" in proposal["text"]
    reply = await say(emulator, chat, "tomorrow 10:00")
    assert "no date yet" not in reply["text"] and "10:00" in reply["text"]
    answer, _ = await press(emulator, chat, reply, "✅ Save")
    assert answer["text"] == "Saved."
    await settled(service, emulator)
    follow = await Activity.get(state=ActivityState.PLANNED)
    assert follow.starts_at is not None


async def test_other_text_on_a_waiting_proposal_is_answered(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "called Petrov, discussed the prices")
    assert "✅ Save" in buttons(proposal)
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.send_message(chat, "what about the other thing")
    note = await emulator.wait_for_bot_message(chat, after_message_id=before + 1)
    assert "draft is waiting" in note["text"]
    again = await emulator.wait_for_bot_message(chat, after_message_id=note["message_id"])
    assert "✅ Save" in buttons(again)
    # the proposal shown again is the live one; the first one is out of date
    answer, _ = await press(emulator, chat, proposal, "✅ Save")
    assert "out of date" in answer["text"]
    answer, _ = await press(emulator, chat, again, "✅ Save")
    assert answer["text"] == "Saved."


async def test_next_steps_type_is_chosen_from_a_list(service, emulator, make_staff):
    """One tap from a list, not cycling through every type (M-3)."""
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "called Petrov, meet on Friday at 15:00")

    def current():
        return next(m for m in emulator.history(chat)
                    if m["message_id"] == proposal["message_id"])

    qid = await emulator.press_button(chat, chat, proposal["message_id"],
                                      buttons(proposal)["🔖 Next step's type"])
    await emulator.wait_for_callback_answer(qid)
    await settled(service, emulator)
    labels = buttons(current())
    assert len(labels) >= 5 and "↩️ Back" in labels  # the types, one tap each
    task = next(label for label in labels if "Task" in label)
    qid = await emulator.press_button(chat, chat, proposal["message_id"], labels[task])
    await emulator.wait_for_callback_answer(qid)
    await settled(service, emulator)
    assert "Task" in current()["text"].split("Next:")[1]
    answer, _ = await press(emulator, chat, current(), "✅ Save")
    await settled(service, emulator)
    follow = await Activity.get(state=ActivityState.PLANNED).prefetch_related("type")
    assert follow.type.code == "task"


async def test_text_on_a_confirm_screen_and_files_in_a_dialog_are_answered(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    kind = await say(emulator, chat, "/newclient")
    answer, _ = await press(emulator, chat, kind, "Company")
    await say(emulator, chat, "Vasilek LLC")
    phone = emulator.bot_messages(chat)[-1]
    await press(emulator, chat, phone, "Skip")
    email = emulator.bot_messages(chat)[-1]
    await press(emulator, chat, email, "Skip")
    await settled(service, emulator)
    confirm = emulator.bot_messages(chat)[-1]
    if "✅ Save" not in buttons(confirm):  # the INN step, for a company
        await press(emulator, chat, confirm, "Skip")
        confirm = emulator.bot_messages(chat)[-1]
    assert "✅ Save" in buttons(confirm)
    reply = await say(emulator, chat, "hello?")
    assert "✅ Save" in reply["text"] and "/cancel" in reply["text"]
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.send_document(chat, "price.pdf", b"%PDF-1.4")
    reply = await emulator.wait_for_bot_message(chat, after_message_id=before + 1)
    assert "/cancel" in reply["text"]
    # the draft is still there: Save saves it
    answer, _ = await press(emulator, chat, confirm, "✅ Save")
    assert await Client.filter(name="Vasilek LLC").exists()


async def test_an_old_dialogs_buttons_say_they_are_out_of_date(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    chat = ivan.telegram_id
    kind = await say(emulator, chat, "➕ Новый клиент")
    await say(emulator, chat, "📅 Сегодня")  # leaves the dialog
    answer, _ = await press(emulator, chat, kind, "Компания")
    assert answer["show_alert"] and "устарела" in answer["text"]
    current = next(m for m in emulator.history(chat) if m["message_id"] == kind["message_id"])
    assert not buttons(current)  # no live-looking buttons left


async def test_anything_outside_a_dialog_gets_an_answer(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="uk", timezone="Europe/Kyiv")
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/nosuchcommand")
    assert "/help" in reply["text"]


async def test_help_and_the_welcome_teach_the_first_steps(service, emulator, new_tg_user):
    """Issue 17: typing a log, /today, /task, the Mini App — in the person's language."""
    from services import staff as staff_svc

    code = (await staff_svc.do_create_invite(None, role=Role.MANAGER)).code
    tid = new_tg_user(language="ru", name="Иван Петров")
    welcome = await say(emulator, tid, f"/start {code}")
    for words in ("Первые шаги", "напишите одним сообщением", "/today", "/task",
                  "Открыть приложение"):
        assert words in welcome["text"], words
    reply = await say(emulator, tid, "/help")
    assert "Первые шаги" in reply["text"] and "/clients" in reply["text"]


async def test_a_next_step_titled_as_its_type_is_said_once(service, emulator, make_staff):
    """On a fresh install too (the types are seeded when first needed): the done step's
    type is named, and a next step titled like its type is not "📞 Звонок Звонок"."""
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    proposal = await say(emulator, ivan.telegram_id,
                         "звонил в Васильки, обсудили цены, перезвонить в пятницу")
    assert "Звонок Звонок" not in proposal["text"]
    assert "Далее: 📞 Звонок —" in proposal["text"]
    assert "Сделано: 📞 Звонок —" in proposal["text"]
