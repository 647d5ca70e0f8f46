"""What the person does in their calendar app, in the fake Google (the ``user_*``
helpers behave exactly like API changes), and reading the fake's state."""

from __future__ import annotations

import copy
from datetime import UTC, timedelta
from typing import Any

from tests.fakes.google_common import (
    Json,
    _format_dt,
    _instant,
    _parse_rfc3339,
)


class PersonMixin:
    """A part of :class:`tests.fakes.google_calendar.FakeGoogle`."""

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

