"""Activities in the bot, through the Bot API emulator: the quick log (M-3) with its
confirm/change/cancel buttons, /today and /overdue with filters (S-19), the card's
actions (done with a result, reschedule, comment, verify: A-9, S-13, S-21),
/task, a shared location logs a visit, notices to assignees (S-18)."""

from __future__ import annotations

from datetime import timedelta

from models import Activity, ActivityComment, ActivityState, Department, Role
from services import activities as svc
from services import clients as client_svc
from services import contacts as contacts_svc
from services.clock import utcnow
from tests.conftest import say, settled


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def press(emulator, chat, msg, label, *, wait=True):
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, msg["message_id"], buttons(msg)[label])
    if wait:
        return await emulator.wait_for_bot_message(chat, after_message_id=before)
    return None


async def test_quick_log_in_russian_saves_both_on_one_tap(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    await contacts_svc.do_add_contact(ivan, client.id, {"first_name": "Иван",
                                                      "last_name": "Петров"})
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "звонил Петрову из Ромашки, договорились о встрече "
                                      "в пятницу в 15:00")
    assert "Ромашка" in reply["text"] and "Петров" in reply["text"]
    assert "15:00" in reply["text"] and "пт" in reply["text"]
    assert await Activity.all().count() == 0  # nothing saved until confirmed
    saved = await press(emulator, chat, reply, "✅ Сохранить")
    await settled(service, emulator)
    logged = await Activity.get(parent_id=None)
    follow = await Activity.get(parent_id=logged.id)
    assert (logged.state, logged.client_id) == (ActivityState.DONE, client.id)
    assert (await logged.type).code == "call"
    assert (await follow.type).code == "meeting" and follow.state == ActivityState.PLANNED
    assert follow.starts_at.astimezone(__import__("zoneinfo").ZoneInfo(
        "Europe/Moscow")).strftime("%a %H:%M") == "Fri 15:00"
    assert saved is not None


async def test_quick_log_of_a_plan_saves_only_the_plan(service, emulator, make_staff):
    """M-3: "Перезвонить Петрову по цене в пятницу" plans a call; nothing was done, so
    nothing done is logged, and the call keeps what was asked in its title. One tap
    says something was done too."""
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    await contacts_svc.do_add_contact(ivan, client.id, {"first_name": "Иван",
                                                      "last_name": "Петров"})
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "Перезвонить Петрову по цене в пятницу")
    assert "Только план" in reply["text"] and "Сделано" not in reply["text"]
    assert "Перезвонить Петрову по цене" in reply["text"]
    assert "🔖 Тип" not in buttons(reply)  # no done activity to give a type
    done = await press(emulator, chat, await _last(emulator, chat), "✅ Сохранить")
    assert "Запланировано" in done["text"]
    await settled(service, emulator)
    [plan] = await Activity.all()
    assert plan.state == ActivityState.PLANNED and plan.parent_id is None
    assert (await plan.type).code == "call" and plan.title == "Перезвонить Петрову по цене"
    assert plan.client_id == client.id
    # the same read the other way: something was done too, one tap
    reply = await say(emulator, chat, "Завтра в 9:30 созвон с Ромашкой")
    assert "Только план" in reply["text"]
    await press(emulator, chat, reply, "✅ Что-то уже сделано", wait=False)
    await settled(service, emulator)
    again = [m for m in emulator.history(chat) if m["message_id"] == reply["message_id"]][-1]
    assert "Сделано" in again["text"]  # the proposal changed in place
    await press(emulator, chat, again, "✅ Сохранить")
    await settled(service, emulator)
    assert await Activity.filter(state=ActivityState.DONE).count() == 1
    assert await Activity.all().count() == 3


async def _last(emulator, chat):
    return [m for m in emulator.history(chat) if m.get("reply_markup")][-1]


async def test_quick_log_with_two_clients_and_no_date(service, emulator, make_staff):
    olena = await make_staff(Role.MANAGER, language="uk", timezone="Europe/Kyiv")
    a = (await client_svc.do_create_client(olena, {"name": "Ромашка"})).client
    await client_svc.do_create_client(olena, {"name": "Ромашка-Юг"})
    chat = olena.telegram_id
    reply = await say(emulator, chat, "дзвонив у Ромашку, домовились передзвонити")
    labels = buttons(reply)
    assert "🏢 Ромашка" in labels and "🏢 Ромашка-Юг" in labels  # choose one
    # Save without a date is refused with a reason; the proposal stays
    await emulator.press_button(chat, chat, reply["message_id"], labels["✅ Зберегти"])
    await settled(service, emulator)
    assert await Activity.all().count() == 0
    picked = await press(emulator, chat, reply, "🏢 Ромашка", wait=False)
    await settled(service, emulator)
    assert picked is None
    asked = await press(emulator, chat, reply, "📅 Дата")
    assert asked["text"]
    bad = await say(emulator, chat, "колись потім")
    assert "⚠️" in bad["text"]  # not a date: said so, the proposal is kept
    again = await say(emulator, chat, "завтра о 10:00")
    assert "10:00" in again["text"]
    await press(emulator, chat, again, "✅ Зберегти")
    await settled(service, emulator)
    follow = await Activity.exclude(parent_id=None).get()
    assert follow.client_id == a.id and (await follow.type).code == "call"


async def test_quick_log_in_english_cancelled_saves_nothing(service, emulator, make_staff):
    ann = await make_staff(Role.MANAGER, language="en", timezone="Europe/Kyiv")
    await client_svc.do_create_client(ann, {"name": "Romashka"})
    chat = ann.telegram_id
    reply = await say(emulator, chat, "called Romashka, agreed to meet on Friday at 3pm")
    assert "Romashka" in reply["text"] and "15:00" in reply["text"]
    await press(emulator, chat, reply, "✖️ Cancel", wait=False)
    await settled(service, emulator)
    assert await Activity.all().count() == 0


async def test_today_card_done_with_result_and_head_verifies(service, emulator, make_staff):
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept)
    head = await make_staff(Role.HEAD, language="en", department=dept)
    await say(emulator, head.telegram_id, "/menu")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    now = utcnow()
    soon = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    day_end = svc.day_bounds(now, ivan.timezone)[1]
    if soon >= day_end:  # late in the evening: keep it today
        soon = now + timedelta(seconds=30)
    await svc.do_create_activity(ivan, {"title": "Send the offer", "client_id": client.id,
                                        "starts_at": soon, "type": "task"})
    await svc.do_create_activity(ivan, {"title": "Old promise", "type": "call",
                                        "starts_at": now - timedelta(days=2)})
    chat = ivan.telegram_id
    today = await say(emulator, chat, "/today")
    assert "Today: 1" in today["text"]
    labels = buttons(today)
    assert any("Send the offer" in t for t in labels)
    assert "⚠️ Overdue: 1" in labels
    # filters (S-19): by type
    calls = await say(emulator, chat, "/overdue call")
    assert any("Old promise" in t for t in buttons(calls))
    none = await say(emulator, chat, "/overdue meeting")
    assert "Overdue: 0" in none["text"]
    card = await press(emulator, chat, today, next(t for t in labels if "Send the offer" in t))
    assert "Send the offer" in card["text"] and "Lutik" in card["text"]
    asked = await press(emulator, chat, card, "✅ Done")
    assert "result" in asked["text"]
    await say(emulator, chat, "Sent, they will answer on Monday")
    await settled(service, emulator)
    task = await Activity.get(title="Send the offer")
    assert task.state == ActivityState.DONE and task.result.startswith("Sent")
    # the head opens the done task's card and verifies it (S-21); Ivan hears it (S-18)
    hchat = head.telegram_id
    before = max(m["message_id"] for m in emulator.history(hchat))
    await emulator.press_button(hchat, hchat, emulator.bot_messages(hchat)[-1]["message_id"],
                                f"ac:card:{task.id}:", strict=False)
    opened = await emulator.wait_for_bot_message(hchat, after_message_id=before)
    assert "Sent, they will answer on Monday" in opened["text"]
    await press(emulator, hchat, opened, "☑️ Verify", wait=False)
    await settled(service, emulator)
    assert (await Activity.get(id=task.id)).verified_by_id == head.id
    notice = await emulator.wait_for_bot_message(
        chat, predicate=lambda m: "verified" in m.get("text", ""), timeout=5)
    assert "Send the offer" in notice["text"] and "Open" in buttons(notice)


async def test_reschedule_comment_and_bad_date(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    a = (await svc.do_create_activity(ivan, {"title": "Встреча", "type": "meeting",
                                             "starts_at": utcnow() + timedelta(hours=5)})
         ).activity
    chat = ivan.telegram_id
    await emulator.send_message(chat, "/today")
    await settled(service, emulator)
    from aiogram.utils.i18n import I18n  # noqa: F401 - the card is reached by its button

    card_cb = f"ac:card:{a.id}:"
    before = max(m["message_id"] for m in emulator.history(chat))
    last = emulator.bot_messages(chat)[-1]
    await emulator.press_button(chat, chat, last["message_id"], card_cb, strict=False)
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    asked = await press(emulator, chat, card, "📅 Перенести")
    assert asked["text"]
    bad = await say(emulator, chat, "когда-нибудь")
    assert "⚠️" in bad["text"]
    moved = await say(emulator, chat, "послезавтра в 11:30")
    assert "11:30" in moved["text"]
    await settled(service, emulator)
    a = await Activity.get(id=a.id)
    assert a.state == ActivityState.RESCHEDULED
    history = await svc.history(ivan, a.id)
    assert [r.source for r in history if r.field == "starts_at"] == ["bot"]
    card = emulator.bot_messages(chat)[-1]
    await press(emulator, chat, card, "💬 Комментарий")
    await say(emulator, chat, "клиент просил перенести")
    await settled(service, emulator)
    assert [c.text for c in await ActivityComment.filter(activity_id=a.id)] == [
        "клиент просил перенести"]


async def test_task_dialog_and_location_visit(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    asked = await say(emulator, chat, "/task")
    assert "What is to be done" in asked["text"]
    when = await say(emulator, chat, "Prepare the contract")
    assert "When" in when["text"]
    bad = await say(emulator, chat, "whenever")
    assert "⚠️" in bad["text"]
    saved = await say(emulator, chat, "tomorrow 10:00")
    assert "saved" in saved["text"]
    await settled(service, emulator)
    task = await Activity.get(title="Prepare the contract")
    assert task.starts_at > utcnow()
    await emulator.send_location(chat, 55.75, 37.61)
    await settled(service, emulator)
    visit = await Activity.get(type__code="visit")
    assert (visit.latitude, visit.longitude, visit.state) == (55.75, 37.61,
                                                              ActivityState.DONE)


async def test_strangers_get_no_agenda(service, emulator, new_tg_user):
    tid = new_tg_user()
    reply = await say(emulator, tid, "/today")
    assert "Today" not in reply["text"] and "Сегодня" not in reply["text"]


async def test_client_card_shows_activities_and_applies_a_playbook(service, emulator,
                                                                   make_staff):
    """S-7 on the bot card (last and next activity), M-4 from the card."""
    from services import playbooks

    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await svc.do_create_activity(ivan, {"title": "Intro call", "type": "call",
                                        "client_id": client.id, "done": True,
                                        "starts_at": utcnow() - timedelta(days=1)})
    await svc.do_create_activity(ivan, {"title": "Demo", "type": "meeting",
                                        "client_id": client.id,
                                        "starts_at": utcnow() + timedelta(days=2)})
    await playbooks.do_create_playbook(admin, "Onboarding", [
        {"title": "Welcome call", "type": "call"},
        {"title": "Send the contract", "type": "email", "offset_days": 3}])
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/find lutik")
    card = await press(emulator, chat, reply, "Lutik")
    assert "Last:" in card["text"] and "Intro call" in card["text"]
    assert "Next:" in card["text"] and "Demo" in card["text"]
    acts = await press(emulator, chat, card, "📅 Activities")
    assert any("Demo" in t for t in buttons(acts)) and any("Intro" in t for t in buttons(acts))
    books = await press(emulator, chat, card, "🧭 Playbook")
    done = await press(emulator, chat, books, "🧭 Onboarding (2)")
    assert "Tasks created: 2" in done["text"]
    assert await Activity.filter(client_id=client.id, title="Send the contract").exists()


async def test_edit_every_field_with_buttons(service, emulator, make_staff):
    """Guided editing: priority, type, title, client, assignees, remind later."""
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept)
    petr = await make_staff(Role.MANAGER, language="en", department=dept, name="Petr Team")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    a = (await svc.do_create_activity(ivan, {"title": "Draft",
                                             "starts_at": utcnow() + timedelta(hours=3)})
         ).activity
    chat = ivan.telegram_id
    await say(emulator, chat, "/today")
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, emulator.bot_messages(chat)[-1]["message_id"],
                                f"ac:card:{a.id}:", strict=False)
    card = await emulator.wait_for_bot_message(chat, after_message_id=before)
    menu = await press(emulator, chat, card, "✏️ Edit")
    card = await press(emulator, chat, menu, "⚡ high")
    assert "priority: high" in card["text"]
    types = await press(emulator, chat, menu, "🔖 Type")
    card = await press(emulator, chat, types, "🤝 Meeting")
    assert "Meeting" in card["text"]
    await press(emulator, chat, menu, "Title")
    bad = await say(emulator, chat, "x" * 301)
    assert "⚠️" in bad["text"]  # named, the dialog waits for a better one
    card = await say(emulator, chat, "Contract talk")
    assert "Contract talk" in card["text"]
    await press(emulator, chat, menu, "🏢 Client")
    found = await say(emulator, chat, "lutik")
    card = await press(emulator, chat, found, "🏢 Lutik")
    assert "Lutik" in card["text"]
    people = await press(emulator, chat, menu, "👥 Assignees")
    card = await press(emulator, chat, people, "▫️ Petr Team")
    assert "Petr Team" in card["text"]
    await press(emulator, chat, card, "💤 1 h", wait=False)
    await settled(service, emulator)
    a = await Activity.get(id=a.id)
    assert (a.priority, a.title, a.client_id) == ("high", "Contract talk", client.id)
    assert sorted(await svc.assignee_ids(a.id)) == sorted([ivan.id, petr.id])
    from models import Reminder

    assert await Reminder.filter(activity_id=a.id, snoozed=True, user_id=ivan.id).exists()


async def test_file_sent_with_an_activity_open_is_attached_to_it(service, emulator,
                                                                 make_staff):
    """S-16: documents of an activity, from the bot and the web; access as the activity."""
    from models import Document
    from tests.test_web import signed_in

    ivan = await make_staff(Role.MANAGER, language="en")
    olga = await make_staff(Role.MANAGER, language="en")
    a = (await svc.do_create_activity(ivan, {"title": "Visit the warehouse",
                                             "starts_at": utcnow() + timedelta(hours=1)})
         ).activity
    chat = ivan.telegram_id
    await say(emulator, chat, "/today")
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, emulator.bot_messages(chat)[-1]["message_id"],
                                f"ac:card:{a.id}:", strict=False)
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    await emulator.send_photo(chat, b"\xff\xd8\xff photo of the act")
    await settled(service, emulator)
    doc = await Document.get(activity_id=a.id)
    assert doc.client_id is None and doc.mime_type == "image/jpeg"
    # the web: upload another, read it back; a colleague may not
    await signed_in(service, emulator, ivan)
    c = service.client
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", b"signed act", filename="act.pdf", content_type="application/pdf")
    resp = await c.post(f"/api/v1/activities/{a.id}/documents", data=form)
    assert resp.status == 201, await resp.text()
    detail = await (await c.get(f"/api/v1/activities/{a.id}")).json()
    assert sorted(d["name"] for d in detail["documents"])[0] == "act.pdf"
    doc_id = (await resp.json())["id"]
    assert await (await c.get(f"/api/v1/documents/{doc_id}")).read() == b"signed act"
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, olga)
    assert (await c.get(f"/api/v1/documents/{doc_id}")).status == 404


async def test_agenda_of_a_colleague_by_username(service, emulator, make_staff):
    """S-19/S-20: a head filters by assignee (@username); a manager may not."""
    dept = await Department.create(name="Sales")
    head = await make_staff(Role.HEAD, language="en", department=dept)
    ivan = await make_staff(Role.MANAGER, language="en", department=dept)
    petr = await make_staff(Role.MANAGER, language="en", department=dept)
    await svc.do_create_activity(ivan, {"title": "Ivan's overdue call",
                                        "starts_at": utcnow() - timedelta(hours=3)})
    reply = await say(emulator, head.telegram_id, f"/overdue @{ivan.telegram_username}")
    assert any("Ivan's overdue call" in t for t in buttons(reply))
    refused = await say(emulator, petr.telegram_id, f"/overdue @{ivan.telegram_username}")
    assert "right" in refused["text"] and not buttons(refused)
    nobody = await say(emulator, head.telegram_id, "/overdue @nobody_here")
    assert "not found" in nobody["text"]


async def test_tell_the_client_before_an_activity_from_its_card(service, emulator,
                                                                make_staff):
    """A-18 in the bot: ✏️ Edit → 🔔 Tell the client → a template → hours; the card
    shows the notice and, once queued, the message's delivery state; 🔕 Off clears it."""
    from services.messaging import do_save_template, send_client_notices

    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    template = await do_save_template(admin, {
        "name": "Meeting reminder", "channel": "email", "language": "en",
        "subject": "Meeting: {{ activity.title }}", "body": "See you {{ activity.starts_at }}"})
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    a = (await svc.do_create_activity(ivan, {"title": "Tasting", "type": "meeting",
                                             "client_id": client.id,
                                             "starts_at": utcnow() + timedelta(hours=2)})
         ).activity
    alone = (await svc.do_create_activity(ivan, {"title": "Alone",
                                                 "starts_at": utcnow() + timedelta(hours=2)})
             ).activity
    chat = ivan.telegram_id

    async def open_card(activity_id):
        await say(emulator, chat, "/today")
        before = max(m["message_id"] for m in emulator.history(chat))
        await emulator.press_button(chat, chat, emulator.bot_messages(chat)[-1]["message_id"],
                                    f"ac:card:{activity_id}:", strict=False)
        return await emulator.wait_for_bot_message(chat, after_message_id=before)

    menu = await press(emulator, chat, await open_card(alone.id), "✏️ Edit")
    assert "🔔 Tell the client" not in buttons(menu)  # no client, nobody to tell
    menu = await press(emulator, chat, await open_card(a.id), "✏️ Edit")
    which = await press(emulator, chat, menu, "🔔 Tell the client")
    hours = await press(emulator, chat, which, "✉️ Meeting reminder (en)")
    assert list(buttons(hours)) == ["1 h before", "3 h before", "24 h before", "🔕 Off"]
    card = await press(emulator, chat, hours, "3 h before")
    assert "The client is told 3 h before: ✉️ Meeting reminder" in card["text"]
    a = await Activity.get(id=a.id)
    assert (a.client_notice_hours, a.client_notice_template_id) == (3, template.id)
    assert await send_client_notices() == 1  # two hours to go: the time has come
    card = await open_card(a.id)
    assert "✉️ office@lutik.ru: queued" in card["text"]
    which = await press(emulator, chat, await press(emulator, chat, card, "✏️ Edit"),
                        "🔔 Tell the client")
    card = await press(emulator, chat, which, "🔕 Off")
    a = await Activity.get(id=a.id)
    assert (a.client_notice_hours, a.client_notice_template_id) == (None, None)
    assert "The client is told" not in card["text"]
