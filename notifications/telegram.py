"""Telling staff things in Telegram, after the database commit, in their language.

A blocked bot (403) or a vanished chat is logged and skipped; a flood limit (429)
is waited out once. Nothing here runs inside a transaction."""

from __future__ import annotations

import asyncio
import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.utils.i18n import I18n

from models import User
from services.clients import Notice

log = logging.getLogger("kontakt.notify")


async def send_to(bot: Bot, chat_id: int, text: str) -> bool:
    return await send_markup_to(bot, chat_id, text, None)


async def send_markup_to(bot: Bot, chat_id: int, text: str, markup) -> bool:
    for attempt in range(2):
        try:
            await bot.send_message(chat_id, text, reply_markup=markup)
            return True
        except TelegramRetryAfter as exc:
            if attempt:
                break
            await asyncio.sleep(min(exc.retry_after, 5))
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("cannot message %s: %s", chat_id, exc.message)
            return False
        except Exception as exc:  # noqa: BLE001 - the change is saved; a notice is a nicety
            log.warning("cannot message %s: %s", chat_id, type(exc).__name__)
            return False
    return False


async def deliver_notices(bot: Bot, i18n: I18n, notices: list[Notice]) -> int:
    """S-25: a manager hears when a client is assigned to them or taken away."""
    sent = 0
    for notice in notices:
        user = await User.get_or_none(id=notice.user_id)
        if user is None or not user.is_active or user.telegram_id is None:
            continue
        by = await User.get_or_none(id=notice.by_user_id) if notice.by_user_id else None
        lang = str(user.language)
        if notice.kind == "assigned":
            text = i18n.gettext("You are now responsible for the client {client} "
                                "(assigned by {by}).", locale=lang)
        else:
            text = i18n.gettext("You are no longer responsible for the client {client} "
                                "(changed by {by}).", locale=lang)
        text = text.format(client=f"<b>{html.escape(notice.client_name)}</b>",
                           by=html.escape(by.full_name if by else "Kontakt"))
        sent += await send_to(bot, user.telegram_id, text)
    return sent


async def deliver_handover(bot: Bot, i18n: I18n, notices: list) -> int:
    """A-5: the successor hears how many clients, deals and tasks of whom were handed
    over to them — one message (none for whoever handed them over to themselves: the
    service leaves that notice out)."""
    sent = 0
    for notice in notices:
        user = await User.get_or_none(id=notice.user_id)
        if user is None or not user.is_active or user.telegram_id is None:
            continue
        by = await User.get_or_none(id=notice.by_user_id) if notice.by_user_id else None
        text = i18n.gettext("Handed over to you from {name} (by {by}): clients — {count}, "
                            "open deals — {deals}, open tasks — {tasks}.",
                            locale=str(user.language)).format(
            count=notice.count, deals=notice.deals, tasks=notice.tasks,
            name=f"<b>{html.escape(notice.from_name)}</b>",
            by=html.escape(by.full_name if by else "Kontakt"))
        sent += await send_to(bot, user.telegram_id, text)
    return sent
