"""Shared fixtures: real databases (SQLite always, PostgreSQL when
KONTAKT_TEST_POSTGRES_URL is set), the Bot API emulator over real HTTP with
aiogram pointed at it, the whole service wired by the composition root, a
staff factory and an aiohttp test client.

Every test runs on a pinned clock (``pinned_clock``): the suite must pass on any
day, in any time zone. The instant is ``TEST_NOW``, a plain Wednesday morning; set
``KONTAKT_TEST_NOW`` to run the whole suite at another one, e.g. a Sunday, a month's
last evening or a night when the clocks change:

    KONTAKT_TEST_NOW=2026-03-29T00:30:00+00:00 make test
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kontakt import db as kdb
from kontakt.config import load_settings
from models import Department, Language, Role, User
from web.emulator import BotApiEmulator

PG_URL = os.environ.get("KONTAKT_TEST_POSTGRES_URL")
TEST_TOKEN = "4242424242:TestTokenForKontaktEmulator"
SECRET = "test-secret-key-0123456789abcdef"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_ids = itertools.count(500_000_001)
TEST_NOW = datetime.fromisoformat(os.environ.get("KONTAKT_TEST_NOW")
                                  or "2026-06-10T07:00:00+00:00")  # 10:00 in Moscow
if TEST_NOW.tzinfo is None:
    raise SystemExit("KONTAKT_TEST_NOW needs an offset, e.g. 2026-06-10T07:00:00+00:00")


def pinned_quarter(tz: str = "Europe/Moscow") -> tuple[date, date]:
    """First and last day of the quarter the pinned clock is in, as seen in ``tz``."""
    local = TEST_NOW.astimezone(ZoneInfo(tz)).date()
    first = date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
    after = date(first.year + 1, 1, 1) if first.month == 10 else \
        date(first.year, first.month + 3, 1)
    return first, after - timedelta(days=1)


def in_pinned_quarter(tz: str = "Europe/Moscow") -> datetime:
    """09:00 UTC on the sixth day of that quarter: a start for histories of a few days
    that the quarter's reports count."""
    first, _last = pinned_quarter(tz)
    return datetime.combine(first + timedelta(days=5), time(9), UTC)


@pytest.fixture(autouse=True)
def pinned_clock(request):
    """Python's clock (time.time, datetime.now, date.today, in every thread) starts at
    TEST_NOW for each test and ticks on from there, so timeouts and waits behave as
    usual. The browser tests pin Chromium's clock to the same instant.

    A test whose story is told on named days (a due date on a Sunday, a month's
    backlog) carries ``@pytest.mark.clock("2026-06-10T07:00:00+00:00")`` and starts at
    that instant whatever ``KONTAKT_TEST_NOW`` says."""
    marker = request.node.get_closest_marker("clock")
    start = datetime.fromisoformat(marker.args[0]) if marker else TEST_NOW
    with time_machine.travel(start, tick=True) as traveller:
        yield traveller


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    skip = pytest.mark.skip(reason="no Chromium found (apt-get install chromium); "
                                   "browser tests skipped")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


async def _reset_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


_SQLITE_TEMPLATE: dict[str, str] = {}
_PG_MIGRATED: dict[str, bool] = {}


async def _sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file made once per session; each test gets a copy (running
    the migrations takes seconds, copying the file milliseconds)."""
    if "path" not in _SQLITE_TEMPLATE:
        path = tmp_path_factory.mktemp("template") / "kontakt.sqlite3"
        url = f"sqlite://{path}"
        await kdb.init_db(url)
        await kdb.migrate(url)
        await kdb.close_db()
        _SQLITE_TEMPLATE["path"] = str(path)
    return _SQLITE_TEMPLATE["path"]


async def _empty_postgres(url: str) -> None:
    """Migrated once per session; before each test every table is emptied (and its
    ids restarted) instead of dropped and migrated again. A test that migrated
    away (the migration round trip) marks the schema for a fresh start."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'tortoise_migrations'")]
        applied = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'tortoise_migrations'")
        if _PG_MIGRATED.get(url) and applied and tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                               + " RESTART IDENTITY CASCADE")
            return
    finally:
        await conn.close()
    await _reset_postgres(url)
    await kdb.init_db(url)
    await kdb.migrate(url)
    await kdb.close_db()
    _PG_MIGRATED[url] = True


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request, tmp_path, tmp_path_factory) -> AsyncIterator[str]:
    """An empty, migrated database on each backend."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("KONTAKT_TEST_POSTGRES_URL not set")
        await _empty_postgres(PG_URL)
        url = PG_URL
    else:
        path = tmp_path / "kontakt.sqlite3"
        shutil.copyfile(await _sqlite_template(tmp_path_factory), path)
        url = f"sqlite://{path}"
    await kdb.init_db(url)
    yield url
    await kdb.close_db()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(token=TEST_TOKEN, bot_username="kontakt_test_bot",
                         bot_first_name="Kontakt")
    server = TestServer(emu.make_app(), host="127.0.0.1")
    await server.start_server()
    emu.base_url = str(server.make_url("")).rstrip("/")
    yield emu
    await server.close()


@pytest.fixture
def settings_factory(database_url, emulator, tmp_path):
    def make(**overrides):
        values = dict(
            bot_token=TEST_TOKEN, telegram_api_url=emulator.base_url, database_url=database_url,
            secret_key=SECRET, data_dir=tmp_path, http_host="127.0.0.1", http_port=8080,
            default_language="ru", redis_url="",
        )
        values.update(overrides)
        return load_settings(**values)
    return make


@pytest.fixture
async def service(settings_factory, emulator):
    """The whole service (polling mode) with a test client for its web app."""
    from kontakt.runtime import build_runtime, start, stop

    rt = await build_runtime(settings_factory())
    await start(rt, serve_http=False)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client = client
    # lets helpers wait for the bot to finish handling a press instead of guessing a delay
    emulator.settle = lambda timeout=5.0: settled(rt, emulator, timeout)
    yield rt
    await client.close()
    await stop(rt)


@pytest.fixture
async def staff_world(database_url) -> dict[str, User]:
    """A small company for the service tests of staff matters (A-3, A-5): HQ with the
    Moscow and Kyiv departments, an admin, a head of each, two Moscow managers (Ivan,
    Maria) and a Kyiv one (Olena)."""
    hq = await Department.create(name="HQ")
    msk = await Department.create(name="Moscow", parent=hq)
    kyiv = await Department.create(name="Kyiv", parent=hq)
    return {
        "admin": await User.create(full_name="Anna Admin", telegram_id=1, role=Role.ADMIN),
        "head_msk": await User.create(full_name="Head Moscow", telegram_id=2, role=Role.HEAD,
                                      department=msk),
        "ivan": await User.create(full_name="Ivan Field", telegram_id=3, department=msk,
                                  timezone="Europe/Moscow"),
        "olena": await User.create(full_name="Olena Koval", telegram_id=4, department=kyiv),
        "head_kyiv": await User.create(full_name="Head Kyiv", telegram_id=5, role=Role.HEAD,
                                       department=kyiv),
        "maria": await User.create(full_name="Maria Stone", telegram_id=6, department=msk),
    }


@pytest.fixture
def make_staff(emulator):
    """Create a staff member and the same person in the emulator."""
    async def make(role: Role = Role.MANAGER, *, name: str | None = None,
                   language: str = "ru", department: Department | None = None,
                   telegram_id: int | None = None, **fields) -> User:
        tid = telegram_id or next(_ids)
        name = name or f"Person {tid}"
        first, _, last = name.partition(" ")
        if emulator is not None:
            emulator.add_user(tid, first, last or None, username=f"u{tid}",
                              language_code=language)
        return await User.create(telegram_id=tid, full_name=name, role=role,
                                 language=Language(language), department=department,
                                 telegram_username=f"u{tid}", **fields)
    return make


@pytest.fixture
def new_tg_user(emulator):
    """A Telegram person who is not staff."""
    def make(language: str = "ru", name: str = "Guest Person") -> int:
        tid = next(_ids)
        first, _, last = name.partition(" ")
        emulator.add_user(tid, first, last or None, username=f"g{tid}", language_code=language)
        return tid
    return make


async def say(emulator: BotApiEmulator, user_id: int, text: str, *, timeout: float = 5.0):
    """Send ``text`` as the user and return the bot's next message in that chat."""
    before = max((m["message_id"] for m in emulator.history(user_id)), default=0)
    sent = await emulator.send_message(user_id, text)
    return await emulator.wait_for_bot_message(
        user_id, after_message_id=max(before, sent["message_id"]), timeout=timeout)


async def settled(service, emulator, timeout: float = 5.0) -> None:
    """Every update sent so far was fetched by the bot and fully handled."""
    inflight = service.dispatcher["inflight"]
    await wait_until(lambda: not emulator.pending_updates and inflight.in_flight == 0,
                     timeout=timeout)
    await asyncio.sleep(0.05)
    await wait_until(lambda: not emulator.pending_updates and inflight.in_flight == 0,
                     timeout=timeout)


def keyboard_labels(msg: dict) -> list[str]:
    """Texts of a message's reply keyboard (Telegram does not echo reply keyboards
    back in the Message, so the emulator keeps them under ``_reply_markup``)."""
    markup = msg.get("_reply_markup") or msg.get("reply_markup") or {}
    return [b["text"] for row in markup.get("keyboard", []) for b in row]


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):  # a coroutine, or a query such as .exists()
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


__all__ = ["keyboard_labels", "say", "settled", "wait_until", "web"]


# --- S3-compatible storage: moto in server mode on a free port, a bucket per test ---------
S3_KEY_ID, S3_SECRET = "kontakt-test-key", "kontakt-test-secret-0123456789"


@pytest.fixture(scope="session")
def moto_server():
    """A local S3-compatible server (moto's, in a thread of this process)."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_server):
    """A fresh bucket: ``.name``, ``.endpoint``, ``.settings`` (the KONTAKT_S3_* values as
    load_settings' keywords), ``.env`` (the same as environment) and ``.client`` (boto3,
    to look inside)."""
    import secrets
    from types import SimpleNamespace

    import boto3

    name = f"kontakt-{secrets.token_hex(5)}"
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                          aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET)
    client.create_bucket(Bucket=name)
    values = {"s3_bucket": name, "s3_endpoint_url": moto_server,
              "s3_access_key_id": S3_KEY_ID, "s3_secret_access_key": S3_SECRET}
    return SimpleNamespace(name=name, endpoint=moto_server, client=client, settings=values,
                           env={f"KONTAKT_{k.upper()}": v for k, v in values.items()})
