"""/api/v1 product matrices (issue 13: S-22): the organisation's by business sphere
(admins tick products), one's own ("my products") and a client's. Rules in
services.matrices."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import matrices as svc
from services.price_admin import MAX_PAGE
from web.api.routes import api

TAGS = ["matrices"]


class SphereOut(BaseModel):
    id: int
    name: str


class SphereList(BaseModel):
    items: list[SphereOut]


class MatrixQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=200)
    only_on: bool = False
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=MAX_PAGE)


class TickOut(BaseModel):
    product_id: int
    name: str
    code: str | None
    unit: str
    on: bool


class TickPage(BaseModel):
    items: list[TickOut]
    page: int
    more: bool


class OnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool


def _tick(p, on: bool) -> TickOut:
    return TickOut(product_id=p.id, name=p.name, code=p.code, unit=p.unit, on=on)


class TickList(BaseModel):
    items: list[TickOut]


@api.route("GET", "/matrix/spheres", summary="The business spheres of the matrix (S-22)",
           response=SphereList, tags=TAGS)
async def spheres_get(request: web.Request, user: User):
    return SphereList(items=[SphereOut(id=s.id, name=s.name) for s in await svc.spheres()])


@api.route("GET", "/matrix/spheres/{sphere_id}/products", summary="A page of products, each "
           "ticked when in the sphere's matrix", query=MatrixQuery, response=TickPage,
           tags=TAGS)
async def sphere_products(request: web.Request, user: User, sphere_id: int,
                          query: MatrixQuery):
    rows, more = await svc.sphere_products(sphere_id, q=query.q, only_on=query.only_on,
                                           page=query.page, per_page=query.per_page)
    return TickPage(items=[_tick(t.product, t.on) for t in rows], page=query.page, more=more)


@api.route("PUT", "/matrix/spheres/{sphere_id}/products/{product_id}", summary="Tick or "
           "untick a product in a sphere's matrix (admins)", body=OnIn, response=OnIn,
           tags=TAGS)
async def sphere_product_put(request: web.Request, user: User, sphere_id: int,
                             product_id: int, body: OnIn):
    return OnIn(on=await svc.do_set_matrix(user, sphere_id, product_id, body.on))


@api.route("GET", "/my-products", summary="The products I track (my own matrix)",
           response=TickList, tags=TAGS)
async def my_products_get(request: web.Request, user: User):
    return TickList(items=[_tick(p, True) for p in await svc.my_products(user)])


@api.route("PUT", "/my-products/{product_id}", summary="Track a product or stop tracking it",
           body=OnIn, response=OnIn, tags=TAGS)
async def my_product_put(request: web.Request, user: User, product_id: int, body: OnIn):
    return OnIn(on=await svc.do_track(user, product_id, body.on))


@api.route("GET", "/clients/{client_id}/matrix", summary="The products for a client: its "
           "spheres' matrix", response=TickList, tags=TAGS)
async def client_matrix_get(request: web.Request, user: User, client_id: int):
    return TickList(items=[_tick(p, True) for p in
                           await svc.client_products(user, client_id)])
