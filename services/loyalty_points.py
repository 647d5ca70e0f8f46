"""The points of loyalty cards (U-9): accrual for a posted order, redemption against
an open order, adjustments, the reversal when an order is cancelled, expiry, and a
card's moves. The rules are in :mod:`services.loyalty`."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    EntryKind,
    LedgerEntry,
    LoyaltyCard,
    LoyaltyMove,
    MoveKind,
    Order,
    OrderState,
    User,
)
from services import loyalty as program_svc
from services.clock import utcnow
from services.errors import N_, ValidationFailed
from services.loyalty_cards import audit, balance, get_card

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
MAX_POINTS = 100_000_000
OPEN = (OrderState.DRAFT, OrderState.POSTED)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` ``months`` calendar months later (the day kept, or the month's last)."""
    from services.ranking import months_back

    return months_back(moment, -months)


async def to_home(amount: Decimal, currency: str, moment: datetime | None,
                  home: str) -> Decimal | None:
    """``amount`` in the company currency at the rate of the day (UTC); None without
    a rate."""
    from services import rates

    if currency == home:
        return Decimal(amount)
    try:
        rate = await rates.rate(currency, home, (moment or utcnow()).date())
    except ValidationFailed:
        return None
    return (Decimal(amount) * rate).quantize(CENT, ROUND_HALF_UP)


def history_text(points: int, order_number: str | None = None,
                 reason: str | None = None) -> str:
    """A move's value in the client's history: "+25 · № 000012" (the field names the
    kind: ``loyalty_accrual`` …)."""
    text = f"{points:+d}"
    if order_number:
        text += f" · № {order_number}"
    if reason:
        text += f" · {reason}"
    return text[:500]


async def _write(card: LoyaltyCard, kind: MoveKind, points: int, *, actor: User | None,
                 source: str, order: Order | None = None, amount: Decimal | None = None,
                 reason: str | None = None, expires_at: datetime | None = None,
                 key: str | None = None, ledger_entry_id: int | None = None) -> LoyaltyMove:
    move = await LoyaltyMove.create(
        card_id=card.id, client_id=card.client_id, kind=kind, points=points,
        order_id=order.id if order else None, amount=amount, reason=reason,
        author_id=actor.id if actor else None, created_at=utcnow(), expires_at=expires_at,
        key=key, ledger_entry_id=ledger_entry_id)
    await audit(actor, card, f"loyalty_{kind.value}", None,
                history_text(points, order.number if order else None, reason),
                source=source).save()
    return move


# ---- accrual (after an order is posted) ----------------------------------------------------

async def accrue_for_order(order: Order, *, source: str = "system") -> LoyaltyMove | None:
    """The accrual for a posted order (the rules: once per order)."""
    if order.state not in (OrderState.POSTED, OrderState.SHIPPED, OrderState.CLOSED):
        return None
    card = await LoyaltyCard.filter(client_id=order.client_id, archived=False,
                                    blocked=False).select_related("tier").first()
    if card is None or card.tier is None:
        return None
    if await LoyaltyMove.exists(key=f"accrual:{order.id}"):
        return None
    prog = await program_svc.program()
    base = await to_home(order.total, order.currency, order.posted_at, prog.currency)
    if base is None:
        log.info("loyalty: order %s in %s without a rate: no accrual", order.id,
                 order.currency)
        return None
    points = program_svc.accrual_points(base, card.tier.accrual)
    if points <= 0:
        return None
    expires = add_months(utcnow(), prog.expiry_months) if prog.expiry_months else None
    try:
        async with in_transaction():
            return await _write(card, MoveKind.ACCRUAL, points, actor=None, source=source,
                                order=order, amount=base, expires_at=expires,
                                key=f"accrual:{order.id}")
    except IntegrityError:
        return None  # a second replica did it meanwhile


async def after_post(actor: User, order: Order, source: str) -> list[Any]:
    """services.orders' AFTER_POST hook."""
    await accrue_for_order(order, source=source)
    return []


# ---- cancelling an order (in its transaction) ------------------------------------------------

async def on_cancel(order: Order, actor: User | None, *, source: str = "web") -> None:
    """Reverse the order's accrual and give back its redemptions, voiding their credit
    notes (the rules)."""
    from services import ledger

    moves = await LoyaltyMove.filter(order_id=order.id, kind__in=[
        MoveKind.ACCRUAL, MoveKind.REDEMPTION]).select_related("card").order_by("id")
    for move in moves:
        key = f"reversal:{move.id}"
        if await LoyaltyMove.exists(key=key):
            continue
        await _write(move.card, MoveKind.REVERSAL, -move.points, actor=actor, source=source,
                     order=order, amount=move.amount, key=key)
        if move.ledger_entry_id is not None:
            entry = await LedgerEntry.get_or_none(id=move.ledger_entry_id, void=False)
            if entry is not None:
                await ledger._lock(entry.client_id)
                await ledger._void(entry, f"loyalty: order № {order.number} cancelled")


# ---- redemption and adjustment ---------------------------------------------------------------

def parse_points(raw: Any, where: str = "points", *, signed: bool = False) -> int:
    text = "".join(str(raw if raw is not None else "").split())
    try:
        value = int(text)
    except ValueError:
        raise ValidationFailed(where, N_("whole points, like 150")) from None
    if value == 0 or abs(value) > MAX_POINTS or (value < 0 and not signed):
        raise ValidationFailed(where, N_("whole points, not 0") if signed else
                               N_("whole points above 0"))
    return value


async def _lock(card_id: int) -> None:
    await LoyaltyCard.filter(id=card_id).select_for_update().values_list("id", flat=True)


def _usable(card: LoyaltyCard) -> None:
    if card.archived:
        raise ValidationFailed("card", N_("the card is archived"))
    if card.blocked:
        raise ValidationFailed("card", N_("the card is blocked"))


async def do_redeem(actor: User, card_id: int, data: dict[str, Any], *,
                    source: str = "web") -> LoyaltyMove:
    """Redeem ``points`` against the client's open order ``order_id``; the money is a
    credit note on the client's ledger. The move comes back with its order and author."""
    from services import ledger
    from services.ledger import Pair

    card = await get_card(actor, card_id)
    _usable(card)
    points = parse_points(data.get("points"))
    if not data.get("order_id"):
        raise ValidationFailed("order_id", N_("choose an order"))
    try:
        order_id = int(data["order_id"])
    except (TypeError, ValueError):
        raise ValidationFailed("order_id", N_("choose an order")) from None
    order = await Order.get_or_none(id=order_id, client_id=card.client_id)
    if order is None:
        raise ValidationFailed("order_id", N_("choose an order of this client"))
    if order.state not in OPEN:
        raise ValidationFailed("order_id", N_("points are redeemed against a draft or a "
                                              "posted order"))
    prog = await program_svc.program()
    if order.currency != prog.currency:
        raise ValidationFailed("order_id", N_("points pay orders in {currency} only"),
                               currency=prog.currency)
    async with in_transaction():
        await _lock(card.id)
        have = await balance(card.id)
        if points > have:
            raise ValidationFailed("points", N_("the card has {balance} points"),
                                   balance=max(have, 0))
        used = -sum(await LoyaltyMove.filter(order_id=order.id, card_id=card.id,
                                             kind=MoveKind.REDEMPTION).values_list(
            "points", flat=True))
        cap = (Decimal(order.total) * prog.max_share / 100).quantize(CENT)
        allowed = int((cap / prog.point_value).to_integral_value(ROUND_DOWN))
        allowed -= used
        if points > allowed:
            raise ValidationFailed("points", N_("at most {points} points on this order "
                                                "({share} percent of its total)"),
                                   points=max(allowed, 0),
                                   share=program_svc._text(prog.max_share))
        money = (points * prog.point_value).quantize(CENT, ROUND_HALF_UP)
        await ledger._lock(card.client_id)
        entry = await LedgerEntry.create(
            client_id=card.client_id, legal_entity_id=order.legal_entity_id,
            own_entity_id=order.own_entity_id, currency=order.currency,
            kind=EntryKind.CREDIT_NOTE, dated=ledger.today_of(actor), amount=money,
            number=order.number, order_id=order.id,
            note=f"loyalty: {points} points, card {card.number}"[:500],
            created_by_id=actor.id)
        invoice = await ledger._invoice_entry(order.id)
        await ledger._settle(Pair.of(entry), credit_first=entry.id,
                             debit_first=invoice.id if invoice else None)
        move = await _write(card, MoveKind.REDEMPTION, -points, actor=actor, source=source,
                            order=order, amount=money, ledger_entry_id=entry.id)
    await move.fetch_related("order", "author")  # what a page or the API shows of it
    return move


async def do_adjust(actor: User, card_id: int, data: dict[str, Any], *,
                    source: str = "web") -> LoyaltyMove:
    """Points up or down by hand, with a ``reason``; the move comes back with its order
    (none) and author."""
    card = await get_card(actor, card_id)
    if card.archived:
        raise ValidationFailed("card", N_("the card is archived"))
    points = parse_points(data.get("points"), signed=True)
    reason = " ".join(str(data.get("reason") or "").split())[:300]
    if not reason:
        raise ValidationFailed("reason", N_("say why"))
    async with in_transaction():
        await _lock(card.id)
        have = await balance(card.id)
        if points < 0 and have + points < 0:
            raise ValidationFailed("points", N_("the card has {balance} points"),
                                   balance=max(have, 0))
        move = await _write(card, MoveKind.ADJUSTMENT, points, actor=actor, source=source,
                            reason=reason)
    await move.fetch_related("order", "author")
    return move


async def moves(actor: User, card_id: int, *, limit: int = 100) -> list[LoyaltyMove]:
    card = await get_card(actor, card_id)
    return await LoyaltyMove.filter(card_id=card.id).order_by("-created_at", "-id").limit(
        max(1, min(int(limit), 500))).select_related("order", "author")


async def open_orders(actor: User, card_id: int) -> list[Order]:
    """The client's open orders points may pay (the redeem form's choice)."""
    card = await get_card(actor, card_id)
    prog = await program_svc.program()
    return await Order.filter(client_id=card.client_id, state__in=list(OPEN),
                              currency=prog.currency).order_by("-id").limit(50)


# ---- expiry ---------------------------------------------------------------------------------

def expiring(positives: list[tuple[int, int, bool]], outflow: int) -> tuple[int, list[int]]:
    """What expires now, oldest points taken first: ``positives`` are the card's
    incoming moves in order (id, points, due to expire now), ``outflow`` what went out
    in all. Returns the points and the ids of the due moves."""
    total, due_ids, running = 0, [], 0
    for move_id, points, due in positives:
        before = running
        running += points
        left = max(0, min(points, running - max(outflow, before)))
        if due:
            total += left
            due_ids.append(move_id)
    return total, due_ids


async def expire(now: datetime | None = None, *, source: str = "system",
                 card_ids: list[int] | None = None) -> int:
    """Write the expiry of every card with accruals whose time is up; the points."""
    now = now or utcnow()
    qs = LoyaltyMove.filter(kind=MoveKind.ACCRUAL, expired=False, expires_at__lte=now)
    if card_ids is not None:
        qs = qs.filter(card_id__in=card_ids)
    cards = sorted(set(await qs.values_list("card_id", flat=True)))
    written = 0
    for card_id in cards:
        async with in_transaction():
            await _lock(card_id)
            rows = await LoyaltyMove.filter(card_id=card_id).order_by(
                "created_at", "id").values_list("id", "points", "kind", "expired",
                                                "expires_at")
            positives = [(i, p, k == MoveKind.ACCRUAL and not x and e is not None and
                          _aware(e) <= now) for i, p, k, x, e in rows if p > 0]
            outflow = -sum(p for _i, p, _k, _x, _e in rows if p < 0)
            points, due = expiring(positives, outflow)
            if not due:
                continue
            await LoyaltyMove.filter(id__in=due).update(expired=True)
            if points > 0:
                card = await LoyaltyCard.get(id=card_id)
                await _write(card, MoveKind.EXPIRY, -points, actor=None, source=source)
                written += points
    return written


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

