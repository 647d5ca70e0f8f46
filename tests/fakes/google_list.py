"""events.list in the fake Google: full and incremental (sync token) listings, paged."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.google_common import (
    ApiError,
    Json,
    _bad,
    _Calendar,
    _instant,
    _parse_rfc3339,
    _StoredEvent,
)

#: events.list parameters Google refuses together with ``syncToken``.
_NOT_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                  "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")



def _list_item(data: Json) -> Json:
    """An event as events.list shows it. The Event resource's ``status``: "Deleted events
    are only guaranteed to have the id field populated"; "Cancelled exceptions are only
    guaranteed to have values for the id, recurringEventId and originalStartTime fields"
    (the status says which it is)."""
    if data["status"] != "cancelled":
        return copy.deepcopy(data)
    keep = ("kind", "id", "status", "recurringEventId", "originalStartTime")
    return {key: copy.deepcopy(data[key]) for key in keep if key in data}



class ListMixin:
    """A part of :class:`tests.fakes.google_calendar.FakeGoogle`."""

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

