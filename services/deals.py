"""Deals (U-2) moved through sales processes (U-1, U-7, U-8). The rules:

* **Who sees a deal** — and changes it: an admin, every deal; a head, the deals owned by
  someone in their departments (the subtree) and those they are on the team of; a
  manager, their own and those they are on the team of. A deal is opened for a client
  the person sees. Anyone else gets "not found", so ids reveal nothing.
* **Stages** — every process type has open stages in order, one won and one lost stage.
  A deal starts at the first open stage. Moving into a stage needs what the stage
  requires (amount, expected close, contact person; in a managed process also no open
  task left at the stage it leaves); the refusal names what is missing. In a managed
  process a manager moves forward one stage at a time except over stages marked
  skippable; heads and admins may skip any. Won and lost are reached from any open
  stage; lost needs a reason (the ``lost_reason`` list), the competitor who won is
  optional. A closed deal is reopened by moving it to an open stage (reason cleared).
* **Once** — a move is a conditional update of the deal's ``version`` plus a
  :class:`DealEvent` with ``seq`` = the new version (unique per deal). A double tap or
  a second replica finds the deal already at the stage: nothing is recorded twice, and
  the stage's tasks (managed processes: its playbook's steps, due from the move's day,
  linked to the deal) are made once.
* **Time in stage** is computed from the events, never stored.
* **Next step**: the earliest open activity of the deal; an open deal without one is
  flagged in lists and the card.

Probability, the funnel and lost-deal analysis are in :mod:`services.deal_stats`.
Lists, the pipeline and claims' choices are in :mod:`services.deal_lists`, the card in
:mod:`services.deal_cards`, sums as people type them in :mod:`services.deal_money`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    OPEN_STATES,
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
from services.deal_processes import ensure_processes, named
from services.errors import N_, NotFound, PermissionDenied, Text, ValidationFailed
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
        await _audit(actor, source, deal, "create", new=deal.title)
        notices = await _stage_tasks(actor, deal, process, first, now, source)
    deal = await get_deal(actor, deal.id)
    await deal_stats.recompute_deal(deal)
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
            await _audit(actor, source, deal, "update", key, getattr(deal, key), value)
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
        await _audit(actor, source, deal, "update", "members", None,
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
    await _audit(actor, source, deal, "archive" if archived else "restore")


async def _audit(actor: User, source: str, deal: Deal, action: str,
                 field_name: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(user_id=actor.id, source=source, entity="deal", object_id=deal.id,
                          client_id=deal.client_id, action=action, field=field_name,
                          old_value=None if old is None else str(old),
                          new_value=None if new is None else str(new))


# ---- moving ---------------------------------------------------------------------------

async def do_move(actor: User, deal_id: int, stage_id: int, *, source: str = "web",
                  lost_reason_id: int | None = None, competitor_id: int | None = None,
                  now: datetime | None = None) -> DealResult:
    """Move the deal to ``stage_id`` (the rules in the module's docstring)."""
    deal = await get_deal(actor, deal_id)
    if deal.stage_id == stage_id:
        return DealResult(deal, moved=False)
    stages = await stages_of(deal.process_id)
    target = next((s for s in stages if s.id == stage_id), None)
    if target is None:
        raise ValidationFailed("stage_id", N_("choose a stage of this deal's process"))
    await _check_move(actor, deal, stages, target)
    extra: dict[str, Any] = {"lost_reason_id": None, "competitor_id": None,
                             "closed_at": None}
    when = now or utcnow()
    if target.kind == StageKind.LOST:
        extra.update(await _lost_values(actor, lost_reason_id, competitor_id, deal))
    if target.kind != StageKind.OPEN:
        extra["closed_at"] = when
    seq = deal.version + 1
    try:
        async with in_transaction():
            updated = await Deal.filter(id=deal.id, version=deal.version).update(
                stage_id=target.id, version=seq, **extra)
            if not updated:
                raise _Raced()
            await DealEvent.create(deal_id=deal.id, seq=seq, from_stage_id=deal.stage_id,
                                   to_stage_id=target.id, user_id=actor.id, at=when,
                                   source=source, process_id=deal.process_id,
                                   owner_id=deal.owner_id,
                                   department_id=deal.owner.department_id)
            await _audit(actor, source, deal, "stage", "stage", deal.stage.name, target.name)
            notices = await _stage_tasks(actor, deal, deal.process, target, when, source)
    except (_Raced, IntegrityError):
        fresh = await get_deal(actor, deal_id)
        if fresh.stage_id == target.id:  # the other tap or replica did it
            return DealResult(fresh, moved=False)
        raise ValidationFailed("stage_id", N_("the deal was moved meanwhile; look at it "
                                              "again")) from None
    if target.kind == StageKind.LOST:  # its reason and competitor, loaded
        deal = await get_deal(actor, deal_id)
    else:  # the deal as moved, without reading it again
        deal.stage, deal.stage_id, deal.version = target, target.id, seq
        for key, value in extra.items():
            setattr(deal, key, value)
        deal.lost_reason = deal.competitor = None
    await deal_stats.recompute_deal(deal)
    if target.kind == StageKind.WON and deal.process.next_process_id:
        notices += await _continue(actor, deal, source)
    return DealResult(deal, True, notices)


async def _continue(actor: User, deal: Deal, source: str) -> list[acts.Notice]:
    """U-7: a won deal goes on as a deal of the next process (its execution), once."""
    if await Deal.filter(parent_id=deal.id, process_id=deal.process.next_process_id).exists():
        return []
    data = {"client_id": deal.client_id, "process_id": deal.process.next_process_id,
            "title": deal.title, "amount": deal.amount, "currency": deal.currency,
            "owner_id": deal.owner_id, "parent_id": deal.id, "contact_id": deal.contact_id}
    try:
        follow = await do_create_deal(actor, data, source=source)
    except ValidationFailed:  # a teammate won it: the execution is theirs to hand over
        follow = await do_create_deal(actor, {k: v for k, v in data.items()
                                              if k != "owner_id"}, source=source)
    return follow.notices


class _Raced(Exception):
    pass


async def do_win(actor: User, deal_id: int, *, source: str = "web") -> DealResult:
    deal = await get_deal(actor, deal_id)
    won = await Stage.get(process_id=deal.process_id, kind=StageKind.WON)
    return await do_move(actor, deal_id, won.id, source=source)


async def do_lose(actor: User, deal_id: int, reason_id: int | None,
                  competitor_id: int | None = None, *, source: str = "web") -> DealResult:
    deal = await get_deal(actor, deal_id)
    lost = await Stage.get(process_id=deal.process_id, kind=StageKind.LOST)
    return await do_move(actor, deal_id, lost.id, lost_reason_id=reason_id,
                         competitor_id=competitor_id, source=source)


async def _lost_values(actor: User, reason_id: int | None, competitor_id: int | None,
                       deal: Deal) -> dict[str, Any]:
    from services.clients import get_client

    if reason_id is None:
        raise ValidationFailed("lost_reason_id", N_("choose why the claim was rejected")
                               if deal.process.kind == ProcessKind.CLAIM
                               else N_("choose why the deal was lost"))
    if reason_id not in {r.id for r in await lost_reasons(deal.process.kind)}:
        raise ValidationFailed("lost_reason_id", N_("choose a value from the list"))
    if competitor_id is not None:
        if deal.process.kind in NO_COMPETITOR:
            raise ValidationFailed("competitor_id", N_("nobody wins a claim or an execution "
                                                       "from a competitor"))
        if competitor_id == deal.client_id:
            raise ValidationFailed("competitor_id", N_("the client cannot be its own "
                                                       "competitor"))
        await get_client(actor, competitor_id)
    return {"lost_reason_id": reason_id, "competitor_id": competitor_id}


async def _check_move(actor: User, deal: Deal, stages: list[Stage], target: Stage) -> None:
    if target.archived:
        raise ValidationFailed("stage_id", N_("this stage is no longer used"))
    if deal.process.kind == ProcessKind.CLAIM and target.kind != StageKind.OPEN and (
            not deal.resolution or deal.our_fault is None):
        raise ValidationFailed("resolution", N_("to close a claim, write its resolution "
                                                "and say whether it was our fault"))
    missing = await missing_for(deal, target)
    if missing:
        reasons = Text(missing[-1])
        for earlier in reversed(missing[:-1]):
            reasons = Text(N_("{first}; {rest}"), first=Text(earlier), rest=reasons)
        raise ValidationFailed("stage_id", N_("cannot move to «{stage}»: {missing}"),
                               stage=named(target, "stage"), missing=reasons)
    if deal.process.mode != ProcessMode.MANAGED or target.kind != StageKind.OPEN \
            or actor.role in (Role.ADMIN, Role.HEAD):
        return
    opened = [s for s in stages if s.kind == StageKind.OPEN]
    if deal.stage.kind != StageKind.OPEN or target not in opened:
        return
    here, there = opened.index(next(s for s in opened if s.id == deal.stage_id)), \
        opened.index(target)
    jumped = [s for s in opened[here + 1:there] if not s.skippable]
    if jumped:
        raise ValidationFailed("stage_id", N_("«{stage}» cannot be skipped; ask your head"),
                               stage=named(jumped[0], "stage"))


async def move_options(actor: User, deal: Deal, stages: list[Stage] | None = None
                       ) -> list[tuple[Stage, ValidationFailed | None]]:
    """Every stage of the deal's process but its own, in order, each with the refusal a
    move there meets now (None: it may go there; lost still asks its reason)."""
    stages = stages if stages is not None else await stages_of(deal.process_id)
    out: list[tuple[Stage, ValidationFailed | None]] = []
    for stage in stages:
        if stage.id == deal.stage_id:
            continue
        try:
            await _check_move(actor, deal, stages, stage)
        except ValidationFailed as exc:
            out.append((stage, exc))
        else:
            out.append((stage, None))
    return out


REQUIREMENT_TEXT = {
    "amount": N_("no amount"), "expected_close": N_("no expected close date"),
    "contact": N_("no contact person"), "tasks_done": N_("tasks of this stage are open"),
    "order_posted": N_("no posted order"),
}


async def missing_for(deal: Deal, target: Stage) -> list[str]:
    """What the deal lacks to enter ``target`` (English templates, translated by the
    front end through the ValidationFailed that carries them)."""
    out = []
    for need in target.requires or []:
        if need == "amount" and not deal.amount:
            out.append(need)
        elif need == "expected_close" and deal.expected_close is None:
            out.append(need)
        elif need == "contact" and deal.contact_id is None:
            out.append(need)
        elif need == "tasks_done" and deal.process.mode == ProcessMode.MANAGED and \
                await Activity.filter(deal_id=deal.id, state__in=OPEN_STATES).exists():
            out.append(need)
        elif need == "order_posted" and not await _has_posted_order(deal.id):
            out.append(need)
    return [REQUIREMENT_TEXT[n] for n in out]


async def _has_posted_order(deal_id: int) -> bool:
    from models import Order, OrderState

    return await Order.filter(deal_id=deal_id, state__in=(
        OrderState.POSTED, OrderState.SHIPPED, OrderState.CLOSED)).exists()


async def _stage_tasks(actor: User, deal: Deal, process: ProcessType, stage: Stage,
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
