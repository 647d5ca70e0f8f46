"""The bot front end (P-1, P-5): menu, languages, commands, errors, webhook, shutdown."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiohttp.test_utils import TestClient, TestServer

from models import Role, User
from tests.conftest import keyboard_labels, say, wait_until


async def test_start_shows_the_menu_in_the_users_language(service, emulator, make_staff):
    for lang, greeting, staff_btn in (("ru", "Здравствуйте", "Сотрудники"),
                                      ("uk", "Вітаємо", "Співробітники"),
                                      ("en", "Hello", "Staff")):
        user = await make_staff(Role.MANAGER, language=lang, name=f"Tester {lang}")
        reply = await say(emulator, user.telegram_id, "/start")
        assert greeting in reply["text"], reply["text"]
        labels = keyboard_labels(reply)
        assert any(staff_btn in t for t in labels)
        assert not any("Invite" in t or "Пригласить" in t for t in labels)  # managers


async def test_menu_buttons_work_in_each_language(service, emulator, make_staff):
    user = await make_staff(Role.ADMIN, language="uk", name="Петро Адмін")
    reply = await say(emulator, user.telegram_id, "/start")
    labels = keyboard_labels(reply)
    staff_btn = next(t for t in labels if "👥" in t)
    reply = await say(emulator, user.telegram_id, staff_btn)
    assert "Петро Адмін" in str(reply["reply_markup"])


async def test_lang_switches_the_interface(service, emulator, make_staff):
    user = await make_staff(Role.MANAGER, language="ru")
    msg = await say(emulator, user.telegram_id, "/lang")
    buttons = {b["text"]: b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"]
               for b in row}
    await emulator.press_button(user.telegram_id, user.telegram_id, msg["message_id"],
                                buttons["English"])
    reply = await emulator.wait_for_bot_message(user.telegram_id,
                                                after_message_id=msg["message_id"])
    assert "English" in reply["text"]
    assert (await User.get(id=user.id)).language == "en"
    reply = await say(emulator, user.telegram_id, "/help")
    assert "First steps" in reply["text"] and "type what happened" in reply["text"]


async def test_commands_registered_per_language(service, emulator):
    await wait_until(lambda: len([c for c in emulator.calls if c[0] == "setMyCommands"]) >= 4)
    langs = {c[1].get("language_code") for c in emulator.calls if c[0] == "setMyCommands"}
    assert {"ru", "uk", "en"} <= langs
    ru = next(c[1] for c in emulator.calls
              if c[0] == "setMyCommands" and c[1].get("language_code") == "ru")
    assert "Главное меню" in str(ru["commands"])


async def test_handler_exception_is_answered_and_logged(settings_factory, emulator, make_staff,
                                                        caplog):
    from kontakt.runtime import build_runtime, start, stop

    rt = await build_runtime(settings_factory())
    boom = Router(name="boom")

    @boom.message(Command("boom"))
    async def explode(message):
        raise RuntimeError("kaboom in a handler")

    rt.dispatcher.include_router(boom)
    routers = rt.dispatcher.sub_routers
    routers.insert(0, routers.pop())  # before the fallback, which answers anything left
    await start(rt, serve_http=False)
    try:
        user = await make_staff(Role.MANAGER, language="en")
        with caplog.at_level(logging.ERROR, logger="kontakt.bot"):
            reply = await say(emulator, user.telegram_id, "/boom")
            assert "Error id:" in reply["text"]
            error_id = reply["text"].split("Error id: ")[1][:8]
            await wait_until(lambda: any(error_id in r.getMessage() for r in caplog.records))
        record = next(r for r in caplog.records if error_id in r.getMessage())
        assert record.exc_info and "kaboom" in str(record.exc_info[1])
        reply = await say(emulator, user.telegram_id, "/menu")  # the bot keeps running
        assert "Hello" in reply["text"]
    finally:
        await stop(rt)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_checks_the_secret_token(settings_factory, emulator, make_staff):
    from kontakt.runtime import build_runtime, start, stop

    port = _free_port()
    settings = settings_factory(public_url=f"http://127.0.0.1:{port}")
    rt = await build_runtime(settings)
    assert rt.bot_info.mode == "webhook"
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1", port=port))
    await client.start_server()
    await start(rt, serve_http=False)
    try:
        assert emulator.webhook["url"] == f"http://127.0.0.1:{port}/telegram/webhook"
        user = await make_staff(Role.MANAGER, language="en")
        # a real update through the emulator's webhook delivery, with the right secret
        reply = await say(emulator, user.telegram_id, "/menu")
        assert "Hello" in reply["text"]
        update = {"update_id": 999, "message": {
            "message_id": 99, "date": 0, "chat": {"id": user.telegram_id, "type": "private"},
            "from": {"id": user.telegram_id, "is_bot": False, "first_name": "X"},
            "text": "/menu", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        before = len(emulator.bot_messages(user.telegram_id))
        resp = await client.post("/telegram/webhook", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        assert resp.status == 401
        resp = await client.post("/telegram/webhook", json=update)
        assert resp.status == 401
        await asyncio.sleep(0.2)
        assert len(emulator.bot_messages(user.telegram_id)) == before  # forged: nothing done
    finally:
        await stop(rt)
        await client.close()


async def test_shutdown_waits_for_updates_in_flight(settings_factory, emulator, make_staff):
    from kontakt.runtime import build_runtime, start, stop

    rt = await build_runtime(settings_factory())
    slow = Router(name="slow")
    started = asyncio.Event()

    @slow.message(Command("slow"))
    async def slow_handler(message):
        started.set()
        await asyncio.sleep(0.5)
        await message.answer("slow done")

    rt.dispatcher.include_router(slow)
    routers = rt.dispatcher.sub_routers
    routers.insert(0, routers.pop())  # before the fallback, which answers anything left
    await start(rt, serve_http=False)
    user = await make_staff(Role.MANAGER)
    await emulator.send_message(user.telegram_id, "/slow")
    await asyncio.wait_for(started.wait(), 5)
    await stop(rt)  # like SIGTERM: must finish the update first
    assert any(m.get("text") == "slow done" for m in emulator.bot_messages(user.telegram_id))
    assert not rt.scheduler.running


async def test_redis_fsm_storage_when_configured(settings_factory):
    """P-4: with KONTAKT_REDIS_URL the dialog state lives in Redis (shared by replicas)."""
    import redis.asyncio as aioredis
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.redis import RedisStorage

    from kontakt.runtime import build_runtime

    url = os.environ.get("KONTAKT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    probe = aioredis.from_url(url)
    try:
        await probe.ping()
    except Exception:  # noqa: BLE001
        pytest.skip(f"no Redis at {url}")
    finally:
        await probe.aclose()
    rt = await build_runtime(settings_factory(redis_url=url))
    try:
        storage = rt.dispatcher.storage
        assert isinstance(storage, RedisStorage)
        key = StorageKey(bot_id=rt.bot.id, chat_id=1, user_id=1)
        await storage.set_state(key, "Draft:name")
        await storage.set_data(key, {"name": "Ромашка"})
        assert await storage.get_state(key) == "Draft:name"
        assert (await storage.get_data(key))["name"] == "Ромашка"
        await storage.set_state(key, None)
        await storage.set_data(key, {})
    finally:
        await rt.dispatcher.storage.close()
        await rt.bot.session.close()


async def test_serving_freezes_what_start_up_made(settings_factory, emulator):
    """Issue 19: once started, the service moves start-up's objects out of the garbage
    collector's sight (a full collection over them stopped the loop ~0.2 s in a burst of
    reminders); what is made afterwards is still collected."""
    import gc

    from bench.common import free_port
    from kontakt.runtime import serve

    seen = {}

    async def on_started(rt):
        seen["frozen"] = gc.get_freeze_count()
        garbage = [[]]
        garbage[0].append(garbage)  # a cycle made after start-up, then dropped
        del garbage
        seen["collected"] = gc.collect()
        rt.stopping.set()

    assert gc.get_freeze_count() == 0
    try:
        await asyncio.wait_for(serve(settings_factory(http_port=free_port()), emulator=emulator,
                                     on_started=on_started), 60)
    finally:
        gc.unfreeze()
    assert seen["frozen"] > 10_000  # the modules, routers, catalogues and schemas
    assert seen["collected"] >= 2  # the cycle: the two lists
