"""The invoice of an order (S-17): loads the order with its lines, seller and buyer and
turns them into the plain data :mod:`services.invoice_pdf` prints.

Rules:

* The seller is the order's own entity, else our default one (``is_default``, not
  archived); with neither the order cannot be invoiced (ValidationFailed).
* The buyer is the order's legal entity, else the client's primary legal entity, else
  the client by name alone (a private person, or a company whose requisites are not
  known yet).
* The number is the order's; the date, the day it was posted (else created) in the
  time zone ``tz``, unless ``on`` gives another.
* Lines come in their order (``position``, then id); the totals are the lines' sums
  and the order's ``total``, so an order whose stored total disagrees with its lines
  is refused when the PDF is made rather than printed wrong.
* Who may see the order is the caller's check (as with other documents).
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from models import Client, LegalEntity, Order, OrderLine, OwnEntity
from services.errors import N_, NotFound, ValidationFailed
from services.invoice_pdf import Invoice, Line, Party, Totals


async def _seller(order: Order) -> OwnEntity:
    own = order.own_entity or await OwnEntity.filter(is_default=True, archived=False) \
        .order_by("id").first()
    if own is None:
        raise ValidationFailed("own_entity", N_("the order has no seller: choose which of "
                                                "our legal entities sells"))
    return own


async def _buyer(order: Order) -> Party:
    client: Client = order.client
    entity = order.legal_entity or await LegalEntity.filter(
        client_id=client.id, is_primary=True).order_by("id").first()
    if entity is None:
        return Party(name=client.name, country=client.country or "RU")
    return Party.of(entity)


async def invoice_from_order(order_id: int, *, language: str = "ru",
                             tz: str = "Europe/Moscow", on: date | None = None) -> Invoice:
    """The invoice of order ``order_id`` in ``language`` (ru, uk, en)."""
    order = await Order.get_or_none(id=order_id).prefetch_related(
        "own_entity", "legal_entity", "client")
    if order is None:
        raise NotFound("order")
    seller = Party.of(await _seller(order))
    lines = tuple(
        Line(name=row.name, unit=row.unit, quantity=row.quantity, price=row.price,
             amount=row.amount, vat_rate=row.vat_rate, vat_amount=row.vat_amount)
        for row in await OrderLine.filter(order_id=order.id).order_by("position", "id"))
    sums = Totals.of(lines, order.vat_included)
    when = order.posted_at or order.created_at
    return Invoice(
        number=order.number,
        date=on or when.astimezone(ZoneInfo(tz)).date(),
        currency=order.currency,
        vat_included=order.vat_included,
        lines=lines,
        totals=Totals(amount=sums.amount, vat=sums.vat, total=order.total),
        seller=seller,
        buyer=await _buyer(order),
        language=language,
    )
