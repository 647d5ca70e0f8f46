"""/api/v1/dealers: dealers (M-7) — the list with each dealer's numbers for a period,
a dealer's scorecard, marking a client as a dealer or creating one, editing, archiving,
the grade (by hand or back to the numbers), the grades computed now, the grade
settings (admins), a partner scenario applied to a dealer, and a deal's dealer.
The rules are services.dealers*'s."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kontakt.i18n import translator
from models import User
from services import dealer_cards as cards
from services import dealer_grades as grades
from services import dealers as svc
from services.dealer_figures import DealerFigures
from web.api.deal_schemas import ID, money
from web.api.routes import api

TAGS = ["dealers"]
GRADE = Literal["A", "B", "C", "auto"]


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date | None = Field(default=None, description="the first day; none: a year "
                               "before the end")
    end: date | None = Field(default=None, description="the last day; none: today")


class ListQuery(PeriodQuery):
    q: str | None = Field(default=None, max_length=100, description="part of the name")
    archived: bool = False


class FiguresOut(BaseModel):
    deals: int
    won: int
    lost: int
    open: int
    won_rate: int | None = Field(description="whole percent of the closed deals won")
    orders: int
    revenue: dict[str, str] = Field(description="per currency")
    margin: dict[str, str]
    contact_hours: float | None = Field(description="median hours to the first contact")
    contacted: int
    claims: int


class DealerOut(BaseModel):
    client_id: int
    name: str
    since: date | None
    note: str | None
    grade: str | None
    grade_manual: bool
    grade_reason: str | None
    graded_at: datetime | None
    archived: bool
    figures: FiguresOut


class DealerList(BaseModel):
    start: date
    end: date
    items: list[DealerOut]


class DealRef(BaseModel):
    id: int
    title: str
    client: str
    stage: str
    owner: str
    amount: str | None
    currency: str


class OrderRef(BaseModel):
    id: int
    number: str
    state: str
    total: str
    currency: str
    deal_id: int | None


class ScorecardOut(BaseModel):
    start: date
    end: date
    dealer: DealerOut
    deals: list[DealRef]
    orders: list[OrderRef]
    partner_deals: list[DealRef]


def _blank(value):
    """A form's empty field is no value."""
    return None if isinstance(value, str) and not value.strip() else value


class DealerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: date | None = None
    note: str | None = Field(default=None, max_length=2000)

    _blanks = field_validator("since", "note", mode="before")(_blank)


class NewDealerIn(DealerIn):
    name: str = Field(min_length=1, max_length=300)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)

    _more_blanks = field_validator("phone", "email", mode="before")(_blank)


class DealerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    grade: GRADE | None = Field(default=None, description="A, B or C by hand; auto: "
                                "from the numbers again")

    _blanks = field_validator("since", "note", mode="before")(_blank)


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = True


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process_id: int = Field(**ID, description="a process type of kind partner")


class ScenarioOut(BaseModel):
    deal_id: int
    created: bool = Field(description="false: the dealer's open deal of this process")


class GradeSettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period_days: Literal[30, 90, 180, 365] = 365
    currency: Literal["RUB", "UAH", "USD", "EUR", "KZT", "BYN"] = "RUB"
    a_revenue: str = Field(max_length=20)
    a_won_rate: int = Field(ge=0, le=100)
    b_revenue: str = Field(max_length=20)
    b_won_rate: int = Field(ge=0, le=100)


class DealDealerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                  description="an active dealer; none: no dealer")


class Choice(BaseModel):
    client_id: int
    name: str
    grade: str | None


class ChoiceList(BaseModel):
    items: list[Choice]


def figures_out(f: DealerFigures) -> FiguresOut:
    return FiguresOut(deals=f.deals, won=f.won, lost=f.lost, open=f.open,
                      won_rate=f.won_rate, orders=f.orders,
                      revenue={c: money(v) for c, v in f.revenue.items()},
                      margin={c: money(v) for c, v in f.margin.items()},
                      contact_hours=f.contact_hours, contacted=f.contacted, claims=f.claims)


def dealer_out(row: cards.DealerRow, gettext) -> DealerOut:
    r = row.role
    return DealerOut(client_id=r.client_id, name=r.client.name, since=r.since, note=r.note,
                     grade=r.grade, grade_manual=r.grade_manual,
                     grade_reason=row.reason.translated(gettext) if row.reason else None,
                     graded_at=r.graded_at, archived=r.archived_at is not None,
                     figures=figures_out(row.figures))


def deal_ref(d, gettext) -> DealRef:
    from kontakt.labels import stage_name

    return DealRef(id=d.id, title=d.title, client=d.client.name if d.client_id else "",
                   stage=stage_name(d.stage, gettext), owner=d.owner.full_name,
                   amount=money(d.amount), currency=d.currency)


async def _period(user: User, query: PeriodQuery) -> cards.Period:
    s = await grades.grade_settings()
    return cards.period(query.start, query.end, user.timezone, s.period_days)


@api.route("GET", "/dealers", summary="The dealers with their numbers for a period, by "
           "revenue (M-7)", query=ListQuery, response=DealerList, tags=TAGS)
async def dealers_list(request: web.Request, user: User, query: ListQuery):
    p = await _period(user, query)
    rows = await cards.dealer_list(user, p.since, p.till, query=query.q or "",
                                   archived=query.archived)
    gettext = translator(str(user.language))
    return DealerList(start=p.start, end=p.end, items=[dealer_out(r, gettext) for r in rows])


@api.route("POST", "/dealers", summary="A new client made a dealer (heads and admins)",
           body=NewDealerIn, response=DealerOut, tags=TAGS, status=201)
async def dealers_create(request: web.Request, user: User, body: NewDealerIn):
    data = body.model_dump(exclude_none=True)
    role = await svc.do_create_dealer(user, data, source="api")
    return await _one(request, user, role.client_id)


async def _one(request: web.Request, user: User, client_id: int) -> DealerOut:
    p = await _period(user, PeriodQuery())
    card = await cards.scorecard(user, client_id, p.since, p.till)
    return dealer_out(card.row, translator(str(user.language)))


@api.route("GET", "/dealers/choices", summary="The active dealers a deal may be given "
           "(a picker)", query=ListQuery, response=ChoiceList, tags=TAGS)
async def dealers_choices(request: web.Request, user: User, query: ListQuery):
    return ChoiceList(items=[Choice(client_id=r.client_id, name=r.client.name, grade=r.grade)
                             for r in await svc.active_dealers(user, query.q or "")])


@api.route("GET", "/dealers/{client_id}", summary="A dealer's scorecard: numbers, grade "
           "with its reason, deals, orders and partner deals", query=PeriodQuery,
           response=ScorecardOut, tags=TAGS)
async def dealers_card(request: web.Request, user: User, client_id: int, query: PeriodQuery):
    p = await _period(user, query)
    card = await cards.scorecard(user, client_id, p.since, p.till)
    gettext = translator(str(user.language))
    return ScorecardOut(
        start=p.start, end=p.end, dealer=dealer_out(card.row, gettext),
        deals=[deal_ref(d, gettext) for d in card.deals],
        orders=[OrderRef(id=o.id, number=o.number, state=str(o.state), total=money(o.total),
                         currency=o.currency, deal_id=o.deal_id) for o in card.orders],
        partner_deals=[deal_ref(d, gettext) for d in card.partner_deals])


@api.route("PUT", "/dealers/{client_id}", summary="Make a client a dealer (or restore "
           "the role; heads and admins)", body=DealerIn, response=DealerOut, tags=TAGS)
async def dealers_mark(request: web.Request, user: User, client_id: int, body: DealerIn):
    await svc.do_mark_dealer(user, client_id, body.model_dump(exclude_unset=True),
                             source="api")
    return await _one(request, user, client_id)


@api.route("PATCH", "/dealers/{client_id}", summary="Change a dealer's date since, note "
           "or grade (heads and admins)", body=DealerPatch, response=DealerOut, tags=TAGS)
async def dealers_patch(request: web.Request, user: User, client_id: int, body: DealerPatch):
    data = body.model_dump(exclude_unset=True)
    if "grade" in data and data["grade"] is None:
        data["grade"] = "auto"
    await svc.do_update_dealer(user, client_id, data, source="api")
    return await _one(request, user, client_id)


@api.route("POST", "/dealers/{client_id}/archive", summary="Archive (or restore) the "
           "dealer role", body=ArchiveIn, response=DealerOut, tags=TAGS)
async def dealers_archive(request: web.Request, user: User, client_id: int, body: ArchiveIn):
    await svc.do_archive_dealer(user, client_id, body.archived, source="api")
    return await _one(request, user, client_id)


@api.route("POST", "/dealers/{client_id}/scenarios", summary="Apply a partner process "
           "to the dealer: its deal (once while open) with the stage's tasks",
           body=ScenarioIn, response=ScenarioOut, tags=TAGS, status=201)
async def dealers_scenario(request: web.Request, user: User, client_id: int,
                           body: ScenarioIn):
    from web.api.activities import after_change

    applied = await cards.do_apply_scenario(user, client_id, body.process_id, source="api")
    await after_change(request, applied.notices)
    return ScenarioOut(deal_id=applied.deal.id, created=applied.created)


@api.route("POST", "/dealer-grades", summary="Grade every dealer from its numbers now "
           "(heads and admins); how many got each grade", tags=TAGS)
async def dealer_grades_run(request: web.Request, user: User):
    return await grades.do_grade_now(user)


@api.route("GET", "/dealer-grades/settings", summary="The grade thresholds",
           response=GradeSettingsIO, tags=TAGS)
async def dealer_grade_settings(request: web.Request, user: User):
    svc.require_staff(user)
    return GradeSettingsIO(**(await grades.grade_settings()).as_dict())


@api.route("PUT", "/dealer-grades/settings", summary="Set the grade thresholds (admins)",
           body=GradeSettingsIO, response=GradeSettingsIO, tags=TAGS)
async def dealer_grade_settings_put(request: web.Request, user: User, body: GradeSettingsIO):
    s = await grades.do_set_grade_settings(user, body.model_dump())
    return GradeSettingsIO(**s.as_dict())


@api.route("PUT", "/deals/{deal_id}/dealer", summary="Set or clear the dealer a deal came "
           "through (M-7)", body=DealDealerIn, tags=TAGS)
async def deal_dealer_put(request: web.Request, user: User, deal_id: int,
                          body: DealDealerIn):
    party = await svc.do_set_deal_dealer(user, deal_id, body.client_id, source="api")
    return {"deal_id": deal_id, "client_id": party.client_id if party else None}
