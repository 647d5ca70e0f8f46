"""Moving a deal between the stages of its process (U-1, U-2, U-7). The rules:

* **Stages** — every process type has open stages in order, one won and one lost stage.
  Moving into a stage needs what the stage requires (amount, expected close, contact
  person, a posted order; in a managed process also no open task left at the stage it
  leaves); the refusal names what is missing. In a managed process a manager moves
  forward one stage at a time except over stages marked skippable; heads and admins may
  skip any. Won and lost are reached from any open stage; lost needs a reason (the
  ``lost_reason`` list; a claim's ``claim_rejection``), the competitor who won is
  optional (none for a claim or an execution). A closed claim needs its resolution and
  whether it was our fault. A closed deal is reopened by moving it to an open stage
  (reason cleared).
* **Once** — a move is a conditional update of the deal's ``version`` plus a
  :class:`DealEvent` with ``seq`` = the new version (unique per deal). A double tap or
  a second replica finds the deal already at the stage: nothing is recorded twice, and
  the stage's tasks (managed processes: its playbook's steps, due from the move's day,
  linked to the deal) are made once.
* **Next process** (U-7) — a won deal whose process has a next one (a sale's execution)
  goes on as a deal of it, once.
* **Time in stage** is computed from the events, never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    OPEN_STATES,
    Activity,
    Deal,
    DealEvent,
    ProcessKind,
    ProcessMode,
    Role,
    Stage,
    StageKind,
    User,
)
from services import activities as acts
from services import deal_stats
from services.clock import utcnow
from services.deal_processes import named
from services.deals import (
    NO_COMPETITOR,
    DealResult,
    audit,
    do_create_deal,
    get_deal,
    lost_reasons,
    stage_tasks,
    stages_of,
)
from services.errors import N_, Text, ValidationFailed


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
            await audit(actor, source, deal, "stage", "stage", deal.stage.name, target.name)
            notices = await stage_tasks(actor, deal, deal.process, target, when, source)
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


