"""The dealers list and a dealer's scorecard (M-7), and the partner scenarios applied
to a dealer.

* The list shows every dealer (active, or archived with ``archived=True``) with its
  grade and the figures of services.dealer_figures for the period, in a bounded number
  of queries whatever the number of dealers; a search narrows it by name.
* The scorecard adds the deals and the orders that came through the dealer — only
  those the viewer may see (services.deals.visible_deals), the newest first, at most
  :data:`MAX_ROWS` — and the dealer's partner deals.
* A partner scenario is a process type of kind ``partner`` (U-8) applied to a dealer:
  a deal of that process with the dealer as the client (services.deals.do_create_deal,
  whose managed mode makes the first stage's tasks). Applying the same process to the
  same dealer while its deal is open gives that deal back (no second deal, no second
  set of tasks). Heads and admins apply scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Subquery

from models import (
    Deal,
    Order,
    OrderState,
    PartnerKind,
    PartnerRole,
    PartyRole,
    ProcessKind,
    ProcessType,
    StageKind,
    User,
)
from services.dealer_figures import DealerFigures, dealer_figures
from services.dealer_grades import GradeSettings, grade_reason, grade_settings
from services.dealers import day_of, get_dealer, require_manager
from services.errors import N_, NotFound, Text, ValidationFailed
from services.permissions import require_staff

MAX_ROWS = 50
MAX_LIST = 500


@dataclass
class DealerRow:
    role: PartnerRole
    figures: DealerFigures
    reason: Text | None = None

    @property
    def client(self):
        return self.role.client


@dataclass
class Scorecard:
    row: DealerRow
    settings: GradeSettings
    deals: list[Deal] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    partner_deals: list[Deal] = field(default_factory=list)


async def dealer_list(actor: User, start: datetime, end: datetime, *, query: str = "",
                      archived: bool = False, order: str = "revenue") -> list[DealerRow]:
    """The dealers with their numbers, by revenue in the grading currency (then name),
    or by name (``order="name"``)."""
    require_staff(actor)
    qs = PartnerRole.filter(kind=PartnerKind.DEALER, client__archived_at=None,
                            archived_at__isnull=not archived)
    if query.strip():
        qs = qs.filter(client__name__icontains=query.strip()[:100])
    roles = await qs.select_related("client").order_by("client__name").limit(MAX_LIST)
    if not roles:
        return []
    s = await grade_settings()
    figures = await dealer_figures(start, end, [r.client_id for r in roles]
                                   if query.strip() or archived else None)
    rows = []
    for r in roles:
        f = figures.get(r.client_id) or DealerFigures(client_id=r.client_id)
        rows.append(DealerRow(r, f, grade_reason(r, None, s)))
    if order != "name":
        rows.sort(key=lambda x: (-x.figures.revenue_in(s.currency),
                                 -(x.figures.won_rate or 0), x.client.name.casefold()))
    return rows


async def scorecard(actor: User, client_id: int, start: datetime, end: datetime
                    ) -> Scorecard:
    from services.deals import visible_deals

    role = await get_dealer(actor, client_id)
    s = await grade_settings()
    figures = (await dealer_figures(start, end, [client_id])).get(client_id) \
        or DealerFigures(client_id=client_id)
    row = DealerRow(role, figures, None)
    if role.grade:
        grading = (await dealer_figures(*_grading_period(s), [client_id])).get(client_id)
        row.reason = grade_reason(role, grading, s)
    seen = await visible_deals(actor)
    through = seen.filter(parties__role=PartyRole.DEALER, parties__client_id=client_id)
    deals = await through.select_related("client", "stage", "process", "owner").order_by(
        "-created_at", "-id").limit(MAX_ROWS)
    ids = Subquery((await visible_deals(actor)).filter(
        parties__role=PartyRole.DEALER, parties__client_id=client_id).values("id"))
    orders = await Order.filter(deal_id__in=ids).exclude(state=OrderState.DRAFT).select_related(
        "client").order_by("-created_at", "-id").limit(MAX_ROWS)
    partner = await (await visible_deals(actor)).filter(
        client_id=client_id, process__kind=ProcessKind.PARTNER).select_related(
        "client", "stage", "process", "owner").order_by("-created_at", "-id").limit(MAX_ROWS)
    return Scorecard(row, s, list(deals), list(orders), list(partner))


def _grading_period(s: GradeSettings):
    from services.dealer_grades import grade_period

    return grade_period(s)


async def partner_processes() -> list[ProcessType]:
    """The process types a dealer's scenario may follow (kind partner, current)."""
    from services.deals import process_types

    return [p for p in await process_types() if p.kind == ProcessKind.PARTNER]


@dataclass
class Applied:
    deal: Deal
    created: bool
    notices: list = field(default_factory=list)  # the tasks' notices, for the front end


async def do_apply_scenario(actor: User, client_id: int, process_id: Any, *,
                            source: str = "web") -> Applied:
    """A partner deal of ``process_id`` for the dealer (once while open)."""
    from services.deals import do_create_deal, get_deal

    require_manager(actor)
    role = await get_dealer(actor, client_id)
    if role.archived_at is not None:
        raise ValidationFailed("client_id", N_("the dealer is archived"))
    process = next((p for p in await partner_processes()
                    if str(p.id) == str(process_id)), None)
    if process is None:
        raise ValidationFailed("process_id", N_("choose a process from the list"))
    existing = await Deal.filter(client_id=client_id, process_id=process.id, archived_at=None,
                                 stage__kind=StageKind.OPEN).order_by("id").first()
    try:
        if existing is not None:
            return Applied(await get_deal(actor, existing.id), False)
        result = await do_create_deal(actor, {
            "client_id": client_id, "process_id": process.id,
            "title": f"{process.name}: {role.client.name}"[:200]}, source=source)
    except NotFound:  # the dealer's card is another department's: its deal is not ours
        raise ValidationFailed("client_id", N_("the dealer's card is not among the clients "
                                               "you see: ask its manager or an admin")
                               ) from None
    return Applied(result.deal, True, result.notices)


@dataclass
class Period:
    start: date  # the first day, local
    end: date  # the last day, local (included)
    since: datetime  # [since, till) aware
    till: datetime


def period(start: Any, end: Any, tz: str, default_days: int = 365) -> Period:
    """A period of whole local days from the page's or the API's dates (ISO or
    dd.mm.yyyy); none given: the last ``default_days`` days up to today."""
    from zoneinfo import ZoneInfo

    from services.clock import utcnow

    zone = ZoneInfo(tz)
    today = utcnow().astimezone(zone).date()

    def day(raw: Any, name: str, default: date) -> date:
        found = day_of(raw, name)
        return default if found is None else found

    last = day(end, "end", today)
    first = day(start, "start", last - timedelta(days=default_days - 1))
    if first > last:
        raise ValidationFailed("start", N_("the start is after the end"))
    if (last - first).days > 3660:
        raise ValidationFailed("start", N_("a period of at most ten years"))
    return Period(first, last, datetime.combine(first, time(0), zone),
                  datetime.combine(last + timedelta(days=1), time(0), zone))
