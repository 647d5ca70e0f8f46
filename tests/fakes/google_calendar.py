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
helpers) behave exactly like API changes. Its parts: google_common (errors, state, time
helpers), google_oauth (accounts, OAuth), google_person (the ``user_*`` helpers),
google_list (events.list), google_push (channels and notifications).

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
* Batch requests (``POST /batch/calendar/v3``, at most ``batch_limit`` = 50 parts): see
  tests/fakes/google_batch.py.
* Not implemented: ``fields`` partial responses, ``timeZone`` of the response,
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
import copy
import itertools
import json
import re
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.google_batch import BATCH_LIMIT, BATCH_PATH, BatchMixin
from tests.fakes.google_common import (
    _AUTH_MESSAGE,
    _EMAIL,
    API_PREFIX,
    ApiError,
    Json,
    _AccessToken,
    _auth_error,
    _AuthCode,
    _bad,
    _Calendar,
    _Channel,
    _event_time,
    _Fault,
    _Grant,
    _not_found,
    _random_id,
    _StoredEvent,
    _zone,
)
from tests.fakes.google_list import ListMixin
from tests.fakes.google_oauth import OAuthMixin
from tests.fakes.google_person import PersonMixin
from tests.fakes.google_push import PushMixin

_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
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


class FakeGoogle(OAuthMixin, PersonMixin, ListMixin, PushMixin, BatchMixin):
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
        #: batch requests: at most this many parts each; the parts of each one received
        self.batch_limit = BATCH_LIMIT
        self.batch_calls: list[int] = []
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
        app.router.add_post(BATCH_PATH, self._batch)

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

