"""The lists activities choose from and the organizer's settings over JSON: types and
categories (A-7) and products (S-12), read by everyone and added by admins (changed
and archived in web/api/settings_admin.py), and the digest hour and the escalation
delay (S-18, K-15)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.i18n import translator
from models import User
from services import activities as svc
from web.api.activities import TypeOut, type_out
from web.api.routes import api


class CategoryOut(BaseModel):
    id: int
    name: str
    colour: str


class TypeList(BaseModel):
    types: list[TypeOut]
    categories: list[CategoryOut]


@api.route("GET", "/activity-types", summary="Activity types and categories (A-7)",
           response=TypeList, tags=["activities"])
async def types_list(request: web.Request, user: User):
    gettext = translator(str(user.language))
    return TypeList(types=[type_out(t, gettext) for t in await svc.list_types()],
                    categories=[CategoryOut(id=c.id, name=c.name, colour=c.colour)
                                for c in await svc.list_categories()])


class OrganizerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    digest_hour: int = Field(ge=0, le=23, description="local hour of the morning digest")
    escalation_hours: int = Field(ge=0, le=720, description="overdue this long → the "
                                  "supervisor is told; 0 never")


@api.route("GET", "/settings/organizer", summary="Digest hour and escalation delay",
           response=OrganizerSettings, tags=["activities"])
async def organizer_get(request: web.Request, user: User):
    return OrganizerSettings(**await svc.organizer_settings())


@api.route("PUT", "/settings/organizer", summary="Set the digest hour and the escalation "
           "delay (admins)", body=OrganizerSettings, response=OrganizerSettings,
           tags=["activities"])
async def organizer_put(request: web.Request, user: User, body: OrganizerSettings):
    return OrganizerSettings(**await svc.do_set_organizer_settings(
        user, body.digest_hour, body.escalation_hours))


class TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["event", "task"] = "task"
    icon: str = Field(default="", max_length=8)


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    code: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=100)
    unit: str = Field(default="шт", min_length=1, max_length=16)


class ProductOut(ProductIn):
    id: int


class ProductList(BaseModel):
    items: list[ProductOut]


@api.route("POST", "/activity-types", summary="Add an activity type (A-7, admins)",
           body=TypeIn, response=TypeOut, tags=["activities"], status=201)
async def types_add(request: web.Request, user: User, body: TypeIn):
    return type_out(await svc.do_add_type(user, body.name, body.kind, body.icon))


@api.route("POST", "/activity-categories", summary="Add a category with a colour (A-7, "
           "admins)", body=CategoryIn, response=CategoryOut, tags=["activities"], status=201)
async def categories_add(request: web.Request, user: User, body: CategoryIn):
    c = await svc.do_add_category(user, body.name, body.colour)
    return CategoryOut(id=c.id, name=c.name, colour=c.colour)


@api.route("GET", "/products", summary="The product catalogue (S-12)", response=ProductList,
           tags=["activities"])
async def products_list(request: web.Request, user: User):
    return ProductList(items=[ProductOut(id=p.id, name=p.name, code=p.code,
                                         category=p.category, unit=p.unit)
                              for p in await svc.list_products()])


@api.route("POST", "/products", summary="Add a product (admins)", body=ProductIn,
           response=ProductOut, tags=["activities"], status=201)
async def products_add(request: web.Request, user: User, body: ProductIn):
    p = await svc.do_add_product(user, body.model_dump())
    return ProductOut(id=p.id, name=p.name, code=p.code, category=p.category, unit=p.unit)
