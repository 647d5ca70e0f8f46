"""/start → menu round trips by registered staff through the real dispatcher,
middlewares and database, against a bare aiogram echo handler in the same run.

Both sides feed the same kind of Update objects to ``Dispatcher.feed_update``
with the same concurrency, and both answer through the same Bot API emulator
over real HTTP (in a process of its own), so the ratio isolates what Kontakt
adds (staff lookup, i18n, keyboard building) from the transport.

    python -m bench.bot_throughput [--quick] [--postgres URL]

Last line: {"updates_per_s", "baseline_updates_per_s", "ratio", ...}; with
``BENCH_PROFILE=1`` one more round of ours runs under cProfile, the costliest calls to
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, Router
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update

from bench.common import bench_database, emit, emulator_process, median, rss_mb
from kontakt.botapi import KontaktSession, keep_response_types

TOKEN = "5555555555:BenchTokenForKontakt"
CONCURRENCY = 32


def make_update(update_id: int, user_id: int, text: str) -> Update:
    return Update.model_validate({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Bench",
                     "language_code": "ru"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    })


async def drive(dp: Dispatcher, bot: Bot, user_ids: list[int], n: int) -> float:
    """Feed n /start updates with CONCURRENCY in flight; return updates per second."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await dp.feed_update(bot, make_update(i + 1, user_ids[i % len(user_ids)], "/start"))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return n / (time.perf_counter() - t0)


def baseline_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp.include_router(router)
    return dp


async def main(quick: bool, postgres: str | None) -> None:
    async with bench_database(postgres) as (url, backend):
        await run(quick, url, backend)


async def run(quick: bool, url: str, backend: str) -> None:
    from bot.factory import build_dispatcher
    from kontakt import db as kdb
    from kontakt.i18n import build_i18n
    from models import Language, Role, User

    n = 1000 if quick else 5000
    rounds = 2 if quick else 3
    await kdb.init_db(url)
    await kdb.migrate(url)
    users = []
    for i in range(50):
        users.append(await User.create(telegram_id=10_000 + i, full_name=f"Bench {i}",
                                       role=Role.MANAGER, language=Language.RU))
    user_ids = [u.telegram_id for u in users]
    i18n = build_i18n("ru")
    async with emulator_process(TOKEN, user_ids[0], user_ids[-1] + 1) as api_url:
        session = KontaktSession(api=TelegramAPIServer.from_base(api_url), limit=64)
        keep_response_types()  # the session and start-up the service has (kontakt.runtime)
        bot = Bot(TOKEN, session=session)
        kontakt_dp = build_dispatcher(
            i18n=i18n, default_language="ru", default_timezone="Europe/Moscow",
            base_url="http://127.0.0.1:8080", bot_username="kontakt_bench_bot",
            webapp_url=None, url_buttons=False)
        base_dp = baseline_dispatcher()
        from kontakt.runtime import freeze_startup_heap
        from services.staff_listen import StaffListener

        listener = None
        if (dsn := kdb.asyncpg_dsn(url)) is not None:  # the staff cache, as the service runs it
            listener = StaffListener(dsn)
            listener.start()
            await asyncio.wait_for(listener.listening.wait(), 10)
        freeze_startup_heap()  # as the service does once it has started
        # warm up both paths
        await drive(kontakt_dp, bot, user_ids, 100)
        await drive(base_dp, bot, user_ids, 100)
        ours, base = [], []
        for _ in range(rounds):  # interleave so machine noise hits both sides alike
            base.append(await drive(base_dp, bot, user_ids, n))
            ours.append(await drive(kontakt_dp, bot, user_ids, n))
        if os.environ.get("BENCH_PROFILE"):  # where our side's time goes, to stderr
            import cProfile
            import pstats
            import sys

            profiler = cProfile.Profile()
            profiler.enable()
            await drive(kontakt_dp, bot, user_ids, n)
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
        await bot.session.close()
        if listener is not None:
            await listener.stop()
    await kdb.close_db()
    ups, bups = median(ours), median(base)
    emit({
        "benchmark": "bot_throughput",
        "backend": backend,
        "updates": n, "rounds": rounds, "concurrency": CONCURRENCY,
        "updates_per_s": round(ups, 1),
        "baseline_updates_per_s": round(bups, 1),
        "ratio": round(ups / bups, 3) if bups else None,
        "rss_mb": round(rss_mb(), 1),
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", help="run on a scratch database of this PostgreSQL "
                        "server instead of SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.postgres))
