"""The loop the reminders and the outbox share: the database is the source of truth,
the process only wakes at the next due row.

Each round claims due rows — waiting and due, or a lease that ran out because a
process died while sending — with one conditional UPDATE stamped with a token unique
to the round, so of several replicas each row is claimed once. Before each send a
row is checked to be still ours (:meth:`still_ours`): within the first half of the
lease nobody else can hold it; later the lease is renewed, or the row is left to
whoever claimed it since."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.models import Model

from services.clock import utcnow

log = logging.getLogger("kontakt.claimloop")
LEASE = timedelta(minutes=2)
MAX_SLEEP_S = 30.0


class ClaimLoop:
    model: type[Model]
    waiting: str  # the state of a row that waits for its next_attempt_at
    sending: str  # the state of a claimed row, until claimed_until
    name: str = "loop"
    claim_order: tuple[str, ...] = ("id",)
    claim_fields: tuple[str, ...] = ()  # the columns a claimed row is read with (all: ())

    def __init__(self, *, replica: str | None, batch: int) -> None:
        self.replica = replica or secrets.token_hex(4)
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False  # mutation: equivalent — start() sets it before _run reads it
        self.sent = 0

    # --- what a subclass says ------------------------------------------------------------
    def scope(self) -> Q:
        """The rows this process may claim at all (the outbox: its configured channels)."""
        return Q()

    def can_run(self) -> bool:
        return True

    async def run_once(self) -> int:
        raise NotImplementedError

    # --- life cycle ----------------------------------------------------------------------
    def poke(self) -> None:
        """Something changed (a row was made or moved): look again now."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None and self.can_run():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()  # mutation: equivalent — wait_for has cancelled and awaited it
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while await self.run_once() and not self._stopping:
                    pass
                delay = await self.seconds_to_next()
            except Exception:  # noqa: BLE001 - the database may be away for a while
                log.exception("%s round failed", self.name)
                delay = 5.0
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def seconds_to_next(self) -> float:
        now = utcnow()
        nxt = await self.model.filter(self.scope(), state=self.waiting).order_by(
            "next_attempt_at").limit(1).values_list("next_attempt_at", flat=True)
        lease = await self.model.filter(self.scope(), state=self.sending).order_by(
            "claimed_until").limit(1).values_list("claimed_until", flat=True)
        times = [t for t in (*nxt, *lease) if t is not None]
        if not times:
            return MAX_SLEEP_S
        return max(0.0, min(MAX_SLEEP_S, (min(times) - now).total_seconds() + 0.002))

    # --- claiming ------------------------------------------------------------------------
    def claimable(self, now: datetime) -> Q:
        return (Q(state=self.waiting, next_attempt_at__lte=now)
                | Q(state=self.sending, claimed_until__lt=now))

    async def claim(self, limit: int | None = None) -> list:
        """Claim up to ``limit`` (the batch) due rows for a round of this process."""
        now = utcnow()
        token = f"{self.replica}:{secrets.token_hex(6)}"
        ids = await self.model.filter(self.claimable(now), self.scope()).order_by(
            "next_attempt_at").limit(limit or self.batch).values_list("id", flat=True)
        if not ids:
            return []
        # the condition again: a row another replica claimed meanwhile no longer matches
        await self.model.filter(self.claimable(now), id__in=list(ids)).update(
            state=self.sending, claimed_until=now + LEASE, claimed_by=token)
        rows = self.model.filter(claimed_by=token, state=self.sending).order_by(
            *self.claim_order)
        return await (rows.only(*self.claim_fields) if self.claim_fields else rows)

    async def mark_sent(self, rows: list, fields: list[str], sent_state: str) -> int:
        """Sent rows (their new values set on them) written in one transaction per round,
        only those still claimed by the round that sent them; returns how many were
        written. One ``UPDATE ... WHERE id = ?`` executed for many rows (a prepared
        statement, pipelined by asyncpg) instead of tortoise's bulk_update: its CASE per
        column took pypika some 10 ms of CPU to build for a hundred rows, on the event
        loop the sends share (issue 19, bench.reminders)."""
        from tortoise.transactions import in_transaction

        by_round: dict[str, list] = {}
        for row in rows:
            by_round.setdefault(row.claimed_by, []).append(row)
        written = 0
        for token, mine in by_round.items():
            async with in_transaction() as conn:
                ours = set(await self.model.filter(
                    id__in=[r.id for r in mine], claimed_by=token,
                    state=self.sending).values_list("id", flat=True))
                mine = [r for r in mine if r.id in ours]
                for r in mine:
                    r.state, r.claimed_until = sent_state, None
                if mine:
                    await self._write_rows(conn, mine, ["state", "claimed_until", *fields])
            written += len(mine)
        self.sent += written
        return written

    async def _write_rows(self, conn, rows: list, fields: list[str]) -> None:
        meta = self.model._meta
        dialect = conn.capabilities.dialect
        if dialect not in ("sqlite", "postgres"):
            await self.model.bulk_update(rows, fields=fields, using_db=conn)
            return
        mapped = [meta.fields_map[f] for f in fields]
        pk = meta.pk

        def mark(n: int) -> str:
            return f"${n}" if dialect == "postgres" else "?"

        sets = ", ".join(f'"{f.source_field or f.model_field_name}" = {mark(n)}'
                         for n, f in enumerate(mapped, 1))
        sql = (f'UPDATE "{meta.db_table}" SET {sets} '
               f'WHERE "{pk.source_field or pk.model_field_name}" = {mark(len(mapped) + 1)}')
        await conn.execute_many(sql, [
            [f.to_db_value(getattr(r, f.model_field_name), r) for f in mapped]
            + [pk.to_db_value(r.pk, r)] for r in rows])

    async def still_ours(self, row, now: datetime) -> bool:
        """True when ``row`` may be sent by us (a slow batch may outlive its lease and
        be claimed again elsewhere)."""
        if now <= row.claimed_until - LEASE / 2:
            return True
        return bool(await self.model.filter(id=row.id, claimed_by=row.claimed_by,
                                            state=self.sending).update(
            claimed_until=now + LEASE))


class BatchedMarks:
    """Sent rows are marked in batches, not a write each: on SQLite every write is a
    commit, and a burst of a thousand would wait on a thousand of them. The sends go on
    while a batch is written (``write(batch)``, one or two statements); a batch is
    written when ``FLUSH_ROWS`` have gathered or ``FLUSH_S`` after the first, and what
    is left when the round ends (:meth:`close`). A process that dies between a send and
    its batch leaves the row claimed; the lease runs out and it is sent again (at least
    once, as before, with a window of ``FLUSH_S``)."""

    FLUSH_ROWS = 100
    FLUSH_S = 0.05

    def __init__(self, write) -> None:
        self.write = write
        self.pending: list = []
        self.full = asyncio.Event()
        self.closing = False
        self.task = asyncio.create_task(self._run(), name="claimloop-marks")

    def add(self, *item) -> None:
        self.pending.append(item)
        if len(self.pending) >= self.FLUSH_ROWS:
            self.full.set()

    async def _run(self) -> None:
        while True:
            if len(self.pending) < self.FLUSH_ROWS and not self.closing:
                self.full.clear()
                try:  # wait for the first row, or give the batch a moment to fill
                    await asyncio.wait_for(self.full.wait(), timeout=self.FLUSH_S)
                except TimeoutError:
                    pass
            batch, self.pending = self.pending, []
            if batch:
                await self._write(batch)
            if self.closing and not self.pending:
                return

    async def _write(self, batch: list) -> None:
        for attempt in range(3):
            try:
                await self.write(batch)
                return
            except Exception:  # noqa: BLE001 - the database may blink; the lease is the net
                log.exception("marking %s rows sent failed (try %s)", len(batch), attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))

    async def close(self) -> None:
        self.closing = True
        self.full.set()
        await self.task
