"""The session cookie and the signed-in user of a request."""

from __future__ import annotations

from aiohttp import web

from models import User
from services import auth as auth_service

COOKIE = "kontakt_session"
_USER: web.RequestKey[User | None] = web.RequestKey("kontakt_user", object)


async def current_user(request: web.Request) -> User | None:
    if _USER not in request:
        request[_USER] = await auth_service.session_user(request.cookies.get(COOKIE))
    return request[_USER]


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
