"""The ledger of settlements with clients (issue 14: K-6, M-6, S-23).

* **One ledger per client, legal entity pair and currency** ("a pair": the client's
  legal entity and ours). Entries are never edited into a second copy of a balance:
  what is owed, the credit and the overdue part are summed from the entries and their
  allocations in SQL (:mod:`models.settlements` says the signs).
* **Orders**: making an order's invoice writes its invoice entry (once per order: making
  it again updates the amount and the number); its shipment writes a shipment entry
  and, when there is no invoice entry yet, the invoice entry too (the debt arises at
  the shipment at the latest) and the shipment-basis due date. An order cancelled after
  its invoice gets a credit note of what is still open, or its invoice entry is voided
  when nothing was paid. All in the same transaction as the order's move.
* **Allocation**: a payment (a credit note, a credit adjustment) pays the invoice named
  first, then the open debits oldest due first (an invoice without a due date yet by its
  date). What is left is the client's credit: the next debit of the same pair and
  currency takes it by itself. Voiding an entry removes its allocations and the freed
  money is allocated again.
* **Who**: payments, credit notes, adjustments and voids are recorded by heads and admins
  (``Action.RECORD_PAYMENTS``) for clients they see; everyone reads the ledger of the
  clients they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from models import (
    Allocation,
    BankLine,
    Client,
    EntryKind,
    LedgerEntry,
    LegalEntity,
    Order,
    OwnEntity,
    User,
)
from models.settlements import CREDITS, DEBITS
from services import ledger_sql as q
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed
from services.payment_terms import due_date, terms_of
from services.permissions import Action, require

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")


@dataclass(frozen=True)
class Pair:
    client_id: int
    currency: str
    legal_entity_id: int | None
    own_entity_id: int | None

    @classmethod
    def of(cls, e: LedgerEntry) -> Pair:
        return cls(e.client_id, e.currency, e.legal_entity_id, e.own_entity_id)


def today_of(user: User | None) -> date:
    return utcnow().astimezone(ZoneInfo((user and user.timezone) or "UTC")).date()


def parse_amount(raw: Any, where: str = "amount") -> Decimal:
    """Money as typed ("1 500,50", "1500.5") or a Decimal: above zero, two places."""
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw if raw is not None else "").replace(" ", "").replace(
            "\u00a0", "").replace("\u202f", "").replace(",", ".")
        try:
            value = Decimal(text)
        except (InvalidOperation, ValueError):
            raise ValidationFailed(where, N_("«{value}» is not a number"),
                                   value=str(raw)[:40]) from None
    if not value.is_finite() or value <= 0 or value > MAX_AMOUNT:
        raise ValidationFailed(where, N_("an amount above zero"))
    return value.quantize(CENT, ROUND_HALF_UP)


# ---- allocation ------------------------------------------------------------------------------

def _pair_where(p: Pair) -> str:
    le = "IS NULL" if p.legal_entity_id is None else f"= {int(p.legal_entity_id)}"
    oe = "IS NULL" if p.own_entity_id is None else f"= {int(p.own_entity_id)}"
    return (f"e.client_id = {int(p.client_id)} AND e.currency = {q.cur(p.currency)} "
            f"AND e.legal_entity_id {le} AND e.own_entity_id {oe} AND e.void = FALSE")


async def _open(p: Pair, debits: bool) -> list[tuple[int, int]]:
    """(id, open cents) of the pair's debits with something open, oldest due first, or of
    its credits with something left, oldest first."""
    side, kinds = ("debit_id", q.DEBIT_KINDS) if debits else ("credit_id", q.CREDIT_KINDS)
    order = "COALESCE(e.due, e.dated), e.dated, e.id" if debits else "e.dated, e.id"
    found = await q.rows(f"""
        SELECT e.id AS id, {q.cents('e.amount')} - COALESCE(SUM({q.cents('a.amount')}), 0)
               AS open
        FROM ledger_entry e LEFT JOIN allocation a ON a.{side} = e.id
        WHERE {_pair_where(p)} AND e.kind IN ({kinds})
        GROUP BY e.id, e.amount, e.due, e.dated
        HAVING {q.cents('e.amount')} > COALESCE(SUM({q.cents('a.amount')}), 0)
        ORDER BY {order}""")
    return [(int(r["id"]), int(r["open"])) for r in found]


def allocate(debits: list[tuple[int, int]], credits: list[tuple[int, int]], *,
             debit_first: int | None = None, credit_first: int | None = None
             ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]],
                        list[tuple[int, int]]]:
    """Free credits against open debits, both given as (id, cents) in their order (the
    named ones go first): (credit, debit, cents) allocated, and the debits and credits
    still open, in the order given."""
    first_d = sorted(debits, key=lambda d: d[0] != debit_first) if debit_first else debits
    first_c = sorted(credits, key=lambda c: c[0] != credit_first) if credit_first \
        else credits
    left = dict(debits) | dict(credits)
    made: list[tuple[int, int, int]] = []
    i = j = 0
    while i < len(first_d) and j < len(first_c):
        d, c = first_d[i][0], first_c[j][0]
        take = min(left[d], left[c])
        made.append((c, d, take))
        left[d] -= take
        left[c] -= take
        if not left[d]:
            i += 1
        if not left[c]:
            j += 1
    return (made, [(d, left[d]) for d, _ in debits if left[d]],
            [(c, left[c]) for c, _ in credits if left[c]])


async def _settle(p: Pair, *, credit_first: int | None = None,
                  debit_first: int | None = None) -> None:
    """Allocate the pair's free credits to its open debits (the named ones first)."""
    made, _debits, _credits = allocate(await _open(p, True), await _open(p, False),
                                       debit_first=debit_first, credit_first=credit_first)
    if made:
        await Allocation.bulk_create([Allocation(credit_id=c, debit_id=d, amount=q.money(take))
                                      for c, d, take in made])


async def _lock(client_id: int) -> None:
    """One ledger write of a client at a time (PostgreSQL locks the row; SQLite has one
    writer anyway)."""
    await Client.filter(id=client_id).select_for_update().values_list("id", flat=True)


async def _trim(entry: LedgerEntry) -> None:
    """An entry whose amount went down keeps allocations up to the new amount (the
    latest ones given back)."""
    side = "debit_id" if entry.kind in DEBITS else "credit_id"
    left = entry.amount
    for alloc in await Allocation.filter(**{side: entry.id}).order_by("id"):
        if left <= 0:
            await alloc.delete()
        elif alloc.amount > left:
            await Allocation.filter(id=alloc.id).update(amount=left)
            left = Decimal(0)
        else:
            left -= alloc.amount


async def _allocated(entry_id: int, debit: bool) -> Decimal:
    side = "debit_id" if debit else "credit_id"
    total = Decimal(0)
    for amount in await Allocation.filter(**{side: entry_id}).values_list("amount", flat=True):
        total += Decimal(str(amount))
    return total


# ---- entries from orders --------------------------------------------------------------------

async def _invoice_entry(order_id: int) -> LedgerEntry | None:
    return await LedgerEntry.filter(order_id=order_id, kind=EntryKind.INVOICE,
                                    void=False).first()


async def _tz_of(order: Order, actor: User | None) -> ZoneInfo:
    if actor is None:
        actor = await User.get_or_none(id=order.owner_id)
    return ZoneInfo((actor and actor.timezone) or "UTC")


async def record_invoice(order: Order, conn: Any = None, *, actor: User | None = None,
                         on: date | None = None) -> LedgerEntry | None:
    """The order's invoice entry (K-6): made once, brought up to date when the invoice
    is made again. Its date is the invoice's (the day posted, else made); the due date
    from the client's terms."""
    if order.total is None or order.total <= 0:
        return None
    async with in_transaction():
        await _lock(order.client_id)
        tz = await _tz_of(order, actor)
        entry = await _invoice_entry(order.id)
        shipped = await LedgerEntry.filter(order_id=order.id, kind=EntryKind.SHIPMENT,
                                           void=False).first()
        terms = await terms_of(order.client_id)
        if entry is None:
            dated = on or (order.posted_at or order.created_at or utcnow()).astimezone(
                tz).date()
            entry = await LedgerEntry.create(
                client_id=order.client_id, legal_entity_id=order.legal_entity_id,
                own_entity_id=order.own_entity_id, currency=order.currency,
                kind=EntryKind.INVOICE, dated=dated, amount=order.total,
                due=due_date(terms, dated, shipped.dated if shipped else None),
                number=order.number, order_id=order.id,
                created_by_id=actor.id if actor else None)
        elif (entry.amount, entry.number) != (order.total, order.number):
            lower = order.total < entry.amount
            await LedgerEntry.filter(id=entry.id).update(amount=order.total,
                                                         number=order.number)
            entry.amount, entry.number = order.total, order.number
            if lower:
                await _trim(entry)
        await _settle(Pair.of(entry))
    return entry


async def record_shipment(order: Order, conn: Any = None, *, actor: User | None = None,
                          on: date | None = None) -> LedgerEntry | None:
    """The order's shipment entry (S-23); the invoice entry when there is none yet, and
    a shipment-basis due date."""
    if order.total is None or order.total <= 0:
        return None
    async with in_transaction():
        await _lock(order.client_id)
        day = on or utcnow().astimezone(await _tz_of(order, actor)).date()
        entry = await LedgerEntry.filter(order_id=order.id, kind=EntryKind.SHIPMENT,
                                         void=False).first()
        if entry is None:
            entry = await LedgerEntry.create(
                client_id=order.client_id, legal_entity_id=order.legal_entity_id,
                own_entity_id=order.own_entity_id, currency=order.currency,
                kind=EntryKind.SHIPMENT, dated=day, amount=order.total,
                number=order.number, order_id=order.id,
                created_by_id=actor.id if actor else None)
        invoice = await _invoice_entry(order.id)
        if invoice is None:
            await record_invoice(order, actor=actor, on=day)
        elif invoice.due is None:
            due = due_date(await terms_of(order.client_id), invoice.dated, entry.dated)
            await LedgerEntry.filter(id=invoice.id).update(due=due)
    return entry


async def record_cancel(order: Order, conn: Any = None, *, actor: User | None = None
                        ) -> LedgerEntry | None:
    """An order cancelled after its invoice: the invoice entry voided when nothing was
    paid, else a credit note of what is still open."""
    async with in_transaction():
        await _lock(order.client_id)
        invoice = await _invoice_entry(order.id)
        if invoice is None:
            return None
        paid = await _allocated(invoice.id, True)
        if paid <= 0:
            await _void(invoice, "")
            return None
        left = invoice.amount - paid
        if left <= 0:
            return None
        note = await LedgerEntry.create(
            client_id=invoice.client_id, legal_entity_id=invoice.legal_entity_id,
            own_entity_id=invoice.own_entity_id, currency=invoice.currency,
            kind=EntryKind.CREDIT_NOTE, dated=today_of(actor), amount=left,
            number=invoice.number, order_id=order.id,
            created_by_id=actor.id if actor else None)
        await _settle(Pair.of(note), credit_first=note.id, debit_first=invoice.id)
    return note


# ---- payments, credit notes, adjustments ------------------------------------------------------

async def _target(client_id: int, data: dict[str, Any]) -> LedgerEntry | None:
    if data.get("invoice_entry_id"):
        found = await LedgerEntry.get_or_none(id=int(data["invoice_entry_id"]),
                                              client_id=client_id, kind=EntryKind.INVOICE,
                                              void=False)
        if found is None:
            raise ValidationFailed("invoice_entry_id", N_("choose an invoice of this client"))
        return found
    number = " ".join(str(data.get("invoice_number") or "").split())
    if number:
        found = await LedgerEntry.filter(client_id=client_id, kind=EntryKind.INVOICE,
                                         void=False, number=number.lstrip("№ ")
                                         ).order_by("-id").first()
        if found is None:
            raise ValidationFailed("invoice_number", N_("no invoice № {number} of this "
                                                        "client"), number=number[:64])
        return found
    return None


def _dated(raw: Any, actor: User) -> date:
    if raw in (None, ""):
        return today_of(actor)
    if isinstance(raw, date):
        day = raw
    else:
        text = str(raw).strip()
        try:
            day = date.fromisoformat(text) if "-" in text else \
                date(*reversed([int(x) for x in text.split(".")]))
        except (ValueError, TypeError):
            raise ValidationFailed("dated", N_("a date like 31.12.2025"), ) from None
    if day > today_of(actor):
        raise ValidationFailed("dated", N_("cannot be in the future"))
    return day


def parse_dated(raw: Any, actor: User) -> date:
    """A payment's date as typed ("31.12.2025", ISO too): not in the future; empty:
    today in ``actor``'s zone."""
    return _dated(raw, actor)


async def _pair_for(client: Client, data: dict[str, Any], currency: str,
                    target: LedgerEntry | None) -> Pair:
    le, oe = data.get("legal_entity_id"), data.get("own_entity_id")
    if le:
        if not await LegalEntity.exists(id=int(le), client_id=client.id):
            raise ValidationFailed("legal_entity_id", N_("choose a legal entity of this "
                                                         "client"))
        le = int(le)
    if oe:
        if not await OwnEntity.exists(id=int(oe)):
            raise ValidationFailed("own_entity_id", N_("choose a value from the list"))
        oe = int(oe)
    if target is not None:
        if (le and le != target.legal_entity_id) or (oe and oe != target.own_entity_id):
            raise ValidationFailed("invoice_number", N_("this invoice is of another legal "
                                                        "entity"))
        return Pair.of(target)
    if not le or not oe:  # the one pair with debts in the currency, else the defaults
        pairs = await LedgerEntry.filter(client_id=client.id, currency=currency, void=False,
                                         kind__in=list(DEBITS)).distinct().values_list(
            "legal_entity_id", "own_entity_id")
        pairs = [x for x in set(pairs) if (not le or x[0] == le) and (not oe or x[1] == oe)]
        if len(pairs) == 1:
            return Pair(client.id, currency, *pairs[0])
        if not le:
            first = await LegalEntity.filter(client_id=client.id).order_by(
                "-is_primary", "id").first()
            le = first.id if first else None
        if not oe:
            own = await OwnEntity.filter(archived=False).order_by("-is_default", "id").first()
            oe = own.id if own else None
    return Pair(client.id, currency, le, oe)


async def _manual(actor: User, kind: EntryKind, data: dict[str, Any], *, source: str,
                  note_required: bool = False) -> LedgerEntry:
    from services.clients import get_client

    await require(actor, Action.RECORD_PAYMENTS)
    if not data.get("client_id"):
        raise ValidationFailed("client_id", N_("is required"))
    client = await get_client(actor, int(data["client_id"]))
    amount = parse_amount(data.get("amount"))
    target = await _target(client.id, data) if kind in CREDITS else None
    currency = str(data.get("currency") or (target.currency if target else "RUB")
                   ).strip().upper()
    if not q.CURRENCY.match(currency):
        raise ValidationFailed("currency", N_("a currency code like RUB"))
    if target is not None and target.currency != currency:
        raise ValidationFailed("currency", N_("the invoice is in {currency}"),
                               currency=target.currency)
    dated = _dated(data.get("dated"), actor)
    note = " ".join(str(data.get("note") or "").split())[:500] or None
    if note_required and not note:
        raise ValidationFailed("note", N_("say why"))
    bank_line = data.get("bank_line_id")
    if bank_line and not await BankLine.exists(id=int(bank_line)):
        raise NotFound("bank line")
    number = " ".join(str(data.get("number") or "").split())[:64] or None
    async with in_transaction():
        await _lock(client.id)
        pair = await _pair_for(client, data, currency, target)
        entry = await LedgerEntry.create(
            client_id=client.id, legal_entity_id=pair.legal_entity_id,
            own_entity_id=pair.own_entity_id, currency=currency, kind=kind, dated=dated,
            amount=amount, number=number, bank_line_id=int(bank_line) if bank_line else None,
            note=note, created_by_id=actor.id)
        await _settle(pair, credit_first=entry.id if kind in CREDITS else None,
                      debit_first=target.id if target else None)
    return entry


async def do_record_payment(actor: User, data: dict[str, Any], *, source: str = "web"
                            ) -> LedgerEntry:
    """A client's payment (K-6): ``client_id, amount, currency, dated, number`` and,
    optionally, ``legal_entity_id, own_entity_id, invoice_entry_id`` or ``invoice_number``
    (paid first), ``bank_line_id, note``."""
    return await _manual(actor, EntryKind.PAYMENT, data, source=source)


async def do_credit_note(actor: User, data: dict[str, Any], *, source: str = "web"
                         ) -> LedgerEntry:
    """A credit note (a return, a discount after the fact), as a payment is given."""
    return await _manual(actor, EntryKind.CREDIT_NOTE, data, source=source)


async def do_adjust(actor: User, data: dict[str, Any], *, source: str = "web") -> LedgerEntry:
    """A manual adjustment, ``direction`` "debit" (up) or "credit" (down), with a note."""
    kinds = {"debit": EntryKind.DEBIT, "credit": EntryKind.CREDIT}
    if data.get("direction") not in kinds:
        raise ValidationFailed("direction", N_("choose debit or credit"))
    return await _manual(actor, kinds[data["direction"]], data, source=source,
                         note_required=True)


async def _void(entry: LedgerEntry, reason: str) -> None:
    await Allocation.filter(credit_id=entry.id).delete()
    await Allocation.filter(debit_id=entry.id).delete()
    note = f"{entry.note} · {reason}" if entry.note and reason else (reason or entry.note)
    await LedgerEntry.filter(id=entry.id).update(void=True, note=(note or None) and note[:500])
    await _settle(Pair.of(entry))


async def do_void(actor: User, entry_id: int, reason: str) -> LedgerEntry:
    """Void an entry made by mistake: left out of every sum, its allocations gone and
    the money they held allocated again."""
    from services.clients import get_client

    await require(actor, Action.RECORD_PAYMENTS)
    entry = await LedgerEntry.get_or_none(id=entry_id)
    if entry is None:
        raise NotFound("ledger entry")
    await get_client(actor, entry.client_id)
    reason = " ".join(str(reason or "").split())[:300]
    if not reason:
        raise ValidationFailed("reason", N_("say why"))
    if entry.void:
        return entry
    async with in_transaction():
        await _lock(entry.client_id)
        await _void(entry, reason)
    return await LedgerEntry.get(id=entry.id)


# the reading side (balances, open items, the ledger, /debts) is kept apart, read here too
from services.ledger_views import (  # noqa: E402
    Balance,
    LedgerLine,
    OpenItem,
    Overdue,
    balances,
    ledger,
    open_items,
    overdue_of,
)

__all__ = ["Balance", "LedgerLine", "OpenItem", "Overdue", "Pair", "allocate", "balances",
           "do_adjust", "do_credit_note", "do_record_payment", "do_void", "ledger",
           "open_items", "overdue_of", "parse_amount", "parse_dated", "record_cancel",
           "record_invoice", "record_shipment", "today_of"]
