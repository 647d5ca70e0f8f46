"""In-memory Telegram Bot API emulator: state, user-side driver and HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from . import errors as E
from .errors import ApiError, BadRequest
from .formatting import auto_entities
from .media import extension, new_file_id, new_unique_id
from .methods import MethodsMixin
from .params import P, UploadedFile, _decode_value, for_record, read_params
from .webapp import build_init_data

log = logging.getLogger("kontakt.emulator")

# Telegram's default when allowed_updates is not specified (or is an empty list).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

DEFAULT_ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


def public(obj: Any) -> Any:
    """Deep copy without private ``_keys`` (what the bot gets over the API)."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


class ChatState:
    def __init__(self, obj: dict) -> None:
        self.obj = obj  # Telegram Chat object
        self.messages: dict[int, dict] = {}
        self.next_id = 1
        self.members: dict[int, dict] = {}
        self.topics: dict[int, dict] = {}
        self.pinned: list[int] = []
        self.keyboards: dict[int | None, dict | None] = {}
        self.instance = str(secrets.randbelow(10**18) + 10**18)
        self.action: dict | None = None
        self.invite_links: dict[str, dict] = {}
        self.started = False  # private chats: the user has written to the bot

    @property
    def id(self) -> int:
        return self.obj["id"]

    @property
    def type(self) -> str:
        return self.obj["type"]


class BotApiEmulator(MethodsMixin):
    """A fake Telegram Bot API server plus a driver to act as Telegram users.

    ``make_app()`` returns an aiohttp application serving ``/bot{token}/{method}`` and
    ``/file/bot{token}/{path}``; mount it with ``parent.add_subapp("/tgapi", app)`` or run
    it standalone.  Everything lives in memory of one asyncio loop.
    """

    def __init__(
        self,
        token: str = "123456:ABC-demo",
        bot_username: str = "kontakt_demo_bot",
        bot_first_name: str = "Kontakt",
        *,
        webhook_retry_delay: float = 0.05,
        webhook_retry_max_delay: float = 1.0,
        webhook_timeout: float = 10.0,
        strict_urls: bool = False,
        allow_local_webapps: bool = False,
    ) -> None:
        self.token = token
        # Telegram opens Web Apps only over https; the local sandbox (``kontakt demo``)
        # serves http://127.0.0.1, so it may allow loopback http URLs.
        self.allow_local_webapps = allow_local_webapps
        try:
            bot_id = int(token.split(":", 1)[0])
        except ValueError:
            raise ValueError("token must look like '<digits>:<secret>'") from None
        self.bot_user: dict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.bot_info: dict = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_retry_max_delay = webhook_retry_max_delay
        self.webhook_timeout = webhook_timeout
        self.strict_urls = strict_urls

        self._users: dict[int, dict] = {}
        self._blocked: set[int] = set()
        self.chats: dict[int, ChatState] = {}
        self.calls: list[tuple[str, dict]] = []
        self._consumed_calls: set[int] = set()
        self.callback_answers: dict[str, dict] = {}
        self.inline_answers: dict[str, dict] = {}
        self.webapp_answers: dict[str, dict] = {}
        self._open_callbacks: set[str] = set()
        self._open_inline: set[str] = set()
        self._faults: dict[str, list[dict]] = {}
        self._webhook: dict | None = None
        self._webhook_errors: dict = {}
        self._pending: list[dict] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self.commands: dict[tuple, list[dict]] = {}
        self.menu_buttons: dict[int | None, dict] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self._files: dict[str, dict] = {}
        self._files_by_path: dict[str, dict] = {}
        self._next_group_seq = 1
        self._next_query = 1
        self.version = 0
        self._event = asyncio.Event()
        self._closed = False
        self._release = 0  # bumped by close(): pending getUpdates answer at once
        self._deliverer: asyncio.Task | None = None

    # ------------------------------------------------------------------ change tracking
    def _bump(self) -> None:
        self.version += 1
        ev = self._event
        self._event = asyncio.Event()
        ev.set()

    async def wait_changed(self, since: int, timeout: float) -> int:
        """Wait until ``version`` > since (or timeout); return the current version."""
        with contextlib.suppress(TimeoutError):
            await self._wait_until(lambda: True if self.version > since else None, timeout)
        return self.version

    def _current_event(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        # an Event binds to the first loop that waits on it; the emulator may outlive a loop
        ev = self._event
        bound = getattr(ev, "_loop", None)
        if bound is not None and bound is not loop:
            ev = self._event = asyncio.Event()
        return ev

    async def _wait_until(self, pred: Callable[[], Any], timeout: float | None) -> Any:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            result = pred()
            if result is not None:
                return result
            ev = self._current_event(loop)
            if deadline is None:
                await ev.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    # ------------------------------------------------------------------ users & chats
    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
        *,
        is_premium: bool = False,
        started: bool = False,
        is_bot: bool = False,
    ) -> dict:
        """Register a Telegram user (private chat id == user_id).

        ``started=False`` (like a real account that never opened the bot): until the
        user writes to the bot, sendMessage to them answers 403 "Forbidden: bot can't
        initiate conversation with a user".
        """
        user: dict = {"id": int(user_id), "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        self._users[user["id"]] = user
        chat_obj: dict = {"id": user["id"], "type": "private", "first_name": first_name}
        if last_name:
            chat_obj["last_name"] = last_name
        if username:
            chat_obj["username"] = username
        if user["id"] in self.chats:
            self.chats[user["id"]].obj = chat_obj
        else:
            self.chats[user["id"]] = ChatState(chat_obj)
        if started:
            self.chats[user["id"]].started = True
        self._bump()
        return dict(user)

    @property
    def users(self) -> list[dict]:
        return [dict(u) for u in self._users.values()]

    def get_user(self, user_id: int) -> dict:
        try:
            return self._users[int(user_id)]
        except KeyError:
            raise LookupError(f"unknown user {user_id}; call add_user() first") from None

    def _member(self, user: dict, status: str, rights: dict | None = None) -> dict:
        if status == "creator":
            return {"status": "creator", "user": dict(user), "is_anonymous": False}
        if status == "administrator":
            rights = rights or DEFAULT_ADMIN_RIGHTS
            return {"status": "administrator", "user": dict(user), **rights}
        if status == "kicked":
            return {"status": "kicked", "user": dict(user), "until_date": 0}
        return {"status": status, "user": dict(user)}

    def create_group(
        self,
        title: str,
        *,
        forum: bool = True,
        member_ids: Iterable[int] = (),
        chat_id: int | None = None,
        bot_rights: dict | None = None,
        owner_id: int | None = None,
        username: str | None = None,
    ) -> dict:
        """Create a supergroup (a forum by default) where the bot is an administrator.

        The owner (``owner_id``, else the first of ``member_ids``) gets status "creator",
        the others "member".  A ``my_chat_member`` update (bot: left -> administrator)
        is queued when there is an owner to attribute it to.
        """
        member_ids = [int(m) for m in member_ids]
        if chat_id is None:
            chat_id = -(1_000_000_000_000 + 2_000_000_000 + self._next_group_seq * 7919)
            self._next_group_seq += 1
        obj: dict = {"id": int(chat_id), "type": "supergroup", "title": title}
        if username:
            obj["username"] = username
        if forum:
            obj["is_forum"] = True
        chat = ChatState(obj)
        # id 1 is the (unstored) "group created" service message; thread id 1 == General
        chat.next_id = 2
        if owner_id is None and member_ids:
            owner_id = member_ids[0]
        for uid in ([owner_id] if owner_id is not None else []) + member_ids:
            if uid in chat.members:
                continue
            chat.members[uid] = self._member(
                self.get_user(uid), "creator" if uid == owner_id else "member"
            )
        rights = {**DEFAULT_ADMIN_RIGHTS, **(bot_rights or {})}
        chat.members[self.bot_user["id"]] = self._member(self.bot_user, "administrator", rights)
        self.chats[chat.id] = chat
        if owner_id is not None:
            self._enqueue(
                "my_chat_member",
                {
                    "chat": dict(obj),
                    "from": dict(self.get_user(owner_id)),
                    "date": int(time.time()),
                    "old_chat_member": self._member(self.bot_user, "left"),
                    "new_chat_member": dict(chat.members[self.bot_user["id"]]),
                },
            )
        self._bump()
        return dict(obj)

    def add_chat_member(self, chat_id: int, user_id: int, status: str = "member") -> dict:
        """A user joins a group: ``new_chat_members`` service message (+ chat_member update)."""
        chat = self._chat_or_raise(chat_id)
        user = self.get_user(user_id)
        old = chat.members.get(user["id"]) or self._member(user, "left")
        chat.members[user["id"]] = self._member(user, status)
        self._enqueue(
            "chat_member",
            {
                "chat": dict(chat.obj),
                "from": dict(user),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": dict(chat.members[user["id"]]),
            },
        )
        msg = self._store_message(
            chat, user, new_chat_members=[dict(user)], _service=True
        )
        self._enqueue("message", public(msg))
        return msg

    def block_bot(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot; queues ``my_chat_member`` like Telegram."""
        user = self.get_user(user_id)
        was = user["id"] in self._blocked
        if blocked:
            self._blocked.add(user["id"])
        else:
            self._blocked.discard(user["id"])
        if was != blocked:
            self._enqueue(
                "my_chat_member",
                {
                    "chat": dict(self.chats[user["id"]].obj),
                    "from": dict(user),
                    "date": int(time.time()),
                    "old_chat_member": self._member(self.bot_user, "kicked" if was else "member"),
                    "new_chat_member": self._member(
                        self.bot_user, "kicked" if blocked else "member"
                    ),
                },
            )
        self._bump()

    def is_blocked(self, user_id: int) -> bool:
        return int(user_id) in self._blocked

    def _chat_or_raise(self, chat_id: int) -> ChatState:
        try:
            return self.chats[int(chat_id)]
        except (KeyError, ValueError, TypeError):
            raise LookupError(f"unknown chat {chat_id}") from None

    def topics(self, chat_id: int) -> list[dict]:
        chat = self._chat_or_raise(chat_id)
        return [
            {**public(t), "is_closed": bool(t.get("_closed"))} for t in chat.topics.values()
        ]

    # ------------------------------------------------------------------ messages
    def _store_message(
        self,
        chat: ChatState,
        sender: dict,
        *,
        thread_id: int | None = None,
        reply_to: dict | None = None,
        **content: Any,
    ) -> dict:
        mid = chat.next_id
        chat.next_id += 1
        msg: dict = {"message_id": mid, "from": dict(sender)}
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        msg["date"] = int(time.time())
        msg["chat"] = dict(chat.obj)
        if reply_to is not None:
            msg["reply_to_message"] = public({k: v for k, v in reply_to.items()
                                              if k != "reply_to_message"})
        for k, v in content.items():
            if v is not None:
                msg[k] = v
        chat.messages[mid] = msg
        if sender.get("id") == self.bot_user["id"] and chat.action:
            chat.action = None
        self._bump()
        return msg

    def history(self, chat_id: int, message_thread_id: int | None = None) -> list[dict]:
        """Messages of a chat (current state: edited in place, deleted removed).

        With ``message_thread_id`` only that forum topic's messages; the dicts may carry
        private ``_keys`` (e.g. ``_html``) the Bot API never returns.
        """
        chat = self.chats.get(int(chat_id))
        if chat is None:
            return []
        msgs = list(chat.messages.values())
        if message_thread_id is not None:
            msgs = [m for m in msgs if m.get("message_thread_id") == message_thread_id]
        return [copy.deepcopy(m) for m in msgs]

    def bot_messages(self, chat_id: int, message_thread_id: int | None = None) -> list[dict]:
        return [
            m
            for m in self.history(chat_id, message_thread_id)
            if m["from"]["id"] == self.bot_user["id"]
        ]

    def get_message(self, chat_id: int, message_id: int) -> dict | None:
        chat = self.chats.get(int(chat_id))
        if chat is None:
            return None
        m = chat.messages.get(int(message_id))
        return copy.deepcopy(m) if m is not None else None

    def reply_keyboard(self, chat_id: int, user_id: int | None = None) -> dict | None:
        """The reply keyboard currently shown to ``user_id`` in the chat (or None)."""
        chat = self.chats.get(int(chat_id))
        if chat is None:
            return None
        if user_id is not None and int(user_id) in chat.keyboards:
            return chat.keyboards[int(user_id)]
        return chat.keyboards.get(None)

    def chat_action(self, chat_id: int, max_age: float = 5.0) -> dict | None:
        chat = self.chats.get(int(chat_id))
        if chat is None or chat.action is None:
            return None
        if time.time() - chat.action["at"] > max_age:
            return None
        return dict(chat.action)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_message_id: int | None = 0,
        timeout: float = 5.0,
        predicate: Callable[[dict], bool] | None = None,
        message_thread_id: int | None = None,
    ) -> dict:
        """First (current, not deleted) bot message in the chat with id > after_message_id
        for which ``predicate`` is true.  Raises ``asyncio.TimeoutError``."""
        after = after_message_id or 0
        bot_id = self.bot_user["id"]

        def find() -> dict | None:
            chat = self.chats.get(int(chat_id))
            if chat is None:
                return None
            for m in chat.messages.values():
                if m["message_id"] <= after or m["from"]["id"] != bot_id:
                    continue
                thread = m.get("message_thread_id")
                if message_thread_id is not None and thread != message_thread_id:
                    continue
                if predicate is None or predicate(copy.deepcopy(m)):
                    return copy.deepcopy(m)
            return None

        return await self._wait_until(find, timeout)

    async def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,
        predicate: Callable[[dict], bool] | None = None,
        new_only: bool = False,
    ) -> dict:
        """Wait for a Bot API call of ``method`` (case-insensitive) and return its params.

        Semantics: returns the oldest recorded call of that method (matching
        ``predicate``) that no previous ``wait_for_call`` has returned yet -- calls made
        *before* the wait started count too, so there is no race with a fast bot.  Each
        call is returned at most once.  ``new_only=True`` ignores calls recorded before
        the wait started.  Raises ``asyncio.TimeoutError``.
        """
        name = method.lower()
        start = len(self.calls) if new_only else 0

        def find() -> dict | None:
            for i in range(start, len(self.calls)):
                if i in self._consumed_calls:
                    continue
                m, params = self.calls[i]
                if m.lower() != name:
                    continue
                if predicate is not None and not predicate(params):
                    continue
                self._consumed_calls.add(i)
                return params
            return None

        return await self._wait_until(find, timeout)

    def calls_of(self, method: str) -> list[dict]:
        return [p for m, p in self.calls if m.lower() == method.lower()]

    # ------------------------------------------------------------------ updates
    def _enqueue(self, kind: str, payload: dict) -> dict | None:
        if kind not in self._allowed_updates:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._pending.append(update)
        self._bump()
        if self._webhook is not None:
            self._ensure_deliverer()
        return update

    @property
    def pending_updates(self) -> list[dict]:
        return copy.deepcopy(self._pending)

    def _user_chat(self, user: dict, chat_id: int | None) -> ChatState:
        if chat_id is None or int(chat_id) == user["id"]:
            chat = self.chats[user["id"]]
            if user["id"] in self._blocked:
                raise PermissionError(f"user {user['id']} blocked the bot; block_bot(.., False)")
            chat.started = True
            return chat
        chat = self._chat_or_raise(chat_id)
        member = chat.members.get(user["id"])
        if member is None or member["status"] in ("left", "kicked"):
            raise PermissionError(f"user {user['id']} is not a member of chat {chat_id}")
        return chat

    def _check_thread(self, chat: ChatState, thread_id: int | None) -> int | None:
        if thread_id is None or not chat.obj.get("is_forum"):
            return None
        if int(thread_id) == 1:  # the General topic
            return None
        if int(thread_id) not in chat.topics:
            raise LookupError(f"no topic {thread_id} in chat {chat.id}")
        return int(thread_id)

    def _reply_target(self, chat: ChatState, reply_to_message_id: int | None) -> dict | None:
        if reply_to_message_id is None:
            return None
        target = chat.messages.get(int(reply_to_message_id))
        if target is None:
            raise LookupError(f"no message {reply_to_message_id} in chat {chat.id}")
        return target

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        message_thread_id: int | None,
        reply_to_message_id: int | None,
        **content: Any,
    ) -> dict:
        user = self.get_user(user_id)
        chat = self._user_chat(user, chat_id)
        target = self._reply_target(chat, reply_to_message_id)
        thread = self._check_thread(chat, message_thread_id)
        if thread is None and target is not None:
            thread = target.get("message_thread_id")
        msg = self._store_message(chat, user, thread_id=thread, reply_to=target, **content)
        self._enqueue("message", public(msg))
        return copy.deepcopy(msg)

    async def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict] | None = None,
    ) -> dict:
        """The user writes ``text`` (private chat with the bot unless ``chat_id``)."""
        if not text:
            raise ValueError("text is empty")
        ents = auto_entities(text, entities)
        msg = self._user_message(
            user_id, chat_id, message_thread_id, reply_to_message_id,
            text=text, entities=ents or None,
        )
        chat = self.chats[msg["chat"]["id"]]
        kb = self.reply_keyboard(chat.id, user_id)
        if kb and kb.get("one_time_keyboard"):
            labels = {
                (b if isinstance(b, str) else b.get("text"))
                for row in kb.get("keyboard", [])
                for b in row
            }
            if text in labels:
                key = int(user_id) if int(user_id) in chat.keyboards else None
                chat.keyboards[key] = {**kb, "_hidden": True}
                self._bump()
        return msg

    async def edit_message(self, user_id: int, chat_id: int, message_id: int, text: str) -> dict:
        """The user edits their own text message: ``edited_message`` update."""
        user = self.get_user(user_id)
        chat = self._chat_or_raise(chat_id)
        msg = chat.messages.get(int(message_id))
        if msg is None or msg["from"]["id"] != user["id"]:
            raise LookupError("message not found or not the user's")
        msg["text"] = text
        ents = auto_entities(text)
        if ents:
            msg["entities"] = ents
        else:
            msg.pop("entities", None)
        msg["edit_date"] = int(time.time())
        self._bump()
        self._enqueue("edited_message", public(msg))
        return copy.deepcopy(msg)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        chat_id: int | None = None,
        contact_user_id: int | None | bool = True,
    ) -> dict:
        """The user shares a contact; ``contact.user_id`` is the sender's id unless
        ``contact_user_id`` is given (``None`` for a contact without a Telegram account)."""
        contact: dict = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is True:
            contact["user_id"] = int(user_id)
        elif contact_user_id:
            contact["user_id"] = int(contact_user_id)
        return self._user_message(user_id, chat_id, None, None, contact=contact)

    async def share_own_contact(self, user_id: int, phone_number: str) -> dict:
        """What a ``request_contact`` keyboard button sends."""
        u = self.get_user(user_id)
        return await self.send_contact(
            user_id, phone_number, u["first_name"], last_name=u.get("last_name")
        )

    async def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict:
        return self._user_message(
            user_id, chat_id, message_thread_id, None,
            location={"latitude": float(latitude), "longitude": float(longitude)},
        )

    def _store_file(
        self, kind: str, data: bytes, *, file_name: str | None = None,
        mime_type: str | None = None,
    ) -> dict:
        fid = new_file_id(kind)
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        path = f"{folder}/file_{len(self._files)}.{extension(file_name, mime_type)}"
        rec = {
            "file_id": fid,
            "file_unique_id": new_unique_id(),
            "file_size": len(data),
            "file_path": path,
            "_kind": kind,
            "_data": bytes(data),
            "_mime": mime_type or "application/octet-stream",
            "_name": file_name,
        }
        self._files[fid] = rec
        self._files_by_path[path] = rec
        return rec

    def _document_obj(self, rec: dict) -> dict:
        doc: dict = {}
        if rec.get("_name"):
            doc["file_name"] = rec["_name"]
        doc["mime_type"] = rec["_mime"]
        doc.update(file_id=rec["file_id"], file_unique_id=rec["file_unique_id"],
                   file_size=rec["file_size"])
        return doc

    def _photo_obj(self, rec: dict) -> list[dict]:
        from .media import image_size

        w, h = image_size(rec["_data"])
        return [
            {"file_id": rec["file_id"], "file_unique_id": rec["file_unique_id"],
             "file_size": rec["file_size"], "width": w, "height": h}
        ]

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> dict:
        rec = self._store_file("document", content, file_name=filename, mime_type=mime_type)
        extra: dict = {"document": self._document_obj(rec)}
        if caption:
            extra["caption"] = caption
            ents = auto_entities(caption)
            if ents:
                extra["caption_entities"] = ents
        return self._user_message(user_id, chat_id, None, None, **extra)

    async def send_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict:
        rec = self._store_file("photo", content, file_name="photo.jpg", mime_type="image/jpeg")
        extra: dict = {"photo": self._photo_obj(rec)}
        if caption:
            extra["caption"] = caption
        return self._user_message(user_id, chat_id, message_thread_id, None, **extra)

    async def create_topic(
        self, user_id: int, chat_id: int, name: str, icon_color: int = 7322096
    ) -> dict:
        """A user creates a forum topic (service message sent to the bot)."""
        user = self.get_user(user_id)
        chat = self._user_chat(user, chat_id)
        return self._create_topic(chat, user, name, icon_color, None, notify=True)

    async def press_button(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        strict: bool = True,
    ) -> str:
        """The user taps an inline button; returns the callback_query id.

        With ``strict`` the message must carry a button with that callback_data.
        """
        user = self.get_user(user_id)
        chat = self._chat_or_raise(chat_id)
        msg = chat.messages.get(int(message_id))
        if msg is None:
            raise LookupError(f"no message {message_id} in chat {chat_id}")
        if strict:
            datas = {
                b.get("callback_data")
                for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            }
            if callback_data not in datas:
                raise ValueError(f"message {message_id} has no button with {callback_data!r}")
        qid = str(secrets.randbelow(10**18) + 10**18)
        self._open_callbacks.add(qid)
        self._enqueue(
            "callback_query",
            {
                "id": qid,
                "from": dict(user),
                "message": public(msg),
                "chat_instance": chat.instance,
                "data": callback_data,
            },
        )
        return qid

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> dict:
        return await self._wait_until(lambda: self.callback_answers.get(query_id), timeout)

    async def inline_query(
        self, user_id: int, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> str:
        user = self.get_user(user_id)
        qid = str(secrets.randbelow(10**18) + 10**18)
        self._open_inline.add(qid)
        payload: dict = {"id": qid, "from": dict(user), "query": query, "offset": offset}
        if chat_type:
            payload["chat_type"] = chat_type
        self._enqueue("inline_query", payload)
        return qid

    # ------------------------------------------------------------------ misc driver API
    def inject_fault(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error (429 gets
        ``parameters.retry_after``)."""
        self._faults.setdefault(method.lower(), []).append(
            {"error_code": error_code, "description": description,
             "retry_after": retry_after, "times": times}
        )

    def webapp_init_data(
        self,
        user_id: int,
        *,
        auth_date: int | None = None,
        query_id: str | None = None,
        start_param: str | None = None,
        chat_type: str | None = None,
        signature: bool = True,
    ) -> str:
        """Mini App initData for the user, signed with the bot token like Telegram."""
        user = self.get_user(user_id)
        return build_init_data(
            self.token,
            user,
            auth_date=int(time.time()) if auth_date is None else auth_date,
            query_id=query_id,
            start_param=start_param,
            chat_type=chat_type,
            signature=signature,
        )

    @property
    def webhook(self) -> dict | None:
        if self._webhook is None:
            return None
        return {k: v for k, v in self._webhook.items() if not k.startswith("_")}

    def file_bytes(self, file_id: str) -> bytes:
        try:
            return self._files[file_id]["_data"]
        except KeyError:
            raise LookupError(f"unknown file_id {file_id}") from None

    def file_info(self, file_id: str) -> dict | None:
        rec = self._files.get(file_id)
        if rec is None:
            return None
        return {"file_id": file_id, "file_name": rec.get("_name"), "mime_type": rec["_mime"],
                "file_size": rec["file_size"], "kind": rec["_kind"]}

    def commands_for(self, user_id: int, chat_id: int | None = None) -> list[dict]:
        """Commands a Telegram client would show ``user_id`` in that chat (scope and
        language fallback as documented for setMyCommands)."""
        user = self.get_user(user_id)
        lang = (user.get("language_code") or "")[:2]
        cid = user["id"] if chat_id is None else int(chat_id)
        chat = self.chats.get(cid)
        scopes: list[tuple] = []
        if chat is None or chat.type == "private":
            scopes = [
                ("chat", cid, None),
                ("all_private_chats", None, None),
                ("default", None, None),
            ]
        else:
            member = chat.members.get(user["id"]) or {}
            admin = member.get("status") in ("creator", "administrator")
            scopes = [("chat_member", cid, user["id"])]
            if admin:
                scopes.append(("chat_administrators", cid, None))
            scopes.append(("chat", cid, None))
            if admin:
                scopes.append(("all_chat_administrators", None, None))
            scopes += [("all_group_chats", None, None), ("default", None, None)]
        for scope in scopes:
            for lc in ([lang] if lang else []) + [""]:
                cmds = self.commands.get((*scope, lc))
                if cmds:
                    return [dict(c) for c in cmds]
        return []

    def menu_button_for(self, chat_id: int | None) -> dict:
        if chat_id is not None and int(chat_id) in self.menu_buttons:
            return dict(self.menu_buttons[int(chat_id)])
        return dict(self.menu_buttons.get(None) or {"type": "commands"})

    # ------------------------------------------------------------------ webhook delivery
    def _ensure_deliverer(self) -> None:
        if self._closed:
            return
        if self._deliverer is not None and not self._deliverer.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._deliverer = loop.create_task(self._deliver_loop())

    async def _deliver_loop(self) -> None:
        delay = self.webhook_retry_delay
        async with aiohttp.ClientSession() as session:
            while not self._closed:
                wh = self._webhook
                if wh is None or not self._pending:
                    await self._current_event(asyncio.get_running_loop()).wait()
                    continue
                update = self._pending[0]
                headers = {"Content-Type": "application/json"}
                if wh.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = wh["secret_token"]
                error: str | None = None
                reply: tuple[str, dict, dict] | None = None
                try:
                    async with session.post(
                        wh["url"],
                        data=json.dumps(update, ensure_ascii=False).encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    ) as resp:
                        if 200 <= resp.status < 300:
                            reply = await self._read_webhook_reply(resp)
                        else:
                            error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = (
                        "Connection timed out" if isinstance(exc, TimeoutError)
                        else "Connection refused"
                        if isinstance(exc, aiohttp.ClientConnectorError)
                        else f"{type(exc).__name__}: {exc}"
                    )
                if error is None:
                    if self._pending and self._pending[0] is update:
                        self._pending.pop(0)
                    self._bump()
                    delay = self.webhook_retry_delay
                    if reply is not None:
                        method, params, files = reply
                        with contextlib.suppress(Exception):
                            await self._call(method, params, files)
                    continue
                log.info("webhook delivery failed: %s", error)
                if self._webhook is wh:
                    wh["_last_error_date"] = int(time.time())
                    wh["_last_error_message"] = error
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.webhook_retry_max_delay)

    async def _read_webhook_reply(
        self, resp: aiohttp.ClientResponse
    ) -> tuple[str, dict, dict] | None:
        """A webhook response may itself be a Bot API call (``{"method": ...}``)."""
        raw: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        ctype = resp.content_type
        try:
            if ctype == "application/json":
                body = await resp.json(content_type=None)
                if isinstance(body, dict):
                    raw = body
            elif ctype.startswith("multipart/"):
                reader = aiohttp.MultipartReader.from_response(resp)
                while True:
                    part = await reader.next()
                    if part is None:
                        break
                    data = await part.read(decode=False)  # type: ignore[union-attr]
                    if part.filename is not None:  # type: ignore[union-attr]
                        files[part.name or ""] = UploadedFile(
                            part.filename,  # type: ignore[union-attr]
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(data),
                        )
                    else:
                        raw[part.name or ""] = bytes(data).decode()
            else:
                await resp.read()
        except (ValueError, aiohttp.ClientError):
            return None
        method = raw.pop("method", None)
        if not method or not isinstance(method, str):
            return None
        return method, {k: _decode_value(k, v) for k, v in raw.items()}, files

    async def close(self) -> None:
        """Stop webhook delivery (until the app starts again) and release pending
        long-polling getUpdates requests.  Called on the app's shutdown."""
        self._closed = True
        self._release += 1
        self._bump()
        task, self._deliverer = self._deliverer, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ------------------------------------------------------------------ HTTP
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

        async def on_startup(_app: web.Application) -> None:
            self._closed = False
            if self._webhook is not None:
                self._ensure_deliverer()

        async def on_shutdown(_app: web.Application) -> None:
            await self.close()

        app.on_startup.append(on_startup)
        app.on_shutdown.append(on_shutdown)
        return app

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        rec = self._files_by_path.get(request.match_info["path"])
        if rec is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=rec["_data"], content_type=rec["_mime"])

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        method = request.match_info["method"]
        if self._method_impl(method) is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        try:
            params, files = await read_params(request)
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.error_code)
        ok, payload = await self._call(method, params, files)
        return web.json_response(payload, status=200 if ok else payload["error_code"],
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    def _method_impl(self, method: str) -> Callable | None:
        return self._api_methods().get(method.lower())

    async def _call(
        self, method: str, params: dict, files: dict[str, UploadedFile]
    ) -> tuple[bool, dict]:
        impl = self._method_impl(method)
        if impl is None:
            return False, ApiError(404, "Not Found").payload()
        canonical = impl.__name__[len("api_"):]
        self.calls.append((canonical, for_record(params, files)))
        self._bump()
        try:
            faults = self._faults.get(canonical.lower())
            if faults:
                fault = faults[0]
                fault["times"] -= 1
                if fault["times"] <= 0:
                    faults.pop(0)
                parameters = (
                    {"retry_after": int(fault["retry_after"])}
                    if fault.get("retry_after") is not None else None
                )
                raise ApiError(fault["error_code"], fault["description"], parameters)
            result = impl(P(params, files))
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            return False, exc.payload()
        except Exception:  # pragma: no cover - a bug in the emulator
            log.exception("emulator failure in %s", method)
            return False, ApiError(500, "Internal Server Error").payload()
        return True, {"ok": True, "result": public(result)}


__all__ = ["BotApiEmulator", "ChatState", "public", "E", "BadRequest"]
