"""K-1: Google Calendar sync over the web — the OAuth callback, Google's push
notifications, the read-only ICS feed, and ``/api/v1/calendar-sync`` (status, connect
link, choose a calendar, disconnect, the feed's address)."""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from notifications.calendar import CONNECT_FAILURES, tell_calendar
from services import calendar as svc
from services import staff as staff_service
from services.errors import DomainError, ValidationFailed
from sync import consent
from sync.engine import CalendarSync, ConnectFailed
from sync.google import AccessRevoked, GoogleError
from web.api.routes import api
from web.keys import BOT_KEY, CALENDAR_KEY, I18N_KEY, SETTINGS_KEY
from web.pages import N_, _guess_lang, render

log = logging.getLogger("kontakt.web.calendar")



class CalendarOff(DomainError):
    """Answered as a 409 in the person's language by the route registry."""

    template = N_("Google Calendar is not set up on this server; ask your administrator")
    status = 404  # as before: nothing there to read


def _sync(request: web.Request) -> CalendarSync:
    engine = request.app.get(CALENDAR_KEY)
    if engine is None or not engine.cfg.enabled:
        raise CalendarOff()
    return engine


def _link_not_valid(request: web.Request, lang: str) -> web.Response:
    return render(request, "message.html", lang=lang, status=400,
                  title_msg=N_("Link not valid"),
                  body_msg=N_("This link is not valid or has expired. Send /calendar "
                              "to the bot for a new one."))


async def oauth_start(request: web.Request) -> web.StreamResponse:
    """Kontakt's consent link: binds this browser (a cookie), then on to Google."""
    lang = _guess_lang(request)
    engine = request.app.get(CALENDAR_KEY)
    opened = await consent.open_start(engine, request.query.get("s", "")) if engine else None
    user = await staff_service.get_by_id(opened[0]) if opened else None
    if opened is None or user is None or not user.is_active:
        return _link_not_valid(request, lang)
    response = web.HTTPFound(consent.google_url(engine, user.id, opened[1], user.email))
    response.set_cookie(consent.COOKIE, opened[1], max_age=consent.TTL_S, httponly=True,
                        secure=engine.base_url.startswith("https://"), samesite="Lax",
                        path="/oauth/google")
    return response


async def oauth_callback(request: web.Request) -> web.Response:
    """Google sends the person back here with a code (or an error) and our state."""
    lang = _guess_lang(request)
    engine = request.app.get(CALENDAR_KEY)
    q = request.query
    if engine is not None and not consent.same_browser(
            engine, q.get("state", ""), request.cookies.get(consent.COOKIE)):
        return render(request, "message.html", lang=lang, status=400,
                      title_msg=N_("Link not valid"),
                      body_msg=N_("Finish connecting in the browser where you opened the "
                                  "link from Telegram. Send /calendar to the bot for a new "
                                  "one."))
    user_id = await engine.use_state(q.get("state", "")) if engine else None
    user = await staff_service.get_by_id(user_id) if user_id else None
    if engine is None or user is None or not user.is_active:
        return _link_not_valid(request, lang)
    lang = str(user.language)
    if q.get("error") or not q.get("code"):
        return render(request, "message.html", lang=lang, title_msg=N_("Not connected"),
                      body_msg=N_("You did not allow Kontakt to use your calendar. Nothing "
                                  "was changed."))
    try:
        await engine.connect(user, q["code"])
    except ConnectFailed as exc:
        return render(request, "message.html", lang=lang, status=400,
                      title_msg=N_("Not connected"), body_msg=CONNECT_FAILURES[exc.code])
    except (GoogleError, AccessRevoked) as exc:
        log.info("calendar: connecting user %s failed: %s", user.id, exc)
        code = getattr(exc, "reason", "")
        return render(request, "message.html", lang=lang, status=502,
                      title_msg=N_("Not connected"),
                      body_msg=CONNECT_FAILURES.get(code, CONNECT_FAILURES["unreachable"]))
    await tell_calendar(request.app[BOT_KEY], request.app[I18N_KEY], user.id, "connected")
    return render(request, "message.html", lang=lang, title_msg=N_("Calendar connected"),
                  body_msg=N_("Your activities are being put in your Google Calendar. You "
                              "can go back to Telegram."))


async def google_notification(request: web.Request) -> web.Response:
    """events.watch: Google posts here when the calendar changes (no body)."""
    engine = request.app.get(CALENDAR_KEY)
    if engine is None:
        return web.Response(status=404)
    ours = await engine.notified(request.headers.get("X-Goog-Channel-ID", ""),
                                 request.headers.get("X-Goog-Channel-Token", ""),
                                 request.headers.get("X-Goog-Resource-State", ""))
    return web.Response(status=200 if ours else 404)


async def ics_feed(request: web.Request) -> web.Response:
    token = request.match_info["token"].removesuffix(".ics")
    user = await svc.feed_owner(token, _secret(request))
    if user is None:
        return web.Response(status=404)  # a calendar app, not a person, reads this
    body = await svc.ics_feed(user, base_url=request.app[SETTINGS_KEY].base_url)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers={"Cache-Control": "private, max-age=300"})


def _secret(request: web.Request) -> str:
    settings = request.app[SETTINGS_KEY]
    return settings.secret_key.get_secret_value() if settings.secret_key else ""


# --- JSON API ---------------------------------------------------------------------------
class SyncStatus(BaseModel):
    connected: bool
    available: bool = True
    state: str | None = None
    mode: str | None = None
    account: str | None = None
    calendar: str | None = None
    calendar_ours: bool | None = None
    reason: str | None = None
    pending: int = 0
    events: int = 0
    last_pull_at: datetime | None = None
    push: bool = False
    last_error: str | None = None
    feed_url: str | None = None


def _feed_url(request: web.Request, token: str) -> str:
    return f"{request.app[SETTINGS_KEY].base_url}/ics/{token}.ics"


@api.route("GET", "/calendar-sync", summary="Your Google Calendar sync and ICS feed (K-1)",
           response=SyncStatus, tags=["calendar"])
async def sync_status(request: web.Request, user: User):
    engine = request.app.get(CALENDAR_KEY)
    data = await svc.status(user)
    feed = await svc.feed_address(user, _secret(request))
    return SyncStatus(available=bool(engine and engine.cfg.enabled),
                      feed_url=_feed_url(request, feed) if feed else None, **data)


class ConnectOut(BaseModel):
    url: str


@api.route("POST", "/calendar-sync/connect", summary="The Google consent link for you",
           response=ConnectOut, tags=["calendar"])
async def sync_connect(request: web.Request, user: User):
    return ConnectOut(url=consent.start_url(_sync(request), user))


class DisconnectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remove_events: bool = True


@api.route("POST", "/calendar-sync/disconnect", summary="Disconnect; remove our events or "
           "leave them", body=DisconnectIn, response=SyncStatus, tags=["calendar"])
async def sync_disconnect(request: web.Request, user: User, body: DisconnectIn):
    if await svc.do_disconnect(user, remove_events=body.remove_events) is None:
        raise ValidationFailed("calendar", CONNECT_FAILURES["not_connected"])
    engine = request.app.get(CALENDAR_KEY)
    if engine is not None:
        engine.poke()
    return SyncStatus(**await svc.status(user))


class CalendarOut(BaseModel):
    id: str
    summary: str
    primary: bool


class CalendarsOut(BaseModel):
    items: list[CalendarOut]


@api.route("GET", "/calendar-sync/calendars", summary="Your Google calendars to choose from",
           response=CalendarsOut, tags=["calendar"])
async def sync_calendars(request: web.Request, user: User):
    items = await _sync(request).calendars(user)
    return CalendarsOut(items=[CalendarOut(id=c["id"], summary=c["summary"],
                                           primary=c["primary"]) for c in items])


class ChooseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    calendar_id: str = Field(min_length=1, max_length=255)


@api.route("POST", "/calendar-sync/calendar", summary="Put the events in another of your "
           "calendars", body=ChooseIn, response=SyncStatus, tags=["calendar"])
async def sync_choose(request: web.Request, user: User, body: ChooseIn):
    try:
        await _sync(request).choose_calendar(user, body.calendar_id)
    except ConnectFailed as exc:
        raise ValidationFailed("calendar_id", CONNECT_FAILURES.get(
            exc.code, N_("Google refused: {code}")), code=exc.code) from None
    return SyncStatus(**await svc.status(user))


class FeedOut(BaseModel):
    url: str


@api.route("POST", "/calendar-sync/feed", summary="The secret address of your read-only ICS "
           "feed (renew: a new address, the old one stops working)", response=FeedOut,
           tags=["calendar"])
async def feed_make(request: web.Request, user: User):
    renew = request.query.get("renew") in ("1", "true")
    return FeedOut(url=_feed_url(request, await svc.feed_token(user, _secret(request),
                                                                 renew=renew)))


@api.route("DELETE", "/calendar-sync/feed", summary="Revoke your ICS feed address",
           tags=["calendar"], status=204)
async def feed_revoke(request: web.Request, user: User):
    await svc.do_revoke_feed(user)
    return None


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: dict = Field(description="the service account's JSON key, as Google gives it")


class WorkspaceOut(BaseModel):
    client_email: str


@api.route("PUT", "/calendar-sync/workspace", summary="Admins: the company's Google "
           "Workspace service account with domain-wide delegation (stored encrypted)",
           body=WorkspaceIn, response=WorkspaceOut, tags=["calendar"])
async def workspace_set(request: web.Request, user: User, body: WorkspaceIn):
    settings = request.app[SETTINGS_KEY]
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    made = await svc.do_set_workspace_key(user, body.key, secret=secret)
    return WorkspaceOut(client_email=made.client_email)
