"""Deals as lists (U-2, U-7): a page of deals with their next steps, the pipeline of a
process (each stage's count and sum), one's deals without a next step, a client's open
deals and what a claim may be about. Who sees which deal is
:func:`services.deals.visible_deals`; the card is :mod:`services.deal_cards`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Max, Min, Sum
from tortoise.queryset import QuerySet

from models import (
    OPEN_STATES,
    Activity,
    Deal,
    DealEvent,
    DealMember,
    ProcessKind,
    ProcessType,
    Stage,
    StageKind,
    User,
)
from services.deals import process_types, stages_of, visible_deals

PER_PAGE = 20


# ---- a client's deals --------------------------------------------------------------------

async def open_deals_of_client(actor: User, client_id: int) -> list[Deal]:
    return await (await visible_deals(actor)).filter(
        client_id=client_id, stage__kind=StageKind.OPEN).order_by("-id").prefetch_related(
        "stage")


# ---- claims (U-7) -------------------------------------------------------------------------

async def claim_process() -> ProcessType | None:
    """The process a new claim starts in: the first claim type in use (None: an admin
    archived every one)."""
    return next((p for p in await process_types() if p.kind == ProcessKind.CLAIM), None)


async def claimable_deals(actor: User, client_id: int, limit: int = 8) -> list[Deal]:
    """The client's deals a claim may be about: any but claims, open or closed, newest
    first."""
    return await (await visible_deals(actor)).filter(client_id=client_id).exclude(
        process__kind=ProcessKind.CLAIM).order_by("-id").limit(limit).prefetch_related(
        "stage")


async def claim_subjects(actor: User, deal: Deal, limit: int = 100) -> list[Deal]:
    """U-7: what a claim of ``deal``'s client may be about: the client's other deals one
    sees (not claims themselves), newest first, with their process and stage."""
    return await (await visible_deals(actor)).filter(client_id=deal.client_id).exclude(
        id=deal.id).exclude(process__kind=ProcessKind.CLAIM).order_by("-id").limit(
        limit).prefetch_related("process", "stage")


# ---- lists -------------------------------------------------------------------------------

@dataclass
class DealRow:
    deal: Deal
    next_step: datetime | None


@dataclass
class DealFilters:
    q: str | None = None
    process_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    client_id: int | None = None
    state: str = "open"  # open | won | lost | all
    mine: bool = False  # only those one owns or is on the team of


async def deal_page(actor: User, filters: DealFilters, page: int = 1,
                    per_page: int = PER_PAGE) -> tuple[list[DealRow], int]:
    """Deals as a list: those without a next step first, then by the next step's date."""
    qs = await visible_deals(actor)
    if filters.mine:
        team = Subquery(DealMember.filter(user_id=actor.id).values("deal_id"))
        qs = qs.filter(Q(owner_id=actor.id) | Q(id__in=team))
    if filters.q and filters.q.strip():
        from services.dictionaries import icontains_q

        text = filters.q.strip()[:100]
        qs = qs.filter(icontains_q("title", text) | icontains_q("client__name", text))
    for key in ("process_id", "stage_id", "owner_id", "client_id"):
        if getattr(filters, key) is not None:
            qs = qs.filter(**{key: getattr(filters, key)})
    if filters.state in ("open", "won", "lost"):
        qs = qs.filter(stage__kind=filters.state)
    total = await qs.count()
    page = max(1, page)
    ids = await _ordered_ids(qs, (page - 1) * per_page, per_page)
    deals = {d.id: d for d in await Deal.filter(id__in=ids).prefetch_related(
        "client", "stage", "owner")}
    steps = await next_steps(ids)
    return [DealRow(deals[i], steps.get(i)) for i in ids], total


async def _ordered_ids(qs: QuerySet[Deal], offset: int, limit: int) -> list[int]:
    """Those without an open activity first (newest first), then by the next one's time;
    two queries, as NULLs sort differently on SQLite and PostgreSQL."""
    stepped = Subquery(Activity.filter(state__in=OPEN_STATES, deal_id__not_isnull=True,
                                       starts_at__not_isnull=True).values("deal_id"))
    bare = qs.exclude(id__in=stepped)
    n_bare = await bare.count()
    ids: list[int] = []
    if offset < n_bare:
        ids = list(await bare.order_by("-id").offset(offset).limit(limit).values_list(
            "id", flat=True))
    if len(ids) < limit:
        rows = await qs.filter(id__in=stepped).annotate(
            next_at=Min("activities__starts_at",
                        _filter=Q(activities__state__in=OPEN_STATES))
        ).group_by("id").order_by("next_at", "id").offset(max(0, offset - n_bare)).limit(
            limit - len(ids)).values("id", "next_at")
        ids += [r["id"] for r in rows]
    return ids


async def without_next_step(actor: User, *, limit: int = 5) -> tuple[list[Deal], int]:
    """U-2: one's own or team's open deals with no open dated activity, newest first."""
    qs = await visible_deals(actor)
    team = Subquery(DealMember.filter(user_id=actor.id).values("deal_id"))
    stepped = Subquery(Activity.filter(state__in=OPEN_STATES, deal_id__not_isnull=True,
                                       starts_at__not_isnull=True).values("deal_id"))
    bare = qs.filter(Q(owner_id=actor.id) | Q(id__in=team), stage__kind=StageKind.OPEN
                     ).exclude(id__in=stepped)
    return list(await bare.order_by("-id").limit(limit).prefetch_related(
        "client", "stage")), await bare.count()


async def next_steps(deal_ids: list[int]) -> dict[int, datetime]:
    if not deal_ids:
        return {}
    rows = await Activity.filter(deal_id__in=deal_ids, state__in=OPEN_STATES).annotate(
        first=Min("starts_at")).group_by("deal_id").values("deal_id", "first")
    return {r["deal_id"]: r["first"] for r in rows if r["first"] is not None}


@dataclass
class StageSummary:
    stage: Stage
    count: int
    amount: Decimal
    # the same sum per currency (a stage may hold deals in roubles and in dollars)
    amounts: dict[str, Decimal] = field(default_factory=dict)


async def pipeline(actor: User, process_id: int, *, mine: bool = False,
                   owner_id: int | None = None) -> list[StageSummary]:
    """Each stage of the process with its deals' count and sum (one GROUP BY); ``mine``
    as in :class:`DealFilters` (one's own and those one is on the team of)."""
    qs = await visible_deals(actor)
    if mine:
        team = Subquery(DealMember.filter(user_id=actor.id).values("deal_id"))
        qs = qs.filter(Q(owner_id=actor.id) | Q(id__in=team))
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    rows = await qs.filter(process_id=process_id).annotate(
        n=Count("id"), total=Sum("amount")).group_by("stage_id", "currency").values(
        "stage_id", "currency", "n", "total")
    counts: dict[int, int] = {}
    sums: dict[int, dict[str, Decimal]] = {}
    for r in rows:
        counts[r["stage_id"]] = counts.get(r["stage_id"], 0) + int(r["n"] or 0)
        if r["total"] is not None:
            per = sums.setdefault(r["stage_id"], {})
            per[r["currency"]] = per.get(r["currency"], Decimal(0)) + Decimal(str(r["total"]))
    return [StageSummary(s, counts.get(s.id, 0), sum(sums.get(s.id, {}).values(), Decimal(0)),
                         dict(sorted(sums.get(s.id, {}).items())))
            for s in await stages_of(process_id)]


async def stage_since(deal_ids: list[int]) -> dict[int, datetime]:
    """When each deal entered the stage it is at: its last stage event."""
    if not deal_ids:
        return {}
    rows = await DealEvent.filter(deal_id__in=deal_ids).annotate(last=Max("at")).group_by(
        "deal_id").values("deal_id", "last")
    return {r["deal_id"]: r["last"] for r in rows if r["last"] is not None}


async def next_step_activities(deal_ids: list[int]) -> dict[int, Activity]:
    """Each deal's next step, the activity itself (its title for a list's card)."""
    times = await next_steps(deal_ids)
    if not times:
        return {}
    out: dict[int, Activity] = {}
    for a in await Activity.filter(deal_id__in=list(times), state__in=OPEN_STATES,
                                   starts_at__in=list(set(times.values()))).order_by(
            "starts_at", "id").prefetch_related("type"):
        if a.deal_id not in out and a.starts_at == times[a.deal_id]:
            out[a.deal_id] = a
    return out
