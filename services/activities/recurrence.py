"""Recurring activities (A-8): an RFC 5545 RRULE checked when saved and expanded
when asked, in the activity's own time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from models import Activity
from services.errors import N_, ValidationFailed

ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


def _rule(rule: str, start: datetime, tz: str):
    """The rule expanded from the start in its own zone (aware: 10:00 stays 10:00 local
    across daylight saving, and an UNTIL in UTC compares as RFC 5545 says)."""
    return rrulestr(rule, dtstart=start.astimezone(ZoneInfo(tz)))


def _check_rrule(rule: str | None, start: datetime | None, tz: str) -> str | None:
    if not rule:
        return None
    rule = rule.strip().removeprefix("RRULE:").upper()
    if start is None:
        raise ValidationFailed("rrule", N_("a recurring activity needs a start"))
    freq = dict(p.split("=", 1) for p in rule.split(";") if "=" in p).get("FREQ")
    if freq not in ALLOWED_FREQ:
        raise ValidationFailed("rrule", N_("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"))
    try:
        _rule(rule, start, tz)[0]  # noqa: B018 - an impossible rule raises here
    except (ValueError, IndexError, TypeError) as exc:
        if "UNTIL" in str(exc):
            raise ValidationFailed("rrule", N_("not an RFC 5545 rule: give UNTIL in UTC, "
                                               "ending with Z")) from None
        raise ValidationFailed("rrule", N_("not an RFC 5545 repeat rule")) from None
    return rule


def occurrences(activity: Activity, start: datetime, end: datetime,
                *, limit: int = 500) -> list[datetime]:
    """A-8: the starts of an activity within [start, end), its RRULE expanded lazily in
    its own time zone (so 10:00 stays 10:00 across a daylight-saving change), left-out
    starts removed."""
    if activity.starts_at is None:
        return []
    if not activity.rrule:
        return [activity.starts_at] if start <= activity.starts_at < end else []
    rule = _rule(activity.rrule, activity.starts_at, activity.timezone)
    skip = {datetime.fromisoformat(x) for x in activity.exdates or []}
    out: list[datetime] = []
    lo = start.astimezone(ZoneInfo(activity.timezone)) - timedelta(days=1)
    for local in rule.xafter(lo, inc=True):
        when = local.astimezone(ZoneInfo("UTC"))
        if when >= end or len(out) >= limit:
            break
        if when >= start and when not in skip:
            out.append(when)
    return out
