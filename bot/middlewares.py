"""Middlewares: who is writing (staff or not) and their language, in-flight tracking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import InlineQueryResultsButton, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware

from services import staff as staff_service
from services.staff import INVITE_PREFIX, language_from_telegram

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _invite_start(update: Update) -> bool:
    """A private ``/start inv_...`` message: the one thing a stranger may send."""
    msg = update.message
    if msg is None or msg.chat.type != "private" or not msg.text:
        return False
    parts = msg.text.split(maxsplit=1)
    return (parts[0] == "/start" or parts[0].startswith("/start@")) and len(parts) == 2 \
        and parts[1].startswith(INVITE_PREFIX)


async def _in_task_topic(update: Update) -> bool:
    message = update.message or update.edited_message
    if message is None or message.chat.type != "supergroup" or not message.is_topic_message:
        return False
    from services.discussions import discussion_of_thread

    return await discussion_of_thread(message.chat.id, message.message_thread_id) is not None


class StaffMiddleware(I18nMiddleware):
    """Outer middleware on updates: loads the staff user or refuses politely, and runs
    the rest in the person's language (the staff member's, else the Telegram
    client's, else the default) — one layer, not two (issue 19: each outer layer is a
    wrapper built per update).

    Unknown and dismissed people get exactly one refusal per update, in their
    Telegram language, and no data: a message in a private chat is answered
    with a text, a button press with an alert, an inline query with no
    results and a note. In groups strangers are silently ignored (a refusal
    there would spam the team). Service updates (chat member changes and the
    like) from strangers are dropped, and so is anything sent as a bot
    (anonymous group admins, linked channels).
    """

    def __init__(self, i18n: I18n, default_language: str) -> None:
        super().__init__(i18n)
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            # no person behind it (e.g. a poll update)
            return await super().__call__(handler, event, data)
        if tg_user.is_bot:
            return None  # anonymous group admins, channel posts, other bots: not staff

        staff = await staff_service.active_for_update(tg_user.id)
        data["staff"] = staff
        if staff is not None or _invite_start(event):
            return await super().__call__(handler, event, data)
        if await _in_task_topic(event):
            # K-2: what a non-staff member writes in a task topic is kept (by name, not
            # relayed) and goes no further: no command of the bot is theirs
            from bot.routers.discussions import store_topic_message

            await store_topic_message(event.message or event.edited_message)
            return None
        await self._refuse(event, tg_user, data)
        return None

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        staff = data.get("staff")
        if staff is not None:
            return str(staff.language)
        tg_user = data.get("event_from_user")
        return language_from_telegram(getattr(tg_user, "language_code", None),
                                      self.default_language)

    def _lang(self, tg_user: TgUser) -> str:
        return language_from_telegram(tg_user.language_code, self.default_language)

    def refusal_text(self, tg_user: TgUser) -> str:
        lang = self._lang(tg_user)
        return self.i18n.gettext(
            "Sorry, this bot is only for the staff of our company. "
            "If you work with us, ask your administrator for an invite link.",
            locale=lang,
        )

    async def _refuse(self, update: Update, tg_user: TgUser, data: dict[str, Any]) -> None:
        bot = data["bot"]
        text = self.refusal_text(tg_user)
        try:
            if update.message and update.message.chat.type == "private":
                await bot.send_message(update.message.chat.id, text)
            elif update.callback_query:
                await bot.answer_callback_query(update.callback_query.id, text, show_alert=True)
            elif update.inline_query:
                await bot.answer_inline_query(
                    update.inline_query.id, results=[], cache_time=0, is_personal=True,
                    button=InlineQueryResultsButton(text=self.i18n.gettext(
                        "Only for the staff of our company", locale=self._lang(tg_user)),
                        start_parameter="refused"))
        except Exception:  # noqa: BLE001 - a refusal that cannot be sent is not an error
            log.info("could not send refusal to %s", tg_user.id)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled so shutdown can wait for them (no lost update)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._count

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False
