"""Reminder delivery (K-15): 100,000 pending reminders in the table and a burst of 1,000
due in the same second, delivered by the real ``ReminderDispatcher`` (its background
loop: ``start()``, ``poke()``, ``stop()``) to the Bot API emulator (a process of its
own) over HTTP, on SQLite and (with --postgres) on a scratch PostgreSQL database.

Set-up per backend: 1,000 active staff with Telegram ids the emulator knows as started,
5 open activities each (some with a client and a place), 100,000 pending reminders
(20,000 with --quick) written with ``bulk_create``, due uniformly over one hour that
begins 5 minutes after the set-up starts (so none comes due while the burst is
measured: ``spread_sent`` must be 0), and 1,000 open activities for the burst.

Measured, in this order:

* ``idle_round_ms``: median of ``seconds_to_next()`` + an empty ``claim()`` with all of
  them pending and none due (what the loop costs while it waits);
* ``claim_1000_ms``: median of one ``claim()`` (batch 500) with 1,000 rows due among
  the pending ones (those rows are deleted after each try);
* the baseline: the same message (text and keyboard as rendered for a burst reminder)
  sent 1,000 times with a bare ``bot.send_message``, 20 at a time like the dispatcher,
  to chats of their own, once before and once after the burst (the faster counts);
* the burst: the dispatcher is started (it goes to sleep), 1,000 reminders due at the
  second T (3-4 s ahead) are inserted and the dispatcher poked, as the app does.
  ``burst_*_ms`` is ``sent_at - due_at`` from the rows (``sent_at`` is stamped just
  before the HTTP call); ``burst_acked_*_ms`` is when the emulator's answer to each
  sendMessage came back, minus T; ``burst_all_sent_s`` is from T until the dispatcher
  has marked all 1,000 sent. ``lost``: burst rows not SENT 120 s after T.
  ``duplicates``: messages beyond one per burst reminder, counted by the emulator (a
  probe message to every staff chat before and after: the difference of the message
  ids is how many messages the chat got in between) and by the bot's session.

The dispatcher runs unpaced here (``max_per_second=None``), to measure our own work;
in service it paces itself to 25 messages a second, under Telegram's limit of about 30
for one bot, so a real burst of 1,000 takes some 40 s by design.

    python -m bench.reminders [--quick] [--postgres URL]

With ``BENCH_PROFILE=1`` the burst runs under cProfile and the 45 costliest calls (by
cumulative time) go to stderr: that is how issue 19 found the datetime parsing of whole
rows, the per-reminder commits and the pydantic generics rebuilt after a collection.

Last line: {"burst_p95_ms" (worse backend), "duplicates", "lost", "baseline_1000_s",
"ratio" (= burst_all_sent_s / baseline_1000_s), "sqlite": {...}, "postgres": {...}|null}
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendMessage

from bench.common import emit, emulator_process, median, pct, rss_mb, scratch_postgres
from kontakt.botapi import KontaktSession, keep_response_types

TOKEN = "5555555555:BenchTokenForKontakt"
USERS = 1000
BURST = 1000
ACTIVITIES_PER_USER = 5
CLIENTS = 200
FIRST_TG = 30_000  # staff: FIRST_TG..+USERS; baseline chats: the next USERS ids
CONCURRENCY = 20  # the dispatcher's default
SPREAD_FROM = timedelta(minutes=5)
SPREAD_OVER = timedelta(hours=1)
LOST_AFTER_S = 120.0
BATCH = 10_000



def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class SendRecorder(BaseRequestMiddleware):
    """Wall time of every successful sendMessage carrying a reminder's snooze button,
    by reminder id (only while ``active``). During the burst only the time and the
    keyboard are kept; the reminder ids are read from the keyboards afterwards
    (:meth:`acks`), so the measuring costs the measured loop next to nothing."""

    def __init__(self) -> None:
        self.active = False
        self.seen: list[tuple[float, object]] = []

    async def __call__(self, make_request, bot, method):
        response = await make_request(bot, method)  # raises on an API error
        if self.active and isinstance(method, SendMessage) and method.reply_markup:
            self.seen.append((time.time(), method.reply_markup))
        return response

    def acks(self) -> dict[int, list[float]]:
        from bot.callbacks import ReminderCB

        out: dict[int, list[float]] = {}
        for done, markup in self.seen:
            rids = {ReminderCB.unpack(b.callback_data).reminder_id
                    for row in markup.inline_keyboard for b in row
                    if (b.callback_data or "").startswith("rm:")}
            for rid in rids:
                out.setdefault(rid, []).append(done)
        return out


async def gather_limited(coros, limit: int) -> list:
    gate = asyncio.Semaphore(limit)

    async def one(coro):
        async with gate:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


async def probe(bot: Bot, chats: list[int]) -> dict[int, int]:
    """Send a plain message to each chat; the emulator numbers a chat's messages 1, 2...,
    so the id it returns tells how many messages the chat holds."""
    async def one(chat: int) -> tuple[int, int]:
        msg = await bot.send_message(chat, "probe")
        return chat, msg.message_id

    return dict(await gather_limited([one(c) for c in chats], CONCURRENCY))


async def baseline(bot: Bot, chats: list[int], text: str, markup) -> tuple[float, float]:
    """1,000 bare sends, CONCURRENCY at a time: (per-message median ms, total s, CPU s
    of this process)."""
    lat: list[float] = []

    async def one(chat: int) -> None:
        t = time.perf_counter()
        await bot.send_message(chat, text, reply_markup=markup)
        lat.append((time.perf_counter() - t) * 1000)

    t0, cpu0 = time.perf_counter(), time.process_time()
    await gather_limited([one(c) for c in chats], CONCURRENCY)
    return median(lat), time.perf_counter() - t0, time.process_time() - cpu0


async def explain(sql: str, dialect: str) -> list[str]:
    from tortoise import connections

    conn = connections.get("default")
    if dialect == "sqlite":
        rows = await conn.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}")
        return [r["detail"] for r in rows]
    rows = await conn.execute_query_dict(f"EXPLAIN ANALYZE {sql}")
    return [next(iter(r.values())) for r in rows]


def compact(plan: list[str]) -> list[str]:
    """The nodes and index conditions of a plan, without costs (for the JSON)."""
    keep = ("->", "Index Cond", "Limit", "Sort", "SEARCH", "SCAN", "USE", "MULTI", "INDEX")
    out = []
    for line in plan:
        line = re.sub(r"\s+\((cost|actual)[^)]*\)", "", line).strip()
        if line.startswith(keep) and not line.startswith("Sort Method"):
            out.append(line)
    return out


async def populate(pending: int, t0: datetime) -> tuple[list[int], list[int], list[int]]:
    """Staff, clients, activities, the spread reminders; returns (user ids, their
    Telegram ids, the burst activities' ids, one per user in the same order)."""
    from tortoise.transactions import in_transaction

    from models import (
        Activity,
        ActivityAssignee,
        ActivityKind,
        ActivityState,
        ActivityType,
        Client,
        Language,
        Reminder,
        Role,
        User,
    )
    from models.staff import staff_search_text
    from services.activities import ensure_activity_types

    rnd = random.Random(15)
    await ensure_activity_types()
    types = await ActivityType.filter(archived=False).order_by("id")
    users = []
    for i in range(USERS):
        u = User(telegram_id=FIRST_TG + i, full_name=f"Сотрудник {i}", role=Role.MANAGER,
                 language=Language.RU, timezone="Europe/Moscow", created_at=t0, updated_at=t0)
        u.search_text = staff_search_text(u)
        users.append(u)
    await User.bulk_create(users)
    staff = await User.filter(telegram_id__gte=FIRST_TG).order_by("telegram_id").values_list(
        "id", "telegram_id")
    user_ids = [s[0] for s in staff]
    await Client.bulk_create([Client(name=f"ООО «Клиент {k}»", created_at=t0, updated_at=t0)
                              for k in range(CLIENTS)])
    client_ids = list(await Client.all().order_by("id").values_list("id", flat=True))

    def activity(uid: int, title: str, starts: datetime, k: int) -> Activity:
        typ = types[k % len(types)]
        return Activity(
            kind=typ.kind, type_id=typ.id, title=title, author_id=uid,
            state=(ActivityState.PLANNED, ActivityState.RESCHEDULED)[k % 7 == 0],
            starts_at=starts, ends_at=starts + timedelta(minutes=30)
            if typ.kind == ActivityKind.EVENT else None,
            client_id=client_ids[k % len(client_ids)] if k % 2 == 0 else None,
            location="ул. Ленина, 1" if k % 3 == 0 else None,
            timezone="Europe/Moscow", source="web", created_at=t0, updated_at=t0)

    spread_start = t0 + SPREAD_FROM
    acts = [activity(uid, f"Звонок {j} по плану", spread_start + SPREAD_OVER * rnd.random(),
                     n * ACTIVITIES_PER_USER + j)
            for n, uid in enumerate(user_ids) for j in range(ACTIVITIES_PER_USER)]
    acts += [activity(uid, "Срочный звонок", t0 + timedelta(minutes=20), n)
             for n, uid in enumerate(user_ids)]
    async with in_transaction() as conn:
        await Activity.bulk_create(acts, batch_size=BATCH, using_db=conn)
    act_ids = list(await Activity.all().order_by("id").values_list("id", flat=True))
    spread_acts = act_ids[:len(user_ids) * ACTIVITIES_PER_USER]
    burst_acts = act_ids[len(spread_acts):]
    assert len(burst_acts) == len(user_ids)
    owner = [uid for uid in user_ids for _ in range(ACTIVITIES_PER_USER)] + user_ids
    async with in_transaction() as conn:
        await ActivityAssignee.bulk_create(
            [ActivityAssignee(activity_id=a, user_id=u, added_at=t0)
             for a, u in zip(act_ids, owner, strict=True)], batch_size=BATCH, using_db=conn)
    # the spread: reminder r belongs to user r % USERS, one of that user's activities
    for start in range(0, pending, BATCH):
        rows = []
        for r in range(start, min(pending, start + BATCH)):
            n = r % len(user_ids)
            due = spread_start + SPREAD_OVER * rnd.random()
            rows.append(Reminder(
                activity_id=spread_acts[n * ACTIVITIES_PER_USER + (r // len(user_ids))
                                        % ACTIVITIES_PER_USER],
                user_id=user_ids[n], lead_minutes=15,
                occurrence_start=due + timedelta(minutes=15), due_at=due,
                next_attempt_at=due, created_at=t0))
        async with in_transaction() as conn:
            await Reminder.bulk_create(rows, using_db=conn)
    return user_ids, [s[1] for s in staff], burst_acts


def burst_rows(user_ids: list[int], acts: list[int], due: datetime) -> list:
    from models import Reminder

    return [Reminder(activity_id=a, user_id=u, lead_minutes=15,
                     occurrence_start=due + timedelta(minutes=15), due_at=due,
                     next_attempt_at=due, created_at=due)
            for u, a in zip(user_ids, acts, strict=True)]


async def run_backend(url: str, backend: str, pending: int, quick: bool, bot: Bot,
                      recorder: SendRecorder, i18n) -> dict:
    from kontakt import db as kdb

    await kdb.init_db(url)
    try:  # an open SQLite connection's thread would keep the process alive on an error
        await kdb.migrate(url)
        return await measure(backend, pending, quick, bot, recorder, i18n)
    finally:
        await kdb.close_db()


async def measure(backend: str, pending: int, quick: bool, bot: Bot, recorder: SendRecorder,
                  i18n) -> dict:
    from tortoise import connections

    from models import Activity, Reminder, ReminderState, User
    from notifications.reminders import ReminderDispatcher
    from services.clock import utcnow

    t0 = utcnow()
    tl = time.perf_counter()
    user_ids, chats, burst_acts = await populate(pending, t0)
    load_s = time.perf_counter() - tl
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "postgres":  # what autovacuum does to a freshly loaded table
        await conn.execute_script("ANALYZE")
    log(f"[{backend}] loaded {pending} reminders in {load_s:.1f} s")

    # the loop's cost while nothing is due
    disp = ReminderDispatcher(bot, i18n, max_per_second=None)
    idle: list[float] = []
    for _ in range(100 if quick else 300):
        t = time.perf_counter()
        await disp.seconds_to_next()
        got = await disp.claim()
        idle.append((time.perf_counter() - t) * 1000)
        assert not got, "a spread reminder came due during the idle measurement"
    now = utcnow()
    plans = {
        "claim": await explain(Reminder.filter(disp.claimable(now)).order_by(
            "next_attempt_at").limit(disp.batch).values_list("id", flat=True).sql(
            params_inline=True), dialect),
        "next_pending": await explain(Reminder.filter(state=ReminderState.PENDING).order_by(
            "next_attempt_at").limit(1).values_list("next_attempt_at", flat=True).sql(
            params_inline=True), dialect),
    }
    for name, plan in plans.items():
        log(f"[{backend}] plan of {name}: " + " | ".join(plan))

    # one claim with 1,000 due (the batch takes 500); the rows go away after each try
    claims: list[float] = []
    for _ in range(3 if quick else 5):
        due = utcnow() - timedelta(seconds=1)
        await Reminder.bulk_create(burst_rows(user_ids, burst_acts, due))
        t = time.perf_counter()
        got = await disp.claim()
        claims.append((time.perf_counter() - t) * 1000)
        assert len(got) == disp.batch, len(got)
        await Reminder.filter(activity_id__in=burst_acts).delete()

    # the baseline: the message a burst reminder makes, sent bare
    activity = await Activity.filter(id=burst_acts[0]).prefetch_related("type").first()
    user = await User.get(id=user_ids[0])
    sample = burst_rows(user_ids[:1], burst_acts[:1], utcnow())[0]
    sample.id = 1
    clients = {activity.client_id: "ООО «Клиент 0»"} if activity.client_id else {}
    text, markup = disp.render(sample, activity, user, clients, late=False, now=utcnow())
    base_chats = [FIRST_TG + USERS + i for i in range(BURST)]
    before = await probe(bot, chats)  # also warms the connection pool up
    base1 = await baseline(bot, base_chats, text, markup)
    log(f"[{backend}] baseline: {base1[0]:.2f} ms per message, {base1[1]:.2f} s for 1,000")

    # the burst, served by the background loop
    dispatcher = ReminderDispatcher(bot, i18n, max_per_second=None)
    profiler = None
    if os.environ.get("BENCH_PROFILE"):  # where the burst's time goes, to stderr
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    dispatcher.start()
    try:
        await asyncio.sleep(0.5)  # it finds nothing due and goes to sleep
        recorder.seen.clear()
        recorder.active = True
        due = utcnow().replace(microsecond=0) + timedelta(seconds=4)
        await Reminder.bulk_create(burst_rows(user_ids, burst_acts, due))
        dispatcher.poke()
        t_due = due.timestamp()
        log(f"[{backend}] burst of {BURST} due in {t_due - time.time():.2f} s")
        all_sent_s = burst_cpu_s = burst_main_cpu_s = None
        await asyncio.sleep(max(0.0, t_due - time.time() - 0.005))
        cpu0, main0 = time.process_time(), time.thread_time()
        while time.time() < t_due + LOST_AFTER_S:
            if dispatcher.sent >= BURST:
                all_sent_s = time.time() - t_due
                burst_cpu_s = time.process_time() - cpu0
                burst_main_cpu_s = time.thread_time() - main0
                break
            await asyncio.sleep(0.002)
        await asyncio.sleep(1.0)  # room for a duplicate to show up
    finally:
        await dispatcher.stop()
        recorder.active = False
        if profiler is not None:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats(os.environ.get("BENCH_SORT", "cumtime")).print_stats(
                int(os.environ.get("BENCH_LINES", "45")))
    after = await probe(bot, chats)
    base2 = await baseline(bot, base_chats, text, markup)
    log(f"[{backend}] baseline again: {base2[0]:.2f} ms per message, {base2[1]:.2f} s")

    rows = await Reminder.filter(activity_id__in=burst_acts).values(
        "id", "state", "sent_at", "due_at", "late")
    sent = [r for r in rows if r["state"] == ReminderState.SENT]
    lateness = [(r["sent_at"] - r["due_at"]).total_seconds() * 1000 for r in sent]
    acks = recorder.acks()
    acked = [(min(ts) - t_due) * 1000 for r in sent if (ts := acks.get(r["id"]))]
    states = Counter(str(r["state"]) for r in rows)
    per_chat = [after[c] - before[c] - 1 for c in chats]
    emulator_extra = sum(max(0, k - 1) for k in per_chat)
    session_extra = sum(len(v) - 1 for v in acks.values())
    spread_sent = await Reminder.filter(state=ReminderState.SENT).exclude(
        activity_id__in=burst_acts).count()
    baseline_s = min(base1[1], base2[1])
    result = {
        "pending": pending, "load_s": round(load_s, 1),
        "idle_round_ms": round(median(idle), 2),
        "idle_round_p95_ms": round(pct(idle, 95), 2),
        "claim_1000_ms": round(median(claims), 1), "claim_due": BURST,
        "claim_batch": disp.batch, "claim_runs_ms": [round(c, 1) for c in claims],
        "burst_p50_ms": round(median(lateness), 1),
        "burst_p95_ms": round(pct(lateness, 95), 1),
        "burst_max_ms": round(max(lateness, default=0.0), 1),
        "burst_min_ms": round(min(lateness, default=0.0), 1),
        "burst_acked_p50_ms": round(median(acked), 1),
        "burst_acked_p95_ms": round(pct(acked, 95), 1),
        "burst_acked_max_ms": round(max(acked, default=0.0), 1),
        "burst_all_sent_s": round(all_sent_s, 3) if all_sent_s is not None else None,
        "states": dict(states), "late_flagged": sum(bool(r["late"]) for r in rows),
        "lost": BURST - len(sent),
        "duplicates": max(emulator_extra, session_extra),
        "emulator_messages": sum(per_chat), "chats_without_message": per_chat.count(0),
        "spread_sent": spread_sent,
        "baseline_send_ms_p50": round(min(base1[0], base2[0]), 2),
        "baseline_1000_s": round(baseline_s, 3),
        "baseline_runs_s": [round(base1[1], 3), round(base2[1], 3)],
        # CPU of this process (all its threads) from the due second until all were
        # marked sent, and for the baseline's runs: where the loop's own work shows
        "burst_cpu_s": round(burst_cpu_s, 3) if burst_cpu_s is not None else None,
        "burst_loop_cpu_s": round(burst_main_cpu_s, 3) if burst_main_cpu_s is not None
        else None,  # of those, the event loop's thread
        "baseline_cpu_s": [round(base1[2], 3), round(base2[2], 3)],
        "ratio": round(all_sent_s / baseline_s, 2) if all_sent_s else None,
        "plans": {name: compact(plan) for name, plan in plans.items()},
    }
    log(f"[{backend}] " + ", ".join(f"{k}={v}" for k, v in result.items() if k != "plans"))
    return result


async def main(quick: bool, postgres: str | None) -> None:
    from kontakt.i18n import build_i18n

    pending = 20_000 if quick else 100_000
    i18n = build_i18n("ru")
    async with emulator_process(TOKEN, FIRST_TG, FIRST_TG + USERS + BURST) as api_url:
        session = KontaktSession(api=TelegramAPIServer.from_base(api_url))
        keep_response_types()  # the session and start-up the service has (kontakt.runtime)
        bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
        recorder = SendRecorder()
        bot.session.middleware(recorder)
        from kontakt.runtime import freeze_startup_heap

        freeze_startup_heap()  # as the service does once it has started
        try:
            tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-"))
            sqlite = await run_backend(f"sqlite://{tmp / 'bench.sqlite3'}", "sqlite",
                                       pending, quick, bot, recorder, i18n)
            pg = None
            if postgres:
                async with scratch_postgres(postgres) as url:
                    pg = await run_backend(url, "postgres", pending, quick, bot, recorder,
                                           i18n)
        finally:
            await bot.session.close()
    backends = [b for b in (sqlite, pg) if b]
    worse = max(backends, key=lambda b: b["burst_p95_ms"])
    emit({
        "benchmark": "reminders",
        "pending": pending, "burst": BURST, "users": USERS,
        "burst_p95_ms": worse["burst_p95_ms"],
        "burst_all_sent_s": worse["burst_all_sent_s"],
        "duplicates": sum(b["duplicates"] for b in backends),
        "lost": sum(b["lost"] for b in backends),
        "baseline_1000_s": worse["baseline_1000_s"],
        "ratio": worse["ratio"],
        "rss_mb": round(rss_mb(), 1),
        "sqlite": sqlite, "postgres": pg,
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", help="also run on a scratch database of this "
                        "PostgreSQL server")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.postgres))
