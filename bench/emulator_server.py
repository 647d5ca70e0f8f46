"""Runs the Bot API emulator alone (a separate process for benchmarks, so its own
work is not counted against the code being measured).

    python -m bench.emulator_server --token T --port P --users 1000:1050
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web


async def main(token: str, port: int, first: int, last: int) -> None:
    from web.emulator import BotApiEmulator

    emu = BotApiEmulator(token=token, bot_username="kontakt_bench_bot", bot_first_name="Bench")
    for uid in range(first, last):
        emu.add_user(uid, "Bench", None, username=None, language_code="ru", started=True)
    runner = web.AppRunner(emu.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", default="0:0")
    a = p.parse_args()
    first, last = (int(x) for x in a.users.split(":"))
    asyncio.run(main(a.token, a.port, first, last))
