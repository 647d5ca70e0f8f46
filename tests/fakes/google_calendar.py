"""A fake Google Calendar API v3 and Google OAuth 2.0 server (an aiohttp application).

The real google-api-python-client, google-auth and gcsa run unmodified against it::

    fake = FakeGoogle()
    fake.add_account("anna@example.com")
    await fake.start()
    access, refresh = fake.issue_tokens("anna@example.com")
    creds = google.oauth2.credentials.Credentials(
        token=access, refresh_token=refresh, token_uri=fake.token_uri,
        client_id=fake.client_id, client_secret=fake.client_secret)
    service = googleapiclient.discovery.build(
        "calendar", "v3", credentials=creds,
        client_options={"api_endpoint": fake.calendar_api_endpoint},
        static_discovery=True, cache_discovery=False)

It follows Google's public reference: events are never really deleted (they become
``status: "cancelled"`` so that incremental sync can report them), every change bumps the
event's etag, ``updated`` and ``sequence`` and a per-calendar change counter, sync and page
tokens are opaque, errors use Google's JSON error shape, push notifications are POSTed to
web-hook channels. Changes "made by the person in their calendar app" (the ``user_*``
helpers) behave exactly like API changes.

Deliberate simplifications (documented so tests do not rely on them):

* ``singleEvents=true`` is accepted but recurring events are not expanded: masters and the
  changed instances made by :meth:`FakeGoogle.user_move_instance` are returned as stored.
  ``timeMin`` does not filter out a recurring master (its series may continue); ``timeMax``
  does (master start must be before it).
* ``events.update``/``patch`` of a cancelled event is allowed (Google restores events on the
  organizer's calendar): ``update`` (a full replace) restores it unless the body says
  ``"status": "cancelled"``; ``patch`` keeps the status unless the body sets one. The
  ``no_undelete`` switch makes it 403, as Google answers for events it will not restore;
  :meth:`FakeGoogle.purge` forgets a deleted event but keeps its id taken.
* A refresh token is issued by the code exchange only when the consent URL had
  ``access_type=offline`` (as Google does for web-server apps).
* Not implemented: batch requests, ``fields`` partial responses, ``timeZone`` of the response,
  ``events.instances/move/quickAdd/import``, ACL, settings, free/busy, colors, calendarList
  sync, notification retries.

Strict where Google's documentation is (issue 20; each rule names its source where it is
enforced): a deleted event in a list carries only ``kind, id, status``, a cancelled
occurrence only those and ``recurringEventId, originalStartTime`` (Event resource,
``status``); list pages may be short or empty and still have a ``nextPageToken``
(events.list, ``maxResults``; switches ``page_cap`` and ``empty_first_page``), and
``nextSyncToken`` is on the last page only (Events resource); ``showDeleted=false`` with a
``syncToken`` is 400 (events.list, ``syncToken``); extendedProperties keys over 44
characters are dropped, values over 1,024 cut ("Extended properties" guide, limits); more
than 5 reminder overrides is 400 (Event resource, ``reminders.overrides``); a channel
needs an ``https`` address and a token of at most 256 characters, and its "sync" message
may come before the watch call returns ("Push notifications" guide; switch
``sync_before_reply``, on); a 410 has the reason ``fullSyncRequired`` ("Handle API
errors"). Google delivers only to ``https``; a test's plain-http receiver is reached
through :meth:`FakeGoogle.route_https` (as a TLS-terminating proxy would).
* State is meant to be touched from the event loop the server runs on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from yarl import URL

Json = dict[str, Any]

API_PREFIX = "/calendar/v3"
ACCESS_TOKEN_SECONDS = 3599
CODE_SECONDS = 600
DEFAULT_CHANNEL_TTL = 7 * 24 * 3600
DEFAULT_SCOPE = "https://www.googleapis.com/auth/calendar"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
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
#: ``fail_next`` statuses -> (domain, reason, message) of the error Google sends.
_FAULTS = {
    401: ("global", "authError", _AUTH_MESSAGE),
    403: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("global", "backendError", "Backend Error"),
    503: ("global", "backendError", "Backend Error"),
}
#: ``fail_next(reason=...)`` -> (domain, reason, message), from "Handle API errors"
#: (developers.google.com/calendar/api/guides/errors): usage limits are 403 or 429.
_REASONS = {
    "rateLimitExceeded": ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "userRateLimitExceeded": ("usageLimits", "userRateLimitExceeded",
                              "User Rate Limit Exceeded"),
    "quotaExceeded": ("usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
    "forbidden": ("global", "forbidden", "Forbidden"),
}
#: Event fields owned by the server: a client's values for them are ignored.
_SERVER_FIELDS = frozenset({
    "kind", "etag", "id", "status", "htmlLink", "created", "updated", "creator",
    "organizer", "iCalUID", "sequence", "start", "end", "recurringEventId",
    "originalStartTime",
})
#: events.list parameters Google refuses together with ``syncToken``.
_NOT_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                  "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")


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


def _deep_merge(base: Json, patch: Json) -> Json:
    """PATCH semantics: objects merge, other values (lists too) replace, null removes."""
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _limited_properties(props: Json) -> Json:
    """The "Extended properties" guide, limits: a key over 44 characters is dropped, a
    value over 1,024 characters cut, both silently."""
    out: Json = {}
    for scope, pairs in props.items():
        if isinstance(pairs, dict):
            out[scope] = {k: v[:1024] if isinstance(v, str) else v
                          for k, v in pairs.items() if len(k) <= 44}
        else:
            out[scope] = pairs
    return out


def _list_item(data: Json) -> Json:
    """An event as events.list shows it. The Event resource's ``status``: "Deleted events
    are only guaranteed to have the id field populated"; "Cancelled exceptions are only
    guaranteed to have values for the id, recurringEventId and originalStartTime fields"
    (the status says which it is)."""
    if data["status"] != "cancelled":
        return copy.deepcopy(data)
    keep = ("kind", "id", "status", "recurringEventId", "originalStartTime")
    return {key: copy.deepcopy(data[key]) for key in keep if key in data}


class FakeGoogle:
    """Google's OAuth 2.0 endpoints and Calendar API v3 in one aiohttp server, all in memory.

    Attributes tests may read or set: ``consent_account`` (who is signed in at the consent
    screen), ``deny_consent``, ``calls`` (``(method, path after /calendar/v3, query)`` of every
    Calendar API request) and ``notifications`` (one dict per push notification attempted).
    """

    def __init__(self, *, client_id: str = "kontakt-test",
                 client_secret: str = "kontakt-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.consent_account: str | None = None
        self.deny_consent = False
        #: switches for behaviour Google shows only sometimes (off: the lenient default)
        self.no_undelete = False  # patch/update of a cancelled event: 403
        #: (writes, seconds): more event writes to one calendar within that window are
        #: 403 rateLimitExceeded ("Manage quotas": operational limits on writing to a
        #: single calendar in quick succession); None: no limit
        self.write_limit: tuple[int, float] | None = None
        self._writes: dict[str, list[float]] = {}
        self._token_faults: list[list[Any]] = []  # [kind, remaining, delay]
        #: events.list: "The number of events in the resulting page may be less than
        #: this value, or none at all, even if there are more events matching the query"
        self.page_cap: int | None = None  # at most this many items a page
        self.empty_first_page = False  # a first page with no items and a nextPageToken
        #: "Push notifications": the "sync" message may arrive before the watch call
        #: returns (it is sent as the channel is made)
        self.sync_before_reply = True
        self._https_routes: dict[str, str] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.notifications: list[dict] = []
        self._accounts: dict[str, str] = {}  # email -> time zone
        self._calendars: dict[str, _Calendar] = {}
        self._codes: dict[str, _AuthCode] = {}
        self._grants: list[_Grant] = []
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, _AccessToken] = {}
        self._channels: dict[str, _Channel] = {}
        self._faults: list[_Fault] = []
        self._service_accounts: dict[str, tuple[Any, list[str]]] = {}
        self._nonce = secrets.token_hex(4)  # tokens of another fake instance are unknown here
        self._sync_epoch = 0
        self._etags = itertools.count(time.time_ns() // 1000)
        self._last_updated_ms = 0
        self._clock: Callable[[], float] = time.time
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ server lifecycle

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("FakeGoogle is already running")
        self._loop = asyncio.get_running_loop()
        app = web.Application(middlewares=[self._api_middleware])
        self._add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        self._base_url = f"http://127.0.0.1:{self._port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop listening (pending notifications are delivered first); state is kept."""
        await self.drain()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def restart(self) -> None:
        """Listen again on the same port, with the same state."""
        if not self._port:
            raise RuntimeError("FakeGoogle was never started")
        await self.start(self._port)

    async def drain(self) -> None:
        """Wait until every push notification scheduled so far has been attempted."""
        await asyncio.sleep(0)  # let notifications scheduled from other threads be created
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (after :meth:`start`)."""
        if not self._base_url:
            raise RuntimeError("FakeGoogle is not started")
        return self._base_url

    @property
    def calendar_api_endpoint(self) -> str:
        """For ``client_options={"api_endpoint": ...}``: googleapiclient replaces its base URL."""
        return f"{self.base_url}{API_PREFIX}/"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def auth_uri(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def revoke_uri(self) -> str:
        return f"{self.base_url}/revoke"

    def _add_routes(self, app: web.Application) -> None:
        p = API_PREFIX
        app.router.add_get("/o/oauth2/v2/auth", self._oauth_authorize)
        app.router.add_post("/token", self._oauth_token)
        app.router.add_post("/revoke", self._oauth_revoke)
        app.router.add_get(p + "/users/me/calendarList", self._calendar_list)
        app.router.add_get(p + "/users/me/calendarList/{cid}", self._calendar_list_get)
        app.router.add_post(p + "/calendars", self._calendars_insert)
        app.router.add_get(p + "/calendars/{cid}", self._calendars_get)
        app.router.add_delete(p + "/calendars/{cid}", self._calendars_delete)
        app.router.add_post(p + "/calendars/{cid}/clear", self._calendars_clear)
        app.router.add_get(p + "/calendars/{cid}/events", self._events_list)
        app.router.add_post(p + "/calendars/{cid}/events", self._events_insert)
        app.router.add_post(p + "/calendars/{cid}/events/watch", self._events_watch)
        app.router.add_get(p + "/calendars/{cid}/events/{eid}", self._events_get)
        app.router.add_put(p + "/calendars/{cid}/events/{eid}", self._events_update)
        app.router.add_patch(p + "/calendars/{cid}/events/{eid}", self._events_patch)
        app.router.add_delete(p + "/calendars/{cid}/events/{eid}", self._events_delete)
        app.router.add_post(p + "/channels/stop", self._channels_stop)

    # ------------------------------------------------------------------ accounts and tokens

    def add_account(self, email: str, timezone: str = "Europe/Moscow") -> None:
        """Create an account with its primary calendar (id == email); a repeat is a no-op."""
        if email in self._accounts:
            return
        if _zone(timezone) is None:
            raise ValueError(f"unknown time zone {timezone!r}")
        self._accounts[email] = timezone
        self._calendars[email] = _Calendar(id=email, owner=email, summary=email,
                                           time_zone=timezone, primary=True,
                                           etag=self._new_etag())

    def revoke_account(self, email: str) -> None:
        """Every grant of the account is revoked: refresh gives invalid_grant, access 401."""
        for grant in self._grants:
            if grant.email == email:
                grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far gets 401, so clients must refresh."""
        for token in self._access.values():
            token.expired = True

    def issue_tokens(self, email: str, scope: str = DEFAULT_SCOPE) -> tuple[str, str]:
        """``(access_token, refresh_token)`` of a new grant, skipping the consent screen."""
        if email not in self._accounts:
            raise KeyError(f"no account {email!r}; call add_account first")
        grant = self._new_grant(email, scope, offline=True)
        assert grant.refresh_token is not None
        return self._new_access_token(grant), grant.refresh_token

    def _new_grant(self, email: str, scope: str, *, offline: bool) -> _Grant:
        grant = _Grant(email, scope, f"1//fake-{secrets.token_urlsafe(32)}" if offline else None)
        self._grants.append(grant)
        if grant.refresh_token:
            self._refresh[grant.refresh_token] = grant
        return grant

    def _new_access_token(self, grant: _Grant) -> str:
        token = f"ya29.fake-{secrets.token_urlsafe(32)}"
        self._access[token] = _AccessToken(grant, self._clock() + ACCESS_TOKEN_SECONDS + 1)
        return token

    def _authenticate(self, request: web.Request) -> str:
        """The email of the bearer of a live access token, else 401."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self._access.get(value.strip()) if scheme.lower() == "bearer" else None
        if (token is None or token.expired or token.grant.revoked
                or token.expires_at <= self._clock()):
            raise _auth_error()
        return token.grant.email

    # ------------------------------------------------------------------ OAuth endpoints

    async def _oauth_authorize(self, request: web.Request) -> web.StreamResponse:
        """The consent screen, decided at once for ``consent_account``."""
        q = request.query

        def page(message: str) -> web.Response:
            return web.Response(status=400, content_type="text/html",
                                text=f"<html><body><h1>Access blocked</h1><p>{message}</p>"
                                     "</body></html>")

        if q.get("client_id") != self.client_id:
            return page("Error 401: invalid_client. The OAuth client was not found.")
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri:
            return page("Error 400: invalid_request. Missing required parameter: redirect_uri")
        if q.get("response_type") != "code":
            return page("Error 400: unsupported_response_type")
        if not q.get("scope"):
            return page("Error 400: invalid_request. Missing required parameter: scope")
        params: dict[str, str] = {}
        email = self.consent_account
        if self.deny_consent or email is None or email not in self._accounts:
            params["error"] = "access_denied"
        else:
            code = f"4/0fake-{secrets.token_urlsafe(32)}"
            self._codes[code] = _AuthCode(email, redirect_uri, q["scope"],
                                          q.get("access_type") == "offline",
                                          self._clock() + CODE_SECONDS)
            params.update(code=code, scope=q["scope"])
        if "state" in q:
            params["state"] = q["state"]
        raise web.HTTPFound(str(URL(redirect_uri).update_query(params)))

    def fail_token(self, kind: str, times: int = 1, *, delay_s: float = 3.0) -> None:
        """The next ``times`` requests to the token endpoint fail: ``invalid_client`` (a
        rotated secret: 401 JSON), ``server_error`` (503 JSON), ``html`` (a 502 HTML page
        from a proxy), ``timeout`` (no answer for ``delay_s``), ``invalid_grant``. RFC 6749
        5.2 names the JSON errors; Google's "Using OAuth 2.0 to Access Google APIs" says a
        refresh token may stop working (invalid_grant) for several reasons."""
        if kind not in ("invalid_client", "server_error", "html", "timeout", "invalid_grant"):
            raise ValueError(f"unknown token fault {kind!r}")
        self._token_faults.append([kind, times, delay_s])

    async def _token_fault(self) -> web.Response | None:
        fault = next((f for f in self._token_faults if f[1] > 0), None)
        if fault is None:
            return None
        fault[1] -= 1
        kind, _, delay_s = fault
        if kind == "timeout":
            await asyncio.sleep(delay_s)
            return web.json_response({"error": "deadline_exceeded"}, status=504)
        if kind == "html":
            return web.Response(status=502, content_type="text/html",
                                text="<html><head><title>502 Bad Gateway</title></head>"
                                     "<body><h1>Bad Gateway</h1></body></html>")
        if kind == "server_error":
            return web.json_response({"error": "server_error",
                                      "error_description": "Backend Error"}, status=503)
        status = 401 if kind == "invalid_client" else 400
        return web.json_response({"error": kind, "error_description": "Unauthorized"
                                  if kind == "invalid_client" else "Token has been expired "
                                  "or revoked."}, status=status)

    async def _oauth_token(self, request: web.Request) -> web.Response:
        """The token endpoint: authorization_code and refresh_token grants."""
        if (faulty := await self._token_fault()) is not None:
            return faulty
        if request.content_type == "application/json":
            form = {k: str(v) for k, v in (await request.json()).items()}
        else:
            form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("grant_type") == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("Authorization", "").startswith("Basic "):
            with contextlib.suppress(ValueError):
                auth = aiohttp.BasicAuth.decode(request.headers["Authorization"])
                client_id, client_secret = auth.login, auth.password
        if client_id != self.client_id:
            return web.json_response({"error": "invalid_client",
                                      "error_description": "The OAuth client was not found."},
                                     status=401)
        if client_secret != self.client_secret:
            return web.json_response({"error": "invalid_client",
                                      "error_description": "Unauthorized"}, status=401)
        invalid_grant = web.json_response(
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
            status=400)
        grant_type = form.get("grant_type")
        body: Json = {"expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"}
        if grant_type == "authorization_code":
            code = self._codes.get(form.get("code", ""))
            if code is None or code.expires_at <= self._clock():
                return invalid_grant
            if form.get("redirect_uri") != code.redirect_uri:
                return web.json_response({"error": "redirect_uri_mismatch",
                                          "error_description": "Bad Request"}, status=400)
            del self._codes[form["code"]]  # single use
            grant = self._new_grant(code.email, code.scope, offline=code.offline)
            body["access_token"] = self._new_access_token(grant)
            if grant.refresh_token:
                body["refresh_token"] = grant.refresh_token
        elif grant_type == "refresh_token":
            grant_or_none = self._refresh.get(form.get("refresh_token", ""))
            if grant_or_none is None or grant_or_none.revoked:
                return invalid_grant
            grant = grant_or_none
            body["access_token"] = self._new_access_token(grant)
        else:
            return web.json_response({"error": "unsupported_grant_type",
                                      "error_description": f"Invalid grant_type: {grant_type}"},
                                     status=400)
        body["scope"] = grant.scope
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def add_service_account(self, client_email: str, public_key_pem: bytes,
                            domains: list[str]) -> None:
        """A Google Workspace service account allowed domain-wide delegation for the
        accounts of ``domains`` (its JWTs are checked against ``public_key_pem``)."""
        self._service_accounts[client_email] = (
            serialization.load_pem_public_key(public_key_pem), list(domains))

    def _jwt_grant(self, assertion: str) -> web.Response:
        """RFC 7523 (how a service account gets a token): an RS256-signed JWT whose
        ``iss`` is a known service account, ``aud`` this endpoint, ``sub`` an account of
        a delegated domain, not expired."""
        refused = web.json_response({"error": "invalid_grant",
                                     "error_description": "Invalid JWT Signature."},
                                    status=400)
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(body_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, TypeError):
            return refused
        known = self._service_accounts.get(str(claims.get("iss")))
        if header.get("alg") != "RS256" or known is None:
            return refused
        public_key, domains = known
        try:
            public_key.verify(signature, f"{head_b64}.{body_b64}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refused
        now = self._clock()
        # the audience is Google's token endpoint's address (google-auth always names it),
        # or this server's
        audiences = (self.token_uri, "https://oauth2.googleapis.com/token")
        if claims.get("aud") not in audiences or not (
                claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "Invalid JWT: Token must be a "
                                      "short-lived token and in a reasonable timeframe."},
                                     status=400)
        subject = str(claims.get("sub") or "")
        if subject not in self._accounts or subject.rsplit("@", 1)[-1] not in domains:
            return web.json_response({"error": "unauthorized_client",
                                      "error_description": "Client is unauthorized to "
                                      "retrieve access tokens using this method, or client "
                                      "not authorized for any of the scopes requested."},
                                     status=401)
        grant = self._new_grant(subject, str(claims.get("scope") or DEFAULT_SCOPE),
                                offline=False)
        return web.json_response({"access_token": self._new_access_token(grant),
                                  "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"},
                                 headers={"Cache-Control": "no-store"})

    async def _oauth_revoke(self, request: web.Request) -> web.Response:
        """Revoke the grant of a refresh or access token (``token`` in query or form)."""
        token = request.query.get("token") or str((await request.post()).get("token", ""))
        grant = self._refresh.get(token)
        if grant is None and token in self._access:
            grant = self._access[token].grant
        if grant is None or grant.revoked:
            return web.json_response({"error": "invalid_token",
                                      "error_description": "Token expired or revoked"},
                                     status=400)
        grant.revoked = True
        return web.json_response({})

    # ------------------------------------------------------------------ API plumbing

    @web.middleware
    async def _api_middleware(self, request: web.Request,
                              handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        """Calendar API requests: record, apply faults, authenticate, map errors to JSON."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        query = {k: (vals[0] if len(vals := request.query.getall(k)) == 1 else vals)
                 for k in request.query.keys()}
        self.calls.append((request.method, request.path[len(API_PREFIX):], query))
        try:
            self._apply_fault(request.path, request.method)
            request[_EMAIL] = self._authenticate(request)
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except web.HTTPMethodNotAllowed:
            return ApiError(405, "httpMethodNotAllowed", "Method Not Allowed").response()
        except web.HTTPNotFound:
            return _not_found().response()

    def _apply_fault(self, path: str, method: str = "") -> None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.path_contains in path and (
                    fault.method is None or fault.method == method):
                fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining > 0]
                domain, reason, message = _FAULTS.get(
                    fault.status, ("global", "backendError", "Backend Error"))
                if fault.reason:
                    domain, reason, message = _REASONS.get(
                        fault.reason, ("global", fault.reason, fault.reason))
                headers = {} if fault.retry_after is None else {
                    "Retry-After": str(fault.retry_after)}
                if fault.status == 401:
                    raise _auth_error()
                raise ApiError(fault.status, reason, message, domain=domain, headers=headers)

    def fail_next(self, status: int, times: int = 1, *, retry_after: int | None = None,
                  path_contains: str = "", reason: str | None = None,
                  method: str | None = None) -> None:
        """The next ``times`` API requests whose path contains ``path_contains`` (and of
        ``method``, if given) fail; ``reason`` picks Google's error reason (e.g.
        ``quotaExceeded`` with 403)."""
        self._faults.append(_Fault(status, times, retry_after, path_contains, reason, method))

    def route_https(self, prefix: str, to: str) -> None:
        """Deliver notifications for addresses starting ``prefix`` (https) to ``to``."""
        self._https_routes[prefix] = to

    def _delivery_address(self, address: str) -> str:
        for prefix, to in self._https_routes.items():
            if address.startswith(prefix):
                return to + address[len(prefix):]
        return address

    def purge(self, calendar_id: str, event_id: str) -> None:
        """Google forgets a deleted event (get: 404) but keeps its id taken (insert: 409)."""
        cal = self._user_calendar(calendar_id)
        stored = cal.events.pop(event_id, None)
        if stored is None or stored.data["status"] != "cancelled":
            raise ValueError(f"only a deleted event can be purged: {event_id!r}")
        cal.reserved.add(event_id)

    @staticmethod
    async def _body(request: web.Request) -> Json:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "parseError", "Parse Error")
        if not isinstance(body, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return body

    def _calendar(self, request: web.Request) -> _Calendar:
        """The calendar named in the path, if the caller owns it (``primary`` = their own)."""
        email = request[_EMAIL]
        cid = request.match_info["cid"]
        cal = self._calendars.get(email if cid == "primary" else cid)
        if cal is None or cal.owner != email:
            raise _not_found()
        return cal

    @staticmethod
    def _stored(cal: _Calendar, event_id: str) -> _StoredEvent:
        stored = cal.events.get(event_id)
        if stored is None:
            raise _not_found()
        return stored

    @staticmethod
    def _check_if_match(request: web.Request, data: Json) -> None:
        wanted = request.headers.get("If-Match")
        if wanted is not None and wanted.strip() not in ("*", data["etag"]):
            raise ApiError(412, "conditionNotMet", "Precondition Failed", location="If-Match")

    def _check_undelete(self, data: Json) -> None:
        """With ``no_undelete``: changing a deleted event is refused (403), as Google does
        for events it will not restore (the Event resource's ``status`` says cancelled
        events "can be restored (undeleted)" only on the organizer's calendar)."""
        if self.no_undelete and data["status"] == "cancelled":
            raise ApiError(403, "forbidden", "Forbidden")

    def _new_etag(self) -> str:
        return f'"{next(self._etags)}"'

    def _now(self) -> str:
        """RFC 3339 UTC with milliseconds, strictly increasing within this fake."""
        ms = max(int(self._clock() * 1000), self._last_updated_ms + 1)
        self._last_updated_ms = ms
        moment = datetime.fromtimestamp(ms / 1000, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    def _token(self, kind: str, *payload: Any) -> str:
        raw = json.dumps([self._nonce, kind, *payload], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _untoken(self, kind: str, token: str) -> list[Any] | None:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except ValueError:
            return None
        if not isinstance(raw, list) or raw[:2] != [self._nonce, kind]:
            return None
        return raw[2:]

    # ------------------------------------------------------------------ calendars

    def _calendar_resource(self, cal: _Calendar) -> Json:
        body: Json = {"kind": "calendar#calendar", "etag": cal.etag, "id": cal.id,
                      "summary": cal.summary, "timeZone": cal.time_zone,
                      "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
        if cal.description:
            body["description"] = cal.description
        return body

    def _list_entry(self, cal: _Calendar) -> Json:
        entry = self._calendar_resource(cal)
        entry.update(kind="calendar#calendarListEntry", colorId="14",
                     backgroundColor="#9fe1e7", foregroundColor="#000000", selected=True,
                     accessRole="owner", defaultReminders=[])
        if cal.primary:
            entry["primary"] = True
        return entry

    def calendars(self, email: str) -> list[dict]:
        """The account's calendar list entries (primary first)."""
        return [self._list_entry(c) for c in self._calendars.values() if c.owner == email]

    async def _calendar_list(self, request: web.Request) -> web.Response:
        return web.json_response({"kind": "calendar#calendarList", "etag": self._new_etag(),
                                  "items": self.calendars(request[_EMAIL])})

    async def _calendar_list_get(self, request: web.Request) -> web.Response:
        return web.json_response(self._list_entry(self._calendar(request)))

    async def _calendars_insert(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not body.get("summary"):
            raise _bad("Missing title.", "required")
        email = request[_EMAIL]
        tz_name = body.get("timeZone") or self._accounts[email]
        if _zone(tz_name) is None:
            raise _bad("Invalid time zone definition.")
        cal = _Calendar(id=f"c_{secrets.token_hex(16)}@group.calendar.google.com", owner=email,
                        summary=str(body["summary"]), time_zone=tz_name, primary=False,
                        etag=self._new_etag(), description=str(body.get("description", "")))
        self._calendars[cal.id] = cal
        return web.json_response(self._calendar_resource(cal))

    async def _calendars_get(self, request: web.Request) -> web.Response:
        return web.json_response(self._calendar_resource(self._calendar(request)))

    async def _calendars_delete(self, request: web.Request) -> web.Response:
        """Secondary calendars only (Google: use calendars.clear for the primary)."""
        cal = self._calendar(request)
        if cal.primary:
            raise _bad("Cannot delete primary calendar. Use calendars.clear instead.")
        del self._calendars[cal.id]
        for channel in [c for c in self._channels.values() if c.calendar_id == cal.id]:
            channel.stopped = True
            del self._channels[channel.id]
        return web.Response(status=204)

    async def _calendars_clear(self, request: web.Request) -> web.Response:
        """Cancel every event of a primary calendar."""
        cal = self._calendar(request)
        if not cal.primary:
            raise _bad("Only primary calendars can be cleared. Use calendars.delete instead.")
        for stored in list(cal.events.values()):
            if stored.data["status"] != "cancelled":
                self._cancel(cal, stored.data)
        return web.Response(status=204)

    def _user_calendar(self, calendar_id: str) -> _Calendar:
        cal = self._calendars.get(calendar_id)
        if cal is None:
            raise KeyError(f"no calendar {calendar_id!r}")
        return cal

    # ------------------------------------------------------------------ event storage

    def _compose(self, cal: _Calendar, body: Json, event_id: str,
                 previous: Json | None) -> Json:
        """Validate a client's event body and build the stored resource."""
        start, start_at, all_day = _event_time(body.get("start"), "start", cal.time_zone)
        end, end_at, end_all_day = _event_time(body.get("end"), "end", cal.time_zone)
        if all_day != end_all_day:
            raise _bad("Start and end times must either both be date or both be dateTime.")
        if end_at < start_at or (all_day and end_at == start_at):
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                           location="end.dateTime")
        recurrence = body.get("recurrence")
        if recurrence is not None:
            if not isinstance(recurrence, list) or not all(
                    isinstance(line, str) and line.split(":")[0].split(";")[0]
                    in ("RRULE", "EXRULE", "RDATE", "EXDATE") for line in recurrence):
                raise _bad("Invalid recurrence rule.")
            if recurrence and not all_day and "timeZone" not in start:
                raise _bad("Missing time zone definition for start time.", "required")
        status = body.get("status") or "confirmed"
        if status not in ("confirmed", "tentative", "cancelled"):
            raise _bad("Invalid value for: status")
        reminders = body.get("reminders")
        if isinstance(reminders, dict) and len(reminders.get("overrides") or []) > 5:
            # the Event resource: "The maximum number of override reminders is 5"
            raise _bad("Too many reminders.")
        now = self._now()
        person = ({"email": cal.owner, "self": True} if cal.primary else
                  {"email": cal.id, "displayName": cal.summary, "self": True})
        eid = base64.b64encode(f"{event_id} {cal.id}".encode()).decode().rstrip("=")
        data: Json = {
            "kind": "calendar#event", "etag": self._new_etag(), "id": event_id,
            "status": status, "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": previous["created"] if previous else now, "updated": now,
            "creator": previous["creator"] if previous else {"email": cal.owner, "self": True},
            "organizer": previous["organizer"] if previous else person,
        }
        data.update({k: copy.deepcopy(v) for k, v in body.items()
                     if k not in _SERVER_FIELDS and v is not None})
        data["start"], data["end"] = start, end
        if isinstance(data.get("extendedProperties"), dict):
            data["extendedProperties"] = _limited_properties(data["extendedProperties"])
        for key in ("recurringEventId", "originalStartTime"):
            if previous and key in previous:
                data[key] = previous[key]
        data["iCalUID"] = previous["iCalUID"] if previous else f"{event_id}@google.com"
        wanted_sequence = body.get("sequence") if isinstance(body.get("sequence"), int) else 0
        data["sequence"] = max(previous["sequence"] + 1 if previous else 0, wanted_sequence)
        data.setdefault("reminders", {"useDefault": True})
        data.setdefault("eventType", "default")
        return data

    def _save(self, cal: _Calendar, data: Json) -> Json:
        """Store a new version of an event: bump the change counter, notify watchers."""
        cal.seq += 1
        cal.events[data["id"]] = _StoredEvent(data, cal.seq)
        cal.etag, cal.updated = self._new_etag(), data["updated"]
        self._notify(cal)
        return copy.deepcopy(data)

    def _insert(self, cal: _Calendar, body: Json) -> Json:
        event_id = body.get("id")
        if event_id is None:
            event_id = _random_id()
        elif not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
            raise _bad("Invalid resource id value.")
        elif event_id in cal.events or event_id in cal.reserved:
            # a purged event's id stays taken (events.insert: "the ID must be unique per
            # calendar"; users report 409 while events.get says 404 for such ids)
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        return self._save(cal, self._compose(cal, body, event_id, None))

    def _replace(self, cal: _Calendar, previous: Json, body: Json) -> Json:
        return self._save(cal, self._compose(cal, body, previous["id"], previous))

    def _cancel(self, cal: _Calendar, previous: Json) -> None:
        """Delete = status "cancelled" (kept for sync); a master takes its instances along."""
        data = copy.deepcopy(previous)
        data.update(status="cancelled", etag=self._new_etag(), updated=self._now(),
                    sequence=previous["sequence"] + 1)
        self._save(cal, data)
        if "recurrence" in previous:
            for stored in list(cal.events.values()):
                if (stored.data.get("recurringEventId") == previous["id"]
                        and stored.data["status"] != "cancelled"):
                    self._cancel(cal, stored.data)

    def _editable(self, data: Json) -> Json:
        """The client-visible fields a shallow user edit starts from."""
        body = {k: copy.deepcopy(v) for k, v in data.items()
                if k not in _SERVER_FIELDS or k in ("status", "start", "end", "sequence")}
        body["sequence"] = data["sequence"]
        return body

    # ------------------------------------------------------------------ the person in the app

    def user_insert_event(self, calendar_id: str, body: dict) -> dict:
        """The person adds an event in their calendar app (same validation as the API)."""
        return self._insert(self._user_calendar(calendar_id), body)

    def user_update_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict:
        """The person edits an event: a shallow merge of top-level fields."""
        cal = self._user_calendar(calendar_id)
        previous = cal.events[event_id].data
        body = self._editable(previous)
        body.update(changes)
        return self._replace(cal, previous, body)

    def user_delete_event(self, calendar_id: str, event_id: str) -> None:
        """The person deletes an event (it becomes "cancelled"; a repeat is a no-op)."""
        cal = self._user_calendar(calendar_id)
        data = cal.events[event_id].data
        if data["status"] != "cancelled":
            self._cancel(cal, data)

    def user_move_instance(self, calendar_id: str, master_id: str, original_start: str,
                           new_start: dict, new_end: dict) -> dict:
        """The person moves one instance of a recurring event: an exception event is stored
        with id ``{master_id}_{original start in UTC as YYYYMMDDTHHMMSSZ}``."""
        cal = self._user_calendar(calendar_id)
        master = cal.events[master_id].data
        original = _parse_rfc3339(original_start)
        if original is None:
            raise ValueError(f"original_start needs an offset: {original_start!r}")
        event_id = f"{master_id}_{original.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        body = self._editable(master)
        for key in ("recurrence", "sequence", "status"):
            body.pop(key, None)
        body.update(start=new_start, end=new_end)
        existing = cal.events.get(event_id)
        data = self._compose(cal, body, event_id, existing.data if existing else None)
        original_time: Json = {"dateTime": original_start}
        if "timeZone" in master["start"]:
            original_time["timeZone"] = master["start"]["timeZone"]
        data.update(recurringEventId=master_id, originalStartTime=original_time,
                    iCalUID=master["iCalUID"])
        return self._save(cal, data)

    def user_split_series(self, calendar_id: str, master_id: str, from_start: str,
                          **changes: Any) -> dict:
        """"This and following" in Google's apps ("Recurring events" guide, modifying all
        following instances): the original series gets UNTIL just before ``from_start``
        (its COUNT goes), and a new series, id ``{master_id}_R{start}``, a copy of the
        original (private properties too) with ``changes``, starts at ``from_start``
        with the rest of the rule. Returns the new series."""
        cal = self._user_calendar(calendar_id)
        master = cal.events[master_id].data
        start, end = self._instance_times(calendar_id, master_id, from_start)
        split_at = _parse_rfc3339(from_start)
        assert split_at is not None
        until = (split_at - timedelta(seconds=1)).astimezone(UTC)
        lines = master.get("recurrence") or []

        def rule(line: str, end: str | None) -> str:
            parts = [p for p in line[6:].split(";") if p.split("=")[0] not in ("UNTIL", "COUNT")]
            return "RRULE:" + ";".join(parts + ([end] if end else []))

        self.user_update_event(calendar_id, master_id, recurrence=[
            rule(x, f"UNTIL={until:%Y%m%dT%H%M%SZ}") if x.startswith("RRULE:") else x
            for x in lines])
        body = self._editable(cal.events[master_id].data)
        for key in ("sequence", "status"):
            body.pop(key, None)
        body.update(start=start, end=end, recurrence=[
            rule(x, None) for x in lines if x.startswith("RRULE:")])
        body.update(changes)
        new_id = f"{master_id}_R{split_at.astimezone(UTC):%Y%m%dT%H%M%S}"
        return self._save(cal, self._compose(cal, body, new_id, None))

    def user_cancel_instance(self, calendar_id: str, master_id: str,
                             original_start: str) -> dict:
        """The person deletes one occurrence of a recurring event that was never changed
        on its own: a cancelled exception appears, as after a move and a delete."""
        moved = self.user_move_instance(calendar_id, master_id, original_start,
                                        *self._instance_times(calendar_id, master_id,
                                                              original_start))
        self.user_delete_event(calendar_id, moved["id"])
        return self.event(calendar_id, moved["id"]) or {}

    def _instance_times(self, calendar_id: str, master_id: str,
                        original_start: str) -> tuple[Json, Json]:
        """Where an occurrence is by its series: the master's length from its start."""
        master = self._user_calendar(calendar_id).events[master_id].data
        cal_tz = self._user_calendar(calendar_id).time_zone
        length = (_instant(master["end"], cal_tz) - _instant(master["start"], cal_tz))
        start = _parse_rfc3339(original_start)
        if start is None:
            raise ValueError(f"original_start needs an offset: {original_start!r}")
        zone = {"timeZone": master["start"]["timeZone"]} if "timeZone" in master["start"] \
            else {}
        return ({"dateTime": _format_dt(start), **zone},
                {"dateTime": _format_dt(start + length), **zone})

    def events(self, calendar_id: str, *, include_cancelled: bool = False) -> list[dict]:
        """Copies of the stored events of a calendar, in insertion order."""
        return [copy.deepcopy(s.data) for s in self._user_calendar(calendar_id).events.values()
                if include_cancelled or s.data["status"] != "cancelled"]

    def event(self, calendar_id: str, event_id: str) -> dict | None:
        """A copy of one stored event (cancelled ones too), or None."""
        stored = self._user_calendar(calendar_id).events.get(event_id)
        return copy.deepcopy(stored.data) if stored else None

    def expire_sync_tokens(self) -> None:
        """Every sync token (and sync page token) issued so far now gets 410."""
        self._sync_epoch += 1

    # ------------------------------------------------------------------ events endpoints

    def _count_write(self, cal: _Calendar) -> None:
        if self.write_limit is None:
            return
        most, window = self.write_limit
        now = self._clock()
        recent = [t for t in self._writes.get(cal.id, []) if t > now - window]
        if len(recent) >= most:
            self._writes[cal.id] = recent
            raise ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded",
                           domain="usageLimits")
        self._writes[cal.id] = [*recent, now]

    async def _events_insert(self, request: web.Request) -> web.Response:
        cal = self._calendar(request)
        self._count_write(cal)
        return web.json_response(self._insert(cal, await self._body(request)))

    async def _events_get(self, request: web.Request) -> web.Response:
        stored = self._stored(self._calendar(request), request.match_info["eid"])
        return web.json_response(copy.deepcopy(stored.data))

    async def _events_update(self, request: web.Request) -> web.Response:
        """PUT: full replace (keeps id, created, iCalUID, creator, organizer)."""
        cal = self._calendar(request)
        self._count_write(cal)
        body = await self._body(request)
        previous = self._stored(cal, request.match_info["eid"]).data
        self._check_if_match(request, previous)
        self._check_undelete(previous)
        return web.json_response(self._replace(cal, previous, body))

    async def _events_patch(self, request: web.Request) -> web.Response:
        """PATCH: nested objects merge, lists replace, null removes a field."""
        cal = self._calendar(request)
        self._count_write(cal)
        body = await self._body(request)
        previous = self._stored(cal, request.match_info["eid"]).data
        self._check_if_match(request, previous)
        self._check_undelete(previous)
        merged = _deep_merge(self._editable(previous), body)
        return web.json_response(self._replace(cal, previous, merged))

    async def _events_delete(self, request: web.Request) -> web.Response:
        cal = self._calendar(request)
        self._count_write(cal)
        previous = self._stored(cal, request.match_info["eid"]).data
        self._check_if_match(request, previous)
        if previous["status"] == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        self._cancel(cal, previous)
        return web.Response(status=204)

    async def _events_list(self, request: web.Request) -> web.Response:
        """events.list, full or incremental (``syncToken``), paged by an opaque cursor.

        A listing is a snapshot at the calendar's change counter when its first page was
        asked for: events changed later are left to the next incremental sync, whose token
        (on the last page) points at that counter, so all pages together are consistent.
        """
        cal = self._calendar(request)
        q = request.query
        gone = ApiError(410, "fullSyncRequired",
                        "Sync token is no longer valid, a full sync is required.")
        if "syncToken" in q:
            for name in _NOT_WITH_SYNC:
                if name in q:
                    raise _bad(f"Parameter {name} cannot be used with syncToken.")
            # events.list, syncToken: "it is not allowed to set showDeleted to False"
            if q.get("showDeleted") == "false":
                raise _bad("showDeleted=false cannot be used with syncToken.")
            sync = self._untoken("sync", q["syncToken"])
            if sync is None or sync[0] != cal.id or sync[2] != self._sync_epoch:
                raise gone
        if "pageToken" in q:
            cursor = self._untoken("page", q["pageToken"])
            if cursor is None or cursor[0] != cal.id:
                raise _bad("Invalid page token value.")
            _, snapshot, since, epoch, after = cursor
            if since is not None and epoch != self._sync_epoch:
                raise gone
        else:
            snapshot, after = cal.seq, None
            since = sync[1] if "syncToken" in q else None
        try:
            max_results = min(int(q.get("maxResults", 250)), 2500)
        except ValueError:
            raise _bad("Invalid value for: maxResults")
        if max_results < 1:
            raise _bad("Invalid value for: maxResults")
        order_by = q.get("orderBy")
        if order_by not in (None, "startTime", "updated"):
            raise _bad(f"Invalid value for: orderBy {order_by}")
        if order_by == "startTime" and q.get("singleEvents") != "true":
            raise _bad("The requested ordering is not available for the particular query.",
                       "badRequest")
        accept = self._event_filter(cal, request, incremental=since is not None)

        def key(stored: _StoredEvent) -> list[Any]:
            if order_by == "startTime":
                return [_instant(stored.data["start"], cal.time_zone).timestamp(),
                        stored.data["id"]]
            return [stored.seq, stored.data["id"]]

        matched = sorted((s for s in cal.events.values()
                          if s.seq <= snapshot and (since is None or s.seq > since)
                          and accept(s.data)), key=key)
        if after is not None:
            matched = [s for s in matched if key(s) > after]
        if self.page_cap is not None:
            max_results = min(max_results, self.page_cap)
        if self.empty_first_page and "pageToken" not in q:
            max_results = 0  # a page with nothing on it, yet more to come
        page = matched[:max_results]
        body: Json = {
            "kind": "calendar#events", "etag": cal.etag, "summary": cal.summary,
            "description": cal.description, "updated": cal.updated or self._now(),
            "timeZone": cal.time_zone, "accessRole": "owner", "defaultReminders": [],
            "items": [_list_item(s.data) for s in page],
        }
        if len(matched) > max_results or (max_results == 0 and "pageToken" not in q):
            last = key(page[-1]) if page else after
            body["nextPageToken"] = self._token("page", cal.id, snapshot, since,
                                                self._sync_epoch, last)
        else:
            body["nextSyncToken"] = self._token("sync", cal.id, snapshot, self._sync_epoch)
        return web.json_response(body)

    def _event_filter(self, cal: _Calendar, request: web.Request, *,
                      incremental: bool) -> Callable[[Json], bool]:
        """The predicate of events.list's filters (an incremental sync has none)."""
        q = request.query
        if incremental:
            return lambda data: True
        bounds: dict[str, datetime | None] = {}
        for name in ("timeMin", "timeMax", "updatedMin"):
            bounds[name] = _parse_rfc3339(q[name]) if name in q else None
            if name in q and bounds[name] is None:
                raise _bad(f"Bad Request: {name} must be RFC 3339 with a time zone offset.",
                           "badRequest")
        time_min, time_max, updated_min = (bounds["timeMin"], bounds["timeMax"],
                                           bounds["updatedMin"])
        show_deleted = q.get("showDeleted") == "true" or updated_min is not None
        single = q.get("singleEvents") == "true"
        text = q.get("q", "").lower()
        wanted_props = [("private", p) for p in q.getall("privateExtendedProperty", [])]
        wanted_props += [("shared", p) for p in q.getall("sharedExtendedProperty", [])]
        ical_uid = q.get("iCalUID")

        def accept(data: Json) -> bool:
            if data["status"] == "cancelled" and not show_deleted and (
                    single or "recurringEventId" not in data):
                return False
            if ical_uid is not None and data["iCalUID"] != ical_uid:
                return False
            if updated_min and datetime.fromisoformat(data["updated"]) < updated_min:
                return False
            if time_max and _instant(data["start"], cal.time_zone) >= time_max:
                return False
            if (time_min and "recurrence" not in data
                    and _instant(data["end"], cal.time_zone) <= time_min):
                return False
            if text and not any(text in str(data.get(f, "")).lower()
                                for f in ("summary", "description", "location")):
                return False
            props = data.get("extendedProperties", {})
            for scope, pair in wanted_props:
                name, _, value = pair.partition("=")
                if props.get(scope, {}).get(name) != value:
                    return False
            return True

        return accept

    # ------------------------------------------------------------------ push notifications

    async def _events_watch(self, request: web.Request) -> web.StreamResponse:
        """Open a web-hook channel on a calendar's events; a "sync" message follows."""
        cal = self._calendar(request)
        body = await self._body(request)
        channel_id, address = body.get("id"), body.get("address")
        if not channel_id or not isinstance(channel_id, str) or len(channel_id) > 64:
            raise _bad("Channel id is required (at most 64 characters).", "required")
        if body.get("type") not in ("web_hook", "webhook"):
            raise _bad(f"Unsupported channel type: {body.get('type')}")
        # "Push notifications": the receiving URL is an HTTPS server (a valid SSL
        # certificate); the channel token is at most 256 characters
        if not isinstance(address, str) or URL(address).scheme != "https":
            raise _bad(f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps")
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise _bad("Channel token is longer than 256 characters.", "invalid")
        if channel_id in self._channels:
            raise _bad(f"Channel id {channel_id} not unique", "channelIdNotUnique")
        params = body.get("params") or {}
        now_ms = int(self._clock() * 1000)
        try:
            ttl = int(params.get("ttl", DEFAULT_CHANNEL_TTL))
            expiration_ms = now_ms + ttl * 1000
            if body.get("expiration"):
                expiration_ms = min(expiration_ms, int(body["expiration"]))
        except (TypeError, ValueError):
            raise _bad("Invalid ttl or expiration.")
        resource_uri = f"{self.calendar_api_endpoint}calendars/{cal.id}/events?alt=json"
        channel = _Channel(channel_id, cal.owner, cal.id, cal.resource_id, resource_uri,
                           address, body.get("token"), expiration_ms)
        reply: Json = {"kind": "api#channel", "id": channel_id, "resourceId": cal.resource_id,
                       "resourceUri": resource_uri, "expiration": str(expiration_ms)}
        if channel.token is not None:
            reply["token"] = channel.token
        if self.sync_before_reply:  # the "sync" message is out before the answer
            self._channels[channel_id] = channel
            channel.message_number += 1
            await self._deliver(channel, "sync", channel.message_number)
            return web.json_response(reply)
        async with channel.lock:  # deliveries wait until this response is out
            self._channels[channel_id] = channel
            self._schedule(channel, "sync")
            response = web.json_response(reply)
            await response.prepare(request)
            await response.write_eof()
        return response

    async def _channels_stop(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel = self._channels.get(str(body.get("id")))
        if (channel is None or channel.resource_id != body.get("resourceId")
                or channel.owner != request[_EMAIL]):
            raise ApiError(404, "notFound",
                           f"Channel '{body.get('id')}' not found for project 'fake'")
        channel.stopped = True
        del self._channels[channel.id]
        return web.Response(status=204)

    def _live(self, channel: _Channel) -> bool:
        return not channel.stopped and channel.expiration_ms > self._clock() * 1000

    def _notify(self, cal: _Calendar) -> None:
        """An "exists" message to every live channel watching this calendar."""
        for channel in list(self._channels.values()):
            if channel.calendar_id == cal.id and self._live(channel):
                self._schedule(channel, "exists")

    def _schedule(self, channel: _Channel, state: str) -> None:
        """Deliver in the background, in order per channel (its lock is FIFO)."""
        channel.message_number += 1
        number, loop = channel.message_number, self._loop
        if loop is None or loop.is_closed():
            return

        def spawn() -> None:
            task = loop.create_task(self._deliver(channel, state, number))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            spawn()
        else:
            loop.call_soon_threadsafe(spawn)

    async def _deliver(self, channel: _Channel, state: str, number: int) -> None:
        async with channel.lock:
            if not self._live(channel):
                return
            expiration = datetime.fromtimestamp(channel.expiration_ms / 1000, UTC)
            headers = {
                "X-Goog-Channel-ID": channel.id,
                "X-Goog-Channel-Expiration": format_datetime(expiration, usegmt=True),
                "X-Goog-Resource-ID": channel.resource_id,
                "X-Goog-Resource-URI": channel.resource_uri,
                "X-Goog-Resource-State": state,
                "X-Goog-Message-Number": str(number),
            }
            if channel.token is not None:
                headers["X-Goog-Channel-Token"] = channel.token
            record: dict[str, Any] = {"channel_id": channel.id, "state": state,
                                      "message_number": number, "address": channel.address,
                                      "status": None, "error": None}
            self.notifications.append(record)
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                async with self._session.post(self._delivery_address(channel.address),
                                              data=b"",
                                              headers=headers) as response:
                    record["status"] = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
