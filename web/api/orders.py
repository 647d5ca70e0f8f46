"""/api/v1 products, prices and orders (issue 13: K-4, K-5, A-14, S-17, S-22).

Money goes out as decimal strings with two places ("1234.50"), quantities with three;
what comes in is a string too, as people type it. Every rule is in services.pricing,
services.stock, services.orders and services.order_invoices.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import order_invoices, products
from services import orders as svc
from services.clock import utcnow
from web.api.deal_schemas import ID, money
from web.api.routes import api
from web.keys import FILES_KEY, OUTBOX_KEY

QTY = Field(min_length=1, max_length=20, description="as typed: \"10\", \"2,5\"")


class ProductOut(BaseModel):
    id: int
    name: str
    code: str | None
    unit: str
    is_service: bool
    vat_rate: str | None


class ProductList(BaseModel):
    items: list[ProductOut]


class ProductQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=200, description="part of the name, the "
                   "article or the barcode; a typo is forgiven")


class StepOut(BaseModel):
    step: str = Field(description="list, base_list, rule, rule_skipped, group, "
                      "individual, promo, min_margin, override")
    price: str
    about: dict[str, Any] = Field(description="the list's, rule's, group's or promo's "
                                  "name, the percent…")


class PriceOut(BaseModel):
    product: ProductOut
    quantity: str
    list_price: str
    price: str
    amount: str
    discount: str = Field(description="percent from the list price to the price")
    currency: str
    price_list: str
    trace: list[StepOut]
    stock: dict[str, str] = Field(description="free stock per warehouse")


class PriceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    product_id: int = Field(**ID)
    quantity: str = Field(default="1", min_length=1, max_length=20)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(**ID)
    quantity: str = QTY
    price: str | None = Field(default=None, max_length=20, description="typed by hand: "
                              "an override, written into the trace")
    override_reason: str | None = Field(default=None, max_length=300)
    off_matrix: bool = Field(default=False, description="confirms a product outside the "
                             "client's matrix (S-22)")


class LinesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(max_length=svc.MAX_LINES)
    version: int | None = Field(default=None, ge=0, le=2**31 - 1)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    deal_id: int | None = Field(default=None, **ID)
    legal_entity_id: int | None = Field(default=None, **ID)
    own_entity_id: int | None = Field(default=None, **ID)
    warehouse_id: int | None = Field(default=None, **ID)
    comment: str | None = Field(default=None, max_length=5000)


class LineOut(BaseModel):
    id: int
    product_id: int
    name: str
    unit: str
    quantity: str
    list_price: str
    price: str
    discount: str
    vat_rate: str | None
    amount: str
    vat_amount: str
    trace: list[dict[str, Any]]
    off_matrix: bool


class OrderOut(BaseModel):
    id: int
    number: str
    state: Literal["draft", "posted", "shipped", "closed", "cancelled"]
    client_id: int
    deal_id: int | None
    price_list_id: int | None
    warehouse_id: int | None
    currency: str
    vat_included: bool
    subtotal: str
    discount_total: str
    vat_total: str
    total: str
    version: int
    invoice_id: int | None
    lines: list[LineOut]


class InvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Literal["ru", "uk", "en"] | None = None
    contact_id: int | None = Field(default=None, **ID)
    send: bool = Field(default=False, description="email it to the client too")


class InvoiceOut(BaseModel):
    document_id: int
    message_id: int | None


def _product(p) -> ProductOut:
    return ProductOut(id=p.id, name=p.name, code=p.code, unit=p.unit,
                      is_service=p.is_service, vat_rate=money(p.vat_rate))


def _today(user: User) -> date:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(user.timezone or "UTC")).date()


async def _order_out(user: User, order_id: int) -> OrderOut:
    order = await svc.get_order(user, order_id)
    return OrderOut(
        id=order.id, number=order.number, state=str(order.state), client_id=order.client_id,
        deal_id=order.deal_id, price_list_id=order.price_list_id,
        warehouse_id=order.warehouse_id, currency=order.currency,
        vat_included=order.vat_included, subtotal=money(order.subtotal),
        discount_total=money(order.discount_total), vat_total=money(order.vat_total),
        total=money(order.total), version=order.version, invoice_id=order.invoice_id,
        lines=[LineOut(id=ln.id, product_id=ln.product_id, name=ln.name, unit=ln.unit,
                       quantity=f"{ln.quantity:.3f}", list_price=money(ln.list_price),
                       price=money(ln.price), discount=money(ln.discount),
                       vat_rate=money(ln.vat_rate), amount=money(ln.amount),
                       vat_amount=money(ln.vat_amount), trace=ln.trace,
                       off_matrix=ln.off_matrix)
               for ln in await svc.order_lines(order)])


@api.route("GET", "/products/search", summary="Products by part of the name, the article or the "
           "barcode (K-5)", query=ProductQuery, response=ProductList, tags=["orders"])
async def product_search(request: web.Request, user: User, query: ProductQuery):
    return ProductList(items=[_product(p) for p in await products.search_products(query.q)])


@api.route("GET", "/price", summary="A client's price of a product for a quantity, with its "
           "trace and the free stock (K-5, A-14, K-4)", query=PriceQuery, response=PriceOut,
           tags=["orders"])
async def price(request: web.Request, user: User, query: PriceQuery):
    from services.clients import get_client

    await get_client(user, query.client_id)  # theirs to ask about
    qty = svc.parse_quantity(query.quantity, "quantity")
    found = await products.price_answer(query.client_id, query.product_id, qty, _today(user))
    p = found.priced
    return PriceOut(
        product=_product(p.product), quantity=f"{qty:.3f}", list_price=money(p.list_price),
        price=money(p.price), amount=money(p.amount), discount=money(p.discount),
        currency=found.currency, price_list=found.price_list,
        trace=[StepOut(step=s["step"], price=s["price"],
                       about={k: v for k, v in s.items() if k not in ("step", "price")})
               for s in p.trace],
        stock={name: f"{free:.3f}" for name, free in found.stock})


@api.route("POST", "/orders", summary="A new draft order for a client (S-17)", body=OrderIn,
           response=OrderOut, tags=["orders"], status=201)
async def order_create(request: web.Request, user: User, body: OrderIn):
    order = await svc.do_create_order(user, body.model_dump(), source="api")
    return await _order_out(user, order.id)


@api.route("GET", "/orders/{order_id}", summary="An order with its lines and their price "
           "traces", response=OrderOut, tags=["orders"])
async def order_get(request: web.Request, user: User, order_id: int):
    return await _order_out(user, order_id)


@api.route("PUT", "/orders/{order_id}/lines", summary="Set a draft's lines, each priced for "
           "the client (K-5, A-14, S-22)", body=LinesIn, response=OrderOut, tags=["orders"])
async def order_lines(request: web.Request, user: User, order_id: int, body: LinesIn):
    # the service reads each quantity and names the line of a bad one
    await svc.do_set_lines(user, order_id, [line.model_dump() for line in body.lines],
                           version=body.version, source="api")
    return await _order_out(user, order_id)


def _state_route(action: str, summary: str):
    act = {"post": svc.do_post, "ship": svc.do_ship, "cancel": svc.do_cancel,
           "close": svc.do_close}[action]

    @api.route("POST", f"/orders/{{order_id}}/{action}", summary=summary, response=OrderOut,
               tags=["orders"])
    async def handler(request: web.Request, user: User, order_id: int):
        await act(user, order_id, source="api")
        return await _order_out(user, order_id)

    handler.__name__ = f"order_{action}"
    return handler


order_post = _state_route("post", "Post a draft: its stock reserved, or refused naming each "
                          "short line (K-4)")
order_ship = _state_route("ship", "Ship a posted order: its stock written off (K-4)")
order_cancel = _state_route("cancel", "Cancel a draft or a posted order: its reservation "
                            "given back")
order_close = _state_route("close", "Close a shipped order")


@api.route("POST", "/orders/{order_id}/invoice", summary="Make the order's invoice PDF (kept "
           "as the client's document) and, asked, email it to the client (S-17)",
           body=InvoiceIn, response=InvoiceOut, tags=["orders"])
async def order_invoice(request: web.Request, user: User, order_id: int, body: InvoiceIn):
    store = request.app[FILES_KEY]
    if body.send:
        sent = await order_invoices.do_send_invoice(user, order_id, store,
                                                    contact_id=body.contact_id,
                                                    language=body.language, source="api")
        outbox = request.app.get(OUTBOX_KEY)
        if outbox is not None:
            outbox.poke()  # after the commit
        order = await svc.get_order(user, order_id)
        return InvoiceOut(document_id=order.invoice_id, message_id=sent.id)
    doc = await order_invoices.do_make_invoice(user, order_id, store, language=body.language,
                                               source="api")
    return InvoiceOut(document_id=doc.id, message_id=None)

