"""Two `kontakt run` replicas, real processes, on one PostgreSQL database and one Redis,
their files in one S3 bucket (moto in server mode) and each with a data folder of its
own, Telegram's webhooks coming through a round-robin balancer: a file uploaded through
one replica is downloaded through the other (from the web and from the bot), and the
reminders, the outbox's emails and the Google Calendar pushes that both replicas race
for are each done exactly once.

Skipped, saying why, when PostgreSQL (KONTAKT_TEST_POSTGRES_URL) or Redis
(KONTAKT_TEST_REDIS_URL, default redis://127.0.0.1:6379) cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import FormData, web
from time_machine import escape_hatch

from kontakt import db as kdb
from models import CalendarEvent, Document, OutboundMessage, OutboxState, Reminder, Role
from models import ReminderState as RS
from services import activities as acts
from services import calendar as cal
from services import clients as svc
from services import documents as docs
from services.clock import utcnow
from services.crypto import encrypt
from services.storage import S3FileStore
from tests.conftest import PG_URL, S3_KEY_ID, S3_SECRET, SECRET, TEST_TOKEN, say, wait_until
from tests.fakes.google_calendar import FakeGoogle
from tests.test_bot_clients import press
from tests.test_outbox import _server
from tests.test_process import BASE_ENV, _free_port, _wait_health

REDIS_URL = os.environ.get("KONTAKT_TEST_REDIS_URL", "redis://127.0.0.1:6379")
PEOPLE = 4  # managers, each with a Google calendar
PER_PERSON = 6  # activities each: a reminder and a calendar event apiece
EMAILS = 30
# seconds after the work is made: the replicas are up by the later waves (starting takes
# a few seconds), and both wake for each wave at once and race for its rows
WAVES = (0, 12, 16, 20)


async def _reachable_or_skip() -> None:
    import asyncpg
    import redis.asyncio as aioredis

    if not PG_URL:
        pytest.skip("KONTAKT_TEST_POSTGRES_URL not set (two replicas need PostgreSQL)")
    try:
        conn = await asyncpg.connect(PG_URL.replace("postgres://", "postgresql://", 1),
                                     timeout=5)
        await conn.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure: no Redis here
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()


@pytest.fixture
async def shared_db():
    """A database of its own on the PostgreSQL server, migrated, dropped afterwards (so
    other tests on the same server are not disturbed)."""
    import asyncpg

    await _reachable_or_skip()
    name = f"kontakt_replicas_{secrets.token_hex(4)}"
    admin = PG_URL.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    await kdb.init_db(url)
    await kdb.migrate(url)
    yield url
    await kdb.close_db()
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class Balancer:
    """Round robin over the replicas, as a load balancer in front of them would be."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turn = itertools.count()
        self.hits: Counter[str] = Counter()
        self.http: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.http = aiohttp.ClientSession()
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        port = _free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def forward(self, request: web.Request) -> web.Response:
        backend = self.backends[next(self.turn) % len(self.backends)]
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length", "transfer-encoding")}
        try:
            async with self.http.request(request.method, backend + request.path_qs,
                                         data=await request.read(), headers=headers) as resp:
                body = await resp.read()
                self.hits[backend] += 1
                return web.Response(body=body, status=resp.status, headers={
                    "Content-Type": resp.headers.get("Content-Type",
                                                     "application/octet-stream")})
        except aiohttp.ClientError:  # a replica starting or stopping: Telegram retries
            return web.Response(status=502)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.http is not None:
            await self.http.close()


def _log_file(folder: Path):
    folder.mkdir(parents=True)
    return (folder / "log.txt").open("wb")  # a file, not a pipe: a full pipe would stall it


async def _spawn(env: dict, folder: Path) -> asyncio.subprocess.Process:
    log = _log_file(folder)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kontakt", "run", env={**BASE_ENV, **env}, cwd=str(folder),
            stdout=log, stderr=log)
    finally:
        log.close()


async def _same(got, expected) -> bool:
    return await got == expected


async def test_two_replicas_share_files_and_do_each_job_once(
        shared_db, emulator, make_staff, s3_bucket, tmp_path, pinned_clock):
    # the replicas live in real time: so does this process from here on
    pinned_clock.move_to(datetime.fromtimestamp(escape_hatch.time.time(), UTC))
    google = FakeGoogle()
    await google.start()
    smtp, box = _server()
    ports = [_free_port(), _free_port()]
    backends = [f"http://127.0.0.1:{p}" for p in ports]
    balancer = Balancer(backends)
    await balancer.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        # --- the work both replicas will race for, ready before they start ---------------
        people = []
        for i in range(PEOPLE):
            email = f"person{i}@example.com"
            user = await make_staff(Role.MANAGER, language="en", name=f"Person{i} Replica",
                                    email=email,
                                    telegram_id=7_000_000_000 + secrets.randbelow(10**9))
            await emulator.send_message(user.telegram_id, "/start")  # the bot may write
            google.add_account(email)
            _access, refresh = google.issue_tokens(email)
            await cal.do_save_link(user, mode="oauth", account=email,
                                   token=encrypt(SECRET, refresh), calendar_id=email,
                                   calendar_ours=False, calendar_name=email)
            people.append(user)
        now = utcnow()
        titles: dict[int, list[str]] = {}
        for user in people:
            titles[user.id] = []
            for j in range(PER_PERSON):
                wave = WAVES[j % len(WAVES)]
                title = f"Meeting {user.id}-{j}"
                await acts.do_create_activity(user, {
                    "title": title, "type": "meeting", "reminders": [15],
                    "starts_at": now + timedelta(minutes=15, seconds=wave)})
                titles[user.id].append(title)
            # the person's calendar pushes come due in a wave too
            await CalendarEvent.filter(user_id=user.id).update(next_attempt_at=now + timedelta(
                seconds=WAVES[user.id % len(WAVES)]))
        assert await Reminder.filter(state=RS.PENDING).count() == PEOPLE * PER_PERSON
        assert await CalendarEvent.filter(dirty=True).count() == PEOPLE * PER_PERSON
        owner = await make_staff(Role.MANAGER, language="en", name="Filer Replica",
                                 telegram_id=7_000_000_000 + secrets.randbelow(10**9))
        client = (await svc.do_create_client(owner, {"name": "Shared Files"})).client
        store = S3FileStore(bucket=s3_bucket.name, endpoint_url=s3_bucket.endpoint,
                            access_key_id=S3_KEY_ID, secret_access_key=S3_SECRET)
        offer = await docs.do_attach(owner, client.id, filename="offer.pdf",
                                     content=b"%PDF offer", mime_type="application/pdf",
                                     store=store)
        await store.close()
        for k in range(EMAILS):
            await OutboundMessage.create(
                channel="email", to_address=f"client{k}@example.ru", subject=f"Offer {k}",
                body="Hello", attachments=[offer.id] if k == 0 else [],
                next_attempt_at=now + timedelta(seconds=WAVES[k % len(WAVES)]))

        # --- two replicas, started together ---------------------------------------------
        common = {
            "KONTAKT_BOT_TOKEN": TEST_TOKEN, "KONTAKT_SECRET_KEY": SECRET,
            "KONTAKT_TELEGRAM_API_URL": emulator.base_url, "KONTAKT_PUBLIC_URL": balancer.url,
            "KONTAKT_DATABASE_URL": shared_db,
            "KONTAKT_REDIS_URL": f"{REDIS_URL.rstrip('/')}/{1 + secrets.randbelow(15)}",
            "KONTAKT_DEFAULT_LANGUAGE": "en", "KONTAKT_LOG_LEVEL": "INFO",
            "KONTAKT_SMTP_HOST": "127.0.0.1", "KONTAKT_SMTP_PORT": str(box.port),
            "KONTAKT_SMTP_SECURITY": "none", "KONTAKT_MAIL_FROM": "crm@example.ru",
            "KONTAKT_GOOGLE_CLIENT_ID": google.client_id,
            "KONTAKT_GOOGLE_CLIENT_SECRET": google.client_secret,
            "KONTAKT_GOOGLE_AUTH_URI": google.auth_uri,
            "KONTAKT_GOOGLE_TOKEN_URI": google.token_uri,
            "KONTAKT_GOOGLE_REVOKE_URI": google.revoke_uri,
            "KONTAKT_GOOGLE_API_ENDPOINT": google.calendar_api_endpoint.rstrip("/"),
            "KONTAKT_CALENDAR_POLL_S": "3600", **s3_bucket.env}
        folders = [tmp_path / "replica-a", tmp_path / "replica-b"]
        procs = list(await asyncio.gather(*(
            _spawn({**common, "KONTAKT_HTTP_PORT": str(port), "KONTAKT_DATA_DIR": str(folder)},
                   folder) for port, folder in zip(ports, folders, strict=True))))
        for backend in backends:
            health = await _wait_health(f"{backend}/health", 60)
            assert health["bot_mode"] == "webhook" and health["database"] == "ok"

        # --- a file uploaded through one replica is downloaded through the other ----------
        a, b = backends
        jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1 too
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            init = emulator.webapp_init_data(owner.telegram_id)
            async with http.post(f"{a}/api/v1/auth/webapp", json={"init_data": init}) as r:
                assert r.status == 200, await r.text()
            content = os.urandom(1024 * 1024 + 3)
            form = FormData()
            form.add_field("file", content, filename="contract.bin",
                           content_type="application/octet-stream")
            async with http.post(f"{a}/api/v1/clients/{client.id}/documents", data=form) as r:
                assert r.status == 201, await r.text()
                uploaded = (await r.json())["id"]
            async with http.get(f"{b}/api/v1/documents/{uploaded}") as r:
                assert r.status == 200
                assert r.headers["Content-Disposition"] == (
                    "attachment; filename*=UTF-8''contract.bin")
                assert await r.read() == content
            async with http.get(f"{a}/api/v1/documents/{offer.id}") as r:
                assert await r.read() == b"%PDF offer"

            # from the bot: its updates alternate between the replicas (dialog state in
            # Redis), and the file it stores is read back through both
            chat = owner.telegram_id
            reply = await say(emulator, chat, "/find shared files", timeout=15)
            before = await press(emulator, chat, reply, "Shared Files")
            await emulator.wait_for_bot_message(chat, after_message_id=before, timeout=15)
            sent = await emulator.send_document(chat, "act.pdf", b"%PDF act", "application/pdf")
            ok = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"],
                                                     timeout=15)
            assert "Attached" in ok["text"]
            from_bot = await Document.get(client_id=client.id, filename="act.pdf")
            for backend in backends:
                async with http.get(f"{backend}/api/v1/documents/{from_bot.id}") as r:
                    assert await r.read() == b"%PDF act"
        assert all(balancer.hits[x] > 0 for x in backends), balancer.hits
        for folder in folders:  # no replica kept a file of its own
            assert not (folder / "documents").exists()

        # --- each reminder, email and calendar push done once ----------------------------
        async def progress() -> dict:
            return {"reminders": Counter(await Reminder.all().values_list("state", flat=True)),
                    "emails": Counter(await OutboundMessage.all().values_list(
                        "state", flat=True)),
                    "calendar dirty": await CalendarEvent.filter(dirty=True).count()}

        done = {"reminders": Counter({RS.SENT: PEOPLE * PER_PERSON}),
                "emails": Counter({OutboxState.SENT: EMAILS}), "calendar dirty": 0}
        with contextlib.suppress(AssertionError):
            await wait_until(lambda: _same(progress(), done), timeout=60, interval=0.5)
        assert await progress() == done, [
            *await Reminder.exclude(state=RS.SENT).limit(3).values_list("last_error", flat=True),
            *await OutboundMessage.exclude(state=OutboxState.SENT).limit(3).values_list(
                "last_error", flat=True)]
        await asyncio.sleep(2)  # time for a second send, if one were coming
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(proc.wait(), 30) for proc in procs]
        await balancer.stop()
        smtp.stop()
        await google.stop()
    logs = [(folder / "log.txt").read_text() for folder in folders]
    assert codes == [0, 0], logs
    for log in logs:
        assert "Traceback" not in log, log
        assert S3_SECRET not in log and "attached files are kept in the bucket" in log

    for user in people:
        reminders = Counter(m["text"].split("\n")[0] for m in emulator.history(user.telegram_id)
                            if m.get("text", "").startswith("⏰"))
        assert sorted(reminders.values()) == [1] * PER_PERSON, reminders
        assert all(any(t in line for line in reminders) for t in titles[user.id])
        inserts = [c for c in google.calls
                   if c[0] == "POST" and c[1] == f"/calendars/{user.email}/events"]
        assert len(inserts) == PER_PERSON
        assert sorted(e["summary"] for e in google.events(user.email)) == sorted(
            titles[user.id])
    ids = Counter(m["Message-ID"] for m in box.parsed)
    assert len(ids) == EMAILS and set(ids.values()) == {1}
    assert [p.get_filename() for m in box.parsed for p in m.iter_attachments()] == [
        "offer.pdf"]
    # every email went on its first try, every reminder once
    assert set(await OutboundMessage.all().values_list("attempts", flat=True)) == {1}
    assert set(await Reminder.all().values_list("state", flat=True)) == {RS.SENT}
