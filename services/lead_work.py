"""K-10: what the manager does with a lead from a web form (the bot's buttons).

* Take: the inbound request is done by the person who took it (a request is an event:
  taking it is answering that it was received); the M-16 reaction is the contact that
  follows.
* Reassign: to another active person of the form's department (or of the assignee's
  department when the form has none); the new person becomes the only assignee and a
  manager of the client, and is told.
* Log contact: a done call on the lead's client with the result typed — the reaction.

Who: the lead's assignee, heads and admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models import (
    Activity,
    ActivityAssignee,
    ActivityState,
    ClientManager,
    Role,
    StaffStatus,
    User,
)
from models.marketing import LeadSubmission
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed


@dataclass
class Lead:
    submission: LeadSubmission
    activity: Activity
    assignee_ids: list[int]
    campaign: str
    variant: str
    data: dict


async def lead_of(activity_id: int) -> Lead:
    sub = await LeadSubmission.filter(activity_id=activity_id).prefetch_related(
        "form__variant__campaign").first()
    activity = await Activity.get_or_none(id=activity_id)
    if sub is None or activity is None:
        raise NotFound("activity")
    people = list(await ActivityAssignee.filter(activity_id=activity_id).values_list(
        "user_id", flat=True))
    return Lead(sub, activity, people, sub.form.variant.campaign.name, sub.form.variant.name,
                sub.data or {})


async def _may_work(actor: User, lead: Lead) -> None:
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    if actor.role in (Role.ADMIN, Role.HEAD) or actor.id in lead.assignee_ids:
        return
    raise PermissionDenied("not your lead")


async def do_take(actor: User, activity_id: int) -> Lead:
    lead = await lead_of(activity_id)
    await _may_work(actor, lead)
    if lead.activity.state == ActivityState.DONE:
        raise ValidationFailed("state", N_("the lead is already taken"))
    async with in_transaction():
        await Activity.filter(id=activity_id).update(
            state=ActivityState.DONE, done_at=utcnow(), done_by_id=actor.id)
        if actor.id not in lead.assignee_ids:
            await ActivityAssignee.get_or_create(activity_id=activity_id, user_id=actor.id)
    return await lead_of(activity_id)


async def reassign_choices(actor: User, activity_id: int) -> list[User]:
    lead = await lead_of(activity_id)
    await _may_work(actor, lead)
    department_id = lead.submission.form.department_id
    if department_id is None and lead.assignee_ids:
        department_id = (await User.get(id=lead.assignee_ids[0])).department_id
    if department_id is None:
        return []
    return await User.filter(department_id=department_id, status=StaffStatus.ACTIVE
                             ).exclude(id__in=lead.assignee_ids).order_by("full_name")


async def do_reassign(actor: User, activity_id: int, user_id: int) -> User:
    choices = await reassign_choices(actor, activity_id)
    person = next((u for u in choices if u.id == user_id), None)
    if person is None:
        raise ValidationFailed("person", N_("choose a value from the list"))
    lead = await lead_of(activity_id)
    async with in_transaction():
        await ActivityAssignee.filter(activity_id=activity_id).delete()
        await ActivityAssignee.create(activity_id=activity_id, user_id=person.id)
        await LeadSubmission.filter(id=lead.submission.id).update(assigned_id=person.id)
        await ensure_client_manager(lead.activity.client_id, person)
    return person


async def ensure_client_manager(client_id: int | None, person: User) -> None:
    """The person who gets a lead may see its client: a manager of it (not the main one
    when the client already has managers)."""
    if client_id is None:
        return
    if await ClientManager.filter(client_id=client_id, user_id=person.id,
                                  unassigned_at=None).exists():
        return
    has_any = await ClientManager.filter(client_id=client_id, unassigned_at=None).exists()
    await ClientManager.create(client_id=client_id, user_id=person.id, assigned_by=None,
                               is_primary=not has_any)


async def do_log_contact(actor: User, activity_id: int, result: str) -> Activity:
    """A done call on the lead's client with ``result`` (the reaction, M-16)."""
    from services.activities import do_create_activity

    lead = await lead_of(activity_id)
    await _may_work(actor, lead)
    result = (result or "").strip()
    if not result:
        raise ValidationFailed("result", N_("is empty"))
    if len(result) > 4000:
        raise ValidationFailed("result", N_("is longer than {limit} characters"), limit=4000)
    if lead.activity.client_id is not None:
        await ensure_client_manager(lead.activity.client_id, actor)
    made = await do_create_activity(actor, {
        "type": "call", "title": lead.activity.title, "client_id": lead.activity.client_id,
        "result": result, "done": True, "starts_at": utcnow(), "parent_id": activity_id},
        source="bot")
    if lead.activity.state != ActivityState.DONE:
        await Activity.filter(id=activity_id).update(
            state=ActivityState.DONE, done_at=utcnow(), done_by_id=actor.id)
    return made.activity
