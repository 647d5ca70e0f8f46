"""/api/v1/suppliers (M-8): the registry of marketing service suppliers — clients in
the supplier role, their services at the prices agreed, their costs per campaign and how
those campaigns did. Admins and heads change it; everyone reads the suppliers among the
clients they see. The rules are services.suppliers'."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import suppliers as svc
from web.api.deal_schemas import ID, money
from web.api.routes import api
from web.session import request_source

TAGS = ["suppliers"]


class SupplierOut(BaseModel):
    client_id: int
    name: str
    since: date | None
    note: str | None
    archived: bool
    services: int = Field(description="services not archived")


class SupplierPage(BaseModel):
    items: list[SupplierOut]
    total: int


class SupplierQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    archived: bool = False
    limit: int = Field(default=30, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int | None = Field(default=None, **ID, description="an existing client; or")
    name: str | None = Field(default=None, max_length=300, description="a new client's name")
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    note: str | None = Field(default=None, max_length=2000)


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    unit: str | None = Field(default=None, max_length=40)
    price: str | None = Field(default=None, max_length=30, description="as typed: 4 500,50")
    currency: str | None = Field(default=None, max_length=3)
    agreed_on: date | str | None = None
    valid_until: date | str | None = None
    note: str | None = Field(default=None, max_length=2000)


class ServicePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=40)
    price: str | None = Field(default=None, max_length=30)
    currency: str | None = Field(default=None, max_length=3)
    agreed_on: date | str | None = None
    valid_until: date | str | None = None
    note: str | None = Field(default=None, max_length=2000)
    archived: bool | None = None


class ServiceOut(BaseModel):
    id: int
    name: str
    unit: str | None
    price: str | None
    currency: str
    agreed_on: date | None
    valid_until: date | None
    note: str | None
    archived: bool


class ServiceList(BaseModel):
    items: list[ServiceOut]


class CampaignRow(BaseModel):
    campaign_id: int
    name: str
    currency: str
    starts_on: date
    planned: str
    actual: str
    campaign_actual: str
    contacts: int
    per_contact: str | None


class FiguresOut(BaseModel):
    campaigns: list[CampaignRow]
    planned: dict[str, str]
    actual: dict[str, str]


def _supplier_out(client, role, services: int) -> SupplierOut:
    return SupplierOut(client_id=client.id, name=client.name, since=role.since,
                       note=role.note, archived=role.archived_at is not None,
                       services=services)


def service_out(s) -> ServiceOut:
    return ServiceOut(id=s.id, name=s.name, unit=s.unit, price=money(s.price),
                      currency=s.currency, agreed_on=s.agreed_on, valid_until=s.valid_until,
                      note=s.note, archived=s.archived)


async def _one(user: User, client_id: int) -> SupplierOut:
    client, role = await svc.get_supplier(user, client_id)
    count = len(await svc.services_of(user, client_id, archived=False))
    return _supplier_out(client, role, count)


@api.route("GET", "/suppliers", summary="Marketing service suppliers (M-8)",
           query=SupplierQuery, response=SupplierPage, tags=TAGS)
async def suppliers_list(request: web.Request, user: User, query: SupplierQuery):
    rows, total = await svc.list_suppliers(user, q=query.q or "", archived=query.archived,
                                           offset=query.offset, limit=query.limit)
    return SupplierPage(items=[_supplier_out(r.client, r.role, r.services) for r in rows],
                        total=total)


@api.route("POST", "/suppliers", summary="Mark a client a supplier, or make a new client "
           "one (admins and heads)", body=MarkIn, response=SupplierOut, tags=TAGS,
           status=201)
async def suppliers_mark(request: web.Request, user: User, body: MarkIn):
    if body.client_id:
        role = await svc.do_mark_supplier(user, body.client_id, body.note)
    else:
        data = body.model_dump(exclude_none=True, exclude={"client_id", "note"})
        data.setdefault("name", "")
        role = await svc.do_create_supplier(user, data, source=request_source(request))
    return await _one(user, role.client_id)


@api.route("GET", "/suppliers/{client_id}", summary="A supplier", response=SupplierOut,
           tags=TAGS)
async def suppliers_get(request: web.Request, user: User, client_id: int):
    return await _one(user, client_id)


@api.route("DELETE", "/suppliers/{client_id}", summary="Remove the supplier role "
           "(archived; its services and figures stay)", response=SupplierOut, tags=TAGS)
async def suppliers_unmark(request: web.Request, user: User, client_id: int):
    await svc.do_unmark_supplier(user, client_id)
    return await _one(user, client_id)


@api.route("GET", "/suppliers/{client_id}/services", summary="A supplier's services",
           response=ServiceList, tags=TAGS)
async def services_list(request: web.Request, user: User, client_id: int):
    return ServiceList(items=[service_out(s) for s in await svc.services_of(user, client_id)])


@api.route("POST", "/suppliers/{client_id}/services", summary="Add a service at the price "
           "agreed", body=ServiceIn, response=ServiceOut, tags=TAGS, status=201)
async def services_add(request: web.Request, user: User, client_id: int, body: ServiceIn):
    return service_out(await svc.do_add_service(user, client_id,
                                                body.model_dump(exclude_none=True)))


@api.route("PATCH", "/suppliers/services/{service_id}", summary="Change or archive a "
           "service", body=ServicePatch, response=ServiceOut, tags=TAGS)
async def services_patch(request: web.Request, user: User, service_id: int,
                         body: ServicePatch):
    data = body.model_dump(exclude_unset=True)
    if data.get("archived") is None:
        data.pop("archived", None)
    return service_out(await svc.do_update_service(user, service_id, data))


@api.route("GET", "/suppliers/{client_id}/figures", summary="The supplier's costs per "
           "campaign, contacts gained and cost per contact", response=FiguresOut, tags=TAGS)
async def suppliers_figures(request: web.Request, user: User, client_id: int):
    got = await svc.figures(user, client_id)
    return FiguresOut(
        campaigns=[CampaignRow(campaign_id=r.campaign_id, name=r.name, currency=r.currency,
                               starts_on=r.starts_on, planned=money(r.planned),
                               actual=money(r.actual),
                               campaign_actual=money(r.campaign_actual),
                               contacts=r.contacts, per_contact=money(r.per_contact))
                   for r in got.campaigns],
        planned={k: money(v) for k, v in got.planned.items()},
        actual={k: money(v) for k, v in got.actual.items()})
