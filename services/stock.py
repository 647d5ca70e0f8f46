"""Stock (issue 13, K-4): on hand and reserved per product and warehouse.

* Free stock is on hand less reserved. A posted order reserves its lines, a shipment
  writes them off (on hand and reserved both fall), a cancellation gives the
  reservation back; an upload (CommerceML, XLSX, by hand) sets on hand.
* Every change is one conditional UPDATE per product — ``reserved = reserved + q``
  only ``WHERE on_hand - reserved >= q`` — inside the caller's transaction, so two
  orders posted at once never reserve the same unit: on PostgreSQL the second waits
  for the first's row lock and then sees what it left; SQLite has one writer. When a
  line cannot be covered the whole posting is refused with each short line named (how
  much is needed, how much is free, short by how much) and nothing is reserved.
* A warehouse that allows backorders reserves and ships more than it has (free stock
  goes negative); services (``Product.is_service``) have no stock.
* Every change is written as a :class:`StockMove`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kontakt.formatting import qty_text
from models import Product, StockLevel, StockMove, StockMoveKind, User, Warehouse
from services.errors import N_, DomainError, NotFound, Text, ValidationFailed


@dataclass
class Short:
    product: Product
    needed: Decimal
    free: Decimal

    @property
    def short_by(self) -> Decimal:
        return self.needed - max(self.free, Decimal(0))


class StockShort(DomainError):
    """Some lines are not covered by free stock; ``lines`` says which and by how much."""

    code = "stock_short"
    template = N_("not enough free stock: {lines}")
    status = 409

    def __init__(self, lines: list[Short]) -> None:
        self.lines = lines
        listed = _short_text(lines[-1])
        for earlier in reversed(lines[:-1]):
            listed = Text(N_("{first}; {rest}"), first=_short_text(earlier), rest=listed)
        super().__init__(f"not enough free stock for {len(lines)} line(s)", lines=listed)
        self.message = Text(self.template, lines=listed).translated(lambda s: s)


def _short_text(s: Short) -> Text:
    return Text(N_("«{name}»: needed {needed}, free {free}, short by {short}"),
                name=s.product.name, needed=qty_text(s.needed), free=qty_text(max(s.free, 0)),
                short=qty_text(s.short_by))


async def default_warehouse() -> Warehouse | None:
    return await Warehouse.filter(archived=False).order_by("-is_default", "id").first()


async def free_stock(product_ids: list[int], warehouse_id: int | None = None
                     ) -> dict[int, Decimal]:
    """Free stock per product (in one warehouse, or all of them summed)."""
    if not product_ids:
        return {}
    qs = StockLevel.filter(product_id__in=product_ids)
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    free: dict[int, Decimal] = defaultdict(Decimal)
    for pid, on_hand, reserved in await qs.values_list("product_id", "on_hand", "reserved"):
        free[pid] += Decimal(on_hand) - Decimal(reserved)
    return {pid: free.get(pid, Decimal(0)) for pid in product_ids}


def _needs(lines: list[tuple[Product, Decimal]]) -> dict[int, tuple[Product, Decimal]]:
    """Quantities per product (two lines of one product are reserved together);
    services are left out."""
    out: dict[int, tuple[Product, Decimal]] = {}
    for product, qty in lines:
        if product.is_service or qty <= 0:
            continue
        held = out.get(product.id)
        out[product.id] = (product, (held[1] if held else Decimal(0)) + qty)
    return out


def _ph(conn: Any, n: int) -> str:
    return "?" if conn.capabilities.dialect == "sqlite" else f"${n}"


def _num(conn: Any, n: int) -> str:
    """A quantity's placeholder: SQLite gets it as text, read as a number."""
    return "CAST(? AS NUMERIC)" if conn.capabilities.dialect == "sqlite" else f"${n}"


def _q(conn: Any, qty: Decimal) -> Any:
    return str(qty) if conn.capabilities.dialect == "sqlite" else qty


async def _ensure_levels(conn: Any, warehouse_id: int, product_ids: list[int]) -> None:
    """Rows to reserve against where a backorder may be the first thing there (an
    insert that another posting made meanwhile is let be, without failing the
    transaction)."""
    now = "CURRENT_TIMESTAMP" if conn.capabilities.dialect == "sqlite" else "now()"
    for pid in product_ids:
        await conn.execute_query(
            f"INSERT INTO stock_level (warehouse_id, product_id, on_hand, reserved, "
            f"updated_at) VALUES ({_ph(conn, 1)}, {_ph(conn, 2)}, 0, 0, {now}) "
            f"ON CONFLICT (warehouse_id, product_id) DO NOTHING", [warehouse_id, pid])


async def _free_in(conn: Any, warehouse_id: int, product_id: int) -> Decimal:
    row = await StockLevel.filter(warehouse_id=warehouse_id, product_id=product_id).using_db(
        conn).values_list("on_hand", "reserved")
    if not row:
        return Decimal(0)
    on_hand, reserved = row[0]
    return Decimal(on_hand) - Decimal(reserved)


async def reserve(conn: Any, warehouse: Warehouse, lines: list[tuple[Product, Decimal]],
                  *, order_id: int, user: User | None, source: str) -> None:
    """Reserve the lines in ``warehouse`` inside the caller's transaction ``conn``, or
    raise :class:`StockShort` naming every line not covered (the caller's transaction
    rolls back, so nothing stays reserved)."""
    needs = _needs(lines)
    if not needs:
        return
    if warehouse.allow_backorder:
        await _ensure_levels(conn, warehouse.id, sorted(needs))
    covered = "" if warehouse.allow_backorder else \
        f" AND on_hand - reserved >= {_num(conn, 1)}"
    sql = (f"UPDATE stock_level SET reserved = reserved + {_num(conn, 1)} "
           f"WHERE warehouse_id = {_ph(conn, 2)} AND product_id = {_ph(conn, 3)}{covered}")
    sqlite = conn.capabilities.dialect == "sqlite"
    short: list[Short] = []
    moves: list[StockMove] = []
    for pid, (product, qty) in sorted(needs.items()):  # one order of locks for everyone
        params: list[Any] = [_q(conn, qty), warehouse.id, pid]
        if covered and sqlite:
            params.append(_q(conn, qty))
        changed, _ = await conn.execute_query(sql, params)
        if not changed:
            short.append(Short(product, qty, await _free_in(conn, warehouse.id, pid)))
            continue
        moves.append(StockMove(warehouse_id=warehouse.id, product_id=pid,
                               kind=StockMoveKind.RESERVE, quantity=qty, order_id=order_id,
                               user=user, source=source))
    if short:
        raise StockShort(short)
    if moves:
        await StockMove.bulk_create(moves, using_db=conn)


async def release(conn: Any, warehouse_id: int, lines: list[tuple[Product, Decimal]], *,
                  order_id: int, user: User | None, source: str,
                  ship: bool = False) -> None:
    """Give a posted order's reservation back, or (``ship``) write it off: on hand and
    reserved both fall by the lines' quantities."""
    sqlite = conn.capabilities.dialect == "sqlite"
    on_hand = f"on_hand = on_hand - {_num(conn, 1)}, " if ship else ""
    sql = (f"UPDATE stock_level SET {on_hand}reserved = reserved - {_num(conn, 1)} "
           f"WHERE warehouse_id = {_ph(conn, 2)} AND product_id = {_ph(conn, 3)}")
    moves: list[StockMove] = []
    for pid, (_product, qty) in sorted(_needs(lines).items()):
        amount = _q(conn, qty)
        params: list[Any] = ([amount, amount] if ship and sqlite else [amount]) + [
            warehouse_id, pid]
        await conn.execute_query(sql, params)
        moves.append(StockMove(warehouse_id=warehouse_id, product_id=pid,
                               kind=StockMoveKind.SHIP if ship else StockMoveKind.RELEASE,
                               quantity=qty, order_id=order_id, user=user, source=source))
    if moves:
        await StockMove.bulk_create(moves, using_db=conn)


async def set_on_hand(actor: User | None, warehouse_id: int, product_id: int,
                      on_hand: Decimal, *, source: str = "web") -> StockLevel:
    """On hand set by an upload or by hand (reserved unchanged)."""
    from tortoise.transactions import in_transaction

    if on_hand < 0:
        raise ValidationFailed("on_hand", N_("cannot be negative"))
    if not await Warehouse.exists(id=warehouse_id):
        raise NotFound("warehouse")
    async with in_transaction() as conn:
        level, _made = await StockLevel.get_or_create(
            warehouse_id=warehouse_id, product_id=product_id, using_db=conn)
        await StockLevel.filter(id=level.id).using_db(conn).update(on_hand=on_hand)
        await StockMove.create(warehouse_id=warehouse_id, product_id=product_id,
                               kind=StockMoveKind.SET, quantity=on_hand, user=actor,
                               source=source, using_db=conn)
    level.on_hand = on_hand
    return level
