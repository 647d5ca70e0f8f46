"""The sync engine against Google as it really behaves (issue 20), each rule one test
against the fake made as strict as Google's documentation: an event id Google still
holds, usage limits and pacing, a 412 that keeps coming, trouble at the token endpoint,
short and empty list pages, bare cancelled occurrences, notifications before the watch
call returns, "this and following" splits. The fixtures and helpers are
tests/test_sync_engine.py's.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from models import Activity, ActivityState, CalendarEvent, CalendarLink, Client, LinkState
from services import activities as acts
from services import calendar as svc
from tests import test_sync_engine as base
from tests.test_sync_engine import (
    HOOK,
    fresh,
    later,
    link_for,
    live,
    make_engine,
    one_live_event,
    person,
    pulled,
    pushed,
    row_of,
    task,
    timed,
    writes,
)

clock, google, engine = base.clock, base.google, base.engine  # the same fixtures


@pytest.mark.parametrize("google_keeps", ["no_undelete", "purged"])
async def test_cancelled_then_reopened_is_one_live_event(engine, google, clock, google_keeps):
    """Cancel → sync → reopen → sync: Google still holds the deleted event's id. It will
    not undelete it (403) or has purged it (get 404, insert 409): the event is made again
    under a new id, once."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Reopened")
    await pushed(engine, link)
    first = (await row_of(a, ivan)).event_id
    await acts.do_set_state(ivan, a.id, "cancelled")
    await pushed(engine, link)
    assert live(google, link.calendar_id) == []
    if google_keeps == "purged":
        google.purge(link.calendar_id, first)
    else:
        google.no_undelete = True
    await acts.do_set_state(ivan, a.id, "planned")
    await pushed(engine, link)
    clock.advance(hours=2)  # whatever backoff there was
    await pushed(engine, link)
    row = await one_live_event(google, link, a, ivan, "Reopened")
    assert row.event_id.startswith(first + "g") and row.event_id != first


async def test_a_deleted_event_google_restores_keeps_its_id(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Restored")
    await pushed(engine, link)
    first = (await row_of(a, ivan)).event_id
    await acts.do_set_state(ivan, a.id, "cancelled")
    await pushed(engine, link)
    await acts.do_set_state(ivan, a.id, "planned")
    await pushed(engine, link)
    assert (await one_live_event(google, link, a, ivan, "Restored")).event_id == first


@pytest.mark.parametrize("google_keeps", ["no_undelete", "purged"])
async def test_deleted_in_the_calendar_then_reopened_in_kontakt(engine, google, clock,
                                                              google_keeps):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Deleted there")
    await pushed(engine, link)
    await pulled(engine, link)
    first = (await row_of(a, ivan)).event_id
    google.user_delete_event(link.calendar_id, first)
    await pulled(engine, link)
    assert str((await Activity.get(id=a.id)).state) == ActivityState.CANCELLED
    if google_keeps == "purged":
        google.purge(link.calendar_id, first)
    else:
        google.no_undelete = True
    await acts.do_set_state(ivan, a.id, "planned")
    await pushed(engine, link)
    clock.advance(hours=2)
    await pushed(engine, link)
    await pulled(engine, link)  # our own writes coming back change nothing
    assert str((await Activity.get(id=a.id)).state) == ActivityState.PLANNED
    await one_live_event(google, link, a, ivan, "Deleted there")


@pytest.mark.parametrize("google_keeps", ["no_undelete", "purged"])
async def test_a_change_to_an_event_deleted_in_the_calendar_is_that_deletion(
        engine, google, clock, google_keeps):
    """Changed in Kontakt after it was deleted in the calendar, before the pull: Google
    answers 403 (no undelete) or 404 (purged), a get confirms it is gone, and it counts
    as deleted there, once; not a row retried for ever."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Gone")
    await pushed(engine, link)
    event_id = (await row_of(a, ivan)).event_id
    google.user_delete_event(link.calendar_id, event_id)
    if google_keeps == "purged":
        google.purge(link.calendar_id, event_id)
    else:
        google.no_undelete = True
        # no If-Match (the etag not known): the patch meets the deleted event itself
        await CalendarEvent.filter(activity_id=a.id).update(etag=None)
    await acts.do_update_activity(ivan, a.id, {"title": "Gone, renamed"})
    calls = len(google.calls)
    await pushed(engine, link)
    assert [c[0] for c in google.calls[calls:]][:2] == ["PATCH", "GET"]
    assert not any(c[0] == "PATCH" for c in google.calls[calls + 1:])  # not retried
    assert str((await Activity.get(id=a.id)).state) == ActivityState.CANCELLED
    assert not await CalendarEvent.filter(activity_id=a.id).exists()
    assert live(google, link.calendar_id) == []
    assert (await fresh(link)).state == LinkState.ACTIVE


async def test_a_conflict_that_keeps_coming_is_tried_twice_a_round_then_backs_off(
        engine, google, clock):
    """The etag changes after every get (a known case with recurring events): two
    attempts in a round, then the row waits; never a tight loop."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Contested for ever")
    other = await task(ivan, "Another", hours=30)
    await pushed(engine, link)
    await acts.do_update_activity(ivan, a.id, {"title": "Ours"})
    await acts.do_update_activity(ivan, other.id, {"title": "Another, ours"})
    event_id = (await row_of(a, ivan)).event_id
    google.fail_next(412, times=50, path_contains=f"/events/{event_id}", method="PATCH")
    calls = len(google.calls)
    await pushed(engine, link)
    patches = [c for c in google.calls[calls:] if c[0] == "PATCH" and event_id in c[1]]
    assert len(patches) == 2
    row = await row_of(a, ivan)
    assert row.dirty and row.attempts == 1 and row.next_attempt_at > clock.now
    assert row.last_error.startswith("412")
    # the others are not held up
    assert "Another, ours" in [e["summary"] for e in live(google, link.calendar_id)]


@pytest.mark.parametrize(("status", "reason"), [
    (403, "quotaExceeded"), (403, "userRateLimitExceeded"), (403, "rateLimitExceeded"),
    (429, "rateLimitExceeded")])
async def test_a_usage_limit_stops_the_round_and_backs_off_with_jitter(engine, google, clock,
                                                                       status, reason):
    """"Handle API errors" / "Manage quotas": 403 usageLimits and 429 are limits, not
    refusals. The person's round stops at once, the rows stay marked without a try
    counted against them, the wait doubles while the limit lasts and is jittered."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    for i in range(3):
        await task(ivan, f"Limited {i}", hours=10 + i)
    google.fail_next(status, reason=reason, path_contains="/events", method="POST")
    calls = len(google.calls)
    await engine.sync_person(link.id)
    assert [c[0] for c in google.calls[calls:]] == ["POST"]  # nothing more this round
    rows = await CalendarEvent.filter(user_id=ivan.id)
    assert all(r.dirty and not r.in_google and r.attempts == 0 for r in rows)
    link = await fresh(link)
    assert link.state == LinkState.ACTIVE and link.last_error.startswith(str(status))
    first = (link.next_attempt_at - clock.now).total_seconds()
    assert 30 <= first <= 37.5
    clock.advance(seconds=first)
    google.fail_next(status, reason=reason, path_contains="/events", method="POST")
    await engine.sync_person(link.id)
    second = ((await fresh(link)).next_attempt_at - clock.now).total_seconds()
    assert 60 <= second <= 75
    clock.advance(seconds=second)
    await engine.sync_person(link.id)
    assert len(live(google, link.calendar_id)) == 3
    assert (await fresh(link)).last_error is None
    assert ivan.id not in engine._limited  # the next limit starts from the shortest wait


async def test_the_first_push_after_connecting_is_paced(google, database_url, clock):
    """Writes to one calendar in quick succession are rate limited ("Manage quotas",
    operational limits): a backlog goes at the engine's pace, not as fast as four
    connections can, and the calendar's limit is never hit."""
    google.write_limit = (9, 1.0)  # at most nine writes a second to one calendar
    eng = make_engine(google, write_rate=4.0, write_burst=4)
    try:
        ivan = await person()
        link = await link_for(google, ivan, "ivan@example.com")
        for i in range(12):
            await task(ivan, f"Backlog {i}", hours=10 + i)
        started = time.monotonic()
        assert await pushed(eng, link) == 12
        took = time.monotonic() - started
        assert len(live(google, link.calendar_id)) == 12
        rows = await CalendarEvent.filter(user_id=ivan.id)
        assert all(r.in_google and not r.dirty and r.attempts == 0 for r in rows)
        assert took >= 1.8  # 4 at once, then 8 at 4 a second: at most 8 in any second
        # marked again with nothing to write: no pace to wait for
        await CalendarEvent.filter(user_id=ivan.id).update(dirty=True)
        calls, started = len(writes(google)), time.monotonic()
        assert await pushed(eng, link) == 12
        assert len(writes(google)) == calls and time.monotonic() - started < 1.0
    finally:
        await eng.stop()


@pytest.mark.parametrize("fault", ["invalid_client", "server_error", "html", "timeout"])
async def test_token_endpoint_trouble_pauses_nobody_and_tells_the_admins_once(
        engine, google, clock, monkeypatch, fault):
    """Only invalid_grant means a person's access is gone (RFC 6749 5.2). A rotated
    client secret, a 5xx, a proxy's HTML page or no answer is the service being unwell:
    tried again later, nobody paused or told they lost access, the administrators told
    once (not each round, not per person), and again only after it was well."""
    import google.auth._exponential_backoff as backoff

    import sync.google

    monkeypatch.setattr(sync.google, "TIMEOUT_S", 1)
    monkeypatch.setattr(backoff.time, "sleep", lambda _s: None)  # google-auth's own retries
    ivan, petr = await person("Ivan"), await person("Petr")
    li = await link_for(google, ivan, "ivan@example.com")
    lp = await link_for(google, petr, "petr@example.com")
    a = await task(ivan, "Waits for the token")
    google.fail_token(fault, times=100, delay_s=2)
    for _ in range(2):
        for link in (li, lp):
            await engine.sync_person(link.id)
            clock.advance(seconds=31)
    for link in (li, lp):
        link = await fresh(link)
        assert link.state == LinkState.ACTIVE and link.paused_reason is None
        assert link.last_error.startswith("503 token_endpoint")
    assert engine.told == []
    assert len(engine.alerts) == 1 and engine.alerts[0][0] == "token_endpoint"
    assert (await row_of(a, ivan)).dirty
    # well again: the rows go; trouble later is told again
    google._token_faults.clear()
    for link in (li, lp):
        await engine.sync_person(link.id)
    assert [e["summary"] for e in live(google, li.calendar_id)] == ["Waits for the token"]
    assert (await fresh(li)).last_error is None
    engine._clients.clear()  # new connections: their tokens are asked for again
    google.fail_token(fault, times=100, delay_s=2)
    await task(ivan, "Something to push")
    await engine.sync_person(li.id)
    assert len(engine.alerts) == 2 and engine.told == []


async def test_only_invalid_grant_pauses(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    google.fail_token("invalid_grant")
    await engine.sync_person(link.id)
    assert (await fresh(link)).state == LinkState.PAUSED
    assert engine.told == [(ivan.id, "paused")] and engine.alerts == []


async def test_a_pull_over_short_and_empty_pages(engine, google, clock):
    """events.list may give fewer events a page than asked, or none, with more to come:
    every page is read, and the sync token is taken from the last."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    for i in range(3):
        google.user_insert_event(link.calendar_id, {"summary": f"Made there {i}",
                                                    **timed(later(20 + i))})
    google.page_cap, google.empty_first_page = 1, True
    before = engine.list_calls
    assert await pulled(engine, link) == 3
    assert engine.list_calls - before == 4  # an empty page, then one event a page
    assert (await fresh(link)).sync_token
    assert sorted(a.title for a in await Activity.all()) == [f"Made there {i}"
                                                            for i in range(3)]
    google.user_update_event(link.calendar_id, live(google, link.calendar_id)[0]["id"],
                             summary="Renamed there")
    assert await pulled(engine, link) == 1  # incremental, over the same kind of pages
    assert await Activity.filter(title="Renamed there").exists()


async def test_an_occurrence_cancelled_without_a_change_before_is_left_out(engine, google,
                                                                         clock):
    """The cancelled occurrence comes bare (id, recurringEventId, originalStartTime):
    enough to leave that date out of the series, and nothing else changes."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    first = later(24)
    series = await task(ivan, "Daily", starts_at=first, rrule="FREQ=DAILY;COUNT=4")
    await pushed(engine, link)
    await pulled(engine, link)
    master = svc.event_id_for(series.id, ivan.id)
    second = first + timedelta(days=1)
    google.user_cancel_instance(link.calendar_id, master, second.isoformat())
    assert await pulled(engine, link) == 1
    series = await Activity.get(id=series.id)
    assert series.exdates == [second.isoformat()] and series.title == "Daily"
    assert await Activity.all().count() == 1
    await pushed(engine, link)
    [event] = live(google, link.calendar_id)
    assert any(line.startswith("EXDATE") for line in event["recurrence"])


async def test_at_most_five_reminders_are_sent(engine, google, clock):
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    a = await task(ivan, "Nagging", reminders=[5, 10, 15, 30, 60])
    # more than the services allow (an older row, an import): still five go
    await Activity.filter(id=a.id).update(reminder_leads=[5, 10, 15, 30, 60, 120, 240])
    await pushed(engine, link)
    [event] = live(google, link.calendar_id)
    assert [r["minutes"] for r in event["reminders"]["overrides"]] == [5, 10, 15, 30, 60]
    assert not (await row_of(a, ivan)).dirty


async def test_push_notifications_need_an_https_address(google, database_url, clock):
    """Google delivers to https only: an http address means polling, never a watch."""
    plain = make_engine(google, webhook_url="http://crm.example/hook")
    try:
        assert plain.webhook_url is None
        ivan = await person()
        link = await link_for(google, ivan, "ivan@example.com")
        await plain.sync_person(link.id)
        assert not any(c[1].endswith("/watch") for c in google.calls)
        assert (await fresh(link)).last_error is None
    finally:
        await plain.stop()


async def test_a_message_before_the_watch_call_returns_is_taken(google, database_url, clock):
    """The "sync" message (and a change right after) may come before Google answers the
    watch call: the channel is known by then."""
    engine = make_engine(google, webhook_url=HOOK)
    seen: list[bool] = []
    try:
        ivan = await person()
        link = await link_for(google, ivan, "ivan@example.com")
        client = await engine._client(link)
        real = client.watch
        loop = asyncio.get_running_loop()

        def watch(calendar_id, channel_id, token, address, ttl_s):
            # the message arrives while the call is still out
            seen.append(asyncio.run_coroutine_threadsafe(
                engine.notified(channel_id, token, "exists"), loop).result())
            return real(calendar_id, channel_id, token, address, ttl_s)

        client.watch = watch
        await engine.sync_person(link.id)
        assert seen == [True]
        link = await fresh(link)
        assert link.pull_wanted_at is not None and link.channel_resource_id
        # a watch Google refuses leaves the old channel as it was
        old = (link.channel_id, link.channel_token)
        await CalendarLink.filter(id=link.id).update(channel_expires_at=clock.now)
        google.fail_next(400, path_contains="/watch")
        await engine.sync_person(link.id)
        assert ((await fresh(link)).channel_id, (await fresh(link)).channel_token) == old
    finally:
        await engine.stop()


async def test_this_and_following_in_the_calendar_is_followed(engine, google, clock):
    """"This and following" in Google's apps: UNTIL on the original series and a new
    series with the rest. The Kontakt series ends there, the new series becomes a
    repeating activity of its own (the original's type and client), and no later push
    sends a rule that undoes the split."""
    ivan = await person()
    link = await link_for(google, ivan, "ivan@example.com")
    from models import ClientManager

    client = await Client.create(name="Romashka", kind="company")
    await ClientManager.create(client_id=client.id, user_id=ivan.id, is_primary=True)
    first = later(24)
    series = await task(ivan, "Daily", starts_at=first, rrule="FREQ=DAILY",
                        client_id=client.id)
    await pushed(engine, link)
    await pulled(engine, link)
    master = svc.event_id_for(series.id, ivan.id)
    third = first + timedelta(days=2)
    rest = google.user_split_series(link.calendar_id, master, third.isoformat(),
                                    summary="Daily, moved on")
    assert await pulled(engine, link) == 2
    series = await Activity.get(id=series.id)
    assert "UNTIL=" in series.rrule and series.rrule.startswith("FREQ=DAILY")
    assert acts.occurrences(series, first, first + timedelta(days=10)) == [
        first, first + timedelta(days=1)]
    new = await Activity.get(title="Daily, moved on")
    assert (new.rrule, new.starts_at, new.client_id, new.type_id) == (
        "FREQ=DAILY", third, client.id, series.type_id)
    assert (await row_of(new, ivan)).event_id == rest["id"]
    # Kontakt's next edits: the split stays as the calendar made it
    await acts.do_update_activity(ivan, series.id, {"title": "Daily, renamed"})
    await pushed(engine, link)
    await pulled(engine, link)
    events = {e["id"]: e for e in live(google, link.calendar_id)}
    assert set(events) == {master, rest["id"]}
    assert "UNTIL=" in events[master]["recurrence"][0]
    assert events[master]["summary"] == "Daily, renamed"
    assert events[rest["id"]]["extendedProperties"]["private"]["kontakt_activity"] == str(
        new.id)
    assert await Activity.all().count() == 2
