"""Calendar sync rules (K-1) that do not talk to Google: which activity is an event in
whose calendar (the outbox rows, marked in the same transaction as the change), the
connection's life (connect, pause, disconnect), the field-by-field merge rule, and the
read-only ICS feed. The talking is in ``sync/``.

Rules (also in the README):

- An activity with a start is an event in the calendar of each assignee who connected
  one. Cancelled: the events are deleted. Done: they stay.
- Deleted in one person's calendar: if they are one of several assignees only they are
  removed; otherwise the activity is cancelled (never deleted). The history says it came
  from the calendar.
- Both sides changed the same field since the last sync: Kontakt's value wins and the
  calendar's is written in the history as overridden. A field changed on one side only
  takes that side's value.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models import (
    Activity,
    ActivityAssignee,
    ActivityState,
    AuditLog,
    CalendarEvent,
    CalendarLink,
    Client,
    CompanyGoogle,
    IcsFeed,
    LinkState,
    Role,
    User,
)
from services import crypto
from services.bulk_rows import insert_rows
from services.clock import utcnow
from services.crypto import encrypt
from services.errors import N_, PermissionDenied, ValidationFailed

ENROL_PAST_DAYS = 30  # on connect: activities from this long ago on are put in the calendar
MARKER = "—— Kontakt ——"  # the description below it is ours; above it is the goal
FIELDS = ("title", "start", "end", "location", "goal", "repeat_end")


def event_id_for(activity_id: int, user_id: int) -> str:
    """Our event id: base32hex (0-9, a-v), fixed per activity and person, so a retried
    insert is refused as a duplicate instead of making a second event."""
    return f"kt{activity_id}u{user_id}"


def wanted(activity: Activity | None, user_id: int, people: list[int]) -> bool:
    return bool(activity is not None and activity.starts_at is not None
                and str(activity.state) != ActivityState.CANCELLED and user_id in people)


async def follow_activity(activity: Activity, people: list[int]) -> None:
    """In the transaction of a change: each connected assignee's event is marked to be
    pushed; a person no longer concerned gets their event marked for deletion."""
    rows = await CalendarEvent.filter(activity_id=activity.id)
    linked = set(await CalendarLink.filter(
        user_id__in=people, state__in=[LinkState.ACTIVE, LinkState.PAUSED]).values_list(
        "user_id", flat=True)) if people and activity.starts_at is not None else set()
    now = utcnow()
    have = {r.user_id: r for r in rows}
    for row in rows:
        # rows are deleted only by the worker (under the person's lock): one being
        # inserted right now must not lose its record of the event
        await CalendarEvent.filter(id=row.id).update(
            wanted=wanted(activity, row.user_id, people), dirty=True, next_attempt_at=now,
            attempts=0)
    new = [CalendarEvent(activity_id=activity.id, user_id=uid,
                         event_id=event_id_for(activity.id, uid), next_attempt_at=now)
           for uid in linked if uid not in have and wanted(activity, uid, people)]
    if new:
        await CalendarEvent.bulk_create(new, ignore_conflicts=True)


async def follow_handover(activities: list[Activity], from_id: int, to_id: int) -> None:
    """:func:`follow_activity` for many open activities at once (A-5's hand-over, in its
    transaction): ``from_id``'s events are marked for deletion, the others' to be pushed
    (the attendees changed), and ``to_id`` gets an event where they have a calendar."""
    ids = [a.id for a in activities]
    if not ids:
        return
    now = utcnow()
    again = {"dirty": True, "next_attempt_at": now, "attempts": 0}
    await CalendarEvent.filter(activity_id__in=ids, user_id=from_id).update(
        wanted=False, **again)
    await CalendarEvent.filter(activity_id__in=ids).exclude(user_id=from_id).update(**again)
    timed = [a.id for a in activities if wanted(a, to_id, [to_id])]
    await CalendarEvent.filter(activity_id__in=timed, user_id=to_id).update(wanted=True)
    if not timed or not await CalendarLink.exists(
            user_id=to_id, state__in=[LinkState.ACTIVE, LinkState.PAUSED]):
        return
    have = set(await CalendarEvent.filter(activity_id__in=timed, user_id=to_id).values_list(
        "activity_id", flat=True))
    await CalendarEvent.bulk_create([
        CalendarEvent(activity_id=a, user_id=to_id, event_id=event_id_for(a, to_id),
                      next_attempt_at=now) for a in timed if a not in have],
        ignore_conflicts=True)


async def enrol(user_id: int) -> int:
    """On connect: the person's activities from a month ago on (and every open series)
    get an event row, to be pushed by the worker. Returns how many."""
    since = utcnow() - timedelta(days=ENROL_PAST_DAYS)
    mine = ActivityAssignee.filter(user_id=user_id).values("activity_id")
    found = await Activity.filter(
        Q(starts_at__gte=since) | Q(rrule__not_isnull=True), id__in=Subquery(mine),
        starts_at__not_isnull=True).exclude(state=ActivityState.CANCELLED).values_list(
        "id", flat=True)
    have = set(await CalendarEvent.filter(user_id=user_id).values_list(
        "activity_id", flat=True))
    now = utcnow()
    # as tuples in one statement (services.bulk_rows): an ORM object per activity cost
    # more than the rest of connecting (issue 19); the values are the model's defaults
    rows = [(a, user_id, event_id_for(a, user_id), False, True, "{}", True, now, 0)
            for a in found if a not in have]
    await CalendarEvent.filter(user_id=user_id).update(
        dirty=True, next_attempt_at=now, attempts=0)
    await insert_rows(CalendarEvent._choose_db(for_write=True),  # noqa: SLF001
                      CalendarEvent._meta.db_table, _ENROLLED, rows, ignore_conflicts=True)
    return len(found)


#: the columns :func:`enrol` writes (services.bulk_rows: name, PostgreSQL type)
_ENROLLED = (("activity_id", "integer"), ("user_id", "integer"), ("event_id", "varchar"),
             ("in_google", "boolean"), ("wanted", "boolean"), ("snapshot", "jsonb"),
             ("dirty", "boolean"), ("next_attempt_at", "timestamptz"), ("attempts", "integer"))


# --- the connection -------------------------------------------------------------------
async def link_of(user: User) -> CalendarLink | None:
    return await CalendarLink.get_or_none(user_id=user.id)


async def do_save_link(user: User, *, mode: str, account: str | None, token: str | None,
                       calendar_id: str, calendar_ours: bool, calendar_name: str
                       ) -> CalendarLink:
    """A connection made (or made again): active, a full sync to come; the person's
    activities are queued for their calendar. Events already there under our ids are
    taken over, not doubled."""
    async with in_transaction():
        link = await CalendarLink.get_or_none(user_id=user.id)
        values = dict(mode=mode, account=account, token=token, calendar_id=calendar_id,
                      calendar_ours=calendar_ours, calendar_name=calendar_name,
                      state=LinkState.ACTIVE, paused_reason=None, sync_token=None,
                      next_attempt_at=None, last_error=None, pull_wanted_at=utcnow())
        if link is None:
            link = await CalendarLink.create(user_id=user.id, **values)
        else:
            if link.calendar_id and link.calendar_id != calendar_id:
                # another calendar: what is in the old one is ours to remove
                await CalendarEvent.filter(user_id=user.id).update(dirty=True)
            for key, value in values.items():
                setattr(link, key, value)
            await link.save()
        await AuditLog.create(user_id=user.id, source="calendar", entity="user",
                              object_id=user.id, action="cal_connect",
                              new_value=f"{account or ''} {calendar_name}".strip())
        await enrol(user.id)
    return link


async def do_pause(link_id: int, reason: str) -> bool:
    """Access was revoked or refused: nothing is pushed or pulled until the person
    connects again; the rows stay marked so nothing is lost. True if it was active."""
    changed = await CalendarLink.filter(id=link_id, state=LinkState.ACTIVE).update(
        state=LinkState.PAUSED, paused_reason=reason[:300])
    return bool(changed)


async def do_disconnect(user: User, *, remove_events: bool) -> CalendarLink | None:
    """The person disconnects: the worker stops the channel and, if asked, deletes our
    events from their calendar, then forgets the connection."""
    link = await CalendarLink.get_or_none(user_id=user.id)
    if link is None:
        return None
    async with in_transaction():
        link.state, link.remove_events = LinkState.REMOVING, remove_events
        await link.save(update_fields=["state", "remove_events", "updated_at"])
        if remove_events:
            await CalendarEvent.filter(user_id=user.id).update(
                wanted=False, dirty=True, next_attempt_at=utcnow(), attempts=0)
        await AuditLog.create(user_id=user.id, source="calendar", entity="user",
                              object_id=user.id, action="cal_disconnect",
                              new_value="remove" if remove_events else "keep")
    return link


async def status(user: User) -> dict[str, Any]:
    link = await CalendarLink.get_or_none(user_id=user.id)
    if link is None:
        return {"connected": False}
    return {
        "connected": link.state != LinkState.REMOVING, "state": str(link.state),
        "mode": link.mode, "account": link.account, "calendar": link.calendar_name,
        "calendar_ours": link.calendar_ours, "reason": link.paused_reason,
        "pending": await CalendarEvent.filter(user_id=user.id, dirty=True).count(),
        "events": await CalendarEvent.filter(user_id=user.id, in_google=True).count(),
        "last_pull_at": link.last_pull_at, "push": link.channel_id is not None,
        "last_error": link.last_error,
    }


async def do_set_workspace_key(actor: User, key: dict[str, Any], *, secret: str
                               ) -> CompanyGoogle:
    """An admin sets the company's Google Workspace service account (with domain-wide
    delegation); the key is stored encrypted and never shown again."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only an administrator sets the company's Google account")
    if key.get("type") != "service_account":
        raise ValidationFailed("key", N_("not a service account key (type must be "
                                         "service_account)"))
    for name in ("client_email", "private_key", "token_uri"):
        if not isinstance(key.get(name), str) or not key[name]:
            raise ValidationFailed("key", N_("{name} is missing"), name=name)
    if "PRIVATE KEY" not in key["private_key"]:
        raise ValidationFailed("key", N_("private_key is not a PEM key"))
    stored = encrypt(secret, json.dumps(key), purpose="google-key")
    async with in_transaction():
        await CompanyGoogle.all().delete()
        made = await CompanyGoogle.create(key=stored, client_email=key["client_email"],
                                          set_by_id=actor.id)
        await AuditLog.create(user_id=actor.id, source="web", entity="settings",
                              object_id=made.id, action="google_workspace",
                              new_value=key["client_email"])
    return made


# --- the merge rule ----------------------------------------------------------------------
@dataclass
class Merge:
    changes: dict[str, Any]  # to apply to the activity (do_update_activity keys)
    overridden: dict[str, Any]  # the calendar's values Kontakt's won over


def merge(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Merge:
    """Field by field, against what both sides last agreed on (``base``): changed in
    the calendar only → the calendar's; changed on both sides → Kontakt's."""
    changes: dict[str, Any] = {}
    overridden: dict[str, Any] = {}
    for name in FIELDS:
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        if t == b or t == o:
            continue
        if o == b or not base:
            changes[name] = t
        else:
            overridden[name] = t
    return Merge(changes, overridden)


# --- the ICS feed -------------------------------------------------------------------------
# The address is ``<id>.<mac>``: the database keeps the random id only, the mac is made
# from it under KONTAKT_SECRET_KEY, so a copy of the database opens no feed (as a
# session's cookie is kept hashed).
def _address(secret: str, feed_id: str) -> str:
    return f"{feed_id}.{crypto.mac(secret, feed_id, purpose='ics-feed')}"


async def feed_address(user: User, secret: str) -> str | None:
    """The secret part of the person's feed address, if they have a feed."""
    feed = await IcsFeed.get_or_none(user_id=user.id)
    return _address(secret, feed.token) if feed else None


async def feed_token(user: User, secret: str, *, renew: bool = False) -> str:
    """The secret part of the person's feed address (made if none); ``renew`` revokes
    the old one."""
    feed = await IcsFeed.get_or_none(user_id=user.id)
    if feed is None:
        feed = await IcsFeed.create(user_id=user.id, token=secrets.token_urlsafe(18))
    elif renew:
        feed.token = secrets.token_urlsafe(18)
        await feed.save(update_fields=["token"])
    return _address(secret, feed.token)


async def do_revoke_feed(user: User) -> None:
    await IcsFeed.filter(user_id=user.id).delete()


async def feed_owner(token: str, secret: str) -> User | None:
    feed_id, _, given = (token or "").rpartition(".")
    if not feed_id or len(token) > 100 or not hmac.compare_digest(
            _address(secret, feed_id), token):
        return None
    feed = await IcsFeed.get_or_none(token=feed_id).prefetch_related("user")
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


def _ics_text(text: str) -> str:
    return text.replace("\r", "")


async def ics_feed(user: User, *, base_url: str) -> bytes:
    """RFC 5545 text of the person's activities from 90 days ago to a year ahead, with
    recurrences and their left-out dates, for Apple, Outlook or Yandex calendars."""
    now = utcnow()
    mine = ActivityAssignee.filter(user_id=user.id).values("activity_id")
    acts = await Activity.filter(
        Q(starts_at__gte=now - timedelta(days=90)) | Q(rrule__not_isnull=True),
        id__in=Subquery(mine), starts_at__not_isnull=True,
        starts_at__lte=now + timedelta(days=366)
    ).exclude(state=ActivityState.CANCELLED).order_by("starts_at").limit(5000)
    clients = {c.id: c.name for c in await Client.filter(
        id__in={a.client_id for a in acts if a.client_id}).only("id", "name")}
    cal = ICalendar()
    cal.add("prodid", "-//Kontakt CRM//kontakt//RU")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Kontakt — {user.full_name}")
    for a in acts:
        ev = IEvent()
        ev.add("uid", f"{event_id_for(a.id, user.id)}@kontakt")
        ev.add("dtstamp", a.updated_at or now)
        ev.add("summary", _ics_text(a.title))
        start, end = span(a)
        if a.all_day:
            zone = ZoneInfo(a.timezone)
            ev.add("dtstart", start.astimezone(zone).date())
            ev.add("dtend", end.astimezone(zone).date() + timedelta(days=1)
                   if end.astimezone(zone).date() >= start.astimezone(zone).date() else
                   start.astimezone(zone).date() + timedelta(days=1))
        else:  # in the activity's zone, so a repeat keeps its hour across DST
            zone = ZoneInfo(a.timezone)
            ev.add("dtstart", start.astimezone(zone))
            ev.add("dtend", end.astimezone(zone))
        desc = [a.goal or ""]
        if a.client_id in clients:
            desc.append(clients[a.client_id])
        desc.append(f"{base_url}/app/calendar?activity={a.id}")
        ev.add("description", _ics_text("\n".join(d for d in desc if d)))
        if a.location:
            ev.add("location", _ics_text(a.location))
        ev.add("status", "CONFIRMED")
        if a.rrule:
            ev.add("rrule", _rrule_dict(a.rrule))
            for ex in a.exdates or []:
                when = datetime.fromisoformat(ex).astimezone(ZoneInfo(a.timezone))
                ev.add("exdate", when.date() if a.all_day else when)
        cal.add_component(ev)
    cal.add_missing_timezones()
    return await asyncio.to_thread(cal.to_ical)


def _rrule_dict(rule: str) -> dict[str, Any]:
    from icalendar import vRecur

    return vRecur.from_ical(rule.removeprefix("RRULE:"))


def span(a: Activity) -> tuple[datetime, datetime]:
    """The event's start and end: a task without an end lasts its estimate (or 30 min)."""
    start = a.starts_at
    assert start is not None
    if a.ends_at and a.ends_at > start:
        return start, a.ends_at
    return start, start + timedelta(minutes=a.duration_min or 30)


def local_date(value: datetime, tz: str) -> date:
    return value.astimezone(ZoneInfo(tz)).date()


async def workspace_account() -> CompanyGoogle | None:
    """The company's Google Workspace service account, if set (its e-mail is shown)."""
    return await CompanyGoogle.first()
