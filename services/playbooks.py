"""Playbooks (M-4) and meeting decisions (K-11): a chain of tasks made in one step.

* A playbook is a named list of steps (activity type, days after the day it is
  applied, title, text, who does it: the person applying it, the client's manager or
  the applier's supervisor). Admins and heads write playbooks; anyone applies one to
  a client they may see. Each task is due at 10:00 local time of its day (the
  applier's time zone) and follows the previous step's task (``parent``).
* A meeting's decisions become tasks of the meeting's client, one per decision, with
  their assignee and due time; each is a follow-up of the meeting, and the decisions
  are appended to its minutes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import (
    Activity,
    AssigneeRule,
    Playbook,
    PlaybookStep,
    Role,
    User,
)
from services import activities as acts
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed

MAX_STEPS = 30
STEP_TIME = time(10, 0)


def _clean_steps(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("steps", N_("give at least one step"))
    if len(raw) > MAX_STEPS:
        raise ValidationFailed("steps", N_("at most {max_steps} steps"), max_steps=MAX_STEPS)
    out = []
    for n, step in enumerate(raw, 1):
        if not isinstance(step, dict):
            raise ValidationFailed(f"steps.{n}", N_("a step is an object"))
        title = " ".join(str(step.get("title") or "").split())
        if not title or len(title) > 300:
            raise ValidationFailed(f"steps.{n}.title", N_("one to 300 characters"))
        days = step.get("offset_days", 0)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            raise ValidationFailed(f"steps.{n}.offset_days", N_("days from 0 to 365"))
        rule = step.get("assignee", "applier")
        if rule not in AssigneeRule.__members__.values():
            raise ValidationFailed(f"steps.{n}.assignee", N_("applier, manager or head"))
        out.append({"title": title, "offset_days": days, "assignee": AssigneeRule(rule),
                    "type": str(step.get("type") or "task"),
                    "text": (str(step.get("text") or "").strip() or None)})
    return out


async def do_create_playbook(actor: User, name: str, steps: Any,
                             description: str | None = None) -> Playbook:
    if actor.role not in (Role.ADMIN, Role.HEAD):
        raise PermissionDenied("admins and heads write playbooks")
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", N_("one to 200 characters"))
    if await Playbook.filter(name=name).exists():
        raise ValidationFailed("name", N_("«{name}» already exists"), name=name)
    clean = _clean_steps(steps)
    types = [await acts.get_type(s["type"]) for s in clean]
    async with in_transaction():
        playbook = await Playbook.create(name=name, description=description,
                                         created_by_id=actor.id)
        for position, (step, kind) in enumerate(zip(clean, types, strict=True)):
            await PlaybookStep.create(playbook=playbook, position=position, type=kind,
                                      offset_days=step["offset_days"], title=step["title"],
                                      text=step["text"], assignee=step["assignee"])
    return playbook


async def do_update_playbook(actor: User, playbook_id: int, name: str, steps: Any,
                             description: str | None = None) -> Playbook:
    """Rename a playbook and replace its steps (tasks made from it stay as they are)."""
    if actor.role not in (Role.ADMIN, Role.HEAD):
        raise PermissionDenied("admins and heads write playbooks")
    playbook = await Playbook.get_or_none(id=playbook_id)
    if playbook is None:
        raise NotFound("playbook")
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", N_("one to 200 characters"))
    if await Playbook.filter(name=name).exclude(id=playbook.id).exists():
        raise ValidationFailed("name", N_("«{name}» already exists"), name=name)
    clean = _clean_steps(steps)
    types = [await acts.get_type(s["type"]) for s in clean]
    async with in_transaction():
        playbook.name = name
        if description is not None:
            playbook.description = description or None
        await playbook.save()
        await PlaybookStep.filter(playbook_id=playbook.id).delete()
        for position, (step, kind) in enumerate(zip(clean, types, strict=True)):
            await PlaybookStep.create(playbook=playbook, position=position, type=kind,
                                      offset_days=step["offset_days"], title=step["title"],
                                      text=step["text"], assignee=step["assignee"])
    return playbook


async def do_archive_playbook(actor: User, playbook_id: int, archived: bool = True
                              ) -> Playbook:
    """Take a playbook out of the list (``archived=False`` brings it back)."""
    if actor.role not in (Role.ADMIN, Role.HEAD):
        raise PermissionDenied("admins and heads write playbooks")
    playbook = await Playbook.get_or_none(id=playbook_id)
    if playbook is None:
        raise NotFound("playbook")
    playbook.archived = bool(archived)
    await playbook.save(update_fields=["archived", "updated_at"])
    return playbook


async def with_steps(playbook: Playbook) -> Playbook:
    """The playbook with its steps and their types loaded (to show it)."""
    await playbook.fetch_related("steps__type")
    return playbook


async def list_playbooks(*, archived: bool = False) -> list[Playbook]:
    return await Playbook.filter(archived=archived).order_by("name").prefetch_related(
        "steps", "steps__type")


async def assignee_for(rule: AssigneeRule, actor: User, client_id: int) -> int:
    from services.managers import current_managers

    if rule == AssigneeRule.MANAGER:
        managers = await current_managers(client_id)
        return managers[0].id if managers else actor.id
    if rule == AssigneeRule.HEAD and actor.supervisor_id:
        boss = await User.get_or_none(id=actor.supervisor_id)
        if boss is not None and boss.is_active:
            return boss.id
    return actor.id


async def do_apply_playbook(actor: User, playbook_id: int, client_id: int, *,
                            source: str = "web", now: datetime | None = None
                            ) -> tuple[list[Activity], list[acts.Notice]]:
    """M-4: the playbook's chain of tasks for the client, in one transaction."""
    from services.clients import get_client

    playbook = await Playbook.get_or_none(id=playbook_id, archived=False)
    if playbook is None:
        raise NotFound("playbook")
    client = await get_client(actor, client_id)
    steps = await PlaybookStep.filter(playbook_id=playbook.id).order_by(
        "position").prefetch_related("type")
    tz = ZoneInfo(actor.timezone)
    today = (now or utcnow()).astimezone(tz).date()
    created: list[Activity] = []
    notices: list[acts.Notice] = []
    async with in_transaction():
        parent_id = None
        for step in steps:
            day = today + timedelta(days=step.offset_days)
            who = await assignee_for(step.assignee, actor, client.id)
            result = await acts.do_create_activity(actor, {
                "title": step.title, "type": step.type.code or step.type.id,
                "goal": step.text, "client_id": client.id, "assignees": [who],
                "starts_at": datetime.combine(day, STEP_TIME, tz), "parent_id": parent_id},
                source=source, check_assignees=False)
            created.append(result.activity)
            notices += result.notices
            parent_id = result.activity.id
    return created, notices


async def do_record_decisions(actor: User, meeting_id: int, decisions: Any, *,
                              source: str = "web") -> tuple[list[Activity], list[acts.Notice]]:
    """K-11: each decision of a meeting becomes a task in one step."""
    meeting = await acts.get_activity(actor, meeting_id)
    if not isinstance(decisions, list) or not decisions:
        raise ValidationFailed("decisions", N_("give at least one decision"))
    if len(decisions) > 50:
        raise ValidationFailed("decisions", N_("at most 50 at once"))
    created: list[Activity] = []
    notices: list[acts.Notice] = []
    lines = []
    async with in_transaction():
        for n, item in enumerate(decisions, 1):
            if not isinstance(item, dict):
                raise ValidationFailed(f"decisions.{n}", N_("a decision is an object"))
            data = {"title": item.get("title"), "type": item.get("type") or "task",
                    "client_id": meeting.client_id, "parent_id": meeting.id,
                    "starts_at": item.get("due")}
            if item.get("assignee_id"):
                data["assignees"] = [item["assignee_id"]]
            try:
                result = await acts.do_create_activity(actor, data, source=source)
            except ValidationFailed as exc:
                raise ValidationFailed(f"decisions.{n}.{exc.field}", exc.template,
                                       **exc.params) from None
            created.append(result.activity)
            notices += result.notices
            lines.append(f"— {result.activity.title}")
        minutes = "\n".join(filter(None, [meeting.minutes, *lines]))
        await acts.do_update_activity(actor, meeting.id, {"minutes": minutes}, source=source)
    return created, notices
