"""Sandbox web chat: a person in a browser plays Telegram users talking to the bot.

``setup_sandbox(app, emulator, miniapp_url=...)`` adds ``GET /sandbox`` (the page),
``/sandbox/static/*`` and JSON endpoints under ``/sandbox/api/``.  The page renders
everything from the emulator's state; it needs no internet (no CDN).
"""

from __future__ import annotations

import html
import json
import pathlib
import re
from typing import Any

from aiohttp import web

from web.emulator import BotApiEmulator, public

HERE = pathlib.Path(__file__).resolve().parent
TEMPLATE = HERE / "templates" / "sandbox.html"
STATIC = HERE / "static"

EMULATOR_KEY: web.AppKey[BotApiEmulator] = web.AppKey("kontakt_sandbox_emulator", BotApiEmulator)

# What Telegram Web passes as tgWebAppThemeParams (a light theme).
THEME_PARAMS = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
    "header_bg_color": "#ffffff",
    "accent_text_color": "#3390ec",
    "section_bg_color": "#ffffff",
    "section_header_text_color": "#3390ec",
    "subtitle_text_color": "#707579",
    "destructive_text_color": "#e53935",
}

_SERVICE_KEYS = (
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "pinned_message", "new_chat_members", "left_chat_member",
)


class _Bad(Exception):
    pass


def _int(data: dict, key: str, *, required: bool = True) -> int | None:
    v = data.get(key)
    if v in (None, "", "general"):
        if required:
            raise _Bad(f"{key} is required")
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise _Bad(f"{key} must be an integer") from None


def _view(emu: BotApiEmulator, msg: dict) -> dict:
    v = public(msg)
    v["from_bot"] = msg["from"]["id"] == emu.bot_user["id"]
    v["is_service"] = bool(msg.get("_service")) or any(k in msg for k in _SERVICE_KEYS)
    if "_reply_markup" in msg:
        v["reply_keyboard"] = msg["_reply_markup"]
    if "photo" in msg:
        v["file_url"] = f"/sandbox/file/{msg['photo'][-1]['file_id']}"
    elif "document" in msg:
        v["file_url"] = f"/sandbox/file/{msg['document']['file_id']}"
    return v


def _chats_for(emu: BotApiEmulator, user_id: int) -> list[dict]:
    out: list[dict] = [{
        "id": user_id,
        "type": "private",
        "title": emu.bot_user["first_name"],
        "username": emu.bot_user.get("username"),
        "is_forum": False,
        "topics": [],
        "blocked": emu.is_blocked(user_id),
    }]
    for chat in emu.chats.values():
        if chat.type == "private":
            continue
        member = chat.members.get(user_id)
        if member is None or member["status"] in ("left", "kicked"):
            continue
        out.append({
            "id": chat.id,
            "type": chat.type,
            "title": chat.obj.get("title", ""),
            "is_forum": bool(chat.obj.get("is_forum")),
            "topics": emu.topics(chat.id) if chat.obj.get("is_forum") else [],
            "status": member["status"],
        })
    return out


def _demo_phone(user_id: int) -> str:
    return "+7999" + str(abs(int(user_id)) % 10_000_000).zfill(7)


def setup_sandbox(
    app: web.Application,
    emulator: BotApiEmulator,
    *,
    miniapp_url: str,
    prefix: str = "/sandbox",
) -> None:
    """Add the sandbox page and its JSON API to ``app``."""
    emu = emulator
    prefix = prefix.rstrip("/")

    def err(text: str, status: int = 400) -> web.Response:
        return web.json_response({"ok": False, "error": text}, status=status)

    async def body(request: web.Request) -> dict:
        if request.content_type == "application/json":
            try:
                data = await request.json()
            except ValueError:
                raise _Bad("invalid JSON") from None
            if not isinstance(data, dict):
                raise _Bad("JSON object expected")
            return data
        return dict(await request.post())

    def guarded(fn):
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except _Bad as exc:
                return err(str(exc))
            except (LookupError, ValueError) as exc:
                return err(str(exc).strip("'\""))
            except PermissionError as exc:
                return err(str(exc), 403)

        return wrapper

    async def page(request: web.Request) -> web.Response:
        config = {
            "api": f"{prefix}/api",
            "static": f"{prefix}/static",
            "bot": {k: emu.bot_user[k] for k in ("id", "first_name", "username")},
            "miniapp_url": miniapp_url,
            "theme_params": THEME_PARAMS,
        }
        text = TEMPLATE.read_text(encoding="utf-8")
        text = text.replace("{{CONFIG_JSON}}", html.escape(json.dumps(config), quote=True))
        text = text.replace("{{STATIC}}", html.escape(config["static"], quote=True))
        text = text.replace("{{BOT_NAME}}", html.escape(emu.bot_user["first_name"]))
        return web.Response(text=text, content_type="text/html")

    async def users(request: web.Request) -> web.Response:
        return web.json_response({"users": emu.users, "version": emu.version})

    async def add_user(request: web.Request) -> web.Response:
        data = await body(request)
        first = str(data.get("first_name") or data.get("name") or "").strip()
        if not first:
            raise _Bad("first_name is required")
        last = str(data.get("last_name") or "").strip() or None
        if last is None and " " in first:
            first, last = first.split(" ", 1)
        lang = str(data.get("language_code") or "ru").strip()[:8] or "ru"
        username = str(data.get("username") or "").strip().lstrip("@") or None
        if username and not re.match(r"^[A-Za-z][A-Za-z0-9_]{3,31}$", username):
            raise _Bad("bad username")
        uid = _int(data, "id", required=False)
        if uid is None:
            uid = max([u["id"] for u in emu.users] + [200_000_000]) + 1
        user = emu.add_user(uid, first, last, username=username, language_code=lang)
        return web.json_response({"ok": True, "user": user})

    async def chats(request: web.Request) -> web.Response:
        uid = _int(dict(request.query), "user_id")
        emu.get_user(uid)
        return web.json_response({"chats": _chats_for(emu, uid), "version": emu.version})

    def snapshot(uid: int | None, chat_id: int | None, thread_id: int | None) -> dict:
        out: dict[str, Any] = {"version": emu.version, "users": emu.users}
        if uid is None or uid not in {u["id"] for u in emu.users}:
            return out
        out["chats"] = _chats_for(emu, uid)
        out["commands"] = emu.commands_for(uid, chat_id)
        if chat_id is None:
            chat_id = uid
        chat = emu.chats.get(chat_id)
        if chat is None:
            out["messages"] = []
            return out
        msgs = emu.history(chat_id)
        if chat.obj.get("is_forum"):
            msgs = [m for m in msgs if m.get("message_thread_id") == thread_id]
        out["messages"] = [_view(emu, m) for m in msgs]
        out["keyboard"] = emu.reply_keyboard(chat_id, uid)
        action = emu.chat_action(chat_id)
        out["typing"] = action["action"] if action else None
        out["menu_button"] = emu.menu_button_for(chat_id if chat.type == "private" else None)
        return out

    async def poll(request: web.Request) -> web.Response:
        q = dict(request.query)
        since = _int(q, "since", required=False) or 0
        timeout = min(float(q.get("timeout") or 20), 25.0)
        uid = _int(q, "user_id", required=False)
        chat_id = _int(q, "chat_id", required=False)
        thread_id = _int(q, "thread_id", required=False)
        if timeout > 0 and emu.version <= since:
            await emu.wait_changed(since, timeout)
        return web.json_response(snapshot(uid, chat_id, thread_id))

    async def send(request: web.Request) -> web.Response:
        data = await body(request)
        uid = _int(data, "user_id")
        text = str(data.get("text") or "")
        if not text.strip():
            raise _Bad("text is empty")
        chat_id = _int(data, "chat_id", required=False)
        msg = await emu.send_message(
            uid, text,
            chat_id=chat_id,
            message_thread_id=_int(data, "thread_id", required=False),
            reply_to_message_id=_int(data, "reply_to", required=False),
        )
        return web.json_response({"ok": True, "message": _view(emu, msg)})

    async def press(request: web.Request) -> web.Response:
        data = await body(request)
        qid = await emu.press_button(
            _int(data, "user_id"), _int(data, "chat_id"), _int(data, "message_id"),
            str(data.get("data") or ""),
        )
        return web.json_response({"ok": True, "callback_query_id": qid})

    async def callback_answer(request: web.Request) -> web.Response:
        qid = request.query.get("id", "")
        timeout = min(float(request.query.get("timeout") or 5), 15.0)
        try:
            answer = await emu.wait_for_callback_answer(qid, timeout)
        except TimeoutError:
            answer = None
        return web.json_response({"answer": answer})

    async def contact(request: web.Request) -> web.Response:
        data = await body(request)
        uid = _int(data, "user_id")
        user = emu.get_user(uid)
        phone = str(data.get("phone_number") or _demo_phone(uid))
        msg = await emu.send_contact(
            uid, phone, user["first_name"], last_name=user.get("last_name"),
            chat_id=_int(data, "chat_id", required=False),
        )
        return web.json_response({"ok": True, "message": _view(emu, msg)})

    async def location(request: web.Request) -> web.Response:
        data = await body(request)
        try:
            lat = float(data.get("latitude", 55.7558))
            lon = float(data.get("longitude", 37.6173))
        except (TypeError, ValueError):
            raise _Bad("bad coordinates") from None
        msg = await emu.send_location(
            _int(data, "user_id"), lat, lon, chat_id=_int(data, "chat_id", required=False)
        )
        return web.json_response({"ok": True, "message": _view(emu, msg)})

    async def document(request: web.Request) -> web.Response:
        post = await request.post()
        upload = post.get("file")
        if not isinstance(upload, web.FileField):
            raise _Bad("file is required")
        data = dict(post)
        uid = _int(data, "user_id")
        chat_id = _int(data, "chat_id", required=False)
        content = upload.file.read()
        caption = str(data.get("caption") or "") or None
        mime = upload.content_type or "application/octet-stream"
        if mime.startswith("image/") and mime != "image/svg+xml" and data.get("as_photo") != "0":
            msg = await emu.send_photo(uid, content, caption, chat_id=chat_id)
        else:
            msg = await emu.send_document(
                uid, upload.filename or "file", content, mime, caption=caption, chat_id=chat_id
            )
        return web.json_response({"ok": True, "message": _view(emu, msg)})

    async def initdata(request: web.Request) -> web.Response:
        q = dict(request.query)
        uid = _int(q, "user_id")
        init = emu.webapp_init_data(uid, start_param=q.get("start_param") or None)
        return web.json_response({"init_data": init, "theme_params": THEME_PARAMS,
                                  "miniapp_url": miniapp_url})

    async def groups(request: web.Request) -> web.Response:
        data = await body(request)
        title = str(data.get("title") or "").strip()
        if not title:
            raise _Bad("title is required")
        members = data.get("member_ids") or []
        if isinstance(members, str):
            members = [m for m in members.split(",") if m.strip()]
        chat = emu.create_group(
            title, forum=bool(data.get("forum", True)), member_ids=[int(m) for m in members]
        )
        return web.json_response({"ok": True, "chat": chat})

    async def join(request: web.Request) -> web.Response:
        data = await body(request)
        msg = emu.add_chat_member(_int(data, "chat_id"), _int(data, "user_id"))
        return web.json_response({"ok": True, "message": _view(emu, msg)})

    async def block(request: web.Request) -> web.Response:
        data = await body(request)
        emu.block_bot(_int(data, "user_id"), bool(data.get("blocked", True)))
        return web.json_response({"ok": True})

    async def file(request: web.Request) -> web.Response:
        fid = request.match_info["file_id"]
        info = emu.file_info(fid)
        if info is None:
            raise web.HTTPNotFound()
        headers = {}
        if info["file_name"] and info["kind"] != "photo":
            safe = re.sub(r"[^\w.\- ]", "_", info["file_name"])
            headers["Content-Disposition"] = f'inline; filename="{safe}"'
        return web.Response(body=emu.file_bytes(fid), content_type=info["mime_type"],
                            headers=headers)

    r = app.router
    r.add_get(prefix, page)
    r.add_get(prefix + "/", page)
    r.add_static(prefix + "/static", STATIC)
    api = prefix + "/api"
    r.add_get(api + "/users", guarded(users))
    r.add_post(api + "/users", guarded(add_user))
    r.add_get(api + "/chats", guarded(chats))
    r.add_get(api + "/poll", guarded(poll))
    r.add_get(api + "/history", guarded(poll))
    r.add_post(api + "/send", guarded(send))
    r.add_post(api + "/press", guarded(press))
    r.add_get(api + "/callback_answer", guarded(callback_answer))
    r.add_post(api + "/contact", guarded(contact))
    r.add_post(api + "/location", guarded(location))
    r.add_post(api + "/document", guarded(document))
    r.add_get(api + "/initdata", guarded(initdata))
    r.add_post(api + "/groups", guarded(groups))
    r.add_post(api + "/join", guarded(join))
    r.add_post(api + "/block", guarded(block))
    r.add_get(prefix + "/file/{file_id}", guarded(file))
    app[EMULATOR_KEY] = emu


__all__ = ["setup_sandbox", "THEME_PARAMS", "EMULATOR_KEY"]
