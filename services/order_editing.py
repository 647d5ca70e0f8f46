"""The order editor's reading and header changes (issue 13: S-17, K-4, K-5, S-22);
the lines, the states and the events are in :mod:`services.orders`.

* **Lists**: the orders of the clients one sees (A-3: a manager, their clients'; a
  head, their departments'; an admin, all), newest first, by state, client or deal,
  or only one's own.
* **The header** of a draft changes with a version check: the client's legal entity,
  our legal entity, the deal (an open or closed deal of the client), the warehouse,
  the comment, the client itself and the price list. Another client takes its primary
  legal entity and its own price list, and its deal is dropped unless one of its own
  is named; another price list (a head's or an admin's choice: the list is the
  client's terms, not a manager's) brings its currency. Either re-prices the lines
  in the same transaction (a price typed by hand stays typed; a product without a
  price in the new list refuses the change naming it).
* **The picker** (K-5, S-22, K-4): products found by the typo-tolerant search (or,
  without a query, the matrix's, else the first by name), each with this client's
  price for one unit on the order's list and the free stock in the order's warehouse;
  "matrix" keeps to the client's matrix when it has one.
* **Stock per line** (K-4): what each product of a draft needs against what is free
  in its warehouse, so a short line shows before (and after) posting is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    Deal,
    LegalEntity,
    Order,
    OrderState,
    OwnEntity,
    PriceList,
    Product,
    Role,
    User,
    Warehouse,
)
from services import orders, pricing, products, stock
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed

STATES = tuple(str(s) for s in OrderState)
PICKS = 12


# ---- lists ------------------------------------------------------------------------------

async def list_orders(actor: User, *, state: str | None = None, client_id: int | None = None,
                      deal_id: int | None = None, mine: bool = False,
                      limit: int = 100) -> list[Order]:
    from services.clients import visible_filter

    if state is not None and state not in STATES:
        raise ValidationFailed("state", N_("choose a value from the list"))
    qs = Order.filter(await visible_filter(actor))
    if state:
        qs = qs.filter(state=state)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if deal_id is not None:
        qs = qs.filter(deal_id=deal_id)
    if mine:
        qs = qs.filter(owner_id=actor.id)
    return await qs.order_by("-id").limit(max(1, min(limit, 500))).select_related(
        "client", "owner")


async def own_entities() -> list[OwnEntity]:
    return await OwnEntity.filter(archived=False).order_by("-is_default", "name")


async def warehouses() -> list[Warehouse]:
    return await Warehouse.filter(archived=False).order_by("-is_default", "name")


async def price_lists() -> list[PriceList]:
    return await PriceList.filter(archived=False).order_by("sort_order", "name")


async def client_deals(actor: User, client_id: int) -> list[Deal]:
    """The deals an order of this client may belong to: its open ones, newest first."""
    from services.deal_lists import open_deals_of_client

    return await open_deals_of_client(actor, client_id)


def may_change_list(actor: User) -> bool:
    return actor.role in (Role.HEAD, Role.ADMIN)


# ---- the header ----------------------------------------------------------------------------

def _id(raw: Any, field: str) -> int | None:
    if raw in (None, "", 0):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(field, N_("choose a value from the list")) from None
    if not 0 < value < 2**31:
        raise ValidationFailed(field, N_("choose a value from the list"))
    return value


async def do_update_order(actor: User, order_id: int, changes: dict[str, Any], *,
                          version: int | None = None, source: str = "web") -> Order:
    """Change a draft's header (the rules in the module's docstring)."""
    from services.clients import get_client
    from services.deals import get_deal

    order = await orders.get_order(actor, order_id)
    if order.state != OrderState.DRAFT:
        raise ValidationFailed("state", N_("only a draft's header can be changed"))
    if version is not None and version != order.version:
        raise ValidationFailed("version", N_("the order was changed meanwhile; look at it "
                                             "again"))
    values: dict[str, Any] = {}
    client = order.client
    if "client_id" in changes:
        new_id = _id(changes["client_id"], "client_id")
        if new_id is None:
            raise ValidationFailed("client_id", N_("is required"))
        if new_id != order.client_id:
            client = await get_client(actor, new_id)
            values["client_id"] = client.id
            ctx = await pricing.context_for(client, orders._today(actor))
            values["price_list_id"] = ctx.price_list.id
            if "legal_entity_id" not in changes:
                primary = await LegalEntity.filter(client_id=client.id).order_by(
                    "-is_primary", "id").first()
                values["legal_entity_id"] = primary.id if primary else None
            if "deal_id" not in changes:
                values["deal_id"] = None
    if "legal_entity_id" in changes:
        legal_id = _id(changes["legal_entity_id"], "legal_entity_id")
        if legal_id is not None and not await LegalEntity.exists(id=legal_id,
                                                                 client_id=client.id):
            raise ValidationFailed("legal_entity_id", N_("choose a legal entity of this "
                                                         "client"))
        values["legal_entity_id"] = legal_id
    if "deal_id" in changes:
        deal_id = _id(changes["deal_id"], "deal_id")
        if deal_id is not None:
            try:
                deal = await get_deal(actor, deal_id)
            except NotFound:
                raise ValidationFailed("deal_id", N_("choose a deal of this client")) from None
            if deal.client_id != client.id:
                raise ValidationFailed("deal_id", N_("choose a deal of this client"))
        values["deal_id"] = deal_id
    if "own_entity_id" in changes:
        own_id = _id(changes["own_entity_id"], "own_entity_id")
        if own_id is None or not await OwnEntity.exists(id=own_id, archived=False):
            raise ValidationFailed("own_entity_id", N_("choose a value from the list"))
        values["own_entity_id"] = own_id
    if "warehouse_id" in changes:
        store_id = _id(changes["warehouse_id"], "warehouse_id")
        if store_id is None or not await Warehouse.exists(id=store_id, archived=False):
            raise ValidationFailed("warehouse_id", N_("choose a value from the list"))
        values["warehouse_id"] = store_id
    if "price_list_id" in changes:
        list_id = _id(changes["price_list_id"], "price_list_id")
        if list_id != values.get("price_list_id", order.price_list_id):
            if not may_change_list(actor):
                raise PermissionDenied("the price list is the client's terms")
            if list_id is None or not await PriceList.exists(id=list_id, archived=False):
                raise ValidationFailed("price_list_id", N_("choose a value from the list"))
            values["price_list_id"] = list_id
    if "comment" in changes:
        values["comment"] = str(changes["comment"] or "").strip()[:5000] or None
    values = {k: v for k, v in values.items() if getattr(order, k) != v}
    if not values:
        return order
    reprice = "price_list_id" in values or "client_id" in values
    if "price_list_id" in values:
        chosen = await PriceList.get(id=values["price_list_id"])
        values.update(currency=chosen.currency, vat_included=chosen.vat_included)
    lines = await orders.order_lines(order)
    async with in_transaction():
        bumped = await Order.filter(id=order.id, version=order.version,
                                    state=OrderState.DRAFT).update(
            version=order.version + 1, **values)
        if not bumped:
            raise ValidationFailed("version", N_("the order was changed meanwhile; look at "
                                                 "it again"))
        if reprice and lines:
            await orders.do_set_lines(actor, order.id, [_as_typed(ln) for ln in lines],
                                      version=order.version + 1, source=source)
    return await orders.get_order(actor, order.id)


def _as_typed(line) -> dict[str, Any]:
    """A line as it would be sent again: a price typed by hand stays typed."""
    typed = next((s for s in reversed(line.trace or []) if s.get("step") == "override"),
                 None)
    out: dict[str, Any] = {"product_id": line.product_id, "quantity": str(line.quantity),
                           "off_matrix": True}
    if typed is not None:
        out.update(price=str(line.price), override_reason=typed.get("reason") or None)
    return out


# ---- the picker -------------------------------------------------------------------------------

@dataclass
class Pick:
    product: Product
    priced: pricing.Priced | None  # None: no price in the order's list
    free: Decimal | None  # in the order's warehouse; None for a service
    in_matrix: bool


async def picker(actor: User, order_id: int, query: str = "", *, scope: str = "matrix"
                 ) -> tuple[list[Pick], bool]:
    """Products for the order's picker and whether the client has a matrix."""
    order = await orders.get_order(actor, order_id)
    matrix = await orders.client_matrix(order.client_id)
    keep = matrix if scope == "matrix" and matrix is not None else None
    query = " ".join((query or "").split())[:200]
    if query:
        found = await products.search_products(query, limit=40 if keep else PICKS)
        if keep is not None:
            found = [p for p in found if p.id in keep]
    elif keep is not None:
        found = await Product.filter(id__in=list(keep), archived=False).order_by("name")
    else:
        found = await Product.filter(archived=False).order_by("name", "id").limit(PICKS)
    found = found[:PICKS]
    ctx = await pricing.context_for(order.client, orders._today(actor))
    if order.price_list is not None:
        ctx.price_list = order.price_list
    free = await stock.free_stock([p.id for p in found if not p.is_service],
                                  order.warehouse_id)
    out = []
    for p in found:
        try:
            priced = (await pricing.price_lines(ctx, [(p.id, Decimal(1))]))[0]
        except ValidationFailed:
            priced = None
        out.append(Pick(p, priced, None if p.is_service else free.get(p.id, Decimal(0)),
                        matrix is None or p.id in matrix))
    return out, matrix is not None


async def line_stock(actor: User, order_id: int) -> list[tuple[Product, Decimal, Decimal]]:
    """(product, needed by the draft, free in its warehouse) for each stocked product."""
    order = await orders.get_order(actor, order_id)
    needed: dict[int, Decimal] = {}
    by_id: dict[int, Product] = {}
    for line in await orders.order_lines(order):
        if line.product.is_service:
            continue
        needed[line.product_id] = needed.get(line.product_id, Decimal(0)) + line.quantity
        by_id[line.product_id] = line.product
    if order.warehouse_id is None:
        return [(by_id[pid], qty, Decimal(0)) for pid, qty in needed.items()]
    free = await stock.free_stock(list(needed), order.warehouse_id)
    if order.state == OrderState.POSTED:  # its own reservation is not "taken"
        free = {pid: f + needed[pid] for pid, f in free.items()}
    return [(by_id[pid], qty, free.get(pid, Decimal(0))) for pid, qty in needed.items()]
