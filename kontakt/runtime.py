"""The composition root: builds the bot, dispatcher, web app and scheduler once,
starts them in order and stops them cleanly. No global Bot object anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import signal
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.factory import build_dispatcher, register_commands
from kontakt import db
from kontakt.botapi import KontaktSession, keep_response_types
from kontakt.config import Settings
from kontakt.i18n import build_i18n
from notifications.mailings import MailingProgress
from notifications.outbox import Outbox, SmtpConfig
from notifications.reminders import ReminderDispatcher
from notifications.scheduler import (
    JobRunner,
    add_dealer_grade_job,
    add_due_reminder_job,
    add_loyalty_job,
    add_mailing_job,
    add_mailing_progress_job,
    add_organizer_jobs,
    add_ranking_job,
    build_scheduler,
)
from notifications.sms import provider_from_settings
from services.staff_listen import StaffListener
from services.storage import FileStore, StorageUnavailable, store_from_settings
from sync.engine import CalendarSync
from sync.google import GoogleConfig
from web.app import WEBHOOK_PATH, build_web_app
from web.keys import CALENDAR_KEY, OUTBOX_KEY, REMINDERS_KEY, BotInfo

log = logging.getLogger("kontakt")

SANDBOX_TOKEN = "7000000001:KontaktSandboxToken-not-a-secret"
SANDBOX_BOT_USERNAME = "kontakt_demo_bot"


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""


def webhook_secret(settings: Settings) -> str:
    """Telegram's secret_token (1-256 of A-Za-z0-9_-), derived so replicas agree."""
    key = (settings.secret_key.get_secret_value() if settings.secret_key else "").encode()
    token = settings.bot_token.get_secret_value().encode() if settings.bot_token else b""
    return hmac.new(key or token, b"telegram-webhook" + token, hashlib.sha256).hexdigest()


def _local_base(settings: Settings) -> str:
    host = settings.http_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{settings.http_port}"


def _build_storage(settings: Settings) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


@dataclass
class Runtime:
    settings: Settings
    i18n: I18n
    bot: Bot
    dispatcher: Dispatcher
    web_app: web.Application
    scheduler: AsyncIOScheduler
    jobs: JobRunner
    bot_info: BotInfo
    files: FileStore | None = None  # attached documents: the data folder or an S3 bucket
    reminders: ReminderDispatcher | None = None
    outbox: Outbox | None = None
    calendar: CalendarSync | None = None
    emulator: object | None = None
    runner: web.AppRunner | None = None
    polling_task: asyncio.Task | None = None
    files_check: asyncio.Task | None = None
    staff_listener: StaffListener | None = None  # PostgreSQL: the staff cache's changes
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


async def build_runtime(settings: Settings, *, emulator=None) -> Runtime:
    """Everything wired; nothing started. The database must be initialised."""
    from services import deal_triggers

    deal_triggers.install()  # U-1: a deal moves on when its tasks are done
    i18n = build_i18n(settings.default_language)
    files = store_from_settings(settings)
    if settings.sandbox:
        if emulator is None:
            from web.emulator import BotApiEmulator

            emulator = BotApiEmulator(token=SANDBOX_TOKEN, bot_username=SANDBOX_BOT_USERNAME,
                                      bot_first_name="Kontakt", allow_local_webapps=True)
        token = emulator.token if hasattr(emulator, "token") else SANDBOX_TOKEN
        api_base = settings.telegram_api_url or f"{_local_base(settings)}/tgapi"
        username = emulator.bot_user["username"]
    else:
        if settings.bot_token is None:
            raise StartupError("KONTAKT_BOT_TOKEN: missing (the token @BotFather gave you)")
        token = settings.bot_token.get_secret_value()
        api_base = settings.telegram_api_url
        username = None
    # JSON bodies, the menu keyboard serialised once (kontakt.botapi, issue 19)
    session = KontaktSession(api=TelegramAPIServer.from_base(api_base)) if api_base \
        else KontaktSession()
    keep_response_types()
    bot = Bot(token=token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    if username is None:
        try:
            me = await bot.get_me()
        except Exception as exc:  # noqa: BLE001 - any failure: say it in one line
            await bot.session.close()
            raise StartupError(
                f"Telegram Bot API not reachable at {api_base or 'api.telegram.org'}: "
                f"{type(exc).__name__}: {exc}") from None
        username = me.username or "bot"
    if settings.sandbox:
        mode = "sandbox"
    elif settings.webhook_mode:
        mode = "webhook"
    else:
        mode = "polling"
    webapp_url = f"{settings.base_url}/app"
    if not (settings.sandbox or webapp_url.startswith("https://")):
        webapp_url = None  # Telegram opens Mini Apps only over HTTPS
    bot_info = BotInfo(username=username, mode=mode, webapp_url=webapp_url)
    if settings.sandbox:
        # the bot must see itself as Telegram would (bot token → the settings in the web layer)
        settings = settings.model_copy(update={"bot_token": _secret(token)})
    dp = build_dispatcher(
        i18n=i18n,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
        base_url=settings.base_url,
        bot_username=username,
        webapp_url=webapp_url,
        url_buttons=settings.sandbox or settings.base_url.startswith("https://"),
        storage=_build_storage(settings),
        file_store=files,
    )
    scheduler, jobs = build_scheduler(settings.redis_url)
    reminders = ReminderDispatcher(bot, i18n)
    outbox = Outbox(SmtpConfig.from_settings(settings), sms=provider_from_settings(settings),
                    file_store=files)
    dp["outbox"] = outbox  # handlers poke it after a commit that queues a message
    add_mailing_job(scheduler, jobs, outbox,
                    secret=settings.secret_key.get_secret_value() if settings.secret_key
                    else "", base_url=settings.base_url)
    mailing_progress = MailingProgress(bot, i18n)
    dp["mailing_progress"] = mailing_progress  # the bot's own edits are remembered
    add_mailing_progress_job(scheduler, jobs, mailing_progress)
    add_organizer_jobs(scheduler, jobs, bot, i18n)
    add_due_reminder_job(scheduler, jobs, bot, i18n, outbox)  # K-6, M-6
    add_ranking_job(scheduler, jobs, lang=settings.default_language)  # K-8
    add_loyalty_job(scheduler, jobs)  # U-9
    add_dealer_grade_job(scheduler, jobs)  # M-7
    dp["reminders"] = reminders  # handlers poke it after a commit that adds reminders
    calendar = build_calendar_sync(settings, bot, i18n)
    dp["calendar_sync"] = calendar  # /calendar: consent links, calendars, disconnect
    # the ICS feed's addresses are signed with it (services.calendar.feed_address)
    dp["feed_secret"] = settings.secret_key.get_secret_value() if settings.secret_key else ""
    web_app = build_web_app(
        settings=settings, i18n=i18n, bot=bot, dispatcher=dp, bot_info=bot_info,
        scheduler=scheduler,
        webhook_secret=webhook_secret(settings) if mode == "webhook" else None,
        emulator=emulator if settings.sandbox else None,
        files=files,
    )
    web_app[REMINDERS_KEY] = reminders
    web_app[OUTBOX_KEY] = outbox
    web_app[CALENDAR_KEY] = calendar
    return Runtime(settings=settings, i18n=i18n, bot=bot, dispatcher=dp, web_app=web_app,
                   scheduler=scheduler, jobs=jobs, bot_info=bot_info, files=files,
                   reminders=reminders,
                   outbox=outbox, calendar=calendar,
                   emulator=emulator)


def build_calendar_sync(settings: Settings, bot: Bot, i18n) -> CalendarSync:
    """K-1: the sync worker. Push notifications need a public HTTPS address; without
    one (or in the sandbox) the calendar is pulled every ``calendar_poll_s``."""
    from notifications.calendar import tell_admins_calendar, tell_calendar

    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    webhook = f"{settings.public_url}/webhooks/google/calendar" if (
        settings.public_url and settings.public_url.startswith("https://")) else None

    async def notify(user_id: int, what: str) -> None:
        await tell_calendar(bot, i18n, user_id, what)

    async def alert(what: str, detail: str) -> None:
        await tell_admins_calendar(bot, i18n, what, detail)

    return CalendarSync(GoogleConfig.from_settings(settings), secret=secret,
                        base_url=settings.base_url, webhook_url=webhook,
                        poll_s=settings.calendar_poll_s, notify=notify, alert=alert)


def _secret(value: str):
    from pydantic import SecretStr

    return SecretStr(value)


async def start(rt: Runtime, *, serve_http: bool = True) -> None:
    """Start serving. ``serve_http=False`` leaves the web app to a test client."""
    s = rt.settings
    if serve_http:
        rt.runner = web.AppRunner(rt.web_app, access_log=None, shutdown_timeout=10)
        await rt.runner.setup()
        site = web.TCPSite(rt.runner, s.http_host, s.http_port)
        try:
            await site.start()
        except OSError as exc:
            await rt.runner.cleanup()
            rt.runner = None
            raise StartupError(f"KONTAKT_HTTP_PORT: cannot listen on {s.http_host}:"
                               f"{s.http_port}: {exc.strerror}") from None
    if rt.files is not None:  # in the background: an endpoint that is away delays nothing
        rt.files_check = asyncio.create_task(check_files(rt.files), name="files-check")
    if (dsn := db.asyncpg_dsn(s.effective_database_url)) is not None:
        # PostgreSQL: the staff looked up for each update are cached while this process
        # hears of every change of staff (services.staff_listen)
        rt.staff_listener = StaffListener(dsn)
        rt.staff_listener.start()
    rt.scheduler.start()
    if rt.reminders is not None:
        rt.reminders.start()  # sends at once what came due while the service was down
    if rt.outbox is not None:
        rt.outbox.start()
    if rt.calendar is not None:
        rt.calendar.start()  # only when Google is set up (can_run)
    try:
        await register_commands(rt.bot, rt.i18n, s.default_language)
    except Exception as exc:  # noqa: BLE001 - menus are a nicety; the bot still works
        log.warning("could not register bot commands: %s", exc)
    if rt.bot_info.mode == "webhook":
        try:
            await rt.bot.set_webhook(f"{s.public_url}{WEBHOOK_PATH}",
                                     secret_token=webhook_secret(s),
                                     allowed_updates=rt.dispatcher.resolve_used_update_types())
        except Exception as exc:  # noqa: BLE001 - say it in one line
            raise StartupError(f"KONTAKT_PUBLIC_URL: Telegram refused the webhook "
                               f"{s.public_url}{WEBHOOK_PATH}: {exc}") from None
        log.info("webhook set at %s%s", s.public_url, WEBHOOK_PATH)
    else:
        with contextlib.suppress(Exception):
            await rt.bot.delete_webhook(drop_pending_updates=False)
        rt.polling_task = asyncio.create_task(rt.dispatcher.start_polling(
            rt.bot, handle_signals=False, close_bot_session=False, polling_timeout=20))
    log.info("Kontakt is up at %s (bot @%s, %s mode)", s.base_url, rt.bot_info.username,
             rt.bot_info.mode)


async def check_files(files: FileStore) -> bool:
    """Say in the log where files are kept, or why they cannot be (a warning, not a
    refusal to start: the rest of the service works without them)."""
    try:
        await files.check()
    except StorageUnavailable as exc:
        log.warning("file storage: %s; uploads and downloads fail until it is reachable",
                    exc)
        return False
    log.info("attached files are kept in %s", files.describe())
    return True


async def stop(rt: Runtime) -> None:
    """Clean shutdown: stop taking updates, finish the ones in flight, then close."""
    if rt.polling_task is not None:
        with contextlib.suppress(RuntimeError):
            await rt.dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await rt.polling_task
    inflight = rt.dispatcher["inflight"]
    if not await inflight.wait_idle(15):
        log.warning("%d updates still running at shutdown", inflight.in_flight)
    if rt.runner is not None:
        await rt.runner.cleanup()  # waits for webhook requests in progress
    if rt.reminders is not None:
        await rt.reminders.stop()
    if rt.outbox is not None:
        await rt.outbox.stop()
    if rt.calendar is not None:
        await rt.calendar.stop()
    if rt.scheduler.running:
        rt.scheduler.shutdown(wait=False)
    await rt.jobs.wait_idle(15)  # a job in progress finishes before the database closes
    await rt.jobs.close()
    await rt.dispatcher.storage.close()
    if rt.staff_listener is not None:
        await rt.staff_listener.stop()
    if rt.files_check is not None and not rt.files_check.done():
        rt.files_check.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rt.files_check
    if rt.files is not None:
        await rt.files.close()
    await rt.bot.session.close()


def freeze_startup_heap() -> None:
    """Once start-up is done: what it made (modules, the routers, the catalogues,
    pydantic's and tortoise's schemas — some 350,000 objects that live as long as the
    process) is moved out of the garbage collector's sight (``gc.freeze``), so a full
    collection looks only at what was made since. A full collection over all of it
    took ~0.2 s, stopping the event loop in the middle of a burst of reminders (issue
    19, bench.reminders); start-up's garbage is collected first."""
    import gc

    gc.collect()
    gc.freeze()


async def serve(settings: Settings, *, emulator=None, on_started=None) -> None:
    """Run until SIGTERM/SIGINT. Signals are caught from the first moment, and
    whatever was started is stopped in reverse order, whatever failed."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    rt: Runtime | None = None
    try:
        rt = await build_runtime(settings, emulator=emulator)
        rt.stopping = stopping
        start_task = asyncio.create_task(start(rt))
        stop_wait = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({start_task, stop_wait},
                                     return_when=asyncio.FIRST_COMPLETED)
        if start_task in done:
            start_task.result()  # raises StartupError and the like
            freeze_startup_heap()
            from services import bounded

            # the worker processes (imports, mailings, charts) are ready before the
            # first person needs one
            await asyncio.to_thread(bounded.start)
            if on_started is not None:
                await on_started(rt)
            await stopping.wait()
        else:
            start_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await start_task
        stop_wait.cancel()
    finally:
        log.info("stopping")
        if rt is not None:
            await stop(rt)
        await db.close_db()
        from services import bounded

        await asyncio.to_thread(bounded.shutdown)  # the worker processes, if any started
        log.info("stopped")
