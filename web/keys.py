"""Typed application keys (aiohttp ``web.AppKey``): the web layer's dependencies,
put in place by the composition root (``kontakt.runtime``)."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiogram import Bot
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from kontakt.config import Settings
from notifications.outbox import Outbox
from notifications.reminders import ReminderDispatcher
from services.storage import FileStore
from sync.engine import CalendarSync


@dataclass
class BotInfo:
    username: str
    mode: str  # "polling" | "webhook" | "sandbox"
    webapp_url: str | None


SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)
I18N_KEY: web.AppKey[I18n] = web.AppKey("i18n", I18n)
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
BOT_INFO_KEY: web.AppKey[BotInfo] = web.AppKey("bot_info", BotInfo)
SCHEDULER_KEY: web.AppKey[AsyncIOScheduler] = web.AppKey("scheduler", AsyncIOScheduler)
JINJA_KEY: web.AppKey[jinja2.Environment] = web.AppKey("jinja", jinja2.Environment)
# scheme://host[:port] of KONTAKT_PUBLIC_URL, accepted as Origin behind a proxy
PUBLIC_ORIGIN_KEY: web.AppKey[str] = web.AppKey("public_origin", str)
# K-15: the reminder loop, poked after a commit that adds or moves reminders
REMINDERS_KEY: web.AppKey[ReminderDispatcher] = web.AppKey("reminders", ReminderDispatcher)
# the outbox, poked after a commit that queues a message
OUTBOX_KEY: web.AppKey[Outbox] = web.AppKey("outbox", Outbox)
# K-1: the Google Calendar sync (OAuth callback, push notifications, consent links)
CALENDAR_KEY: web.AppKey[CalendarSync] = web.AppKey("calendar_sync", CalendarSync)
# attached files: the data folder or an S3 bucket (services.storage)
FILES_KEY: web.AppKey[FileStore] = web.AppKey("files", FileStore)
