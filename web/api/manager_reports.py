"""/api/v1/reports for the manager report (S-27): revenue and margin per person as a
chart image, each person's deal funnel, and the records behind any figure."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kontakt.i18n import translator
from kontakt.labels import stage_name
from models import User
from services import manager_charts, manager_funnel, manager_report
from services.errors import N_
from web.api.framework import MAX_ID
from web.api.reports import PeriodQuery
from web.api.routes import api

TAGS = ["reports"]


class ChartQuery(PeriodQuery):
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$",
                                 description="the currency drawn (the most sold otherwise)")


class StageOut(BaseModel):
    id: int
    name: str
    process: str
    kind: str


class FunnelRowOut(BaseModel):
    user_id: int
    full_name: str
    entered: dict[int, int] = Field(description="stage id -> deals that entered it")


class FunnelOut(BaseModel):
    stages: list[StageOut]
    rows: list[FunnelRowOut]


class RecordsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(orders|won|lost|stage)$")
    user_id: int = Field(ge=1, le=MAX_ID)
    stage_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    start: AwareDatetime
    end: AwareDatetime
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class RecordOut(BaseModel):
    kind: str
    id: int
    title: str
    client: str
    when: datetime | None
    amount: Decimal | None
    currency: str | None


class RecordList(BaseModel):
    items: list[RecordOut]
    total: int


async def sales_chart(user: User, start, end, *, department_id: int | None = None,
                      currency: str | None = None) -> bytes:
    """The revenue and margin chart of the people ``user`` sees, drawn in a thread."""
    rows = await manager_report.manager_report(user, start, end, department_id=department_id)
    gettext = translator(str(user.language))
    cur = currency or manager_charts.chart_currency(rows)
    points = manager_charts.chart_points(rows, cur)
    title = gettext(N_("Revenue and margin, {currency}")).format(currency=cur)
    labels = {"revenue_label": gettext(N_("Revenue")), "margin_label": gettext(N_("Margin")),
              "empty_text": gettext(N_("No sales in this period"))}
    return await asyncio.to_thread(manager_charts.sales_chart_png, points, title, **labels)


@api.route("GET", "/reports/sales.png", summary="Revenue and margin per person as a chart "
           "image (S-27)", query=ChartQuery, tags=TAGS)
async def sales_png(request: web.Request, user: User, query: ChartQuery):
    png = await sales_chart(user, query.start, query.end, department_id=query.department_id,
                            currency=query.currency)
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


@api.route("GET", "/reports/manager-funnel", summary="Per person, the deals that entered "
           "each stage in the period (S-27)", query=PeriodQuery, response=FunnelOut,
           tags=TAGS)
async def funnel_get(request: web.Request, user: User, query: PeriodQuery):
    f = await manager_funnel.manager_funnel(user, query.start, query.end,
                                            department_id=query.department_id)
    gettext = translator(str(user.language))
    return FunnelOut(
        stages=[StageOut(id=s.id, name=stage_name(s, gettext), process=s.process.name,
                         kind=str(s.kind)) for s in f.stages],
        rows=[FunnelRowOut(user_id=uid, full_name=name, entered=f.counts.get(uid, {}))
              for uid, name in f.people])


@api.route("GET", "/reports/records", summary="The orders or deals behind one figure of "
           "the manager report or its funnel (S-27)", query=RecordsQuery, response=RecordList,
           tags=TAGS)
async def records_get(request: web.Request, user: User, query: RecordsQuery):
    rows, total = await manager_report.records(
        user, query.kind, query.user_id, query.start, query.end,
        department_id=query.department_id, stage_id=query.stage_id)
    return RecordList(items=[RecordOut(kind=r.kind, id=r.id, title=r.title, client=r.client,
                                       when=r.when, amount=r.amount, currency=r.currency)
                             for r in rows], total=total)
