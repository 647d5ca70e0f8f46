"""What a change of an activity may contain: its fields, its assignees (within
the actor's reach) and its reminders' lead times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import (
    Activity,
    ActivityCategory,
    ContactPerson,
    Priority,
    Product,
    Role,
    StaffStatus,
    User,
)
from services.activities.choices import get_type
from services.activities.recurrence import _check_rrule
from services.clients import get_client
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids

DEFAULT_LEADS = (15,)  # minutes before the start, when none are given
MAX_LEADS = 5
MAX_LEAD_MINUTES = 60 * 24 * 14


def _aware(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(name, N_("«{value}» is not a date and time"), value=value)
    if not isinstance(value, datetime):
        raise ValidationFailed(name, N_("is not a date and time"))
    if value.tzinfo is None:
        raise ValidationFailed(name, N_("give the time zone (for example +03:00)"))
    return value.astimezone(ZoneInfo("UTC"))


async def _validated(data: dict[str, Any], actor: User, *, current: Activity | None = None
                     ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data or current is None:
        title = " ".join(str(data.get("title") or "").split())
        if not title:
            raise ValidationFailed("title", N_("is empty"))
        if len(title) > 300:
            raise ValidationFailed("title", N_("is longer than 300 characters"))
        out["title"] = title
    if "type" in data or current is None:
        out["type"] = await get_type(data.get("type") or "task")
    for key in ("goal", "result", "location", "agenda", "minutes"):
        if key in data:
            value = str(data[key] or "").strip() or None
            if value and len(value) > (400 if key == "location" else 20000):
                raise ValidationFailed(key, N_("is too long"))
            out[key] = value
    if "priority" in data:
        if data["priority"] not in Priority.__members__.values():
            raise ValidationFailed("priority", N_("must be low, normal, high or critical"))
        out["priority"] = Priority(data["priority"])
    if "percent" in data:
        percent = data["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValidationFailed("percent", N_("must be a whole number from 0 to 100"))
        out["percent"] = percent
    if "duration_min" in data:
        minutes = data["duration_min"]
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)
                                    or not 0 < minutes <= 60 * 24 * 31):
            raise ValidationFailed("duration_min", N_("must be minutes, more than 0"))
        out["duration_min"] = minutes
    if "all_day" in data:  # a whole day (or days, to ends_at's day) in the activity's zone
        if not isinstance(data["all_day"], bool):
            raise ValidationFailed("all_day", N_("must be true or false"))
        out["all_day"] = data["all_day"]
    for key in ("starts_at", "ends_at"):
        if key in data:
            out[key] = _aware(data[key], key)
    start = out.get("starts_at", current.starts_at if current else None)
    end = out.get("ends_at", current.ends_at if current else None)
    if start and end and end < start:
        raise ValidationFailed("ends_at", N_("is before the start"))
    if "rrule" in data:
        out["rrule"] = _check_rrule(data["rrule"], start,
                                    current.timezone if current else actor.timezone)
    if "client_id" in data:
        out["client_id"] = None
        if data["client_id"]:
            try:
                out["client_id"] = (await get_client(actor, int(data["client_id"]))).id
            except NotFound:
                raise ValidationFailed("client", N_("no such client among yours"))
    client_id = out.get("client_id", current.client_id if current else None)
    if "contact_id" in data:
        out["contact_id"] = None
        if data["contact_id"]:
            contact = await ContactPerson.get_or_none(id=data["contact_id"], archived_at=None)
            if contact is None or contact.client_id != client_id:
                raise ValidationFailed("contact", N_("is not a contact person of the client"))
            out["contact_id"] = contact.id
    if "product_id" in data:
        out["product_id"] = None
        if data["product_id"]:
            if not await Product.filter(id=data["product_id"], archived=False).exists():
                raise ValidationFailed("product", N_("no such product"))
            out["product_id"] = data["product_id"]
    if "category_id" in data:
        out["category_id"] = None
        if data["category_id"]:
            if not await ActivityCategory.filter(id=data["category_id"],
                                                 archived=False).exists():
                raise ValidationFailed("category", N_("no such category"))
            out["category_id"] = data["category_id"]
    if "client_notice_hours" in data:
        hours = data["client_notice_hours"]
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int)
                                  or not 1 <= hours <= 168):
            raise ValidationFailed("client_notice_hours", N_("hours from 1 to 168"))
        out["client_notice_hours"] = hours
    if "client_notice_template_id" in data:
        from models import MessageTemplate

        out["client_notice_template_id"] = None
        if data["client_notice_template_id"]:
            if not await MessageTemplate.filter(id=data["client_notice_template_id"],
                                                archived=False).exists():
                raise ValidationFailed("client_notice_template", N_("no such template"))
            out["client_notice_template_id"] = data["client_notice_template_id"]
    if out.get("client_notice_hours") and not (
            out.get("client_notice_template_id") or (current and
                                                     current.client_notice_template_id)):
        raise ValidationFailed("client_notice_template", N_("choose the message to send"))
    for key in ("latitude", "longitude"):
        if key in data:
            value = data[key]
            limit = 90 if key == "latitude" else 180
            if value is not None and (not isinstance(value, int | float)
                                      or not -limit <= value <= limit):
                raise ValidationFailed(key, N_("is out of range"))
            out[key] = value
    return out


async def _validated_assignees(raw: Any, actor: User, *, scoped: bool = True,
                               existing: Iterable[int] = ()) -> list[int]:
    """Active staff ids; the people added (not ``existing`` ones) must be within the
    actor's reach: a manager's department, a head's departments."""
    if raw is None:
        if existing:
            raise ValidationFailed("assignees", N_("choose at least one person"))
        return [actor.id]
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationFailed("assignees", N_("choose at least one person"))
    if any(isinstance(x, bool) or not isinstance(x, int) for x in raw):
        raise ValidationFailed("assignees", N_("give staff ids"))
    ids = list(dict.fromkeys(raw))
    found = set(await User.filter(id__in=ids, status=StaffStatus.ACTIVE).values_list(
        "id", flat=True))
    if missing := [i for i in ids if i not in found]:
        raise ValidationFailed("assignees", N_("no active staff member with id {id}"),
                               id=missing[0])
    kept = set(existing)
    others = [i for i in ids if i != actor.id and i not in kept] if scoped else []
    if others and actor.role == Role.MANAGER:
        # a manager assigns to colleagues of their department (or to themselves)
        same = await User.filter(id__in=others, department_id=actor.department_id).count() \
            if actor.department_id else 0
        if same != len(others):
            raise PermissionDenied("a manager assigns tasks within their department")
    if others and actor.role == Role.HEAD and not await _all_under(actor, others):
        raise PermissionDenied("that person is outside your departments")
    return ids


async def _all_under(head: User, ids: list[int]) -> bool:
    if head.department_id is None:
        return False
    depts = await department_subtree_ids(head.department_id)
    return await User.filter(id__in=ids, department_id__in=list(depts)).count() == len(ids)


def _validated_leads(raw: Any) -> list[int]:
    if raw is None:
        return list(DEFAULT_LEADS)
    if not isinstance(raw, list | tuple):
        raise ValidationFailed("reminders", N_("give minutes before the start"))
    leads = sorted(set(raw))
    if len(leads) > MAX_LEADS:
        raise ValidationFailed("reminders", N_("at most {max_leads} reminders"),
                               max_leads=MAX_LEADS)
    for lead in leads:
        if isinstance(lead, bool) or not isinstance(lead, int) or \
                not 0 <= lead <= MAX_LEAD_MINUTES:
            raise ValidationFailed("reminders", N_("minutes from 0 to two weeks"))
    return leads
