"""Deals (U-2) in sales processes (U-1, U-7, U-8). The rules:

* **Who sees a deal** — and changes it: an admin, every deal; a head, the deals owned by
  someone in their departments (the subtree) and those they are on the team of; a
  manager, their own and those they are on the team of. A deal is opened for a client
  the person sees. Anyone else gets "not found", so ids reveal nothing.
* **A new deal** starts at the first open stage of its process (a sale's unless another
  is chosen); in a managed process the stage's tasks are made then (its playbook's
  steps, due from the day, linked to the deal), as on every move into a stage.
* **Next step**: the earliest open activity of the deal; an open deal without one is
  flagged in lists and the card.

Moving a deal between stages (what a stage requires, won and lost, once) is in
:mod:`services.deal_moves`. Probability, the funnel and lost-deal analysis are in
:mod:`services.deal_stats`. Lists, the pipeline and claims' choices are in
:mod:`services.deal_lists`, the card in :mod:`services.deal_cards`, sums as people type
them in :mod:`services.deal_money`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    Activity,
    AuditLog,
    ContactPerson,
    Deal,
    DealEvent,
    DealMember,
    DictionaryItem,
    PlaybookStep,
    ProcessKind,
    ProcessMode,
    ProcessType,
    Product,
    Role,
    StaffStatus,
    Stage,
    StageKind,
    User,
)
from services import activities as acts
from services import deal_stats
from services.clock import utcnow
from services.deal_money import parse_amount
from services.deal_processes import ensure_processes
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids

CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")
LOST_REASON = "lost_reason"
TASK_TIME = time(10, 0)


# ---- who sees what ---------------------------------------------------------------

async def visible_deals(actor: User) -> QuerySet[Deal]:
    """The deals ``actor`` may see and change, as a query to filter further in SQL."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    qs = Deal.filter(archived_at=None)
    if actor.role == Role.ADMIN:
        return qs
    team = Subquery(DealMember.filter(user_id=actor.id).values("deal_id"))
    if actor.role == Role.HEAD and actor.department_id is not None:
        depts = list(await department_subtree_ids(actor.department_id))
        return qs.filter(Q(owner__department_id__in=depts) | Q(owner_id=actor.id)
                         | Q(id__in=team))
    return qs.filter(Q(owner_id=actor.id) | Q(id__in=team))


async def deal_owners(actor: User) -> list[User]:
    """Whose deals ``actor`` may look at by owner (a list's filter): an admin, every
    active colleague; a head, those of their departments and themselves; a manager,
    only themselves."""
    if actor.role == Role.ADMIN:
        return await User.filter(status=StaffStatus.ACTIVE).order_by("full_name")
    if actor.role == Role.HEAD and actor.department_id is not None:
        depts = list(await department_subtree_ids(actor.department_id))
        return await User.filter(Q(department_id__in=depts) | Q(id=actor.id),
                                 status=StaffStatus.ACTIVE).order_by("full_name")
    return [actor]


async def get_deal(actor: User, deal_id: int) -> Deal:
    deal = await (await visible_deals(actor)).filter(id=deal_id).select_related(
        "client", "stage", "process", "owner", "contact", "source", "lost_reason",
        "competitor", "parent", "product").first()  # one query with joins
    if deal is None:
        raise NotFound("deal")
    return deal


# ---- processes ---------------------------------------------------------------------

async def process_types(*, archived: bool = False) -> list[ProcessType]:
    await ensure_processes()
    return await ProcessType.filter(archived=archived).order_by(
        "sort_order", "id").prefetch_related("stages")


async def stages_of(process_id: int, *, archived: bool = False) -> list[Stage]:
    return await Stage.filter(process_id=process_id, archived=archived).order_by(
        "position", "id")


# a claim or an execution lost has nobody who won it instead
NO_COMPETITOR = (ProcessKind.CLAIM, ProcessKind.EXECUTION)


async def lost_reasons(kind: str | None = None) -> list[DictionaryItem]:
    """The reasons to choose from when a deal of a process of ``kind`` closes as lost: a
    claim is rejected for its own reasons (U-7), any other deal is lost for a sale's (U-6)."""
    from services.dictionaries import CLAIM_REJECTION, get_dictionary

    dictionary = await get_dictionary(CLAIM_REJECTION if kind == ProcessKind.CLAIM
                                      else LOST_REASON)
    return await DictionaryItem.filter(dictionary_id=dictionary.id, archived=False).order_by(
        "sort_order", "id")


# ---- values ------------------------------------------------------------------------

def _date(raw: Any, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed(name, N_("«{value}» is not a date"), value=str(raw)[:40]) \
            from None


def _title(raw: Any) -> str:
    title = " ".join(str(raw or "").split())
    if not title:
        raise ValidationFailed("title", N_("is empty"))
    if len(title) > 200:
        raise ValidationFailed("title", N_("is longer than {max} characters"), max=200)
    return title


async def _values(actor: User, data: dict[str, Any], deal: Deal | None) -> dict[str, Any]:
    """The checked values of a new deal or a change (only the keys given)."""
    out: dict[str, Any] = {}
    if "title" in data:
        out["title"] = _title(data["title"])
    if "amount" in data:
        out["amount"] = parse_amount(data["amount"])
    if "currency" in data:
        currency = str(data["currency"] or "").upper()
        if currency not in CURRENCIES:
            raise ValidationFailed("currency", N_("choose one of: {choices}"),
                                   choices=", ".join(CURRENCIES))
        out["currency"] = currency
    if "expected_close" in data:
        out["expected_close"] = _date(data["expected_close"], "expected_close")
    if "notes" in data:
        notes = str(data["notes"] or "").strip()
        if len(notes) > 5000:
            raise ValidationFailed("notes", N_("is longer than {max} characters"), max=5000)
        out["notes"] = notes or None
    client_id = data.get("client_id", deal.client_id if deal else None)
    if "contact_id" in data:
        contact_id = data["contact_id"]
        if contact_id is not None:
            ok = await ContactPerson.filter(id=contact_id, client_id=client_id,
                                            archived_at=None).exists()
            if not ok:
                raise ValidationFailed("contact_id", N_("not a contact person of this client"))
        out["contact_id"] = contact_id
    if "source_id" in data:
        source_id = data["source_id"]
        if source_id is not None and not await DictionaryItem.filter(
                id=source_id, dictionary__code="ad_source").exists():
            raise ValidationFailed("source_id", N_("choose a value from the list"))
        out["source_id"] = source_id
    if "probability_override" in data:
        value = data["probability_override"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= 100):
            raise ValidationFailed("probability_override", N_("a percent from 0 to 100"))
        out["probability_override"] = value
    if "owner_id" in data and data["owner_id"] != (deal.owner_id if deal else actor.id):
        out["owner_id"] = await _new_owner(actor, data["owner_id"])
    if "parent_id" in data:  # U-7: the deal a claim is about
        parent_id = data["parent_id"]
        if parent_id is not None:
            parent = await get_deal(actor, int(parent_id))
            if deal is not None and parent.id == deal.id:
                raise ValidationFailed("parent_id", N_("choose another deal"))
            if parent.client_id != client_id:
                raise ValidationFailed("parent_id", N_("the deal is of another client"))
        out["parent_id"] = parent_id
    if "product_id" in data:
        product_id = data["product_id"]
        if product_id is not None and not await Product.filter(id=product_id).exists():
            raise ValidationFailed("product_id", N_("choose a value from the list"))
        out["product_id"] = product_id
    if "resolution" in data:
        resolution = str(data["resolution"] or "").strip() or None
        if resolution and len(resolution) > 5000:
            raise ValidationFailed("resolution", N_("is longer than {max} characters"),
                                   max=5000)
        out["resolution"] = resolution
    if "our_fault" in data:
        if data["our_fault"] is not None and not isinstance(data["our_fault"], bool):
            raise ValidationFailed("our_fault", N_("choose yes or no"))
        out["our_fault"] = data["our_fault"]
    return out


async def _new_owner(actor: User, user_id: Any) -> int:
    from services.permissions import _in_heads_scope

    owner = await User.get_or_none(id=user_id, status=StaffStatus.ACTIVE) if isinstance(
        user_id, int) else None
    if owner is None:
        raise ValidationFailed("owner_id", N_("choose a colleague from the list"))
    if actor.role == Role.ADMIN or owner.id == actor.id:
        return owner.id
    if actor.role == Role.HEAD and await _in_heads_scope(actor, owner.department_id):
        return owner.id
    raise ValidationFailed("owner_id", N_("you may give a deal only to someone in your "
                                          "departments"))


# ---- create, change, archive ---------------------------------------------------------

@dataclass
class DealResult:
    deal: Deal
    moved: bool = True  # False: the deal was already there (a double tap, a replica)
    notices: list[acts.Notice] = field(default_factory=list)


async def do_create_deal(actor: User, data: dict[str, Any], *, source: str = "web"
                         ) -> DealResult:
    from services.clients import get_client

    if "client_id" not in data or data["client_id"] is None:
        raise ValidationFailed("client_id", N_("choose a client"))
    client = await get_client(actor, int(data["client_id"]))
    types = await process_types()
    process_id = data.get("process_id") or next(
        (p.id for p in types if p.kind == "sale"), types[0].id)
    process = next((p for p in types if p.id == process_id), None)
    if process is None:
        raise ValidationFailed("process_id", N_("choose a process from the list"))
    first = next((s for s in await stages_of(process.id) if s.kind == StageKind.OPEN), None)
    if first is None:
        raise ValidationFailed("process_id", N_("this process has no open stage"))
    values = await _values(actor, {"title": data.get("title") or client.name,
                                   "currency": data.get("currency") or _currency(actor),
                                   **{k: v for k, v in data.items()
                                      if k not in ("title", "currency", "process_id")}},
                           None)
    values.pop("client_id", None)
    owner_id = values.pop("owner_id", actor.id)
    now = utcnow()
    async with in_transaction():
        deal = await Deal.create(client_id=client.id, process_id=process.id,
                                 stage_id=first.id, owner_id=owner_id, version=1, **values)
        owner = actor if owner_id == actor.id else await User.get(id=owner_id)
        await DealEvent.create(deal_id=deal.id, seq=1, from_stage_id=None,
                               to_stage_id=first.id, user_id=actor.id, at=now, source=source,
                               process_id=process.id, owner_id=owner_id,
                               department_id=owner.department_id)
        await audit(actor, source, deal, "create", new=deal.title)
        notices = await stage_tasks(actor, deal, process, first, now, source)
    deal = await get_deal(actor, deal.id)
    await deal_stats.recompute_deal(deal)
    if deal.source_id:  # K-10: after the commit; never fails the save
        from services.attribution import touch_from_ad_source

        await touch_from_ad_source(deal=deal)
    return DealResult(deal, True, notices)


def _currency(actor: User) -> str:
    return "UAH" if str(actor.language) == "uk" else "RUB"


def default_currency(actor: User) -> str:
    """The currency a new deal of ``actor``'s starts in (hryvnias for Ukrainian)."""
    return _currency(actor)


async def do_update_deal(actor: User, deal_id: int, data: dict[str, Any], *,
                         source: str = "web") -> Deal:
    deal = await get_deal(actor, deal_id)
    values = await _values(actor, {k: v for k, v in data.items() if k != "client_id"}, deal)
    changed = {k: v for k, v in values.items() if getattr(deal, k) != v}
    if not changed:
        return deal
    async with in_transaction():
        for key, value in changed.items():
            await audit(actor, source, deal, "update", key, getattr(deal, key), value)
        await Deal.filter(id=deal.id).update(**changed)
    deal = await get_deal(actor, deal_id)
    if changed.keys() & {"amount", "source_id", "owner_id"}:
        await deal_stats.recompute_deal(deal)
    return deal


async def do_set_team(actor: User, deal_id: int, user_ids: list[int], *,
                      source: str = "web") -> Deal:
    deal = await get_deal(actor, deal_id)
    wanted = set(user_ids) - {deal.owner_id}
    if len(wanted) > 50:
        raise ValidationFailed("members", N_("at most {max} people"), max=50)
    found = set(await User.filter(id__in=list(wanted), status=StaffStatus.ACTIVE).values_list(
        "id", flat=True))
    if found != wanted:
        raise ValidationFailed("members", N_("choose colleagues from the list"))
    async with in_transaction():
        await DealMember.filter(deal_id=deal.id).exclude(user_id__in=list(wanted)).delete()
        have = set(await DealMember.filter(deal_id=deal.id).values_list("user_id", flat=True))
        await DealMember.bulk_create([DealMember(deal_id=deal.id, user_id=u)
                                      for u in wanted - have])
        await audit(actor, source, deal, "update", "members", None,
                     ", ".join(str(u) for u in sorted(wanted)))
    return deal


async def team_of(deal_id: int) -> list[User]:
    return await User.filter(deal_memberships__deal_id=deal_id).order_by("full_name")


async def do_archive_deal(actor: User, deal_id: int, archived: bool = True, *,
                          source: str = "web") -> None:
    """Archived deals leave every list; an admin restores one (``archived=False``)."""
    if archived:
        deal = await get_deal(actor, deal_id)
    else:
        if actor.role != Role.ADMIN:
            raise PermissionDenied("restore")
        deal = await Deal.get_or_none(id=deal_id)
        if deal is None:
            raise NotFound("deal")
    await Deal.filter(id=deal.id).update(archived_at=utcnow() if archived else None)
    await audit(actor, source, deal, "archive" if archived else "restore")


async def audit(actor: User, source: str, deal: Deal, action: str,
                 field_name: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(user_id=actor.id, source=source, entity="deal", object_id=deal.id,
                          client_id=deal.client_id, action=action, field=field_name,
                          old_value=None if old is None else str(old),
                          new_value=None if new is None else str(new))


# ---- a stage's tasks ------------------------------------------------------------------

async def stage_tasks(actor: User, deal: Deal, process: ProcessType, stage: Stage,
                       when: datetime, source: str) -> list[acts.Notice]:
    """A managed process's tasks of ``stage``: its playbook's steps, linked to the deal,
    due at 10:00 of the day ``offset_days`` after the move in the owner's zone."""
    if process.mode != ProcessMode.MANAGED or stage.playbook_id is None \
            or stage.kind != StageKind.OPEN:
        return []
    from services.playbooks import assignee_for

    owner = await User.get(id=deal.owner_id)
    tz = ZoneInfo(owner.timezone)
    today = when.astimezone(tz).date()
    steps = await PlaybookStep.filter(playbook_id=stage.playbook_id).order_by(
        "position").prefetch_related("type")
    notices: list[acts.Notice] = []
    made: list[int] = []
    parent_id = None
    for step in steps:
        who = await assignee_for(step.assignee, owner, deal.client_id)
        result = await acts.do_create_activity(actor, {
            "title": step.title, "type": step.type.code or step.type.id, "goal": step.text,
            "client_id": deal.client_id, "assignees": [who], "parent_id": parent_id,
            "starts_at": datetime.combine(today + timedelta(days=step.offset_days),
                                          TASK_TIME, tz)}, source=source,
            check_assignees=False)
        made.append(result.activity.id)
        notices += result.notices
        parent_id = result.activity.id
    if made:
        await Activity.filter(id__in=made).update(deal_id=deal.id)
    return notices



# ---- the deal's activities ---------------------------------------------------------------

async def do_add_activity(actor: User, deal_id: int, data: dict[str, Any], *,
                          source: str = "web") -> acts.ActivityResult:
    """A task or a logged contact of the deal (its client's too)."""
    deal = await get_deal(actor, deal_id)
    async with in_transaction():
        result = await acts.do_create_activity(actor, {**data, "client_id": deal.client_id},
                                               source=source)
        await Activity.filter(id=result.activity.id).update(deal_id=deal.id)
    result.activity.deal_id = deal.id
    return result


async def do_link_activity(actor: User, activity_id: int, deal_id: int | None) -> None:
    """Link a logged activity to one of its client's deals (quick log), or unlink it."""
    activity = await acts.get_activity(actor, activity_id)
    if deal_id is not None:
        deal = await get_deal(actor, deal_id)
        if deal.client_id != activity.client_id:
            raise ValidationFailed("deal_id", N_("the deal is of another client"))
    await Activity.filter(id=activity.id).update(deal_id=deal_id)
