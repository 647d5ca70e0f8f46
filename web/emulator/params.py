"""Decoding of Bot API request parameters.

Telegram accepts the query string, ``application/x-www-form-urlencoded``,
``application/json`` and ``multipart/form-data``.  In the form encodings every
value is a string: integers arrive as ``"42"``, booleans as ``"true"`` and
nested objects (``reply_markup``, ``entities`` ...) as JSON strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import BadRequest

JSON_KEYS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "explanation_entities",
    "link_preview_options",
    "reply_parameters",
    "scope",
    "commands",
    "results",
    "allowed_updates",
    "menu_button",
    "button",
    "media",
    "options",
    "reaction",
    "permissions",
    "prices",
    "message_ids",
    "rights",
}
INT_KEYS = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "message_thread_id",
    "user_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "expire_date",
    "member_limit",
    "cache_time",
    "max_connections",
    "icon_color",
    "until_date",
    "live_period",
    "heading",
    "proximity_alert_radius",
    "duration",
    "width",
    "height",
}
FLOAT_KEYS = {"latitude", "longitude", "horizontal_accuracy"}
BOOL_KEYS = {
    "disable_notification",
    "protect_content",
    "show_alert",
    "drop_pending_updates",
    "is_personal",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "creates_join_request",
    "only_if_banned",
    "revoke_messages",
    "is_anonymous",
    "has_spoiler",
    "disable_content_type_detection",
    "show_caption_above_media",
    "allow_paid_broadcast",
    "for_channels",
    "is_big",
}


@dataclass
class UploadedFile:
    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict:
        return {"filename": self.filename, "mime_type": self.content_type, "size": len(self.data)}


def _decode_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in JSON_KEYS:
            try:
                return json.loads(value)
            except ValueError:
                raise BadRequest(f"Bad Request: can't parse {key} JSON object") from None
        if key in INT_KEYS:
            try:
                return int(value)
            except ValueError:
                return value  # e.g. chat_id "@username"; validated later
        if key in FLOAT_KEYS:
            try:
                return float(value)
            except ValueError:
                return value
        if key in BOOL_KEYS:
            low = value.lower()
            if low in ("true", "1"):
                return True
            if low in ("false", "0", ""):
                return False
    return value


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Return (decoded params, uploaded files by field name)."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    ctype = request.content_type
    if request.method == "POST" and request.can_read_body:
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise BadRequest("Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise BadRequest("Bad Request: request body must be a JSON object")
            raw.update(body)
        elif ctype.startswith("multipart/"):
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                name = part.name or ""
                data = await part.read(decode=False)  # type: ignore[union-attr]
                if part.filename is not None:  # type: ignore[union-attr]
                    files[name] = UploadedFile(
                        filename=part.filename,  # type: ignore[union-attr]
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        data=bytes(data),
                    )
                else:
                    raw[name] = bytes(data).decode("utf-8", errors="replace")
        else:
            post = await request.post()
            for k, v in post.items():
                if isinstance(v, web.FileField):
                    files[k] = UploadedFile(v.filename, v.content_type, v.file.read())
                else:
                    raw[k] = v
    params = {k: _decode_value(k, v) for k, v in raw.items()}
    return params, files


def for_record(params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    """A copy of params for ``emulator.calls``: ``attach://x`` replaced by file info."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, str) and v.startswith("attach://") and v[9:] in files:
            out[k] = files[v[9:]].describe()
        else:
            out[k] = v
    for k, f in files.items():
        if k in params or any(isinstance(v, str) and v == f"attach://{k}" for v in params.values()):
            continue
        out[k] = f.describe()
    return out


class P:
    """Typed accessors with Telegram-like 400 answers."""

    def __init__(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> None:
        self.params = params
        self.files = files

    def has(self, key: str) -> bool:
        v = self.params.get(key)
        return v is not None and v != ""

    def get(self, key: str, default: Any = None) -> Any:
        v = self.params.get(key)
        return default if v is None or v == "" else v

    def int(self, key: str, *, required: bool = False, empty: str | None = None) -> int | None:
        v = self.params.get(key)
        if v is None or v == "":
            if required:
                raise BadRequest(empty or f"Bad Request: {key} is empty")
            return None
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        try:
            return int(str(v))
        except ValueError:
            raise BadRequest(f"Bad Request: {key} is invalid") from None

    def float(self, key: str, *, required: bool = False) -> float | None:
        v = self.params.get(key)
        if v is None or v == "":
            if required:
                raise BadRequest(f"Bad Request: {key} is empty")
            return None
        try:
            return float(v)
        except (TypeError, ValueError):
            raise BadRequest(f"Bad Request: {key} is invalid") from None

    def str(self, key: str, *, required: bool = False, empty: str | None = None) -> str | None:
        v = self.params.get(key)
        if v is None or v == "":
            if required:
                raise BadRequest(empty or f"Bad Request: {key} is empty")
            return None
        if isinstance(v, (dict, list)):
            raise BadRequest(f"Bad Request: {key} must be a string")
        return v if isinstance(v, str) else str(v)

    def bool(self, key: str, default: bool = False) -> bool:
        v = self.params.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return bool(v)
        return str(v).lower() in ("true", "1")

    def obj(self, key: str) -> Any:
        v = self.params.get(key)
        if v is None or v == "":
            return None
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                raise BadRequest(f"Bad Request: can't parse {key} JSON object") from None
        return v
