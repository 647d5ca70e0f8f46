"""Task discussions (K-2) through the Bot API emulator: /setup with missing rights, the
first and repeated "Discuss", two presses at once, topic messages as comments (text,
photo, location, an edit, a stranger kept), a web comment posted into the topic, the
topic renamed, closed and reopened, an assignee outside the group invited, a topic
deleted in Telegram made anew, and relay mode (a reply in private is a comment)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import ActivityComment, Department, Discussion, Role, TeamGroup
from notifications import discussions as topics
from services import activities as svc
from services.clock import utcnow
from tests.conftest import say, settled


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def _group(emulator, service, admin, members, **rights):
    group = emulator.create_group("Sales team", forum=True,
                                  member_ids=[admin.telegram_id, *members],
                                  bot_rights=rights or None)
    await settled(service, emulator)
    return group["id"]


async def test_setup_names_missing_rights_then_is_ready(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    chat = await _group(emulator, service, admin, [], can_manage_topics=False,
                        can_pin_messages=False)
    before = max((m["message_id"] for m in emulator.history(chat)), default=0)
    await emulator.send_message(admin.telegram_id, "/setup", chat_id=chat)
    reply = await emulator.wait_for_bot_message(chat, after_message_id=before)
    assert "Manage topics" in reply["text"] and "Pin messages" in reply["text"]
    assert "Invite" not in reply["text"]
    group = await TeamGroup.get(chat_id=chat)
    assert group.missing_rights == ["can_manage_topics", "can_pin_messages"]
    manager = await make_staff(Role.MANAGER, language="en")
    emulator.add_chat_member(chat, manager.telegram_id)
    await emulator.send_message(manager.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    assert (await TeamGroup.get(chat_id=chat)).set_up_by_id == admin.id  # refused


async def test_discuss_makes_one_topic_and_messages_become_comments(service, emulator,
                                                                    make_staff):
    dept = await Department.create(name="Sales")
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept, name="Ivan Field")
    outsider = await make_staff(Role.MANAGER, language="en", department=dept,
                                name="Olga Newcomer")
    await say(emulator, outsider.telegram_id, "/menu")
    chat = await _group(emulator, service, admin, [ivan.telegram_id])
    await emulator.send_message(admin.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    a = (await svc.do_create_activity(ivan, {
        "title": "Tender for Romashka " + "x" * 150, "starts_at": utcnow() + timedelta(days=1),
        "assignees": [ivan.id, outsider.id]})).activity
    # two presses at once: one topic
    first, second = await asyncio.gather(
        topics.open_topic(service.bot, service.i18n, ivan, a.id),
        topics.open_topic(service.bot, service.i18n, ivan, a.id))
    assert first.link == second.link and first.link.startswith("https://t.me/c/")
    assert [first.new, second.new].count(True) == 1
    [topic] = emulator.topics(chat)
    assert len(topic["name"]) <= 128 and topic["name"].startswith("Tender for Romashka")
    thread = topic["message_thread_id"]
    card = [m for m in emulator.history(chat, thread) if "Tender" in m.get("text", "")][0]
    assert "Ivan Field" in card["text"] and "ac:done:" in str(buttons(card))  # company language
    # the assignee outside the group got a single-use invite in private
    invite = await emulator.wait_for_bot_message(
        outsider.telegram_id, predicate=lambda m: "Join the discussion" in m.get("text", ""))
    assert "t.me/" in invite["text"]
    # the "Discuss" button of the card in the bot: the same topic
    reply = await say(emulator, ivan.telegram_id, "/today")
    await emulator.press_button(ivan.telegram_id, ivan.telegram_id, reply["message_id"],
                                f"ac:discuss:{a.id}:", strict=False)
    link_msg = await emulator.wait_for_bot_message(
        ivan.telegram_id, predicate=lambda m: "Open the topic" in buttons(m))
    assert buttons(link_msg)["Open the topic"] == first.link
    # messages in the topic: text, photo, location, an edit; a stranger is kept by name
    text = await emulator.send_message(ivan.telegram_id, "They want a discount",
                                       chat_id=chat, message_thread_id=thread)
    await emulator.send_photo(ivan.telegram_id, b"\xff\xd8photo", caption="the act",
                              chat_id=chat, message_thread_id=thread)
    await emulator.send_location(ivan.telegram_id, 55.75, 37.61, chat_id=chat,
                                 message_thread_id=thread)
    stranger = 777000001
    emulator.add_user(stranger, "Client", "Guest")
    emulator.add_chat_member(chat, stranger)
    await emulator.send_message(stranger, "Hello from the client side", chat_id=chat,
                                message_thread_id=thread)
    await settled(service, emulator)
    await emulator.edit_message(ivan.telegram_id, chat, text["message_id"],
                                "They want a 10% discount")
    await settled(service, emulator)
    # updates are handled concurrently: the order of the messages is Telegram's
    comments = await ActivityComment.filter(activity_id=a.id).order_by("telegram_message_id")
    assert [(c.author_id, c.author_name, c.kind, c.text) for c in comments] == [
        (ivan.id, "Ivan Field", "text", "They want a 10% discount"),
        (ivan.id, "Ivan Field", "photo", "the act"),
        (ivan.id, "Ivan Field", "location", "📍 55.75000, 37.61000"),
        (None, "Client Guest", "text", "Hello from the client side")]
    assert comments[1].file_id
    assert comments[0].edited_at is not None


async def test_web_comment_changes_close_and_reopen_follow_the_topic(service, emulator,
                                                                      make_staff):
    from tests.test_web import signed_in

    admin = await make_staff(Role.ADMIN, language="en", name="Anna Admin")
    chat = await _group(emulator, service, admin, [])
    await emulator.send_message(admin.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    a = (await svc.do_create_activity(admin, {"title": "Prepare the offer",
                                              "starts_at": utcnow() + timedelta(hours=5)})
         ).activity
    opened = await topics.open_topic(service.bot, service.i18n, admin, a.id)
    thread = int(opened.link.rsplit("/", 1)[1])
    await signed_in(service, emulator, admin)
    c = service.client
    resp = await c.post(f"/api/v1/activities/{a.id}/comments", json={"text": "Draft is ready"})
    assert resp.status == 201
    assert any("Draft is ready" in m.get("text", "") and "Anna Admin" in m.get("text", "")
               for m in emulator.history(chat, thread))
    await c.patch(f"/api/v1/activities/{a.id}", json={"title": "Prepare the final offer"})
    assert emulator.topics(chat)[0]["name"] == "Prepare the final offer"
    await c.post(f"/api/v1/activities/{a.id}/complete", json={"result": "sent"})
    assert emulator.topics(chat)[0]["is_closed"]
    assert any(m.get("text", "").startswith("✅ Anna Admin") for m in emulator.history(
        chat, thread))  # announced (in the company's language)
    await c.post(f"/api/v1/activities/{a.id}/state", json={"state": "planned"})
    assert not emulator.topics(chat)[0]["is_closed"]
    # a new assignee who is not in the group is invited to the conversation
    newcomer = await make_staff(Role.MANAGER, language="en")
    await say(emulator, newcomer.telegram_id, "/menu")
    resp = await c.patch(f"/api/v1/activities/{a.id}", json={
        "assignees": [admin.id, newcomer.id]})
    assert resp.status == 200, await resp.text()
    await emulator.wait_for_bot_message(
        newcomer.telegram_id, predicate=lambda m: "Join the discussion" in m.get("text", ""))
    # a topic deleted in Telegram: the next press makes a new one and says so
    await service.bot.delete_forum_topic(chat, thread)
    again = await topics.open_topic(service.bot, service.i18n, admin, a.id)
    assert again.recreated and again.link != opened.link
    assert (await Discussion.get(activity_id=a.id)).thread_id != thread


async def test_relay_mode_reply_in_private_is_a_comment(service, emulator, make_staff):
    """Without a forum group: comments reach the participants in private; a reply to
    such a message is a comment of the same task."""
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept, name="Ivan Field")
    petr = await make_staff(Role.MANAGER, language="en", department=dept, name="Petr Team")
    await say(emulator, petr.telegram_id, "/menu")
    a = (await svc.do_create_activity(ivan, {"title": "Call the bank",
                                             "assignees": [ivan.id, petr.id]})).activity
    opened = await topics.open_topic(service.bot, service.i18n, ivan, a.id)
    assert opened.link is None  # no team group: relay mode
    _c, notices = await svc.do_comment(ivan, a.id, "Bank asks for the statement")
    from notifications.activities import deliver_activity_notices

    await deliver_activity_notices(service.bot, service.i18n, notices)
    relayed = await emulator.wait_for_bot_message(
        petr.telegram_id, predicate=lambda m: "Bank asks" in m.get("text", ""))
    before = max(m["message_id"] for m in emulator.history(petr.telegram_id))
    await emulator.send_message(petr.telegram_id, "I will send it today",
                                reply_to_message_id=relayed["message_id"])
    await emulator.wait_for_bot_message(petr.telegram_id, after_message_id=before + 1)
    await settled(service, emulator)
    texts = [(c.author_id, c.text) for c in await ActivityComment.filter(
        activity_id=a.id).order_by("id")]
    assert texts == [(ivan.id, "Bank asks for the statement"), (petr.id, "I will send it today")]


async def test_discuss_from_the_web_and_comments_on_the_client_timeline(service, emulator,
                                                                        make_staff):
    """K-2 from the web: the same topic as the bot's button; the discussion shows on the
    task's and the client's timelines."""
    from services import clients as client_svc
    from tests.test_web import signed_in

    admin = await make_staff(Role.ADMIN, language="en")
    chat = await _group(emulator, service, admin, [])
    await emulator.send_message(admin.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    client = (await client_svc.do_create_client(admin, {"name": "Lutik"})).client
    a = (await svc.do_create_activity(admin, {"title": "Offer", "client_id": client.id})
         ).activity
    await signed_in(service, emulator, admin)
    c = service.client
    first = await (await c.post(f"/api/v1/activities/{a.id}/discussion")).json()
    second = await (await c.post(f"/api/v1/activities/{a.id}/discussion")).json()
    assert first["new"] and not second["new"] and first["link"] == second["link"]
    thread = int(first["link"].rsplit("/", 1)[1])
    await emulator.send_message(admin.telegram_id, "Sent by courier", chat_id=chat,
                                message_thread_id=thread)
    await settled(service, emulator)
    detail = await (await c.get(f"/api/v1/activities/{a.id}")).json()
    assert [x["text"] for x in detail["comments"]] == ["Sent by courier"]
    history = await (await c.get(f"/api/v1/clients/{client.id}/history")).json()
    assert any("Sent by courier" in (h["new_value"] or "") for h in history["items"])


async def test_strangers_in_a_topic_reach_no_command_and_groups_are_not_taken_over(
        service, emulator, make_staff):
    """A stranger's /start in a task topic is kept as a comment, nothing answers it;
    a head of another department may not re-register a team's group."""
    sales = await Department.create(name="Sales")
    other = await Department.create(name="Other")
    head = await make_staff(Role.HEAD, language="en", department=sales)
    rival = await make_staff(Role.HEAD, language="en", department=other)
    chat = await _group(emulator, service, head, [rival.telegram_id])
    await emulator.send_message(head.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    await emulator.send_message(rival.telegram_id, "/setup", chat_id=chat)
    await settled(service, emulator)
    assert (await TeamGroup.get(chat_id=chat)).department_id == sales.id
    a = (await svc.do_create_activity(head, {"title": "Price list"})).activity
    opened = await topics.open_topic(service.bot, service.i18n, head, a.id)
    thread = int(opened.link.rsplit("/", 1)[1])
    stranger = 777000002
    emulator.add_user(stranger, "Guest", None)
    emulator.add_chat_member(chat, stranger)
    before = len(emulator.bot_messages(chat))
    for text in ("/start", "/staff", "hello there"):
        await emulator.send_message(stranger, text, chat_id=chat, message_thread_id=thread)
    await settled(service, emulator)
    assert len(emulator.bot_messages(chat)) == before  # no answer, no apology
    assert [c.text for c in await ActivityComment.filter(activity_id=a.id).order_by(
        "telegram_message_id")] == ["/start", "/staff", "hello there"]
