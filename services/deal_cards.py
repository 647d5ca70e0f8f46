"""A deal's card (U-2, U-7): the deal with its stages, stage events, activities, team,
next step, time in the stage, where it may be moved now (and why not elsewhere) and the
deal a claim is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import OPEN_STATES, Activity, Deal, DealEvent, Stage, User
from services.deal_moves import move_options
from services.deals import get_deal, stages_of, team_of, visible_deals
from services.errors import ValidationFailed

# ---- the card ------------------------------------------------------------------------------

@dataclass
class Card:
    deal: Deal
    stages: list[Stage]
    events: list[DealEvent]
    activities: list[Activity]
    team: list[User]
    next_step: Activity | None
    in_stage_since: datetime
    # every other stage with the refusal a move there meets now (None: it may go)
    moves: list[tuple[Stage, ValidationFailed | None]] = field(default_factory=list)
    parent: Deal | None = None  # U-7: the deal a claim is about (one the reader sees)


async def deal_card(actor: User, deal_id: int) -> Card:
    deal = await get_deal(actor, deal_id)
    stages = await stages_of(deal.process_id)
    events = await DealEvent.filter(deal_id=deal.id).order_by("-seq").limit(
        200).prefetch_related("from_stage", "to_stage", "user")
    activities = await Activity.filter(deal_id=deal.id).order_by("-starts_at", "-id").limit(
        200).prefetch_related("type")
    upcoming = sorted((a for a in activities if a.state in OPEN_STATES and a.starts_at),
                      key=lambda a: a.starts_at)
    since = events[0].at if events else deal.created_at
    moves = await move_options(actor, deal, stages)
    parent = await (await visible_deals(actor)).filter(id=deal.parent_id).first() \
        if deal.parent_id else None
    return Card(deal, stages, list(events), list(activities), await team_of(deal.id),
                upcoming[0] if upcoming else None, since, moves, parent)
