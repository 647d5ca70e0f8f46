"""Two-way Google Calendar sync (K-1) against a fake Google Calendar v3 server that
behaves like Google (tests/fakes/google_calendar.py): google-api-python-client and gcsa
run unmodified, pointed at it with ``client_options={"api_endpoint": ...}``.

Cases: connect through the consent screen; each field in each direction; recurrence
with a moved occurrence; three assignees; delete on each side; a conflict (ETag
If-Match → 412, merged field by field); the service killed between the commit and the
push; a retried insert; Google down for a while; 429 with Retry-After; a revoked token
(paused, told, nothing lost, resumed); an expired sync token (410, full resync, no
duplicates); push notifications through the web app; the ICS feed; /calendar in the bot.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from icalendar import Calendar as ICalendar

from models import (
    Activity,
    ActivityState,
    AuditLog,
    CalendarEvent,
    CalendarLink,
    Department,
    LinkState,
    Role,
)
from services import activities as acts
from services import calendar as svc
from services.clock import utcnow
from sync.engine import CalendarSync
from sync.google import GoogleConfig
from tests.conftest import SECRET, say, wait_until
from tests.fakes.google_calendar import FakeGoogle


@pytest.fixture
async def google():
    fake = FakeGoogle()
    await fake.start()
    yield fake
    await fake.stop()


def config_for(fake: FakeGoogle) -> GoogleConfig:
    return GoogleConfig(client_id="kontakt-test", client_secret="kontakt-secret",
                        auth_uri=fake.auth_uri, token_uri=fake.token_uri,
                        revoke_uri=fake.revoke_uri, api_endpoint=fake.calendar_api_endpoint)


@pytest.fixture
async def engine(google, database_url):
    told: list[tuple[int, str]] = []

    async def notify(user_id: int, what: str) -> None:
        told.append((user_id, what))

    eng = CalendarSync(config_for(google), secret=SECRET, base_url="https://crm.example",
                       poll_s=3600, retry_s=0.2, tick_s=0.05, notify=notify)
    eng.told = told
    yield eng
    await eng.stop()


async def connect(engine: CalendarSync, google: FakeGoogle, user, email: str) -> CalendarLink:
    """Through the consent screen: our link → Google's redirect with a code → connect."""
    google.add_account(email)
    google.consent_account = email
    url = engine.consent_url(user)
    async with aiohttp.ClientSession() as http, \
            http.get(url, allow_redirects=False) as resp:
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == engine.redirect_uri()
    q = parse_qs(back.query)
    assert engine.user_of_state(q["state"][0]) == user.id
    return await engine.connect(user, q["code"][0])


async def sync(engine: CalendarSync, rounds: int = 3) -> None:
    for _ in range(rounds):
        await engine.run_once()
        await CalendarLink.all().update(next_attempt_at=None)
        await CalendarEvent.filter(dirty=True).update(next_attempt_at=utcnow())


async def pull(engine: CalendarSync) -> None:
    await CalendarLink.all().update(pull_wanted_at=utcnow())
    await sync(engine)


def soon(hours: float = 24):
    return (utcnow() + timedelta(hours=hours)).replace(microsecond=0, second=0)


def ours(google: FakeGoogle, link: CalendarLink) -> list[dict]:
    return [e for e in google.events(link.calendar_id)]


@pytest.fixture
async def people(make_staff):
    sales = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field",
                            email="ivan@example.com", department=sales)
    petr = await make_staff(Role.MANAGER, language="en", name="Petr Second", department=sales)
    olga = await make_staff(Role.MANAGER, language="en", name="Olga Third", department=sales)
    return ivan, petr, olga


async def test_connect_makes_a_kontakt_calendar_and_pushes_each_field(engine, google, people):
    ivan, *_ = people
    old = (await acts.do_create_activity(ivan, {
        "title": "Meet Romashka", "type": "meeting", "starts_at": soon(),
        "location": "Kyiv, Khreshchatyk 1", "goal": "sign the contract",
        "reminders": [15, 60]})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    assert link.calendar_ours and link.calendar_name == "Kontakt"
    assert any(c["summary"] == "Kontakt" for c in google.calendars("ivan@example.com"))
    # the refresh token is stored encrypted, never as it is
    raw = (await CalendarLink.get(id=link.id)).token
    _access, _refresh = google.issue_tokens("ivan@example.com")
    assert raw and "ivan" not in raw and not raw.startswith("1//")
    await sync(engine)
    [event] = ours(google, link)
    assert event["id"] == svc.event_id_for(old.id, ivan.id)
    assert event["summary"] == "Meet Romashka"
    assert event["location"] == "Kyiv, Khreshchatyk 1"
    assert event["description"].startswith("sign the contract")
    assert "https://crm.example/app/calendar?activity=" in event["description"]
    assert event["extendedProperties"]["private"]["kontakt_activity"] == str(old.id)
    assert sorted(r["minutes"] for r in event["reminders"]["overrides"]) == [15, 60]
    writes = len([c for c in google.calls if c[0] in ("POST", "PUT", "PATCH")])
    await sync(engine)  # nothing changed: nothing written
    assert len([c for c in google.calls if c[0] in ("POST", "PUT", "PATCH")]) == writes

    # CRM → Google, field by field
    new_start = soon(48)
    await acts.do_update_activity(ivan, old.id, {
        "title": "Meet Romashka again", "starts_at": new_start, "location": "Lviv",
        "goal": "second try"}, source="web")
    await sync(engine)
    [event] = ours(google, link)
    assert event["summary"] == "Meet Romashka again" and event["location"] == "Lviv"
    assert event["description"].startswith("second try")
    from sync.mapping import snapshot
    assert snapshot(event)["start"] == new_start.isoformat()
    # cancelled → the event is deleted; reopened → back
    await acts.do_set_state(ivan, old.id, "cancelled")
    await sync(engine)
    assert ours(google, link) == []
    await acts.do_set_state(ivan, old.id, "planned")
    await sync(engine)
    assert [e["summary"] for e in ours(google, link)] == ["Meet Romashka again"]


async def test_calendar_changes_come_back_field_by_field_to_every_assignee(
        engine, google, people):
    ivan, petr, olga = people
    a = (await acts.do_create_activity(ivan, {
        "title": "Visit", "type": "visit", "starts_at": soon(), "location": "Office",
        "assignees": [ivan.id, petr.id, olga.id]})).activity
    li = await connect(engine, google, ivan, "ivan@example.com")
    lp = await connect(engine, google, petr, "petr@example.com")
    lo = await connect(engine, google, olga, "olga@example.com")
    await sync(engine)
    assert all(len(ours(google, x)) == 1 for x in (li, lp, lo))
    eid = svc.event_id_for(a.id, petr.id)
    start = soon(72)
    google.user_update_event(lp.calendar_id, eid, summary="Visit (moved)",
                             location="Warehouse", description="bring samples",
                             start={"dateTime": start.isoformat(), "timeZone": "UTC"},
                             end={"dateTime": (start + timedelta(hours=2)).isoformat(),
                                  "timeZone": "UTC"})
    await pull(engine)
    a = await Activity.get(id=a.id)
    assert (a.title, a.location, a.goal) == ("Visit (moved)", "Warehouse", "bring samples")
    assert a.starts_at == start and a.ends_at == start + timedelta(hours=2)
    history = await AuditLog.filter(entity="activity", object_id=a.id, source="calendar")
    assert {h.field for h in history} >= {"title", "location", "goal", "starts_at"}
    # the other two calendars follow
    for link in (li, lo):
        [event] = ours(google, link)
        assert event["summary"] == "Visit (moved)" and event["location"] == "Warehouse"
    # Petr's own event is not written back needlessly: its etag is what Petr made
    before = google.event(lp.calendar_id, eid)["etag"]
    await sync(engine)
    assert google.event(lp.calendar_id, eid)["etag"] == before


async def test_deleting_in_a_calendar_removes_that_person_or_cancels(engine, google, people):
    ivan, petr, _ = people
    shared = (await acts.do_create_activity(ivan, {
        "title": "Shared", "type": "task", "starts_at": soon(),
        "assignees": [ivan.id, petr.id]})).activity
    alone = (await acts.do_create_activity(ivan, {
        "title": "Alone", "type": "task", "starts_at": soon()})).activity
    li = await connect(engine, google, ivan, "ivan@example.com")
    lp = await connect(engine, google, petr, "petr@example.com")
    await sync(engine)
    google.user_delete_event(lp.calendar_id, svc.event_id_for(shared.id, petr.id))
    google.user_delete_event(li.calendar_id, svc.event_id_for(alone.id, ivan.id))
    await pull(engine)
    assert await acts.assignee_ids(shared.id) == [ivan.id]  # only Petr is taken off
    assert str((await Activity.get(id=shared.id)).state) == ActivityState.PLANNED
    alone = await Activity.get(id=alone.id)
    assert str(alone.state) == ActivityState.CANCELLED  # cancelled, not deleted
    assert await AuditLog.filter(object_id=alone.id, entity="activity", source="calendar",
                                 field="state").exists()
    # Ivan keeps the shared event; nothing is re-created in Petr's calendar
    assert [e["summary"] for e in ours(google, li)] == ["Shared"]
    assert ours(google, lp) == []


async def test_events_made_in_the_kontakt_calendar_become_tasks(engine, google, people):
    ivan, *_ = people
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    start = soon(30)
    made = google.user_insert_event(link.calendar_id, {
        "summary": "Call the bank", "location": "Phone",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"}})
    await pull(engine)
    task = await Activity.get(title="Call the bank")
    assert task.source == "calendar" and task.starts_at == start
    assert await acts.assignee_ids(task.id) == [ivan.id]
    row = await CalendarEvent.get(activity_id=task.id)
    assert row.event_id == made["id"]  # the calendar's event, not a second one
    await sync(engine)
    assert len(ours(google, link)) == 1
    assert ours(google, link)[0]["extendedProperties"]["private"]["kontakt_activity"] == \
        str(task.id)


async def test_recurrence_with_a_moved_occurrence_both_ways(engine, google, people):
    ivan, *_ = people
    first = soon(24)
    series = (await acts.do_create_activity(ivan, {
        "title": "Weekly call", "type": "call", "starts_at": first,
        "rrule": "FREQ=WEEKLY;COUNT=6"})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    [event] = ours(google, link)
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=6"]
    # moved in Kontakt: the series leaves the date out, the moved one is its own event
    second = first + timedelta(days=7)
    moved = (await acts.do_move_occurrence(ivan, series.id, second,
                                           second + timedelta(hours=3))).activity
    await sync(engine)
    events = {e["id"]: e for e in ours(google, link)}
    master = events[svc.event_id_for(series.id, ivan.id)]
    assert any(x.startswith("EXDATE") for x in master["recurrence"])
    assert svc.event_id_for(moved.id, ivan.id) in events
    # moved in the calendar app: the occurrence becomes an activity of its own
    third = first + timedelta(days=14)
    google.user_move_instance(
        link.calendar_id, svc.event_id_for(series.id, ivan.id), third.isoformat(),
        {"dateTime": (third + timedelta(days=1)).isoformat(), "timeZone": "UTC"},
        {"dateTime": (third + timedelta(days=1, minutes=15)).isoformat(), "timeZone": "UTC"})
    await pull(engine)
    split = await Activity.get(series_id=series.id, original_start=third)
    assert split.starts_at == third + timedelta(days=1)
    assert (await Activity.get(id=series.id)).exdates[-1] == third.isoformat()
    await sync(engine)
    live = [e for e in ours(google, link) if e.get("status") != "cancelled"]
    assert len([e for e in live if e.get("recurringEventId")]) == 0  # no double
    assert svc.event_id_for(split.id, ivan.id) in {e["id"] for e in live}


async def test_conflict_is_merged_field_by_field(engine, google, people):
    ivan, *_ = people
    a = (await acts.do_create_activity(ivan, {
        "title": "Offer", "type": "task", "starts_at": soon(), "location": "A"})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    eid = svc.event_id_for(a.id, ivan.id)
    # both sides change the title; only the calendar changes the location
    google.user_update_event(link.calendar_id, eid, summary="Offer (calendar)", location="B")
    await acts.do_update_activity(ivan, a.id, {"title": "Offer (Kontakt)"})
    await sync(engine)  # the update meets If-Match → 412, merges, writes again
    a = await Activity.get(id=a.id)
    assert a.title == "Offer (Kontakt)" and a.location == "B"
    [event] = ours(google, link)
    assert event["summary"] == "Offer (Kontakt)" and event["location"] == "B"
    assert any(c[0] == "PATCH" for c in google.calls)  # our fields only, If-Match
    conflict = await AuditLog.get(object_id=a.id, action="cal_conflict")
    assert "Offer (calendar)" in conflict.new_value


async def test_nothing_lost_or_doubled_across_a_crash_and_an_outage(engine, google, people):
    ivan, *_ = people
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    # committed while no worker ran (killed between the commit and the push)
    a = (await acts.do_create_activity(ivan, {
        "title": "After crash", "type": "task", "starts_at": soon()})).activity
    assert await CalendarEvent.filter(activity_id=a.id, dirty=True).exists()
    fresh = CalendarSync(config_for(google), secret=SECRET, base_url="https://crm.example",
                         poll_s=3600, retry_s=0.2)
    await sync(fresh)
    assert [e["summary"] for e in ours(google, link)] == ["After crash"]
    # the insert reached Google but the process died before recording it: retried → 409
    await CalendarEvent.filter(activity_id=a.id).update(in_google=False, dirty=True,
                                                        etag=None)
    await sync(fresh)
    assert len(ours(google, link)) == 1
    assert (await CalendarEvent.get(activity_id=a.id)).in_google
    # Google down for a while: the change waits and goes once it is back
    await google.stop()
    await acts.do_update_activity(ivan, a.id, {"title": "During outage"})
    await fresh.run_once()
    row = await CalendarEvent.get(activity_id=a.id)
    assert row.dirty and row.last_error
    assert (await CalendarLink.get(id=link.id)).next_attempt_at is not None
    await google.restart()
    await asyncio.sleep(0.3)
    await sync(fresh)
    assert [e["summary"] for e in ours(google, link)] == ["During outage"]
    # 429 with Retry-After: the person's sync waits that long (a little more), the row
    # stays marked
    google.fail_next(429, retry_after=120, path_contains="/events/")
    await acts.do_update_activity(ivan, a.id, {"title": "Rate limited"})
    await fresh.run_once()
    row = await CalendarEvent.get(activity_id=a.id)
    waits = (await CalendarLink.get(id=link.id)).next_attempt_at
    assert row.dirty and waits > utcnow() + timedelta(seconds=100)
    assert await fresh.due_links(utcnow()) == []
    await sync(fresh)
    assert [e["summary"] for e in ours(google, link)] == ["Rate limited"]


async def test_revoked_access_pauses_tells_and_resumes(engine, google, people):
    ivan, *_ = people
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    google.revoke_account("ivan@example.com")
    a = (await acts.do_create_activity(ivan, {
        "title": "While revoked", "type": "task", "starts_at": soon()})).activity
    await sync(engine)
    link = await CalendarLink.get(id=link.id)
    assert link.state == LinkState.PAUSED and "revoked" in link.paused_reason
    assert engine.told == [(ivan.id, "paused")]
    assert await CalendarEvent.filter(activity_id=a.id, dirty=True).exists()  # kept
    # an expired access token alone is not a revocation: the client refreshes
    link = await connect(engine, google, ivan, "ivan@example.com")
    assert link.state == LinkState.ACTIVE
    google.expire_access_tokens()
    await sync(engine)
    assert [e["summary"] for e in ours(google, link)] == ["While revoked"]


async def test_expired_sync_token_means_a_full_resync_without_duplicates(engine, google,
                                                                         people):
    ivan, *_ = people
    for i in range(3):
        await acts.do_create_activity(ivan, {"title": f"T{i}", "type": "task",
                                             "starts_at": soon(10 + i)})
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    await pull(engine)
    google.expire_sync_tokens()
    google.user_update_event(link.calendar_id, svc.event_id_for(
        (await Activity.get(title="T1")).id, ivan.id), summary="T1 renamed")
    # deleted while we were not told: a full listing leaves it out; still noticed
    t2 = await Activity.get(title="T2")
    google.user_delete_event(link.calendar_id, svc.event_id_for(t2.id, ivan.id))
    await pull(engine)
    assert await Activity.filter(title="T1 renamed").exists()
    assert await Activity.all().count() == 3
    assert str((await Activity.get(id=t2.id)).state) == ActivityState.CANCELLED
    assert len(ours(google, link)) == 2
    assert (await CalendarLink.get(id=link.id)).sync_token


async def test_incremental_pull_is_one_list_call(engine, google, people):
    ivan, *_ = people
    for i in range(30):
        await acts.do_create_activity(ivan, {"title": f"T{i}", "type": "task",
                                             "starts_at": soon(10 + i)})
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    await pull(engine)
    for i in range(10):
        google.user_update_event(link.calendar_id, svc.event_id_for(
            (await Activity.get(title=f"T{i}")).id, ivan.id), summary=f"T{i}!")
    engine.list_calls = 0
    await pull(engine)
    assert engine.list_calls == 1
    assert await Activity.filter(title__endswith="!").count() == 10


async def test_push_notifications_trigger_a_pull(engine, google, people):
    """events.watch: the fake posts to our web route; a wrong token is ignored."""
    from web.api.calendar_sync import google_notification
    from web.keys import CALENDAR_KEY

    ivan, *_ = people
    app = web.Application()
    app[CALENDAR_KEY] = engine
    app.router.add_post("/webhooks/google/calendar", google_notification)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        # Google delivers to https only: the fake stands in for the TLS proxy
        engine.webhook_url = "https://crm.example/webhooks/google/calendar"
        google.route_https("https://crm.example", str(server.make_url("")).rstrip("/"))
        a = (await acts.do_create_activity(ivan, {
            "title": "Watched", "type": "task", "starts_at": soon()})).activity
        link = await connect(engine, google, ivan, "ivan@example.com")
        await sync(engine)
        link = await CalendarLink.get(id=link.id)
        assert link.channel_id and link.channel_token and link.channel_expires_at
        # the "sync" message came before the watch call returned, and was ours
        [first] = [n for n in google.notifications if n["channel_id"] == link.channel_id]
        assert first["state"] == "sync" and first["status"] == 200
        engine.start()
        google.user_update_event(link.calendar_id, svc.event_id_for(a.id, ivan.id),
                                 summary="Watched and changed")
        async def pulled() -> bool:
            return await Activity.filter(title="Watched and changed").exists()

        await wait_until(pulled, timeout=5)
        assert any(n["channel_id"] == link.channel_id and n["state"] == "exists"
                   for n in google.notifications)
        async with aiohttp.ClientSession() as http:
            async with http.post(str(server.make_url("/webhooks/google/calendar")), headers={
                    "X-Goog-Channel-ID": link.channel_id, "X-Goog-Channel-Token": "forged",
                    "X-Goog-Resource-State": "exists"}) as resp:
                assert resp.status == 404
        # a channel near its end is renewed: a new one, the old one stopped
        await engine.stop()
        old_id = link.channel_id
        await CalendarLink.filter(id=link.id).update(
            channel_expires_at=utcnow() + timedelta(hours=2))
        await sync(engine)
        renewed = await CalendarLink.get(id=link.id)
        assert renewed.channel_id != old_id, (renewed.locked_until, renewed.last_error)
        assert renewed.channel_expires_at > utcnow() + timedelta(days=6)
        assert any(c[1] == "/channels/stop" for c in google.calls)
    finally:
        await engine.stop()
        await server.close()


async def test_disconnect_removes_or_leaves_our_events(engine, google, people):
    ivan, petr, _ = people
    await acts.do_create_activity(ivan, {"title": "Mine", "type": "task",
                                         "starts_at": soon(), "assignees": [ivan.id, petr.id]})
    li = await connect(engine, google, ivan, "ivan@example.com")
    lp = await connect(engine, google, petr, "petr@example.com")
    await sync(engine)
    await svc.do_disconnect(ivan, remove_events=True)
    await svc.do_disconnect(petr, remove_events=False)
    await sync(engine)
    assert await CalendarLink.all().count() == 0
    # Ivan's events went with the "Kontakt" calendar Kontakt had made
    assert not any(c["id"] == li.calendar_id for c in google.calendars("ivan@example.com"))
    assert [e["summary"] for e in ours(google, lp)] == ["Mine"]


async def test_ics_feed_is_secret_and_revocable(service, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    start = soon()
    await acts.do_create_activity(ivan, {"title": "Feed me", "type": "meeting",
                                         "starts_at": start, "rrule": "FREQ=DAILY;COUNT=3"})
    secret = service.settings.secret_key.get_secret_value()
    token = await svc.feed_token(ivan, secret)
    # the database keeps only the address's id: it opens no feed by itself
    from models import IcsFeed

    stored = (await IcsFeed.get(user_id=ivan.id)).token
    assert stored != token and token.startswith(stored + ".")
    assert (await service.client.get(f"/ics/{stored}.ics")).status == 404
    forged = stored + "." + "0" * 32
    assert (await service.client.get(f"/ics/{forged}.ics")).status == 404
    resp = await service.client.get(f"/ics/{token}.ics")
    assert resp.status == 200 and resp.content_type == "text/calendar"
    cal = ICalendar.from_ical(await resp.read())
    [event] = [c for c in cal.walk("VEVENT")]
    assert str(event["summary"]) == "Feed me" and event["rrule"]["FREQ"] == ["DAILY"]
    assert event["dtstart"].dt == start
    new = await svc.feed_token(ivan, secret, renew=True)
    assert (await service.client.get(f"/ics/{token}.ics")).status == 404
    assert (await service.client.get(f"/ics/{new}.ics")).status == 200
    await svc.do_revoke_feed(ivan)
    assert (await service.client.get(f"/ics/{new}.ics")).status == 404


@pytest.fixture
async def gservice(settings_factory, google):
    """The whole service with Google settings pointing at the fake."""
    from aiohttp.test_utils import TestClient

    from kontakt.runtime import build_runtime, start, stop

    rt = await build_runtime(settings_factory(
        google_client_id="kontakt-test", google_client_secret="kontakt-secret",
        google_auth_uri=google.auth_uri, google_token_uri=google.token_uri,
        google_revoke_uri=google.revoke_uri, google_api_endpoint=google.calendar_api_endpoint))
    await start(rt, serve_http=False)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client = client
    yield rt
    await client.close()
    await stop(rt)


async def test_calendar_command_connects_through_the_web_callback(gservice, emulator, google,
                                                                  make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", email="ivan@example.com")
    await acts.do_create_activity(ivan, {"title": "From the bot", "type": "task",
                                         "starts_at": soon()})
    reply = await say(emulator, ivan.telegram_id, "/calendar")
    assert "Not connected" in reply["text"]
    buttons = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row]
    url = urlsplit(next(b["url"] for b in buttons if "url" in b))
    assert url.path == "/oauth/google/start"  # Kontakt's link, which binds the browser
    google.add_account("ivan@example.com")
    google.consent_account = "ivan@example.com"
    # this browser opens it: a cookie, and on to Google; a second open is refused
    start = await gservice.client.get(f"{url.path}?{url.query}", allow_redirects=False)
    assert start.status == 302 and "kontakt_oauth" in start.cookies
    again = await gservice.client.get(f"{url.path}?{url.query}", allow_redirects=False)
    assert again.status == 400
    async with aiohttp.ClientSession() as http, \
            http.get(start.headers["Location"], allow_redirects=False) as resp:
        back = urlsplit(resp.headers["Location"])
    # a forged state is refused and changes nothing
    bad = await gservice.client.get("/oauth/google/callback?code=x&state=forged")
    assert bad.status == 400
    # the right state in another browser (no cookie) connects nothing
    async with aiohttp.ClientSession(headers={"Accept-Language": "en"}) as other, other.get(
            str(gservice.client.make_url(f"/oauth/google/callback?{back.query}"))) as resp:
        assert resp.status == 400 and "browser" in await resp.text()
    assert not await CalendarLink.exists(user_id=ivan.id)
    ok = await gservice.client.get(f"/oauth/google/callback?{back.query}")
    assert ok.status == 200
    assert "Calendar connected" in await ok.text()
    again = await gservice.client.get(f"/oauth/google/callback?{back.query}")
    assert again.status == 400  # a consent link is used once
    told = await emulator.wait_for_bot_message(ivan.telegram_id, after_message_id=reply[
        "message_id"], timeout=5)
    assert "Google Calendar connected" in told["text"]
    link = await CalendarLink.get(user_id=ivan.id)
    await wait_until(lambda: len(google.events(link.calendar_id)) == 1, timeout=10)
    reply = await say(emulator, ivan.telegram_id, "/calendar")
    assert "ivan@example.com" in reply["text"]
    api = await gservice.client.get("/api/v1/calendar-sync")
    assert api.status in (401, 403)  # the API needs a signed-in person


def service_account_key(google: FakeGoogle, domains: list[str]) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = "kontakt-sync@company-project.iam.gserviceaccount.com"
    google.add_service_account(email, private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), domains)
    return {"type": "service_account", "project_id": "company-project",
            "private_key_id": "k1", "client_email": email, "client_id": "1",
            "token_uri": google.token_uri,
            "private_key": private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()}


async def test_workspace_service_account_connects_without_consent(engine, google, people,
                                                                  make_staff):
    from services.errors import PermissionDenied, ValidationFailed
    from sync.engine import ConnectFailed

    ivan, petr, _ = people
    admin = await make_staff(Role.ADMIN, language="en")
    key = service_account_key(google, ["company.example"])
    with pytest.raises(PermissionDenied):
        await svc.do_set_workspace_key(ivan, key, secret=SECRET)
    with pytest.raises(ValidationFailed, match="private_key"):
        await svc.do_set_workspace_key(admin, {**key, "private_key": ""}, secret=SECRET)
    stored = await svc.do_set_workspace_key(admin, key, secret=SECRET)
    from models import CompanyGoogle
    assert "PRIVATE KEY" not in (await CompanyGoogle.get(id=stored.id)).key  # encrypted
    google.add_account("ivan@company.example")
    google.add_account("petr@elsewhere.example")
    a = (await acts.do_create_activity(ivan, {"title": "Workspace task", "type": "task",
                                              "starts_at": soon()})).activity
    link = await engine.connect_service(ivan, "ivan@company.example")
    assert link.mode == "service" and link.token is None
    await sync(engine)
    assert [e["summary"] for e in ours(google, link)] == ["Workspace task"]
    google.user_update_event(link.calendar_id, svc.event_id_for(a.id, ivan.id),
                             summary="Workspace task (moved)")
    await pull(engine)
    assert (await Activity.get(id=a.id)).title == "Workspace task (moved)"
    # an address outside the delegated domain is refused by Google
    with pytest.raises(ConnectFailed) as refused:
        await engine.connect_service(petr, "petr@elsewhere.example")
    assert refused.value.code == "delegation_refused"
    assert not await CalendarLink.filter(user_id=petr.id).exists()


async def test_refused_calendar_value_is_written_back(engine, google, people):
    ivan, *_ = people
    a = (await acts.do_create_activity(ivan, {"title": "Keep my title", "type": "task",
                                              "starts_at": soon()})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    google.user_update_event(link.calendar_id, svc.event_id_for(a.id, ivan.id), summary="")
    await pull(engine)
    assert (await Activity.get(id=a.id)).title == "Keep my title"
    assert await AuditLog.filter(object_id=a.id, action="cal_refused").exists()
    [event] = ours(google, link)
    assert event["summary"] == "Keep my title"


async def test_what_the_person_added_in_the_calendar_stays(engine, google, people):
    """Writes are patches of Kontakt's fields: guests and a colour added in the calendar
    app survive a change made in Kontakt."""
    ivan, *_ = people
    a = (await acts.do_create_activity(ivan, {"title": "Demo", "type": "meeting",
                                              "starts_at": soon()})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    eid = svc.event_id_for(a.id, ivan.id)
    google.user_update_event(link.calendar_id, eid, colorId="5",
                             attendees=[{"email": "client@romashka.example"}])
    await pull(engine)
    await acts.do_update_activity(ivan, a.id, {"title": "Demo for Romashka"})
    await sync(engine)
    event = google.event(link.calendar_id, eid)
    assert event["summary"] == "Demo for Romashka"
    assert event["colorId"] == "5" and event["attendees"][0]["email"] == "client@romashka.example"


async def test_all_day_events_both_ways(engine, google, people):
    from datetime import date

    ivan, *_ = people
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    day = (utcnow() + timedelta(days=3)).date()
    google.user_insert_event(link.calendar_id, {
        "summary": "Exhibition", "start": {"date": day.isoformat()},
        "end": {"date": (day + timedelta(days=1)).isoformat()}})
    await pull(engine)
    task = await Activity.get(title="Exhibition")
    assert task.all_day
    await sync(engine)
    [event] = [e for e in ours(google, link) if e["summary"] == "Exhibition"]
    assert event["start"] == {"date": day.isoformat()}
    assert date.fromisoformat(event["end"]["date"]) == day + timedelta(days=1)


async def test_one_occurrence_renamed_in_the_calendar_becomes_its_own(engine, google, people):
    ivan, *_ = people
    first = soon(24)
    series = (await acts.do_create_activity(ivan, {
        "title": "Daily stand-up", "type": "call", "starts_at": first,
        "rrule": "FREQ=DAILY;COUNT=5"})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    second = first + timedelta(days=1)
    google.user_move_instance(
        link.calendar_id, svc.event_id_for(series.id, ivan.id), second.isoformat(),
        {"dateTime": second.isoformat(), "timeZone": "UTC"},
        {"dateTime": (second + timedelta(minutes=15)).isoformat(), "timeZone": "UTC"})
    instance = [e for e in google.events(link.calendar_id) if e.get("recurringEventId")][0]
    google.user_update_event(link.calendar_id, instance["id"], summary="Stand-up with the boss")
    await pull(engine)
    single = await Activity.get(series_id=series.id, original_start=second)
    assert single.title == "Stand-up with the boss" and single.starts_at == second


async def test_a_deleted_calendar_pauses_instead_of_cancelling(engine, google, people):
    from sync.google import CalendarClient, oauth_credentials

    ivan, *_ = people
    a = (await acts.do_create_activity(ivan, {"title": "Stays planned", "type": "task",
                                              "starts_at": soon()})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    _access, refresh = google.issue_tokens("ivan@example.com")
    phone = CalendarClient(config_for(google), oauth_credentials(config_for(google), refresh))
    await asyncio.to_thread(phone.gc.delete_calendar, link.calendar_id)
    await acts.do_update_activity(ivan, a.id, {"title": "Stays planned, renamed"})
    await sync(engine)
    assert str((await Activity.get(id=a.id)).state) == ActivityState.PLANNED
    link = await CalendarLink.get(id=link.id)
    assert link.state == LinkState.PAUSED and "gone" in link.paused_reason
    assert (ivan.id, "gone") in engine.told
    assert await CalendarEvent.filter(activity_id=a.id, dirty=True).exists()


async def test_a_dismissed_person_s_calendar_is_emptied(engine, google, people, make_staff):
    from services import staff as staff_svc

    ivan, *_ = people
    admin = await make_staff(Role.ADMIN, language="en")
    await acts.do_create_activity(ivan, {"title": "Company secret", "type": "task",
                                         "starts_at": soon()})
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    assert len(ours(google, link)) == 1
    await staff_svc.do_dismiss(admin, ivan.id)
    await sync(engine)
    left = await CalendarLink.get_or_none(user_id=ivan.id)
    assert left is None, (left.state, left.last_error)
    assert not any(c["id"] == link.calendar_id for c in google.calendars("ivan@example.com"))


async def test_a_repeating_event_made_in_the_calendar_keeps_its_left_out_dates(engine, google,
                                                                              people):
    ivan, *_ = people
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    first = soon(24)
    skipped = first + timedelta(days=1)
    google.user_insert_event(link.calendar_id, {
        "summary": "Morning round",
        "start": {"dateTime": first.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (first + timedelta(minutes=20)).isoformat(), "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=4",
                       f"EXDATE:{skipped.strftime('%Y%m%dT%H%M%SZ')}"]})
    await pull(engine)
    task = await Activity.get(title="Morning round")
    assert task.rrule == "FREQ=DAILY;COUNT=4"
    starts = acts.occurrences(task, first - timedelta(hours=1), first + timedelta(days=5))
    assert skipped not in starts and len(starts) == 3


async def test_all_day_is_checked_and_pushed_as_dates(engine, google, people):
    from services.errors import ValidationFailed

    ivan, *_ = people
    with pytest.raises(ValidationFailed, match="true or false"):
        await acts.do_create_activity(ivan, {"title": "Bad", "type": "task",
                                             "starts_at": soon(), "all_day": "yes"})
    a = (await acts.do_create_activity(ivan, {"title": "Inventory day", "type": "task",
                                              "starts_at": soon(48), "all_day": True})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    [event] = ours(google, link)
    assert "date" in event["start"] and "dateTime" not in event["start"]
    assert event["start"]["date"] == svc.local_date(a.starts_at, a.timezone).isoformat()


async def test_calendar_buttons_in_the_bot(gservice, emulator, google, make_staff):
    """📂 Another calendar, 📎 the feed and 🔌 Disconnect through the emulator."""
    ivan = await make_staff(Role.MANAGER, language="en", email="ivan@example.com")
    await acts.do_create_activity(ivan, {"title": "Bot buttons", "type": "task",
                                         "starts_at": soon()})
    link = await connect(gservice.calendar, google, ivan, "ivan@example.com")
    chat = ivan.telegram_id
    screen = await say(emulator, chat, "/calendar")

    def data(msg_id: int, label: str) -> str:
        current = next(m for m in emulator.history(chat) if m["message_id"] == msg_id)
        return next(b["callback_data"] for row in current["reply_markup"]["inline_keyboard"]
                    for b in row if label in b["text"] and "callback_data" in b)

    mid = screen["message_id"]
    await emulator.press_button(chat, chat, mid, data(mid, "ICS feed"))
    edit = await emulator.wait_for_call("editMessageText",
                                        predicate=lambda p: "/ics/" in p["text"])
    token = edit["text"].split("/ics/")[1].split(".ics")[0]  # the address the bot showed
    assert (await gservice.client.get(f"/ics/{token}.ics")).status == 200
    await emulator.press_button(chat, chat, mid, data(mid, "Another calendar"))
    await emulator.wait_for_call("editMessageText",
                                 predicate=lambda p: "Which calendar" in p["text"])
    await emulator.press_button(chat, chat, mid, data(mid, "ivan@example.com"))
    await wait_until(lambda: CalendarLink.filter(id=link.id,
                                                 calendar_id="ivan@example.com").exists())
    await wait_until(lambda: any(e["summary"] == "Bot buttons"
                                 for e in google.events("ivan@example.com")), timeout=10)
    def has(label: str) -> bool:
        try:
            return bool(data(mid, label))
        except StopIteration:
            return False

    await wait_until(lambda: has("🔌 Disconnect"))
    await emulator.press_button(chat, chat, mid, data(mid, "🔌 Disconnect"))
    await wait_until(lambda: has("leave the events"))
    await emulator.press_button(chat, chat, mid, data(mid, "leave the events"))

    async def gone() -> bool:
        return not await CalendarLink.filter(user_id=ivan.id).exists()

    await wait_until(gone, timeout=10)
    assert any(e["summary"] == "Bot buttons" for e in google.events("ivan@example.com"))


# --- issue 20: Google as it really behaves ---------------------------------------------------
async def test_switching_between_timed_and_all_day_both_ways(engine, google, people):
    """A PATCH merges start/end with what Google holds: ``start.date`` next to the stored
    ``start.dateTime`` is 400 "Invalid start time" (events.patch: patch semantics; the
    Event resource's start.date / start.dateTime are exclusive). The other key is
    cleared with null, both ways, and nothing stays marked."""
    ivan, *_ = people
    a = (await acts.do_create_activity(ivan, {"title": "Stocktaking", "type": "task",
                                              "starts_at": soon(48)})).activity
    link = await connect(engine, google, ivan, "ivan@example.com")
    await sync(engine)
    assert "dateTime" in ours(google, link)[0]["start"]
    await acts.do_update_activity(ivan, a.id, {"all_day": True})
    await sync(engine)
    [event] = ours(google, link)
    assert set(event["start"]) & {"date", "dateTime"} == {"date"}
    assert set(event["end"]) & {"date", "dateTime"} == {"date"}
    row = await CalendarEvent.get(activity_id=a.id)
    assert (row.dirty, row.attempts, row.last_error) == (False, 0, None)
    await acts.do_update_activity(ivan, a.id, {"all_day": False})
    await sync(engine)
    [event] = ours(google, link)
    assert set(event["start"]) & {"date", "dateTime"} == {"dateTime"}
    assert set(event["end"]) & {"date", "dateTime"} == {"dateTime"}
    row = await CalendarEvent.get(activity_id=a.id)
    assert (row.dirty, row.attempts, row.last_error) == (False, 0, None)


async def test_token_endpoint_trouble_is_told_to_the_admins_once_not_the_person(
        gservice, emulator, google, make_staff):
    """A rotated client secret (invalid_client) in the running service: the
    administrators hear of it once, in their language; the person is not told they lost
    access and their sync is not paused."""
    admin = await make_staff(Role.ADMIN, language="ru")
    ivan = await make_staff(Role.MANAGER, language="en", email="ivan@example.com")
    for person in (admin, ivan):  # each has talked to the bot (or it may not write)
        await say(emulator, person.telegram_id, "/start")
    link = await connect(gservice.calendar, google, ivan, "ivan@example.com")
    await wait_until(lambda: CalendarLink.filter(id=link.id, last_pull_at__not_isnull=True
                                                 ).exists(), timeout=10)
    google.expire_access_tokens()
    google.fail_token("invalid_client", times=10_000)
    for i in range(3):
        await acts.do_create_activity(ivan, {"title": f"Waits {i}", "type": "task",
                                             "starts_at": soon(30 + i)})
        gservice.calendar.poke()
        await wait_until(lambda: CalendarLink.filter(
            id=link.id, last_error__contains="token_endpoint").exists(), timeout=10)
        await CalendarLink.filter(id=link.id).update(next_attempt_at=None)

    def to_admin() -> list[dict]:
        return [m for m in emulator.history(admin.telegram_id) if "Google" in m.get("text", "")]

    await wait_until(lambda: len(to_admin()) == 1, timeout=10)
    assert "invalid_client" in to_admin()[0]["text"]
    assert "KONTAKT_GOOGLE_CLIENT_SECRET" in to_admin()[0]["text"]
    assert "Синхронизация" in to_admin()[0]["text"] or "синхронизац" in to_admin()[0]["text"]
    assert not any("lost access" in m.get("text", "")
                   for m in emulator.history(ivan.telegram_id))
    assert (await CalendarLink.get(id=link.id)).state == LinkState.ACTIVE
    await asyncio.sleep(0.3)
    assert len(to_admin()) == 1
