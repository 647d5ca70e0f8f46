"""Process-wide set-up of aiogram's Bot API client.

aiogram reads every answer through ``Response[<the method's result type>]``, a pydantic
generic made on first use and kept by pydantic only weakly: once the garbage collector
has taken it, the next answer builds it again (some 20 ms of CPU each time, dozens of
times in a burst of a thousand reminders — found by profiling bench.reminders, issue
19). :func:`keep_response_types` makes each of them once and holds it for the life of
the process (41 types, about 0.15 s at start)."""

from __future__ import annotations

import json

from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import FormData
from aiohttp.payload import BytesPayload

_KEPT: list[type] = []


def keep_response_types() -> int:
    """Build and hold ``Response[T]`` for the result type of every Bot API method;
    idempotent. Returns how many are held."""
    if _KEPT:
        return len(_KEPT)
    import aiogram.methods as methods
    from aiogram.client.session.base import Response
    from aiogram.methods.base import TelegramMethod

    seen: dict[str, object] = {}
    for name in dir(methods):
        cls = getattr(methods, name)
        if isinstance(cls, type) and issubclass(cls, TelegramMethod) \
                and cls is not TelegramMethod:
            returning = getattr(cls, "__returning__", None)
            if returning is not None:
                seen.setdefault(repr(returning), returning)
    _KEPT.extend(Response[t] for t in seen.values())  # type: ignore[index]
    return len(_KEPT)


# --- the session: JSON bodies, and keyboards serialised once ------------------------------
#
# aiogram sends every request as a urlencoded form: each nested object (a keyboard) is
# dumped to JSON with ``\uXXXX`` escapes and then percent-encoded byte by byte in
# Python. For the main menu's reply keyboard (Cyrillic and emoji, 1.2 kB on the wire)
# that was some 230 µs of CPU on each answer, about what the whole rest of an update
# costs (bench.bot_throughput, issue 19). The Bot API takes ``application/json`` for
# every method without a file upload, and a keyboard that never changes (the menu,
# cached per language and role) need not be walked again for each message.

_FROZEN: dict[int, tuple[object, list]] = {}


def frozen_markup(markup):
    """Mark a keyboard that is never changed and lives as long as the process (one
    built once and cached): :class:`KontaktSession` prepares it for the wire once and
    reuses that for every message it goes with. Returns the keyboard."""
    _FROZEN.setdefault(id(markup), (markup, []))
    return markup


class KontaktSession(AiohttpSession):
    """aiogram's aiohttp session with two changes on the way out (what is sent and the
    answers are the same): a request without files goes as one JSON body instead of a
    form (multipart with files, as before), and a keyboard marked with
    :func:`frozen_markup` is made ready for the wire once."""

    def build_form_data(self, bot, method):  # type: ignore[override]
        markup = getattr(method, "reply_markup", None)
        frozen = _FROZEN.get(id(markup)) if markup is not None else None
        if frozen is not None and frozen[0] is markup:
            if not frozen[1]:
                frozen[1].append(self.prepare_value(markup, bot=bot, files={},
                                                    _dumps_json=False))
            dumped = method.model_dump(warnings=False, exclude={"reply_markup"})
        else:
            frozen = None
            dumped = method.model_dump(warnings=False)
        files: dict = {}
        fields: dict = {}
        for key, value in dumped.items():
            value = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if value is None or value == "":  # what aiogram's form leaves out
                continue
            fields[key] = value
        if frozen is not None:
            fields["reply_markup"] = frozen[1][0]
        if not files:
            return BytesPayload(json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
                                .encode(), content_type="application/json")
        form = FormData(quote_fields=False)  # an upload: as aiogram sends it
        for key, value in fields.items():
            form.add_field(key, value if isinstance(value, str) else self.json_dumps(value))
        for key, value in files.items():
            form.add_field(key, value.read(bot), filename=value.filename or key)
        return form
