"""/api/v1/bonus-schemes and /api/v1/bonus-statements: K-9 motivation — bonus and
penalty schemes with steps, the monthly statements per person, the records behind
each line, approval and reopening. The rules are in services.motivation and
services.motivation_statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.labels import plan_amount
from models import BonusScheme, User
from services import motivation as svc
from services import motivation_statements as st_svc
from services.errors import NotFound
from web.api.framework import MAX_ID
from web.api.routes import api

TAGS = ["motivation"]
MONTH = r"^\d{4}-\d{2}$"
Typed = str | Decimal | None  # a bound or a value as typed ("1 000,5"), checked by the service


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lower: Typed = Field(default=None, description="percent over (bonus) or short of "
                         "(penalty) plan; exclusive, the first row's inclusive")
    upper: Typed = Field(default=None, description="inclusive; empty: no end (last row)")
    value: Typed = Field(default=None, description="a percent of the fact, or a sum")


class SchemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=300)
    metric: str = Field(max_length=16, description="revenue | margin | deals_won | "
                        "activities | documents | payments")
    activity_type_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: str = Field(default="bonus", max_length=10, description="bonus | penalty")
    base: str = Field(default="percent", max_length=10, description="percent | fixed")
    currency: str | None = Field(default=None, max_length=3)
    reach: str = Field(default="everyone", max_length=12,
                       description="everyone | department | people")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    people: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=svc.MAX_PEOPLE)
    active_from: str = Field(pattern=MONTH, description="YYYY-MM")
    active_to: str | None = Field(default=None, pattern=MONTH)
    steps: list[StepIn] = Field(max_length=svc.MAX_STEPS)


class StepOut(BaseModel):
    lower: Decimal
    upper: Decimal | None
    value: Decimal


class SchemeOut(BaseModel):
    id: int
    name: str
    metric: str
    activity_type_id: int | None
    kind: str
    base: str
    currency: str
    reach: str
    department_id: int | None
    people: list[int]
    active_from: str
    active_to: str | None
    archived: bool
    steps: list[StepOut]


class SchemeList(BaseModel):
    items: list[SchemeOut]
    may_edit: bool


class SchemeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = False


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = True


class MonthQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH, description="YYYY-MM")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class LineOut(BaseModel):
    position: int
    scheme_id: int | None
    scheme_name: str
    metric: str
    kind: str
    base: str
    currency: str
    plan: Decimal
    fact: Decimal
    achievement: Decimal = Field(description="fact / plan, percent")
    step: int | None = Field(description="the row of the scale applied (1-based)")
    rate: Decimal | None
    amount: Decimal


class StatementOut(BaseModel):
    user_id: int
    full_name: str
    month: str
    state: str
    totals: dict[str, Decimal]
    achievement: Decimal | None
    lines: list[LineOut]
    unplanned: list[str] = Field(description="schemes for the person without a plan")
    approved_by: str | None
    approved_at: datetime | None
    may_approve: bool


class StatementList(BaseModel):
    items: list[StatementOut]


class SourcesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: int = Field(default=0, ge=0, le=10**6)
    limit: int = Field(default=50, ge=1, le=500)


class SourceOut(BaseModel):
    kind: str = Field(description="order | invoice | deal | payment | activity")
    id: int
    label: str
    amount: Decimal
    currency: str | None
    amount_text: str = Field(description="the amount as people write it: 15 830,40 RUB")
    at: str
    client_id: int | None


class SourceList(BaseModel):
    total: int
    items: list[SourceOut]


def scheme_out(s: BonusScheme) -> SchemeOut:
    return SchemeOut(
        id=s.id, name=s.name, metric=str(s.metric), activity_type_id=s.activity_type_id,
        kind=str(s.kind), base=str(s.base), currency=s.currency, reach=str(s.reach),
        department_id=s.department_id, people=list(s.people or []),
        active_from=s.active_from.strftime("%Y-%m"),
        active_to=s.active_to.strftime("%Y-%m") if s.active_to else None,
        archived=s.archived, steps=[StepOut(lower=x.lower, upper=x.upper, value=x.value)
                                    for x in svc.steps_of(s)])


def statement_out(st: st_svc.Statement, may_approve: bool) -> StatementOut:
    return StatementOut(
        user_id=st.user_id, full_name=st.full_name, month=st.month.strftime("%Y-%m"),
        state=str(st.state), totals=st.totals, achievement=st.achievement,
        lines=[LineOut(position=n, scheme_id=x.scheme_id, scheme_name=x.scheme_name,
                       metric=x.metric, kind=x.kind, base=x.base, currency=x.currency,
                       plan=x.plan, fact=x.fact, achievement=x.achievement, step=x.step,
                       rate=x.rate, amount=x.amount) for n, x in enumerate(st.lines)],
        unplanned=st.unplanned, approved_by=st.approved_by, approved_at=st.approved_at,
        may_approve=may_approve)


def _data(body: SchemeIn) -> svc.SchemeIn:
    return svc.SchemeIn(
        name=body.name, metric=body.metric, kind=body.kind, base=body.base,
        currency=body.currency, steps=[s.model_dump() for s in body.steps], reach=body.reach,
        department_id=body.department_id, people=body.people, active_from=body.active_from,
        active_to=body.active_to, activity_type_id=body.activity_type_id)


@api.route("GET", "/bonus-schemes", summary="Bonus and penalty schemes (K-9)",
           query=SchemeQuery, response=SchemeList, tags=TAGS)
async def schemes_list(request: web.Request, user: User, query: SchemeQuery):
    items = await svc.list_schemes(user, archived=query.archived)
    return SchemeList(items=[scheme_out(s) for s in items], may_edit=svc.may_edit_schemes(user))


@api.route("POST", "/bonus-schemes", summary="Make a bonus or penalty scheme (admins; heads "
           "for their departments); every bad row of the scale named", body=SchemeIn,
           response=SchemeOut, tags=TAGS, status=201)
async def schemes_create(request: web.Request, user: User, body: SchemeIn):
    scheme = await svc.do_save_scheme(user, _data(body))
    return scheme_out(await svc.get_scheme(user, scheme.id))


@api.route("GET", "/bonus-schemes/{scheme_id}", summary="One scheme with its rows",
           response=SchemeOut, tags=TAGS)
async def schemes_get(request: web.Request, user: User, scheme_id: int):
    return scheme_out(await svc.get_scheme(user, scheme_id))


@api.route("PUT", "/bonus-schemes/{scheme_id}", summary="Change a scheme (its rows are "
           "replaced)", body=SchemeIn, response=SchemeOut, tags=TAGS)
async def schemes_put(request: web.Request, user: User, scheme_id: int, body: SchemeIn):
    await svc.do_save_scheme(user, _data(body), scheme_id)
    return scheme_out(await svc.get_scheme(user, scheme_id))


@api.route("POST", "/bonus-schemes/{scheme_id}/archive", summary="Archive a scheme or "
           "bring it back", body=ArchiveIn, response=SchemeOut, tags=TAGS)
async def schemes_archive(request: web.Request, user: User, scheme_id: int, body: ArchiveIn):
    await svc.do_archive_scheme(user, scheme_id, body.archived)
    return scheme_out(await svc.get_scheme(user, scheme_id))


@api.route("DELETE", "/bonus-schemes/{scheme_id}", summary="Delete a scheme (approved "
           "statements keep their lines)", tags=TAGS)
async def schemes_delete(request: web.Request, user: User, scheme_id: int):
    await svc.do_delete_scheme(user, scheme_id)
    return {"deleted": scheme_id}


@api.route("GET", "/bonus-statements", summary="Every statement of a month the person may "
           "see: a manager their own, a head their departments', an admin all",
           query=MonthQuery, response=StatementList, tags=TAGS)
async def statements_list(request: web.Request, user: User, query: MonthQuery):
    items = await st_svc.compute_month(user, query.month, department_id=query.department_id)
    reach = await st_svc.approver_reach(user)
    return StatementList(items=[statement_out(s, st_svc.approves(user, reach, s))
                                for s in items])


def _month(raw: str) -> str:
    import re

    if not re.fullmatch(MONTH, raw):
        raise NotFound("statement")
    return raw


async def _one(user: User, user_id: int, month: str) -> StatementOut:
    st = await st_svc.statement(user, user_id, _month(month))
    return statement_out(st, st_svc.approves(user, await st_svc.approver_reach(user), st))


@api.route("GET", "/bonus-statements/{user_id}/{month}", summary="One person's statement "
           "of a month (YYYY-MM)", response=StatementOut, tags=TAGS)
async def statements_get(request: web.Request, user: User, user_id: int, month: str):
    return await _one(user, user_id, month)


@api.route("GET", "/bonus-statements/{user_id}/{month}/lines/{line_no}/sources",
           summary="The deals, orders, payments or activities a line's fact comes from, "
           "a page at a time", query=SourcesQuery, response=SourceList, tags=TAGS)
async def statements_sources(request: web.Request, user: User, user_id: int, month: str,
                             line_no: str, query: SourcesQuery):
    if not line_no.isdigit() or len(line_no) > 4:
        raise NotFound("line")
    total, items = await st_svc.line_sources(user, user_id, _month(month), int(line_no),
                                             offset=query.offset, limit=query.limit)
    return SourceList(total=total, items=[SourceOut(
        kind=i.kind, id=i.id, label=i.label, amount=i.amount, currency=i.currency,
        amount_text=plan_amount(i.amount, i.currency) if i.currency else "", at=i.at,
        client_id=i.client_id) for i in items])


@api.route("POST", "/bonus-statements/{user_id}/{month}/approve", summary="Approve a "
           "statement: it is frozen as it is now (the person's head or an admin)",
           response=StatementOut, tags=TAGS)
async def statements_approve(request: web.Request, user: User, user_id: int, month: str):
    await st_svc.do_approve(user, user_id, _month(month))
    return await _one(user, user_id, month)


@api.route("POST", "/bonus-statements/{user_id}/{month}/reopen", summary="Reopen an "
           "approved statement: a draft again", response=StatementOut, tags=TAGS)
async def statements_reopen(request: web.Request, user: User, user_id: int, month: str):
    await st_svc.do_reopen(user, user_id, _month(month))
    return await _one(user, user_id, month)
