"""/api/v1/ranking: the clients' ABC/XYZ/RFM ranking (K-8) — the counts, the ranked
clients a page at a time with filters, the admin's settings and a run on demand
(admins and heads). The rules are services.ranking's; who sees what,
services.ranking_results'."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import ranking as svc
from services import ranking_results as results
from services import ranking_run as runner
from services.permissions import require_admin
from web.api.routes import api

Abc = Literal["A", "B", "C"]
Xyz = Literal["X", "Y", "Z"]
SegmentCode = Literal["champions", "loyal", "at_risk", "new", "promising",
                      "needs_attention", "about_to_sleep", "hibernating"]


class RankSettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    basis: Literal["margin", "revenue"] = Field(description="what ABC ranks by")
    months: int = Field(ge=1, le=36, description="the rolling period, months up to the run")
    a: str = Field(max_length=10, description="A: cumulative share up to this percent")
    b: str = Field(max_length=10, description="B: the next percent (C is the rest)")
    x: str = Field(max_length=10, description="X: coefficient of variation up to this %")
    y: str = Field(max_length=10, description="Y: up to this %; Z above")
    currency: str = Field(min_length=3, max_length=3, description="the company currency")


class RankSettingsOut(RankSettingsIO):
    c: str = Field(description="C: what A and B leave")


class RunOut(BaseModel):
    ranked: int
    classes: dict[str, int]
    moved: int
    dropped: int = Field(description="clients that dropped out of A")
    tasks: int = Field(description="tasks made for their managers")
    missing: list[str] = Field(description="currencies and days without a rate: left out")
    at: str


class SummaryOut(BaseModel):
    matrix: dict[str, dict[str, int]] = Field(description="ABC × XYZ counts")
    segments: dict[str, int]
    total: int
    last_run: RunOut | None
    may_run: bool
    basis: str
    months: int


class RankRow(BaseModel):
    client_id: int
    client: str
    abc: str
    xyz: str
    r: int
    f: int
    m: int
    rfm: str
    segment: str
    revenue: str
    margin: str
    share: str = Field(description="cumulative share in ABC, percent")
    cv: str | None = Field(description="coefficient of variation of monthly revenue, %")
    orders: int
    last_order_at: datetime


class RankPage(BaseModel):
    items: list[RankRow]
    total: int = Field(description="the ranked clients one sees with these filters")


class RankQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    abc: Abc | None = None
    xyz: Xyz | None = None
    segment: SegmentCode | None = None
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


def _settings_out(s: svc.RankSettings) -> RankSettingsOut:
    return RankSettingsOut(**s.as_dict())


@api.route("GET", "/ranking", summary="ABC × XYZ counts and RFM segments of the clients "
           "one sees (K-8)", response=SummaryOut, tags=["ranking"])
async def ranking_summary(request: web.Request, user: User):
    s = await results.summary(user)
    last = await runner.last_run()
    settings = await svc.rank_settings()
    return SummaryOut(matrix=s.matrix, segments=s.segments, total=s.total,
                      last_run=RunOut(**last) if last else None, may_run=svc.may_run(user),
                      basis=settings.basis, months=settings.months)


@api.route("GET", "/ranking/clients", summary="The ranked clients one sees, by ABC "
           "share, filtered by class or segment, a page at a time (K-8)", query=RankQuery,
           response=RankPage, tags=["ranking"])
async def ranking_clients(request: web.Request, user: User, query: RankQuery):
    rows, total = await results.results(user, abc=query.abc, xyz=query.xyz,
                                        segment=query.segment, offset=query.offset,
                                        limit=query.limit)
    return RankPage(items=[RankRow(**results.row_dict(r)) for r in rows], total=total)


@api.route("GET", "/ranking/settings", summary="The ranking's settings (admins)",
           response=RankSettingsOut, tags=["ranking"])
async def ranking_settings_get(request: web.Request, user: User):
    require_admin(user)
    return _settings_out(await svc.rank_settings())


@api.route("PUT", "/ranking/settings", summary="Set the ranking's basis, period, limits "
           "and currency (admins)", body=RankSettingsIO, response=RankSettingsOut,
           tags=["ranking"])
async def ranking_settings_put(request: web.Request, user: User, body: RankSettingsIO):
    return _settings_out(await svc.do_set_settings(user, body.model_dump()))


@api.route("POST", "/ranking/run", summary="Rank every client now and regroup them "
           "(admins and heads)", response=RunOut, tags=["ranking"])
async def ranking_run(request: web.Request, user: User):
    report = await runner.run(user, source="api")
    return RunOut(**report.as_dict())
