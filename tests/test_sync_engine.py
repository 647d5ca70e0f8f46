"""The sync engine's rules one at a time (issue 21): each test calls the engine's own
steps (a round, a push, a pull, a lock...) against the fake Google Calendar and checks
what the engine exists to get right: no event doubled or lost, a change on one side
reaching the other, one person's failure not stopping the others, conflicts resolved
Kontakt's way, backoff and pausing as documented, locks always released.

"Now" is pinned (``sync.engine.utcnow``, a few minutes ahead of the wall clock so that
rows the services mark "due now" are due for the engine too) wherever a time is
checked exactly; nothing depends on the date or the machine's time zone.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

import sync.engine as engine_mod
from models import (
    Activity,
    ActivityState,
    AuditLog,
    CalendarEvent,
    CalendarLink,
    Client,
    CompanyGoogle,
    Department,
    Language,
    LinkState,
    Role,
    User,
)
from services import activities as acts
from services import calendar as svc
from services.crypto import encrypt, sign, unsign
from sync.engine import LEASE, CalendarSync, ConnectFailed
from sync.google import CalendarClient, GoogleConfig, GoogleError, oauth_credentials
from tests.conftest import SECRET
from tests.fakes.google_calendar import FakeGoogle

HOOK = "https://crm.example/hook"  # routed to a port nothing listens on: deliveries fail
_telegram_ids = itertools.count(710_000_001)


class Clock:
    """The engine's "now": pinned, moved on by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(engine_mod, "utcnow", c)
    return c


@pytest.fixture
async def google():
    fake = FakeGoogle()
    await fake.start()
    fake.route_https("https://crm.example", "http://127.0.0.1:9")
    yield fake
    await fake.stop()


def config_for(fake: FakeGoogle) -> GoogleConfig:
    return GoogleConfig(client_id="kontakt-test", client_secret="kontakt-secret",
                        auth_uri=fake.auth_uri, token_uri=fake.token_uri,
                        revoke_uri=fake.revoke_uri, api_endpoint=fake.calendar_api_endpoint)


def make_engine(google: FakeGoogle, **kw) -> CalendarSync:
    """The engine with its default timings (retry 30 s, poll 300 s, tick 0.5 s)."""
    told: list[tuple[int, str]] = []

    async def notify(user_id: int, what: str) -> None:
        told.append((user_id, what))

    alerts: list[tuple[str, str]] = []

    async def alert(what: str, detail: str) -> None:
        alerts.append((what, detail))

    eng = CalendarSync(config_for(google), secret=SECRET, base_url="https://crm.example",
                       notify=notify, alert=alert, **kw)
    eng.told, eng.alerts = told, alerts
    return eng


@pytest.fixture
async def engine(google, database_url, clock):
    eng = make_engine(google)
    yield eng
    await eng.stop()


async def person(name: str = "Ivan Field", *, department: Department | None = None) -> User:
    tid = next(_telegram_ids)
    return await User.create(telegram_id=tid, full_name=name, role=Role.MANAGER,
                             language=Language("en"), department=department,
                             telegram_username=f"u{tid}")


async def link_for(google: FakeGoogle, user: User, email: str, *, ours: bool = True
                   ) -> CalendarLink:
    """A connection (as ``connect`` leaves it) to the account's primary calendar, made
    by Kontakt or not (``ours``); no consent screen."""
    google.add_account(email)
    _access, refresh = google.issue_tokens(email)
    return await svc.do_save_link(user, mode="oauth", account=email,
                                  token=encrypt(SECRET, refresh),
                                  calendar_id=email, calendar_ours=ours,
                                  calendar_name="Kontakt")


async def fresh(link: CalendarLink) -> CalendarLink:
    return await CalendarLink.get(id=link.id)


async def task(user: User, title: str = "Call Romashka", hours: float = 24,
               **more) -> Activity:
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)
    return (await acts.do_create_activity(user, {"title": title, "type": "task",
                                                 "starts_at": start, **more})).activity


async def row_of(activity: Activity, user: User) -> CalendarEvent:
    return await CalendarEvent.get(activity_id=activity.id, user_id=user.id)


def writes(google: FakeGoogle) -> list[tuple[str, str, dict]]:
    """The event writes Google was asked for so far."""
    return [c for c in google.calls
            if c[0] in ("POST", "PUT", "PATCH", "DELETE") and "/events" in c[1]]


def live(google: FakeGoogle, calendar_id: str) -> list[dict]:
    return google.events(calendar_id)


async def due(engine: CalendarSync, link: CalendarLink) -> None:
    """Every marked row of the person due now (as the round's clock sees it)."""
    await CalendarEvent.filter(user_id=link.user_id, dirty=True).update(
        next_attempt_at=engine_mod.utcnow())


async def pushed(engine: CalendarSync, link: CalendarLink) -> int:
    link = await fresh(link)
    await due(engine, link)
    return await engine.push(link, await engine._client(link))


async def pulled(engine: CalendarSync, link: CalendarLink) -> int:
    link = await fresh(link)
    return await engine.pull(link, await engine._client(link))


# --- the worker's switches and defaults ----------------------------------------------------
async def test_defaults_and_a_disabled_engine(engine, google):
    assert engine.can_run() is True
    assert await engine.seconds_to_next() == 0.5
    assert engine.list_calls == 0
    off = CalendarSync(GoogleConfig(), secret=SECRET, base_url="https://crm.example")
    assert off.can_run() is False
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await task(ivan)
    assert await off.run_once() == 0  # a due person, but no Google configured
    assert (await fresh(link)).last_pull_at is None
    assert live(google, link.calendar_id) == []


# --- who is due --------------------------------------------------------------------------
async def test_due_links_are_the_people_with_something_to_do(engine, google, clock):
    now = clock.now
    recent = now - timedelta(seconds=10)
    cases = {
        # name: (link fields, due?)
        "marked row": ({}, True),
        "row waiting out a backoff": ({}, False),
        "pulled just now": ({}, False),
        "notified": ({"pull_wanted_at": recent}, True),
        "never pulled": ({"last_pull_at": None}, True),
        "pulled 301 s ago": ({"last_pull_at": now - timedelta(seconds=301)}, True),
        "pulled 300 s ago": ({"last_pull_at": now - timedelta(seconds=300)}, False),
        "pulled 299 s ago": ({"last_pull_at": now - timedelta(seconds=299)}, False),
        "disconnecting": ({"state": LinkState.REMOVING}, True),
        "paused": ({"state": LinkState.PAUSED, "pull_wanted_at": recent}, False),
        "channel ends in 23 h": ({"channel_expires_at": now + timedelta(hours=23)}, True),
        "channel ends in 25 h": ({"channel_expires_at": now + timedelta(hours=25)}, False),
        "in a backoff": ({"pull_wanted_at": recent,
                          "next_attempt_at": now + timedelta(seconds=1)}, False),
        "backoff over": ({"pull_wanted_at": recent, "next_attempt_at": now}, True),
        "locked": ({"pull_wanted_at": recent, "locked_until": now + timedelta(seconds=1)},
                   False),
        "lock ran out": ({"pull_wanted_at": recent,
                          "locked_until": now - timedelta(seconds=1)}, True),
    }
    ids = {}
    for i, (name, (values, _)) in enumerate(cases.items()):
        user = await person(f"Person {i}")
        link = await CalendarLink.create(user_id=user.id, calendar_id=f"c{i}",
                                         **{"last_pull_at": recent, **values})
        ids[link.id] = name
        if name == "marked row":
            await CalendarEvent.create(user_id=user.id, event_id=f"e{i}", dirty=True,
                                       next_attempt_at=now)
        elif name == "row waiting out a backoff":
            await CalendarEvent.create(user_id=user.id, event_id=f"e{i}", dirty=True,
                                       next_attempt_at=now + timedelta(seconds=1))
        elif name == "pulled just now":  # a row pushed already is nothing to do
            await CalendarEvent.create(user_id=user.id, event_id=f"e{i}", dirty=False,
                                       next_attempt_at=now)
    got = {ids[link.id] for link in await engine.due_links(now)}
    assert got == {name for name, (_, want) in cases.items() if want}


async def test_at_most_fifty_people_a_round(engine, clock):
    users = [await person(f"P{i}") for i in range(51)]
    await CalendarLink.bulk_create([CalendarLink(user_id=u.id, calendar_id=f"c{u.id}")
                                    for u in users])
    assert len(await engine.due_links(clock.now)) == 50


# --- locks ----------------------------------------------------------------------------------
async def test_a_lock_is_held_for_the_lease_and_only_its_holder_releases_it(
        engine, google, clock):
    other = make_engine(google, replica="other")
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    assert await engine._lock(link.id) is True
    assert await other._lock(link.id) is False
    await other._unlock(link.id)  # not its lock: nothing happens
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await other._lock(link.id) is False
    assert (await fresh(link)).locked_by == engine.replica
    clock.advance(seconds=2)  # the holder died: the lease ran out
    assert await other._lock(link.id) is True
    assert (await fresh(link)).locked_until == clock.now + LEASE
    assert await engine._lock(link.id) is False
    await other._unlock(link.id)
    link = await fresh(link)
    assert link.locked_by is None and link.locked_until is None
    assert await engine._lock(link.id) is True


async def test_a_long_round_keeps_its_lock_by_a_heartbeat(engine, google, clock,
                                                          monkeypatch):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    slept: list[float] = []
    third = asyncio.Event()  # never set: the third wait lasts

    class Aio:  # the engine's asyncio, with a sleep that moves the pinned clock
        def __getattr__(self, name):
            return getattr(asyncio, name)

        @staticmethod
        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) > 2:
                await third.wait()
            clock.advance(seconds=seconds)

    monkeypatch.setattr(engine_mod, "asyncio", Aio())
    start = clock.now
    assert await engine._lock(link.id)
    beat = asyncio.get_running_loop().create_task(engine._heartbeat(link.id))
    try:
        for _ in range(500):
            if len(slept) > 2:
                break
            await asyncio.sleep(0.01)
    finally:
        beat.cancel()
    # renewed after each wait: the lease counts from the last renewal
    assert (await fresh(link)).locked_until == start + timedelta(seconds=80) + LEASE
    assert slept == [40.0, 40.0, 40.0]  # a third of the lease


# --- a round --------------------------------------------------------------------------------
async def test_one_person_s_failure_does_not_stop_the_others(engine, google, clock,
                                                             monkeypatch):
    ivan, petr, olga = await person("Ivan"), await person("Petr"), await person("Olga")
    links = [await link_for(google, u, f"{u.full_name.lower()}@example.com")
             for u in (ivan, petr, olga)]
    for u in (ivan, petr, olga):
        await task(u, f"Task of {u.full_name}")
    real = engine.sync_person

    async def sync_person(link_id: int) -> None:
        if link_id == links[1].id:
            raise RuntimeError("broken " + "x" * 600)
        await real(link_id)

    monkeypatch.setattr(engine, "sync_person", sync_person)
    assert await engine.run_once() == 2
    assert [e["summary"] for e in live(google, links[0].calendar_id)] == ["Task of Ivan"]
    assert [e["summary"] for e in live(google, links[2].calendar_id)] == ["Task of Olga"]
    broken = await fresh(links[1])
    assert broken.last_error.startswith("RuntimeError: broken x") and \
        len(broken.last_error) == 500
    assert broken.next_attempt_at == clock.now + timedelta(seconds=300)  # ten retries
    for link in links:  # every lock released, every heartbeat stopped
        link = await fresh(link)
        assert link.locked_by is None and link.locked_until is None
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks()
                if getattr(t.get_coro(), "__name__", "") == "_heartbeat" and not t.done()]
    # the others are done; the broken one waits out its backoff
    assert await engine.run_once() == 0
    clock.advance(seconds=300)  # the others pulled 300 s ago: not due yet
    monkeypatch.setattr(engine, "sync_person", real)
    assert await engine.run_once() == 1
    assert [e["summary"] for e in live(google, links[1].calendar_id)] == ["Task of Petr"]
    broken = await fresh(links[1])
    assert broken.last_error is None and broken.next_attempt_at is None


async def test_when_a_round_pulls_and_renews_the_channel(google, database_url, clock):
    engine = make_engine(google, webhook_url=HOOK)
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    now = clock.now

    async def round_with(**values) -> tuple[bool, bool]:
        await CalendarLink.filter(id=link.id).update(**values)
        before_list, before = engine.list_calls, await fresh(link)
        await engine.sync_person(link.id)
        after = await fresh(link)
        return engine.list_calls > before_list, after.channel_id != before.channel_id

    try:
        assert await round_with() == (True, True)  # never pulled, no channel
        link = await fresh(link)
        assert link.pull_wanted_at is None and link.last_pull_at == now
        assert link.channel_expires_at > now + timedelta(days=6)
        assert await round_with() == (False, False)  # nothing to do
        assert await round_with(last_pull_at=now - timedelta(seconds=300)) == (False, False)
        assert await round_with(last_pull_at=now - timedelta(seconds=301)) == (True, False)
        assert await round_with(pull_wanted_at=now - timedelta(seconds=1)) == (True, False)
        assert await round_with(channel_expires_at=now + timedelta(hours=24)) == \
            (False, False)
        assert await round_with(channel_expires_at=now + timedelta(hours=23)) == \
            (False, True)
        # an earlier error is cleared by a round that went well
        await CalendarLink.filter(id=link.id).update(last_error="503 backendError",
                                                     next_attempt_at=now)
        await engine.sync_person(link.id)
        link = await fresh(link)
        assert link.last_error is None and link.next_attempt_at is None
    finally:
        await engine.stop()
    # without a web-hook address no channel is asked for
    plain = make_engine(google)
    await CalendarLink.filter(id=link.id).update(channel_id=None, channel_expires_at=None,
                                                 channel_resource_id=None)
    calls = len(google.calls)
    await plain.sync_person(link.id)
    assert (await fresh(link)).channel_id is None
    assert not any(c[1].endswith("/watch") for c in google.calls[calls:])


@pytest.mark.parametrize(("status", "retry_after", "wait"), [
    (429, 120, (120, 150)),  # Google says how long; a usage limit adds up to a quarter
    (503, None, (30, 30)),  # temporary: retry_s
    (400, None, (300, 300)),  # refused: ten times longer
])
async def test_a_round_google_refuses_waits_before_the_next(engine, google, clock, status,
                                                            retry_after, wait):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    google.fail_next(status, retry_after=retry_after, path_contains="/events")
    await engine.sync_person(link.id)
    link = await fresh(link)
    assert link.last_error.startswith(str(status))
    assert clock.now + timedelta(seconds=wait[0]) <= link.next_attempt_at \
        <= clock.now + timedelta(seconds=wait[1])
    assert link.state == LinkState.ACTIVE and link.sync_token is None


# --- CRM → Google -------------------------------------------------------------------------
async def test_a_push_records_what_it_wrote_and_writes_nothing_twice(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Offer")
    assert await pushed(engine, link) == 1
    [event] = live(google, link.calendar_id)
    row = await row_of(a, ivan)
    assert (row.in_google, row.dirty, row.calendar_id) == (True, False, link.calendar_id)
    assert row.etag == event["etag"] and row.body_hash and row.snapshot["title"] == "Offer"
    assert (row.attempts, row.last_error, row.synced_at) == (0, None, clock.now)
    assert await pushed(engine, link) == 0
    # marked again without a change (another field of the activity): nothing is written
    calls = len(writes(google))
    await CalendarEvent.filter(id=row.id).update(dirty=True)
    assert await pushed(engine, link) == 1
    assert len(writes(google)) == calls
    # a change is one patch of that event: no delete, no second insert
    await acts.do_update_activity(ivan, a.id, {"title": "Offer, second try"})
    await pushed(engine, link)
    assert [c[0] for c in writes(google)[calls:]] == ["PATCH"]
    assert [e["summary"] for e in live(google, link.calendar_id)] == ["Offer, second try"]


async def test_another_calendar_chosen_moves_the_events_without_doubles(engine, google,
                                                                       clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    kept = await task(ivan, "Kept")
    dropped = await task(ivan, "Dropped")
    await pushed(engine, link)
    client = await engine._client(link)
    work = await asyncio.to_thread(client.create_calendar, "Work", "UTC")
    await engine.choose_calendar(ivan, work)
    await acts.do_set_state(ivan, dropped.id, "cancelled")
    await pushed(engine, link)
    assert live(google, link.calendar_id) == []  # the old one is left empty
    assert [e["summary"] for e in live(google, work)] == ["Kept"]
    row = await row_of(kept, ivan)
    assert row.calendar_id == work and row.in_google
    assert not await CalendarEvent.filter(activity_id=dropped.id).exists()


async def test_reopened_while_its_event_was_being_deleted_comes_back(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Back and forth")
    await pushed(engine, link)
    await acts.do_set_state(ivan, a.id, "cancelled")
    client = await engine._client(link)
    loop = asyncio.get_running_loop()
    real_delete = client.delete

    def delete(calendar_id, event_id, etag=None):  # runs in the worker's thread
        real_delete(calendar_id, event_id, etag)
        asyncio.run_coroutine_threadsafe(acts.do_set_state(ivan, a.id, "planned"),
                                         loop).result()

    client.delete = delete
    try:
        await pushed(engine, link)
    finally:
        client.delete = real_delete
    await pushed(engine, link)
    assert [e["summary"] for e in live(google, link.calendar_id)] == ["Back and forth"]
    assert (await row_of(a, ivan)).in_google
    # cancelled for good: the event goes and so does its row
    await acts.do_set_state(ivan, a.id, "cancelled")
    await pushed(engine, link)
    assert live(google, link.calendar_id) == []
    assert not await CalendarEvent.filter(activity_id=a.id).exists()


async def test_an_event_id_google_will_not_reuse_gets_a_new_one(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Purged")
    google.fail_next(409, path_contains="/events")  # taken, yet not there to be read
    await pushed(engine, link)
    row = await row_of(a, ivan)
    ours, _, suffix = row.event_id.partition("g")
    assert ours == svc.event_id_for(a.id, ivan.id) and len(suffix) == 6
    assert [e["id"] for e in live(google, link.calendar_id)] == [row.event_id]
    await acts.do_update_activity(ivan, a.id, {"title": "Purged, renamed"})
    await pushed(engine, link)
    assert [(e["id"], e["summary"]) for e in live(google, link.calendar_id)] == [
        (row.event_id, "Purged, renamed")]


async def test_a_refused_insert_is_not_retried_under_another_id(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Refused")
    google.fail_next(400, path_contains="/events")
    await pushed(engine, link)
    assert live(google, link.calendar_id) == []
    row = await row_of(a, ivan)
    assert row.dirty and not row.in_google and row.event_id == svc.event_id_for(a.id, ivan.id)
    assert row.next_attempt_at == clock.now + timedelta(seconds=15)


async def test_a_conflict_whose_event_cannot_be_read_is_tried_again(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Contested")
    await pushed(engine, link)
    await acts.do_update_activity(ivan, a.id, {"title": "Contested, ours"})
    google.fail_next(412, path_contains="/events/")  # the update: changed meanwhile
    google.fail_next(404, path_contains="/events/")  # and it cannot be read just now
    calls = len(google.calls)
    await pushed(engine, link)
    # marked again (not lost): the same push tries once more, and that one goes
    assert [c[0] for c in google.calls[calls:]] == ["PATCH", "GET", "PATCH"]
    assert [e["summary"] for e in live(google, link.calendar_id)] == ["Contested, ours"]
    assert not (await row_of(a, ivan)).dirty


@pytest.mark.parametrize("status", [404, 410])
async def test_a_not_found_is_confirmed_before_anything_is_cancelled(engine, google, clock,
                                                                    status):
    """"Handle API errors" (404 during sync): back off, do not conclude the event is gone.
    A get that still finds it leaves the activity as it is and the row tried later; a get
    that does not (the other tests here) is the deletion."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Gone?")
    await pushed(engine, link)
    await acts.do_update_activity(ivan, a.id, {"title": "Gone?, renamed"})
    google.fail_next(status, path_contains="/events/", method="PATCH")
    calls = len(google.calls)
    await pushed(engine, link)
    assert [c[0] for c in google.calls[calls:]] == ["PATCH", "GET"]
    assert str((await Activity.get(id=a.id)).state) == ActivityState.PLANNED
    row = await row_of(a, ivan)
    assert row.dirty and row.attempts == 1 and row.next_attempt_at > clock.now
    clock.advance(minutes=1)
    await pushed(engine, link)
    await one_live_event(google, link, a, ivan, "Gone?, renamed")
    assert (await fresh(link)).state == LinkState.ACTIVE


async def test_a_backlog_is_pushed_over_four_connections(engine, google, clock):
    ivan, petr = await person("Ivan"), await person("Petr")
    li = await link_for(google, ivan, "ivan@example.com")
    lp = await link_for(google, petr, "petr@example.com")
    many = [await task(ivan, f"Backlog {i}", hours=10 + i) for i in range(8)]
    for i in range(7):
        await task(petr, f"Few {i}", hours=10 + i)
    assert await pushed(engine, li) == 8
    assert await pushed(engine, lp) == 7
    assert sorted(e["summary"] for e in live(google, li.calendar_id)) == [
        f"Backlog {i}" for i in range(8)]
    assert len(live(google, lp.calendar_id)) == 7
    pool = engine._pools[ivan.id]
    assert len(pool) == 4 and len({id(c) for c in pool}) == 4
    assert pool[0] is await engine._client(await fresh(li))
    assert petr.id not in engine._pools  # seven rows: one connection is enough
    for a in many:
        await acts.do_update_activity(ivan, a.id, {"location": "Kyiv"})
    await engine.sync_person(li.id)
    assert engine._pools[ivan.id] is pool  # the same connections, not four more
    assert {e["location"] for e in live(google, li.calendar_id)} == {"Kyiv"}
    assert (await fresh(li)).last_error is None


async def test_a_backlog_stopped_by_google_keeps_what_it_did_not_reach(engine, google,
                                                                       clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    for i in range(8):
        await task(ivan, f"Backlog {i}", hours=10 + i)
    google.fail_next(503, path_contains="/events")
    with pytest.raises(GoogleError):
        await pushed(engine, link)
    rows = await CalendarEvent.filter(user_id=ivan.id)
    assert [r.attempts for r in rows].count(1) == 1
    assert all(r.dirty for r in rows if not r.in_google)
    assert len(live(google, link.calendar_id)) == sum(r.in_google for r in rows) >= 6
    clock.advance(seconds=15)
    await pushed(engine, link)
    assert len(live(google, link.calendar_id)) == 8


async def test_a_push_renews_the_person_s_lock(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await task(ivan)
    assert await engine._lock(link.id)
    clock.advance(seconds=60)
    await pushed(engine, link)
    assert (await fresh(link)).locked_until == clock.now + LEASE


async def test_google_unwell_stops_the_round_and_the_row_backs_off(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    first, second = await task(ivan, "First"), await task(ivan, "Second", hours=30)
    await CalendarEvent.filter(activity_id=first.id).update(attempts=1)
    await CalendarLink.filter(id=link.id).update(last_pull_at=clock.now)
    google.fail_next(503, path_contains="/events")
    await engine.sync_person(link.id)
    row = await row_of(first, ivan)
    assert (row.dirty, row.attempts) == (True, 2)
    assert row.last_error.startswith("503")
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)  # 15 s, doubled
    later = await row_of(second, ivan)  # not reached: still marked, due now
    assert later.dirty and not later.in_google and later.next_attempt_at <= clock.now
    assert later.attempts == 0
    link = await fresh(link)
    assert link.next_attempt_at == clock.now + timedelta(seconds=30)
    assert live(google, link.calendar_id) == []


async def test_a_refused_event_backs_off_and_the_others_go_on(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    first = await task(ivan, "First")
    await task(ivan, "Second", hours=30)
    await CalendarEvent.filter(activity_id=first.id).update(attempts=8)
    await CalendarLink.filter(id=link.id).update(last_pull_at=clock.now)
    google.fail_next(400, path_contains="/events")
    await engine.sync_person(link.id)
    row = await row_of(first, ivan)
    assert (row.dirty, row.attempts) == (True, 9)
    assert row.next_attempt_at == clock.now + timedelta(seconds=3600)  # at most an hour
    assert [e["summary"] for e in live(google, link.calendar_id)] == ["Second"]
    assert (await fresh(link)).last_error is None
    clock.advance(seconds=3600)
    await engine.sync_person(link.id)
    row = await row_of(first, ivan)
    assert (row.dirty, row.in_google, row.attempts, row.last_error) == (False, True, 0, None)


@pytest.mark.parametrize(("attempts", "retry_after", "wait"), [
    (0, None, 15), (2, None, 60), (7, None, 1920), (2, 120, 120)])
async def test_a_row_backs_off_exponentially_or_as_google_says(engine, google, clock,
                                                               attempts, retry_after, wait):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan)
    await CalendarEvent.filter(activity_id=a.id).update(attempts=attempts)
    google.fail_next(503, retry_after=retry_after, path_contains="/events")
    with pytest.raises(GoogleError):
        await pushed(engine, link)
    row = await row_of(a, ivan)
    assert row.next_attempt_at == clock.now + timedelta(seconds=wait)
    assert row.attempts == attempts + 1


# --- Google → CRM -------------------------------------------------------------------------
async def test_an_incremental_pull_applies_what_changed_and_nothing_else(engine, google,
                                                                        clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    tasks = [await task(ivan, f"T{i}", hours=10 + i) for i in range(3)]
    await pushed(engine, link)
    assert await pulled(engine, link) == 0  # our own writes, listed back
    assert engine.list_calls == 1
    link = await fresh(link)
    assert link.sync_token and link.last_pull_at == clock.now
    eid = svc.event_id_for(tasks[1].id, ivan.id)
    google.user_update_event(link.calendar_id, eid, summary="T1 renamed")
    assert await pulled(engine, link) == 1
    assert engine.list_calls == 2
    assert [a.title for a in await Activity.all().order_by("id")] == ["T0", "T1 renamed", "T2"]
    assert all(str(a.state) == ActivityState.PLANNED for a in await Activity.all())
    # a colour is the person's own business: nothing of the activity changes
    google.user_update_event(link.calendar_id, eid, colorId="5")
    assert await pulled(engine, link) == 0
    # Kontakt's change goes out; its own write coming back changes nothing
    await acts.do_update_activity(ivan, tasks[1].id, {"title": "T1 ours"})
    await pushed(engine, link)
    assert await engine._apply(link, google.event(link.calendar_id, eid)) is False
    assert await pulled(engine, link) == 0
    assert (await Activity.get(id=tasks[1].id)).title == "T1 ours"


async def test_a_pull_clears_only_the_notifications_it_answered(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await CalendarLink.filter(id=link.id).update(
        pull_wanted_at=clock.now - timedelta(seconds=1))
    await pulled(engine, link)
    assert (await fresh(link)).pull_wanted_at is None
    # one that came while the pull ran asks for another
    await CalendarLink.filter(id=link.id).update(
        pull_wanted_at=clock.now + timedelta(seconds=1))
    await pulled(engine, link)
    assert (await fresh(link)).pull_wanted_at == clock.now + timedelta(seconds=1)


async def test_an_expired_sync_token_is_one_more_call_and_notices_deletions(engine, google,
                                                                           clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    kept, deleted = await task(ivan, "Kept"), await task(ivan, "Deleted", hours=30)
    await pushed(engine, link)
    await pulled(engine, link)
    google.expire_sync_tokens()
    google.user_delete_event(link.calendar_id, svc.event_id_for(deleted.id, ivan.id))
    calls = engine.list_calls
    assert await pulled(engine, link) == 1
    assert engine.list_calls == calls + 2  # the refused one and the full listing
    assert str((await Activity.get(id=deleted.id)).state) == ActivityState.CANCELLED
    assert str((await Activity.get(id=kept.id)).state) == ActivityState.PLANNED
    assert (await fresh(link)).sync_token


async def test_a_full_listing_of_an_emptied_calendar_cancels_what_was_in_it(engine, google,
                                                                           clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Only one")
    await pushed(engine, link)
    google.user_delete_event(link.calendar_id, svc.event_id_for(a.id, ivan.id))
    assert await pulled(engine, link) == 1  # a first, full listing: nothing in it
    assert str((await Activity.get(id=a.id)).state) == ActivityState.CANCELLED


async def test_listing_errors_are_not_taken_for_an_expired_token(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    google.fail_next(410, path_contains="/events")  # on a full listing: not a token issue
    with pytest.raises(GoogleError):
        await pulled(engine, link)
    await pulled(engine, link)
    assert (await fresh(link)).sync_token
    google.fail_next(400, path_contains="/events")
    with pytest.raises(GoogleError):
        await pulled(engine, link)
    assert engine.list_calls == 1


async def test_a_full_listing_forgets_at_most_a_thousand_rows_a_time(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")

    async def orphans() -> None:  # rows whose activity was deleted
        await CalendarEvent.bulk_create([CalendarEvent(
            user_id=ivan.id, event_id=f"x{i}", calendar_id=link.calendar_id, in_google=True,
            dirty=False) for i in range(1001)])

    await orphans()
    assert await engine._reconcile(link, {"listed"}) == 0
    assert await CalendarEvent.filter(user_id=ivan.id).count() == 1
    await CalendarEvent.filter(user_id=ivan.id).delete()
    await orphans()
    assert await engine._reconcile(link, set()) == 0
    assert await CalendarEvent.filter(user_id=ivan.id).count() == 1


def timed(start: datetime, minutes: int = 30) -> dict:
    return {"start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(),
                    "timeZone": "UTC"}}


def later(hours: float = 24) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)


async def test_what_made_in_the_calendar_becomes_a_task(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await pulled(engine, link)
    cid = link.calendar_id
    made = google.user_insert_event(cid, {"summary": "Call the bank", **timed(later())})
    # not a task: another person's copy of a Kontakt event, one deleted at once, and a
    # title Kontakt cannot take
    google.user_insert_event(cid, {"summary": "Someone's", **timed(later()),
                                   "extendedProperties": {"private": {
                                       "kontakt_activity": "12345"}}})
    gone = google.user_insert_event(cid, {"summary": "Oops", **timed(later())})
    google.user_delete_event(cid, gone["id"])
    google.user_insert_event(cid, {"summary": "x" * 301, **timed(later())})
    assert await pulled(engine, link) == 1
    assert await engine._apply(link, google.event(cid, gone["id"])) is False
    [a] = await Activity.all()
    assert a.title == "Call the bank" and a.source == "calendar"
    row = await row_of(a, ivan)
    assert row.event_id == made["id"] and row.in_google and row.dirty
    # Kontakt's version goes to that very event: a patch, no insert
    calls = len(google.calls)
    await pushed(engine, link)
    assert [c[0] for c in google.calls[calls:] if c[0] != "GET"] == ["PATCH"]
    event = google.event(cid, made["id"])
    assert event["extendedProperties"]["private"]["kontakt_activity"] == str(a.id)
    assert await Activity.all().count() == 1


async def test_only_the_kontakt_calendar_makes_tasks(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com", ours=False)
    await pulled(engine, link)
    google.user_insert_event(link.calendar_id, {"summary": "Dentist", **timed(later())})
    assert await pulled(engine, link) == 0
    assert await Activity.all().count() == 0
    assert await engine._new_task(link, ivan, {"id": "nostart1", "summary": "x"}) is False


async def test_deleted_in_the_calendar_each_case(engine, google, clock, monkeypatch):
    sales = await Department.create(name="Sales")
    ivan = await person("Ivan", department=sales)
    petr = await person("Petr", department=sales)
    li = await link_for(google, ivan, "ivan@example.com")
    lp = await link_for(google, petr, "petr@example.com")
    alone = await task(ivan, "Alone")
    done = await task(ivan, "Done", hours=30)
    shared = await task(ivan, "Shared", hours=40, assignees=[ivan.id, petr.id])
    left = await task(petr, "Petr's, Ivan taken off", hours=50, assignees=[petr.id, ivan.id])
    for link in (li, lp):
        await pushed(engine, link)
        await pulled(engine, link)
    await acts.do_complete(ivan, done.id)
    await acts.do_update_activity(petr, left.id, {"assignees": [petr.id]})
    await pushed(engine, li)
    await pushed(engine, lp)
    calls = len(google.calls)

    def delete(link, activity, user):
        google.user_delete_event(link.calendar_id, svc.event_id_for(activity.id, user.id))

    delete(li, alone, ivan)  # the only assignee: cancelled
    delete(li, done, ivan)  # done stays done
    delete(lp, shared, petr)  # one of two: only Petr is taken off
    assert await pulled(engine, li) == 1
    assert await pulled(engine, lp) == 1
    assert str((await Activity.get(id=alone.id)).state) == ActivityState.CANCELLED
    assert str((await Activity.get(id=done.id)).state) == ActivityState.DONE
    assert str((await Activity.get(id=shared.id)).state) == ActivityState.PLANNED
    assert await acts.assignee_ids(shared.id) == [ivan.id]
    # the rows of the deleted events are gone at once; nothing is sent back for them
    for a, u in ((alone, ivan), (done, ivan), (shared, petr)):
        assert not await CalendarEvent.filter(activity_id=a.id, user_id=u.id).exists()
    await pushed(engine, li)
    await pushed(engine, lp)
    assert [c for c in google.calls[calls:] if c[0] != "GET"] == []
    assert [e["summary"] for e in live(google, li.calendar_id)] == ["Shared"]
    # done, and its event deleted once more (a stale row): nothing changes
    stale = await CalendarEvent.create(user_id=ivan.id, activity_id=done.id,
                                       event_id=svc.event_id_for(done.id, ivan.id))
    assert await engine._deleted_there(li, stale, await Activity.get(id=done.id)) is False
    assert not await CalendarEvent.filter(id=stale.id).exists()

    # a row about to be deleted (Ivan taken off) whose event Ivan deletes first: the row
    # goes, Petr's activity is left as it is
    shared_row = await row_of(shared, ivan)
    await acts.do_update_activity(ivan, shared.id, {"assignees": [petr.id, ivan.id]})
    await pushed(engine, lp)
    await acts.do_update_activity(ivan, shared.id, {"assignees": [petr.id]})
    google.user_delete_event(li.calendar_id, shared_row.event_id)
    item = google.event(li.calendar_id, shared_row.event_id)
    assert await engine._apply(await fresh(li), item) is False
    assert not await CalendarEvent.filter(activity_id=shared.id, user_id=ivan.id).exists()
    assert str((await Activity.get(id=shared.id)).state) == ActivityState.PLANNED
    assert await acts.assignee_ids(shared.id) == [petr.id]


async def test_a_deletion_the_person_may_not_make_is_refused_and_recorded(engine, google,
                                                                         clock):
    sales = await Department.create(name="Sales")
    ivan = await person("Ivan", department=sales)
    petr = await person("Petr", department=sales)
    li = await link_for(google, ivan, "ivan@example.com")
    a = await task(petr, "Petr's", assignees=[petr.id, ivan.id])
    await pushed(engine, li)
    await pulled(engine, li)
    await acts.do_update_activity(petr, a.id, {"assignees": [petr.id]})
    # Ivan's row not updated yet (a race): Ivan deletes the event of Petr's activity
    await CalendarEvent.filter(activity_id=a.id, user_id=ivan.id).update(wanted=True,
                                                                       dirty=False)
    google.user_delete_event(li.calendar_id, svc.event_id_for(a.id, ivan.id))
    assert await pulled(engine, li) == 0
    assert str((await Activity.get(id=a.id)).state) == ActivityState.PLANNED
    assert await AuditLog.filter(object_id=a.id, action="cal_refused").exists()
    assert (await row_of(a, ivan)).dirty
    await pushed(engine, li)  # and then the row follows the activity: not Ivan's any more
    assert not await CalendarEvent.filter(activity_id=a.id, user_id=ivan.id).exists()


async def test_rows_without_an_activity_are_dropped(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Deleted in Kontakt")
    await pushed(engine, link)
    await pulled(engine, link)
    await Activity.filter(id=a.id).delete()
    row = await CalendarEvent.get(user_id=ivan.id)
    assert row.activity_id is None
    google.user_update_event(link.calendar_id, row.event_id, summary="Renamed there")
    item = google.event(link.calendar_id, row.event_id)
    assert await engine._apply(link, item) is False
    assert await engine._deleted_there(link, row, None) is False
    assert not await CalendarEvent.filter(user_id=ivan.id).exists()


async def test_a_client_s_name_in_the_event_is_no_change(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Visit")
    client = await Client.create(name="Romashka")
    await Activity.filter(id=a.id).update(client_id=client.id)
    await pushed(engine, link)
    event = google.event(link.calendar_id, svc.event_id_for(a.id, ivan.id))
    assert "Romashka" in event["description"]
    await pulled(engine, link)
    google.user_update_event(link.calendar_id, event["id"], location="Warehouse")
    assert await pulled(engine, link) == 1
    calls = len(writes(google))
    await CalendarEvent.filter(activity_id=a.id).update(dirty=True)
    await pushed(engine, link)
    assert len(writes(google)) == calls


async def test_a_conflict_keeps_kontakt_s_value_and_records_the_calendar_s(engine, google,
                                                                         clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Offer")
    await pushed(engine, link)
    await pulled(engine, link)
    theirs = "Calendar " + "y" * 600
    google.user_update_event(link.calendar_id, svc.event_id_for(a.id, ivan.id),
                             summary=theirs)
    await acts.do_update_activity(ivan, a.id, {"title": "Offer (Kontakt)"})
    assert await pulled(engine, link) == 0
    assert (await Activity.get(id=a.id)).title == "Offer (Kontakt)"
    conflict = await AuditLog.get(object_id=a.id, action="cal_conflict")
    assert conflict.new_value == f"title: {theirs}"[:500]


async def test_one_occurrence_deleted_or_moved_in_the_calendar(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    first = later(24)
    series = await task(ivan, "Daily", starts_at=first, rrule="FREQ=DAILY;COUNT=5")
    await pushed(engine, link)
    await pulled(engine, link)
    master = svc.event_id_for(series.id, ivan.id)
    second, third = first + timedelta(days=1), first + timedelta(days=2)
    moved = google.user_move_instance(link.calendar_id, master, second.isoformat(),
                                      *timed(second).values())
    google.user_delete_event(link.calendar_id, moved["id"])
    assert await pulled(engine, link) == 1
    series = await Activity.get(id=series.id)
    assert series.exdates == [second.isoformat()]
    assert await Activity.all().count() == 1
    shifted = timed(third + timedelta(hours=2))
    google.user_move_instance(link.calendar_id, master, third.isoformat(),
                              shifted["start"], shifted["end"])
    assert await pulled(engine, link) == 1
    split = await Activity.get(series_id=series.id, original_start=third)
    assert split.starts_at == third + timedelta(hours=2)
    # items Google would not send: no start of the occurrence, no start of the change
    odd = {"id": f"{master}_odd", "recurringEventId": master, "status": "confirmed"}
    assert await engine._apply(link, {**odd, "originalStartTime": {"timeZone": "UTC"}}) \
        is False
    assert await engine._apply(link, {**odd, "originalStartTime": {
        "dateTime": (first + timedelta(days=3)).isoformat()}}) is False
    # an occurrence the series does not have: refused, moved or deleted
    stray = {**odd, "originalStartTime": {"dateTime": (first + timedelta(hours=1)).isoformat()}}
    assert await engine._apply(link, {**stray, **timed(first + timedelta(hours=5))}) is False
    assert await engine._apply(link, {**stray, "status": "cancelled"}) is False
    assert await Activity.all().count() == 2
    assert (await Activity.get(id=series.id)).exdates == [second.isoformat(), third.isoformat()]


async def test_an_occurrence_of_an_event_not_ours_is_left_alone(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com", ours=False)
    await pulled(engine, link)
    first = later(24)
    made = google.user_insert_event(link.calendar_id, {
        "summary": "Yoga", **timed(first), "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]})
    moved = google.user_move_instance(
        link.calendar_id, made["id"], (first + timedelta(days=1)).isoformat(),
        *timed(first + timedelta(days=1, hours=1)).values())
    assert await pulled(engine, link) == 0
    assert await engine._apply(link, moved) is False
    assert await Activity.all().count() == 0


# --- channels ---------------------------------------------------------------------------------
async def test_a_channel_lasts_what_google_says_and_renewing_stops_the_old(google,
                                                                         database_url,
                                                                         clock):
    engine = make_engine(google, webhook_url=HOOK)
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    client = await engine._client(link)
    before = time.time()
    await engine._watch(link, client)
    after = time.time()
    link = await fresh(link)
    week = 7 * 86400
    assert before + week - 0.01 <= link.channel_expires_at.timestamp() <= after + week
    assert len(link.channel_id) == 32 and int(link.channel_id, 16) >= 0
    assert len(link.channel_token) == 32 and link.channel_resource_id
    first = link.channel_id
    await engine._watch(link, client)
    link = await fresh(link)
    assert link.channel_id != first
    await google.drain()
    seen = len(google.notifications)
    google.user_insert_event(link.calendar_id, {"summary": "Ping", **timed(later())})
    await google.drain()
    assert [n["channel_id"] for n in google.notifications[seen:]] == [link.channel_id]
    # a reply without an expiration: a week from now
    real_watch = client.watch
    client.watch = lambda *a: {k: v for k, v in real_watch(*a).items()
                               if k != "expiration"}
    await engine._watch(link, client)
    assert (await fresh(link)).channel_expires_at == clock.now + timedelta(seconds=week)


@pytest.mark.parametrize("old", [("half-known", None), (None, "resource")])
async def test_a_half_known_old_channel_is_not_stopped(google, database_url, clock, old):
    engine = make_engine(google, webhook_url=HOOK)
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await CalendarLink.filter(id=link.id).update(channel_id=old[0],
                                                 channel_resource_id=old[1])
    await engine._watch(await fresh(link), await engine._client(link))
    assert (await fresh(link)).channel_id not in (None, old[0])
    assert not any(c[1] == "/channels/stop" for c in google.calls)
    # nor on a disconnect
    await CalendarLink.filter(id=link.id).update(channel_id=old[0],
                                                 channel_resource_id=old[1])
    await svc.do_disconnect(ivan, remove_events=False)
    await engine.sync_person(link.id)
    assert not await CalendarLink.filter(id=link.id).exists()
    assert not any(c[1] == "/channels/stop" for c in google.calls)


# --- disconnecting ----------------------------------------------------------------------------
async def test_disconnecting_from_a_chosen_calendar_removes_only_our_events(
        google, database_url, clock):
    engine = make_engine(google, webhook_url=HOOK)
    ivan = await person()
    google.add_account("ivan@example.com")
    _access, refresh = google.issue_tokens("ivan@example.com")
    phone = CalendarClient(config_for(google), oauth_credentials(config_for(google), refresh))
    work = await asyncio.to_thread(phone.create_calendar, "Work", "UTC")
    link = await svc.do_save_link(ivan, mode="oauth", account="ivan@example.com",
                                  token=encrypt(SECRET, refresh), calendar_id=work,
                                  calendar_ours=False, calendar_name="Work")
    a = await task(ivan, "Ours")
    google.user_insert_event(work, {"summary": "Theirs", **timed(later())})
    await engine.sync_person(link.id)
    assert (await fresh(link)).channel_id
    assert sorted(e["summary"] for e in live(google, work)) == ["Ours", "Theirs"]
    await svc.do_disconnect(ivan, remove_events=True)
    await acts.do_update_activity(ivan, a.id, {"title": "Ours, edited meanwhile"})
    google.fail_next(503, path_contains="/events/")
    await engine.sync_person(link.id)  # stopped half-way: Google unwell
    assert (await fresh(link)).state == LinkState.REMOVING
    await engine.sync_person(link.id)  # the next round finishes at once
    assert not await CalendarLink.filter(user_id=ivan.id).exists()
    assert not await CalendarEvent.filter(user_id=ivan.id).exists()
    assert [e["summary"] for e in live(google, work)] == ["Theirs"]
    assert any(c["id"] == work for c in google.calendars("ivan@example.com"))
    assert len([c for c in google.calls if c[1] == "/channels/stop"]) == 1
    assert ivan.id not in engine._clients
    with pytest.raises(engine_mod.AccessRevoked):  # the grant was given back
        await asyncio.to_thread(CalendarClient(config_for(google), oauth_credentials(
            config_for(google), refresh)).account)


async def test_disconnecting_after_access_was_revoked_just_forgets(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await task(ivan)
    await engine.sync_person(link.id)
    google.revoke_account("ivan@example.com")
    await svc.do_disconnect(ivan, remove_events=True)
    await engine.sync_person(link.id)
    assert not await CalendarLink.filter(user_id=ivan.id).exists()
    assert not await CalendarEvent.filter(user_id=ivan.id).exists()
    assert engine.told == []



async def test_a_person_no_longer_active_has_our_events_removed(engine, google, clock):
    """Dismissed some other way than through the staff service (which disconnects): the
    round itself notices."""
    from models import StaffStatus

    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await task(ivan, "Company secret")
    await engine.sync_person(link.id)
    assert len(live(google, link.calendar_id)) == 1
    await User.filter(id=ivan.id).update(status=StaffStatus.DISMISSED)
    await engine.sync_person(link.id)
    assert live(google, link.calendar_id) == []
    assert not await CalendarLink.filter(user_id=ivan.id).exists()

# --- the connection to Google -------------------------------------------------------------
async def test_the_connection_is_kept_until_another_replica_reconnects(engine, google,
                                                                       clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    first = await engine._client(link)
    assert await engine._client(await fresh(link)) is first
    # reconnected through another replica: the old grant is dead, a new token stored
    google.revoke_account("ivan@example.com")
    _access, refresh = google.issue_tokens("ivan@example.com")
    await CalendarLink.filter(id=link.id).update(token=encrypt(SECRET, refresh))
    await task(ivan, "After the reconnect")
    await engine.sync_person(link.id)
    link = await fresh(link)
    assert link.state == LinkState.ACTIVE and engine.told == []
    assert [e["summary"] for e in live(google, link.calendar_id)] == ["After the reconnect"]
    assert await engine._client(link) is not first


async def test_a_connection_that_cannot_work_pauses_and_tells(engine, google, clock):
    other_secret = "another-secret-key-0123456789abcdef"
    cases = {}

    async def case(name: str, **values) -> None:
        user = await person(name)
        cases[name] = await CalendarLink.create(user_id=user.id, calendar_id=f"{name}@x",
                                                **values)

    await case("no-company", mode="service", account="a@company.example")
    await case("no-token", mode="oauth", token=None, account="b@example.com")
    await case("unreadable-token", mode="oauth", account="c@example.com",
               token=encrypt(other_secret, "1//refresh"))
    await engine.run_once()
    reasons = {}
    for name, link in cases.items():
        link = await fresh(link)
        assert link.state == LinkState.PAUSED, name
        assert (link.user_id, "paused") in engine.told
        assert link.user_id not in engine._clients
        reasons[name] = link.paused_reason
    assert "no company service account" in reasons["no-company"]
    assert "no token" in reasons["no-token"]
    assert "cannot be read" in reasons["unreadable-token"]
    # a service connection needs its address, and a key that can be read
    await CompanyGoogle.create(key=encrypt(other_secret, "{}", purpose="google-key"),
                               client_email="sync@company.example")
    await CalendarLink.filter(id=cases["no-company"].id).update(state=LinkState.ACTIVE)
    await engine.sync_person(cases["no-company"].id)
    assert "cannot be read" in (await fresh(cases["no-company"])).paused_reason
    await CalendarLink.filter(id=cases["no-company"].id).update(state=LinkState.ACTIVE,
                                                               account=None)
    await engine.sync_person(cases["no-company"].id)
    assert "no company service account" in (await fresh(cases["no-company"])).paused_reason


async def test_a_round_whose_calendar_was_deleted_pauses_and_tells(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan)
    await engine.sync_person(link.id)
    await acts.do_update_activity(ivan, a.id, {"title": "Renamed"})
    google.fail_next(404, path_contains="/events/")
    # the event is not there to be read either, and nor is the calendar
    google.fail_next(404, times=2, path_contains="/calendars/")
    await engine.sync_person(link.id)
    link = await fresh(link)
    assert link.state == LinkState.PAUSED and "gone" in link.paused_reason
    assert engine.told == [(ivan.id, "gone")] and ivan.id not in engine._clients
    assert str((await Activity.get(id=a.id)).state) == ActivityState.PLANNED


# --- connecting -------------------------------------------------------------------------------
async def consent_code(engine: CalendarSync, google: FakeGoogle, user: User, email: str, *,
                       offline: bool = True) -> str:
    """Through the fake consent screen: the code Google's redirect carries."""
    google.add_account(email)
    google.consent_account = email
    url = engine.consent_url(user)
    if not offline:
        url = url.replace("access_type=offline", "access_type=online")
    async with aiohttp.ClientSession() as http, \
            http.get(url, allow_redirects=False) as resp:
        back = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert engine.user_of_state(back["state"][0]) == user.id
    return back["code"][0]


async def test_connecting_again_keeps_the_chosen_calendar(engine, google, clock,
                                                          monkeypatch):
    pokes: list[int] = []
    monkeypatch.setattr(engine, "poke", lambda: pokes.append(1))
    ivan = await person()
    with pytest.raises(ConnectFailed) as no_offline:
        await engine.connect(ivan, await consent_code(engine, google, ivan,
                                                      "ivan@example.com", offline=False))
    assert no_offline.value.code == "no_offline_access"
    assert not await CalendarLink.filter(user_id=ivan.id).exists()
    link = await engine.connect(ivan, await consent_code(engine, google, ivan,
                                                         "ivan@example.com"))
    assert pokes == [1] and link.calendar_ours and link.calendar_name == "Kontakt"
    kontakt = link.calendar_id
    client = await engine._client(link)
    work = await asyncio.to_thread(client.create_calendar, "Work", "UTC")
    await CalendarLink.filter(id=link.id).update(channel_expires_at=clock.now)
    chosen = await engine.choose_calendar(ivan, work)
    assert pokes == [1, 1]
    assert (chosen.calendar_id, chosen.calendar_ours, chosen.calendar_name) == (
        work, False, "Work")
    assert (await fresh(link)).channel_expires_at is None  # a channel for the new one
    again = await engine.connect(ivan, await consent_code(engine, google, ivan,
                                                          "ivan@example.com"))
    assert (again.calendar_id, again.calendar_ours, again.calendar_name) == (
        work, False, "Work")
    # a disconnect under way: the Kontakt calendar again
    await svc.do_disconnect(ivan, remove_events=False)
    again = await engine.connect(ivan, await consent_code(engine, google, ivan,
                                                          "ivan@example.com"))
    assert (again.calendar_id, again.calendar_ours) == (kontakt, True)
    # another account: a calendar of its own
    other = await engine.connect(ivan, await consent_code(engine, google, ivan,
                                                          "ivan@other.example"))
    assert other.account == "ivan@other.example" and other.calendar_id != kontakt
    assert any(c["id"] == other.calendar_id for c in google.calendars("ivan@other.example"))


async def test_the_calendars_one_may_choose(engine, google, clock):
    ivan = await person()
    assert await engine.calendars(ivan) == []
    with pytest.raises(ConnectFailed) as not_connected:
        await engine.choose_calendar(ivan, "ivan@example.com")
    assert not_connected.value.code == "not_connected"
    link = await link_for(google, ivan, "ivan@example.com")
    mine = await make_engine(google).calendars(ivan)  # a replica that never synced him
    assert [c["id"] for c in mine] == ["ivan@example.com"]
    with pytest.raises(ConnectFailed) as unknown:
        await engine.choose_calendar(ivan, "petr@example.com")
    assert unknown.value.code == "unknown_calendar"
    await svc.do_pause(link.id, "revoked")
    assert await engine.calendars(ivan) == []
    with pytest.raises(ConnectFailed) as paused:
        await engine.choose_calendar(ivan, "ivan@example.com")
    assert paused.value.code == "not_connected"


async def test_a_workspace_connection(engine, google, clock, monkeypatch):
    from tests.test_calendar_sync import service_account_key

    pokes: list[int] = []
    monkeypatch.setattr(engine, "poke", lambda: pokes.append(1))
    ivan = await person()
    with pytest.raises(ConnectFailed) as none:
        await engine.connect_service(ivan, "ivan@company.example")
    assert none.value.code == "no_service_account"
    key = service_account_key(google, ["company.example"])
    stored = await CompanyGoogle.create(key=encrypt("another-secret-key-0123456789abcdef",
                                                    json.dumps(key), purpose="google-key"),
                                        client_email=key["client_email"])
    with pytest.raises(ConnectFailed) as unreadable:
        await engine.connect_service(ivan, "ivan@company.example")
    assert unreadable.value.code == "service_account_unreadable"
    await CompanyGoogle.filter(id=stored.id).update(
        key=encrypt(SECRET, json.dumps(key), purpose="google-key"))
    google.add_account("ivan@company.example")
    link = await engine.connect_service(ivan, "ivan@company.example")
    assert (link.mode, link.calendar_ours, link.token) == ("service", True, None)
    assert pokes == [1]


async def test_a_consent_link_is_for_one_person_once_and_for_a_while(engine, google):
    ivan = await person()
    before = int(time.time())
    url = engine.consent_url(ivan)
    after = int(time.time())
    state = parse_qs(urlsplit(url).query)["state"][0]
    payload = unsign(SECRET, state, purpose="google-oauth")
    assert before + 900 <= payload["exp"] <= after + 900  # a quarter of an hour
    assert len(payload["n"]) == 16
    assert engine.user_of_state(state) == ivan.id
    assert engine.user_of_state("forged") is None and engine.user_of_state("") is None
    assert await engine.use_state("forged") is None
    assert await engine.use_state(state) == ivan.id
    assert await engine.use_state(state) is None  # used up

    def state_for(u, n: str) -> str:
        return sign(SECRET, {"u": u, "n": n}, purpose="google-oauth", ttl_s=900)

    odd = state_for(str(ivan.id), "n1")
    assert engine.user_of_state(odd) is None and await engine.use_state(odd) is None
    # the nonce is kept to 64 characters
    assert await engine.use_state(state_for(ivan.id, "a" * 64 + "b")) == ivan.id
    assert await engine.use_state(state_for(ivan.id, "a" * 64 + "c")) is None
    assert await engine.use_state(state_for(ivan.id, "a" * 63 + "b")) == ivan.id
    assert await engine.use_state(state_for(ivan.id, "a" * 63 + "c")) == ivan.id


# --- push notifications -----------------------------------------------------------------------
async def test_a_notification_is_taken_only_from_a_known_channel_with_its_token(
        engine, google, clock, monkeypatch):
    pokes: list[int] = []
    monkeypatch.setattr(engine, "poke", lambda: pokes.append(1))
    ivan, olga = await person("Ivan"), await person("Olga")
    channel = "c" * 64  # Google's longest
    link = await CalendarLink.create(user_id=ivan.id, calendar_id="ivan@example.com",
                                     channel_id=channel, channel_token="secret-token")
    await CalendarLink.create(user_id=olga.id, calendar_id="olga@example.com",
                              channel_id="e" * 32, channel_token=None)
    assert await engine.notified(channel, "secret-token", "sync") is True  # the first one
    assert (await fresh(link)).pull_wanted_at is None and pokes == []
    for args in [("", "secret-token"), ("d" * 65, "secret-token"), ("x" * 32, "secret-token"),
                 ("e" * 32, ""), (channel, "wrong"), (channel, None), (channel, "")]:
        assert await engine.notified(*args, "exists") is False, args
    assert (await fresh(link)).pull_wanted_at is None and pokes == []
    assert await engine.notified(channel, "secret-token", "exists") is True
    assert (await fresh(link)).pull_wanted_at == clock.now and pokes == [1]


async def test_revoked_access_pauses_tells_and_drops_the_connection(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    await engine.sync_person(link.id)
    assert ivan.id in engine._clients
    google.revoke_account("ivan@example.com")
    a = await task(ivan, "While revoked")
    await engine.sync_person(link.id)
    link = await fresh(link)
    assert link.state == LinkState.PAUSED and link.paused_reason.startswith("access revoked")
    assert engine.told == [(ivan.id, "paused")] and ivan.id not in engine._clients
    assert (await row_of(a, ivan)).dirty  # waits for the reconnect


async def test_long_messages_are_cut_to_their_columns(engine, google, clock, monkeypatch):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan)
    client = await engine._client(link)
    message = "400 invalid: " + "m" * 600  # Google may explain at length

    def refuse(*args, **kw):
        raise GoogleError(400, "invalid", "m" * 600)

    monkeypatch.setattr(client, "insert", refuse)
    monkeypatch.setattr(client, "list_events", refuse)
    await engine.sync_person(link.id)
    assert (await row_of(a, ivan)).last_error == message[:500]
    assert (await fresh(link)).last_error == message[:500]

    async def revoked(link):
        raise engine_mod.AccessRevoked("r" * 400)

    monkeypatch.setattr(engine, "_client", revoked)
    await engine.sync_person(link.id)
    assert (await fresh(link)).paused_reason == ("access revoked: " + "r" * 400)[:300]


async def one_live_event(google: FakeGoogle, link: CalendarLink, activity: Activity,
                         user: User, title: str) -> CalendarEvent:
    """Exactly one event of the activity is live in the calendar, its row is neither
    waiting nor failing, and it names that event."""
    row = await row_of(activity, user)
    assert [(e["id"], e["summary"]) for e in live(google, link.calendar_id)] == [
        (row.event_id, title)]
    assert (row.in_google, row.dirty, row.attempts, row.last_error) == (True, False, 0, None)
    return row
