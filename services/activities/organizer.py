"""The morning digest and the escalation of overdue activities (S-18, K-15), with
the admin's settings for both; each notice claimed once across replicas. The digest
carries the person's plan and bonus so far (K-9) when a bonus scheme gives them a line:
such a person gets a digest even on a day with nothing on the agenda."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from models import Activity, ActivityKind, Role, StaffStatus, User
from services.activities.access import assignee_ids
from services.activities.common import OPEN
from services.activities.reading import AgendaItem, agenda, day_bounds, overdue
from services.clock import utcnow
from services.errors import N_, PermissionDenied, ValidationFailed

log = logging.getLogger("kontakt.organizer")
DIGEST_HOUR_KEY = "organizer.digest_hour"  # local hour of the morning digest (0-23)
ESCALATION_KEY = "organizer.escalation_hours"  # overdue this long → the supervisor; 0 off
DEFAULT_DIGEST_HOUR = 8
DEFAULT_ESCALATION_HOURS = 24


async def organizer_settings() -> dict[str, int]:
    from models import Setting

    rows = dict(await Setting.filter(key__in=[DIGEST_HOUR_KEY, ESCALATION_KEY]).values_list(
        "key", "value"))
    return {"digest_hour": int(rows.get(DIGEST_HOUR_KEY, DEFAULT_DIGEST_HOUR)),
            "escalation_hours": int(rows.get(ESCALATION_KEY, DEFAULT_ESCALATION_HOURS))}


async def do_set_organizer_settings(actor: User, digest_hour: int,
                                    escalation_hours: int) -> dict[str, int]:
    from models import Setting

    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins change the organizer settings")
    if isinstance(digest_hour, bool) or not isinstance(digest_hour, int) or \
            not 0 <= digest_hour <= 23:
        raise ValidationFailed("digest_hour", N_("an hour from 0 to 23"))
    if isinstance(escalation_hours, bool) or not isinstance(escalation_hours, int) or \
            not 0 <= escalation_hours <= 24 * 30:
        raise ValidationFailed("escalation_hours", N_("hours from 0 (off) to 720"))
    for key, value in ((DIGEST_HOUR_KEY, digest_hour), (ESCALATION_KEY, escalation_hours)):
        await Setting.update_or_create(key=key, defaults={"value": value})
    return await organizer_settings()


async def claim_once(kind: str, user_id: int, key: str) -> bool:
    """True for the one caller (of any replica) whose row is new."""
    from tortoise.exceptions import IntegrityError

    from models import NotificationLog

    try:
        await NotificationLog.create(kind=kind, user_id=user_id, key=key)
    except IntegrityError:
        return False
    return True


@dataclass
class Digest:
    user: User
    today: list[AgendaItem]
    overdue: list[Activity]
    bonus: Any = None  # K-9: the person's statement of this month, when a scheme has a line


async def due_digests(now: datetime | None = None) -> list[Digest]:
    """The people whose local morning hour has come and who have not had today's
    digest, each claimed once; people with nothing today and nothing overdue get none."""
    from models import NotificationLog

    now = now or utcnow()
    hour = (await organizer_settings())["digest_hour"]
    out = []
    for user in await User.filter(status=StaffStatus.ACTIVE).exclude(telegram_id=None):
        local = now.astimezone(ZoneInfo(user.timezone))
        if local.hour != hour:
            continue  # only within the digest hour: a start at 23:00 sends nothing
        day = local.date().isoformat()
        if await NotificationLog.filter(kind="digest", user_id=user.id, key=day).exists():
            continue
        # claimed even when there is nothing to say: no late digest that day
        if not await claim_once("digest", user.id, day):
            continue
        start, end = day_bounds(now, user.timezone)
        today = await agenda(user, start, end)
        late = await overdue(user, limit=20)
        bonus = await _bonus(user)
        if today or late or bonus:
            out.append(Digest(user, today, late, bonus))
    return out


async def _bonus(user: User) -> Any:
    """K-9: the person's statement of this month if a scheme gives them a line; a
    failure there must not cost the morning digest."""
    from services.motivation_statements import my_summary

    try:
        return await my_summary(user)
    except Exception:  # noqa: BLE001 - the digest goes without the bonus line
        log.exception("bonus summary for %s failed", user.id)
        return None


async def due_escalations(now: datetime | None = None) -> list[tuple[User, Activity, User]]:
    """(supervisor, activity, assignee) for open activities overdue longer than the
    admin's delay, each told once; the activity is marked escalated."""
    now = now or utcnow()
    hours = (await organizer_settings())["escalation_hours"]
    if hours <= 0:
        return []
    limit = now - timedelta(hours=hours)
    found = await Activity.filter(state__in=OPEN, rrule=None, escalated_at=None).filter(
        Q(kind=ActivityKind.TASK, ends_at__lt=limit) | Q(ends_at=None, starts_at__lt=limit)
        | Q(kind=ActivityKind.EVENT, starts_at__lt=limit)).limit(200)
    out = []
    for activity in found:
        claimed = await Activity.filter(id=activity.id, escalated_at=None).update(
            escalated_at=now)
        if not claimed:
            continue  # another replica has it
        for uid in await assignee_ids(activity.id):
            person = await User.get_or_none(id=uid)
            if person is None or person.supervisor_id is None:
                continue
            boss = await User.get_or_none(id=person.supervisor_id, status=StaffStatus.ACTIVE)
            if boss is not None and await claim_once("escalation", boss.id, str(activity.id)):
                out.append((boss, activity, person))
    return out
