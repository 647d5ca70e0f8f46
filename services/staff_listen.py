"""The staff cache on PostgreSQL (issue 19): every update of the bot looks up who sent
it; with one process owning a SQLite file that lookup is cached (services.staff,
StaffCache), and with PostgreSQL it was not, since another replica may dismiss someone.

A trigger on ``staff_user`` (migration 0025) sends ``NOTIFY kontakt_staff`` with every
statement that inserts, changes or deletes staff — whatever writes it: this service,
another replica, a hand-made UPDATE. PostgreSQL delivers a notification when the
change commits. Each process listens on a connection of its own and empties its cache
when one arrives, so a dismissal takes effect within milliseconds on every replica.

The cache is on only while the process is listening: when the connection is lost it
is switched off (every update queries again) until the connection is back, and a
lookup that raced a change is not kept (StaffCache.generation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from services.staff import STAFF_CACHE

log = logging.getLogger("kontakt.staff")

CHANNEL = "kontakt_staff"
TTL_S = 30.0  # a bound on anything missed all the same
RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)


class StaffListener:
    """Listens for changes of staff while running; :meth:`start` and :meth:`stop`."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.listening = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._conn: Any = None
        self._lost = asyncio.Event()

    def _changed(self, *_args: Any) -> None:
        STAFF_CACHE.clear()

    def _terminated(self, *_args: Any) -> None:
        self._off()
        self._lost.set()

    def _off(self) -> None:
        STAFF_CACHE.configure(ttl=0.0)  # every update queries until listening again
        self.listening.clear()

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.add_listener(CHANNEL, self._changed)
            conn.add_termination_listener(self._terminated)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self._lost.clear()
        STAFF_CACHE.configure(ttl=TTL_S)  # empty, and on
        self.listening.set()

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._connect()
                attempt = 0
                await self._lost.wait()
                log.warning("staff cache off: the connection listening for changes was "
                            "lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried; the cache stays off meanwhile
                self._off()
                log.warning("staff cache off: cannot listen for changes (%s)",
                            type(exc).__name__)
            await self._close_conn()
            await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="staff-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._off()
        await self._close_conn()

