"""Tests for the fake Google Calendar / OAuth server (tests.fakes.google_calendar).

The real google-api-python-client, google-auth, google-auth-oauthlib and gcsa talk to it
over real HTTP; their blocking calls run in threads.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import google.oauth2.credentials
import pytest
import pytest_asyncio
from aiohttp import web
from gcsa.event import Event
from gcsa.google_calendar import GoogleCalendar
from google.auth.exceptions import RefreshError
from google_auth_oauthlib.flow import Flow
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from tests.fakes.google_calendar import FakeGoogle

ANNA = "anna@example.com"
BORIS = "boris@example.com"
SCOPE = "https://www.googleapis.com/auth/calendar"
REDIRECT = "http://localhost:8080/oauth/google/callback"


@pytest_asyncio.fixture
async def fake():
    g = FakeGoogle()
    g.add_account(ANNA)
    g.add_account(BORIS, timezone="UTC")
    await g.start()
    yield g
    await g.stop()


def credentials(fake: FakeGoogle, access: str, refresh: str | None):
    return google.oauth2.credentials.Credentials(
        token=access, refresh_token=refresh, token_uri=fake.token_uri,
        client_id=fake.client_id, client_secret=fake.client_secret)


@pytest.fixture
def build(fake):
    """Builds googleapiclient services against the fake; their connections are closed after."""
    services = []

    def make(creds):
        service = discovery.build("calendar", "v3", credentials=creds,
                                  client_options={"api_endpoint": fake.calendar_api_endpoint},
                                  static_discovery=True, cache_discovery=False)
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


@pytest.fixture
def anna(fake, build):
    return build(credentials(fake, *fake.issue_tokens(ANNA)))


def run(request):
    """Execute a googleapiclient request in a thread."""
    return asyncio.to_thread(request.execute)


async def http_error(request) -> HttpError:
    with pytest.raises(HttpError) as info:
        await run(request)
    return info.value


def reason(error: HttpError) -> str:
    return error.error_details[0]["reason"]


def timed(summary: str, hour: int, **extra) -> dict:
    return {"summary": summary, **extra,
            "start": {"dateTime": f"2030-03-01T{hour:02d}:00:00+03:00"},
            "end": {"dateTime": f"2030-03-01T{hour:02d}:30:00+03:00"}}


# ---------------------------------------------------------------- OAuth


async def consent(fake: FakeGoogle, **params) -> str:
    query = {"client_id": fake.client_id, "redirect_uri": REDIRECT, "response_type": "code",
             "scope": SCOPE, "access_type": "offline", "prompt": "consent", "state": "st4te",
             **params}
    async with aiohttp.ClientSession() as http, http.get(
            fake.auth_uri, params=query, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        return resp.headers["Location"]


async def test_consent_code_exchange_and_refresh(fake, build, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake speaks plain http
    fake.consent_account = ANNA
    location = await consent(fake)
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st4te"]

    flow = Flow.from_client_config(
        {"web": {"client_id": fake.client_id, "client_secret": fake.client_secret,
                 "auth_uri": fake.auth_uri, "token_uri": fake.token_uri}},
        scopes=[SCOPE], redirect_uri=REDIRECT)
    await asyncio.to_thread(flow.fetch_token, code=query["code"][0])
    flow.oauth2session.close()
    creds = flow.credentials
    assert creds.refresh_token and creds.token
    service = build(creds)
    items = (await run(service.calendarList().list()))["items"]
    assert [(c["id"], c.get("primary"), c["accessRole"]) for c in items] == [
        (ANNA, True, "owner")]

    first_token = creds.token
    fake.expire_access_tokens()
    calendar = await run(service.calendars().get(calendarId="primary"))
    assert calendar["id"] == ANNA and calendar["timeZone"] == "Europe/Moscow"
    assert creds.token != first_token  # google-auth refreshed on the 401 and retried

    # the code was single-use
    async with aiohttp.ClientSession() as http, http.post(fake.token_uri, data={
            "grant_type": "authorization_code", "code": query["code"][0],
            "client_id": fake.client_id, "client_secret": fake.client_secret,
            "redirect_uri": REDIRECT}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"


async def test_consent_errors_and_client_checks(fake):
    fake.consent_account = ANNA
    fake.deny_consent = True
    query = parse_qs(urlsplit(await consent(fake)).query)
    assert query == {"error": ["access_denied"], "state": ["st4te"]}

    fake.deny_consent = False
    code = parse_qs(urlsplit(await consent(fake, access_type="online")).query)["code"][0]
    async with aiohttp.ClientSession() as http:
        async with http.get(fake.auth_uri, params={"client_id": "stranger"},
                            allow_redirects=False) as resp:
            assert resp.status == 400
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": fake.client_id, "client_secret": "wrong"}
        async with http.post(fake.token_uri, data=form) as resp:
            assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"
        async with http.post(fake.token_uri, data={**form, "client_secret": fake.client_secret,
                                                   "redirect_uri": "http://evil/"}) as resp:
            assert (await resp.json())["error"] == "redirect_uri_mismatch"
        async with http.post(fake.token_uri,
                             data={**form, "client_secret": fake.client_secret}) as resp:
            body = await resp.json()
    # access_type=online: an access token but no refresh token, as Google does
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert "refresh_token" not in body and body["scope"] == SCOPE


async def test_revoked_grant_raises_refresh_error(fake, build):
    access, refresh = fake.issue_tokens(ANNA)
    service = build(credentials(fake, access, refresh))
    await run(service.calendarList().list())
    fake.revoke_account(ANNA)
    with pytest.raises(RefreshError, match="invalid_grant"):
        await run(service.calendarList().list())

    # the revoke endpoint works per grant
    access, refresh = fake.issue_tokens(ANNA)
    async with aiohttp.ClientSession() as http, http.post(
            fake.revoke_uri, params={"token": refresh}) as resp:
        assert resp.status == 200
    with pytest.raises(RefreshError):
        await run(build(credentials(fake, access, refresh)).calendarList().list())


async def test_unauthenticated_and_foreign_calendars(fake, anna):
    async with aiohttp.ClientSession() as http, http.get(
            fake.calendar_api_endpoint + "calendars/primary/events",
            headers={"Authorization": "Bearer bogus"}) as resp:
        assert resp.status == 401
        error_body = (await resp.json())["error"]
    assert error_body["status"] == "UNAUTHENTICATED"
    assert error_body["errors"][0]["reason"] == "authError"
    error = await http_error(anna.events().list(calendarId=BORIS))
    assert error.status_code == 404 and reason(error) == "notFound"


# ---------------------------------------------------------------- calendars and events


async def test_calendars_insert_get_delete(fake, anna):
    created = await run(anna.calendars().insert(body={"summary": "Kontakt",
                                                       "timeZone": "Asia/Tokyo"}))
    assert created["id"].endswith("@group.calendar.google.com")
    assert [c["id"] for c in fake.calendars(ANNA)] == [ANNA, created["id"]]
    got = await run(anna.calendars().get(calendarId=created["id"]))
    assert got["summary"] == "Kontakt" and got["timeZone"] == "Asia/Tokyo"
    await run(anna.calendars().delete(calendarId=created["id"]))
    assert (await http_error(anna.calendars().get(calendarId=created["id"]))).status_code == 404
    assert (await http_error(anna.calendars().delete(calendarId="primary"))).status_code == 400


async def test_insert_validation_and_duplicate_id(fake, anna):
    body = timed("Call Ivan", 10, id="kontakt0001", location="Office",
                 extendedProperties={"private": {"kontaktId": "42"}},
                 reminders={"useDefault": False, "overrides": [{"method": "popup",
                                                                 "minutes": 10}]})
    event = await run(anna.events().insert(calendarId="primary", body=body))
    assert event["id"] == "kontakt0001" and event["status"] == "confirmed"
    assert event["kind"] == "calendar#event" and event["etag"].startswith('"')
    assert event["extendedProperties"] == {"private": {"kontaktId": "42"}}
    assert event["reminders"]["overrides"][0]["minutes"] == 10
    assert event["iCalUID"] and event["organizer"]["email"] == ANNA
    assert event["created"].endswith("Z") and len(event["created"]) == 24

    error = await http_error(anna.events().insert(calendarId="primary", body=body))
    assert error.status_code == 409 and reason(error) == "duplicate"
    await run(anna.events().delete(calendarId="primary", eventId="kontakt0001"))
    error = await http_error(anna.events().insert(calendarId="primary", body=body))
    assert error.status_code == 409  # even a cancelled event keeps its id

    bad_id = await http_error(anna.events().insert(calendarId="primary",
                                                   body=timed("x", 10, id="Not_Base32")))
    assert bad_id.status_code == 400 and reason(bad_id) == "invalid"
    backwards = timed("x", 10)
    backwards["end"] = {"dateTime": "2030-03-01T09:00:00+03:00"}
    error = await http_error(anna.events().insert(calendarId="primary", body=backwards))
    assert error.status_code == 400 and error.reason == "The specified time range is empty."
    error = await http_error(anna.events().insert(calendarId="primary",
                                                  body={"summary": "no times"}))
    assert error.status_code == 400


async def test_update_patch_if_match_and_delete(fake, anna):
    event = await run(anna.events().insert(calendarId="primary", body=timed("Meet", 12)))
    patched = await run(anna.events().patch(calendarId="primary", eventId=event["id"],
                                            body={"description": "agenda"}))
    assert patched["etag"] != event["etag"] and patched["sequence"] == event["sequence"] + 1
    assert patched["updated"] > event["updated"] and patched["summary"] == "Meet"

    stale = anna.events().update(calendarId="primary", eventId=event["id"],
                                 body=timed("Meet (moved)", 14))
    stale.headers["If-Match"] = event["etag"]
    error = await http_error(stale)
    assert error.status_code == 412 and reason(error) == "conditionNotMet"

    fresh = anna.events().update(calendarId="primary", eventId=event["id"],
                                 body=timed("Meet (moved)", 14))
    fresh.headers["If-Match"] = patched["etag"]
    updated = await run(fresh)
    assert updated["summary"] == "Meet (moved)" and "description" not in updated  # replaced
    assert updated["created"] == event["created"] and updated["iCalUID"] == event["iCalUID"]

    await run(anna.events().delete(calendarId="primary", eventId=event["id"]))
    gone = await run(anna.events().get(calendarId="primary", eventId=event["id"]))
    assert gone["status"] == "cancelled"
    error = await http_error(anna.events().delete(calendarId="primary", eventId=event["id"]))
    assert error.status_code == 410 and reason(error) == "deleted"
    error = await http_error(anna.events().get(calendarId="primary", eventId="nosuchevent"))
    assert error.status_code == 404


async def test_list_filters_and_paging(fake, anna):
    for hour in range(8, 13):
        await run(anna.events().insert(calendarId="primary", body=timed(
            f"Slot {hour}", hour, extendedProperties={"private": {"odd": str(hour % 2)}})))
    seen, pages, token = [], 0, None
    while True:
        page = await run(anna.events().list(calendarId="primary", maxResults=2,
                                            pageToken=token))
        pages += 1
        seen += [e["summary"] for e in page["items"]]
        token = page.get("nextPageToken")
        if token is None:
            assert "nextSyncToken" in page
            break
        assert "nextSyncToken" not in page
    assert pages == 3 and seen == [f"Slot {h}" for h in range(8, 13)]  # insertion order
    assert len([c for c in fake.calls if c[1] == "/calendars/primary/events"
                and c[0] == "GET"]) == 3

    window = await run(anna.events().list(calendarId="primary",
                                          timeMin="2030-03-01T09:10:00+03:00",
                                          timeMax="2030-03-01T11:00:00+03:00",
                                          singleEvents=True, orderBy="startTime"))
    assert [e["summary"] for e in window["items"]] == ["Slot 9", "Slot 10"]
    odd = await run(anna.events().list(calendarId="primary",
                                       privateExtendedProperty="odd=1", q="slot"))
    assert sorted(e["summary"] for e in odd["items"]) == ["Slot 11", "Slot 9"]


async def test_sync_tokens(fake, anna):
    keep = await run(anna.events().insert(calendarId="primary", body=timed("Keep", 9)))
    drop = await run(anna.events().insert(calendarId="primary", body=timed("Drop", 10)))
    full = await run(anna.events().list(calendarId="primary"))
    token = full["nextSyncToken"]

    await run(anna.events().patch(calendarId="primary", eventId=keep["id"],
                                  body={"summary": "Kept"}))
    fake.user_delete_event(ANNA, drop["id"])
    fake.user_insert_event(ANNA, timed("From the phone", 15))
    changes = await run(anna.events().list(calendarId="primary", syncToken=token))
    by_id = {e["id"]: e for e in changes["items"]}
    assert len(by_id) == 3
    assert by_id[keep["id"]]["summary"] == "Kept"
    assert by_id[drop["id"]]["status"] == "cancelled"

    nothing = await run(anna.events().list(calendarId="primary",
                                           syncToken=changes["nextSyncToken"]))
    assert nothing["items"] == []
    plain = await run(anna.events().list(calendarId="primary"))
    assert drop["id"] not in {e["id"] for e in plain["items"]}

    error = await http_error(anna.events().list(calendarId="primary", syncToken=token,
                                                timeMin="2030-01-01T00:00:00Z"))
    assert error.status_code == 400
    fake.expire_sync_tokens()
    error = await http_error(anna.events().list(calendarId="primary",
                                                syncToken=changes["nextSyncToken"]))
    assert error.status_code == 410 and reason(error) == "fullSyncRequired"


async def test_sync_paging_is_consistent_across_pages(fake, anna):
    for hour in range(8, 12):
        await run(anna.events().insert(calendarId="primary", body=timed(f"E{hour}", hour)))
    first = await run(anna.events().list(calendarId="primary", maxResults=2))
    # a change between pages is left to the next incremental sync, not lost
    moved = fake.user_update_event(ANNA, first["items"][0]["id"], summary="Renamed")
    second = await run(anna.events().list(calendarId="primary", maxResults=2,
                                          pageToken=first["nextPageToken"]))
    assert "nextSyncToken" in second and len(second["items"]) == 2
    changes = await run(anna.events().list(calendarId="primary",
                                           syncToken=second["nextSyncToken"]))
    assert [e["id"] for e in changes["items"]] == [moved["id"]]


async def test_user_helpers_and_moved_instance(fake, anna):
    master = fake.user_insert_event(ANNA, {
        "summary": "Weekly", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
        "start": {"dateTime": "2030-03-04T10:00:00", "timeZone": "Europe/Moscow"},
        "end": {"dateTime": "2030-03-04T11:00:00", "timeZone": "Europe/Moscow"}})
    assert master["start"]["dateTime"] == "2030-03-04T10:00:00+03:00"
    moved = fake.user_move_instance(ANNA, master["id"], "2030-03-11T10:00:00+03:00",
                                    {"dateTime": "2030-03-12T15:00:00+03:00"},
                                    {"dateTime": "2030-03-12T16:00:00+03:00"})
    assert moved["id"] == f"{master['id']}_20300311T070000Z"
    assert moved["recurringEventId"] == master["id"] and "recurrence" not in moved
    got = await run(anna.events().get(calendarId="primary", eventId=moved["id"]))
    assert got["originalStartTime"]["dateTime"] == "2030-03-11T10:00:00+03:00"

    renamed = fake.user_update_event(ANNA, master["id"], summary="Weekly sync")
    assert renamed["sequence"] == master["sequence"] + 1 and renamed["etag"] != master["etag"]
    assert fake.event(ANNA, master["id"])["summary"] == "Weekly sync"
    assert [e["id"] for e in fake.events(ANNA)] == [master["id"], moved["id"]]
    with pytest.raises(Exception, match="time zone"):
        fake.user_insert_event(ANNA, {**timed("x", 9), "recurrence": ["RRULE:FREQ=DAILY"]})


async def test_gcsa_on_top(fake, anna):
    access, refresh = fake.issue_tokens(ANNA)
    gc = GoogleCalendar(credentials=credentials(fake, access, refresh))
    gc.service = anna
    start = datetime(2030, 5, 6, 9, 0)
    event = await asyncio.to_thread(gc.add_event, Event(
        "Demo for ACME", start=start, end=start + timedelta(hours=1),
        timezone="Europe/Moscow", description="bring slides"))
    assert event.id and event.created is not None
    events = await asyncio.to_thread(lambda: list(gc.get_events(
        time_min=datetime(2030, 5, 1), time_max=datetime(2030, 5, 31),
        timezone="Europe/Moscow")))
    assert [(e.id, e.summary, e.description) for e in events] == [
        (event.id, "Demo for ACME", "bring slides")]
    assert events[0].start.hour == 9 and events[0].start.utcoffset() == timedelta(hours=3)


# ---------------------------------------------------------------- push notifications


@pytest_asyncio.fixture
async def receiver():
    """A small web-hook receiver; yields (url, list of received header dicts)."""
    got: list[dict[str, str]] = []

    async def hook(request: web.Request) -> web.Response:
        assert await request.read() == b""
        got.append(dict(request.headers))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", got
    await runner.cleanup()


async def test_watch_notifies_and_stop_silences(fake, anna, receiver):
    plain, got = receiver
    fake.route_https("https://crm.example", plain.rsplit("/", 1)[0])
    url = "https://crm.example/hook"
    channel = await run(anna.events().watch(calendarId="primary", body={
        "id": "chan-1", "type": "web_hook", "address": url, "token": "secret-t",
        "params": {"ttl": "3600"}}))
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
    assert channel["token"] == "secret-t" and int(channel["expiration"]) > 0
    await fake.drain()
    assert [h["X-Goog-Resource-State"] for h in got] == ["sync"]

    fake.user_insert_event(ANNA, timed("Lunch", 13))
    await run(anna.events().insert(calendarId="primary", body=timed("Dinner", 19)))
    await fake.drain()
    assert [h["X-Goog-Resource-State"] for h in got] == ["sync", "exists", "exists"]
    assert [int(h["X-Goog-Message-Number"]) for h in got] == [1, 2, 3]
    last = got[-1]
    assert last["X-Goog-Channel-ID"] == "chan-1" and last["X-Goog-Channel-Token"] == "secret-t"
    assert last["X-Goog-Resource-ID"] == channel["resourceId"]
    assert last["X-Goog-Resource-URI"] == channel["resourceUri"]
    assert last["X-Goog-Channel-Expiration"].endswith("GMT")
    assert all(n["status"] == 200 for n in fake.notifications)

    error = await http_error(anna.events().watch(calendarId="primary", body={
        "id": "chan-1", "type": "web_hook", "address": url}))
    assert error.status_code == 400

    await run(anna.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}))
    fake.user_insert_event(ANNA, timed("Unseen", 20))
    await fake.drain()
    assert len(got) == 3
    error = await http_error(anna.channels().stop(body={
        "id": "chan-1", "resourceId": channel["resourceId"]}))
    assert error.status_code == 404


# ---------------------------------------------------------------- faults and outages


async def test_fail_next_429_with_retry_after(fake, anna):
    fake.fail_next(429, retry_after=2, path_contains="/events")
    await run(anna.calendarList().list())  # does not match path_contains
    error = await http_error(anna.events().list(calendarId="primary"))
    assert error.status_code == 429 and reason(error) == "rateLimitExceeded"
    assert error.resp["retry-after"] == "2"
    assert (await run(anna.events().list(calendarId="primary")))["items"] == []
    assert [c[1] for c in fake.calls] == ["/users/me/calendarList",
                                          "/calendars/primary/events",
                                          "/calendars/primary/events"]
    fake.fail_next(503, times=2)
    for _ in range(2):
        error = await http_error(anna.calendarList().list())
        assert error.status_code == 503 and reason(error) == "backendError"
    await run(anna.calendarList().list())


async def test_restart_keeps_state(fake, anna):
    event = await run(anna.events().insert(calendarId="primary", body=timed("Before", 9)))
    base = fake.base_url
    await fake.stop()
    with pytest.raises(OSError):
        await run(anna.events().get(calendarId="primary", eventId=event["id"]))
    await fake.restart()
    assert fake.base_url == base
    again = await run(anna.events().get(calendarId="primary", eventId=event["id"]))
    assert again["etag"] == event["etag"]


# ---------------------------------------------------------------- strict as documented


async def test_watch_needs_https_and_a_short_token(fake, anna, receiver):
    """"Push notifications": the receiver is an HTTPS server; the token is at most 256
    characters."""
    plain, got = receiver
    body = {"id": "chan-h", "type": "web_hook", "address": plain}
    error = await http_error(anna.events().watch(calendarId="primary", body=body))
    assert error.status_code == 400 and reason(error) == "push.webhookUrlNotHttps"
    fake.route_https("https://crm.example", plain.rsplit("/", 1)[0])
    body.update(address="https://crm.example/hook", token="t" * 257)
    error = await http_error(anna.events().watch(calendarId="primary", body=body))
    assert error.status_code == 400
    body["token"] = "t" * 256
    await run(anna.events().watch(calendarId="primary", body=body))
    # the "sync" message came before the watch call returned
    assert [h["X-Goog-Resource-State"] for h in got] == ["sync"]


async def test_pages_may_be_short_or_empty_and_the_sync_token_is_on_the_last(fake, anna):
    """events.list, maxResults: a page may hold fewer events than asked, or none, and
    still have a nextPageToken; nextSyncToken comes only on the last page."""
    for hour in range(8, 13):
        fake.user_insert_event(ANNA, timed(f"E{hour}", hour))
    fake.page_cap, fake.empty_first_page = 2, True
    pages, token = [], None
    while True:
        page = await run(anna.events().list(calendarId="primary", maxResults=2500,
                                            pageToken=token))
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
        assert "nextSyncToken" not in page
    assert [len(p["items"]) for p in pages] == [0, 2, 2, 1]
    assert "nextSyncToken" in pages[-1]
    assert [e["summary"] for p in pages for e in p["items"]] == [f"E{h}" for h in range(8, 13)]


async def test_sync_token_refuses_show_deleted_false_and_410_says_full_sync(fake, anna):
    page = await run(anna.events().list(calendarId="primary"))
    sync = page["nextSyncToken"]
    error = await http_error(anna.events().list(calendarId="primary", syncToken=sync,
                                                showDeleted=False))
    assert error.status_code == 400
    await run(anna.events().list(calendarId="primary", syncToken=sync, showDeleted=True))
    fake.expire_sync_tokens()
    error = await http_error(anna.events().list(calendarId="primary", syncToken=sync))
    assert error.status_code == 410 and reason(error) == "fullSyncRequired"


async def test_extended_properties_and_reminders_are_limited(fake, anna):
    """"Extended properties": keys over 44 characters dropped, values over 1,024 cut,
    silently; the Event resource: at most 5 reminder overrides."""
    made = await run(anna.events().insert(calendarId="primary", body=timed(
        "Props", 9, extendedProperties={"private": {
            "k" * 44: "v" * 2000, "k" * 45: "dropped", "short": "kept"}})))
    private = made["extendedProperties"]["private"]
    assert set(private) == {"k" * 44, "short"} and private["k" * 44] == "v" * 1024
    overrides = [{"method": "popup", "minutes": m} for m in (5, 10, 15, 30, 60, 120)]
    error = await http_error(anna.events().insert(calendarId="primary", body=timed(
        "Nagging", 10, reminders={"useDefault": False, "overrides": overrides})))
    assert error.status_code == 400
    ok = await run(anna.events().insert(calendarId="primary", body=timed(
        "Enough", 10, reminders={"useDefault": False, "overrides": overrides[:5]})))
    assert len(ok["reminders"]["overrides"]) == 5


async def test_deleted_events_and_cancelled_occurrences_are_listed_bare(fake, anna):
    """The Event resource's status: a deleted event is only sure to have its id; a
    cancelled occurrence its id, recurringEventId and originalStartTime. An occurrence
    can be cancelled without having been changed before."""
    page = await run(anna.events().list(calendarId="primary"))
    sync = page["nextSyncToken"]
    gone = fake.user_insert_event(ANNA, timed("Gone", 9))
    series = fake.user_insert_event(ANNA, {
        "summary": "Daily", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"dateTime": "2030-03-01T10:00:00", "timeZone": "Europe/Moscow"},
        "end": {"dateTime": "2030-03-01T10:30:00", "timeZone": "Europe/Moscow"}})
    fake.user_delete_event(ANNA, gone["id"])
    fake.user_cancel_instance(ANNA, series["id"], "2030-03-02T10:00:00+03:00")
    page = await run(anna.events().list(calendarId="primary", syncToken=sync))
    items = {e["id"]: e for e in page["items"]}
    assert set(items[gone["id"]]) == {"kind", "id", "status"}
    [occurrence] = [e for e in items.values() if e.get("recurringEventId")]
    assert set(occurrence) == {"kind", "id", "status", "recurringEventId",
                               "originalStartTime"}
    assert occurrence["status"] == "cancelled"
    assert occurrence["originalStartTime"]["dateTime"].startswith("2030-03-02T10:00:00")
    full = await run(anna.events().get(calendarId="primary", eventId=gone["id"]))
    assert full["summary"] == "Gone"  # get always returns them whole
