"""The staff cache on PostgreSQL (issue 19, services/staff_listen.py): on while the
process listens for changes of staff, emptied by any change whatever wrote it, off
while the listening connection is lost."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from kontakt.db import asyncpg_dsn
from models import Role, User
from services import staff_listen
from services.staff import STAFF_CACHE, get_active_by_telegram_id
from services.staff_listen import StaffListener


def test_the_address_given_to_the_listener():
    assert asyncpg_dsn("sqlite:///tmp/x.sqlite3") is None
    assert asyncpg_dsn("postgres://u:p@db:5432/crm?minsize=2&maxsize=20&ssl=require") == (
        "postgresql://u:p@db:5432/crm?ssl=require")
    assert asyncpg_dsn("asyncpg://u@db/crm") == "postgresql://u@db/crm"
    assert asyncpg_dsn("postgresql://u@db/crm") == "postgresql://u@db/crm"


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def listening(database_url, monkeypatch):
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL only: on SQLite the one process empties its cache itself")
    monkeypatch.setattr(staff_listen, "RETRY_S", (0.2,))
    listener = StaffListener(asyncpg_dsn(database_url))
    listener.start()
    await asyncio.wait_for(listener.listening.wait(), 10)
    yield listener
    await listener.stop()
    assert STAFF_CACHE.ttl == 0.0  # stopped: every update queries again


async def test_a_change_written_elsewhere_empties_the_cache_at_once(database_url, listening):
    await User.create(full_name="A", telegram_id=71, role=Role.ADMIN)
    person = await User.create(full_name="P", telegram_id=72, language="ru")
    assert STAFF_CACHE.ttl > 0
    assert (await get_active_by_telegram_id(72)).language == "ru"
    assert STAFF_CACHE.get(72) is not None  # cached: the next update makes no query
    # another replica, or a hand-made UPDATE, on a connection of its own
    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await other.execute("UPDATE staff_user SET status = 'dismissed' WHERE id = $1",
                            person.id)
        await _until(lambda: STAFF_CACHE.get(72) is None)
        assert await get_active_by_telegram_id(72) is None
        # a change not yet committed is not heard of: the cache keeps what is true
        assert (await get_active_by_telegram_id(71)).full_name == "A"
        async with other.transaction():
            await other.execute("UPDATE staff_user SET full_name = 'B' WHERE telegram_id = 71")
            await asyncio.sleep(0.2)
            assert STAFF_CACHE.get(71) is not None
        await _until(lambda: STAFF_CACHE.get(71) is None)
        assert (await get_active_by_telegram_id(71)).full_name == "B"
    finally:
        await other.close()


async def test_the_cache_is_off_while_the_listening_connection_is_lost(database_url,
                                                                        listening):
    await User.create(full_name="P", telegram_id=72)
    await get_active_by_telegram_id(72)
    assert STAFF_CACHE.get(72) is not None
    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        pid = listening._conn.get_server_pid()  # noqa: SLF001
        await other.execute("SELECT pg_terminate_backend($1)", pid)
        await _until(lambda: not listening.listening.is_set() or
                     listening._conn.get_server_pid() != pid)  # noqa: SLF001
        # off at once (the cached entry gone), on again once it listens anew
        await asyncio.wait_for(listening.listening.wait(), 10)
        assert listening._conn.get_server_pid() != pid  # noqa: SLF001
        assert STAFF_CACHE.get(72) is None
        await other.execute("UPDATE staff_user SET status = 'dismissed' WHERE telegram_id = 72")
        await _until(lambda: STAFF_CACHE.get(72) is None)
        assert await get_active_by_telegram_id(72) is None
    finally:
        await other.close()


async def test_the_service_listens_on_postgresql_only(service, database_url):
    if database_url.startswith("postgres"):
        assert service.staff_listener is not None
        await asyncio.wait_for(service.staff_listener.listening.wait(), 10)
        assert STAFF_CACHE.ttl > 0
    else:
        assert service.staff_listener is None
