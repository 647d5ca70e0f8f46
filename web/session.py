"""The session cookie and the signed-in user of a request."""

from __future__ import annotations

from aiohttp import web

from models import User
from services import auth as auth_service

COOKIE = "kontakt_session"
_USER: web.RequestKey[User | None] = web.RequestKey("kontakt_user", object)


_VIA: web.RequestKey[str | None] = web.RequestKey("kontakt_via", object)


async def current_user(request: web.Request) -> User | None:
    if _USER not in request:
        session = await auth_service.session_of(request.cookies.get(COOKIE))
        request[_USER] = session.user if session else None
        request[_VIA] = session.via if session else None
    return request[_USER]


def guess_lang(request: web.Request) -> str:
    """The language of someone not signed in: the browser's Accept-Language if it is
    one Kontakt speaks, else the server's default."""
    from web.keys import SETTINGS_KEY

    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in ("ru", "uk", "en"):
            return code
    return request.app[SETTINGS_KEY].default_language


async def request_lang(request: web.Request) -> str:
    """The language to answer a request in: the signed-in person's, else a guess."""
    user = await current_user(request)
    return str(user.language) if user is not None else guess_lang(request)


def request_source(request: web.Request) -> str:
    """Where a change came from, for the audit: how the session was made (the Mini App's
    signed initData, or the bot's one-time sign-in link), never a header the client
    sets."""
    return {"webapp": "miniapp", "link": "web"}.get(request.get(_VIA) or "", "web")


def set_session_cookie(response: web.StreamResponse, raw: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE, raw,
        max_age=int(auth_service.SESSION_TTL.total_seconds()),
        httponly=True,
        secure=secure,
        # Inside Telegram Web the Mini App is a cross-site iframe: None needs Secure.
        samesite="None" if secure else "Lax",
        path="/",
    )
