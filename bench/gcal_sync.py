"""Google Calendar sync (K-1) against the fake Google Calendar v3 server
(tests/fakes/google_calendar.py) in a process of its own, through the real path:
sync.engine with google-api-python-client and gcsa, SQLite, and push notifications
posted by the fake to our webhook route. "The phone" is a second API client of the same
Google account, as a calendar app is; the fake's notification to a channel of the
bench's own says when an event was stored.

- ``initial_sync_s``: a person with 5,000 activities (1,000 with --quick) connects:
  from the connect until every event is in the fake and the first full pull is done;
- ``push_latency_p95_ms``: an activity changed in Kontakt (the commit, then the poke the
  web handlers make) → the event changed in the fake, with the worker running;
- ``pull_latency_p95_ms``: an event changed in the fake → the fake's push notification →
  the activity changed in the database;
- ``list_calls_incremental``: events.list calls to pull 10 changes among them.

The baseline, in the same run: one bare ``events().update`` through
google-api-python-client to the same fake (``baseline_update_p50_ms``/``p95``).
``ratio`` = (``baseline_update_p50_ms`` × ``events``) ÷ ``initial_sync_s``: the initial
sync against the same number of bare updates made one after another; higher is better
(above 1: faster than the bare calls in a row). ``batch_requests``: Google batch requests
the initial sync made (issue 19: up to 50 calls each); ``database``: sqlite, or postgres
with ``--postgres URL`` (a scratch database on that server, dropped afterwards).

    python -m bench.gcal_sync [--quick] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from bench.common import bench_database, emit, rss_mb

SECRET = "bench-secret-key-0123456789abcdef"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else (values or [0])[0]


class Receiver:
    """The bench's own watch channel: the fake tells it when an event was stored."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Goog-Resource-State") == "exists":
            self.changed.set()
        return web.Response()


WRITE_RATE = 1_000_000  # writes a second to one calendar in this bench: unpaced


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # noqa: SLF001


async def _code(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as resp:
        return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


async def main(quick: bool, postgres: str | None = None) -> None:
    async with bench_database(postgres) as (url, backend):
        await run(quick, url, backend)


async def run(quick: bool, url: str, database: str) -> None:
    from kontakt import db as kdb
    from models import (
        Activity,
        ActivityAssignee,
        ActivityType,
        CalendarEvent,
        CalendarLink,
        Role,
        User,
    )
    from services import activities as acts
    from services.clock import utcnow
    from sync.engine import CalendarSync
    from sync.google import CalendarClient, GoogleConfig, exchange_code, oauth_credentials
    from web.api.calendar_sync import google_notification
    from web.keys import CALENDAR_KEY

    n = 1_000 if quick else 5_000
    samples = 20 if quick else 50
    await kdb.init_db(url)
    await kdb.migrate(url)
    await acts.ensure_activity_types()
    # Google in a process of its own, as it is for the service
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fake_google_server", "bench@example.com",
        stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    base = (await proc.stdout.readline()).decode().strip()
    cfg = GoogleConfig(client_id="kontakt-test", client_secret="kontakt-secret",
                       auth_uri=f"{base}/o/oauth2/v2/auth", token_uri=f"{base}/token",
                       revoke_uri=f"{base}/revoke", api_endpoint=f"{base}/calendar/v3/")
    # our own overhead, as for the reminders: unpaced here; the service keeps to 5 writes
    # a second to one calendar for Google's quota (at that pace 1,000 events take 200 s)
    engine = CalendarSync(cfg, secret=SECRET, base_url="https://crm.example", poll_s=3600,
                          write_rate=WRITE_RATE, write_burst=WRITE_RATE)
    hook = web.Application()
    hook[CALENDAR_KEY] = engine
    hook.router.add_post("/hook", google_notification)
    receiver = Receiver()
    hook.router.add_post("/bench", receiver.handle)
    runner, port = await _serve(hook)
    # Google delivers to https only: the fake process routes it here
    proc.stdin.write(f"route https://bench.example http://127.0.0.1:{port}\n".encode())
    await proc.stdin.drain()
    assert (await proc.stdout.readline()).strip() == b"ok"
    engine.webhook_url = "https://bench.example/hook"

    user = await User.create(full_name="Bench Person", telegram_id=1, role=Role.MANAGER)
    task = await ActivityType.get(code="task")
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    acts_rows = [Activity(kind="task", type_id=task.id, title=f"Task {i}", author_id=user.id,
                          starts_at=start + timedelta(minutes=30 * i), timezone="Europe/Kyiv")
                 for i in range(n)]
    await Activity.bulk_create(acts_rows, batch_size=1000)
    ids = await Activity.all().order_by("id").values_list("id", flat=True)
    await ActivityAssignee.bulk_create([ActivityAssignee(activity_id=i, user_id=user.id)
                                        for i in ids], batch_size=1000)

    # connect through the consent screen, then the initial sync
    code = await _code(engine.consent_url(user))
    rss_before = rss_mb()
    t0 = time.perf_counter()
    link = await engine.connect(user, code)
    while await engine.run_once():
        if not await CalendarEvent.filter(dirty=True).exists():
            break
    initial_s = time.perf_counter() - t0
    batch_requests = engine.batch_calls

    # "the phone": another client of the same account, as a calendar app is
    phone_tokens = await asyncio.to_thread(
        exchange_code, cfg, await _code(cfg.consent_url("http://phone.example/cb", "x")),
        "http://phone.example/cb")
    phone = await asyncio.to_thread(CalendarClient, cfg,
                                    oauth_credentials(cfg, phone_tokens["refresh_token"]))
    items, _token, _calls = await asyncio.to_thread(phone.list_events, link.calendar_id, None)
    pushed = len(items)
    await asyncio.to_thread(phone.watch, link.calendar_id, "bench-channel", "t",
                            "https://bench.example/bench", 3600)
    await asyncio.sleep(0.3)

    # the worker runs from here on, as in the service
    engine.start()
    push_ms: list[float] = []
    for i in range(samples):
        aid = ids[i]
        receiver.changed.clear()
        t = time.perf_counter()
        await acts.do_update_activity(user, aid, {"title": f"Changed in Kontakt {i}"},
                                      source="web")
        engine.poke()  # as the web handlers do after the commit
        await asyncio.wait_for(receiver.changed.wait(), 10)
        push_ms.append((time.perf_counter() - t) * 1000)
    await asyncio.sleep(0.3)

    pull_ms: list[float] = []
    for i in range(samples):
        aid = ids[samples + i]
        title = f"Changed in the calendar {i}"
        eid = f"kt{aid}u{user.id}"
        t = time.perf_counter()
        await asyncio.to_thread(lambda e=eid, s=title: phone.events.patch(
            calendarId=link.calendar_id, eventId=e, body={"summary": s}).execute())
        while not await Activity.filter(id=aid, title=title).exists():  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # polling the database is the measurement
        pull_ms.append((time.perf_counter() - t) * 1000)
    await engine.stop()

    # 10 changes among all: one incremental list call
    for i in range(10):
        eid = f"kt{ids[2 * samples + i]}u{user.id}"
        await asyncio.to_thread(lambda e=eid, k=i: phone.events.patch(
            calendarId=link.calendar_id, eventId=e, body={"summary": f"Batch {k}"}).execute())
    engine.list_calls = 0
    await CalendarLink.all().update(pull_wanted_at=utcnow())
    await engine.run_once()
    incremental_calls = engine.list_calls
    applied = await Activity.filter(title__startswith="Batch ").count()

    # baseline: a bare update through google-api-python-client to the same fake
    base_ms: list[float] = []
    eid = f"kt{ids[-1]}u{user.id}"
    body = await asyncio.to_thread(phone.get, link.calendar_id, eid)
    for i in range(samples):
        body = {**body, "summary": f"Bare {i}"}
        t = time.perf_counter()
        await asyncio.to_thread(phone.update, link.calendar_id, eid, body, None)
        base_ms.append((time.perf_counter() - t) * 1000)

    proc.terminate()
    await proc.wait()
    await runner.cleanup()
    await kdb.close_db()
    base_p50 = statistics.median(base_ms)
    emit({
        "bench": "gcal_sync", "quick": quick, "events": n, "write_rate": WRITE_RATE,
        "initial_sync_s": round(initial_s, 2), "initial_pushed": pushed,
        "push_latency_p50_ms": round(statistics.median(push_ms), 1),
        "push_latency_p95_ms": round(p95(push_ms), 1),
        "pull_latency_p50_ms": round(statistics.median(pull_ms), 1),
        "pull_latency_p95_ms": round(p95(pull_ms), 1),
        "list_calls_incremental": incremental_calls, "incremental_applied": applied,
        "baseline_update_p50_ms": round(statistics.median(base_ms), 2),
        "baseline_update_p95_ms": round(p95(base_ms), 2),
        "rss_mb": [round(rss_before, 1), round(rss_mb(), 1)],
        "ratio": round(base_p50 * n / 1000 / initial_s, 2) if initial_s else None,
        "batch_requests": batch_requests, "database": database,
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="run on a scratch database of "
                        "this PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.quick, args.postgres)))
