"""/api/v1/loyalty: loyalty cards (U-9) — the program (admins), the cards a person
sees with their balances, a card's moves, issuing, editing, archiving, redeeming and
adjusting points, the recalculation on demand (admins and heads) and the analysis.
The rules are services.loyalty's."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import loyalty as svc
from services import loyalty_analysis as analysis_svc
from services import loyalty_cards as cards
from services import loyalty_points as points
from services import loyalty_run as runner
from services.permissions import require_staff
from web.api.deal_schemas import ID, money
from web.api.routes import api

TAGS = ["loyalty"]


class TierIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                           description="a tier to change; none: a new one")
    name: str = Field(max_length=200)
    threshold: str = Field(max_length=30, description="spend over 12 months from which "
                           "the tier holds, in the company currency")
    accrual: str = Field(max_length=10, description="percent of an order's total as points")
    discount_group_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ProgramIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point_value: str = Field(max_length=20, description="what one point pays")
    max_share: str = Field(max_length=10, description="percent of an order points may pay")
    expiry_months: str | None = Field(default=None, max_length=10,
                                      description="months points live; empty: forever")
    tiers: list[TierIO] = Field(max_length=50, description="the tiers, rows of the form")


class ProgramOut(BaseModel):
    point_value: str
    max_share: str
    expiry_months: int | None
    currency: str
    tiers: list[TierIO]


class CardOut(BaseModel):
    id: int
    number: str
    client_id: int
    client: str
    tier: str | None
    spend: str
    balance: int
    issued_at: datetime
    blocked: bool
    archived: bool


class CardPage(BaseModel):
    items: list[CardOut]
    total: int


class CardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100, description="part of the number or "
                          "the client's name")
    archived: bool = False
    limit: int = Field(default=30, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    number: str | None = Field(default=None, max_length=40, description="empty: made")


class CardPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str | None = Field(default=None, max_length=40)
    blocked: bool | None = None


class MoveOut(BaseModel):
    id: int
    kind: str = Field(description="accrual, redemption, adjustment, expiry, reversal")
    points: int
    order_id: int | None
    order_number: str | None
    amount: str | None
    reason: str | None
    author: str | None
    created_at: datetime
    expires_at: datetime | None


class MoveList(BaseModel):
    items: list[MoveOut]
    balance: int


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: int = Field(**ID)
    points: str = Field(max_length=20)


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: str = Field(max_length=20, description="+ or −, whole points")
    reason: str = Field(max_length=300)


class RunOut(BaseModel):
    cards: int
    moved: int
    expired: int
    missing: list[str]
    at: str


class AnalysisQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date | None = None
    end: date | None = None
    days: int = Field(default=90, ge=1, le=3650, description="churned: no order for "
                      "more than these days")


class CohortOut(BaseModel):
    month: str
    clients: int
    churned: int
    share: str


class AnalysisOut(BaseModel):
    start: str
    end: str
    days: int
    buyers: int
    repeaters: int
    repeat_rate: str | None
    cohorts: list[CohortOut]
    interval_clients: int
    interval_mean: str | None = Field(description="days")
    interval_median: str | None = Field(description="days")


def _program_out(p: svc.Program) -> ProgramOut:
    d = p.as_dict()
    return ProgramOut(**{**d, "tiers": [TierIO(**t) for t in d["tiers"]]})


def card_out(v: cards.CardView) -> CardOut:
    c = v.card
    return CardOut(id=c.id, number=c.number, client_id=c.client_id, client=c.client.name,
                   tier=c.tier.name if c.tier else None, spend=money(c.spend),
                   balance=v.balance, issued_at=c.issued_at, blocked=c.blocked,
                   archived=c.archived)


@api.route("GET", "/loyalty/program", summary="The loyalty program: tiers, a point's "
           "value, the share points may pay, expiry (U-9)", response=ProgramOut, tags=TAGS)
async def loyalty_program(request: web.Request, user: User):
    require_staff(user)
    return _program_out(await svc.program())


@api.route("PUT", "/loyalty/program", summary="Set the loyalty program (admins); the "
           "cards' tiers are recalculated", body=ProgramIn, response=ProgramOut, tags=TAGS)
async def loyalty_program_put(request: web.Request, user: User, body: ProgramIn):
    data = body.model_dump()
    return _program_out(await svc.do_set_program(user, data, source="api"))


@api.route("GET", "/loyalty/cards", summary="The loyalty cards of the clients one sees, "
           "newest first", query=CardQuery, response=CardPage, tags=TAGS)
async def loyalty_cards(request: web.Request, user: User, query: CardQuery):
    views, total = await cards.list_cards(user, q=query.q, archived=query.archived,
                                          offset=query.offset, limit=query.limit)
    return CardPage(items=[card_out(v) for v in views], total=total)


@api.route("POST", "/loyalty/cards", summary="Issue a loyalty card to a client",
           body=CardIn, response=CardOut, tags=TAGS, status=201)
async def loyalty_card_issue(request: web.Request, user: User, body: CardIn):
    card = await cards.do_issue(user, body.model_dump(), source="api")
    return card_out(await cards.card_view(user, card.id))


@api.route("GET", "/loyalty/cards/{card_id}", summary="A loyalty card with its balance",
           response=CardOut, tags=TAGS)
async def loyalty_card(request: web.Request, user: User, card_id: int):
    return card_out(await cards.card_view(user, card_id))


@api.route("PATCH", "/loyalty/cards/{card_id}", summary="Change a card's number or block "
           "it", body=CardPatch, response=CardOut, tags=TAGS)
async def loyalty_card_patch(request: web.Request, user: User, card_id: int,
                             body: CardPatch):
    await cards.do_update(user, card_id, body.model_dump(exclude_unset=True), source="api")
    return card_out(await cards.card_view(user, card_id))


@api.route("POST", "/loyalty/cards/{card_id}/archive", summary="Archive a card",
           response=CardOut, tags=TAGS)
async def loyalty_card_archive(request: web.Request, user: User, card_id: int):
    await cards.do_archive(user, card_id, source="api")
    return card_out(await cards.card_view(user, card_id))


def move_out(m) -> MoveOut:
    return MoveOut(id=m.id, kind=str(m.kind.value), points=m.points, order_id=m.order_id,
                   order_number=m.order.number if m.order else None, amount=money(m.amount),
                   reason=m.reason, author=m.author.full_name if m.author else None,
                   created_at=m.created_at, expires_at=m.expires_at)


@api.route("GET", "/loyalty/cards/{card_id}/moves", summary="A card's moves of points, "
           "newest first, and its balance", response=MoveList, tags=TAGS)
async def loyalty_moves(request: web.Request, user: User, card_id: int):
    rows = await points.moves(user, card_id)
    return MoveList(items=[move_out(m) for m in rows], balance=await cards.balance(card_id))


@api.route("POST", "/loyalty/cards/{card_id}/redeem", summary="Redeem points against an "
           "open order of the client (a credit note on its ledger)", body=RedeemIn,
           response=MoveOut, tags=TAGS, status=201)
async def loyalty_redeem(request: web.Request, user: User, card_id: int, body: RedeemIn):
    move = await points.do_redeem(user, card_id, body.model_dump(), source="api")
    return move_out(move)


@api.route("POST", "/loyalty/cards/{card_id}/adjust", summary="Points up or down by hand, "
           "with a reason", body=AdjustIn, response=MoveOut, tags=TAGS, status=201)
async def loyalty_adjust(request: web.Request, user: User, card_id: int, body: AdjustIn):
    move = await points.do_adjust(user, card_id, body.model_dump(), source="api")
    return move_out(move)


@api.route("POST", "/loyalty/run", summary="Expire points and recalculate every card's "
           "tier now (admins and heads)", response=RunOut, tags=TAGS)
async def loyalty_run(request: web.Request, user: User):
    return RunOut(**(await runner.recalculate(user, source="api")).as_dict())


@api.route("GET", "/loyalty/analysis", summary="Repeat rate, churn by cohort and the "
           "interval between orders of the clients one sees", query=AnalysisQuery,
           response=AnalysisOut, tags=TAGS)
async def loyalty_analysis(request: web.Request, user: User, query: AnalysisQuery):
    got = await analysis_svc.analysis(user, start=query.start, end=query.end,
                                      days=query.days)
    return AnalysisOut(**got.as_dict())
