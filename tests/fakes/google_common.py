"""Shared parts of the fake Google (tests/fakes/google_calendar.py): Google's JSON
errors, the stored state's shapes and time helpers."""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

Json = dict[str, Any]
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

API_PREFIX = "/calendar/v3"
ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
DEFAULT_CHANNEL_TTL = 7 * 24 * 3600
DEFAULT_SCOPE = "https://www.googleapis.com/auth/calendar"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_AUTH_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    503: "UNAVAILABLE",
}
#: Where the API middleware leaves the caller's email (RequestKey is aiohttp >= 3.13).
_EMAIL: Any = getattr(web, "RequestKey", lambda name, _type: name)("fake_google_email", str)


class ApiError(Exception):
    """A Calendar API error, sent as Google's JSON error body. ``user_*`` helpers raise it too."""

    def __init__(self, code: int, reason: str, message: str, *, domain: str = "global",
                 location: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code, self.reason, self.message = code, reason, message
        self.domain, self.location, self.headers = domain, location, headers or {}

    def response(self) -> web.Response:
        """Google's error shape; ``status`` is left out for 410, which has no canonical name."""
        detail: Json = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            detail.update(location=self.location,
                          locationType="header" if self.location[0].isupper() else "parameter")
        error: Json = {"code": self.code, "message": self.message, "errors": [detail]}
        if self.code in _STATUS_NAMES:
            error["status"] = _STATUS_NAMES[self.code]
        return web.json_response({"error": error}, status=self.code, headers=self.headers)


def _auth_error() -> ApiError:
    return ApiError(401, "authError", _AUTH_MESSAGE, location="Authorization", headers={
        "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'})


def _not_found() -> ApiError:
    return ApiError(404, "notFound", "Not Found")


def _bad(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, reason, message)


@dataclass
class _Grant:
    """One consent of an account to our client: a refresh token and its access tokens."""

    email: str
    scope: str
    refresh_token: str | None
    revoked: bool = False


@dataclass
class _AccessToken:
    grant: _Grant
    expires_at: float
    expired: bool = False


@dataclass
class _AuthCode:
    email: str
    redirect_uri: str
    scope: str
    offline: bool
    expires_at: float


@dataclass
class _StoredEvent:
    data: Json
    seq: int  # the calendar's change counter at this event's last change


@dataclass
class _Calendar:
    id: str
    owner: str
    summary: str
    time_zone: str
    primary: bool
    etag: str
    description: str = ""
    updated: str = ""
    resource_id: str = field(default_factory=lambda: secrets.token_urlsafe(20))
    events: dict[str, _StoredEvent] = field(default_factory=dict)
    seq: int = 0
    reserved: set[str] = field(default_factory=set)  # purged ids Google will not reuse


@dataclass
class _Channel:
    id: str
    owner: str
    calendar_id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration_ms: int
    message_number: int = 0
    stopped: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: int | None
    path_contains: str
    reason: str | None = None
    method: str | None = None


def _random_id(length: int = 26) -> str:
    return "".join(secrets.choice(_BASE32HEX) for _ in range(length))


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _format_dt(moment: datetime) -> str:
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _parse_rfc3339(value: str) -> datetime | None:
    """An aware datetime, or None if ``value`` is not RFC 3339 with an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def _instant(when: Json, tz_name: str) -> datetime:
    """The moment a stored (normalized) start/end stands for; dates are midnight in tz_name."""
    if "date" in when:
        return datetime.combine(date.fromisoformat(when["date"]), datetime.min.time(),
                                ZoneInfo(tz_name))
    return datetime.fromisoformat(when["dateTime"])


def _event_time(value: Any, which: str, cal_tz: str) -> tuple[Json, datetime, bool]:
    """Validate a start/end object; returns (normalized, instant, is_all_day).

    A dateTime is rendered in the calendar's time zone, as Google does; a dateTime without an
    offset needs ``timeZone``.
    """
    if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
        raise _bad(f"Missing {which} time.", "required")
    if value.get("date") and value.get("dateTime"):
        raise _bad(f"Invalid {which} time.")
    tz_name = value.get("timeZone")
    tz = _zone(tz_name) if tz_name else None
    if tz_name and tz is None:
        raise _bad(f"Invalid time zone definition for {which} time.")
    if value.get("date"):
        try:
            day = date.fromisoformat(value["date"])
        except (TypeError, ValueError):
            raise _bad(f"Invalid {which} time.")
        out: Json = {"date": day.isoformat()}
        if tz_name:
            out["timeZone"] = tz_name
        return out, datetime.combine(day, datetime.min.time(), ZoneInfo(cal_tz)), True
    try:
        moment = datetime.fromisoformat(value["dateTime"])
    except (TypeError, ValueError):
        raise _bad(f"Invalid {which} time.")
    if moment.tzinfo is None:
        if tz is None:
            raise _bad(f"Missing time zone definition for {which} time.", "required")
        moment = moment.replace(tzinfo=tz)
    out = {"dateTime": _format_dt(moment.astimezone(ZoneInfo(cal_tz)))}
    if tz_name:
        out["timeZone"] = tz_name
    return out, moment, False


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


