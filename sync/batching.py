"""How the push reaches Google (K-1, issue 19): one call at a time (:class:`Direct`, a
few changes) or gathered into Google's batch requests (:class:`Batcher`, a backlog: the
first push after connecting, a day of changes after an outage).

Both offer the same coroutines (insert, get, update, delete, calendar_exists), answering
exactly as :class:`sync.google.CalendarClient`'s methods do, so the push handles a
part refused inside a batch (a usage limit, 404, 409, 412...) with the very code that
handles a refused single call. The blocking HTTP runs in a thread, as every call to
Google does.

The batcher runs the rows' jobs side by side. A call waits in a queue; the queue is sent
(at most :data:`sync.google.BATCH_LIMIT` calls, Google's batch limit) when it is full,
when every job still running is waiting on Google (the others are reading or writing the
database: their calls come soon), or :data:`LINGER` seconds after its first call came (a
paced backlog: the jobs come through the pacer one by one). A follow-up call (the get
after a 409 or a 412) goes in a later batch. Each connection of the person's pool
carries one batch at a time. When a job stops the round (a usage limit, Google unwell),
calls not yet sent are not made: they raise :class:`RoundStopped` and their rows go back
on the outbox untouched, as the rows a stopped single-call round did not reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from sync.google import (
    BATCH_LIMIT,
    CalendarClient,
    Call,
    calendar_exists_call,
    delete_call,
    get_call,
    insert_call,
    update_call,
)

LINGER = 0.25  # seconds a call waits at most for others to fill its batch


class RoundStopped(Exception):
    """A call not made because the push round stopped meanwhile."""


class Direct:
    """Each call on its own, in a thread."""

    def __init__(self, client: CalendarClient) -> None:
        self.client = client

    async def insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.client.insert, calendar_id, body)

    async def get(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.client.get, calendar_id, event_id)

    async def update(self, calendar_id: str, event_id: str, body: dict[str, Any],
                     etag: str | None) -> dict[str, Any]:
        return await asyncio.to_thread(self.client.update, calendar_id, event_id, body, etag)

    async def delete(self, calendar_id: str, event_id: str) -> None:
        await asyncio.to_thread(self.client.delete, calendar_id, event_id)

    async def calendar_exists(self, calendar_id: str) -> bool:
        return await asyncio.to_thread(self.client.calendar_exists, calendar_id)


class Batcher:
    """Calls of jobs run side by side, sent as batch requests over ``clients`` (one
    batch in flight per client: an httplib2 connection is not shared between threads).
    ``batches`` counts the batch requests sent."""

    def __init__(self, clients: list[CalendarClient], size: int = BATCH_LIMIT) -> None:
        if not clients or not 1 <= size <= BATCH_LIMIT:
            raise ValueError("a batcher needs a client and 1..BATCH_LIMIT calls a batch")
        self.free, self.size = list(clients), size
        self.queue: list[tuple[Call, asyncio.Future[Any]]] = []
        self.active = 0  # jobs running
        self.in_flight = 0  # calls sent, not answered yet
        self.stopped = False
        self.batches = 0
        self._sending: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def gather(self, jobs: list[Coroutine[Any, Any, Any]]) -> list[Any]:
        """Run the jobs side by side; their results or exceptions, in order."""
        self.active += len(jobs)
        try:
            return await asyncio.gather(*(self._job(job) for job in jobs),
                                        return_exceptions=True)
        finally:
            self._cancel_timer()

    async def _job(self, job: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await job
        except BaseException:
            self.stop()
            raise
        finally:
            self.active -= 1
            self._flush()

    def stop(self) -> None:
        """Calls not sent yet are not made."""
        self.stopped = True
        self._cancel_timer()
        queue, self.queue = self.queue, []
        for _call, future in queue:
            if not future.done():
                future.set_exception(RoundStopped())

    async def run(self, call: Call) -> Any:
        if self.stopped:
            raise RoundStopped()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append((call, future))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(LINGER, self._linger)
        self._flush()
        return await future

    def _linger(self) -> None:
        self._timer = None
        self._flush(force=True)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self, *, force: bool = False) -> None:
        while self.queue and self.free and (
                force or len(self.queue) >= self.size
                or len(self.queue) + self.in_flight >= self.active):
            take, self.queue = self.queue[:self.size], self.queue[self.size:]
            self.in_flight += len(take)
            self.batches += 1
            task = asyncio.create_task(self._send(self.free.pop(), take))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        if not self.queue:
            self._cancel_timer()

    async def _send(self, client: CalendarClient,
                    take: list[tuple[Call, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await asyncio.to_thread(client.batch, [call for call, _ in take])
        except BaseException as exc:  # the batch as a whole: every call of it fails so
            for _call, future in take:
                if not future.done():
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                    else:
                        future.cancel()
            if not isinstance(exc, Exception):
                raise
        else:
            for (_call, future), outcome in zip(take, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        finally:
            self.in_flight -= len(take)
            self.free.append(client)
            self._flush()

    # the calls the push makes, answering as CalendarClient's methods do
    async def insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.run(insert_call(calendar_id, body))

    async def get(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        return await self.run(get_call(calendar_id, event_id))

    async def update(self, calendar_id: str, event_id: str, body: dict[str, Any],
                     etag: str | None) -> dict[str, Any]:
        return await self.run(update_call(calendar_id, event_id, body, etag))

    async def delete(self, calendar_id: str, event_id: str) -> None:
        await self.run(delete_call(calendar_id, event_id))

    async def calendar_exists(self, calendar_id: str) -> bool:
        return await self.run(calendar_exists_call(calendar_id))
