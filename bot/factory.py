"""Builds a fresh Dispatcher with every router and middleware (used by the
composition root, the tests and the benchmark)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent, Update
from aiogram.utils.i18n import I18n

from bot.dialogs import LeaveDialogMiddleware, build_fallback_router
from bot.middlewares import InFlightMiddleware, StaffMiddleware
from bot.routers.activities import build_activities_router
from bot.routers.calendar_sync import build_calendar_sync_router
from bot.routers.campaigns import build_campaigns_router
from bot.routers.client_archive import build_client_archive_router
from bot.routers.client_history import build_client_history_router
from bot.routers.client_search import build_client_search_router
from bot.routers.clients import build_cancel_router, build_clients_router
from bot.routers.contacts import build_contacts_router
from bot.routers.credit import build_credit_router
from bot.routers.dealers import build_dealers_router
from bot.routers.deals import build_deals_router
from bot.routers.debts import build_debts_router
from bot.routers.discussions import build_discussions_router
from bot.routers.inline import build_inline_router
from bot.routers.lang import build_lang_router
from bot.routers.leads import build_leads_router
from bot.routers.mailings import build_mailings_router
from bot.routers.messaging import build_messaging_router
from bot.routers.orders import build_orders_router
from bot.routers.price import build_price_router
from bot.routers.quicklog import build_quicklog_in_search_router, build_quicklog_router
from bot.routers.reports import build_reports_router
from bot.routers.staff import build_staff_router
from bot.routers.start import build_start_router
from bot.routers.suppliers import build_suppliers_router
from bot.routers.web import build_web_router
from services.staff import get_active_by_telegram_id, language_from_telegram
from services.storage import FileStore, LocalFileStore

log = logging.getLogger("kontakt.bot")

def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


COMMANDS = [
    ("menu", N_("Main menu")),
    ("today", N_("Today's agenda")),
    ("week", N_("The next 7 days")),
    ("overdue", N_("Overdue activities")),
    ("task", N_("New task")),
    ("stats", N_("Done activities: chart and reaction time")),
    ("plan", N_("Plan vs fact this month")),
    ("abc", N_("My clients by ABC class")),
    ("campaign", N_("Marketing campaigns: cost, contacts, ROI")),
    ("calendar", N_("Google Calendar sync and the ICS feed")),
    ("find", N_("Find a client")),
    ("clients", N_("My clients")),
    ("deals", N_("My open deals")),
    ("dealers", N_("Dealers: grade, revenue, scorecard")),
    ("price", N_("A client's price and the free stock")),
    ("order", N_("New order for the client whose card is open")),
    ("debts", N_("Overdue invoices of my clients and those due soon")),
    ("newclient", N_("New client")),
    ("staff", N_("Staff directory")),
    ("web", N_("Sign in to the web version")),
    ("lang", N_("Interface language")),
    ("invite", N_("Invite a colleague")),
    ("mailings", N_("Mailings: progress, start, pause")),
    ("suppliers", N_("Marketing suppliers: services and prices")),
    ("help", N_("Help")),
    ("cancel", N_("Cancel what you are doing")),
]


def build_dispatcher(
    *,
    i18n: I18n,
    default_language: str,
    default_timezone: str,
    base_url: str,
    bot_username: str,
    webapp_url: str | None,
    url_buttons: bool,
    storage: BaseStorage | None = None,
    file_store: FileStore | None = None,
) -> Dispatcher:
    dp = Dispatcher(
        storage=storage or MemoryStorage(),
        i18n=i18n,
        default_timezone=default_timezone,
        base_url=base_url,
        bot_username=bot_username,
        webapp_url=webapp_url,
        url_buttons=url_buttons,
        file_store=file_store if file_store is not None else LocalFileStore(Path("data")),
    )
    inflight = InFlightMiddleware()
    dp["inflight"] = inflight
    dp.update.outer_middleware(inflight)
    dp.update.outer_middleware(StaffMiddleware(i18n, default_language))
    dp.message.outer_middleware(LeaveDialogMiddleware())

    dp.include_routers(
        build_cancel_router(),
        build_start_router(),
        build_lang_router(),
        build_web_router(),
        build_staff_router(),
        build_inline_router(),
        build_reports_router(),
        build_suppliers_router(),  # M-8
        build_campaigns_router(),
        build_calendar_sync_router(),
        build_discussions_router(),
        build_messaging_router(),
        build_mailings_router(),
        build_quicklog_in_search_router(),
        build_contacts_router(),
        build_clients_router(),
        build_client_search_router(),
        build_client_history_router(),
        build_client_archive_router(),
        build_activities_router(),
        build_dealers_router(),  # M-7
        build_deals_router(),
        build_price_router(),
        build_orders_router(),
        build_debts_router(),
        build_credit_router(),
        build_leads_router(),  # K-10: a lead's buttons and its log-contact step
        build_quicklog_router(),  # the quick log takes any other text
        build_fallback_router(),  # last: whatever nobody took gets an answer
    )

    @dp.errors()
    async def on_error(event: ErrorEvent, bot: Bot) -> bool:
        error_id = uuid.uuid4().hex[:8]
        log.error("error %s while handling update %s", error_id, event.update.update_id,
                  exc_info=event.exception)
        upd = event.update
        locale = await _locale_of(upd, default_language)
        text = i18n.gettext("Sorry, something went wrong. Error id: {error_id}. "
                            "Please try again; if it repeats, tell your administrator this id.",
                            locale=locale).format(error_id=error_id)
        try:
            if upd.callback_query is not None:
                await bot.answer_callback_query(upd.callback_query.id, text, show_alert=True)
            elif upd.message is not None:
                await bot.send_message(upd.message.chat.id, text,
                                       message_thread_id=upd.message.message_thread_id
                                       if upd.message.is_topic_message else None)
        except Exception:  # noqa: BLE001
            log.warning("could not tell the user about error %s", error_id)
        return True

    return dp


async def _locale_of(update: Update, default_language: str) -> str:
    """The language for an apology: the error handler runs outside the i18n middleware."""
    tg_user = None
    for part in (update.message, update.callback_query, update.inline_query):
        if part is not None and part.from_user is not None:
            tg_user = part.from_user
            break
    if tg_user is None:
        return default_language
    try:
        staff = await get_active_by_telegram_id(tg_user.id)
    except Exception:  # noqa: BLE001 - the database may be why we are here
        staff = None
    if staff is not None:
        return str(staff.language)
    return language_from_telegram(tg_user.language_code, default_language)


async def register_commands(bot: Bot, i18n: I18n, default_language: str) -> None:
    """setMyCommands for each interface language, plus the default list."""
    for lang in ("ru", "uk", "en", None):
        locale = lang or default_language
        commands = [BotCommand(command=c, description=i18n.gettext(d, locale=locale))
                    for c, d in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
