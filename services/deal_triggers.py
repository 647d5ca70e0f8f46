"""Triggers that move a deal on events (U-1).

* **Tasks done**: in a managed process, a stage marked ``advance_when_done`` moves the
  deal on to the next open stage by itself once the last open activity of the deal is
  done — as its owner, from "trigger" in the history, with the next stage's own
  requirements and tasks (a requirement missing leaves the deal where it is).
* Orders posted and invoices paid (sections 7 and 8) will move deals the same way.

:func:`install` registers the hooks; the composition root (kontakt.runtime) calls it.
"""

from __future__ import annotations

import logging

from models import OPEN_STATES, Activity, Deal, ProcessMode, Stage, StageKind, User
from services import activities as acts
from services import deal_moves
from services.errors import DomainError

log = logging.getLogger("kontakt.deals")


async def advance_on_done(actor: User, activity: Activity, source: str
                          ) -> list[acts.Notice]:
    if activity.deal_id is None:
        return []
    deal = await Deal.get_or_none(id=activity.deal_id, archived_at=None).prefetch_related(
        "stage", "process")
    if deal is None or deal.process.mode != ProcessMode.MANAGED or \
            deal.stage.kind != StageKind.OPEN or not deal.stage.advance_when_done:
        return []
    if await Activity.filter(deal_id=deal.id, state__in=OPEN_STATES).exists():
        return []
    following = await Stage.filter(process_id=deal.process_id, kind=StageKind.OPEN,
                                   archived=False, position__gt=deal.stage.position
                                   ).order_by("position", "id").first()
    if following is None:
        return []
    owner = await User.get(id=deal.owner_id)
    try:
        result = await deal_moves.do_move(owner, deal.id, following.id, source="trigger")
    except DomainError as exc:  # a requirement of the next stage: the deal waits
        log.info("deal %s stays at %s: %s", deal.id, deal.stage_id, exc)
        return []
    return result.notices


def install() -> None:
    acts.on_done(advance_on_done)
