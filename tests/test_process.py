"""The real processes: `kontakt run` against a Bot API-compatible server answers
/start and stops cleanly on SIGTERM; `kontakt demo` answers /health quickly (P-3)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp
import pytest

from models import Role
from tests.conftest import TEST_TOKEN, say

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KONTAKT_")}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_health(url: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return await resp.json()
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer in {timeout} s")
            await asyncio.sleep(0.2)


async def _spawn(*args: str, env: dict, cwd) -> asyncio.subprocess.Process:
    # cwd: a folder of its own, so no developer's .env leaks in
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kontakt", *args, env={**BASE_ENV, **env}, cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_kontakt_run_answers_start_and_stops_on_sigterm(database_url, emulator,
                                                              make_staff, tmp_path):
    if database_url.startswith("postgres"):
        pytest.skip("one backend is enough for the process test")
    user = await make_staff(Role.MANAGER, language="en", name="Process Tester")
    port = _free_port()
    env = {"KONTAKT_BOT_TOKEN": TEST_TOKEN, "KONTAKT_SECRET_KEY": "s" * 32,
           "KONTAKT_TELEGRAM_API_URL": emulator.base_url, "KONTAKT_DATABASE_URL": database_url,
           "KONTAKT_HTTP_PORT": str(port), "KONTAKT_DATA_DIR": str(tmp_path)}
    proc = await _spawn("run", env=env, cwd=tmp_path)
    try:
        health = await _wait_health(f"http://127.0.0.1:{port}/health", 30)
        assert health["bot_mode"] == "polling"
        reply = await say(emulator, user.telegram_id, "/start", timeout=15)
        assert "Hello, Process Tester" in reply["text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in err
    assert b"Traceback" not in err
    assert TEST_TOKEN.split(":")[1].encode() not in err  # the token never reaches logs


async def test_kontakt_demo_answers_health_within_60_s(tmp_path):
    port = _free_port()
    # the demo ignores production settings: it must not touch this database
    env = {"KONTAKT_DATA_DIR": str(tmp_path), "KONTAKT_HTTP_PORT": str(port),
           "KONTAKT_DATABASE_URL": "postgres://nobody@127.0.0.1:9/production",
           "KONTAKT_S3_BUCKET": "production-files", "KONTAKT_S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    started = time.monotonic()
    proc = await _spawn("demo", env=env, cwd=tmp_path)
    try:
        health = await _wait_health(f"http://127.0.0.1:{port}/health", 60)
        assert time.monotonic() - started < 60
        assert health == {"status": "ok", "database": "ok", "scheduler": "running",
                          "bot_mode": "sandbox"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/sandbox") as resp:
                assert resp.status == 200
            async with http.get(f"http://127.0.0.1:{port}/sandbox/api/users") as resp:
                users = await resp.json()
        assert "Анна" in str(users)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert (tmp_path / "demo.sqlite3").exists()
    assert b"attached files are kept in the folder" in err  # not the production bucket
