"""Google → Kontakt (K-1): what changed in the person's calendar, listed with a sync
token (a full listing after a 410), applied to the activities: field by field, deletions,
events made in the Kontakt calendar, single occurrences of a series. A mixin of
:class:`sync.engine.CalendarSync`; "now" is the engine's (``self._now()``)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from models import Activity, ActivityState, AuditLog, CalendarEvent, CalendarLink, User
from services import activities as acts
from services import calendar as cal
from services.errors import DomainError
from sync import mapping
from sync.google import CalendarClient, GoogleError

if TYPE_CHECKING:
    from sync.engine import CalendarSync as _Base
else:
    _Base = object

log = logging.getLogger("kontakt.sync")


class PullMixin(_Base):
    # --- Google → CRM ---------------------------------------------------------------------
    async def pull(self, link: CalendarLink, client: CalendarClient) -> int:
        started = self._now()
        token = link.sync_token
        full = token is None
        try:
            items, next_token, calls = await asyncio.to_thread(
                client.list_events, link.calendar_id, token)
        except GoogleError as exc:
            if exc.status != 410 or not token:
                raise
            log.info("calendar: user %s: sync token expired, full resync", link.user_id)
            items, next_token, calls = await asyncio.to_thread(
                client.list_events, link.calendar_id, None)
            calls, full = calls + 1, True
        self.list_calls += calls
        applied = 0
        ours = await self._our_etags(link, items)
        for item in items:
            if not item.get("recurringEventId") and item.get("etag") \
                    and ours.get(item["id"]) == item["etag"]:
                continue  # our own write coming back (as _apply would find, row by row)
            if await self._apply(link, item):
                applied += 1
        if full:
            applied += await self._reconcile(link, {item["id"] for item in items})
        await CalendarLink.filter(id=link.id).update(sync_token=next_token,
                                                     last_pull_at=self._now())
        # a notification that came while we pulled asks for another pull
        await CalendarLink.filter(id=link.id, pull_wanted_at__lte=started).update(
            pull_wanted_at=None)
        return applied

    async def _our_etags(self, link: CalendarLink, items: list[dict[str, Any]]
                         ) -> dict[str, str]:
        """The etags our rows hold for the listed events, a query per 500 (issue 19: a
        full listing after connecting is our own 1,000 writes coming back). Only the
        sync, under the person's lock, writes them."""
        ids = [item["id"] for item in items if not item.get("recurringEventId")]
        out: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            out.update(await CalendarEvent.filter(
                user_id=link.user_id, event_id__in=ids[start:start + 500],
                etag__not_isnull=True).values_list("event_id", "etag"))
        return out

    async def _reconcile(self, link: CalendarLink, listed: set[str]) -> int:
        """After a full listing: our events that are not there any more were deleted
        while we were not told (a full listing leaves deleted events out)."""
        missing = await CalendarEvent.filter(
            user_id=link.user_id, in_google=True, calendar_id=link.calendar_id,
            dirty=False).exclude(event_id__in=list(listed)).limit(1000) if listed else \
            await CalendarEvent.filter(user_id=link.user_id, in_google=True,
                                       calendar_id=link.calendar_id, dirty=False).limit(1000)
        count = 0
        for row in missing:
            activity = await Activity.get_or_none(id=row.activity_id) \
                if row.activity_id else None
            if await self._deleted_there(link, row, activity):
                count += 1
        return count

    async def _apply(self, link: CalendarLink, item: dict[str, Any],
                     row: CalendarEvent | None = None) -> bool:
        """One event as the calendar has it now; True if the activity changed."""
        if item.get("recurringEventId"):
            return await self._apply_instance(link, item)
        row = row or await CalendarEvent.get_or_none(user_id=link.user_id,
                                                     event_id=item["id"])
        if row is not None and row.etag and item.get("etag") == row.etag:
            return False  # our own write coming back
        user = await User.get(id=link.user_id)
        cancelled = item.get("status") == "cancelled"
        if row is None:
            origin = None if cancelled else await self._split_from(link, item)
            if origin is not None:  # "this and following": the rest, a series of its own
                kind = {"type": origin.type_id}
                return await self._new_task(link, user, item, {
                    **kind, "client_id": origin.client_id}) or (
                    origin.client_id is not None  # a client not theirs: without it
                    and await self._new_task(link, user, item, kind))
            private = (item.get("extendedProperties") or {}).get("private") or {}
            if cancelled or private.get("kontakt_activity") or not link.calendar_ours:
                return False
            return await self._new_task(link, user, item)
        activity = await Activity.get_or_none(id=row.activity_id) if row.activity_id else None
        if cancelled:
            if not row.wanted or activity is None:
                await row.delete()
                return False
            return await self._deleted_there(link, row, activity)
        if activity is None:
            return False
        theirs = mapping.snapshot(item)
        ours = mapping.snapshot(await self._body(activity, row))
        merged = cal.merge(row.snapshot or theirs, ours, theirs)
        changed = False
        if merged.changes:
            changes = mapping.changes_for(activity, merged.changes)
            try:
                if changes:
                    await acts.do_update_activity(user, activity.id, changes, source="calendar")
                    changed = True
            except DomainError as exc:  # Kontakt's version goes back to the calendar
                await self._audit(user, activity, "cal_refused", str(exc))
        for name, value in merged.overridden.items():
            await self._audit(user, activity, "cal_conflict", f"{name}: {value}")
        fresh = await Activity.get(id=activity.id)
        now_ours = await self._body(fresh, row)
        same = mapping.snapshot(now_ours) == theirs
        await CalendarEvent.filter(id=row.id).update(
            etag=item.get("etag"), snapshot=theirs, synced_at=self._now(),
            **({"body_hash": mapping.body_hash(now_ours)} if same else
               {"body_hash": None, "dirty": True, "next_attempt_at": self._now()}))
        if same and await Activity.filter(id=fresh.id, updated_at=fresh.updated_at).exists():
            # nothing to send back, unless the activity changed since we read it
            await CalendarEvent.filter(id=row.id).update(dirty=False)
        return changed

    async def _audit(self, user: User, activity: Activity, action: str, value: str) -> None:
        await AuditLog.create(user_id=user.id, source="calendar", entity="activity",
                              object_id=activity.id, client_id=activity.client_id,
                              action=action, new_value=value[:500])

    async def _deleted_there(self, link: CalendarLink, row: CalendarEvent,
                             activity: Activity | None) -> bool:
        """Deleted in the person's calendar: one of several assignees is taken off;
        the only one cancels the activity (never deletes it)."""
        await CalendarEvent.filter(id=row.id).update(in_google=False, etag=None)
        if activity is None:
            await row.delete()
            return False
        user = await User.get(id=link.user_id)
        people = await acts.assignee_ids(activity.id)
        try:
            if str(activity.state) not in acts.OPEN:
                await row.delete()  # done: it stays done, by whom it was; the event is gone
                return False
            if len(people) > 1 and user.id in people:
                await acts.do_update_activity(
                    user, activity.id, {"assignees": [p for p in people if p != user.id]},
                    source="calendar")
            else:
                await acts.do_set_state(user, activity.id, ActivityState.CANCELLED,
                                        source="calendar")
        except DomainError as exc:
            await self._audit(user, activity, "cal_refused", str(exc))
            await CalendarEvent.filter(id=row.id).update(dirty=True, next_attempt_at=self._now())
            return False
        await CalendarEvent.filter(id=row.id, wanted=False).delete()
        return True

    async def _split_from(self, link: CalendarLink, item: dict[str, Any]) -> Activity | None:
        """The series of ours a new repeating event was split from ("this and following"
        in Google's apps makes a new series with the rest: its id is the original's with
        ``_R`` and the date, and it carries the original's private properties)."""
        if not item.get("recurrence"):
            return None
        found = None
        if "_R" in item["id"]:
            found = await CalendarEvent.get_or_none(user_id=link.user_id,
                                                    event_id=item["id"].split("_R", 1)[0])
        private = (item.get("extendedProperties") or {}).get("private") or {}
        copied = str(private.get("kontakt_activity") or "")
        if found is None and copied.isdigit() and private.get("kontakt_user") == str(
                link.user_id):
            found = await CalendarEvent.filter(user_id=link.user_id,
                                               activity_id=int(copied)).first()
        if found is None or found.activity_id is None or found.event_id == item["id"]:
            return None
        origin = await Activity.get_or_none(id=found.activity_id)
        return origin if origin is not None and origin.rrule else None

    async def _new_task(self, link: CalendarLink, user: User, item: dict[str, Any],
                        extra: dict[str, Any] | None = None) -> bool:
        data = mapping.new_activity_from(item, user.timezone)
        if data is None:
            return False
        data.update(extra or {})
        skipped = data.pop("_exdates", None)
        try:
            async with in_transaction():
                made = await acts.do_create_activity(user, {**data, "assignees": [user.id]},
                                                     source="calendar")
                if skipped:  # the dates left out in the calendar stay left out
                    await Activity.filter(id=made.activity.id).update(exdates=skipped)
                # the row follow_activity made takes the calendar's id: the event exists
                await CalendarEvent.filter(activity_id=made.activity.id,
                                           user_id=user.id).update(
                    event_id=item["id"], in_google=True, calendar_id=link.calendar_id,
                    etag=item.get("etag"), snapshot=mapping.snapshot(item), dirty=True,
                    next_attempt_at=self._now())
        except DomainError as exc:
            log.info("calendar: event %s not taken as a task: %s", item.get("id"), exc)
            return False
        return True

    async def _apply_instance(self, link: CalendarLink, item: dict[str, Any]) -> bool:
        """One occurrence of a repeating event changed or deleted in the calendar:
        deleted → left out of the series; changed (moved, renamed...) → an activity of its
        own with the calendar's values, and the calendar's changed instance gives way to
        that activity's own event. ("This and following" is a new series and an end on
        the original: see ``_split_from`` and the snapshot's ``repeat_end``.)"""
        master = await CalendarEvent.get_or_none(user_id=link.user_id,
                                                 event_id=item["recurringEventId"])
        if master is None or master.activity_id is None or not item.get("originalStartTime"):
            return False
        series = await Activity.get_or_none(id=master.activity_id)
        if series is None:
            return False
        when = mapping.when_of(item.get("originalStartTime"))
        if not when:
            return False
        # an all-day series' occurrence is a date: local midnight in the series' zone
        original = mapping.to_datetime(when, series.timezone)
        user = await User.get(id=link.user_id)
        try:
            if item.get("status") == "cancelled":
                await acts.do_skip_occurrence(user, series.id, original, source="calendar")
                return True
            theirs = mapping.snapshot(item)
            if not theirs["start"]:
                return False
            new_start = mapping.to_datetime(theirs["start"], series.timezone)
            moved = (await acts.do_move_occurrence(user, series.id, original, new_start,
                                                   source="calendar")).activity
            base = mapping.snapshot(await self._body(series, master))
            fields = {k: theirs[k] for k in ("title", "location", "goal", "end")
                      if theirs[k] != base.get(k)}
            changes = mapping.changes_for(moved, fields)
            changes.pop("starts_at", None)  # mutation: equivalent — no start in fields: none here
            if changes:
                await acts.do_update_activity(user, moved.id, changes, source="calendar")
            client = await self._client(link)
            await asyncio.to_thread(client.delete, link.calendar_id, item["id"])
        except DomainError as exc:
            log.info("calendar: instance %s not applied: %s", item.get("id"), exc)
            return False
        return True

