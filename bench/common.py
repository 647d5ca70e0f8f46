"""Helpers shared by benchmarks: timing, RSS, an emulator on a real port."""

from __future__ import annotations

import json
import resource
import statistics
import sys
from contextlib import asynccontextmanager

from aiohttp import web


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def on_both_backends(run, *, highest: tuple[str, ...], lowest: tuple[str, ...] = (),
                           baseline: str = "baseline_ms") -> None:
    """``python -m bench.X [--quick] [--postgres URL]``: ``run(url, dialect, quick)`` on a
    scratch SQLite file and, with --postgres, on a scratch PostgreSQL database; each
    backend's figures go to stderr, and the last line is the worse of the two for each
    key (the highest of ``highest``, the lowest of ``lowest``; a key a backend left None,
    not measured, counts only where given) with the ``baseline`` key, the slower one."""
    import argparse
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await run(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", "sqlite",
                                      args.quick)
    sys.stderr.write(f"sqlite: {json.dumps(results['sqlite'])}\n")
    if args.postgres:
        async with scratch_postgres(args.postgres) as url:
            results["postgres"] = await run(url, "postgres", args.quick)
        sys.stderr.write(f"postgres: {json.dumps(results['postgres'])}\n")
    def given(k: str) -> list:
        return [r[k] for r in results.values() if r[k] is not None]

    out = {k: max(given(k), default=None) for k in highest}
    out.update({k: min(given(k), default=None) for k in lowest})
    out[baseline] = max(r[baseline] for r in results.values())
    emit(out)


def emit(result: dict) -> None:
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@asynccontextmanager
async def emulator_server(token: str, username: str = "kontakt_bench_bot"):
    from web.emulator import BotApiEmulator

    emu = BotApiEmulator(token=token, bot_username=username, bot_first_name="Bench")
    runner = web.AppRunner(emu.make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    emu.base_url = f"http://127.0.0.1:{port}"
    try:
        yield emu
    finally:
        await runner.cleanup()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def emulator_process(token: str, first_user: int, last_user: int):
    """The emulator in its own process; yields its base URL."""
    import asyncio

    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.emulator_server", "--token", token, "--port", str(port),
        "--users", f"{first_user}:{last_user}", stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError("emulator process did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def scratch_postgres(server_url: str):
    """A fresh database on the given PostgreSQL server, dropped afterwards, so a
    benchmark never touches the data of the database named in the URL."""
    import os
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    parts = urlsplit(server_url.replace("postgres://", "postgresql://", 1))
    name = f"kontakt_bench_{os.getpid()}"
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(parts._replace(path=f"/{name}", scheme="postgres"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def bench_database(postgres: str | None):
    """Where a benchmark runs: (url, backend name) — a scratch database on the
    PostgreSQL server given, else a SQLite file in a fresh temporary folder."""
    if postgres:
        async with scratch_postgres(postgres) as url:
            yield url, "postgres"
    else:
        import tempfile
        from pathlib import Path

        tmp = Path(tempfile.mkdtemp(prefix="kontakt-bench-"))
        yield f"sqlite://{tmp / 'bench.sqlite3'}", "sqlite"
