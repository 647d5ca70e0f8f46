"""K-1, issue 19: a backlog goes to Google in batch requests (POST /batch/calendar/v3,
at most 50 calls each), and a part refused inside a batch is handled exactly as the same
call refused on its own: a usage limit stops the round and the row waits, a 409 is
taken over, a 412 is merged; nothing is lost or doubled.

The fake's batch endpoint is checked first with a request written by hand from Google's
published format (not from what our client sends), then through the client and the
engine.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import threading
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

import sync.engine as engine_mod
from models import (
    Activity,
    ActivityAssignee,
    ActivityType,
    AuditLog,
    CalendarEvent,
    CalendarLink,
)
from services import activities as acts
from services import calendar as svc
from sync.google import (
    BATCH_LIMIT,
    CalendarClient,
    GoogleError,
    get_call,
    insert_call,
    oauth_credentials,
)
from tests.fakes.google_calendar import FakeGoogle
from tests.test_sync_engine import (  # noqa: F401 (fixtures)
    clock,
    config_for,
    google,
    link_for,
    live,
    make_engine,
    person,
    pushed,
    row_of,
)

ANNA = "anna@example.com"


def _event(i: int, start: datetime) -> dict:
    begin = start + timedelta(hours=i)
    return {"summary": f"Event {i}", "start": {"dateTime": begin.isoformat()},
            "end": {"dateTime": (begin + timedelta(minutes=30)).isoformat()}}


def _part(content_id: str, method: str, path: str, body: dict | None = None,
          headers: dict | None = None) -> str:
    """One part as the guide shows it: application/http, a Content-ID, then a whole
    HTTP request with the path of the URL only."""
    lines = [f"{method} {path}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    text = json.dumps(body) if body is not None else ""
    if body is not None:
        lines.append("Content-Type: application/json")
    return (f"Content-Type: application/http\r\nContent-ID: <{content_id}>\r\n\r\n"
            + "\r\n".join(lines) + "\r\n\r\n" + text)


async def _post_batch(fake: FakeGoogle, token: str, parts: list[str],
                      content_type: str = "multipart/mixed; boundary=batch_foobarbaz"
                      ) -> tuple[int, str, list[tuple[str, int, str]]]:
    body = "".join(f"--batch_foobarbaz\r\n{p}\r\n" for p in parts) + "--batch_foobarbaz--"
    async with aiohttp.ClientSession() as http, http.post(
            f"{fake.base_url}/batch/calendar/v3", data=body.encode(), headers={
                "Authorization": f"Bearer {token}", "Content-Type": content_type}) as resp:
        raw = await resp.read()
        ctype = resp.headers.get("Content-Type", "")
        status = resp.status
    if not ctype.startswith("multipart/mixed"):
        return status, ctype, []
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
    answers = []
    for part in message.get_payload():
        assert part.get_content_type() == "application/http"
        payload = part.get_payload()
        status_line, rest = payload.split("\r\n", 1)
        answers.append((part["Content-ID"], int(status_line.split()[1]),
                        rest.split("\r\n\r\n", 1)[1]))
    return status, ctype, answers


@pytest.fixture
async def engine(google, database_url, clock):  # noqa: F811
    """Unpaced (as in the benchmark): the batches are what is checked here; the pace
    has tests of its own (test_sync_google_rules)."""
    eng = make_engine(google, write_rate=1_000_000, write_burst=1_000_000)
    yield eng
    await eng.stop()


@pytest.fixture
async def fake():
    g = FakeGoogle()
    g.add_account(ANNA)
    await g.start()
    yield g
    await g.stop()


async def test_k1_fake_batch_answers_each_part_on_its_own(fake):
    """Google's format: one 200 multipart/mixed answer, a part per request in order,
    ``Content-ID: <response-...>``; a 404, 409 and 412 stay in their own part."""
    access, _refresh = fake.issue_tokens(ANNA)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    kept = fake.user_insert_event(ANNA, {**_event(0, start), "id": "kept00001"})
    base = f"/calendar/v3/calendars/{ANNA}/events"
    status, ctype, answers = await _post_batch(fake, access, [
        _part("item1", "POST", base, {**_event(1, start), "id": "fresh0001"}),
        _part("item2", "GET", f"{base}/missing001"),
        _part("item3", "POST", base, {**_event(2, start), "id": "kept00001"}),
        _part("item4", "PATCH", f"{base}/kept00001", {"summary": "x"},
              {"If-Match": '"stale"'}),
        _part("item5", "DELETE", f"{base}/fresh0001"),
    ])
    assert status == 200 and ctype.startswith("multipart/mixed")
    assert [(cid, code) for cid, code, _ in answers] == [
        ("<response-item1>", 200), ("<response-item2>", 404), ("<response-item3>", 409),
        ("<response-item4>", 412), ("<response-item5>", 204)]
    assert json.loads(answers[0][2])["id"] == "fresh0001"
    assert json.loads(answers[3][2])["error"]["errors"][0]["reason"] == "conditionNotMet"
    assert fake.batch_calls == [5]
    # the parts were carried out: one new event, then deleted; the kept one unchanged
    assert [e["id"] for e in fake.events(ANNA)] == ["kept00001"]
    assert fake.events(ANNA)[0]["etag"] == kept["etag"]


async def test_k1_fake_batch_refuses_more_than_fifty_and_what_is_not_multipart(fake):
    access, _refresh = fake.issue_tokens(ANNA)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    base = f"/calendar/v3/calendars/{ANNA}/events"
    parts = [_part(f"i{i}", "POST", base, _event(i, start)) for i in range(51)]
    status, _ctype, answers = await _post_batch(fake, access, parts)
    assert status == 200 and len(answers) == 51
    assert {code for _cid, code, _body in answers} == {403}
    error = json.loads(answers[0][2])["error"]
    assert error["errors"][0]["reason"] == "forbidden"
    assert "inner batch requests" in error["message"]
    assert fake.events(ANNA) == []  # none of them carried out
    # fifty is allowed
    status, _ctype, answers = await _post_batch(fake, access, parts[:50])
    assert [code for _cid, code, _body in answers] == [200] * 50
    assert len(fake.events(ANNA)) == 50
    # not multipart/mixed: the whole request is 400
    status, _ctype, answers = await _post_batch(fake, access, parts[:1],
                                                content_type="application/json")
    assert status == 400 and answers == []


async def test_k1_fake_batch_parts_authenticate_and_take_the_path_only(fake):
    """The outer Authorization applies to every part; a part's own header wins; a full
    URL in a part is refused (the guide: the path of the URL only)."""
    access, _refresh = fake.issue_tokens(ANNA)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    base = f"/calendar/v3/calendars/{ANNA}/events"
    _status, _ctype, answers = await _post_batch(fake, access, [
        _part("a", "POST", base, _event(1, start)),
        _part("b", "POST", base, _event(2, start), {"Authorization": "Bearer wrong"}),
        _part("c", "POST", f"http://127.0.0.1{base}", _event(3, start)),
        _part("d", "GET", "/calendar/v3/nowhere"),
    ])
    assert [code for _cid, code, _body in answers] == [200, 401, 400, 404]
    assert len(fake.events(ANNA)) == 1


async def test_k1_client_batch_answers_as_single_calls_do(fake):
    """CalendarClient.batch (googleapiclient's BatchHttpRequest to the batch endpoint):
    a get of a missing event is None, a refused part its GoogleError; more than 50 calls
    are never sent."""
    _access, refresh = fake.issue_tokens(ANNA)
    cfg = config_for(fake)
    client = CalendarClient(cfg, oauth_credentials(cfg, refresh))
    assert client.batch_uri == f"{fake.base_url}/batch/calendar/v3"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    made, missing, twice = await asyncio.to_thread(client.batch, [
        insert_call(ANNA, {**_event(1, start), "id": "made00001"}),
        get_call(ANNA, "nothing01"),
        insert_call(ANNA, {**_event(1, start), "id": "made00001"}),
    ])
    assert made["id"] == "made00001" and missing is None
    assert isinstance(twice, GoogleError) and twice.status == 409
    with pytest.raises(ValueError, match="at most 50"):
        client.batch([get_call(ANNA, f"x{i:08d}") for i in range(BATCH_LIMIT + 1)])
    assert fake.batch_calls == [3]


async def _backlog(google: FakeGoogle, count: int):  # noqa: F811
    """A person with ``count`` tasks, then connected: ``count`` rows on the outbox."""
    user = await person()
    await acts.ensure_activity_types()
    kind = await ActivityType.get(code="task")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    await Activity.bulk_create([
        Activity(kind="task", type_id=kind.id, title=f"Backlog {i}", author_id=user.id,
                 starts_at=start + timedelta(minutes=30 * i), timezone="Europe/Kyiv")
        for i in range(count)])
    ids = await Activity.filter(author_id=user.id).order_by("id").values_list("id", flat=True)
    await ActivityAssignee.bulk_create([ActivityAssignee(activity_id=i, user_id=user.id)
                                        for i in ids])
    link = await link_for(google, user, f"backlog{user.id}@example.com")
    assert await CalendarEvent.filter(user_id=user.id, dirty=True).count() == count
    return user, link, list(ids)


async def test_k1_a_backlog_of_120_goes_in_three_batch_requests(
        engine, google, clock, monkeypatch):  # noqa: F811
    user, link, ids = await _backlog(google, 120)
    threads = set()
    real = CalendarClient.batch

    def batch(self, calls):
        threads.add(threading.current_thread() is threading.main_thread())
        return real(self, calls)

    monkeypatch.setattr(CalendarClient, "batch", batch)
    singles = len(google.calls)
    assert await pushed(engine, link) == 120
    assert sorted(google.batch_calls) == [20, 50, 50]
    assert engine.batch_calls == 3
    assert threads == {False}  # the HTTP runs in threads, off the event loop
    # every call went inside a batch: 120 inserts recorded by the fake, nothing else
    assert [c[0] for c in google.calls[singles:]] == ["POST"] * 120
    events = live(google, link.calendar_id)
    assert sorted(e["summary"] for e in events) == sorted(f"Backlog {i}" for i in range(120))
    rows = await CalendarEvent.filter(user_id=user.id)
    assert all(r.in_google and not r.dirty and r.etag for r in rows)
    assert {r.etag for r in rows} == {e["etag"] for e in events}


async def test_k1_a_part_limited_inside_a_batch_waits_and_is_sent_again(
        engine, google, clock):  # noqa: F811
    """403 rateLimitExceeded in one part: as for a single call, the round stops, the row
    stays marked without a try counted, and the next push sends it; no doubles."""
    user, link, _ids = await _backlog(google, 60)
    google.fail_next(403, reason="rateLimitExceeded", path_contains="/events",
                     method="POST")
    with pytest.raises(GoogleError) as stopped:
        await pushed(engine, link)
    assert stopped.value.limited
    waiting = await CalendarEvent.filter(user_id=user.id, dirty=True)
    assert len(waiting) == 1
    assert waiting[0].attempts == 0 and waiting[0].last_error.startswith("403")
    assert len(live(google, link.calendar_id)) == 59
    await pushed(engine, link)
    assert len(live(google, link.calendar_id)) == 60
    assert not await CalendarEvent.filter(user_id=user.id, dirty=True).exists()


async def test_k1_a_409_inside_a_batch_is_taken_over_without_doubles(
        engine, google, clock):  # noqa: F811
    """Inserts retried after a crash (the events are there already): each part's 409 is
    followed by a get and an update, in later batches, as on the single path."""
    user, link, ids = await _backlog(google, 30)
    await pushed(engine, link)
    # the crash: ten rows forgot they were sent
    await CalendarEvent.filter(user_id=user.id, activity_id__in=ids[:10]).update(
        in_google=False, etag=None, body_hash=None, dirty=True)
    await Activity.filter(id__in=ids[:10]).update(title="After the crash")
    await CalendarEvent.filter(user_id=user.id, activity_id__in=ids[10:]).update(
        dirty=True, body_hash=None)  # 30 rows due: the batch path
    before = len(google.batch_calls)
    await pushed(engine, link)
    assert len(google.batch_calls) - before >= 2  # the gets and updates came after
    events = live(google, link.calendar_id)
    assert len(events) == 30
    assert sum(e["summary"] == "After the crash" for e in events) == 10
    rows = await CalendarEvent.filter(user_id=user.id)
    assert all(r.in_google and not r.dirty for r in rows)


async def test_k1_a_412_inside_a_batch_is_merged_as_on_the_single_path(
        engine, google, clock):  # noqa: F811
    user, link, ids = await _backlog(google, 20)
    await pushed(engine, link)
    eid = svc.event_id_for(ids[3], user.id)
    # both sides change the title; only the calendar changes the location
    google.user_update_event(link.calendar_id, eid, summary="Calendar's", location="B")
    for aid in ids:
        await acts.do_update_activity(user, aid, {"title": f"Kontakt's {aid}"})
    await CalendarEvent.filter(user_id=user.id).update(next_attempt_at=engine_mod.utcnow())
    await pushed(engine, link)
    merged = await Activity.get(id=ids[3])
    assert merged.title == f"Kontakt's {ids[3]}" and merged.location == "B"
    event = next(e for e in live(google, link.calendar_id) if e["id"] == eid)
    assert event["summary"] == f"Kontakt's {ids[3]}" and event["location"] == "B"
    conflict = await AuditLog.get(object_id=ids[3], action="cal_conflict")
    assert "Calendar's" in conflict.new_value
    assert not await CalendarEvent.filter(user_id=user.id, dirty=True).exists()
    assert sorted(e["summary"] for e in live(google, link.calendar_id)) == sorted(
        f"Kontakt's {aid}" for aid in ids)


async def test_k1_a_batch_refused_as_a_whole_loses_nothing(
        engine, google, clock):  # noqa: F811
    """Google unreachable for the batch: every row of it waits (counted, backed off) as
    a single call refused so would; the next push after the wait sends them all."""
    user, link, _ids = await _backlog(google, 12)
    client = await engine._client(await CalendarLink.get(id=link.id))
    await asyncio.to_thread(client._fresh_token)  # the token endpoint is not the point
    await google.stop()
    with pytest.raises(GoogleError) as stopped:
        await pushed(engine, link)
    assert stopped.value.status == 0
    await google.restart()
    rows = await CalendarEvent.filter(user_id=user.id)
    assert all(r.dirty and not r.in_google for r in rows)
    clock.advance(hours=2)
    await pushed(engine, link)
    assert len(live(google, link.calendar_id)) == 12
    assert not await CalendarEvent.filter(user_id=user.id, dirty=True).exists()
    assert (await row_of(await Activity.get(title="Backlog 0"), user)).attempts == 0
