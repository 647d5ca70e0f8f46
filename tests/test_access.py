"""Only registered staff get anything (S-24): strangers and dismissed staff are
refused once per update, in their language, with no data."""

from __future__ import annotations

import pytest

from models import Department, Role, User
from services import staff as staff_service
from services.errors import PermissionDenied
from services.permissions import Action, can
from tests.conftest import say, settled, wait_until

REFUSAL_RU = "только для сотрудников"
REFUSAL_EN = "only for the staff"


def bot_texts(emulator, chat_id):
    return [m.get("text", "") for m in emulator.bot_messages(chat_id)]


@pytest.mark.parametrize("text", ["hello", "/start", "/staff", "/menu", "/start inv_bogus"])
async def test_stranger_messages_and_commands_refused(service, emulator, new_tg_user, text,
                                                      make_staff):
    await make_staff(Role.ADMIN, name="Secret Admin Name")
    tid = new_tg_user(language="ru")
    reply = await say(emulator, tid, text)
    if text == "/start inv_bogus":
        assert "недействительна" in reply["text"] or "not valid" in reply["text"]
    else:
        assert REFUSAL_RU in reply["text"]
    await settled(service, emulator)
    texts = bot_texts(emulator, tid)
    assert len(texts) == 1  # one refusal, nothing else
    assert "Secret Admin Name" not in texts[0]
    assert "reply_markup" not in emulator.bot_messages(tid)[0]


async def test_stranger_button_press_refused_with_alert(service, emulator, new_tg_user,
                                                        make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    msg = await say(emulator, admin.telegram_id, "/staff")
    data = msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    tid = new_tg_user(language="en")
    qid = await emulator.press_button(tid, admin.telegram_id, msg["message_id"], data)
    await wait_until(lambda: qid in emulator.callback_answers)
    answer = emulator.callback_answers[qid]
    assert REFUSAL_EN in answer["text"] and answer.get("show_alert") in (True, "true")
    assert not [c for c in emulator.calls if c[0] == "editMessageText"]


async def test_stranger_inline_query_gets_no_results(service, emulator, new_tg_user,
                                                     make_staff):
    await make_staff(Role.ADMIN)
    tid = new_tg_user()
    qid = await emulator.inline_query(tid, "Person")
    await wait_until(lambda: qid in emulator.inline_answers)
    answer = emulator.inline_answers[qid]
    assert answer["results"] in ([], "[]")
    button = answer["button"] if isinstance(answer["button"], dict) else __import__(
        "json").loads(answer["button"])
    assert "только для сотрудников" in button["text"].lower()


async def test_strangers_in_a_group_are_ignored(service, emulator, new_tg_user, make_staff):
    admin = await make_staff(Role.ADMIN)
    tid = new_tg_user()
    group = emulator.create_group("Team", forum=False, member_ids=[admin.telegram_id, tid])
    await emulator.send_message(tid, "/staff", chat_id=group["id"])
    await settled(service, emulator)
    assert emulator.bot_messages(group["id"]) == []


async def test_dismissed_staff_cut_off_at_once(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    person = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, person.telegram_id, "/staff")
    assert "Hello" not in reply["text"] and reply["reply_markup"]["inline_keyboard"]
    await staff_service.do_dismiss(admin, person.id)
    reply = await say(emulator, person.telegram_id, "/menu")
    assert REFUSAL_EN in reply["text"]
    # the buttons they still have do nothing but say so
    data = reply_markup_first_button(emulator, person.telegram_id)
    qid = await emulator.press_button(person.telegram_id, person.telegram_id,
                                      data[0], data[1])
    await wait_until(lambda: qid in emulator.callback_answers)
    assert REFUSAL_EN in emulator.callback_answers[qid]["text"]
    qid = await emulator.inline_query(person.telegram_id, "a")
    await wait_until(lambda: qid in emulator.inline_answers)
    assert emulator.inline_answers[qid]["results"] in ([], "[]")


def reply_markup_first_button(emulator, chat_id):
    msg = next(m for m in emulator.bot_messages(chat_id) if m.get("reply_markup"))
    return msg["message_id"], msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]


async def test_bots_and_anonymous_admins_are_ignored(service, emulator, make_staff):
    """Updates sent as a bot (GroupAnonymousBot, channels) are not staff."""
    admin = await make_staff(Role.ADMIN)
    group = emulator.create_group("Team", forum=False, member_ids=[admin.telegram_id])
    emulator.add_user(1087968824, "Group", username="GroupAnonymousBot", language_code=None,
                      is_bot=True)
    emulator.add_chat_member(group["id"], 1087968824)
    await emulator.send_message(1087968824, "/help", chat_id=group["id"])
    await settled(service, emulator)
    assert emulator.bot_messages(group["id"]) == []


async def test_staff_search_folds_case_in_any_script(database_url):
    me = await User.create(full_name="Me", telegram_id=1)
    await User.create(full_name="Анна Ёлкина", telegram_id=2, phone="+79161234567")
    await User.create(full_name="Oleh Kovalenko", telegram_id=3, email="OLEH@example.com")
    assert [u.full_name for u in await staff_service.search_staff(me, "анна")] == [
        "Анна Ёлкина"]
    assert [u.full_name for u in await staff_service.search_staff(me, "ЕЛКИНА")] == [
        "Анна Ёлкина"]
    assert [u.full_name for u in await staff_service.search_staff(me, "oleh@EXAMPLE")] == [
        "Oleh Kovalenko"]
    assert [u.full_name for u in await staff_service.search_staff(me, "1234567")] == [
        "Анна Ёлкина"]


async def test_admin_changes_role_and_dismisses_in_the_bot(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Ada Admin")
    person = await make_staff(Role.MANAGER, name="Bob Builder")
    chat = admin.telegram_id
    msg = await say(emulator, chat, "/staff")
    rows = msg["reply_markup"]["inline_keyboard"]
    bob = next(b for row in rows for b in row if b["text"] == "Bob Builder")
    await emulator.press_button(chat, chat, msg["message_id"], bob["callback_data"])
    await emulator.wait_for_call("editMessageText", predicate=lambda p: "Bob" in p["text"])

    def has(label):
        current = next(m for m in emulator.history(chat) if m["message_id"] == msg["message_id"])
        return next((b for row in current["reply_markup"]["inline_keyboard"] for b in row
                     if label in b["text"]), None)

    def button(label):
        found = has(label)
        assert found is not None, label
        return found

    await emulator.press_button(chat, chat, msg["message_id"], button("Role")["callback_data"])
    await emulator.wait_for_call("editMessageText", predicate=lambda p: "New role" in p["text"])
    await emulator.press_button(chat, chat, msg["message_id"],
                                button("head of department")["callback_data"])
    await wait_until(lambda: _role_is(person.id, Role.HEAD))
    # the role is saved before the card is drawn again: wait for the card, not the row
    await wait_until(lambda: has("Dismiss") is not None)
    await emulator.press_button(chat, chat, msg["message_id"], button("Dismiss")["callback_data"])
    await emulator.wait_for_call("editMessageText", predicate=lambda p: "Dismiss Bob" in p["text"])
    await emulator.press_button(chat, chat, msg["message_id"],
                                button("Yes, dismiss")["callback_data"])
    await wait_until(lambda: _is_dismissed(person.id))


async def _role_is(user_id, role):
    return (await User.get(id=user_id)).role == role


async def _is_dismissed(user_id):
    return not (await User.get(id=user_id)).is_active


async def test_manager_sees_no_admin_buttons(service, emulator, make_staff):
    manager = await make_staff(Role.MANAGER, language="en")
    other = await make_staff(Role.MANAGER, name="Carl Colleague")
    chat = manager.telegram_id
    msg = await say(emulator, chat, "/staff")
    rows = msg["reply_markup"]["inline_keyboard"]
    carl = next(b for row in rows for b in row if b["text"] == "Carl Colleague")
    await emulator.press_button(chat, chat, msg["message_id"], carl["callback_data"])
    params = await emulator.wait_for_call("editMessageText",
                                          predicate=lambda p: "Carl" in p["text"])
    assert "Dismiss" not in str(params.get("reply_markup"))
    assert "Role" not in str(params.get("reply_markup"))
    with pytest.raises(PermissionDenied):
        await staff_service.do_dismiss(manager, other.id)


async def test_permission_rules(database_url):
    root = await Department.create(name="HQ")
    sub = await Department.create(name="Sales", parent=root)
    other = await Department.create(name="Other")
    admin = await User.create(full_name="A", telegram_id=1, role=Role.ADMIN)
    head = await User.create(full_name="H", telegram_id=2, role=Role.HEAD, department=root)
    mgr = await User.create(full_name="M", telegram_id=3, role=Role.MANAGER, department=sub)
    mgr2 = await User.create(full_name="M2", telegram_id=4, role=Role.MANAGER, department=other)
    assert await can(admin, Action.DISMISS, mgr)
    assert not await can(admin, Action.DISMISS, admin)
    assert not await can(admin, Action.CHANGE_ROLE, admin)
    assert await can(head, Action.INVITE, (Role.MANAGER, sub.id))
    assert not await can(head, Action.INVITE, (Role.ADMIN, sub.id))
    assert not await can(head, Action.INVITE, (Role.MANAGER, other.id))
    assert await can(head, Action.CHANGE_SUPERVISOR, mgr)
    assert not await can(head, Action.CHANGE_SUPERVISOR, mgr2)
    assert not await can(head, Action.DISMISS, mgr)
    assert not await can(mgr, Action.INVITE, (Role.MANAGER, sub.id))
    assert await can(mgr, Action.VIEW_STAFF)
    assert not await can(mgr, Action.VIEW_DISMISSED)
    assert not await can(None, Action.VIEW_STAFF)
    await staff_service.do_dismiss(admin, mgr2.id)
    mgr2 = await User.get(id=mgr2.id)
    assert not await can(mgr2, Action.VIEW_STAFF)
    assert not await can(mgr, Action.VIEW_STAFF, mgr2)
    assert await can(admin, Action.VIEW_STAFF, mgr2)


async def test_supervisor_cycles_refused(database_url):
    from services.errors import ValidationFailed

    admin = await User.create(full_name="A", telegram_id=1, role=Role.ADMIN)
    a = await User.create(full_name="a", telegram_id=2)
    b = await User.create(full_name="b", telegram_id=3)
    await staff_service.do_change_supervisor(admin, b.id, a.id)
    with pytest.raises(ValidationFailed):
        await staff_service.do_change_supervisor(admin, a.id, b.id)
    with pytest.raises(ValidationFailed):
        await staff_service.do_change_supervisor(admin, a.id, a.id)


async def test_staff_cache_never_outlives_a_change(database_url):
    """The per-update staff lookup may be cached on SQLite; changes empty it at once."""
    from services.staff import STAFF_CACHE, get_active_by_telegram_id

    admin = await User.create(full_name="A", telegram_id=71, role=Role.ADMIN)
    person = await User.create(full_name="P", telegram_id=72, language="ru")
    assert (await get_active_by_telegram_id(72)).language == "ru"
    assert (await get_active_by_telegram_id(72)).language == "ru"  # from the cache on SQLite
    await staff_service.do_set_language(person, "en")
    assert (await get_active_by_telegram_id(72)).language == "en"
    await staff_service.do_dismiss(admin, person.id)
    assert await get_active_by_telegram_id(72) is None
    # a lookup that raced a change is not kept
    generation = STAFF_CACHE.generation
    STAFF_CACHE.clear()
    STAFF_CACHE.put(admin, generation)
    assert STAFF_CACHE.get(71) is None
    # a handler changing its copy does not change what others get
    mine = await get_active_by_telegram_id(71)
    mine.full_name = "changed without saving"
    assert (await get_active_by_telegram_id(71)).full_name == "A"


async def test_admin_sets_department_and_supervisor_with_paging(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Ada Admin")
    people = [await make_staff(Role.MANAGER, name=f"Worker {i:02d}") for i in range(12)]
    dept = await Department.create(name="Field")
    target, boss = people[0], people[11]
    chat = admin.telegram_id
    msg = await say(emulator, chat, "/staff")
    mid = msg["message_id"]

    def current():
        return next(m for m in emulator.history(chat) if m["message_id"] == mid)

    def button(label):
        return next(b for row in current()["reply_markup"]["inline_keyboard"] for b in row
                    if label in b["text"])

    async def press(label, expect):
        await emulator.press_button(chat, chat, mid, button(label)["callback_data"])
        await wait_until(lambda: expect in current().get("text", "")
                         + str(current().get("reply_markup")))

    await press(target.full_name, "Role: manager")
    await press("Department", "Department for")
    await press("Field", "Department changed")
    assert (await User.get(id=target.id)).department_id == dept.id
    await press("Supervisor", "Supervisor of")
    assert "Worker 11" not in str(current()["reply_markup"])  # on the second page
    await press("▶️", "Worker 11")
    await press("Worker 11", "Supervisor changed")
    assert (await User.get(id=target.id)).supervisor_id == boss.id
