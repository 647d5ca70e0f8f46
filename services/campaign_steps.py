"""A campaign's scenario (M-8): steps with dates and executors that become tasks.

* A step has a kind (prepare, launch, follow up, measure, other), a title, a due date
  and goes to a person (its executor) or to a department — then to the department's
  head (an active person with the head role in it; none there: the head of the
  department above). A step with neither goes to the campaign's owner, else to the
  person who makes the tasks.
* A template (services.scenarios) is applied to a campaign: its steps are copied with
  ``due_on = starts_on + offset days``; a step of the same kind and title already in the
  campaign is not copied again, so applying twice duplicates nothing.
* "Make tasks": each step without a task becomes ONE task (kind task, no client, due at
  10:00 of its day in the assignee's time zone, titled "campaign: step", its author the
  person who pressed). Each step is claimed under a row lock in its own transaction, so
  a second press, or two at once, make no second task. The assignee hears of it like of
  any new task (the notices go out after the commit, the front end sends them).
* Editing a step whose task is open changes the task's title, due time and assignee;
  deleting such a step cancels its task.
* Admins, heads and the campaign's owner change a campaign's steps; every staff member
  reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import (
    OPEN_STATES,
    Activity,
    Campaign,
    CampaignStep,
    Department,
    Role,
    ScenarioTemplate,
    StaffStatus,
    User,
)
from services import activities as acts
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import require_staff
from services.scenarios import (
    clean_department,
    clean_kind,
    clean_title,
    template_steps,
)

TASK_TIME = time(10, 0)
MAX_STEPS = 100
OPEN = tuple(str(s) for s in OPEN_STATES)


class _Lost(Exception):
    """Another press claimed the step first: this transaction's task is rolled back."""


def may_edit(actor: User | None, campaign: Campaign) -> bool:
    return actor is not None and actor.is_active and (
        actor.role in (Role.ADMIN, Role.HEAD) or campaign.owner_id == actor.id)


async def get_campaign(actor: User, campaign_id: int, *, write: bool = False) -> Campaign:
    require_staff(actor)
    campaign = await Campaign.get_or_none(id=campaign_id) if 0 < campaign_id < 2**31 \
        else None
    if campaign is None:
        raise NotFound("campaign")
    if write and not may_edit(actor, campaign):
        raise PermissionDenied("admins, heads and the campaign's owner change its steps")
    return campaign


async def department_head(department_id: int | None) -> User | None:
    """The head of a department: an active person with the head role in it (the first
    by id); none there, the head of the department above, and so on up."""
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        head = await User.filter(department_id=department_id, role=Role.HEAD,
                                 status=StaffStatus.ACTIVE).order_by("id").first()
        if head is not None:
            return head
        parent = await Department.filter(id=department_id).values_list("parent_id", flat=True)
        department_id = parent[0] if parent else None
    return None


async def assignee_of(step: CampaignStep, campaign: Campaign, actor: User) -> User:
    """Who gets the step's task (the rule in the module's docstring)."""
    if step.executor_id:
        person = await User.get_or_none(id=step.executor_id, status=StaffStatus.ACTIVE)
        if person is not None:
            return person
    if step.department_id:
        head = await department_head(step.department_id)
        if head is not None:
            return head
    if campaign.owner_id:
        owner = await User.get_or_none(id=campaign.owner_id, status=StaffStatus.ACTIVE)
        if owner is not None:
            return owner
    return actor


def due_at(day: date, person: User) -> datetime:
    return datetime.combine(day, TASK_TIME, ZoneInfo(person.timezone))


def task_title(campaign: Campaign, step: CampaignStep) -> str:
    return f"{campaign.name}: {step.title}"[:300]


def _due(raw: Any) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if raw in (None, ""):
        raise ValidationFailed("due_on", N_("is empty"))
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed("due_on", N_("«{value}» is not a date"),
                               value=str(raw)[:40]) from None


async def _executor(raw: Any) -> int | None:
    if raw in (None, "", 0, "0"):
        return None
    try:
        uid = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed("executor_id", N_("no active staff member with id {id}"),
                               id=str(raw)[:20]) from None
    if not 0 < uid < 2**31 or not await User.filter(id=uid,
                                                    status=StaffStatus.ACTIVE).exists():
        raise ValidationFailed("executor_id", N_("no active staff member with id {id}"),
                               id=uid)
    return uid


async def _clean_step(data: dict[str, Any], current: CampaignStep | None = None
                      ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "kind" in data or current is None:
        out["kind"] = clean_kind(data.get("kind"), "kind")
    if "title" in data or current is None:
        out["title"] = clean_title(data.get("title"), "title")
    if "due_on" in data or current is None:
        out["due_on"] = _due(data.get("due_on"))
    if "executor_id" in data:
        out["executor_id"] = await _executor(data.get("executor_id"))
    if "department_id" in data:
        out["department_id"] = await clean_department(data.get("department_id"),
                                                      "department_id")
    return out


# ---- reading --------------------------------------------------------------------------

@dataclass
class StepView:
    step: CampaignStep
    assignee: User | None      # who has (or would get) the task
    task_state: str | None     # the task's state, none before "make tasks"


async def steps_of(actor: User, campaign_id: int) -> list[CampaignStep]:
    await get_campaign(actor, campaign_id)
    return await CampaignStep.filter(campaign_id=campaign_id).order_by(
        "due_on", "position", "id").select_related("executor", "department", "activity")


async def step_views(actor: User, campaign: Campaign) -> list[StepView]:
    steps = await steps_of(actor, campaign.id)
    out = []
    for s in steps:
        if s.activity_id:
            people = await acts.assignees(s.activity_id)
            who = people[0] if people else None
        else:
            who = await assignee_of(s, campaign, actor)
        out.append(StepView(s, who, str(s.activity.state) if s.activity else None))
    return out


# ---- changes --------------------------------------------------------------------------

async def do_add_step(actor: User, campaign_id: int, data: dict[str, Any]) -> CampaignStep:
    campaign = await get_campaign(actor, campaign_id, write=True)
    values = await _clean_step(data)
    if await CampaignStep.filter(campaign_id=campaign.id).count() >= MAX_STEPS:
        raise ValidationFailed("steps", N_("at most {max_steps} steps"), max_steps=MAX_STEPS)
    last = await CampaignStep.filter(campaign_id=campaign.id).order_by("-position").first()
    return await CampaignStep.create(campaign_id=campaign.id,
                                     position=(last.position + 1) if last else 0, **values)


async def _step(actor: User, step_id: int) -> tuple[CampaignStep, Campaign]:
    step = await CampaignStep.get_or_none(id=step_id) if 0 < step_id < 2**31 else None
    if step is None:
        raise NotFound("campaign step")
    campaign = await get_campaign(actor, step.campaign_id, write=True)
    return step, campaign


async def do_update_step(actor: User, step_id: int, data: dict[str, Any], *,
                         source: str = "web") -> tuple[CampaignStep, list[acts.Notice]]:
    """Change a step; an open task made from it follows (title, due time, assignee)."""
    step, campaign = await _step(actor, step_id)
    values = await _clean_step(data, step)
    notices: list[acts.Notice] = []
    async with in_transaction():
        for key, value in values.items():
            setattr(step, key, value)
        await step.save()
        task = await Activity.get_or_none(id=step.activity_id) if step.activity_id else None
        if task is not None and str(task.state) in OPEN:
            who = await assignee_of(step, campaign, actor)
            changes: dict[str, Any] = {}
            title = task_title(campaign, step)
            if task.title != title:
                changes["title"] = title
            when = due_at(step.due_on, who)
            if task.starts_at != when:
                changes["starts_at"] = when
            if await acts.assignee_ids(task.id) != [who.id]:
                changes["assignees"] = [who.id]
            if changes:
                result = await acts.do_update_activity(actor, task.id, changes, source=source)
                notices = result.notices
    return step, notices


async def do_delete_step(actor: User, step_id: int, *, source: str = "web"
                         ) -> list[acts.Notice]:
    """Delete a step; its open task is cancelled (the front end asks first)."""
    step, _campaign = await _step(actor, step_id)
    notices: list[acts.Notice] = []
    async with in_transaction():
        task = await Activity.get_or_none(id=step.activity_id) if step.activity_id else None
        if task is not None and str(task.state) in OPEN:
            result = await acts.do_set_state(actor, task.id, "cancelled", source=source)
            notices = result.notices
        await step.delete()
    return notices


async def do_reorder_steps(actor: User, campaign_id: int, step_ids: Any) -> None:
    """Set the order of the steps (within a day they go in this order)."""
    campaign = await get_campaign(actor, campaign_id, write=True)
    have = set(await CampaignStep.filter(campaign_id=campaign.id).values_list("id", flat=True))
    if not isinstance(step_ids, list) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in step_ids) \
            or set(step_ids) != have or len(step_ids) != len(have):
        raise ValidationFailed("step_ids", N_("give every step of the campaign once"))
    async with in_transaction():
        for position, sid in enumerate(step_ids):
            await CampaignStep.filter(id=sid).update(position=position)


async def do_apply_template(actor: User, campaign_id: int, template_id: int
                            ) -> list[CampaignStep]:
    """Copy a template's steps into the campaign (those not there yet); the new ones."""
    campaign = await get_campaign(actor, campaign_id, write=True)
    template = await ScenarioTemplate.get_or_none(id=template_id, archived=False) \
        if 0 < template_id < 2**31 else None
    if template is None:
        raise ValidationFailed("template_id", N_("no such template"))
    made: list[CampaignStep] = []
    async with in_transaction():
        # the campaign's row is the lock: two applications at once copy once
        await Campaign.filter(id=campaign.id).select_for_update().first()
        existing = {(str(k), t) for k, t in await CampaignStep.filter(
            campaign_id=campaign.id).values_list("kind", "title")}
        last = await CampaignStep.filter(campaign_id=campaign.id).order_by(
            "-position").first()
        position = (last.position + 1) if last else 0
        for ts in await template_steps(template.id):
            key = (str(ts.kind), ts.title)
            if key in existing:
                continue
            existing.add(key)
            made.append(await CampaignStep.create(
                campaign_id=campaign.id, position=position, kind=ts.kind, title=ts.title,
                due_on=campaign.starts_on + timedelta(days=ts.offset_days),
                department_id=ts.department_id))
            position += 1
    return made


async def do_make_tasks(actor: User, campaign_id: int, *, source: str = "web"
                        ) -> tuple[list[Activity], list[acts.Notice]]:
    """Each step without a task becomes one task (see the module's docstring)."""
    campaign = await get_campaign(actor, campaign_id, write=True)
    pending = await CampaignStep.filter(campaign_id=campaign.id, activity_id=None).order_by(
        "due_on", "position", "id").values_list("id", flat=True)
    made: list[Activity] = []
    notices: list[acts.Notice] = []
    for step_id in pending:
        try:
            async with in_transaction():
                # the claim: a concurrent press waits here, then finds the task made
                step = await CampaignStep.filter(id=step_id, activity_id=None
                                                 ).select_for_update().first()
                if step is None:
                    continue
                who = await assignee_of(step, campaign, actor)
                result = await acts.do_create_activity(actor, {
                    "title": task_title(campaign, step), "type": "task",
                    "assignees": [who.id], "starts_at": due_at(step.due_on, who)},
                    source=source, check_assignees=False)
                claimed = await CampaignStep.filter(id=step.id, activity_id=None).update(
                    activity_id=result.activity.id)
                if not claimed:  # lost a race the lock did not stop: the task goes too
                    raise _Lost()
        except _Lost:
            continue
        made.append(result.activity)
        notices += result.notices
    return made, notices
