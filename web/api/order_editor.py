"""/api/v1 for the order editor of the Mini App (issue 13: S-17, K-4, K-5, S-22): the
list of orders, a draft's header, the product picker (price and free stock per
product, the client's matrix) and each line's stock. Every rule is in
services.order_editing; the lines and the states are web/api/orders.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import order_editing as svc
from web.api.deal_schemas import ID, money
from web.api.orders import OrderOut, ProductOut, _order_out, _product
from web.api.routes import api

STATE = Literal["draft", "posted", "shipped", "closed", "cancelled"]


class OrderQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: STATE | None = None
    client_id: int | None = Field(default=None, **ID)
    deal_id: int | None = Field(default=None, **ID)
    mine: bool = False


class OrderRow(BaseModel):
    id: int
    number: str
    state: STATE
    client_id: int
    client: str
    deal_id: int | None
    owner: str
    total: str
    currency: str
    created_at: datetime


class OrderList(BaseModel):
    items: list[OrderRow]


class HeaderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int | None = Field(default=None, **ID)
    legal_entity_id: int | None = Field(default=None, **ID)
    own_entity_id: int | None = Field(default=None, **ID)
    deal_id: int | None = Field(default=None, **ID)
    price_list_id: int | None = Field(default=None, **ID)
    warehouse_id: int | None = Field(default=None, **ID)
    comment: str | None = Field(default=None, max_length=5000)
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)


class PickQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(default="", max_length=200)
    scope: Literal["matrix", "all"] = "matrix"


class PickOut(BaseModel):
    product: ProductOut
    price: str | None = Field(description="this client's price of one unit on the "
                              "order's list; null: the list has none")
    list_price: str | None
    free: str | None = Field(description="free stock in the order's warehouse; null for "
                             "a service")
    in_matrix: bool


class PickList(BaseModel):
    has_matrix: bool
    items: list[PickOut]


class StockOut(BaseModel):
    product_id: int
    name: str
    unit: str
    needed: str
    free: str
    short: str = Field(description="how much is missing, \"0.000\" when covered")


class StockList(BaseModel):
    items: list[StockOut]


def row(o) -> OrderRow:
    return OrderRow(id=o.id, number=o.number, state=str(o.state), client_id=o.client_id,
                    client=o.client.name, deal_id=o.deal_id, owner=o.owner.full_name,
                    total=money(o.total), currency=o.currency, created_at=o.created_at)


@api.route("GET", "/orders", summary="Orders of the clients one sees, newest first (S-17)",
           query=OrderQuery, response=OrderList, tags=["orders"])
async def orders_list(request: web.Request, user: User, query: OrderQuery):
    found = await svc.list_orders(user, state=query.state, client_id=query.client_id,
                                  deal_id=query.deal_id, mine=query.mine)
    return OrderList(items=[row(o) for o in found])


@api.route("PATCH", "/orders/{order_id}", summary="Change a draft's header: client, legal "
           "entities, deal, price list (a head's), warehouse, comment; the lines re-priced "
           "when the client or the list changes", body=HeaderIn, response=OrderOut,
           tags=["orders"])
async def order_header(request: web.Request, user: User, order_id: int, body: HeaderIn):
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    await svc.do_update_order(user, order_id, changes, version=version, source="api")
    return await _order_out(user, order_id)


@api.route("GET", "/orders/{order_id}/picker", summary="Products to add to an order: the "
           "client's price and the free stock of each, the client's matrix first (K-5, "
           "K-4, S-22)", query=PickQuery, response=PickList, tags=["orders"])
async def order_picker(request: web.Request, user: User, order_id: int, query: PickQuery):
    picks, has_matrix = await svc.picker(user, order_id, query.q, scope=query.scope)
    return PickList(has_matrix=has_matrix, items=[PickOut(
        product=_product(p.product), price=money(p.priced.price) if p.priced else None,
        list_price=money(p.priced.list_price) if p.priced else None,
        free=None if p.free is None else f"{p.free:.3f}", in_matrix=p.in_matrix)
        for p in picks])


@api.route("GET", "/orders/{order_id}/stock", summary="What each stocked product of the "
           "order needs against the free stock of its warehouse (K-4)", response=StockList,
           tags=["orders"])
async def order_stock(request: web.Request, user: User, order_id: int):
    from decimal import Decimal

    return StockList(items=[StockOut(
        product_id=p.id, name=p.name, unit=p.unit, needed=f"{need:.3f}",
        free=f"{free:.3f}", short=f"{max(need - max(free, Decimal(0)), Decimal(0)):.3f}")
        for p, need, free in await svc.line_stock(user, order_id)])
