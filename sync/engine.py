"""Two-way Google Calendar sync (K-1).

One worker per person at a time: a round takes the person's lock (a conditional UPDATE
of ``calendar_link.locked_until``, so two replicas never sync one calendar at once),
then

1. pushes the person's marked events (``calendar_event.dirty``: the outbox, marked in
   the transaction of the activity's change, so a crash between the commit and the push
   loses nothing): insert with our own id (a retried insert is a 409, never a second
   event), update with ``If-Match`` (a 412 means the calendar changed it meanwhile:
   its changes are merged field by field first), delete;
2. pulls what changed in the calendar (``syncToken``; a 410 means a full resync, which
   matches events by their ids and makes no duplicates) when a push notification came,
   or every ``poll_s`` as the fallback;
3. renews the push channel before it runs out.

Our own writes coming back are recognised by their etag. A refresh token that stopped
working (``invalid_grant``) pauses the person's sync and tells them; their marked rows
wait for the reconnect; any other trouble at the token endpoint pauses nobody and tells
the administrators once. Usage limits stop the person's round and back off with jitter;
writes are paced (``sync/pacing.py``); a backlog goes in Google's batch requests
(``sync/batching.py``). Google's calls block, so they run in a thread.
The pull is :mod:`sync.pull`; connecting, channels and disconnecting :mod:`sync.connect`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from models import (
    Activity,
    ActivityAssignee,
    CalendarEvent,
    CalendarLink,
    Client,
    CompanyGoogle,
    LinkState,
    User,
)
from notifications.claimloop import ClaimLoop
from services import calendar as cal
from services.clock import utcnow
from services.crypto import SecretUnreadable, decrypt
from sync import mapping, pacing
from sync.batching import Batcher, Direct, RoundStopped
from sync.connect import CHANNEL_TTL_S, ConnectFailed, ConnectMixin  # noqa: F401 (re-exported)
from sync.google import (
    AccessRevoked,
    CalendarClient,
    GoogleConfig,
    GoogleError,
    TokenEndpointError,
    oauth_credentials,
    service_credentials,
)
from sync.pull import PullMixin

log = logging.getLogger("kontakt.sync")
LEASE = timedelta(minutes=2)
RENEW_BEFORE = timedelta(days=1)
PUSH_BATCH = 500  # mutation: equivalent — push loops until no row is due: any size sends all
POOL = 4  # connections per person while a backlog is pushed: batch requests at once
BATCH_FROM = 2 * POOL  # rows from which a push goes in batch requests (sync/batching.py)
CONFLICT_TRIES = 2  # 412s of one row in one push before it backs off
_RECORDED = ("in_google", "calendar_id", "etag", "snapshot", "body_hash", "attempts",
             "last_error", "synced_at")  # what a push writes back to the row


@dataclass
class _Batch:
    """What a batch of outbox rows needs, read in three queries instead of per row."""

    activities: dict[int, Activity]
    people: dict[int, list[int]]
    clients: dict[int, str]
    done: set[int] = field(default_factory=set)
    #: the batch path: rows written to Google, recorded together (see CalendarSync._record)
    later: list[CalendarEvent] | None = None

    @classmethod
    async def load(cls, rows: list[CalendarEvent]) -> _Batch:
        ids = {r.activity_id for r in rows if r.activity_id}
        activities = {a.id: a for a in await Activity.filter(id__in=list(ids))}
        people: dict[int, list[int]] = {}
        for aid, uid in await ActivityAssignee.filter(activity_id__in=list(ids)).order_by(
                "id").values_list("activity_id", "user_id"):
            people.setdefault(aid, []).append(uid)
        client_ids = {a.client_id for a in activities.values() if a.client_id}
        clients = dict(await Client.filter(id__in=list(client_ids)).values_list("id", "name"))
        return cls(activities, people, clients)


class CalendarGone(Exception):
    """The person's calendar is not there any more."""


Api = Direct | Batcher  # how the push reaches Google
Notify = Callable[[int, str], Awaitable[None]]  # (user id, "paused" | "connected" ...)
Alert = Callable[[str, str], Awaitable[None]]  # to the administrators: (what, detail)


class CalendarSync(PullMixin, ConnectMixin, ClaimLoop):
    """The sync worker. Its life cycle (start, graceful stop, poke, rounds until nothing
    is due, then a wait) is the claim loop's; a round here is per person, under their
    lock, rather than a claim of rows, and the wait is a short tick (the services that
    mark events cannot poke it)."""

    name = "calendar-sync"

    def __init__(self, cfg: GoogleConfig, *, secret: str, base_url: str, retry_s: float = 30.0,
                 webhook_url: str | None = None, poll_s: float = 300.0,
                 notify: Notify | None = None, alert: Alert | None = None,
                 replica: str | None = None,
                 tick_s: float = 0.5, write_rate: float = pacing.WRITE_RATE,
                 write_burst: int = pacing.WRITE_BURST) -> None:
        super().__init__(replica=replica, batch=PUSH_BATCH)
        self.cfg, self.secret, self.base_url = cfg, secret, base_url.rstrip("/")
        if webhook_url and not webhook_url.startswith("https://"):
            # "Push notifications": Google delivers only to HTTPS; polling it is
            log.warning("calendar: %s is not https: no push notifications", webhook_url)
            webhook_url = None
        self.webhook_url = webhook_url
        self.poll_s, self.tick_s, self.retry_s = poll_s, tick_s, retry_s
        self.notify, self.alert = notify, alert
        self._token_trouble: set[int] = set()  # people whose token Google fails to give
        self._clients: dict[int, tuple[str, CalendarClient]] = {}
        self._pools: dict[int, list[CalendarClient]] = {}
        self.list_calls = 0  # for the benchmark: events.list calls made
        self.batch_calls = 0  # for the benchmark and tests: batch requests sent
        self.write_rate, self.write_burst = write_rate, write_burst
        self._pacers: dict[int, pacing.Pacer] = {}  # per person: writes to their calendar
        self._limited: dict[int, int] = {}  # per person: usage limits in a row
        self._conflicts: dict[int, int] = {}  # per row: 412s in the current push

    def _now(self) -> datetime:
        return utcnow()  # the module's: the tests pin it here

    def can_run(self) -> bool:
        return self.cfg.enabled

    async def seconds_to_next(self) -> float:
        return self.tick_s

    # --- a round --------------------------------------------------------------------------
    async def due_links(self, now: datetime) -> list[CalendarLink]:
        dirty = await CalendarEvent.filter(dirty=True, next_attempt_at__lte=now).distinct(
        ).values_list("user_id", flat=True)
        stale = now - timedelta(seconds=self.poll_s)
        return await CalendarLink.filter(
            Q(user_id__in=list(dirty)) | Q(pull_wanted_at__not_isnull=True)
            | Q(last_pull_at__isnull=True) | Q(last_pull_at__lt=stale)
            | Q(state=LinkState.REMOVING)
            | Q(channel_expires_at__lt=now + RENEW_BEFORE),
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            state__in=[LinkState.ACTIVE, LinkState.REMOVING]).limit(50)

    async def run_once(self) -> int:
        """Every due person once; returns how many were worked on."""
        if not self.cfg.enabled:
            return 0
        done = 0
        for link in await self.due_links(utcnow()):
            if await self._lock(link.id):
                beat = asyncio.create_task(self._heartbeat(link.id))
                try:
                    await self.sync_person(link.id)
                    done += 1
                except Exception as exc:  # one person's trouble never stops the others
                    log.exception("calendar: syncing user %s failed", link.user_id)
                    await CalendarLink.filter(id=link.id).update(
                        last_error=f"{type(exc).__name__}: {exc}"[:500],
                        next_attempt_at=utcnow() + timedelta(seconds=10 * self.retry_s))
                finally:
                    beat.cancel()
                    await self._unlock(link.id)
        return done

    async def _heartbeat(self, link_id: int) -> None:
        """The person's lock is renewed while their round runs, however long."""
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            await self._renew(link_id)

    async def _lock(self, link_id: int) -> bool:
        now = utcnow()
        got = await CalendarLink.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now), id=link_id).update(
            locked_by=self.replica, locked_until=now + LEASE)
        return bool(got)

    async def _renew(self, link_id: int) -> None:
        await CalendarLink.filter(id=link_id, locked_by=self.replica).update(
            locked_until=utcnow() + LEASE)

    async def _unlock(self, link_id: int) -> None:
        await CalendarLink.filter(id=link_id, locked_by=self.replica).update(
            locked_by=None, locked_until=None)

    async def sync_person(self, link_id: int) -> None:
        link = await CalendarLink.get(id=link_id)
        owner = await User.get_or_none(id=link.user_id)
        if link.state != LinkState.REMOVING and (owner is None or not owner.is_active):
            # dismissed: the company's events leave their calendar, their edits stop counting
            if owner is not None:
                await cal.do_disconnect(owner, remove_events=True)
            link = await CalendarLink.get(id=link_id)
        try:
            client = await self._client(link)
            if link.state == LinkState.REMOVING:
                await self._finish_disconnect(link, client)
                return
            await self.push(link, client)
            now = utcnow()
            if (link.pull_wanted_at is not None or link.last_pull_at is None
                    or link.last_pull_at < now - timedelta(seconds=self.poll_s)):
                await self.pull(link, client)
            if self.webhook_url and (link.channel_expires_at is None
                                     or link.channel_expires_at < now + RENEW_BEFORE):
                await self._watch(link, client)
            self._limited.pop(link.user_id, None)
            self._token_trouble.discard(link.user_id)
            if link.last_error:
                await CalendarLink.filter(id=link.id).update(last_error=None,
                                                             next_attempt_at=None)
        except CalendarGone:
            # the calendar itself was deleted (or shared no more): that is not the
            # person deleting each event; pause and ask them to choose or reconnect
            if await cal.do_pause(link.id, "calendar gone: it was deleted or is no longer "
                                           "writable"):
                self._clients.pop(link.user_id, None)
                if self.notify:
                    await self._tell(link.user_id, "gone")
        except AccessRevoked as exc:
            if link.state == LinkState.REMOVING:
                await self._forget(link)
                return
            if await cal.do_pause(link.id, f"access revoked: {exc}"[:300]):
                log.info("calendar: access revoked for user %s; sync paused", link.user_id)
                self._clients.pop(link.user_id, None)
                if self.notify:
                    await self._tell(link.user_id, "paused")
        except GoogleError as exc:
            if exc.limited:  # stop, and wait longer each time, jittered
                times = self._limited[link.user_id] = self._limited.get(link.user_id, 0) + 1
                delay = pacing.limit_backoff(times, self.retry_s, exc.retry_after)
            else:
                delay = exc.retry_after or (self.retry_s if exc.temporary
                                            else 10 * self.retry_s)
            await CalendarLink.filter(id=link.id).update(
                last_error=str(exc)[:500], next_attempt_at=utcnow() + timedelta(seconds=delay))
            log.info("calendar: user %s: %s; again in %ss", link.user_id, exc, delay)
            if isinstance(exc, TokenEndpointError):
                await self._token_endpoint_unwell(link.user_id, exc)

    async def _token_endpoint_unwell(self, user_id: int, exc: TokenEndpointError) -> None:
        """Nobody is paused; the administrators are told once when it starts (not each
        round, not per person), and again only after it was well in between."""
        first = not self._token_trouble
        self._token_trouble.add(user_id)
        if first and self.alert:
            try:
                await self.alert("token_endpoint", exc.error)
            except Exception:  # telling is best effort
                log.warning("calendar: telling the administrators failed", exc_info=True)

    async def _tell(self, user_id: int, what: str) -> None:
        try:
            await self.notify(user_id, what)  # type: ignore[misc]
        except Exception:  # telling is best effort; the state is in the database
            log.warning("calendar: telling user %s failed", user_id, exc_info=True)

    async def _client(self, link: CalendarLink) -> CalendarClient:
        version = f"{link.mode}:{link.token or ''}:{link.account}"
        cached = self._clients.get(link.user_id)
        if cached and cached[0] == version:
            return cached[1]
        if link.mode == "service":
            company = await CompanyGoogle.first()
            if company is None or not link.account:
                raise AccessRevoked("no company service account")
            try:
                key = json.loads(decrypt(self.secret, company.key, purpose="google-key"))
            except SecretUnreadable as exc:
                raise AccessRevoked(f"the service account key cannot be read: {exc}") from None
            creds = service_credentials(key, link.account)
        else:
            if not link.token:
                raise AccessRevoked("no token")
            try:
                refresh = decrypt(self.secret, link.token)
            except SecretUnreadable:
                raise AccessRevoked("the stored token cannot be read (was the secret key "
                                    "changed?)") from None
            creds = oauth_credentials(self.cfg, refresh)
        client = await asyncio.to_thread(CalendarClient, self.cfg, creds)
        self._clients[link.user_id] = (version, client)
        return client

    # --- CRM → Google ---------------------------------------------------------------------
    async def push(self, link: CalendarLink, client: CalendarClient) -> int:
        pushed = 0
        self._conflicts = {}
        while True:
            rows = await CalendarEvent.filter(
                user_id=link.user_id, dirty=True, next_attempt_at__lte=utcnow()
            ).order_by("id").limit(PUSH_BATCH)
            if not rows:
                return pushed
            # taken off the outbox first: a change made while we push marks a row again
            await CalendarEvent.filter(id__in=[r.id for r in rows]).update(dirty=False)
            batch = await _Batch.load(rows)
            try:
                if len(rows) < BATCH_FROM:
                    await self._push_rows(link, Direct(client), rows, batch)
                else:  # a backlog (a connect): Google's batch requests, several at once
                    batch.later = []
                    batcher = Batcher(await self._pool(link, client))
                    results = await batcher.gather(
                        [self._push_row(link, batcher, row, batch) for row in rows])
                    self.batch_calls += batcher.batches
                    failed = [r for r in results if isinstance(r, BaseException)]
                    if first := next((r for r in failed if not isinstance(r, RoundStopped)),
                                     failed[0] if failed else None):
                        raise first
            finally:
                await self._record(batch)
                # rows a stopped round did not reach go back on the outbox
                left = [r.id for r in rows if r.id not in batch.done]
                if left:
                    await CalendarEvent.filter(id__in=left).update(dirty=True)
            pushed += len(rows)
            await self._renew(link.id)

    async def _record(self, batch: _Batch) -> None:
        """The batch path's written rows, in one executemany instead of an UPDATE built
        for each (issue 19). Should it fail, the rows go back on the outbox: sent again,
        Google's 409 or 412 says they are there, and nothing is doubled."""
        if not batch.later:
            return
        meta = CalendarEvent._meta
        db = meta.db
        mark = (lambda i: f"${i}") if db.capabilities.dialect == "postgres" else (lambda _i: "?")
        sets = ", ".join(f'"{meta.fields_db_projection[name]}" = {mark(i)}'
                         for i, name in enumerate(_RECORDED, 1))
        # one statement run for every row (executemany, one transaction): tortoise's
        # bulk_update builds a CASE per column and cost more than the rows' own UPDATEs
        sql = f'UPDATE "{meta.db_table}" SET {sets} WHERE "id" = {mark(len(_RECORDED) + 1)}'
        values = [[meta.fields_map[name].to_db_value(getattr(row, name), row)
                   for name in _RECORDED] + [row.id] for row in batch.later]
        try:
            await db.execute_many(sql, values)
        except Exception:
            log.exception("calendar: recording %s pushed events failed", len(batch.later))
            batch.done -= {r.id for r in batch.later}

    async def _push_rows(self, link: CalendarLink, api: Api, rows: list[CalendarEvent],
                         batch: _Batch) -> None:
        for row in rows:
            await self._push_row(link, api, row, batch)

    async def _pace(self, user_id: int) -> None:
        pacer = self._pacers.get(user_id)
        if pacer is None:
            pacer = self._pacers[user_id] = pacing.Pacer(self.write_rate, self.write_burst)
        await pacer.wait()

    async def _pool(self, link: CalendarLink, first: CalendarClient) -> list[CalendarClient]:
        """httplib2 connections are not shared between threads: one client each."""
        pool = self._pools.get(link.user_id)
        if pool is None or pool[0] is not first:
            extra = await asyncio.gather(*(asyncio.to_thread(
                CalendarClient, self.cfg, first.credentials) for _ in range(POOL - 1)))
            pool = self._pools[link.user_id] = [first, *extra]
        return pool

    async def _push_row(self, link: CalendarLink, api: Api, row: CalendarEvent,
                        batch: _Batch) -> None:
        try:
            await self._push_one(link, api, row, batch)
            batch.done.add(row.id)
        except GoogleError as exc:
            if exc.limited:  # not this row's fault: it waits for the person's round
                await CalendarEvent.filter(id=row.id).update(
                    dirty=True, last_error=str(exc)[:500], next_attempt_at=self._now())
                batch.done.add(row.id)
                raise
            if not exc.temporary and exc.status not in (401, 403):  # mutation: equivalent: log only
                log.warning("calendar: event %s refused: %s", row.event_id, exc)
            delay = exc.retry_after or min(3600, 15 * 2 ** min(row.attempts, 8))
            await CalendarEvent.filter(id=row.id).update(
                dirty=True, attempts=row.attempts + 1, last_error=str(exc)[:500],
                next_attempt_at=utcnow() + timedelta(seconds=delay))
            batch.done.add(row.id)  # mutation: equivalent — push's finally re-marks it: no change
            if exc.temporary or exc.status == 0:
                raise  # the calendar is unwell: the person's round stops here

    async def _push_one(self, link: CalendarLink, api: Api, row: CalendarEvent,
                        batch: _Batch) -> None:
        activity = batch.activities.get(row.activity_id) if row.activity_id else None
        people = batch.people.get(row.activity_id, []) if activity else []
        target = link.calendar_id
        if not (row.wanted and cal.wanted(activity, row.user_id, people)):
            if row.in_google:
                await self._pace(link.user_id)
                await api.delete(row.calendar_id or target, row.event_id)
            # gone there; the row goes too, unless it was wanted again meanwhile
            await CalendarEvent.filter(id=row.id).update(in_google=False, etag=None)
            await CalendarEvent.filter(id=row.id, dirty=False).delete()
            return
        assert activity is not None and target is not None
        body = self._body_with(activity, row, batch.clients.get(activity.client_id))
        digest = mapping.body_hash(body)
        if row.in_google and row.calendar_id == target and digest == row.body_hash:
            return
        await self._pace(link.user_id)  # a write follows: at the calendar's pace
        if row.in_google and row.calendar_id != target:  # the person chose another one
            await api.delete(row.calendar_id, row.event_id)
            row.in_google, row.etag = False, None
        if not row.in_google:
            try:
                event = await api.insert(target, body)
            except GoogleError as exc:
                if exc.status != 409:
                    raise
                # ours already (a retried insert, or kept from an earlier connection):
                # take it over; Kontakt's version is written over it below
                found = await api.get(target, row.event_id)
                if found is not None:
                    try:  # the body says "confirmed": a deleted one is restored
                        event = await api.update(target, row.event_id, body,
                                                   found.get("etag"))
                    except GoogleError as again:
                        if again.status != 403 or again.limited \
                                or found.get("status") != "cancelled":
                            raise
                        found = None  # deleted, and Google will not restore it
                if found is None:
                    # the id was used by an event Google has purged and will not reuse:
                    # the same event under a new id
                    row.event_id = f"{cal.event_id_for(activity.id, row.user_id)}" \
                                   f"g{secrets.token_hex(3)}"
                    await CalendarEvent.filter(id=row.id).update(event_id=row.event_id)
                    body = {**body, "id": row.event_id}
                    event = await api.insert(target, body)
        else:
            try:
                event = await api.update(target, row.event_id, body, row.etag)
            except GoogleError as exc:
                if exc.status == 412:  # changed in the calendar since we last saw it
                    tries = self._conflicts[row.id] = self._conflicts.get(row.id, 0) + 1
                    current = await api.get(target, row.event_id)
                    if current is not None:
                        await self._apply(link, current, row)
                    if tries >= CONFLICT_TRIES:  # the etag keeps changing: wait, no loop
                        raise GoogleError(412, exc.reason, "changed again in the calendar "
                                          "after every read: tried again later") from None
                    await CalendarEvent.filter(id=row.id).update(dirty=True)
                    return
                if exc.status in (403, 404, 410) and not exc.limited:
                    # not proof by itself ("Handle API errors": a 404 during sync means
                    # back off): a get confirms it is gone before anything is cancelled
                    current = await api.get(target, row.event_id)
                    if current is not None and current.get("status") != "cancelled":
                        if exc.status == 403:
                            raise  # refused for another reason: the row backs off
                        raise GoogleError(exc.status, exc.reason, "yet a get finds the "
                                          "event: tried again later") from None
                    if current is None and not await api.calendar_exists(target):
                        raise CalendarGone(target) from None
                    await self._deleted_there(link, row, activity)
                    return
                raise
        written = {"in_google": True, "calendar_id": target, "etag": event.get("etag"),
                   "snapshot": mapping.snapshot(event), "body_hash": digest, "attempts": 0,
                   "last_error": None, "synced_at": utcnow()}
        if batch.later is None:
            await CalendarEvent.filter(id=row.id).update(**written)
        else:  # recorded with the others of the batch (_record)
            for name, value in written.items():
                setattr(row, name, value)
            batch.later.append(row)

    async def _body(self, activity: Activity, row: CalendarEvent) -> dict[str, Any]:
        client = await Client.get_or_none(id=activity.client_id).only("id", "name") \
            if activity.client_id else None
        return self._body_with(activity, row, client.name if client else None)

    def _body_with(self, activity: Activity, row: CalendarEvent, client: str | None
                   ) -> dict[str, Any]:
        link = f"{self.base_url}/app/calendar?activity={activity.id}"
        return mapping.body_for(activity, user_id=row.user_id, event_id=row.event_id,
                                client=client, link=link)

