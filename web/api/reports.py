"""/api/v1/reports and /api/v1/plans: activities per person and type (S-27), work
plans and plan vs fact (M-14), reaction time (M-16). Aggregation is done in SQL by
services.analytics."""

from __future__ import annotations

import asyncio
from datetime import date

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kontakt.i18n import translator
from kontakt.labels import with_type_names
from models import User
from services import analytics
from web.api.framework import MAX_ID
from web.api.routes import api


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    end: AwareDatetime
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CountRow(BaseModel):
    user_id: int
    full_name: str
    total: int
    by_type: dict[str, int]


class ActivitiesReport(BaseModel):
    types: dict[str, str]
    rows: list[CountRow]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=MAX_ID)
    period: str = Field(pattern="^(month|day)$")
    period_start: date
    type: str = Field(min_length=1, max_length=32)
    target: int = Field(ge=0, le=10000)


class PlanQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(default="month", pattern="^(month|day)$")
    period_start: date
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PlanRowOut(BaseModel):
    user_id: int
    full_name: str
    type_code: str
    target: int
    fact: int
    percent: int | None


class PlanReport(BaseModel):
    rows: list[PlanRowOut]
    totals: dict[str, tuple[int, int]]


class ReactionOut(BaseModel):
    user_id: int
    full_name: str
    requests: int
    answered: int
    median_minutes: float | None
    p90_minutes: float | None


class ReactionReport(BaseModel):
    rows: list[ReactionOut]


@api.route("GET", "/reports/activities", summary="Done activities per person and type "
           "(S-27)", query=PeriodQuery, response=ActivitiesReport, tags=["reports"])
async def activities_report(request: web.Request, user: User, query: PeriodQuery):
    table = with_type_names(await analytics.activities_by_manager_and_type(
        user, query.start, query.end, department_id=query.department_id),
        translator(str(user.language)))
    return ActivitiesReport(types=dict(table.types), rows=[
        CountRow(user_id=uid, full_name=name, total=table.totals.get(uid, 0),
                 by_type={code: table.count(uid, code) for code, _n in table.types
                          if table.count(uid, code)}) for uid, name in table.people])


@api.route("GET", "/reports/activities.png", summary="The same as a chart image (S-27)",
           query=PeriodQuery, tags=["reports"])
async def activities_chart(request: web.Request, user: User, query: PeriodQuery):
    table = with_type_names(await analytics.activities_by_manager_and_type(
        user, query.start, query.end, department_id=query.department_id),
        translator(str(user.language)))
    title = f"{query.start:%d.%m.%Y} – {query.end:%d.%m.%Y}"
    png = await asyncio.get_running_loop().run_in_executor(
        None, lambda: analytics.chart_png(table, title))
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


@api.route("PUT", "/plans", summary="Set a work plan target (M-14; heads and admins)",
           body=PlanIn, response=PlanRowOut, tags=["reports"])
async def plan_put(request: web.Request, user: User, body: PlanIn):
    plan = await analytics.do_set_plan(user, body.user_id, body.period, body.period_start,
                                       body.type, body.target)
    rows = await analytics.plan_vs_fact(user, body.period, plan.period_start)
    row = next(r for r in rows if r.user_id == body.user_id and r.type_code == body.type)
    return PlanRowOut(**row.__dict__)


@api.route("GET", "/reports/plans", summary="Plan vs fact (M-14)", query=PlanQuery,
           response=PlanReport, tags=["reports"])
async def plans_report(request: web.Request, user: User, query: PlanQuery):
    rows = await analytics.plan_vs_fact(user, query.period, query.period_start,
                                        department_id=query.department_id)
    return PlanReport(rows=[PlanRowOut(**r.__dict__) for r in rows],
                      totals=analytics.department_totals(rows))


@api.route("GET", "/reports/reaction", summary="Reaction time to inbound requests (M-16)",
           query=PeriodQuery, response=ReactionReport, tags=["reports"])
async def reaction_report(request: web.Request, user: User, query: PeriodQuery):
    rows = await analytics.reaction_times(user, query.start, query.end,
                                          department_id=query.department_id)
    return ReactionReport(rows=[ReactionOut(**r.__dict__) for r in rows])
