"""Counting the SQL statements a piece of code sends (N+1 guards).

Tortoise logs every statement it sends (``tortoise.db_client`` at DEBUG) on both
SQLite and PostgreSQL, inside transactions too; :func:`counted` listens there for the
duration of a ``with`` block. The service logs that logger at INFO and above only (it
would print values), so the level is lowered just for the block and put back after.

Every statement of the process is counted, whichever task sends it: count around code
that nothing else runs beside (:func:`quiet_web_client`: the web app without the
scheduler, the reminders, the outbox or the bot's polling).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp.test_utils import TestClient, TestServer

_CONNECTION_NOTES = ("Created connection", "Closed connection")


class Counted(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.msg, str) or record.msg.startswith(_CONNECTION_NOTES):
            return
        statement = record.args[0] if record.args else record.msg
        self.statements.append(str(statement))

    def __len__(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n".join(s[:200] for s in self.statements)


@contextmanager
def counted() -> Iterator[Counted]:
    """``with counted() as q: ...``; then ``len(q)`` statements were sent
    (``q.statements`` lists them)."""
    logger = logging.getLogger("tortoise.db_client")
    handler = Counted()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # not into the test's captured log
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


async def quiet_web_client(settings):
    """The service's web app under a test client, nothing else started: no job, reminder,
    outbox or polling queries the database beside a counted request. Returns
    (runtime, client); close with :func:`close_quiet`."""
    from kontakt.runtime import build_runtime

    rt = await build_runtime(settings)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client = client
    return rt, client


async def close_quiet(rt) -> None:
    from kontakt.runtime import stop

    await rt.client.close()
    await stop(rt)
