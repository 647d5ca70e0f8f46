"""Web sign-in: one-time login links (desktop) and sessions.

The Mini App path checks Telegram's initData signature in the web layer (it is
Telegram-specific) and then calls :func:`do_login_telegram_user`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from tortoise.transactions import in_transaction

from models import LoginToken, StaffStatus, User, WebSession
from services.clock import utcnow
from services.errors import PermissionDenied

LOGIN_LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(days=7)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def do_create_login_token(user: User) -> str:
    if not user.is_active:
        raise PermissionDenied("dismissed")
    raw = secrets.token_urlsafe(32)
    await LoginToken.create(token_hash=_hash(raw), user=user, expires_at=utcnow() + LOGIN_LINK_TTL)
    return raw


async def _new_session(user: User, via: str) -> str:
    raw = secrets.token_urlsafe(32)
    await WebSession.create(token_hash=_hash(raw), user=user, via=via,
                            expires_at=utcnow() + SESSION_TTL)
    return raw


async def do_consume_login_token(raw: str) -> tuple[User, str]:
    """Single use: returns the user and a new session token, or raises."""
    now = utcnow()
    async with in_transaction():
        token = await LoginToken.get_or_none(token_hash=_hash(raw or ""))
        if token is None or token.used_at is not None or token.expires_at <= now:
            raise PermissionDenied("login link invalid")
        claimed = await LoginToken.filter(id=token.id, used_at=None).update(used_at=now)
        if claimed != 1:
            raise PermissionDenied("login link invalid")
        user = await User.get_or_none(id=token.user_id, status=StaffStatus.ACTIVE)
        if user is None:
            raise PermissionDenied("dismissed")
        session = await _new_session(user, "link")
    return user, session


async def do_login_telegram_user(telegram_id: int) -> tuple[User, str]:
    """After initData was verified: open a session for an active staff member."""
    user = await User.get_or_none(telegram_id=telegram_id, status=StaffStatus.ACTIVE)
    if user is None:
        raise PermissionDenied("not staff")
    return user, await _new_session(user, "webapp")


async def session_of(raw: str | None) -> WebSession | None:
    """The live session of a cookie, with its user (active staff only)."""
    if not raw:
        return None
    session = await WebSession.get_or_none(token_hash=_hash(raw)).prefetch_related("user")
    if session is None or session.expires_at <= utcnow() or not session.user.is_active:
        return None
    return session


async def session_user(raw: str | None) -> User | None:
    session = await session_of(raw)
    return session.user if session else None


async def do_logout(raw: str | None) -> None:
    if raw:
        await WebSession.filter(token_hash=_hash(raw)).delete()
