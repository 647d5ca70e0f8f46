"""One person's Google Calendar over google-api-python-client (gcsa for the calendar
itself and the event mapping). Every call here blocks: the engine runs them with
``asyncio.to_thread``. The API address, token and consent URLs come from the settings,
so the tests' fake Google is reached with ``client_options={"api_endpoint": ...}``.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from gcsa.calendar import Calendar
from gcsa.google_calendar import GoogleCalendar
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest

log = logging.getLogger(__name__)
SCOPE = "https://www.googleapis.com/auth/calendar"
TIMEOUT_S = 20
OUR_CALENDAR = "Kontakt CRM: activities of yours (made by Kontakt)"


@dataclass(frozen=True)
class GoogleConfig:
    client_id: str = ""
    client_secret: str = ""
    auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"
    revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    api_endpoint: str | None = None  # None: Google's

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @classmethod
    def from_settings(cls, settings: Any) -> GoogleConfig:
        secret = settings.google_client_secret
        return cls(client_id=settings.google_client_id or "",
                   client_secret=secret.get_secret_value() if secret else "",
                   auth_uri=settings.google_auth_uri, token_uri=settings.google_token_uri,
                   revoke_uri=settings.google_revoke_uri,
                   api_endpoint=settings.google_api_endpoint)

    def consent_url(self, redirect_uri: str, state: str, login_hint: str | None = None) -> str:
        query = {"client_id": self.client_id, "redirect_uri": redirect_uri,
                 "response_type": "code", "scope": SCOPE, "access_type": "offline",
                 "prompt": "consent", "include_granted_scopes": "true", "state": state}
        if login_hint:
            query["login_hint"] = login_hint
        return f"{self.auth_uri}?{urllib.parse.urlencode(query)}"


class GoogleError(Exception):
    """A refused call: ``status`` (0: unreachable), Google's ``reason``, Retry-After."""

    def __init__(self, status: int, reason: str, message: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status} {reason}: {message}".strip())
        self.status, self.reason, self.retry_after = status, reason, retry_after

    @property
    def limited(self) -> bool:
        """A usage limit ("Handle API errors": 403 usageLimits reasons, 429): wait and
        try again, never a refusal of that request."""
        return self.status == 429 or (self.status == 403 and self.reason in LIMIT_REASONS)

    @property
    def temporary(self) -> bool:
        return self.status in (0, 408, 429, 500, 502, 503, 504) or self.limited


LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded",
                           "dailyLimitExceeded"})


class AccessRevoked(Exception):
    """The refresh token no longer works: the person has to connect again."""


class TokenEndpointError(GoogleError):
    """Google's token endpoint refused or failed for a reason other than the grant
    being gone (``invalid_client``: a rotated client secret; a 5xx; an HTML error page;
    a timeout): the service is unwell, not the person's access. ``error`` is the OAuth
    error code when there was one (RFC 6749 5.2)."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(503, "token_endpoint", f"{error}: {message}".strip(": "))
        self.error = error


def _refresh_error(exc: google.auth.exceptions.RefreshError) -> Exception:
    """Only ``invalid_grant`` (RFC 6749 5.2: the refresh token is invalid, expired or
    revoked) means the person's access is gone; anything else is the endpoint's."""
    data = exc.args[1] if len(exc.args) > 1 else None
    error = str(data.get("error") or "") if isinstance(data, dict) else ""
    if error == "invalid_grant":
        return AccessRevoked(str(exc)[:200])
    return TokenEndpointError(error or "unreadable_answer", str(exc)[:200])


def _error(exc: HttpError) -> GoogleError:
    reason, message = "", ""
    try:
        data = json.loads(exc.content.decode() if isinstance(exc.content, bytes)
                          else exc.content)
        err = data.get("error", {})
        message = err.get("message", "")
        if err.get("errors"):
            reason = err["errors"][0].get("reason", "")
    except (ValueError, AttributeError):
        message = str(exc)[:200]
    retry = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        retry_after = float(retry) if retry else None
    except ValueError:
        retry_after = None
    return GoogleError(int(exc.resp.status), reason, message, retry_after)


def exchange_code(cfg: GoogleConfig, code: str, redirect_uri: str) -> dict[str, Any]:
    """The consent's code for tokens (the authorization_code grant, RFC 6749 4.1.3)."""
    data = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": cfg.client_id, "client_secret": cfg.client_secret}).encode()
    req = urllib.request.Request(cfg.token_uri, data=data, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 (config)
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error", "")
        except ValueError:
            detail = ""
        raise GoogleError(exc.code, str(detail) or "token_refused") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise GoogleError(0, "unreachable", str(exc)) from None


def revoke(cfg: GoogleConfig, token: str) -> None:
    """Best effort: Google forgets the grant (on disconnect)."""
    req = urllib.request.Request(
        cfg.revoke_uri, data=urllib.parse.urlencode({"token": token}).encode(),
        method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(req, timeout=TIMEOUT_S).close()  # noqa: S310
    except (urllib.error.URLError, TimeoutError) as exc:
        log.info("calendar: revoking the token failed: %s", exc)


def oauth_credentials(cfg: GoogleConfig, refresh_token: str) -> Credentials:
    return Credentials(token=None, refresh_token=refresh_token, token_uri=cfg.token_uri,
                       client_id=cfg.client_id, client_secret=cfg.client_secret,
                       scopes=[SCOPE])


def service_credentials(key: dict[str, Any], subject: str) -> service_account.Credentials:
    """Google Workspace: the company's service account acting as the person."""
    return service_account.Credentials.from_service_account_info(
        key, scopes=[SCOPE], subject=subject)


BATCH_LIMIT = 50  # calls in one batch request: the Calendar guide's limit (see README)
_ABSENT: Any = object()


@dataclass(frozen=True)
class Call:
    """One Calendar API call, made alone or in a batch: which method with which
    arguments, its headers, and the refusals that are an answer rather than an error
    (``absent`` is returned for a status in ``absent_for``: a get of a missing event is
    None, a delete of a gone one done). ``found`` is returned instead of the result
    when given."""

    resource: str
    method: str
    kwargs: dict[str, Any]
    headers: dict[str, str] | None = None
    absent_for: frozenset[int] = frozenset()
    absent: Any = None
    found: Any = _ABSENT

    def outcome(self, result: Any = None, error: GoogleError | None = None) -> Any:
        if error is not None:
            if error.status in self.absent_for:
                return self.absent
            raise error
        return result if self.found is _ABSENT else self.found


def insert_call(calendar_id: str, body: dict[str, Any]) -> Call:
    return Call("events", "insert", {"calendarId": calendar_id, "body": body})


def get_call(calendar_id: str, event_id: str) -> Call:
    return Call("events", "get", {"calendarId": calendar_id, "eventId": event_id},
                absent_for=frozenset({404}))


def update_call(calendar_id: str, event_id: str, body: dict[str, Any],
                etag: str | None) -> Call:
    """events.patch with only the fields Kontakt owns, so guests, conference links,
    colours and attachments the person added stay; If-Match when we know the etag."""
    fields = {k: v for k, v in body.items() if k != "id"}
    for key in ("start", "end"):
        # a patch merges with what Google holds: ``date`` next to a stored ``dateTime``
        # is 400 "Invalid start time"; switching timed <-> all-day clears the other
        part = fields.get(key)
        if isinstance(part, dict):
            fields[key] = {**part, "dateTime" if "date" in part else "date": None}
    return Call("events", "patch", {"calendarId": calendar_id, "eventId": event_id,
                                    "body": fields},
                headers={"If-Match": etag} if etag else None)


def delete_call(calendar_id: str, event_id: str, etag: str | None = None) -> Call:
    return Call("events", "delete", {"calendarId": calendar_id, "eventId": event_id},
                headers={"If-Match": etag} if etag else None,
                absent_for=frozenset({404, 410}))  # gone already


def calendar_exists_call(calendar_id: str) -> Call:
    return Call("calendars", "get", {"calendarId": calendar_id},
                absent_for=frozenset({404}), absent=False, found=True)


class CalendarClient:
    """The calls the sync makes, each translating Google's errors to
    :class:`GoogleError` and a dead refresh token to :class:`AccessRevoked`."""

    def __init__(self, cfg: GoogleConfig, credentials: Any) -> None:
        self.cfg = cfg
        self.credentials = credentials
        self.gc = GoogleCalendar(credentials=credentials)  # builds offline, no call yet
        http = self._http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=TIMEOUT_S))
        self._token_request = google_auth_httplib2.Request(http.http)
        options = {"api_endpoint": cfg.api_endpoint} if cfg.api_endpoint else None
        # gcsa builds for Google's address; the same service, pointed where configured
        self.gc.service = self.service = discovery.build(
            "calendar", "v3", http=http, client_options=options, static_discovery=True,
            cache_discovery=False)
        self.events = self.service.events()  # made once: each call builds its methods
        # the discovery document's rootUrl + batchPath; googleapiclient's own
        # new_batch_http_request ignores api_endpoint, so it is put together here
        root = urllib.parse.urljoin(cfg.api_endpoint, "/") if cfg.api_endpoint \
            else "https://www.googleapis.com/"
        self.batch_uri = root + "batch/calendar/v3"

    def _run(self, request: Any, headers: dict[str, str] | None = None) -> Any:
        if headers:
            request.headers.update(headers)
        return self._gcsa(request.execute, num_retries=0)

    def _fresh_token(self) -> None:
        """The access token is asked for on its own, before the call: so the token
        endpoint's trouble (a timeout too) is told apart from the API's."""
        if self.credentials.valid:
            return
        try:
            self.credentials.refresh(self._token_request)
        except google.auth.exceptions.RefreshError as exc:
            raise _refresh_error(exc) from None
        except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error, OSError,
                TimeoutError) as exc:
            raise TokenEndpointError("unreachable", str(exc)[:200]) from None

    def _gcsa(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._fresh_token()
        try:
            return fn(*args, **kwargs)
        except HttpError as exc:
            raise _error(exc) from None
        except google.auth.exceptions.RefreshError as exc:
            raise _refresh_error(exc) from None
        except google.auth.exceptions.TransportError as exc:
            raise GoogleError(0, "unreachable", str(exc)[:200]) from None
        except (httplib2.HttpLib2Error, OSError, TimeoutError) as exc:
            raise GoogleError(0, "unreachable", str(exc)[:200]) from None

    # calendars
    def account(self) -> str:
        return self._run(self.service.calendars().get(calendarId="primary"))["id"]

    def create_calendar(self, name: str, timezone: str) -> str:
        """The person's "Kontakt" calendar: the one made earlier (kept on a disconnect that
        left the events) is taken again instead of making a second."""
        for entry in self.calendars():
            if entry["summary"] == name and entry.get("description") == OUR_CALENDAR \
                    and entry.get("role") == "owner":
                return entry["id"]
        made = self._gcsa(self.gc.add_calendar, Calendar(name, timezone=timezone,
                                                         description=OUR_CALENDAR))
        return made.calendar_id

    def calendars(self) -> list[dict[str, Any]]:
        out, token = [], None
        while True:
            page = self._run(self.service.calendarList().list(pageToken=token))
            out += [{"id": c["id"], "summary": c.get("summary", c["id"]),
                     "primary": bool(c.get("primary")), "role": c.get("accessRole"),
                     "description": c.get("description")}
                    for c in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return out

    # events: each call is a :class:`Call`, made alone here or in a batch (:meth:`batch`)
    def call(self, call: Call) -> Any:
        try:
            result = self._run(self._request(call), call.headers)
        except GoogleError as exc:
            return call.outcome(error=exc)
        return call.outcome(result)

    def insert(self, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call(insert_call(calendar_id, body))

    def get(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        return self.call(get_call(calendar_id, event_id))

    def update(self, calendar_id: str, event_id: str, body: dict[str, Any],
               etag: str | None) -> dict[str, Any]:
        """events.patch with only the fields Kontakt owns (see :func:`update_call`)."""
        return self.call(update_call(calendar_id, event_id, body, etag))

    def calendar_exists(self, calendar_id: str) -> bool:
        return self.call(calendar_exists_call(calendar_id))

    def delete(self, calendar_id: str, event_id: str, etag: str | None = None) -> None:
        self.call(delete_call(calendar_id, event_id, etag))

    def _request(self, call: Call) -> Any:
        resource = self.events if call.resource == "events" else self.service.calendars()
        return getattr(resource, call.method)(**call.kwargs)

    def batch(self, calls: list[Call]) -> list[Any]:
        """Up to :data:`BATCH_LIMIT` calls in one HTTP request to Google's batch endpoint
        (``BatchHttpRequest``). Returns, in order, each call's outcome as :meth:`call`
        would return it, or the :class:`GoogleError` it would raise (a part refused on
        its own: 404, 409, 412, a usage limit...). The batch refused or unreadable as a
        whole raises, as a single call would."""
        if len(calls) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} calls in a batch, not {len(calls)}")
        out: list[Any] = [None] * len(calls)

        def done(request_id: str, response: Any, exc: HttpError | None) -> None:
            index = int(request_id)
            try:
                out[index] = calls[index].outcome(
                    response, _error(exc) if exc is not None else None)
            except GoogleError as error:
                out[index] = error

        batch = BatchHttpRequest(callback=done, batch_uri=self.batch_uri)
        for index, call in enumerate(calls):
            request = self._request(call)
            if call.headers:
                request.headers.update(call.headers)
            batch.add(request, request_id=str(index))

        def execute() -> None:
            try:
                batch.execute(http=self._http)
            except BatchError as exc:  # a response not in Google's batch format
                raise GoogleError(502, "badBatch", str(exc)[:200]) from None
            except KeyError as exc:  # a part without its answer
                raise GoogleError(502, "badBatch", f"no answer for part {exc}") from None

        self._gcsa(execute)
        return out

    def list_events(self, calendar_id: str, sync_token: str | None
                    ) -> tuple[list[dict[str, Any]], str | None, int]:
        """Every event (a full sync) or what changed since ``sync_token``, all pages;
        returns the items, the next sync token and how many list calls it took. A sync
        token Google no longer knows raises GoogleError(410)."""
        items: list[dict[str, Any]] = []
        page_token, calls = None, 0
        while True:
            args: dict[str, Any] = {"calendarId": calendar_id, "maxResults": 2500,
                                    "pageToken": page_token}
            if sync_token:
                args["syncToken"] = sync_token
            else:
                args["showDeleted"] = False
            page = self._run(self.events.list(**args))
            calls += 1
            items += page.get("items", [])
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, page.get("nextSyncToken"), calls

    def watch(self, calendar_id: str, channel_id: str, token: str, address: str,
              ttl_s: int) -> dict[str, Any]:
        return self._run(self.events.watch(calendarId=calendar_id, body={
            "id": channel_id, "type": "web_hook", "address": address, "token": token,
            "params": {"ttl": str(ttl_s)}}))

    def stop(self, channel_id: str, resource_id: str) -> None:
        try:
            self._run(self.service.channels().stop(body={"id": channel_id,
                                                         "resourceId": resource_id}))
        except GoogleError as exc:
            if exc.status != 404:
                raise
