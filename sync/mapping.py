"""Activity ↔ Google event (K-1). gcsa's ``Event`` and ``EventSerializer`` make the
body; a *snapshot* is the handful of fields the two sides exchange (title, start, end,
location, goal), normalised so that a value read back from Google compares equal to the
value written."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse
from gcsa.event import Event
from gcsa.reminders import PopupReminder
from gcsa.serializers.event_serializer import EventSerializer

from models import Activity, ActivityState
from services.calendar import MARKER, local_date, span

MAX_REMINDERS = 5  # Google keeps at most five overrides


def description(goal: str | None, footer: list[str]) -> str:
    top = (goal or "").strip()
    return f"{top}\n\n{MARKER}\n" + "\n".join(footer) if footer else top


def goal_of(text: str | None) -> str:
    """The part of a description above our marker: what the person may edit."""
    return (text or "").split(MARKER, 1)[0].strip()


def body_for(activity: Activity, *, user_id: int, event_id: str, client: str | None,
             link: str) -> dict[str, Any]:
    start, end = span(activity)
    tz = activity.timezone
    footer = [x for x in (client and f"👤 {client}",
                          f"{_state_label(activity)}", f"🔗 {link}") if x]
    leads = sorted({int(m) for m in activity.reminder_leads or [] if 0 <= int(m) <= 40320})
    if activity.all_day:
        first, last = local_date(start, tz), local_date(end, tz)
        ev_start: Any = first
        ev_end: Any = max(last, first) + timedelta(days=1)
    else:
        ev_start, ev_end = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
    event = Event(
        activity.title, start=ev_start, end=ev_end, timezone=tz, event_id=event_id,
        description=description(activity.goal, footer), location=activity.location or None,
        recurrence=_recurrence(activity),
        reminders=[PopupReminder(minutes_before_start=m) for m in leads[:MAX_REMINDERS]],
        default_reminders=False,
        extendedProperties={"private": {"kontakt_activity": str(activity.id),
                                        "kontakt_user": str(user_id)}},
        status="confirmed")
    made = EventSerializer.to_json(event)
    body = {k: made[k] for k in OWNED if k in made}
    body.setdefault("reminders", {"useDefault": False})
    # gcsa leaves out empty values: say "no location" and "no repeat" outright
    body.setdefault("location", "")
    body.setdefault("recurrence", [])
    body.setdefault("description", "")
    return body


# the fields Kontakt writes; anything else on the event (guests, conference, colour,
# attachments) is the person's and is left alone (writes are patches)
OWNED = ("id", "summary", "description", "location", "start", "end", "recurrence",
         "reminders", "extendedProperties", "status")


def _state_label(activity: Activity) -> str:
    return {ActivityState.DONE: "✅ done", ActivityState.POSTPONED: "⏸ postponed"}.get(
        str(activity.state), "")


def _recurrence(activity: Activity) -> list[str] | None:
    if not activity.rrule:
        return None
    rule = activity.rrule if activity.rrule.startswith("RRULE:") else f"RRULE:{activity.rrule}"
    lines = [rule]
    zone = ZoneInfo(activity.timezone)
    for ex in activity.exdates or []:
        when = datetime.fromisoformat(ex).astimezone(zone)
        if activity.all_day:  # the occurrences are dates: so are the left-out ones
            lines.append(f"EXDATE;VALUE=DATE:{when.strftime('%Y%m%d')}")
        else:
            lines.append(f"EXDATE;TZID={activity.timezone}:{when.strftime('%Y%m%dT%H%M%S')}")
    return lines


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def when_of(part: dict[str, Any] | None) -> str | None:
    if not part:
        return None
    if "date" in part:
        return f"date:{part['date']}"
    if "dateTime" in part:
        value = isoparse(part["dateTime"])
        if value.tzinfo is None and part.get("timeZone"):
            value = value.replace(tzinfo=ZoneInfo(part["timeZone"]))
        return value.astimezone(ZoneInfo("UTC")).isoformat()
    return None


def snapshot(event: dict[str, Any]) -> dict[str, Any]:
    """The exchanged fields of a body we wrote or an event we read."""
    return {"title": (event.get("summary") or "").strip(),
            "start": when_of(event.get("start")), "end": when_of(event.get("end")),
            "location": (event.get("location") or "").strip(),
            "goal": goal_of(event.get("description")),
            "repeat_end": repeat_end(event)}


_END_PARTS = ("UNTIL", "COUNT")


def repeat_end(event: dict[str, Any]) -> str | None:
    """Where a series' rule ends (``UNTIL=…`` or ``COUNT=…``), None for no end or no
    rule. "This and following" in Google's apps ends the series there ("Recurring
    events" guide, modifying all following instances: UNTIL, or COUNT, is set on the
    original, and a new series takes the rest)."""
    for line in event.get("recurrence") or []:
        if line.startswith("RRULE:"):
            parts = [p for p in line[6:].upper().split(";") if p.split("=")[0] in _END_PARTS]
            return ";".join(sorted(parts)) or None
    return None


def with_end(rule: str, end: str | None) -> str:
    """``rule`` with its UNTIL/COUNT replaced by ``end`` (None: no end)."""
    parts = [p for p in rule.removeprefix("RRULE:").split(";")
             if p and p.split("=")[0].upper() not in _END_PARTS]
    return ";".join(parts + ([end] if end else []))


def to_datetime(value: str, tz: str) -> datetime:
    """A snapshot's time as an aware datetime (an all-day date: local midnight)."""
    if value.startswith("date:"):
        day = date.fromisoformat(value[5:])
        return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))
    return datetime.fromisoformat(value)


def changes_for(activity: Activity, fields: dict[str, Any]) -> dict[str, Any]:
    """Snapshot fields the calendar changed → ``do_update_activity`` changes."""
    out: dict[str, Any] = {}
    tz = activity.timezone
    if "title" in fields:
        out["title"] = fields["title"]
    if "location" in fields:
        out["location"] = fields["location"] or None
    if "goal" in fields:
        out["goal"] = fields["goal"] or None
    if "repeat_end" in fields and activity.rrule:
        out["rrule"] = with_end(activity.rrule, fields["repeat_end"])
    start = fields.get("start")
    end = fields.get("end")
    if start:
        out["starts_at"] = to_datetime(start, tz)
        out["all_day"] = start.startswith("date:")
    if end:
        new_end = to_datetime(end, tz)
        if end.startswith("date:"):
            new_end -= timedelta(days=1)  # Google's all-day end is exclusive
        old_start, old_end = span(activity)
        new_start = out.get("starts_at", activity.starts_at)
        if activity.ends_at is None and new_start is not None and \
                new_end - new_start == old_end - old_start:
            pass  # the block moved with its start: a task keeps having no end
        elif activity.ends_at is None and new_start is not None and new_end > new_start \
                and not end.startswith("date:"):
            # a task's block made longer or shorter: its estimate, not a deadline
            out["duration_min"] = max(1, int((new_end - new_start).total_seconds() // 60))
        elif new_start is not None and new_end > new_start:
            out["ends_at"] = new_end
    return out


def new_activity_from(event: dict[str, Any], tz: str) -> dict[str, Any] | None:
    """An event made in the Kontakt calendar → ``do_create_activity`` data (a task)."""
    snap = snapshot(event)
    if not snap["start"]:
        return None
    data: dict[str, Any] = {"type": "task", "title": snap["title"] or "(no title)",
                            "starts_at": to_datetime(snap["start"], tz),
                            "location": snap["location"] or None,
                            "goal": snap["goal"] or None}
    if snap["start"].startswith("date:"):
        data["all_day"] = True
    elif snap["end"]:
        end = to_datetime(snap["end"], tz)
        if end > data["starts_at"]:
            data["ends_at"] = end
    skipped: list[str] = []
    for line in event.get("recurrence") or []:
        if line.startswith("RRULE:"):
            data["rrule"] = line[6:]
        elif line.startswith("EXDATE"):
            skipped += exdates_of(line, tz)
    if skipped and data.get("rrule"):
        data["_exdates"] = skipped
    return data


def exdates_of(line: str, tz: str) -> list[str]:
    """``EXDATE;TZID=Europe/Kyiv:20261201T100000,20261208T100000`` (or ``…Z``, or
    ``;VALUE=DATE:20261201``) → ISO starts, as ``Activity.exdates`` keeps them."""
    head, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    zone = ZoneInfo(params.get("TZID", tz))
    out = []
    for value in values.split(","):
        value = value.strip()
        try:
            if len(value) == 8:
                when = datetime.combine(date(int(value[:4]), int(value[4:6]), int(value[6:])),
                                        time(0, 0), tzinfo=ZoneInfo(tz))
            elif value.endswith("Z"):
                when = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
            else:
                when = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=zone)
        except ValueError:
            continue
        out.append(when.astimezone(ZoneInfo("UTC")).isoformat())
    return out
