"""Bot API method implementations (``api_<methodName>``) for :class:`BotApiEmulator`."""

from __future__ import annotations

import re
import secrets
import string
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from . import errors as E
from .errors import ApiError, BadRequest, Forbidden
from .formatting import format_text, utf16_len
from .media import guess_mime
from .params import P, UploadedFile

if TYPE_CHECKING:  # pragma: no cover
    from .core import BotApiEmulator, ChatState

TOPIC_COLORS = {7322096, 16766590, 13338331, 9367192, 16749490, 16478047}
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
_COMMAND_RX = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RX = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_ACCEPTED_GIFTS = {
    "unlimited_gifts": True,
    "limited_gifts": True,
    "unique_gifts": True,
    "premium_subscription": True,
    "gifts_from_channels": True,
}
_PERMISSIONS = {
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": True,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
}


class MethodsMixin:
    # ------------------------------------------------------------------ registry
    def _api_methods(self: BotApiEmulator) -> dict[str, Any]:
        cache = getattr(self, "_api_cache", None)
        if cache is None:
            cache = {
                name[4:].lower(): getattr(self, name)
                for name in dir(type(self))
                if name.startswith("api_")
            }
            self._api_cache = cache
        return cache

    # ------------------------------------------------------------------ helpers
    def _resolve_chat(self: BotApiEmulator, p: P, key: str = "chat_id") -> ChatState:
        raw = p.get(key)
        if raw is None:
            raise BadRequest(f"Bad Request: {key} is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            uname = raw[1:].lower()
            for chat in self.chats.values():
                if (chat.obj.get("username") or "").lower() == uname:
                    return chat
            raise BadRequest(E.CHAT_NOT_FOUND)
        try:
            cid = int(raw)
        except (TypeError, ValueError):
            raise BadRequest(E.CHAT_NOT_FOUND) from None
        chat = self.chats.get(cid)
        if chat is None:
            raise BadRequest(E.CHAT_NOT_FOUND)
        return chat

    def _bot_member(self: BotApiEmulator, chat: ChatState) -> dict:
        return chat.members.get(self.bot_user["id"]) or {"status": "left"}

    def _bot_right(self: BotApiEmulator, chat: ChatState, right: str) -> bool:
        m = self._bot_member(chat)
        return m.get("status") == "creator" or (
            m.get("status") == "administrator" and bool(m.get(right))
        )

    def _check_can_write(self: BotApiEmulator, chat: ChatState) -> None:
        if chat.type == "private":
            if chat.id in self._blocked:
                raise Forbidden(E.BLOCKED)
            if not chat.started:
                raise Forbidden(E.CANT_INITIATE)
            return
        if self._bot_member(chat).get("status") in ("left", "kicked"):
            raise Forbidden("Forbidden: bot is not a member of the supergroup chat")

    def _thread_for_send(self: BotApiEmulator, p: P, chat: ChatState) -> int | None:
        tid = p.int("message_thread_id")
        if tid is None or not chat.obj.get("is_forum"):
            return None
        if tid == 1:
            return None
        topic = chat.topics.get(tid)
        if topic is None:
            raise BadRequest("Bad Request: message thread not found")
        if topic.get("_closed") and not self._bot_right(chat, "can_manage_topics"):
            raise BadRequest("Bad Request: TOPIC_CLOSED")
        return tid

    def _reply_for_send(self: BotApiEmulator, p: P, chat: ChatState) -> dict | None:
        rp = p.obj("reply_parameters")
        mid = None
        allow = p.bool("allow_sending_without_reply")
        if isinstance(rp, dict):
            if rp.get("chat_id") not in (None, chat.id):
                other = self.chats.get(int(rp["chat_id"])) if str(
                    rp["chat_id"]).lstrip("-").isdigit() else None
                if other is None:
                    raise BadRequest(E.CHAT_NOT_FOUND)
                target = other.messages.get(int(rp.get("message_id") or 0))
                if target is None and not rp.get("allow_sending_without_reply"):
                    raise BadRequest("Bad Request: message to be replied not found")
                return target
            mid = rp.get("message_id")
            allow = allow or bool(rp.get("allow_sending_without_reply"))
        elif p.has("reply_to_message_id"):
            mid = p.int("reply_to_message_id")
        if mid is None:
            return None
        target = chat.messages.get(int(mid))
        if target is None and not allow:
            raise BadRequest("Bad Request: message to be replied not found")
        return target

    def _validate_markup(self: BotApiEmulator, markup: Any, chat: ChatState) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise BadRequest("Bad Request: object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise BadRequest("Bad Request: field \"inline_keyboard\" of the "
                                 "InlineKeyboardMarkup must be an Array of Arrays")
            for row in rows:
                for b in row:
                    if not isinstance(b, dict) or not b.get("text"):
                        raise BadRequest("Bad Request: can't parse inline keyboard button: "
                                         "Text buttons are unallowed in the inline keyboard"
                                         if isinstance(b, dict) else
                                         "Bad Request: can't parse inline keyboard button: "
                                         "InlineKeyboardButton must be an Object")
                    actions = [k for k in b if k != "text"]
                    if not actions:
                        raise BadRequest("Bad Request: can't parse inline keyboard button: "
                                         "Text buttons are unallowed in the inline keyboard")
                    if "callback_data" in b:
                        data = b["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                            raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
                    if "url" in b:
                        url = b["url"]
                        if not isinstance(url, str) or not re.match(
                            r"^(https?|tg)://\S+$", url
                        ):
                            raise BadRequest(
                                f"Bad Request: inline keyboard button URL '{url}' is invalid: "
                                "Wrong HTTP URL"
                            )
                    if "web_app" in b:
                        if chat.type != "private":
                            raise BadRequest("Bad Request: BUTTON_TYPE_INVALID")
                        url = (b["web_app"] or {}).get("url", "")
                        local_ok = self.allow_local_webapps and re.match(
                            r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", str(url))
                        if not str(url).startswith("https://") and not local_ok:
                            raise BadRequest(
                                "Bad Request: inline keyboard button Web App URL "
                                f"'{url}' is invalid: Only HTTPS links are allowed"
                            )
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise BadRequest("Bad Request: field \"keyboard\" of the ReplyKeyboardMarkup "
                                 "must be an Array of Arrays")
            for row in rows:
                for b in row:
                    if isinstance(b, dict) and "web_app" in b and chat.type != "private":
                        raise BadRequest("Bad Request: BUTTON_TYPE_INVALID")
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        if not markup:
            return None
        raise BadRequest("Bad Request: can't find field \"inline_keyboard\"")

    def _bot_send(self: BotApiEmulator, p: P, content: dict, chat: ChatState | None = None) -> dict:
        chat = chat or self._resolve_chat(p)
        self._check_can_write(chat)
        thread = self._thread_for_send(p, chat)
        markup = self._validate_markup(p.obj("reply_markup"), chat)
        target = self._reply_for_send(p, chat)
        if thread is None and target is not None and target.get("chat", {}).get("id") == chat.id:
            thread = target.get("message_thread_id")
        extra: dict = {}
        if markup and "inline_keyboard" in markup:
            if markup["inline_keyboard"]:
                extra["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        elif markup:
            extra["_reply_markup"] = markup
        if p.bool("protect_content"):
            extra["has_protected_content"] = True
        msg = self._store_message(
            chat, self.bot_user, thread_id=thread, reply_to=target, **content, **extra
        )
        if markup and "keyboard" in markup:
            key = None
            if (
                markup.get("selective")
                and target is not None
                and target["from"]["id"] != self.bot_user["id"]
            ):
                key = target["from"]["id"]
            chat.keyboards[key] = dict(markup)
        elif markup and markup.get("remove_keyboard"):
            key = None
            if markup.get("selective") and target is not None:
                key = target["from"]["id"]
            chat.keyboards[key] = None
        return msg

    def _text_content(self: BotApiEmulator, p: P, key: str = "text") -> dict:
        raw = p.str(key)
        if raw is None or not raw.strip():
            raise BadRequest("Bad Request: message text is empty")
        ents = p.obj("entities")
        text, entities, html = format_text(raw, p.str("parse_mode"), ents)
        entities = self._mentioned_users(entities)
        if not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise BadRequest("Bad Request: message is too long")
        out: dict = {"text": text}
        if entities:
            out["entities"] = entities
        if html is not None:
            out["_html"] = html
        lpo = p.obj("link_preview_options")
        if lpo:
            out["link_preview_options"] = lpo
        elif p.bool("disable_web_page_preview"):
            out["link_preview_options"] = {"is_disabled": True}
        return out

    def _mentioned_users(self: BotApiEmulator, entities: list[dict]) -> list[dict]:
        """A text_mention carries the whole User, as Telegram sends it; a mention of
        a user the bot cannot know stays plain text."""
        out = []
        for e in entities or []:
            if e.get("type") == "text_mention":
                user = self._users.get(int(e["user"]["id"]))
                if user is None:
                    continue
                e = {**e, "user": dict(user)}
            out.append(e)
        return out

    def _caption_content(self: BotApiEmulator, p: P) -> dict:
        raw = p.str("caption")
        if raw is None:
            return {}
        text, entities, html = format_text(raw, p.str("parse_mode"), p.obj("caption_entities"))
        entities = self._mentioned_users(entities)
        if utf16_len(text) > 1024:
            raise BadRequest("Bad Request: message caption is too long")
        out: dict = {"caption": text}
        if entities:
            out["caption_entities"] = entities
        if html is not None:
            out["_caption_html"] = html
        if p.bool("show_caption_above_media"):
            out["show_caption_above_media"] = True
        return out

    def _find_message(self: BotApiEmulator, p: P, not_found: str) -> tuple[ChatState, dict]:
        if p.has("inline_message_id") and not p.has("chat_id"):
            raise BadRequest("Bad Request: MESSAGE_ID_INVALID")
        chat = self._resolve_chat(p)
        mid = p.int("message_id", required=True,
                    empty="Bad Request: message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None:
            raise BadRequest(not_found)
        return chat, msg

    def _editable(self: BotApiEmulator, chat: ChatState, msg: dict) -> None:
        if msg["from"]["id"] != self.bot_user["id"] or msg.get("_service"):
            raise BadRequest("Bad Request: message can't be edited")
        self._check_can_write(chat)

    async def _input_file(self: BotApiEmulator, p: P, key: str, kind: str) -> dict:
        value = p.params.get(key)
        upload: UploadedFile | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://"):])
            if upload is None:
                raise BadRequest(f"Bad Request: file {value} not found in the request")
        elif key in p.files:
            upload = p.files[key]
        elif value in (None, ""):
            raise BadRequest(f"Bad Request: there is no {kind} in the request")
        if upload is not None:
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = guess_mime(upload.filename)
            return self._store_file(kind, upload.data, file_name=upload.filename, mime_type=mime)
        value = str(value)
        if value in self._files:
            rec = self._files[value]
            if rec["_kind"] != kind:
                raise BadRequest(
                    f"Bad Request: can't use file of type {rec['_kind'].capitalize()} "
                    f"as {kind.capitalize()}"
                )
            return rec
        if re.match(r"^https?://", value):
            name = value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file"
            try:
                async with aiohttp.ClientSession() as session, session.get(
                    value, timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    if resp.status != 200:
                        raise aiohttp.ClientError(f"HTTP {resp.status}")
                    data = await resp.read()
                    mime = resp.content_type or guess_mime(name)
            except (aiohttp.ClientError, TimeoutError, OSError):
                if self.strict_urls:
                    raise BadRequest("Bad Request: failed to get HTTP URL content") from None
                data, mime = b"", guess_mime(name)
            rec = self._store_file(kind, data, file_name=name, mime_type=mime)
            rec["_url"] = value
            return rec
        raise BadRequest("Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ bot & updates
    def api_getMe(self: BotApiEmulator, p: P) -> dict:
        return dict(self.bot_info)

    def api_logOut(self: BotApiEmulator, p: P) -> bool:
        return True

    def api_close(self: BotApiEmulator, p: P) -> bool:
        return True

    async def api_getUpdates(self: BotApiEmulator, p: P) -> list[dict]:
        if self._webhook is not None:
            raise ApiError(409, E.WEBHOOK_ACTIVE)
        offset = p.int("offset")
        limit = p.int("limit") or 100
        limit = max(1, min(100, limit))
        timeout = max(0, p.int("timeout") or 0)
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            from .core import DEFAULT_UPDATE_TYPES

            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if offset is not None:
            if offset < 0:
                keep = self._pending[offset:]
                self._pending[:] = keep
            else:
                self._pending[:] = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        release = self._release

        def ready() -> list | None:
            if self._webhook is not None:
                raise ApiError(409, E.WEBHOOK_ACTIVE)
            if generation != self._poll_generation:
                raise ApiError(409, E.TERMINATED_BY_OTHER)
            if self._pending or self._release != release:
                return [u for u in self._pending[:limit]]
            return None

        try:
            return await self._wait_until(ready, float(timeout))
        except TimeoutError:
            return []

    def api_setWebhook(self: BotApiEmulator, p: P) -> bool:
        url = p.str("url") or ""
        if not url:
            self._webhook = None
            if p.bool("drop_pending_updates"):
                self._pending.clear()
            self._bump()
            return True
        if not re.match(r"^https?://[^\s/]+", url):
            raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.str("secret_token")
        if secret is not None and not _SECRET_RX.match(secret):
            raise BadRequest("Bad Request: secret token contains unallowed characters")
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            from .core import DEFAULT_UPDATE_TYPES

            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if p.bool("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.int("max_connections") or 40,
            "allowed_updates": sorted(self._allowed_updates),
        }
        if p.has("ip_address"):
            self._webhook["ip_address"] = p.str("ip_address")
        self._poll_generation += 1  # release a pending getUpdates with 409
        self._bump()
        self._ensure_deliverer()
        return True

    def api_deleteWebhook(self: BotApiEmulator, p: P) -> bool:
        self._webhook = None
        if p.bool("drop_pending_updates"):
            self._pending.clear()
        self._bump()
        return True

    def api_getWebhookInfo(self: BotApiEmulator, p: P) -> dict:
        wh = self._webhook
        info: dict = {
            "url": wh["url"] if wh else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if wh:
            if wh.get("ip_address"):
                info["ip_address"] = wh["ip_address"]
            if wh.get("_last_error_date"):
                info["last_error_date"] = wh["_last_error_date"]
                info["last_error_message"] = wh["_last_error_message"]
            info["max_connections"] = wh["max_connections"]
            info["allowed_updates"] = wh["allowed_updates"]
        return info

    # ------------------------------------------------------------------ sending
    def api_sendMessage(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        return self._bot_send(p, self._text_content(p), chat)

    async def api_sendPhoto(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        self._check_can_write(chat)
        rec = await self._input_file(p, "photo", "photo")
        content = {"photo": self._photo_obj(rec), **self._caption_content(p)}
        if p.bool("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_send(p, content, chat)

    async def api_sendDocument(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        self._check_can_write(chat)
        rec = await self._input_file(p, "document", "document")
        return self._bot_send(
            p, {"document": self._document_obj(rec), **self._caption_content(p)}, chat
        )

    def api_sendLocation(self: BotApiEmulator, p: P) -> dict:
        lat = p.float("latitude", required=True)
        lon = p.float("longitude", required=True)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadRequest("Bad Request: wrong latitude or longitude")
        loc: dict = {"latitude": lat, "longitude": lon}
        if p.has("horizontal_accuracy"):
            loc["horizontal_accuracy"] = p.float("horizontal_accuracy")
        if p.has("live_period"):
            loc["live_period"] = p.int("live_period")
        return self._bot_send(p, {"location": loc})

    def api_sendContact(self: BotApiEmulator, p: P) -> dict:
        phone = p.str("phone_number", required=True)
        first = p.str("first_name", required=True)
        contact: dict = {"phone_number": phone, "first_name": first}
        if p.has("last_name"):
            contact["last_name"] = p.str("last_name")
        if p.has("vcard"):
            contact["vcard"] = p.str("vcard")
        return self._bot_send(p, {"contact": contact})

    def api_sendChatAction(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        action = p.str("action", required=True)
        if action not in CHAT_ACTIONS:
            raise BadRequest("Bad Request: wrong parameter action in request")
        self._check_can_write(chat)
        chat.action = {"action": action, "at": time.time(),
                       "message_thread_id": p.int("message_thread_id")}
        self._bump()
        return True

    def api_forwardMessage(self: BotApiEmulator, p: P) -> dict:
        src = self._resolve_chat(p, "from_chat_id")
        mid = p.int("message_id", required=True)
        orig = src.messages.get(mid)
        if orig is None:
            raise BadRequest("Bad Request: message to forward not found")
        content = {k: v for k, v in orig.items() if k not in (
            "message_id", "from", "date", "chat", "message_thread_id", "is_topic_message",
            "reply_to_message", "edit_date")}
        content["forward_origin"] = {"type": "user", "sender_user": orig["from"],
                                     "date": orig["date"]}
        return self._bot_send(p, content)

    def api_copyMessage(self: BotApiEmulator, p: P) -> dict:
        src = self._resolve_chat(p, "from_chat_id")
        mid = p.int("message_id", required=True)
        orig = src.messages.get(mid)
        if orig is None:
            raise BadRequest("Bad Request: message to copy not found")
        content = {k: v for k, v in orig.items() if k not in (
            "message_id", "from", "date", "chat", "message_thread_id", "is_topic_message",
            "reply_to_message", "edit_date", "reply_markup")}
        if p.has("caption"):
            content.update(self._caption_content(p))
        msg = self._bot_send(p, content)
        return {"message_id": msg["message_id"]}

    # ------------------------------------------------------------------ editing
    def api_editMessageText(self: BotApiEmulator, p: P) -> dict:
        chat, msg = self._find_message(p, "Bad Request: message to edit not found")
        self._editable(chat, msg)
        if "text" not in msg:
            raise BadRequest("Bad Request: there is no text in the message to edit")
        content = self._text_content(p)
        markup = self._validate_markup(p.obj("reply_markup"), chat)
        if markup is not None and "inline_keyboard" not in markup:
            raise BadRequest("Bad Request: inline keyboard expected")
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        if (
            content["text"] == msg.get("text")
            and content.get("entities") == msg.get("entities")
            and new_markup == msg.get("reply_markup")
        ):
            raise BadRequest(E.NOT_MODIFIED)
        for k in ("entities", "_html", "reply_markup", "link_preview_options"):
            msg.pop(k, None)
        msg.update(content)
        if new_markup:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        self._bump()
        return msg

    def api_editMessageCaption(self: BotApiEmulator, p: P) -> dict:
        chat, msg = self._find_message(p, "Bad Request: message to edit not found")
        self._editable(chat, msg)
        if not any(k in msg for k in ("photo", "document", "video", "audio", "animation")):
            raise BadRequest("Bad Request: there is no caption in the message to edit")
        content = self._caption_content(p)
        markup = self._validate_markup(p.obj("reply_markup"), chat)
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        if (
            content.get("caption") == msg.get("caption")
            and content.get("caption_entities") == msg.get("caption_entities")
            and new_markup == msg.get("reply_markup")
        ):
            raise BadRequest(E.NOT_MODIFIED)
        for k in ("caption", "caption_entities", "_caption_html", "reply_markup"):
            msg.pop(k, None)
        msg.update(content)
        if new_markup:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        self._bump()
        return msg

    def api_editMessageReplyMarkup(self: BotApiEmulator, p: P) -> dict:
        chat, msg = self._find_message(p, "Bad Request: message to edit not found")
        self._editable(chat, msg)
        markup = self._validate_markup(p.obj("reply_markup"), chat)
        if markup is not None and "inline_keyboard" not in markup:
            raise BadRequest("Bad Request: inline keyboard expected")
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        if new_markup == msg.get("reply_markup") or (
            not new_markup and not msg.get("reply_markup")
        ):
            raise BadRequest(E.NOT_MODIFIED)
        msg.pop("reply_markup", None)
        if new_markup and new_markup["inline_keyboard"]:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        self._bump()
        return msg

    def _delete(self: BotApiEmulator, chat: ChatState, mid: int) -> None:
        msg = chat.messages.get(mid)
        if msg is None:
            raise BadRequest("Bad Request: message to delete not found")
        if chat.type != "private" and msg["from"]["id"] != self.bot_user["id"] and not (
            self._bot_right(chat, "can_delete_messages")
        ):
            raise BadRequest("Bad Request: message can't be deleted")
        if msg.get("forum_topic_created"):
            raise BadRequest("Bad Request: message can't be deleted")
        del chat.messages[mid]
        if mid in chat.pinned:
            chat.pinned.remove(mid)
        self._bump()

    def api_deleteMessage(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        mid = p.int("message_id", required=True,
                    empty="Bad Request: message identifier is not specified")
        self._delete(chat, mid)
        return True

    def api_deleteMessages(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        ids = p.obj("message_ids") or []
        for mid in ids:
            if int(mid) in chat.messages:
                self._delete(chat, int(mid))
        return True

    # ------------------------------------------------------------------ queries
    def api_answerCallbackQuery(self: BotApiEmulator, p: P) -> bool:
        qid = p.str("callback_query_id", required=True)
        if qid not in self._open_callbacks:
            raise BadRequest(E.QUERY_TOO_OLD)
        text = p.str("text")
        if text is not None and len(text) > 200:
            raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(qid)
        answer: dict = {"callback_query_id": qid, "show_alert": p.bool("show_alert")}
        if text is not None:
            answer["text"] = text
        if p.has("url"):
            answer["url"] = p.str("url")
        if p.has("cache_time"):
            answer["cache_time"] = p.int("cache_time")
        self.callback_answers[qid] = answer
        self._bump()
        return True

    def api_answerInlineQuery(self: BotApiEmulator, p: P) -> bool:
        qid = p.str("inline_query_id", required=True)
        if qid not in self._open_inline:
            raise BadRequest(E.QUERY_TOO_OLD)
        results = p.obj("results")
        if not isinstance(results, list):
            raise BadRequest("Bad Request: results is empty" if results is None
                             else "Bad Request: can't parse results JSON object")
        if len(results) > 50:
            raise BadRequest("Bad Request: RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(set(ids)) != len(ids):
            raise BadRequest("Bad Request: RESULT_ID_DUPLICATE")
        self._open_inline.discard(qid)
        answer = {k: v for k, v in p.params.items() if k != "inline_query_id"}
        answer["results"] = results
        self.inline_answers[qid] = answer
        self._bump()
        return True

    def api_answerWebAppQuery(self: BotApiEmulator, p: P) -> dict:
        qid = p.str("web_app_query_id", required=True)
        self.webapp_answers[qid] = {"result": p.obj("result")}
        self._bump()
        return {"inline_message_id": secrets.token_urlsafe(18)}

    # ------------------------------------------------------------------ commands & menu
    def _scope_key(self: BotApiEmulator, p: P) -> tuple:
        scope = p.obj("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise BadRequest("Bad Request: can't parse BotCommandScope")
        stype = scope["type"]
        cid = uid = None
        if stype in ("chat", "chat_administrators", "chat_member"):
            chat = self._resolve_chat(P({"chat_id": scope.get("chat_id")}, {}))
            cid = chat.id
        if stype == "chat_member":
            uid = int(scope.get("user_id") or 0)
            if uid not in self._users:
                raise BadRequest("Bad Request: user not found")
        elif stype not in (
            "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
            "chat", "chat_administrators",
        ):
            raise BadRequest("Bad Request: wrong scope type specified")
        lang = p.str("language_code") or ""
        if lang and not re.match(r"^[a-z]{2}$", lang):
            raise BadRequest("Bad Request: invalid language code specified")
        return (stype, cid, uid, lang)

    def api_setMyCommands(self: BotApiEmulator, p: P) -> bool:
        cmds = p.obj("commands")
        if not isinstance(cmds, list):
            raise BadRequest("Bad Request: commands is empty" if cmds is None
                             else "Bad Request: can't parse commands JSON object")
        if len(cmds) > 100:
            raise BadRequest("Bad Request: too many commands specified")
        clean: list[dict] = []
        for c in cmds:
            if not isinstance(c, dict) or not _COMMAND_RX.match(str(c.get("command", ""))):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
            desc = str(c.get("description", ""))
            if not 1 <= len(desc) <= 256:
                raise BadRequest("Bad Request: command description is empty"
                                 if not desc else "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": c["command"], "description": desc})
        key = self._scope_key(p)
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        self._bump()
        return True

    def api_getMyCommands(self: BotApiEmulator, p: P) -> list[dict]:
        return [dict(c) for c in self.commands.get(self._scope_key(p), [])]

    def api_deleteMyCommands(self: BotApiEmulator, p: P) -> bool:
        self.commands.pop(self._scope_key(p), None)
        self._bump()
        return True

    def api_setChatMenuButton(self: BotApiEmulator, p: P) -> bool:
        key = None
        if p.has("chat_id"):
            chat = self._resolve_chat(p)
            if chat.type != "private":
                raise BadRequest("Bad Request: menu button can be set only in private chats")
            key = chat.id
        button = p.obj("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands", "web_app", "default"
        ):
            raise BadRequest("Bad Request: can't parse menu button")
        if button["type"] == "web_app":
            if not button.get("text") or not (button.get("web_app") or {}).get("url"):
                raise BadRequest("Bad Request: can't parse menu button")
        if button["type"] == "default":
            self.menu_buttons.pop(key, None)
        else:
            self.menu_buttons[key] = button
        self._bump()
        return True

    def api_getChatMenuButton(self: BotApiEmulator, p: P) -> dict:
        key = self._resolve_chat(p).id if p.has("chat_id") else None
        return self.menu_button_for(key)

    def _bot_text(self: BotApiEmulator, p: P, field: str, limit: int) -> bool:
        value = p.str(field) or ""
        if len(value) > limit:
            raise BadRequest(f"Bad Request: {field} is too long")
        lang = p.str("language_code") or ""
        if value:
            self.bot_texts[(field, lang)] = value
        else:
            self.bot_texts.pop((field, lang), None)
        return True

    def _get_bot_text(self: BotApiEmulator, p: P, field: str) -> dict:
        lang = p.str("language_code") or ""
        default = self.bot_user["first_name"] if field == "name" else ""
        return {field: self.bot_texts.get((field, lang), self.bot_texts.get((field, ""), default))}

    def api_setMyName(self: BotApiEmulator, p: P) -> bool:
        return self._bot_text(p, "name", 64)

    def api_getMyName(self: BotApiEmulator, p: P) -> dict:
        return self._get_bot_text(p, "name")

    def api_setMyDescription(self: BotApiEmulator, p: P) -> bool:
        return self._bot_text(p, "description", 512)

    def api_getMyDescription(self: BotApiEmulator, p: P) -> dict:
        return self._get_bot_text(p, "description")

    def api_setMyShortDescription(self: BotApiEmulator, p: P) -> bool:
        return self._bot_text(p, "short_description", 120)

    def api_getMyShortDescription(self: BotApiEmulator, p: P) -> dict:
        return self._get_bot_text(p, "short_description")

    # ------------------------------------------------------------------ chats
    def api_getChat(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        info = dict(chat.obj)
        info["accent_color_id"] = chat.id % 7 if chat.type == "private" else 0
        info["max_reaction_count"] = 11
        info["accepted_gift_types"] = dict(_ACCEPTED_GIFTS)
        if chat.type != "private":
            info["permissions"] = dict(_PERMISSIONS)
        if chat.pinned and chat.pinned[-1] in chat.messages:
            info["pinned_message"] = chat.messages[chat.pinned[-1]]
        return info

    def api_getChatMember(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        uid = p.int("user_id", required=True)
        if uid == self.bot_user["id"]:
            if chat.type == "private":
                return {"status": "member", "user": dict(self.bot_user)}
            return self._bot_member(chat) | {"user": dict(self.bot_user)}
        user = self._users.get(uid)
        if user is None:
            raise BadRequest("Bad Request: user not found")
        if chat.type == "private":
            if uid != chat.id:
                raise BadRequest("Bad Request: user not found")
            return {"status": "member", "user": dict(user)}
        return chat.members.get(uid) or self._member(user, "left")

    def api_getChatAdministrators(self: BotApiEmulator, p: P) -> list[dict]:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise BadRequest("Bad Request: there are no administrators in the private chat")
        return [m for m in chat.members.values() if m["status"] in ("creator", "administrator")]

    def api_getChatMemberCount(self: BotApiEmulator, p: P) -> int:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            return 2
        return sum(1 for m in chat.members.values() if m["status"] not in ("left", "kicked"))

    def api_leaveChat(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise BadRequest("Bad Request: chat member status can't be changed in private chats")
        chat.members[self.bot_user["id"]] = self._member(self.bot_user, "left")
        self._bump()
        return True

    def api_banChatMember(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        uid = p.int("user_id", required=True)
        if chat.type == "private":
            raise BadRequest("Bad Request: chat member status can't be changed in private chats")
        if not self._bot_right(chat, "can_restrict_members"):
            raise BadRequest("Bad Request: not enough rights to restrict/unrestrict chat member")
        user = self._users.get(uid)
        if user is None:
            raise BadRequest("Bad Request: user not found")
        if (chat.members.get(uid) or {}).get("status") == "creator":
            raise BadRequest("Bad Request: can't remove chat owner")
        chat.members[uid] = self._member(user, "kicked")
        self._bump()
        return True

    def api_unbanChatMember(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        uid = p.int("user_id", required=True)
        user = self._users.get(uid)
        if user is None:
            raise BadRequest("Bad Request: user not found")
        status = (chat.members.get(uid) or {}).get("status")
        if p.bool("only_if_banned") and status != "kicked":
            return True
        if status in ("kicked", "member", "restricted") or status is None:
            chat.members[uid] = self._member(user, "left")
        self._bump()
        return True

    def api_setMessageReaction(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        mid = p.int("message_id", required=True)
        if mid not in chat.messages:
            raise BadRequest("Bad Request: message to react not found")
        chat.messages[mid]["_reactions"] = p.obj("reaction") or []
        self._bump()
        return True

    def api_pinChatMessage(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        mid = p.int("message_id", required=True)
        msg = chat.messages.get(mid)
        if msg is None:
            raise BadRequest("Bad Request: message to pin not found")
        if chat.type != "private" and not self._bot_right(chat, "can_pin_messages"):
            raise BadRequest(
                "Bad Request: not enough rights to manage pinned messages in the chat"
            )
        if mid in chat.pinned:
            chat.pinned.remove(mid)
        chat.pinned.append(mid)
        self._store_message(
            chat, self.bot_user, thread_id=msg.get("message_thread_id"),
            pinned_message={k: v for k, v in msg.items() if k != "reply_to_message"},
            _service=True,
        )
        return True

    def api_unpinChatMessage(self: BotApiEmulator, p: P) -> bool:
        chat = self._resolve_chat(p)
        mid = p.int("message_id")
        if mid is None:
            if chat.pinned:
                chat.pinned.pop()
        elif mid in chat.pinned:
            chat.pinned.remove(mid)
        else:
            raise BadRequest("Bad Request: message to unpin not found")
        self._bump()
        return True

    def api_unpinAllChatMessages(self: BotApiEmulator, p: P) -> bool:
        self._resolve_chat(p).pinned.clear()
        self._bump()
        return True

    def _invite_link_obj(self: BotApiEmulator, p: P) -> dict:
        link: dict = {
            "invite_link": "https://t.me/+" + "".join(
                secrets.choice(string.ascii_letters + string.digits + "_-") for _ in range(16)
            ),
            "creator": dict(self.bot_user),
            "creates_join_request": p.bool("creates_join_request"),
            "is_primary": False,
            "is_revoked": False,
        }
        if p.has("name"):
            name = p.str("name") or ""
            if len(name) > 32:
                raise BadRequest("Bad Request: invite link name is too long")
            link["name"] = name
        if p.has("expire_date"):
            link["expire_date"] = p.int("expire_date")
        if p.has("member_limit"):
            limit = p.int("member_limit") or 0
            if not 1 <= limit <= 99999:
                raise BadRequest("Bad Request: USAGE_LIMIT_INVALID")
            if link["creates_join_request"]:
                raise BadRequest(
                    "Bad Request: member limit can't be specified for links requiring "
                    "administrator approval"
                )
            link["member_limit"] = limit
        return link

    def api_createChatInviteLink(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise BadRequest("Bad Request: can't invite members to a private chat")
        if not self._bot_right(chat, "can_invite_users"):
            raise BadRequest("Bad Request: not enough rights to manage chat invite link")
        link = self._invite_link_obj(p)
        chat.invite_links[link["invite_link"]] = link
        self._bump()
        return link

    def api_revokeChatInviteLink(self: BotApiEmulator, p: P) -> dict:
        chat = self._resolve_chat(p)
        url = p.str("invite_link", required=True)
        link = chat.invite_links.get(url)
        if link is None:
            raise BadRequest("Bad Request: INVITE_HASH_EXPIRED")
        link["is_revoked"] = True
        self._bump()
        return link

    def api_exportChatInviteLink(self: BotApiEmulator, p: P) -> str:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise BadRequest("Bad Request: can't invite members to a private chat")
        link = self._invite_link_obj(P({}, {}))
        link["is_primary"] = True
        chat.invite_links[link["invite_link"]] = link
        return link["invite_link"]

    # ------------------------------------------------------------------ forum topics
    def _forum(self: BotApiEmulator, p: P) -> ChatState:
        chat = self._resolve_chat(p)
        if not chat.obj.get("is_forum"):
            raise BadRequest("Bad Request: the chat is not a forum")
        if not self._bot_right(chat, "can_manage_topics"):
            raise BadRequest("Bad Request: not enough rights to manage topics")
        return chat

    def _topic(self: BotApiEmulator, chat: ChatState, p: P) -> dict:
        tid = p.int("message_thread_id", required=True)
        topic = chat.topics.get(tid)
        if topic is None:
            raise BadRequest("Bad Request: TOPIC_ID_INVALID")
        return topic

    def _create_topic(
        self: BotApiEmulator,
        chat: ChatState,
        creator: dict,
        name: str,
        icon_color: int,
        icon_custom_emoji_id: str | None,
        *,
        notify: bool = False,
    ) -> dict:
        tid = chat.next_id
        created: dict = {"name": name, "icon_color": icon_color}
        if icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = icon_custom_emoji_id
        topic = {"message_thread_id": tid, **created, "_closed": False}
        chat.topics[tid] = topic
        msg = self._store_message(
            chat, creator, thread_id=tid, forum_topic_created=created, _service=True
        )
        if notify:
            from .core import public

            self._enqueue("message", public(msg))
        return {k: v for k, v in topic.items() if not k.startswith("_")}

    def api_createForumTopic(self: BotApiEmulator, p: P) -> dict:
        chat = self._forum(p)
        name = p.str("name") or ""
        if not name.strip():
            raise BadRequest("Bad Request: TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise BadRequest("Bad Request: TOPIC_TITLE_INVALID")
        color = p.int("icon_color") or 7322096
        if color not in TOPIC_COLORS:
            raise BadRequest("Bad Request: TOPIC_ICON_COLOR_INVALID")
        return self._create_topic(
            chat, self.bot_user, name, color, p.str("icon_custom_emoji_id")
        )

    def api_editForumTopic(self: BotApiEmulator, p: P) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        edited: dict = {}
        name = p.str("name")
        if name is not None and name != topic["name"]:
            if len(name) > 128:
                raise BadRequest("Bad Request: TOPIC_TITLE_INVALID")
            edited["name"] = name
        if "icon_custom_emoji_id" in p.params and (
            p.params["icon_custom_emoji_id"] or None
        ) != topic.get("icon_custom_emoji_id"):
            edited["icon_custom_emoji_id"] = p.params["icon_custom_emoji_id"] or ""
        if not edited:
            raise BadRequest("Bad Request: TOPIC_NOT_MODIFIED")
        if "name" in edited:
            topic["name"] = edited["name"]
        if "icon_custom_emoji_id" in edited:
            if edited["icon_custom_emoji_id"]:
                topic["icon_custom_emoji_id"] = edited["icon_custom_emoji_id"]
            else:
                topic.pop("icon_custom_emoji_id", None)
        self._store_message(
            chat, self.bot_user, thread_id=topic["message_thread_id"],
            forum_topic_edited=edited, _service=True,
        )
        return True

    def _set_topic_closed(self: BotApiEmulator, p: P, closed: bool) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        if bool(topic.get("_closed")) == closed:
            raise BadRequest("Bad Request: TOPIC_NOT_MODIFIED")
        topic["_closed"] = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._store_message(
            chat, self.bot_user, thread_id=topic["message_thread_id"], _service=True,
            **{key: {}},
        )
        return True

    def api_closeForumTopic(self: BotApiEmulator, p: P) -> bool:
        return self._set_topic_closed(p, True)

    def api_reopenForumTopic(self: BotApiEmulator, p: P) -> bool:
        return self._set_topic_closed(p, False)

    def api_deleteForumTopic(self: BotApiEmulator, p: P) -> bool:
        chat = self._forum(p)
        topic = self._topic(chat, p)
        tid = topic["message_thread_id"]
        del chat.topics[tid]
        for mid in [m for m, msg in chat.messages.items() if msg.get("message_thread_id") == tid]:
            del chat.messages[mid]
        self._bump()
        return True

    def api_unpinAllForumTopicMessages(self: BotApiEmulator, p: P) -> bool:
        chat = self._forum(p)
        self._topic(chat, p)
        return True

    # ------------------------------------------------------------------ files
    def api_getFile(self: BotApiEmulator, p: P) -> dict:
        fid = p.str("file_id", required=True)
        rec = self._files.get(fid)
        if rec is None:
            raise BadRequest("Bad Request: invalid file_id")
        return {
            "file_id": rec["file_id"],
            "file_unique_id": rec["file_unique_id"],
            "file_size": rec["file_size"],
            "file_path": rec["file_path"],
        }
