"""A mailing (K-16, A-18) of 10,000 personalised emails (2,000 with --quick) to a local
aiosmtpd, through the real path: services.mailings makes the list and the pump
personalises each email into the outbox; notifications.outbox claims and sends them
over SMTP. The baseline, in the same run, is the same number of ready emails sent by
a bare ``aiosmtplib.send`` at the same concurrency.

    python -m bench.mailing [--quick] [--postgres URL]

On SQLite, or with ``--postgres`` on a scratch database of that PostgreSQL server.

With ``BENCH_PROFILE=1`` the mailing runs under cProfile, the costliest calls to stderr
(``BENCH_SORT=cumulative`` and ``BENCH_LINES=60`` to sort and cut otherwise).

Last line: {"emails_per_s", "baseline_emails_per_s", "ratio", "rss_mb" (before/after),
"duplicates", "lost", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
from collections import Counter
from email.message import EmailMessage

import aiosmtplib
from aiosmtpd.controller import Controller

from bench.common import bench_database, emit, rss_mb

CONCURRENCY = 20


class Sink:
    def __init__(self) -> None:
        self.rcpts: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope):
        for r in envelope.rcpt_tos:
            self.rcpts[r] += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def baseline(port: int, n: int) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "crm@bench", f"b{i}@bench.ru", f"News {i}"
        msg.set_content(f"Dear Client {i}, here is our news.")
        async with gate:
            await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, timeout=30)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - t0)


async def main(quick: bool, postgres: str | None = None) -> None:
    async with bench_database(postgres) as (url, backend):
        await _run(quick, url, backend)


async def _run(quick: bool, url: str, backend: str) -> None:
    from kontakt import db as kdb
    from models import Client, ClientManager, Role, User
    from notifications.outbox import Outbox, SmtpConfig
    from services import mailings
    from services.messaging import do_save_template

    n = 2_000 if quick else 10_000
    await kdb.init_db(url)
    await kdb.migrate(url)
    port = _port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    rss_before = rss_mb()
    try:
        admin = await User.create(full_name="Bench Admin", telegram_id=1, role=Role.ADMIN,
                                  email="admin@bench.ru")
        await Client.bulk_create([Client(id=i + 1, name=f"Client {i}",
                                         email=f"c{i}@bench.ru") for i in range(n)],
                                 batch_size=2000)
        await ClientManager.bulk_create([ClientManager(client_id=i + 1, user_id=admin.id,
                                                       is_primary=True) for i in range(n)],
                                        batch_size=2000)
        template = await do_save_template(admin, {
            "name": "News", "channel": "email", "subject": "News for {{ client.name }}",
            "body": "Dear {{ client.name }}, here is our news.\n{{ sender.full_name }}"})
        mailing = await mailings.do_create_mailing(
            admin, name="Bench", template_id=template.id, client_ids=list(range(1, n + 1)),
            per_minute=6000)
        await mailings.do_mailing_action(admin, mailing.id, "start")
        outbox = Outbox(SmtpConfig("127.0.0.1", port, "none", None, None, "crm@bench.ru"),
                        batch=500, concurrency=CONCURRENCY)
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # where our side's time goes, to stderr
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        queued = 0
        while True:
            step = await mailings.pump(secret="bench", base_url="http://bench",
                                       interval_s=5)  # 500 a round, like 6,000 a minute
            queued += step
            while await outbox.run_once():
                pass
            if not step:
                break
        elapsed = time.perf_counter() - t0
        if profiler is not None:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(
                int(os.environ.get("BENCH_LINES", "35")))
        rss_after = rss_mb()
        base = await baseline(port, n)
    finally:
        controller.stop()
        await kdb.close_db()
    received = sum(c for r, c in sink.rcpts.items() if r.startswith("c"))
    unique = sum(1 for r in sink.rcpts if r.startswith("c"))
    rate = n / elapsed
    emit({
        "benchmark": "mailing", "backend": backend, "emails": n, "queued": queued,
        "emails_per_s": round(rate, 1), "baseline_emails_per_s": round(base, 1),
        "ratio": round(rate / base, 2), "aim_emails_per_s": 200, "ok": rate >= 200,
        "seconds": round(elapsed, 2), "rss_mb": {"before": round(rss_before, 1),
                                                 "after": round(rss_after, 1)},
        "duplicates": received - unique, "lost": n - unique,
        "note": "pump → outbox → SMTP, 20 sessions each sending in turn; baseline: bare "
                "aiosmtplib.send (a connection per email) of ready emails, 20 at a time",
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.postgres))
    sys.exit(0)
