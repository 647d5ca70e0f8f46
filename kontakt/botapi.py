"""Process-wide set-up of aiogram's Bot API client.

aiogram reads every answer through ``Response[<the method's result type>]``, a pydantic
generic made on first use and kept by pydantic only weakly: once the garbage collector
has taken it, the next answer builds it again (some 20 ms of CPU each time, dozens of
times in a burst of a thousand reminders — found by profiling bench.reminders, issue
19). :func:`keep_response_types` makes each of them once and holds it for the life of
the process (41 types, about 0.15 s at start)."""

from __future__ import annotations

import json
from functools import lru_cache

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import BaseModel, ConfigDict, PrivateAttr

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
    seen.setdefault(repr(Sent), Sent)
    _KEPT.extend(Response[t] for t in seen.values())  # type: ignore[index]
    return len(_KEPT)


# --- a message whose answer is not read -------------------------------------------------
#
# aiogram reads the answer to every sendMessage into a whole ``Message`` (the chat, the
# sender, the text and entities, the keyboard again): ~75 µs of CPU for a reminder, a
# quarter of a bare send (issue 19, bench.reminders). The reminder loop only needs to
# know it was accepted — errors are raised from the answer's status and description as
# before — so its sends read the message id alone.

class Sent(BaseModel):
    """The part of a sent message's answer that is read: its id."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    message_id: int


class SendMessageUnread(SendMessage):
    """``sendMessage`` as aiogram makes it, the answer read as :class:`Sent`."""

    __returning__ = Sent  # type: ignore[assignment]


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


class WiredKeyboard(InlineKeyboardMarkup):
    """An inline keyboard of text-and-callback buttons made with its wire form beside
    it (:func:`callback_keyboard`), so :class:`KontaktSession` does not walk it."""

    _wire: dict | None = PrivateAttr(default=None)


@lru_cache(maxsize=512)
def _button(text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data="-")


_EMPTY_KEYBOARD = WiredKeyboard(inline_keyboard=[])


def callback_keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard of (text, callback data) buttons, the same as
    ``InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=..,
    callback_data=..)]])`` but cheaper: each button is a copy of one validated per
    label, and the form the Bot API gets is made here instead of by dumping and walking
    the models before each send (for a reminder's seven buttons that, the callback data
    and the validation took ~100 µs more; issue 19, bench.reminders). Texts and data
    must be strings, as pydantic would check."""
    built, wire = [], []
    for row in rows:
        buttons, wired = [], []
        for text, data in row:
            if not isinstance(text, str) or not isinstance(data, str):
                raise TypeError(f"a button's text and callback data are strings: {text!r}, "
                                f"{data!r}")
            buttons.append(_button(text).model_copy(update={"callback_data": data}))
            wired.append({"text": text, "callback_data": data})
        built.append(buttons)
        wire.append(wired)
    markup = _EMPTY_KEYBOARD.model_copy(update={"inline_keyboard": built})
    markup._wire = {"inline_keyboard": wire}
    return markup


class KontaktSession(AiohttpSession):
    """aiogram's aiohttp session with two changes on the way out (what is sent and the
    answers are the same): a request without files goes as one JSON body instead of a
    form (multipart with files, as before), and a keyboard marked with
    :func:`frozen_markup` is made ready for the wire once."""

    def build_form_data(self, bot, method):  # type: ignore[override]
        markup = getattr(method, "reply_markup", None)
        frozen = _FROZEN.get(id(markup)) if markup is not None else None
        if isinstance(markup, WiredKeyboard) and markup._wire is not None:
            frozen = (markup, [markup._wire])
            dumped = method.model_dump(warnings=False, exclude={"reply_markup"})
        elif frozen is not None and frozen[0] is markup:
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
