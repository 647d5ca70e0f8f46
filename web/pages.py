"""Server-rendered Mini App pages (Jinja2), the desktop login link, health."""

from __future__ import annotations

import logging

from aiohttp import web

from services import auth as auth_service
from services import staff as staff_service
from services.errors import PermissionDenied
from services.permissions import Action, can
from web.keys import BOT_INFO_KEY, I18N_KEY, JINJA_KEY, SCHEDULER_KEY, SETTINGS_KEY
from web.session import current_user, set_session_cookie

log = logging.getLogger("kontakt.web")


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


def render(request: web.Request, template: str, *, lang: str, status: int = 200,
           **context) -> web.Response:
    i18n = request.app[I18N_KEY]
    settings = request.app[SETTINGS_KEY]
    env = request.app[JINJA_KEY]
    html = env.get_template(template).render(
        _=lambda s, **kw: i18n.gettext(s, locale=lang).format(**kw) if kw
        else i18n.gettext(s, locale=lang),
        lang=lang,
        sandbox=settings.sandbox,
        bot_username=request.app[BOT_INFO_KEY].username,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def _guess_lang(request: web.Request) -> str:
    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in ("ru", "uk", "en"):
            return code
    return request.app[SETTINGS_KEY].default_language


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/app")


async def app_page(request: web.Request) -> web.Response:
    """The Mini App shell: the staff directory once signed in, else the sign-in step."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    include_dismissed = request.query.get("dismissed") == "1" and await can(
        user, Action.VIEW_DISMISSED)
    people = await staff_service.list_staff(user, include_dismissed=include_dismissed)
    return render(request, "staff.html", lang=str(user.language), user=user, people=people,
                  can_see_dismissed=await can(user, Action.VIEW_DISMISSED),
                  include_dismissed=include_dismissed)


async def login_page(request: web.Request) -> web.Response:
    """GET /login/{token}: a page with one button. The link is used up only by the
    POST, so link previews and scanners that fetch it do not burn it."""
    return render(request, "login.html", lang=_guess_lang(request),
                  token=request.match_info["token"])


async def login_link(request: web.Request) -> web.Response:
    """POST /login/{token}: the one-time link from the bot's /web signs this browser in."""
    from web.api.framework import cross_site_refusal

    if cross_site_refusal(request):
        return render(request, "message.html", lang=_guess_lang(request), status=403,
                      title_msg=N_("This sign-in link is no longer valid"),
                      body_msg=N_("Send /web to the bot for a new one."))
    try:
        _user, raw = await auth_service.do_consume_login_token(request.match_info["token"])
    except PermissionDenied:
        return render(request, "message.html", lang=_guess_lang(request), status=403,
                      title_msg=N_("This sign-in link is no longer valid"),
                      body_msg=N_("Send /web to the bot for a new one."))
    resp = web.Response(status=302, headers={"Location": "/app"})
    set_session_cookie(resp, raw, secure=request.app[SETTINGS_KEY].base_url.startswith("https://"))
    return resp


async def health(request: web.Request) -> web.Response:
    from kontakt.db import ping

    body: dict[str, object] = {"status": "ok"}
    status = 200
    try:
        await ping()
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure is "down"
        log.warning("health: database down: %s", type(exc).__name__)
        body["database"] = "down"
        body["status"] = "degraded"
        status = 503
    scheduler = request.app.get(SCHEDULER_KEY)
    body["scheduler"] = "running" if scheduler is not None and scheduler.running else "stopped"
    body["bot_mode"] = request.app[BOT_INFO_KEY].mode
    return web.json_response(body, status=status)
