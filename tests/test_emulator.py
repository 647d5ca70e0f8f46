"""Tests for the Telegram Bot API emulator (web.emulator) and the sandbox (web.sandbox).

A real aiogram Bot talks to the emulator over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from urllib.parse import parse_qsl

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    WebAppInfo,
)
from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from web.emulator import BotApiEmulator
from web.sandbox import setup_sandbox

TOKEN = "123456:ABC-test"
ALICE = 1001
BOB = 1002
CHROMIUM = "/usr/bin/chromium"

# async tests run via asyncio_mode = "auto" (pyproject.toml)


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
def emu() -> BotApiEmulator:
    e = BotApiEmulator(token=TOKEN, bot_username="kontakt_test_bot", bot_first_name="Kontakt")
    e.add_user(ALICE, "Alice", "Smith", username="alice", language_code="en")
    e.add_user(BOB, "Боб", language_code="ru")
    return e


@pytest_asyncio.fixture
async def base_url(emu: BotApiEmulator):
    runner, url = await _start(emu.make_app())
    yield url
    await runner.cleanup()


@pytest_asyncio.fixture
async def bot(base_url: str):
    b = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    yield b
    await b.session.close()


def make_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        kb = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Yes", callback_data="yes")],
                [InlineKeyboardButton(text="Site", url="https://example.com")],
            ]
        )
        payload = f" ({command.args})" if command.args else ""
        await message.answer(
            f"Hello, <b>{message.from_user.first_name}</b>{payload}",
            parse_mode="HTML",
            reply_markup=kb,
        )

    @router.callback_query(F.data == "yes")
    async def yes(cb: CallbackQuery) -> None:
        await cb.answer("Saved!", show_alert=False)
        await cb.message.edit_text("You said yes")

    @router.message(F.document)
    async def doc(message: Message, bot: Bot) -> None:
        buf = io.BytesIO()
        await bot.download(message.document, destination=buf)
        await message.answer(f"got {len(buf.getvalue())} bytes")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.reply(f"echo: {message.text}")

    return router


@contextlib.asynccontextmanager
async def polling(bot: Bot, router: Router | None = None):
    dp = Dispatcher()
    dp.include_router(router or make_router())
    task = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        yield dp
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(task, 3)


# ---------------------------------------------------------------------- basics
async def test_get_me(bot: Bot, emu: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot and me.username == "kontakt_test_bot"
    assert emu.bot_user == {
        "id": 123456, "is_bot": True, "first_name": "Kontakt", "username": "kontakt_test_bot",
    }
    assert emu.calls[-1] == ("getMe", {})


async def test_unknown_method_and_wrong_token(base_url: str, emu: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base_url}/bot{TOKEN}/fooBar") as r:
            assert r.status == 404
            assert await r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        # case-insensitive like Telegram; JSON body accepted
        async with s.post(f"{base_url}/bot{TOKEN}/GETME", json={}) as r:
            assert (await r.json())["result"]["id"] == 123456
        # form-encoded body with string integers
        async with s.post(
            f"{base_url}/bot{TOKEN}/sendMessage", data={"chat_id": "424242", "text": "x"}
        ) as r:
            assert r.status == 400
            assert (await r.json())["description"] == "Bad Request: chat not found"
    wrong = Bot("654321:WRONG", session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()


# ---------------------------------------------------------------------- polling flow
async def test_polling_message_button_edit(bot: Bot, emu: BotApiEmulator) -> None:
    async with polling(bot):
        sent = await emu.send_message(ALICE, "/start ref42")
        assert sent["entities"][0] == {"offset": 0, "length": 6, "type": "bot_command"}
        reply = await emu.wait_for_bot_message(ALICE, after_message_id=sent["message_id"])
        assert reply["text"] == "Hello, Alice (ref42)"
        assert reply["_html"] == "Hello, <b>Alice</b> (ref42)"
        assert {"offset": 7, "length": 5, "type": "bold"} in reply["entities"]
        assert reply["from"]["is_bot"] is True
        assert reply["message_id"] == sent["message_id"] + 1

        qid = await emu.press_button(ALICE, ALICE, reply["message_id"], "yes")
        params = await emu.wait_for_call("answerCallbackQuery")
        assert params["callback_query_id"] == qid and params["text"] == "Saved!"
        assert emu.callback_answers[qid]["text"] == "Saved!"
        edited = await emu.wait_for_bot_message(
            ALICE, predicate=lambda m: m.get("text") == "You said yes"
        )
        assert edited["message_id"] == reply["message_id"]
        assert "reply_markup" not in edited and edited["edit_date"] >= edited["date"]
        assert [m["message_id"] for m in emu.history(ALICE)] == [1, 2]

        with pytest.raises(ValueError):
            await emu.press_button(ALICE, ALICE, reply["message_id"], "nope")

        # "/cmd@bot" form in a private chat still a command; echo replies with reply_to
        hi = await emu.send_message(ALICE, "hello there")
        echo = await emu.wait_for_bot_message(ALICE, after_message_id=hi["message_id"])
        assert echo["text"] == "echo: hello there"
        assert echo["reply_to_message"]["message_id"] == hi["message_id"]


async def test_not_modified_delete_and_errors(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_message(ALICE, "hi")  # the user has started the bot
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]])
    m = await bot.send_message(ALICE, "Same", reply_markup=kb)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Same", chat_id=ALICE, message_id=m.message_id,
                                    reply_markup=kb)
    # dropping the keyboard is a modification
    await bot.edit_message_text("Same", chat_id=ALICE, message_id=m.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ALICE, message_id=m.message_id)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE, "   ")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ALICE, "<blink>x</blink>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=1)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE, "x", reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="x" * 65)]]))
    assert await bot.delete_message(ALICE, m.message_id)
    assert all(x["message_id"] != m.message_id for x in emu.history(ALICE))
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE, m.message_id)


async def test_blocked_not_started_and_429(bot: Bot, emu: BotApiEmulator) -> None:
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(BOB, "hi")
    await emu.send_message(BOB, "/start")
    assert (await bot.send_message(BOB, "hi")).text == "hi"
    emu.block_bot(BOB)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(BOB, "hi")
    emu.block_bot(BOB, False)
    await bot.send_message(BOB, "back")

    emu.inject_fault("sendMessage", error_code=429,
                     description="Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(BOB, "flood")
    assert exc.value.retry_after == 7
    assert (await bot.send_message(BOB, "ok now")).text == "ok now"


async def test_get_updates_offset_limit(bot: Bot, emu: BotApiEmulator) -> None:
    for i in range(3):
        await emu.send_message(ALICE, f"m{i}")
    ups = await bot.get_updates(limit=2)
    assert [u.message.text for u in ups] == ["m0", "m1"]
    ups = await bot.get_updates(offset=ups[-1].update_id + 1)
    assert [u.message.text for u in ups] == ["m2"]
    t0 = time.monotonic()
    assert await bot.get_updates(offset=ups[-1].update_id + 1, timeout=1) == []
    assert time.monotonic() - t0 >= 0.9

    async def later() -> None:
        await asyncio.sleep(0.2)
        await emu.send_message(ALICE, "late")

    task = asyncio.create_task(later())
    ups = await bot.get_updates(offset=ups[-1].update_id + 1, timeout=5)
    await task
    assert [u.message.text for u in ups] == ["late"]


# ---------------------------------------------------------------------- keyboards & html
async def test_keyboards_and_html(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_message(ALICE, "/start")
    rk = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Share phone", request_contact=True)],
                  [KeyboardButton(text="Help")]],
        resize_keyboard=True, one_time_keyboard=True,
    )
    m = await bot.send_message(ALICE, "Choose", reply_markup=rk)
    assert m.reply_markup is None  # Telegram does not echo reply keyboards
    assert emu.reply_keyboard(ALICE)["keyboard"][1][0]["text"] == "Help"
    await emu.send_message(ALICE, "Help")
    assert emu.reply_keyboard(ALICE)["_hidden"] is True
    await bot.send_message(ALICE, "bye", reply_markup=ReplyKeyboardRemove())
    assert emu.reply_keyboard(ALICE) is None
    fr = await bot.send_message(ALICE, "Name?", reply_markup=ForceReply())
    assert emu.get_message(ALICE, fr.message_id)["_reply_markup"]["force_reply"] is True

    html = ('<b>Bold</b> <i>it</i> <a href="https://t.me/kontakt_test_bot?start=abc">go</a> '
            '&lt;tag&gt; <pre><code class="language-python">x = 1</code></pre>')
    m = await bot.send_message(ALICE, html, parse_mode="HTML")
    assert m.text == "Bold it go <tag> x = 1"
    types = {e.type: e for e in m.entities}
    assert types["text_link"].url == "https://t.me/kontakt_test_bot?start=abc"
    assert types["pre"].language == "python"
    assert emu.get_message(ALICE, m.message_id)["_html"] == html

    wa = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text="App", web_app=WebAppInfo(url="https://app.example/mini"))]])
    m = await bot.send_message(ALICE, "open", reply_markup=wa)
    assert m.reply_markup.inline_keyboard[0][0].web_app.url == "https://app.example/mini"

    loc = await bot.send_location(ALICE, 55.75, 37.61)
    assert loc.location.latitude == pytest.approx(55.75)
    c = await bot.send_contact(ALICE, "+79990001122", "Ivan")
    assert c.contact.phone_number == "+79990001122"
    assert await bot.send_chat_action(ALICE, "typing")
    shared = await emu.send_contact(ALICE, "+15550001", "Alice")
    assert shared["contact"]["user_id"] == ALICE
    pos = await emu.send_location(ALICE, 1.5, 2.5)
    assert pos["location"] == {"latitude": 1.5, "longitude": 2.5}


# ---------------------------------------------------------------------- webhook
async def test_webhook_delivery_and_conflict(bot: Bot, emu: BotApiEmulator) -> None:
    received: list[tuple[dict, str | None]] = []
    state = {"fail": 1}

    async def hook(request: web.Request) -> web.Response:
        if state["fail"] > 0:
            state["fail"] -= 1
            return web.Response(status=500)
        body = await request.json()
        received.append((body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if body["message"]["text"] == "reply inline":
            return web.json_response(
                {"method": "sendMessage", "chat_id": body["message"]["chat"]["id"],
                 "text": "webhook reply"}
            )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await _start(app)
    try:
        await emu.send_message(ALICE, "queued before webhook")
        assert await bot.set_webhook(f"{url}/hook", secret_token="s3cr3t")
        assert emu.webhook == {"url": f"{url}/hook", "secret_token": "s3cr3t",
                               "max_connections": 40,
                               "allowed_updates": sorted(emu._allowed_updates)}
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        await emu.send_message(ALICE, "second")
        await emu.send_message(ALICE, "reply inline")
        for _ in range(100):
            if len(received) == 3:
                break
            await asyncio.sleep(0.05)
        assert [b["message"]["text"] for b, _ in received] == [
            "queued before webhook", "second", "reply inline",
        ]
        assert all(secret == "s3cr3t" for _, secret in received)
        ids = [b["update_id"] for b, _ in received]
        assert ids == sorted(ids)
        info = await bot.get_webhook_info()
        assert info.url == f"{url}/hook" and info.pending_update_count == 0
        assert "500" in (info.last_error_message or "")
        reply = await emu.wait_for_bot_message(ALICE, predicate=lambda m: m["text"] ==
                                               "webhook reply")
        assert reply["chat"]["id"] == ALICE
        assert await bot.delete_webhook()
        assert emu.webhook is None
        assert await bot.get_updates(timeout=0) == []
    finally:
        await emu.close()
        await runner.cleanup()


# ---------------------------------------------------------------------- groups & topics
async def test_forum_topics_and_group(bot: Bot, emu: BotApiEmulator) -> None:
    group = emu.create_group("Sales team", member_ids=[ALICE, BOB])
    gid = group["id"]
    assert str(gid).startswith("-100") and group["is_forum"] is True

    chat = await bot.get_chat(gid)
    assert chat.title == "Sales team" and chat.is_forum
    admins = await bot.get_chat_administrators(gid)
    bot_admin = next(a for a in admins if a.user.id == 123456)
    assert bot_admin.status == "administrator" and bot_admin.can_manage_topics
    assert (await bot.get_chat_member(gid, ALICE)).status == "creator"
    assert (await bot.get_chat_member(gid, BOB)).status == "member"

    topic = await bot.create_forum_topic(gid, "Leads")
    tid = topic.message_thread_id
    created = emu.history(gid, tid)[0]
    assert created["forum_topic_created"]["name"] == "Leads"
    assert created["message_id"] == tid

    assert await bot.edit_forum_topic(gid, tid, name="Hot leads")
    assert emu.topics(gid)[0]["name"] == "Hot leads"
    assert await bot.close_forum_topic(gid, tid)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(gid, tid)
    assert await bot.reopen_forum_topic(gid, tid)

    m = await bot.send_message(gid, "New lead!", message_thread_id=tid)
    assert m.message_thread_id == tid and m.is_topic_message
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(gid, "x", message_thread_id=9999)
    kinds = [next(k for k in ("forum_topic_created", "forum_topic_edited", "forum_topic_closed",
                              "forum_topic_reopened", "text") if k in x)
             for x in emu.history(gid, tid)]
    assert kinds == ["forum_topic_created", "forum_topic_edited", "forum_topic_closed",
                     "forum_topic_reopened", "text"]

    # web_app buttons are private-chat only, like Telegram
    with pytest.raises(TelegramBadRequest, match="BUTTON_TYPE_INVALID"):
        await bot.send_message(gid, "x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="A", web_app=WebAppInfo(url="https://a.example"))]]))

    link = await bot.create_chat_invite_link(gid, name="join", member_limit=5)
    assert link.invite_link.startswith("https://t.me/+") and link.name == "join"
    assert link.member_limit == 5 and link.creator.id == 123456

    assert await bot.pin_chat_message(gid, m.message_id)
    assert (await bot.get_chat(gid)).pinned_message.message_id == m.message_id
    assert await bot.unpin_chat_message(gid, message_id=m.message_id)

    # a user writes in the topic; the bot gets message_thread_id
    seen: list[Message] = []
    router = Router()

    @router.message()
    async def any_msg(message: Message) -> None:
        seen.append(message)
        await message.answer("ack")  # answer() keeps the thread

    async with polling(bot, router):
        um = await emu.send_message(BOB, "in topic", chat_id=gid, message_thread_id=tid)
        ack = await emu.wait_for_bot_message(gid, after_message_id=um["message_id"])
    assert seen[0].message_thread_id == tid and seen[0].chat.id == gid
    assert ack["message_thread_id"] == tid and ack["text"] == "ack"
    assert await bot.delete_forum_topic(gid, tid)
    assert emu.history(gid, tid) == []


# ---------------------------------------------------------------------- files
async def test_files_roundtrip(bot: Bot, emu: BotApiEmulator) -> None:
    await emu.send_message(ALICE, "/start")
    payload = bytes(range(256)) * 10
    m = await bot.send_document(ALICE, BufferedInputFile(payload, "report.bin"), caption="Report")
    doc = m.document
    assert doc.file_name == "report.bin" and doc.file_size == len(payload)
    assert m.caption == "Report"
    f = await bot.get_file(doc.file_id)
    assert f.file_path and f.file_size == len(payload)
    buf = await bot.download_file(f.file_path)
    assert buf.read() == payload
    assert emu.file_bytes(doc.file_id) == payload
    again = await bot.send_document(ALICE, doc.file_id)
    assert again.document.file_id == doc.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ALICE, "nonsense-id")
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big")
           + (480).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00")
    p = await bot.send_photo(ALICE, BufferedInputFile(png, "p.png"))
    assert (p.photo[-1].width, p.photo[-1].height) == (640, 480)
    rec = emu.calls_of("sendPhoto")[-1]
    assert rec["photo"]["filename"] == "p.png" and rec["chat_id"] == ALICE
    await bot.edit_message_caption(chat_id=ALICE, message_id=p.message_id, caption="pic")
    assert emu.get_message(ALICE, p.message_id)["caption"] == "pic"

    async with polling(bot):
        up = await emu.send_document(ALICE, "notes.txt", b"hello file", "text/plain")
        ans = await emu.wait_for_bot_message(
            ALICE, after_message_id=up["message_id"],
            predicate=lambda m: m.get("text", "").startswith("got"),
        )
    assert ans["text"] == "got 10 bytes"
    photo = await emu.send_photo(ALICE, png, caption="look")
    assert emu.file_bytes(photo["photo"][-1]["file_id"]) == png


# ---------------------------------------------------------------------- commands / menu
async def test_commands_per_language_and_menu(bot: Bot, emu: BotApiEmulator) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start"),
                               BotCommand(command="help", description="Help")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")],
                              language_code="ru")
    en = await bot.get_my_commands()
    ru = await bot.get_my_commands(language_code="ru")
    assert [c.command for c in en] == ["start", "help"]
    assert [c.description for c in ru] == ["Начать"]
    assert emu.commands_for(BOB)[0]["description"] == "Начать"
    assert [c["command"] for c in emu.commands_for(ALICE)] == ["start", "help"]
    await bot.set_my_commands([BotCommand(command="vip", description="VIP")],
                              scope=BotCommandScopeChat(chat_id=ALICE))
    assert [c["command"] for c in emu.commands_for(ALICE)] == ["vip"]
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    assert emu.commands_for(BOB)[0]["description"] == "Start"
    with pytest.raises(TelegramBadRequest):
        await bot.set_my_commands([BotCommand(command="Bad Cmd", description="x")])
    from aiogram.types import MenuButtonWebApp

    await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
        text="App", web_app=WebAppInfo(url="https://app.example")))
    assert (await bot.get_chat_menu_button()).type == "web_app"
    assert emu.calls_of("setChatMenuButton")[0]["menu_button"]["text"] == "App"


# ---------------------------------------------------------------------- mini app
async def test_webapp_init_data(emu: BotApiEmulator) -> None:
    init = emu.webapp_init_data(ALICE, query_id="AAQ1", start_param="deal_7")
    parsed = safe_parse_webapp_init_data(TOKEN, init)
    assert parsed.user.id == ALICE and parsed.user.first_name == "Alice"
    assert parsed.start_param == "deal_7" and parsed.query_id == "AAQ1"
    fields = dict(parse_qsl(init))
    assert "signature" in fields and len(fields["hash"]) == 64
    assert abs(int(fields["auth_date"]) - time.time()) < 5
    tampered = init.replace("Alice", "Mallory")
    with pytest.raises(ValueError):
        safe_parse_webapp_init_data(TOKEN, tampered)
    with pytest.raises(ValueError):
        safe_parse_webapp_init_data("999:OTHER", init)
    old = emu.webapp_init_data(BOB, auth_date=1_700_000_000, signature=False)
    assert safe_parse_webapp_init_data(TOKEN, old).auth_date.year == 2023
    assert "signature" not in dict(parse_qsl(old))


async def test_inline_query(bot: Bot, emu: BotApiEmulator) -> None:
    from aiogram.types import InlineQuery, InlineQueryResultArticle, InputTextMessageContent

    router = Router()

    @router.inline_query()
    async def iq(q: InlineQuery) -> None:
        await q.answer([InlineQueryResultArticle(
            id="1", title=f"Deal {q.query}",
            input_message_content=InputTextMessageContent(message_text="deal"))], cache_time=1)

    async with polling(bot, router):
        qid = await emu.inline_query(ALICE, "42")
        params = await emu.wait_for_call("answerInlineQuery")
    assert params["inline_query_id"] == qid
    assert emu.inline_answers[qid]["results"][0]["title"] == "Deal 42"


# ---------------------------------------------------------------------- sandbox
async def test_sandbox_endpoints(emu: BotApiEmulator) -> None:
    app = web.Application()
    app.add_subapp("/tgapi", emu.make_app())
    setup_sandbox(app, emu, miniapp_url="https://crm.example/app")
    client = TestClient(TestServer(app))
    await client.start_server()
    bot = Bot(TOKEN, session=AiohttpSession(
        api=TelegramAPIServer.from_base(str(client.make_url("/tgapi")))))
    try:
        page = await client.get("/sandbox")
        assert page.status == 200
        html = await page.text()
        for testid in ("person-select", "chat-select", "message-input", "send-button",
                       "add-person-name", "add-person-lang", "add-person-submit"):
            assert f'data-testid="{testid}"' in html
        assert (await client.get("/sandbox/static/sandbox.js")).status == 200

        r = await client.post("/sandbox/api/users",
                              json={"first_name": "Carol", "language_code": "en"})
        carol = (await r.json())["user"]
        assert carol["first_name"] == "Carol" and carol["id"] > 0
        users = (await (await client.get("/sandbox/api/users")).json())["users"]
        assert any(u["id"] == carol["id"] for u in users)

        emu.create_group("Team", member_ids=[carol["id"]])
        chats = (await (await client.get(
            "/sandbox/api/chats", params={"user_id": carol["id"]})).json())["chats"]
        assert chats[0]["id"] == carol["id"] and chats[1]["title"] == "Team"

        async with polling(bot):
            r = await client.post("/sandbox/api/send", json={
                "user_id": carol["id"], "chat_id": carol["id"], "text": "/start"})
            sent = (await r.json())["message"]
            await emu.wait_for_bot_message(carol["id"], after_message_id=sent["message_id"])
            r = await client.get("/sandbox/api/poll", params={
                "user_id": carol["id"], "chat_id": carol["id"], "since": 0, "timeout": 0})
            data = await r.json()
            msgs = data["messages"]
            assert [m["from_bot"] for m in msgs] == [False, True]
            assert msgs[1]["text"] == "Hello, Carol"
            assert data["version"] > 0
            r = await client.post("/sandbox/api/press", json={
                "user_id": carol["id"], "chat_id": carol["id"],
                "message_id": msgs[1]["message_id"], "data": "yes"})
            qid = (await r.json())["callback_query_id"]
            r = await client.get("/sandbox/api/callback_answer", params={"id": qid, "timeout": 3})
            assert (await r.json())["answer"]["text"] == "Saved!"

        r = await client.get("/sandbox/api/initdata", params={"user_id": carol["id"]})
        init = (await r.json())["init_data"]
        assert safe_parse_webapp_init_data(TOKEN, init).user.id == carol["id"]
        r = await client.post("/sandbox/api/contact", json={
            "user_id": carol["id"], "chat_id": carol["id"]})
        assert (await r.json())["message"]["contact"]["user_id"] == carol["id"]
        r = await client.post("/sandbox/api/send", json={
            "user_id": carol["id"], "chat_id": carol["id"], "text": ""})
        assert r.status == 400
    finally:
        await bot.session.close()
        await client.close()


def test_emulator_is_generic() -> None:
    """web.emulator must not import the product packages."""
    import pathlib

    import web.emulator as pkg

    for path in pathlib.Path(pkg.__file__).parent.glob("*.py"):
        src = path.read_text()
        for name in ("models", "services", "bot", "kontakt"):
            assert f"from {name}" not in src and f"import {name}" not in src, (path, name)


async def test_webhook_with_aiogram_handler_reply(bot: Bot, emu: BotApiEmulator) -> None:
    """aiogram's SimpleRequestHandler answering in the webhook response (multipart)."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message(F.text)
    async def hello(message: Message):
        return message.answer(f"via webhook: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="tok").register(
        app, path="/wh"
    )
    runner, url = await _start(app)
    try:
        await bot.set_webhook(f"{url}/wh", secret_token="tok", drop_pending_updates=True)
        sent = await emu.send_message(ALICE, "ping")
        reply = await emu.wait_for_bot_message(ALICE, after_message_id=sent["message_id"])
        assert reply["text"] == "via webhook: ping"
        assert emu.calls_of("sendMessage")[-1]["chat_id"] == ALICE
        # a wrong secret is refused by aiogram (401) and retried by the emulator
        await bot.set_webhook(f"{url}/wh", secret_token="wrong")
        await emu.send_message(ALICE, "lost?")
        for _ in range(40):
            info = await bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.05)
        assert "401" in info.last_error_message and info.pending_update_count == 1
        await bot.set_webhook(f"{url}/wh", secret_token="tok")
        reply = await emu.wait_for_bot_message(
            ALICE, predicate=lambda m: m["text"] == "via webhook: lost?"
        )
        assert reply["from"]["id"] == 123456
    finally:
        await emu.close()
        await runner.cleanup()


def test_formatting_utf16_and_markdown() -> None:
    from web.emulator.errors import BadRequest
    from web.emulator.formatting import format_text

    text, ents, raw = format_text("<b>Hi 👋 <i>there</i></b> &amp; ok", "HTML", None)
    assert text == "Hi 👋 there & ok" and raw is not None
    assert ents == [{"offset": 0, "length": 11, "type": "bold"},
                    {"offset": 6, "length": 5, "type": "italic"}]
    text, ents, _ = format_text("*bold* `a*b` \\.", "MarkdownV2", None)
    assert text == "bold a*b ." and [e["type"] for e in ents] == ["bold", "code"]
    with pytest.raises(BadRequest, match="is reserved"):
        format_text("Hello.", "MarkdownV2", None)
    with pytest.raises(BadRequest, match="Can't find end tag"):
        format_text("<b>open", "HTML", None)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium")
async def test_sandbox_page_in_chromium(emu: BotApiEmulator) -> None:
    from playwright.async_api import async_playwright

    app = web.Application()
    app.add_subapp("/tgapi", emu.make_app())
    setup_sandbox(app, emu, miniapp_url="https://crm.example/app")
    runner, url = await _start(app)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(url + "/tgapi")))
    try:
        async with polling(bot), async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--headless", "--disable-gpu"],
            )
            page = await browser.new_page()
            await page.goto(url + "/sandbox")
            await page.wait_for_selector('[data-testid=person-select] option', state="attached")
            await page.fill("[data-testid=message-input]", "/start")
            await page.click("[data-testid=send-button]")
            bubble = page.locator("[data-testid=message][data-from=bot]").first
            await bubble.wait_for()
            assert "Hello, Alice" in await bubble.inner_text()
            assert await bubble.locator("b").inner_text() == "Alice"
            await page.locator("[data-testid=inline-button]", has_text="Yes").click()
            await page.wait_for_selector("[data-testid=toast]:has-text('Saved!')")
            await page.wait_for_selector(
                "[data-testid=message][data-from=bot]:has-text('You said yes')"
            )
            await browser.close()
    finally:
        await bot.session.close()
        await runner.cleanup()
