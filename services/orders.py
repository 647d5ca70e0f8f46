"""Orders (issue 13: S-17 with K-4, K-5, A-14, S-22).

* **Who**: an order is seen and changed by whoever sees its client (A-3); it belongs
  to the person who made it.
* **Making one**: a client (and, optionally, one of its deals and legal entities; our
  own default legal entity and warehouse unless named). The price list is the
  client's on that day (:mod:`services.pricing`), kept on the order with its currency.
* **Lines** are set all at once while the order is a draft, each priced on the spot
  with its trace; the order keeps the price it was given — a later change of a list
  or a discount group does not touch it. A product outside the client's matrix
  (S-22: the products of the client's business spheres, when it has any) needs
  ``off_matrix`` to be confirmed. A price typed by hand is written into the trace as
  an override; below the minimum-margin floor only a head or an admin may, with a
  reason, and who did it is kept on the line.
* **Totals**: the sum at list prices, the discount, VAT (inside the price when the
  list's prices include it, else added) and what the client pays; per line VAT is
  ``amount × rate / (100 + rate)`` inside, ``amount × rate / 100`` on top.
* **States**: draft → posted (the lines' stock reserved, K-4: refused naming each
  short line, nothing reserved) → shipped (written off) → closed; a draft or a posted
  order can be cancelled (the reservation given back). Each move checks the order's
  version, so a double tap or a second replica does it once.
* **Credit** (A-15): posting is refused over the client's credit limit or with debt
  overdue too long (:mod:`services.credit`), checked in the posting's transaction.
* **Events** (S-17), after the commit: posting plans a follow-up call for the owner
  two days later at 10:00 their time, linked to the client, the deal and the order;
  and a deal in a managed process moves on to the next stage that requires a posted
  order.
* **Loyalty** (U-9): posting accrues the points of the client's loyalty card (after the
  commit, once per order); cancelling reverses them and gives back the points redeemed
  against the order, in the cancel's transaction (:mod:`services.loyalty`).
* **A shipment marks the order's activities** (S-17), after the commit — those linked
  to the order (``Activity.order``) and still open (planned, postponed, rescheduled):

  - a *task* linked to the order is the work of getting it out (prepare, deliver), so
    the shipment completes it, its result "Order № N shipped on dd.mm.yyyy";
  - an *event* (the follow-up call, a meeting, a visit) keeps its state and its time —
    it is still to be had, now about how the delivery went — and its goal gets the
    line "🚚 Order № N shipped on dd.mm.yyyy" (once, however often the hook runs);
  - done and cancelled activities are left as they are.

  Each change is made as the activity's author (else the order's owner), from the
  source "trigger", so the activity's history says it; the date is in that person's
  time zone and the words in their language. A change refused (the author left, say)
  is skipped: the shipment itself stands.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import (
    Activity,
    Deal,
    LegalEntity,
    Order,
    OrderLine,
    OrderState,
    OwnEntity,
    Product,
    Role,
    User,
    Warehouse,
)
from services import credit, ledger, pricing, stock
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.matrices import client_matrix  # S-22 (kept importable from here)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_LINES = 500
MAX_QTY = Decimal("999999999")
OPEN = (OrderState.DRAFT, OrderState.POSTED)
AFTER_POST: list = []  # async (actor, order, source) -> notices, run after the commit
AFTER_SHIP: list = []  # the same, after a shipment


@dataclass
class OrderResult:
    order: Order
    changed: bool = True
    notices: list[Any] = field(default_factory=list)


# ---- reading ---------------------------------------------------------------------------------

async def get_order(actor: User, order_id: int, *, related: bool = True) -> Order:
    """An order of a client ``actor`` sees, with what its card shows (``related=False``:
    the order alone, as the credit check reads it)."""
    from services.clients import visible_filter

    qs = Order.filter(await visible_filter(actor), id=order_id)
    if related:
        qs = qs.select_related("client", "owner", "price_list", "warehouse", "own_entity",
                               "legal_entity", "deal")
    order = await qs.first()
    if order is None:
        raise NotFound("order")
    return order


async def order_lines(order: Order) -> list[OrderLine]:
    return await OrderLine.filter(order_id=order.id).order_by("position", "id"
                                                              ).select_related("product")


async def client_orders(actor: User, client_id: int, *, limit: int = 50) -> list[Order]:
    from services.clients import get_client

    await get_client(actor, client_id)
    return await Order.filter(client_id=client_id).order_by("-id").limit(limit)


async def my_orders(actor: User, *, open_only: bool = True, limit: int = 50) -> list[Order]:
    qs = Order.filter(owner_id=actor.id)
    if open_only:
        qs = qs.filter(state__in=OPEN)
    return await qs.order_by("-id").limit(limit).select_related("client")


# ---- making one --------------------------------------------------------------------------------

async def _own_entity(raw: Any) -> OwnEntity | None:
    if raw:
        found = await OwnEntity.get_or_none(id=int(raw), archived=False)
        if found is None:
            raise ValidationFailed("own_entity_id", N_("choose a value from the list"))
        return found
    return await OwnEntity.filter(archived=False).order_by("-is_default", "id").first()


async def _warehouse(raw: Any) -> Warehouse | None:
    if raw:
        found = await Warehouse.get_or_none(id=int(raw), archived=False)
        if found is None:
            raise ValidationFailed("warehouse_id", N_("choose a value from the list"))
        return found
    return await stock.default_warehouse()


async def do_create_order(actor: User, data: dict[str, Any], *, source: str = "web"
                          ) -> Order:
    from services.clients import get_client
    from services.deals import get_deal

    if not data.get("client_id"):
        raise ValidationFailed("client_id", N_("is required"))
    client = await get_client(actor, int(data["client_id"]))
    deal_id = None
    if data.get("deal_id"):
        deal = await get_deal(actor, int(data["deal_id"]))
        if deal.client_id != client.id:
            raise ValidationFailed("deal_id", N_("choose a deal of this client"))
        deal_id = deal.id
    legal = None
    if data.get("legal_entity_id"):
        legal = await LegalEntity.get_or_none(id=int(data["legal_entity_id"]),
                                              client_id=client.id)
        if legal is None:
            raise ValidationFailed("legal_entity_id", N_("choose a legal entity of this "
                                                         "client"))
    else:
        legal = await LegalEntity.filter(client_id=client.id).order_by(
            "-is_primary", "id").first()
    ctx = await pricing.context_for(client, _today(actor))
    comment = str(data.get("comment") or "").strip()[:5000] or None
    async with in_transaction():
        order = await Order.create(
            number=uuid.uuid4().hex, client=client, deal_id=deal_id,
            legal_entity=legal, own_entity=await _own_entity(data.get("own_entity_id")),
            warehouse=await _warehouse(data.get("warehouse_id")), owner=actor,
            price_list=ctx.price_list, currency=ctx.price_list.currency,
            vat_included=ctx.price_list.vat_included, comment=comment)
        order.number = f"{order.id:06d}"
        await Order.filter(id=order.id).update(number=order.number)
    return await get_order(actor, order.id)


def _today(actor: User):
    return utcnow().astimezone(ZoneInfo(actor.timezone or "UTC")).date()


# ---- lines -------------------------------------------------------------------------------------

def parse_quantity(raw: Any, where: str) -> Decimal:
    """A quantity as typed ("2,5", "10"), above zero, to three places."""
    try:
        qty = Decimal(str(raw).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(where, N_("«{value}» is not a number"),
                               value=str(raw)[:40]) from None
    if not qty.is_finite() or qty <= 0 or qty > MAX_QTY:
        raise ValidationFailed(where, N_("a quantity above zero"))
    return qty.quantize(Decimal("0.001"), ROUND_HALF_UP)


def _vat(amount: Decimal, rate: Decimal | None, included: bool) -> Decimal:
    if not rate:
        return Decimal(0)
    if included:
        return (amount * rate / (HUNDRED + rate)).quantize(CENT, ROUND_HALF_UP)
    return (amount * rate / HUNDRED).quantize(CENT, ROUND_HALF_UP)


async def do_set_lines(actor: User, order_id: int, lines: list[dict[str, Any]], *,
                       version: int | None = None, source: str = "web") -> Order:
    """Replace a draft's lines: each ``{"product_id", "quantity"}`` with, optionally,
    ``"price"`` typed by hand (``"override_reason"`` when below the floor) and
    ``"off_matrix": true`` to confirm a product outside the client's matrix."""
    order = await get_order(actor, order_id)
    if order.state != OrderState.DRAFT:
        raise ValidationFailed("state", N_("only a draft's lines can be changed"))
    if version is not None and version != order.version:
        raise ValidationFailed("version", N_("the order was changed meanwhile; look at it "
                                             "again"))
    if len(lines) > MAX_LINES:
        raise ValidationFailed("lines", N_("at most {max} lines"), max=MAX_LINES)
    wanted: list[tuple[int, Decimal]] = []
    for n, line in enumerate(lines):
        if not isinstance(line, dict) or not line.get("product_id"):
            raise ValidationFailed(f"lines.{n}.product_id", N_("choose a product"))
        wanted.append((int(line["product_id"]), parse_quantity(line.get("quantity"),
                                                          f"lines.{n}.quantity")))
    archived = set(await Product.filter(id__in=[p for p, _q in wanted], archived=True)
                   .values_list("id", flat=True))
    matrix = await client_matrix(order.client_id)
    for n, (pid, _qty) in enumerate(wanted):
        if pid in archived:
            raise ValidationFailed(f"lines.{n}.product_id", N_("this product is archived"))
        if matrix is not None and pid not in matrix and not lines[n].get("off_matrix"):
            raise ValidationFailed(f"lines.{n}.product_id", N_(
                "not in the client's matrix: confirm to add it anyway"))
    ctx = await pricing.context_for(order.client, _today(actor))
    if order.price_list is not None:
        ctx.price_list = order.price_list  # the order keeps the list it was made with
    priced = await pricing.price_lines(ctx, wanted)
    rows: list[OrderLine] = []
    for n, (line, p) in enumerate(zip(lines, priced, strict=True)):
        rows.append(await _line(actor, order, n, line, p, matrix))
    async with in_transaction():
        bumped = await Order.filter(id=order.id, version=order.version,
                                    state=OrderState.DRAFT).update(version=order.version + 1)
        if not bumped:
            raise ValidationFailed("version", N_("the order was changed meanwhile; look at "
                                                 "it again"))
        await OrderLine.filter(order_id=order.id).delete()
        await OrderLine.bulk_create(rows)
        await _totals(order, rows)
    return await get_order(actor, order.id)


async def _line(actor: User, order: Order, n: int, line: dict[str, Any], p: pricing.Priced,
                matrix: set[int] | None) -> OrderLine:
    trace, price, by, reason = list(p.trace), p.price, None, None
    if line.get("price") not in (None, ""):
        try:
            typed = Decimal(str(line["price"]).replace(" ", "").replace(",", "."))
        except InvalidOperation:
            raise ValidationFailed(f"lines.{n}.price", N_("«{value}» is not a number"),
                                   value=str(line["price"])[:40]) from None
        if not typed.is_finite() or typed < 0:
            raise ValidationFailed(f"lines.{n}.price", N_("cannot be negative"))
        typed = typed.quantize(CENT, ROUND_HALF_UP)
        if typed != price:
            reason = " ".join(str(line.get("override_reason") or "").split())[:300] or None
            if p.floor is not None and typed < p.floor:
                if actor.role not in (Role.HEAD, Role.ADMIN):
                    raise PermissionDenied("below the minimum margin")
                if not reason:
                    raise ValidationFailed(f"lines.{n}.override_reason", N_(
                        "below the minimum margin ({floor}): say why"), floor=str(p.floor))
            by = actor.id
            price = typed
            trace.append({"step": "override", "price": str(price), "by": actor.id,
                          "by_name": actor.full_name, "reason": reason or ""})
    amount = (price * p.quantity).quantize(CENT, ROUND_HALF_UP)
    product = p.product
    discount = Decimal(0) if not p.list_price else (
        (p.list_price - price) * HUNDRED / p.list_price).quantize(CENT, ROUND_HALF_UP)
    return OrderLine(
        order_id=order.id, position=n, product_id=product.id, name=product.name,
        unit=product.unit, quantity=p.quantity, list_price=p.list_price, price=price,
        discount=discount, vat_rate=product.vat_rate, amount=amount,
        vat_amount=_vat(amount, product.vat_rate, order.vat_included),
        cost=(product.cost_price * p.quantity).quantize(CENT, ROUND_HALF_UP)
        if product.cost_price is not None else None,
        trace=trace, promo_id=p.promo_id,
        off_matrix=matrix is not None and product.id not in matrix,
        override_by_id=by if by is not None and p.floor is not None and price < p.floor
        else None,
        override_reason=reason if by is not None else None)


async def _totals(order: Order, rows: list[OrderLine]) -> None:
    subtotal = sum(((r.list_price * r.quantity).quantize(CENT, ROUND_HALF_UP) for r in rows),
                   Decimal(0))
    amounts = sum((r.amount for r in rows), Decimal(0))
    vat = sum((r.vat_amount for r in rows), Decimal(0))
    total = amounts if order.vat_included else amounts + vat
    await Order.filter(id=order.id).update(subtotal=subtotal, discount_total=max(
        subtotal - amounts, Decimal(0)), vat_total=vat, total=total)


# ---- states --------------------------------------------------------------------------------------

async def _move(actor: User, order_id: int | Order, allowed: tuple[OrderState, ...],
                target: OrderState, stamp: str, *, version: int | None, source: str,
                stock_step=None) -> OrderResult:
    """Move the order (its id, or the order just read with get_order) to ``target``,
    the stock step in the same transaction, guarded by the order's version."""
    order = order_id if isinstance(order_id, Order) else await get_order(actor, order_id)
    if order.state == target:
        return OrderResult(order, changed=False)  # a double tap: done already
    if order.state not in allowed:
        raise ValidationFailed("state", REFUSED[target])
    if version is not None and version != order.version:
        raise ValidationFailed("version", N_("the order was changed meanwhile; look at it "
                                             "again"))
    lines = await order_lines(order)
    now = utcnow()
    async with in_transaction() as conn:
        moved = await Order.filter(id=order.id, version=order.version).using_db(conn).update(
            state=target, version=order.version + 1, updated_at=now, **{stamp: now})
        if not moved:
            fresh = await get_order(actor, order.id)
            if fresh.state == target:
                return OrderResult(fresh, changed=False)
            raise ValidationFailed("version", N_("the order was changed meanwhile; look at "
                                                 "it again"))
        if stock_step is not None:
            await stock_step(conn, order, lines)
    order.state, order.version, order.updated_at = target, order.version + 1, now
    setattr(order, stamp, now)
    return OrderResult(order)


REFUSED = {OrderState.POSTED: N_("only a draft can be posted"),
           OrderState.SHIPPED: N_("only a posted order can be shipped"),
           OrderState.CLOSED: N_("only a shipped order can be closed"),
           OrderState.CANCELLED: N_("a shipped or closed order cannot be cancelled")}


async def do_post(actor: User, order_id: int, *, version: int | None = None,
                  source: str = "web") -> OrderResult:
    order = await get_order(actor, order_id)
    if order.state == OrderState.DRAFT and not await OrderLine.exists(order_id=order.id):
        raise ValidationFailed("lines", N_("add at least one line"))

    async def reserve(conn, order, lines):
        await credit.enforce(order, _today(actor))  # under the client's lock
        if order.warehouse is None and any(not ln.product.is_service for ln in lines):
            raise ValidationFailed("warehouse_id", N_("choose the warehouse to ship from"))
        if order.warehouse is not None:
            await stock.reserve(conn, order.warehouse, [(ln.product, ln.quantity)
                                                        for ln in lines],
                                order_id=order.id, user=actor, source=source)

    result = await _move(actor, order, (OrderState.DRAFT,), OrderState.POSTED, "posted_at",
                         version=version, source=source, stock_step=reserve)
    if result.changed:
        for hook in AFTER_POST:
            result.notices += await hook(actor, result.order, source) or []
    return result


async def do_ship(actor: User, order_id: int, *, version: int | None = None,
                  source: str = "web") -> OrderResult:
    async def write_off(conn, order, lines):
        if order.warehouse_id is not None:
            await stock.release(conn, order.warehouse_id, [(ln.product, ln.quantity)
                                                           for ln in lines],
                                order_id=order.id, user=actor, source=source, ship=True)
        await ledger.record_shipment(order, conn, actor=actor)  # K-6, S-23: same transaction

    result = await _move(actor, order_id, (OrderState.POSTED,), OrderState.SHIPPED,
                         "shipped_at", version=version, source=source, stock_step=write_off)
    if result.changed:
        for hook in AFTER_SHIP:
            result.notices += await hook(actor, result.order, source) or []
    return result


async def do_close(actor: User, order_id: int, *, version: int | None = None,
                   source: str = "web") -> OrderResult:
    return await _move(actor, order_id, (OrderState.SHIPPED,), OrderState.CLOSED,
                       "closed_at", version=version, source=source)


async def do_cancel(actor: User, order_id: int, *, version: int | None = None,
                    source: str = "web") -> OrderResult:
    async def give_back(conn, order, lines):
        if order.state == OrderState.POSTED and order.warehouse_id is not None:
            await stock.release(conn, order.warehouse_id, [(ln.product, ln.quantity)
                                                           for ln in lines],
                                order_id=order.id, user=actor, source=source)
        from services.loyalty_points import on_cancel

        await on_cancel(order, actor, source=source)  # U-9: points back, before the ledger
        await ledger.record_cancel(order, conn, actor=actor)  # K-6: its invoice entry

    return await _move(actor, order_id, OPEN, OrderState.CANCELLED, "cancelled_at",
                       version=version, source=source, stock_step=give_back)


# ---- events (S-17) ----------------------------------------------------------------------

async def follow_up_call(actor: User, order: Order, source: str) -> list[Any]:
    """A call to the client about the posted order, two days later at 10:00 the
    owner's time, for the owner."""
    from services.activities import do_create_activity

    owner = await User.get(id=order.owner_id)
    tz = ZoneInfo(owner.timezone or "UTC")
    day = utcnow().astimezone(tz).date() + timedelta(days=2)
    when = datetime.combine(day, time(10), tz)
    from kontakt.i18n import translator

    title = translator(str(owner.language))(N_("Call about order № {number}")).format(
        number=order.number)
    made = await do_create_activity(owner, {
        "type": "call", "title": title, "client_id": order.client_id,
        "starts_at": when.isoformat(), "assignees": [owner.id]}, source="trigger",
        check_assignees=False)
    await Activity.filter(id=made.activity.id).update(deal_id=order.deal_id,
                                                      order_id=order.id)
    return list(made.notices)


async def mark_shipped(actor: User, order: Order, source: str) -> list[Any]:
    """The order's open activities after its shipment (the rule in the module's
    docstring): its tasks completed, its events' goal noting the shipment."""
    from kontakt.i18n import translator
    from models import ActivityKind
    from services.activities import do_complete, do_update_activity
    from services.activities.common import OPEN
    from services.errors import DomainError

    notices: list[Any] = []
    shipped = order.shipped_at or utcnow()
    for activity in await Activity.filter(order_id=order.id, state__in=list(OPEN)
                                          ).order_by("id"):
        who = await User.get_or_none(id=activity.author_id or order.owner_id)
        if who is None or not who.is_active:
            who = await User.get(id=order.owner_id)
        day = shipped.astimezone(ZoneInfo(who.timezone or "UTC")).strftime("%d.%m.%Y")
        note = translator(str(who.language))(N_("🚚 Order № {number} shipped on {date}")
                                             ).format(number=order.number, date=day)
        try:
            if activity.kind == ActivityKind.TASK:
                done = await do_complete(who, activity.id, note, source="trigger")
            elif note not in (activity.goal or ""):
                goal = f"{activity.goal}\n{note}" if activity.goal else note
                done = await do_update_activity(who, activity.id, {"goal": goal},
                                                source="trigger")
            else:
                continue
        except DomainError:
            continue
        notices += done.notices
    return notices


async def advance_deal(actor: User, order: Order, source: str) -> list[Any]:
    """A deal waiting for an order (a later open stage requiring a posted one) moves
    on to that stage, in a managed process."""
    from models import ProcessMode, Stage, StageKind
    from services import deal_moves
    from services.errors import DomainError

    if order.deal_id is None:
        return []
    deal = await Deal.get_or_none(id=order.deal_id, archived_at=None).prefetch_related(
        "stage", "process")
    if deal is None or deal.process.mode != ProcessMode.MANAGED or \
            deal.stage.kind != StageKind.OPEN:
        return []
    for stage in await Stage.filter(process_id=deal.process_id, kind=StageKind.OPEN,
                                    archived=False, position__gt=deal.stage.position
                                    ).order_by("position", "id"):
        if "order_posted" in (stage.requires or []):
            owner = await User.get(id=deal.owner_id)
            try:
                return (await deal_moves.do_move(owner, deal.id, stage.id,
                                                 source="trigger")).notices
            except DomainError:
                return []
    return []


async def loyalty_accrual(actor: User, order: Order, source: str) -> list[Any]:
    """U-9: the points of the client's loyalty card for the posted order."""
    from services.loyalty_points import after_post

    return await after_post(actor, order, source)


AFTER_POST.extend([follow_up_call, advance_deal, loyalty_accrual])
AFTER_SHIP.append(mark_shipped)
