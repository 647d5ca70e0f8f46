"""The loop the reminders and the outbox share (notifications/claimloop.py), over a
small subclass on the outbox table: a due row is claimed by one replica only, a lease
that ran out is taken over and one still running is not, a slow batch renews its lease
into the future (or learns it lost the row), the loop wakes at the next due row (not
before, not in a busy loop), a poke wakes it at once, and ``stop()`` lets the round in
hand finish. The clock is frozen (``services.clock.utcnow`` as the module sees it), so
nothing depends on the date, the time zone or how loaded the machine is."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from models import Channel, OutboundMessage, OutboxState
from notifications import claimloop
from notifications.claimloop import LEASE, ClaimLoop
from services.clock import utcnow
from tests.conftest import wait_until


class Clock:
    """A frozen "now": ``clock.now`` is what utcnow() returns until moved."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(utcnow().replace(microsecond=0))
    monkeypatch.setattr(claimloop, "utcnow", frozen)
    return frozen


class WaitSpy:
    """Stands for ``asyncio`` in the claimloop module: records the timeout of every
    ``wait_for`` (how long the loop means to sleep, how long stop() gives a round), and
    can scale the real waits down so a test does not sit through them."""

    def __init__(self, scale: float = 1.0) -> None:
        self.timeouts: list[float | None] = []
        self.scale = scale

    async def wait_for(self, aw, timeout):
        self.timeouts.append(timeout)
        return await asyncio.wait_for(aw, None if timeout is None else timeout * self.scale)

    def __getattr__(self, name):
        return getattr(asyncio, name)


class MessageLoop(ClaimLoop):
    """The smallest ClaimLoop: "sends" a row by marking it sent, after still_ours()."""

    model = OutboundMessage
    waiting = OutboxState.QUEUED
    sending = OutboxState.SENDING
    name = "test-claimloop"

    def __init__(self, replica: str | None = "a", batch: int = 10) -> None:
        super().__init__(replica=replica, batch=batch)
        self.rounds = 0
        self.fail_rounds = 0  # the next N rounds raise (the database is away)
        self.gate: asyncio.Event | None = None  # a round waits here after claiming
        self.holding = asyncio.Event()  # set while a round waits at the gate
        self.delivered: list[int] = []

    async def run_once(self) -> int:
        self.rounds += 1
        if self.fail_rounds:
            self.fail_rounds -= 1
            raise ConnectionError("the database is away")
        claimed = await self.claim()
        if claimed and self.gate is not None:
            self.holding.set()
            await self.gate.wait()
        for row in claimed:
            if await self.still_ours(row, claimloop.utcnow()):
                await OutboundMessage.filter(id=row.id, claimed_by=row.claimed_by).update(
                    state=OutboxState.SENT, claimed_until=None)
                self.delivered.append(row.id)
                self.sent += 1
        return len(claimed)


async def message(due: datetime, state: OutboxState = OutboxState.QUEUED,
                  **fields) -> OutboundMessage:
    return await OutboundMessage.create(channel=Channel.EMAIL, to_address="a@example.ru",
                                        subject="s", body="b", next_attempt_at=due,
                                        state=state, **fields)


def loop_tasks(name: str = MessageLoop.name) -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == name and not t.done()]


# --- claiming --------------------------------------------------------------------------
async def test_a_due_row_is_claimed_by_one_replica_until_its_lease_runs_out(database_url,
                                                                            clock):
    t0 = clock.now
    overdue = await message(t0 - timedelta(minutes=5))
    due_now = await message(t0)
    later = await message(t0 + timedelta(seconds=1))
    done = await message(t0 - timedelta(hours=1), OutboxState.SENT)
    a, b = MessageLoop("a"), MessageLoop("b")

    claimed = await a.claim()
    assert [r.id for r in claimed] == [overdue.id, due_now.id]
    for row in claimed:
        assert row.state == OutboxState.SENDING
        assert row.claimed_until == t0 + timedelta(minutes=2)  # the lease
        assert row.claimed_by.startswith("a:")
    assert claimed[0].claimed_by == claimed[1].claimed_by  # one token for the round
    # the other replica, at the same moment: nothing left for it
    assert await b.claim() == []
    # within the lease (the sender is slow, not dead): still nobody else's
    clock.now = t0 + timedelta(minutes=2)
    assert [r.id for r in await b.claim()] == [later.id]
    # the lease ran out (the process died while sending): taken over, once
    clock.now = t0 + timedelta(minutes=2, seconds=1)
    taken = await b.claim()
    assert [r.id for r in taken] == [overdue.id, due_now.id]
    assert all(r.claimed_by.startswith("b:") for r in taken)
    assert taken[0].claimed_by != claimed[0].claimed_by
    assert await a.claim() == []
    assert (await OutboundMessage.get(id=done.id)).state == OutboxState.SENT


async def test_each_round_has_its_own_token_and_a_batch_takes_the_oldest(database_url,
                                                                         clock):
    rows = [await message(clock.now - timedelta(minutes=m)) for m in (1, 3, 2)]
    loop = MessageLoop("a", batch=2)
    first = await loop.claim()
    assert {r.id for r in first} == {rows[1].id, rows[2].id}  # the longest waiting first
    second = await loop.claim()
    assert [r.id for r in second] == [rows[0].id]
    assert first[0].claimed_by != second[0].claimed_by  # another round, another token
    assert await loop.claim() == []
    # a replica without a name gets a random one of its own
    one, two = MessageLoop(None), MessageLoop(None)
    assert one.replica and two.replica and one.replica != two.replica


# --- a slow batch: the lease ------------------------------------------------------------
async def test_a_slow_batch_renews_its_lease_into_the_future(database_url, clock):
    t0 = clock.now
    await message(t0)
    a, b = MessageLoop("a"), MessageLoop("b")
    [row] = await a.claim()
    # the first half of the lease: nobody else can hold it, nothing to write
    for seconds in (50, 60):
        clock.now = t0 + timedelta(seconds=seconds)
        assert await a.still_ours(row, clock.now)
        assert (await OutboundMessage.get(id=row.id)).claimed_until == t0 + LEASE
    # past the half: the lease is renewed from now, so nobody takes the row meanwhile
    clock.now = t0 + timedelta(seconds=70)
    assert await a.still_ours(row, clock.now)
    renewed = (await OutboundMessage.get(id=row.id)).claimed_until
    assert renewed == clock.now + timedelta(minutes=2)
    clock.now = t0 + LEASE + timedelta(seconds=1)  # the first lease would be over
    assert await b.claim() == []
    clock.now = renewed + timedelta(seconds=1)  # the renewed one is over: taken over
    assert len(await b.claim()) == 1


async def test_a_row_taken_over_elsewhere_is_no_longer_ours(database_url, clock):
    t0 = clock.now
    await message(t0)
    a, b = MessageLoop("a"), MessageLoop("b")
    [row] = await a.claim()
    clock.now = t0 + LEASE + timedelta(seconds=30)  # our batch outlived its lease
    [theirs] = await b.claim()
    assert not await a.still_ours(row, clock.now)
    kept = await OutboundMessage.get(id=row.id)
    assert (kept.claimed_by, kept.claimed_until) == (theirs.claimed_by,
                                                     theirs.claimed_until)
    assert await b.still_ours(theirs, clock.now)


async def test_a_lease_that_ran_out_unclaimed_is_still_ours(database_url, clock):
    t0 = clock.now
    await message(t0)
    a = MessageLoop("a")
    [row] = await a.claim()
    clock.now = t0 + LEASE + timedelta(seconds=30)
    assert await a.still_ours(row, clock.now)  # nobody took it: ours, renewed
    assert (await OutboundMessage.get(id=row.id)).claimed_until == clock.now + LEASE


# --- when to look again ----------------------------------------------------------------
async def test_the_loop_wakes_just_after_the_next_due_row(database_url, clock):
    loop = MessageLoop()
    t0 = clock.now
    assert await loop.seconds_to_next() == 30.0  # idle: looks again every 30 s
    far = await message(t0 + timedelta(hours=2))
    assert await loop.seconds_to_next() == 30.0
    soon = await message(t0 + timedelta(seconds=10))
    wait = await loop.seconds_to_next()
    assert 10.0 < wait <= 10.1  # not before it is due (it would find nothing)
    # a lease that ends first: the row is taken over when it does
    await message(t0 - timedelta(hours=1), OutboxState.SENDING,
                  claimed_until=t0 + timedelta(seconds=4), claimed_by="x:1")
    assert 4.0 < await loop.seconds_to_next() <= 4.1
    # a row already due: at once
    await message(t0 - timedelta(minutes=1))
    assert await loop.seconds_to_next() == 0.0
    # sent and failed rows are nobody's business
    await OutboundMessage.all().update(state=OutboxState.SENT)
    await OutboundMessage.filter(id=far.id).update(state=OutboxState.FAILED)
    assert await loop.seconds_to_next() == 30.0
    assert soon.id


# --- the running loop ------------------------------------------------------------------
async def test_a_poke_wakes_the_idle_loop_and_it_pauses_again(database_url, monkeypatch):
    spy = WaitSpy()
    monkeypatch.setattr(claimloop, "asyncio", spy)
    loop = MessageLoop()
    first = await message(utcnow() - timedelta(seconds=1))
    loop.start()
    try:
        await wait_until(lambda: loop.delivered == [first.id])
        await wait_until(lambda: spy.timeouts == [30.0])  # idle: sleeps till the cap
        # a row made now: the loop would only see it in 30 s, unless poked
        second = await message(utcnow() - timedelta(seconds=1))
        loop.poke()
        await wait_until(lambda: loop.delivered == [first.id, second.id], timeout=10)
        await wait_until(lambda: len(spy.timeouts) == 2)
        rounds = loop.rounds
        await asyncio.sleep(0.3)  # idle again: no round until the next row or poke
        assert loop.rounds == rounds and spy.timeouts == [30.0, 30.0]
        assert len(loop_tasks()) == 1
        loop.start()  # started twice: still one loop
        assert len(loop_tasks()) == 1
    finally:
        await loop.stop()
    assert loop_tasks() == [] and loop.sent == 2


async def test_stop_lets_the_round_in_hand_finish_and_leaves_the_rest(database_url):
    rows = [await message(utcnow() - timedelta(seconds=s)) for s in (3, 2, 1)]
    loop = MessageLoop(batch=1)
    loop.gate = asyncio.Event()
    loop.start()
    await asyncio.wait_for(loop.holding.wait(), timeout=10)
    task = loop._task
    stopping = asyncio.create_task(loop.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # the round is still sending: stop() waits for it
    loop.gate.set()
    await asyncio.wait_for(stopping, timeout=10)
    assert task.done() and not task.cancelled()
    # the row in hand was sent, not cut off; the backlog waits for the next start
    assert loop.delivered == [rows[0].id]
    states = [(await OutboundMessage.get(id=r.id)).state for r in rows]
    assert states == [OutboxState.SENT, OutboxState.QUEUED, OutboxState.QUEUED]
    # started again (a restart in the same process): the backlog is sent
    loop.gate = None
    loop.start()
    try:
        await wait_until(lambda: len(loop.delivered) == 3, timeout=10)
    finally:
        await loop.stop()
    assert loop.delivered == [r.id for r in rows] and loop.sent == 3


async def test_stop_of_an_idle_loop_ends_it_at_once(database_url, monkeypatch):
    spy = WaitSpy()
    monkeypatch.setattr(claimloop, "asyncio", spy)
    loop = MessageLoop()
    await loop.stop()  # never started: nothing to do
    loop.start()
    await wait_until(lambda: spy.timeouts == [30.0])
    task = loop._task
    await loop.stop()
    # woken and ended by stop(), not cancelled after stop()'s 15 s grace
    assert task.done() and not task.cancelled()
    assert spy.timeouts == [30.0, 15]
    assert loop._task is None and loop_tasks() == []


async def test_a_hung_round_is_cancelled_after_the_grace(database_url, monkeypatch):
    spy = WaitSpy(scale=0.01)  # 15 s of grace last 0.15 s here
    monkeypatch.setattr(claimloop, "asyncio", spy)
    await message(utcnow() - timedelta(seconds=1))
    loop = MessageLoop()
    loop.gate = asyncio.Event()  # never set: the round hangs
    loop.start()
    await asyncio.wait_for(loop.holding.wait(), timeout=10)
    task = loop._task
    await asyncio.wait_for(loop.stop(), timeout=10)
    assert spy.timeouts == [15] and task.cancelled()
    assert loop._task is None and loop.delivered == []


async def test_a_failed_round_is_tried_again_in_five_seconds(database_url, monkeypatch):
    spy = WaitSpy()
    monkeypatch.setattr(claimloop, "asyncio", spy)
    loop = MessageLoop()
    loop.fail_rounds = 1
    loop.start()
    try:
        await wait_until(lambda: spy.timeouts == [5.0])  # neither at once nor in 30 s
        row = await message(utcnow() - timedelta(seconds=1))
        loop.poke()  # the loop survived the failure
        await wait_until(lambda: loop.delivered == [row.id], timeout=10)
    finally:
        await loop.stop()
