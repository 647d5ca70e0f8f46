"""/api/v1/plans/sales: sales plans per person and month against the fact (S-26), set
in bulk from the page's grid or an XLSX file."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import sales_plan_subjects as subjects
from services import sales_plans as svc
from services import sales_plans_io as io_svc
from services.errors import PermissionDenied, ValidationFailed
from web.api.framework import MAX_ID, NO_RIGHT, read_upload, refusal, said
from web.api.routes import api
from web.imports import file_response

TAGS = ["plans"]
MONTH = r"^\d{4}-\d{2}$"


class SalesPlanQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH, description="YYYY-MM")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class SalesPlanOut(BaseModel):
    id: int
    user_id: int
    full_name: str
    metric: str
    subject: str
    product_id: int | None
    category_id: int | None
    currency: str | None
    target: Decimal
    fact: Decimal
    percent: int | None


class TotalOut(BaseModel):
    metric: str
    subject: str
    currency: str | None
    target: Decimal
    fact: Decimal
    percent: int | None


class SalesPlanList(BaseModel):
    items: list[SalesPlanOut]
    totals: list[TotalOut]


class CellIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=MAX_ID)
    metric: str = Field(max_length=16)
    target: str | None = Field(default=None, max_length=40,
                               description="empty or null removes the plan")
    product_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    currency: str | None = Field(default=None, max_length=3)
    where: str = Field(default="", max_length=300, description="how errors name the cell")


class CellsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH)
    cells: list[CellIn] = Field(max_length=svc.MAX_CELLS)


class WrittenOut(BaseModel):
    written: int


@api.route("GET", "/plans/sales", summary="Sales plans of a month against the fact (S-26)",
           query=SalesPlanQuery, response=SalesPlanList, tags=TAGS)
async def plans_get(request: web.Request, user: User, query: SalesPlanQuery):
    rows = await svc.plans_vs_fact(user, query.month, department_id=query.department_id,
                                   user_id=query.user_id)
    return SalesPlanList(
        items=[SalesPlanOut(id=r.plan_id, user_id=r.user_id, full_name=r.full_name,
                            metric=r.metric.value, subject=r.subject,
                            product_id=r.product_id, category_id=r.category_id,
                            currency=r.currency, target=r.target, fact=r.fact,
                            percent=r.percent) for r in rows],
        totals=[TotalOut(metric=t.metric.value, subject=t.subject, currency=t.currency,
                         target=t.target, fact=t.fact, percent=t.percent)
                for t in svc.totals(rows)])


@api.route("PUT", "/plans/sales", summary="Set many sales plans of a month at once "
           "(admins; heads for their departments): all or nothing", body=CellsIn,
           response=WrittenOut, tags=TAGS)
async def plans_put(request: web.Request, user: User, body: CellsIn):
    cells = [svc.Cell(c.user_id, c.metric, c.target, product_id=c.product_id,
                      category_id=c.category_id, currency=c.currency, where=c.where)
             for c in body.cells]
    return WrittenOut(written=await svc.do_set_plans(user, body.month, cells))


class SubjectQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(default="", max_length=200, description="name, code or barcode")


class SubjectOut(BaseModel):
    code: str = Field(description="p<id> a product, c<id> a category")
    kind: str
    id: int
    name: str


class SubjectList(BaseModel):
    items: list[SubjectOut]


@api.route("GET", "/plans/subjects", summary="Products and categories a plan may be "
           "about (S-26), found by name, code or barcode", query=SubjectQuery,
           response=SubjectList, tags=TAGS)
async def subjects_get(request: web.Request, user: User, query: SubjectQuery):
    found = await subjects.search_subjects(user, query.q)
    return SubjectList(items=[SubjectOut(code=s.code, kind=s.kind, id=s.id, name=s.name)
                              for s in found])


async def upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/plans/sales/upload?month=YYYY-MM: an XLSX of plans (multipart
    "file"); all or nothing, every bad cell named."""
    def before(user, lang):  # a right checked before anything is read
        return None if svc.may_set_plans(user) else said(403, NO_RIGHT, lang)

    got = await read_upload(request, io_svc.MAX_BYTES, before)
    if isinstance(got, web.Response):
        return got
    user, lang, _filename, data = got
    try:
        written = await io_svc.do_upload(user, request.query.get("month", ""), data)
    except PermissionDenied:
        return said(403, NO_RIGHT, lang)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    return web.json_response({"written": written})


async def template(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/plans/sales/template.xlsx: the sheet to fill, headers in the
    person's language."""
    from web.session import current_user

    user = await current_user(request)
    if user is None:
        return web.Response(status=401)
    data = await asyncio.to_thread(io_svc.template_xlsx, str(user.language))
    return file_response(data, "xlsx", "plans")
