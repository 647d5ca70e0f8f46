"""The aiohttp application: pages, JSON API, Telegram webhook, sandbox."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from kontakt.config import Settings
from services.storage import FileStore, LocalFileStore
from web import (
    bank_pages,
    bcg_pages,
    campaign_pages,
    card,
    catalogue_pages,
    deal_pages,
    dealer_pages,
    loyalty_pages,
    motivation_pages,
    order_pages,
    pages,
    price_pages,
    ranking_pages,
    report_pages,
    scenario_pages,
    settlement_pages,
    staff_pages,
    supplier_pages,
)
from web.api import activities as _activities_api  # noqa: F401 - registers routes
from web.api import activity_settings as _activity_settings_api  # noqa: F401 - registers routes
from web.api import bank as _bank_api
from web.api import calendar_sync as _calendar_sync
from web.api import campaigns as _campaigns_api  # noqa: F401 - registers routes
from web.api import catalogue as _catalogue_api  # noqa: F401 - registers routes
from web.api import client_archive as _client_archive_api  # noqa: F401 - registers routes
from web.api import clients as _clients_api  # noqa: F401 - registers /clients routes
from web.api import commerceml as _commerceml_api
from web.api import contacts as _contacts_api  # noqa: F401 - registers routes
from web.api import credit as _credit_api  # noqa: F401 - registers routes
from web.api import customization as _customization_api  # noqa: F401 - registers routes
from web.api import deal_reports as _deal_reports_api  # noqa: F401 - registers routes
from web.api import dealers as _dealers_api  # noqa: F401 - registers routes (M-7)
from web.api import deals as _deals_api  # noqa: F401 - registers routes
from web.api import discounts as _discounts_api  # noqa: F401 - registers routes
from web.api import due_settings as _due_settings_api  # noqa: F401 - registers routes
from web.api import lead_forms as _lead_forms_api  # noqa: F401 - registers routes
from web.api import ledger as _ledger_api  # noqa: F401 - registers routes
from web.api import legal as _legal_api  # noqa: F401 - registers routes
from web.api import loyalty as _loyalty_api  # noqa: F401 - registers routes
from web.api import mailings as _mailings_api  # noqa: F401 - registers routes
from web.api import manager_reports as _manager_reports_api  # noqa: F401 - registers routes
from web.api import matrices as _matrices_api  # noqa: F401 - registers routes
from web.api import messaging as _messaging_api  # noqa: F401 - registers routes
from web.api import motivation as _motivation_api  # noqa: F401 - registers routes
from web.api import order_editor as _order_editor_api  # noqa: F401 - registers routes
from web.api import orders as _orders_api  # noqa: F401 - registers routes
from web.api import plans as _plans_api
from web.api import playbooks as _playbooks_api  # noqa: F401 - registers routes
from web.api import prices as _prices_api  # noqa: F401 - registers routes
from web.api import process_types as _process_types_api  # noqa: F401 - registers routes
from web.api import profile as _profile_api
from web.api import ranking as _ranking_api  # noqa: F401 - registers routes
from web.api import rates as _rates_api
from web.api import reports as _reports_api  # noqa: F401 - registers routes
from web.api import scenarios as _scenarios_api  # noqa: F401 - registers routes (M-8)
from web.api import settings_admin as _settings_admin_api  # noqa: F401 - registers routes
from web.api import staff_groups as _staff_groups_api  # noqa: F401 - registers routes
from web.api import suppliers as _suppliers_api  # noqa: F401 - registers routes (M-8)
from web.api.framework import TOO_LARGE, UNREADABLE, said  # noqa: E402
from web.api.routes import api
from web.catalogue_files import setup_catalogue_files
from web.imports import setup_imports
from web.keys import (
    BOT_INFO_KEY,
    BOT_KEY,
    FILES_KEY,
    I18N_KEY,
    JINJA_KEY,
    PUBLIC_ORIGIN_KEY,
    SCHEDULER_KEY,
    SETTINGS_KEY,
    BotInfo,
)
from web.lead_pages import setup_lead_pages
from web.session import request_lang  # noqa: E402

log = logging.getLogger("kontakt.web")
HERE = Path(__file__).parent
WEBHOOK_PATH = "/telegram/webhook"


MAX_REQUEST = 20 * 1024 * 1024  # services.documents.MAX_SIZE; imports have the same


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        resp = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # aiohttp's own answer is plain text; the pages and the API read JSON
        resp = said(413, TOO_LARGE, await request_lang(request), mb=MAX_REQUEST // 2**20)
    except HttpProcessingError as exc:  # a body that cannot be parsed (a NUL in a part's
        log.info("a request that cannot be read: %s", exc.message[:300])  # header...)
        resp = said(400, UNREADABLE, await request_lang(request))
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith(("/app", "/api/")):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def build_web_app(
    *,
    settings: Settings,
    i18n: I18n,
    bot: Bot,
    dispatcher: Dispatcher,
    bot_info: BotInfo,
    scheduler: AsyncIOScheduler | None,
    webhook_secret: str | None = None,
    emulator=None,
    files: FileStore | None = None,
) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=MAX_REQUEST)
    app[SETTINGS_KEY] = settings
    app[FILES_KEY] = files if files is not None else LocalFileStore(settings.data_dir)
    app[I18N_KEY] = i18n
    app[BOT_KEY] = bot
    app[BOT_INFO_KEY] = bot_info
    if scheduler is not None:
        app[SCHEDULER_KEY] = scheduler
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        app[PUBLIC_ORIGIN_KEY] = f"{parts.scheme}://{parts.netloc}"
    app[JINJA_KEY] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    app.router.add_get("/", pages.root)
    app.router.add_get("/health", pages.health)
    app.router.add_get("/app", pages.app_page)
    app.router.add_get("/app/more", pages.more_page)
    app.router.add_get("/app/staff", pages.staff_page)
    app.router.add_get("/app/org", staff_pages.org_page)
    app.router.add_get("/app/plans", staff_pages.plans_page)
    app.router.add_get("/app/motivation", motivation_pages.schemes_page)  # K-9
    app.router.add_get("/app/motivation/statements", motivation_pages.statements_page)
    app.router.add_get("/app/motivation/statements/{user_id}/{month}",
                       motivation_pages.statement_page)
    app.router.add_get("/app/reports/records", report_pages.records_page)
    app.router.add_get("/app/ranking/bcg", bcg_pages.bcg_page)
    app.router.add_get("/app/ranking/bcg.png", bcg_pages.bcg_chart)
    app.router.add_get("/app/clients", pages.clients_page)
    app.router.add_get("/app/clients/{client_id}", card.client_page)
    app.router.add_get("/app/clients/{client_id}/ledger", settlement_pages.ledger_page)
    app.router.add_get("/app/settlements", settlement_pages.settlements_page)
    app.router.add_get("/app/bank", bank_pages.bank_page)
    app.router.add_get("/app/import", pages.import_page)
    app.router.add_get("/app/deals", deal_pages.pipeline_page)
    app.router.add_get("/app/deals/reports", deal_pages.deal_reports_page)  # before {id}
    app.router.add_get("/app/deals/{deal_id}", deal_pages.deal_page)
    app.router.add_get("/app/orders", order_pages.orders_page)
    app.router.add_get("/app/orders/{order_id}", order_pages.order_page)
    app.router.add_get("/app/calendar", pages.calendar_page)
    app.router.add_get("/app/prices", price_pages.prices_page)
    app.router.add_get("/app/prices/{list_id}", price_pages.price_list_page)
    app.router.add_get("/app/discounts", price_pages.discounts_page)
    app.router.add_get("/app/matrix", price_pages.matrix_page)
    app.router.add_get("/app/reports", pages.reports_page)
    app.router.add_get("/app/ranking", ranking_pages.ranking_page)  # K-8
    app.router.add_get("/app/loyalty", loyalty_pages.loyalty_page)  # U-9
    app.router.add_get("/app/suppliers", supplier_pages.suppliers_page)  # M-8
    app.router.add_get("/app/suppliers/{client_id}", supplier_pages.supplier_page)
    app.router.add_get("/app/scenarios", scenario_pages.scenarios_page)  # M-8
    app.router.add_get("/app/campaigns/{campaign_id}/steps",
                       scenario_pages.campaign_steps_page)
    app.router.add_get("/app/campaigns", campaign_pages.campaigns_page)  # K-10, K-12
    app.router.add_get("/app/campaigns/{campaign_id}", campaign_pages.campaign_page)
    app.router.add_get("/app/dealers", dealer_pages.dealers_page)  # M-7
    app.router.add_get("/app/dealers/{client_id}", dealer_pages.dealer_page)
    app.router.add_get("/app/loyalty/program", loyalty_pages.program_page)
    app.router.add_get("/app/loyalty/cards/{card_id}", loyalty_pages.card_page)
    app.router.add_get("/app/mailings", pages.mailings_page)
    app.router.add_get("/app/catalogue", catalogue_pages.catalogue_page)
    app.router.add_get("/app/catalogue/settings", catalogue_pages.settings_page)
    app.router.add_get("/app/stock", catalogue_pages.stock_page)
    app.router.add_get("/u/{token}", pages.unsubscribe_page)
    app.router.add_post("/u/{token}", pages.unsubscribe_page)
    app.router.add_post("/webhooks/sms/{token}", pages.inbound_sms)
    app.router.add_get("/oauth/google/start", _calendar_sync.oauth_start)
    app.router.add_get("/oauth/google/callback", _calendar_sync.oauth_callback)
    app.router.add_post("/webhooks/google/calendar", _calendar_sync.google_notification)
    app.router.add_get("/ics/{token}", _calendar_sync.ics_feed)
    app.router.add_get("/app/admin", pages.admin_page)
    app.router.add_get("/app/card-layout", pages.card_layout_page)
    app.router.add_get("/login/{token}", pages.login_page)
    app.router.add_post("/login/{token}", pages.login_link)
    app.router.add_static("/static", HERE / "static")
    setup_imports(app)  # before the API: /clients/export must win over /clients/{client_id}
    setup_catalogue_files(app)
    setup_lead_pages(app)  # K-10: /go/, /f/ (public) and the lead form designer
    api.register(app)
    app.router.add_post("/api/v1/clients/{client_id}/documents", _clients_api.document_upload)
    app.router.add_post("/api/v1/staff/{user_id}/photo", _profile_api.photo_upload)
    app.router.add_post("/api/v1/catalogue/commerceml", _commerceml_api.upload)
    app.router.add_post("/api/v1/bank/statements", _bank_api.upload)
    app.router.add_post("/api/v1/rates/upload", _rates_api.upload)
    app.router.add_post("/api/v1/plans/sales/upload", _plans_api.upload)
    app.router.add_get("/api/v1/plans/sales/template.xlsx", _plans_api.template)
    app.router.add_get("/api/v1/staff/{user_id}/photo", _profile_api.photo_get)
    app.router.add_get("/app/profile/{user_id}", pages.profile_page)
    app.router.add_post("/api/v1/activities/{activity_id}/documents",
                        _activities_api.document_upload)

    if webhook_secret is not None:
        # Telegram's X-Telegram-Bot-Api-Secret-Token is checked by aiogram (401 if wrong).
        # handle_in_background=False: Telegram gets 200 only after the update was
        # handled, so an update in flight at shutdown is delivered again, not lost.
        SimpleRequestHandler(dispatcher, bot, handle_in_background=False,
                             secret_token=webhook_secret).register(app, path=WEBHOOK_PATH)

    if emulator is not None:
        from web.sandbox import setup_sandbox

        app.add_subapp("/tgapi", emulator.make_app())
        setup_sandbox(app, emulator, miniapp_url=f"{settings.base_url}/app")
    return app
