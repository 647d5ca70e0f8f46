"""Reminders (K-15, M-15) delivered to the Bot API emulator: at their time with
buttons, snoozed, sent after a restart marked late, claimed once by two
dispatchers on one database, 429 and 403 handled without losing them. Then, one
round at a time with the clock frozen: any other error retried with backoff (never
marked sent) until the tenth try fails it; blocked tried hourly for a day; a closed
activity or a person gone not reminded; a recurring activity's next occurrence
scheduled; the place, the client and lateness in the message; a slow send renewing
its lease ahead; stop() waiting for the send in flight; the pace and the limits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramNetworkError

from models import Activity, ActivityState, Reminder, ReminderState, Role, StaffStatus
from notifications import claimloop, reminders
from notifications.reminders import ReminderDispatcher
from services import activities as svc
from services.clock import utcnow
from tests.conftest import TEST_TOKEN, say, wait_until
from tests.test_claimloop import Clock


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


# --- delivery decisions, one round at a time (issue 21) --------------------------------
# The dispatcher on its own (no whole service): a real Bot against the emulator, the
# clock frozen where the reminders and the claiming read it.


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(utcnow().replace(microsecond=0))
    monkeypatch.setattr(claimloop, "utcnow", frozen)
    monkeypatch.setattr(reminders, "utcnow", frozen)
    return frozen


@pytest.fixture
async def bot(emulator):
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    real = Bot(token=TEST_TOKEN, session=AiohttpSession(
        api=TelegramAPIServer.from_base(emulator.base_url)),
        default=DefaultBotProperties(parse_mode="HTML"))
    yield real
    await real.session.close()


@pytest.fixture(scope="module")
def i18n():
    from kontakt.i18n import build_i18n

    return build_i18n()


class StandInBot:
    """In front of the real bot (or of nothing): raises the errors queued in ``errors``,
    holds each send at ``gate`` while one is set, counts the sends in flight."""

    def __init__(self, real=None) -> None:
        self.real = real
        self.errors: list[Exception] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.in_flight = self.most_in_flight = 0
        self.texts: list[str] = []

    async def __call__(self, method):
        """A method sent as ``bot(method)`` (the reminder loop's sendMessage)."""
        if self.errors:
            raise self.errors.pop(0)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.entered.set()
            if self.gate is not None:
                await self.gate.wait()
            self.texts.append(method.text)
            return await self.real(method) if self.real else None
        finally:
            self.in_flight -= 1


async def person(make_staff, emulator, **fields):
    """A manager who opened the bot (English, UTC: the texts and times are known)."""
    p = await make_staff(Role.MANAGER, language="en", timezone="UTC", **fields)
    emulator.add_user(p.telegram_id, "Person", username=f"u{p.telegram_id}", started=True)
    return p


async def due_reminder(who, clock, *, ago: timedelta = timedelta(0), attempts: int = 0,
                       **activity) -> Reminder:
    """A reminder of a new activity of ``who``, due ``ago`` before the frozen now."""
    data = {"title": "Call Romashka", "starts_at": clock.now + timedelta(hours=1),
            "reminders": [5], **activity}
    a = (await svc.do_create_activity(who, data)).activity
    due = clock.now - ago
    await Reminder.filter(activity_id=a.id).update(due_at=due, next_attempt_at=due,
                                                   attempts=attempts)
    return await Reminder.get(activity_id=a.id)


def texts(emulator, who) -> list[str]:
    return [m["text"] for m in reminder_messages(emulator, who.telegram_id)]


async def test_an_unexpected_bot_api_error_is_retried_not_marked_sent(
        database_url, emulator, make_staff, bot, i18n, clock):
    """Neither 429 nor 403: a 500 or a network error. The reminder is not lost as
    "sent": it waits with backoff (30 s, then doubling) and goes out when it can."""
    ivan = await person(make_staff, emulator)
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    first = await due_reminder(ivan, clock)
    emulator.inject_fault("sendMessage", error_code=500, description="Internal Server Error")
    assert await d.run_once() == 1
    row = await Reminder.get(id=first.id)
    assert (row.state, row.attempts) == (ReminderState.PENDING, 1)
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)
    assert "Internal Server Error" in row.last_error and row.sent_at is None
    assert texts(emulator, ivan) == [] and d.sent == 0
    # a network error on the fourth try: four minutes
    flaky = StandInBot(bot)
    flaky.errors.append(TelegramNetworkError(None, "Connection reset by peer"))
    d = ReminderDispatcher(flaky, i18n, max_per_second=None)
    await Reminder.filter(id=first.id).update(attempts=3, next_attempt_at=clock.now)
    assert await d.run_once() == 1
    row = await Reminder.get(id=first.id)
    assert (row.state, row.attempts) == (ReminderState.PENDING, 4)
    assert row.next_attempt_at == clock.now + timedelta(minutes=4)
    assert "Connection reset by peer" in row.last_error
    # not due yet: left alone; due: sent, once
    assert await d.run_once() == 0
    clock.advance(minutes=4)
    assert await d.run_once() == 1
    assert (await Reminder.get(id=first.id)).state == ReminderState.SENT
    assert len(texts(emulator, ivan)) == 1 and d.sent == 1


async def test_the_last_try_gives_up_with_the_reason(database_url, emulator, make_staff,
                                                     bot, i18n, clock):
    """At most 10 tries: the ninth failure waits once more (2^8 × 30 s), the tenth
    fails the reminder with the reason, cut to the column's 300 characters."""
    ivan = await person(make_staff, emulator)
    ninth = await due_reminder(ivan, clock, attempts=8, title="Ninth")
    tenth = await due_reminder(ivan, clock, attempts=9, title="Tenth")
    emulator.inject_fault("sendMessage", error_code=500, description="Bad Gateway " + "x" * 400,
                          times=2)
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    assert await d.run_once() == 2
    again = await Reminder.get(id=ninth.id)
    assert (again.state, again.attempts) == (ReminderState.PENDING, 9)
    assert again.next_attempt_at == clock.now + timedelta(seconds=30 * 2 ** 8)
    failed = await Reminder.get(id=tenth.id)
    assert failed.state == ReminderState.FAILED and failed.claimed_until is None
    for row in (again, failed):
        assert len(row.last_error) == 300 and row.last_error.startswith("TelegramServerError")
    clock.advance(days=1)  # a failed reminder is never tried again
    assert await d.run_once() == 1
    assert (await Reminder.get(id=tenth.id)).state == ReminderState.FAILED
    assert [t.splitlines()[0] for t in texts(emulator, ivan)] == ["⏰ ✅ Ninth"]


async def test_blocked_is_tried_hourly_for_a_day_then_failed(database_url, emulator,
                                                             make_staff, bot, i18n, clock):
    ivan = await person(make_staff, emulator)
    fresh = await due_reminder(ivan, clock, title="Fresh")
    day_old = await due_reminder(ivan, clock, attempts=23, title="Day old")
    given_up = await due_reminder(ivan, clock, attempts=24, title="Given up")
    emulator.block_bot(ivan.telegram_id)
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    assert await d.run_once() == 3
    for row_id, attempts in ((fresh.id, 1), (day_old.id, 24)):
        row = await Reminder.get(id=row_id)
        assert (row.state, row.attempts) == (ReminderState.PENDING, attempts)
        assert row.next_attempt_at == clock.now + timedelta(hours=1)
        assert "blocked" in row.last_error
    failed = await Reminder.get(id=given_up.id)
    assert failed.state == ReminderState.FAILED and "blocked" in failed.last_error
    # a chat that vanished (400) is the same: again in an hour
    olga = await person(make_staff, emulator)
    gone = await due_reminder(olga, clock, title="Vanished chat")
    emulator.inject_fault("sendMessage", error_code=400, description="Bad Request: chat not found")
    assert await d.run_once() == 1
    row = await Reminder.get(id=gone.id)
    assert (row.state, row.attempts) == (ReminderState.PENDING, 1)
    assert row.next_attempt_at == clock.now + timedelta(hours=1)
    assert "chat not found" in row.last_error and d.sent == 0


async def test_a_flood_limit_waits_as_told_and_is_not_a_try(database_url, emulator,
                                                            make_staff, bot, i18n, clock):
    ivan = await person(make_staff, emulator)
    first = await due_reminder(ivan, clock, attempts=2)
    emulator.inject_fault("sendMessage", error_code=429,
                          description="Too Many Requests: retry after 5", retry_after=5)
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    await d.run_once()
    row = await Reminder.get(id=first.id)
    assert (row.state, row.attempts) == (ReminderState.PENDING, 2)
    assert row.next_attempt_at == clock.now + timedelta(seconds=6)  # 5 s and a margin
    assert row.last_error == "flood limit: retry after 5 s"
    clock.advance(seconds=5)
    assert await d.run_once() == 0  # not before it is allowed
    clock.advance(seconds=1)
    assert await d.run_once() == 1 and len(texts(emulator, ivan)) == 1


async def test_a_closed_activity_or_a_person_gone_is_not_reminded(
        database_url, emulator, make_staff, bot, i18n, clock):
    """Closed or dismissed after the reminder was made (or while it was being sent):
    cancelled with the reason, nothing sent; a postponed activity is still open."""
    ivan = await person(make_staff, emulator)
    done = await due_reminder(ivan, clock, title="Done meanwhile")
    cancelled = await due_reminder(ivan, clock, title="Cancelled meanwhile")
    postponed = await due_reminder(ivan, clock, title="Postponed")
    olga = await person(make_staff, emulator)
    dismissed = await due_reminder(olga, clock, title="Hers")
    petr = await person(make_staff, emulator)
    unlinked = await due_reminder(petr, clock, title="His")
    await Activity.filter(id=done.activity_id).update(state=ActivityState.DONE)
    await Activity.filter(id=cancelled.activity_id).update(state=ActivityState.CANCELLED)
    await Activity.filter(id=postponed.activity_id).update(state=ActivityState.POSTPONED)
    await type(olga).filter(id=olga.id).update(status=StaffStatus.DISMISSED)
    await type(petr).filter(id=petr.id).update(telegram_id=None)  # Telegram unlinked
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    assert await d.run_once() == 5
    for row in (done, cancelled, dismissed, unlinked):
        got = await Reminder.get(id=row.id)
        assert got.state == ReminderState.CANCELLED and got.claimed_until is None
        assert got.last_error == "activity closed or person gone"
    assert (await Reminder.get(id=postponed.id)).state == ReminderState.SENT
    assert [t.splitlines()[0] for t in texts(emulator, ivan)] == ["⏰ ✅ Postponed"]
    assert texts(emulator, olga) == [] and texts(emulator, petr) == []
    assert d.sent == 1


async def test_a_recurring_activity_gets_its_next_occurrence(database_url, emulator,
                                                             make_staff, bot, i18n, clock):
    ivan = await person(make_staff, emulator)
    start = clock.now + timedelta(hours=1)
    first = await due_reminder(ivan, clock, title="Daily standup", starts_at=start,
                               rrule="FREQ=DAILY")
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    assert await d.run_once() == 1
    assert (await Reminder.get(id=first.id)).state == ReminderState.SENT
    [nxt] = await Reminder.filter(activity_id=first.activity_id, state=ReminderState.PENDING)
    assert nxt.occurrence_start == start + timedelta(days=1) and nxt.user_id == ivan.id
    assert nxt.due_at == start + timedelta(days=1, minutes=-5) and not nxt.snoozed
    # a one-off activity has no next occurrence
    once = await due_reminder(ivan, clock, title="Once")
    assert await d.run_once() == 1
    assert not await Reminder.filter(activity_id=once.activity_id,
                                     state=ReminderState.PENDING).exists()


async def test_the_message_names_the_place_the_client_and_lateness(
        database_url, emulator, make_staff, bot, i18n, clock):
    from services import clients as client_svc

    ivan = await person(make_staff, emulator)
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka & Co"})).client
    meeting = await due_reminder(ivan, clock, ago=timedelta(seconds=150), type="meeting",
                                 title="Tasting <new>", client_id=client.id,
                                 location="Office <3rd floor> & yard")
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    await d.run_once()
    [msg] = reminder_messages(emulator, ivan.telegram_id)
    due = (clock.now - timedelta(seconds=150)).strftime("%H:%M")
    lines = msg["text"].splitlines()
    assert lines[0] == "⏰ 🤝 Tasting <new>"  # the type's icon, the title as written
    assert lines[2:] == ["🏢 Romashka & Co", "📍 Office <3rd floor> & yard",
                         f"(late: it was due at {due})"]
    assert set(buttons(msg)) == {"✅ Done", "📅 Reschedule", "💤 15 min", "💤 1 h",
                                 "💤 Tomorrow", "🏢 Open client"}
    assert (await Reminder.get(id=meeting.id)).late
    # on time (due 90 s ago, or exactly two minutes ago), no client, no place
    for seconds in (90, 120):
        plain = await due_reminder(ivan, clock, ago=timedelta(seconds=seconds),
                                   title=f"Plain {seconds}")
        await d.run_once()
        msg = reminder_messages(emulator, ivan.telegram_id)[-1]
        assert msg["text"].splitlines()[0] == f"⏰ ✅ Plain {seconds}"
        assert len(msg["text"].splitlines()) == 2  # the title and when
        assert "🏢 Open client" not in buttons(msg)
        assert not (await Reminder.get(id=plain.id)).late


async def test_a_client_deleted_meanwhile_leaves_the_reminder_without_it(
        database_url, emulator, make_staff, bot, i18n, clock):
    from models import User
    from services import clients as client_svc

    ivan = await person(make_staff, emulator)
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await due_reminder(ivan, clock, client_id=client.id, title="Visit Lutik")
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    [row] = await d.claim()
    activity = await Activity.get(id=row.activity_id).prefetch_related("type")
    await d._deliver(row, activity, await User.get(id=ivan.id), {})  # no name found
    [msg] = reminder_messages(emulator, ivan.telegram_id)
    assert "Visit Lutik" in msg["text"] and "🏢" not in msg["text"]
    assert (await Reminder.get(id=row.id)).state == ReminderState.SENT


async def test_a_slow_send_renews_the_lease_so_nobody_sends_it_again(
        database_url, emulator, make_staff, bot, i18n, clock):
    ivan = await person(make_staff, emulator)
    first = await due_reminder(ivan, clock)
    slow = StandInBot(bot)
    slow.gate = asyncio.Event()
    d = ReminderDispatcher(slow, i18n, replica="slow", max_per_second=None)
    other = ReminderDispatcher(bot, i18n, replica="other", max_per_second=None)
    [row] = await d.claim()
    t0 = clock.now
    clock.advance(seconds=90)  # the batch took long: past half the lease
    sending = asyncio.create_task(d._deliver(row, await Activity.get(
        id=row.activity_id).prefetch_related("type"), ivan, {}))
    await asyncio.wait_for(slow.entered.wait(), timeout=10)
    held = await Reminder.get(id=first.id)
    assert held.claimed_until == clock.now + timedelta(minutes=2)  # ahead, not behind
    clock.now = t0 + timedelta(minutes=2, seconds=1)  # the first lease is over
    assert await other.run_once() == 0  # so nobody takes the row meanwhile
    slow.gate.set()
    await asyncio.wait_for(sending, timeout=10)
    assert (await Reminder.get(id=first.id)).state == ReminderState.SENT
    assert len(texts(emulator, ivan)) == 1


async def test_stop_waits_for_the_reminder_being_sent(database_url, emulator, make_staff,
                                                      bot, i18n):
    ivan = await person(make_staff, emulator)
    a = (await svc.do_create_activity(ivan, {
        "title": "In flight", "starts_at": utcnow() + timedelta(hours=1),
        "reminders": [5]})).activity
    await Reminder.filter(activity_id=a.id).update(due_at=utcnow(), next_attempt_at=utcnow())
    slow = StandInBot(bot)
    slow.gate = asyncio.Event()
    d = ReminderDispatcher(slow, i18n, max_per_second=None)
    d.start()
    await asyncio.wait_for(slow.entered.wait(), timeout=10)
    stopping = asyncio.create_task(d.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # the message is on its way: not cut off
    slow.gate.set()
    await asyncio.wait_for(stopping, timeout=10)
    row = await Reminder.get(activity_id=a.id)
    assert row.state == ReminderState.SENT and len(texts(emulator, ivan)) == 1


async def test_an_idle_dispatcher_sleeps_until_the_next_reminder(database_url, emulator,
                                                                 make_staff, bot, i18n,
                                                                 clock):
    ivan = await person(make_staff, emulator)
    d = ReminderDispatcher(bot, i18n, max_per_second=None)
    assert await d.run_once() == 0 and await d.seconds_to_next() == 30.0
    row = await due_reminder(ivan, clock, ago=timedelta(seconds=-10))  # due in 10 s
    assert 10.0 < await d.seconds_to_next() <= 10.1
    assert await d.run_once() == 0
    clock.advance(seconds=10)
    assert await d.run_once() == 1 and d.sent == 1
    assert await d.seconds_to_next() == 30.0
    assert (await Reminder.get(id=row.id)).state == ReminderState.SENT


# --- pacing and limits -----------------------------------------------------------------
class PaceClock:
    """Stands for ``asyncio`` in notifications.reminders: the event loop's clock reads
    ``t`` (still unless moved) and sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def get_running_loop(self):
        return self

    def time(self) -> float:
        return self.t

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(0)

    def __getattr__(self, name):
        return getattr(asyncio, name)


async def test_a_burst_is_paced_under_telegrams_limit(monkeypatch):
    """Telegram allows about 30 messages a second: by default 25, so five at once
    leave 40 ms apart (the first at once); after a quiet while, at once again."""
    pace = PaceClock()
    monkeypatch.setattr(reminders, "asyncio", pace)
    d = ReminderDispatcher(None, None)
    for _ in range(5):
        await d._paced()
    assert pace.sleeps == pytest.approx([0.04, 0.08, 0.12, 0.16])
    pace.sleeps.clear()
    pace.t = 10.0
    await d._paced()
    assert pace.sleeps == []
    unpaced = ReminderDispatcher(None, None, max_per_second=None)
    for _ in range(5):
        await unpaced._paced()
    assert pace.sleeps == []


async def bulk_reminders(who, clock, count: int) -> list[Reminder]:
    a = (await svc.do_create_activity(who, {"title": "Many", "reminders": [],
                                            "starts_at": clock.now + timedelta(hours=1)}
                                      )).activity
    await Reminder.bulk_create([Reminder(
        activity_id=a.id, user_id=who.id, lead_minutes=i, occurrence_start=a.starts_at,
        due_at=clock.now, next_attempt_at=clock.now) for i in range(count)])
    return await Reminder.filter(activity_id=a.id)


async def test_a_round_is_paced_and_sends_at_most_twenty_at_once(
        database_url, emulator, make_staff, i18n, clock, monkeypatch):
    ivan = await person(make_staff, emulator)
    await bulk_reminders(ivan, clock, 3)
    pace = PaceClock()
    monkeypatch.setattr(reminders, "asyncio", pace)
    fake = StandInBot()
    assert await ReminderDispatcher(fake, i18n).run_once() == 3
    assert sorted(pace.sleeps) == pytest.approx([0.04, 0.08]) and len(fake.texts) == 3
    # 25 due at once: 20 sends in flight, the rest wait for a free place
    monkeypatch.setattr(reminders, "asyncio", asyncio)
    await bulk_reminders(ivan, clock, 25)
    fake = StandInBot()
    fake.gate = asyncio.Event()
    d = ReminderDispatcher(fake, i18n, max_per_second=None)
    round_ = asyncio.create_task(d.run_once())
    await wait_until(lambda: fake.in_flight == 20)
    await asyncio.sleep(0.05)
    assert fake.most_in_flight == 20
    fake.gate.set()
    assert await asyncio.wait_for(round_, timeout=10) == 25
    assert d.sent == 25 and len(fake.texts) == 25


async def test_a_round_takes_at_most_500(database_url, emulator, make_staff, i18n, clock):
    ivan = await person(make_staff, emulator)
    await bulk_reminders(ivan, clock, 501)
    d = ReminderDispatcher(StandInBot(), i18n)
    assert len(await d.claim()) == 500
    assert len(await d.claim()) == 1


async def test_a_round_marks_its_sends_in_batches_each_with_its_own_time(
        database_url, emulator, make_staff, bot, i18n, clock, monkeypatch):
    """Issue 19: a round marks what it sent in a few batched writes, not one per reminder;
    each row keeps its own sent_at and late flag, and a row another replica claimed
    meanwhile is not marked by us."""
    ivan = await person(make_staff, emulator)
    rows = [await due_reminder(ivan, clock, title=f"Call {i}",
                               ago=timedelta(minutes=5 if i == 0 else 0)) for i in range(5)]
    writes: list[int] = []
    real = ReminderDispatcher._mark_sent

    async def counted(self, done):
        writes.append(len(done))
        await real(self, done)

    monkeypatch.setattr(ReminderDispatcher, "_mark_sent", counted)
    monkeypatch.setattr(claimloop.BatchedMarks, "FLUSH_ROWS", 3)
    d = ReminderDispatcher(bot, i18n, max_per_second=None, concurrency=1)
    sent_times = iter([clock.now + timedelta(seconds=k) for k in range(5)])
    monkeypatch.setattr(reminders, "utcnow", lambda: next(sent_times, clock.now))
    claimed = await d.claim()
    # another replica took the last row after our claim (our lease ran out meanwhile)
    await Reminder.filter(id=rows[-1].id).update(claimed_by="fast:1")
    assert await d.run_once() == 0  # nothing more due: the rows are claimed already
    # run one round by hand over what we claimed
    activities = {a.id: a for a in await Activity.filter(
        id__in=[r.activity_id for r in claimed]).prefetch_related("type")}
    marks = claimloop.BatchedMarks(d._mark_sent)
    from models import User

    user = await User.get(id=ivan.id)
    for r in claimed:
        await d._deliver(r, activities[r.activity_id], user, {}, marks)
    await marks.close()
    assert sum(writes) == 5 and len(writes) < 5  # batched
    got = {r.id: r for r in await Reminder.filter(id__in=[r.id for r in rows])}
    assert [got[r.id].state for r in rows] == [ReminderState.SENT] * 4 + [
        ReminderState.SENDING]
    assert d.sent == 4
    stamps = [got[r.id].sent_at for r in rows[:4]]
    assert len(set(stamps)) == 4  # each its own moment
    assert got[rows[0].id].late and not any(got[r.id].late for r in rows[1:4])


@pytest.mark.parametrize("ident", [1, 7, 12_345, 2**31 - 1, 10**15])
def test_callback_data_made_from_strings_is_what_pack_gives(ident):
    from bot.callbacks import ActivityCB, ReminderCB

    for action in ("done", "resched", "client"):
        data = reminders.activity_data(action, ident)
        assert data == ActivityCB(action=action, activity_id=ident).pack()
        assert ActivityCB.unpack(data) == ActivityCB(action=action, activity_id=ident)
    for value in ("15m", "1h", "tomorrow"):
        data = reminders.snooze_data(ident, value)
        assert data == ReminderCB(action="snooze", reminder_id=ident, value=value).pack()
        assert ReminderCB.unpack(data).reminder_id == ident


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
@pytest.mark.parametrize("client_id", [None, 9])
def test_the_reminder_keyboard_and_its_request_are_as_aiogram_makes_them(
        i18n, lang, client_id):
    """The keyboard made from templates (callback_keyboard) equals the one built button
    by button, and the JSON the session sends is byte for byte aiogram's dump of it."""
    from types import SimpleNamespace

    from aiogram.client.default import DefaultBotProperties
    from aiogram.methods import SendMessage
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    from bot.callbacks import ActivityCB, ReminderCB
    from kontakt.botapi import KontaktSession

    now = utcnow()
    reminder = SimpleNamespace(id=321, occurrence_start=now + timedelta(minutes=15),
                               due_at=now)
    activity = SimpleNamespace(id=45, title="Call <X>", client_id=client_id,
                               location=None, icon="📞")
    user = SimpleNamespace(language=lang, timezone="Europe/Kyiv")
    d = ReminderDispatcher(None, i18n)  # type: ignore[arg-type]
    text, markup = d.render(reminder, activity, user, {9: "Romashka"}, late=False, now=now)

    def _(msg):
        return i18n.gettext(msg, locale=lang)

    rows = [[InlineKeyboardButton(text=_("✅ Done"), callback_data=ActivityCB(
                action="done", activity_id=45).pack()),
             InlineKeyboardButton(text=_("📅 Reschedule"), callback_data=ActivityCB(
                 action="resched", activity_id=45).pack())],
            [InlineKeyboardButton(text=label, callback_data=ReminderCB(
                action="snooze", reminder_id=321, value=value).pack())
             for value, label in (("15m", _("💤 15 min")), ("1h", _("💤 1 h")),
                                  ("tomorrow", _("💤 Tomorrow")))]]
    if client_id:
        rows.append([InlineKeyboardButton(text=_("🏢 Open client"), callback_data=ActivityCB(
            action="client", activity_id=45).pack())])
    expected = InlineKeyboardMarkup(inline_keyboard=rows)
    assert isinstance(markup, InlineKeyboardMarkup)
    assert markup.inline_keyboard == expected.inline_keyboard
    assert markup.model_dump() == expected.model_dump()

    session = KontaktSession()
    bot = SimpleNamespace(default=DefaultBotProperties(parse_mode="HTML"))
    ours = session.build_form_data(bot, SendMessage(chat_id=5, text=text,
                                                    reply_markup=markup))
    theirs = session.build_form_data(bot, SendMessage(chat_id=5, text=text,
                                                      reply_markup=expected))
    assert ours._value == theirs._value
    assert b'"callback_data":"rm:snooze:321:15m"' in ours._value
    from kontakt.botapi import SendMessageUnread  # the loop's send: the same request

    unread = session.build_form_data(bot, SendMessageUnread(chat_id=5, text=text,
                                                            reply_markup=markup))
    assert unread._value == ours._value


async def test_a_send_whose_answer_is_unread_gets_the_id_and_the_errors(
        database_url, emulator, make_staff, bot):
    """SendMessageUnread (the reminder loop's send) reads only the message id from the
    answer; the Bot API's refusals are raised as they are for any send."""
    from aiogram.exceptions import TelegramForbiddenError

    from kontakt.botapi import SendMessageUnread, Sent

    ivan = await person(make_staff, emulator)
    first = await bot(SendMessageUnread(chat_id=ivan.telegram_id, text="⏰ <b>One</b>"))
    second = await bot(SendMessageUnread(chat_id=ivan.telegram_id, text="⏰ Two"))
    assert isinstance(first, Sent) and second.message_id == first.message_id + 1
    assert texts(emulator, ivan) == ["⏰ One", "⏰ Two"]
    emulator.inject_fault("sendMessage", error_code=403,
                          description="Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError):
        await bot(SendMessageUnread(chat_id=ivan.telegram_id, text="Three"))
