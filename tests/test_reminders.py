"""Reminders (K-15, M-15) delivered to the Bot API emulator: at their time with
buttons, snoozed, sent after a restart marked late, claimed once by two
dispatchers on one database, 429 and 403 handled without losing them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from models import Reminder, ReminderState, Role
from notifications.reminders import ReminderDispatcher
from services import activities as svc
from services.clock import utcnow
from tests.conftest import say, wait_until


def reminder_messages(emulator, chat: int) -> list[dict]:
    return [m for m in emulator.bot_messages(chat) if m.get("text", "").startswith("⏰")]


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def started_staff(make_staff, emulator, **kw):
    person = await make_staff(Role.MANAGER, **kw)
    await say(emulator, person.telegram_id, "/menu")  # the person has opened the bot
    return person


async def test_reminder_arrives_on_time_with_buttons_and_snoozes(service, emulator,
                                                                 make_staff):
    ivan = await started_staff(make_staff, emulator, language="en")
    start = utcnow() + timedelta(seconds=2)
    created = await svc.do_create_activity(ivan, {
        "title": "Call Romashka", "type": "call", "starts_at": start, "reminders": [0]})
    service.reminders.poke()
    msg = await emulator.wait_for_bot_message(
        ivan.telegram_id, predicate=lambda m: m.get("text", "").startswith("⏰"), timeout=10)
    arrived = utcnow()
    assert "Call Romashka" in msg["text"] and "late" not in msg["text"]
    assert start - timedelta(seconds=1) <= arrived <= start + timedelta(seconds=4)
    labels = buttons(msg)
    assert {"✅ Done", "📅 Reschedule", "💤 15 min", "💤 1 h", "💤 Tomorrow"} <= set(labels)
    async def sent_row():  # marked sent just after Telegram answered
        row = await Reminder.get(activity_id=created.activity.id, snoozed=False)
        return row if row.state == ReminderState.SENT else None

    row = await wait_until(sent_row)
    assert not row.late
    # snooze 15 min: a new reminder row, due in 15 minutes
    await emulator.press_button(ivan.telegram_id, ivan.telegram_id, msg["message_id"],
                                labels["💤 15 min"])
    async def snoozed_row():
        return await Reminder.get_or_none(activity_id=created.activity.id, snoozed=True)

    snoozed = await wait_until(snoozed_row)
    assert timedelta(minutes=14) < snoozed.due_at - utcnow() <= timedelta(minutes=15)


async def test_due_while_down_is_sent_at_start_marked_late(settings_factory, emulator,
                                                           make_staff):
    from kontakt.runtime import build_runtime, start, stop

    ivan = await make_staff(Role.MANAGER, language="en")
    emulator.add_user(ivan.telegram_id, "Ivan", started=True)
    a = (await svc.do_create_activity(ivan, {"title": "Missed while down",
                                             "starts_at": utcnow() + timedelta(hours=1),
                                             "reminders": [10]})).activity
    # the service was down when it came due, 20 minutes ago
    await Reminder.filter(activity_id=a.id).update(
        due_at=utcnow() - timedelta(minutes=20), next_attempt_at=utcnow() - timedelta(
            minutes=20))
    rt = await build_runtime(settings_factory())
    await start(rt, serve_http=False)
    try:
        msg = await emulator.wait_for_bot_message(
            ivan.telegram_id, predicate=lambda m: "Missed while down" in m.get("text", ""),
            timeout=10)
        assert "late" in msg["text"]

        async def sent_row():
            row = await Reminder.get(activity_id=a.id)
            return row if row.state == ReminderState.SENT else None

        assert (await wait_until(sent_row)).late
    finally:
        await stop(rt)


async def test_two_dispatchers_claim_each_reminder_once(service, emulator, make_staff):
    """Two replicas on one database (PostgreSQL in CI): every reminder sent once."""
    people = [await started_staff(make_staff, emulator) for _ in range(3)]
    await service.reminders.stop()  # only the two below deliver
    due = utcnow() - timedelta(seconds=1)
    for i in range(40):
        a = (await svc.do_create_activity(people[i % 3], {
            "title": f"Task {i}", "starts_at": utcnow() + timedelta(hours=1),
            "reminders": [5]})).activity
        await Reminder.filter(activity_id=a.id).update(due_at=due, next_attempt_at=due)
    one = ReminderDispatcher(service.bot, service.i18n, replica="a", batch=7)
    two = ReminderDispatcher(service.bot, service.i18n, replica="b", batch=7)

    async def drain(d):
        for _round in range(100):
            if not await d.run_once():
                return

    await asyncio.gather(drain(one), drain(two), drain(one), drain(two))
    assert one.sent + two.sent == 40
    sent = [m["text"].splitlines()[0] for p in people
            for m in reminder_messages(emulator, p.telegram_id)]
    assert len(sent) == 40 and len(set(sent)) == 40
    assert await Reminder.filter(state=ReminderState.SENT).count() == 40


async def test_flood_limit_and_blocked_bot_lose_nothing(service, emulator, make_staff):
    ivan = await started_staff(make_staff, emulator)
    olga = await started_staff(make_staff, emulator)
    await service.reminders.stop()
    now = utcnow()
    ids = {}
    for person in (ivan, olga):
        a = (await svc.do_create_activity(person, {
            "title": f"For {person.full_name}", "starts_at": now + timedelta(hours=1),
            "reminders": [5]})).activity
        await Reminder.filter(activity_id=a.id).update(due_at=now, next_attempt_at=now)
        ids[person.id] = a.id
    emulator.block_bot(olga.telegram_id)
    emulator.inject_fault("sendMessage", error_code=429,
                          description="Too Many Requests: retry after 1", retry_after=1)
    d = ReminderDispatcher(service.bot, service.i18n, concurrency=1)
    await d.run_once()
    flooded = await Reminder.get(activity_id=ids[ivan.id])
    blocked = await Reminder.get(activity_id=ids[olga.id])
    # one of them met the flood limit, the other the block; neither is lost
    assert blocked.state == ReminderState.PENDING and "blocked" in blocked.last_error
    assert blocked.next_attempt_at > utcnow() + timedelta(minutes=50)
    if flooded.state == ReminderState.PENDING:
        assert "retry after" in flooded.last_error
        await asyncio.sleep(2.1)
        await d.run_once()
    flooded = await Reminder.get(activity_id=ids[ivan.id])
    assert flooded.state == ReminderState.SENT
    assert len(reminder_messages(emulator, ivan.telegram_id)) == 1
    # unblocked an hour later: delivered then, once
    emulator.block_bot(olga.telegram_id, False)
    await Reminder.filter(id=blocked.id).update(next_attempt_at=utcnow())
    await d.run_once()
    assert (await Reminder.get(id=blocked.id)).state == ReminderState.SENT
    assert len(reminder_messages(emulator, olga.telegram_id)) == 1


async def test_a_done_activity_reminds_nobody(service, emulator, make_staff):
    ivan = await started_staff(make_staff, emulator)
    a = (await svc.do_create_activity(ivan, {"title": "Done early",
                                             "starts_at": utcnow() + timedelta(hours=1),
                                             "reminders": [5, 30]})).activity
    await svc.do_complete(ivan, a.id, "ok")
    assert not await Reminder.filter(activity_id=a.id, state=ReminderState.PENDING).exists()


async def test_a_row_claimed_again_elsewhere_is_not_sent_twice(service, emulator,
                                                               make_staff):
    """A batch that outlived its lease: the row was claimed by another replica, so
    this one skips it at the moment of sending."""
    from models import Activity, User

    ivan = await started_staff(make_staff, emulator)
    await service.reminders.stop()
    a = (await svc.do_create_activity(ivan, {"title": "Slow batch",
                                             "starts_at": utcnow() + timedelta(hours=1),
                                             "reminders": [5]})).activity
    await Reminder.filter(activity_id=a.id).update(due_at=utcnow(), next_attempt_at=utcnow())
    d = ReminderDispatcher(service.bot, service.i18n, replica="slow")
    [row] = await d.claim()
    # the batch was slow: our lease ran out and the other replica claimed the row
    row.claimed_until = utcnow() - timedelta(seconds=1)
    await Reminder.filter(id=row.id).update(claimed_by="fast:1")
    activity = await Activity.get(id=a.id).prefetch_related("type")
    await d._deliver(row, activity, await User.get(id=ivan.id), {})
    assert reminder_messages(emulator, ivan.telegram_id) == [] and d.sent == 0
