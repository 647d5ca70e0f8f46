"""Many payments recorded at once: a bank statement's matched lines (issue 14: K-6).

The same rules as one payment (:func:`services.ledger.do_record_payment` called from
:mod:`services.bank_import`), written for a chunk of lines with a bounded number of
queries instead of a dozen per line:

* the clients are checked as the person sees them and locked together (in id order, so
  two imports cannot deadlock on PostgreSQL), once per chunk;
* the payer's legal entity, the invoice a purpose names, the pairs with debts and the
  open debits and free credits of every pair touched are read in one query each;
* each payment's allocation is worked out in memory by :func:`services.ledger.allocate`
  — the function ``_settle`` uses — against the pair's open items as the earlier lines
  of the chunk left them; then the chunk's entries are inserted together, their ids read
  back by their bank lines, and the allocations inserted together.

A line the ledger would refuse (an amount out of range, a date in the future, a client
the person does not see) is returned with its error and recorded nothing; the caller
marks it ``not_recorded``. The caller holds the transaction: a database error undoes
the chunk, and the caller records it again line by line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from models import Allocation, BankLine, Client, EntryKind, LedgerEntry, LegalEntity, OwnEntity
from models.settlements import DEBITS
from services import ledger_sql as q
from services.errors import N_, DomainError, NotFound, ValidationFailed
from services.ledger import Pair, allocate, parse_amount, parse_dated


@dataclass
class _PairState:
    debits: list[tuple[int, int]] = field(default_factory=list)   # (id, open cents)
    credits: list[tuple[int, int]] = field(default_factory=list)  # (id, cents left)
    order: dict[int, tuple[str, int]] = field(default_factory=dict)  # credit → (date, id)


def _code_matches(entity: LegalEntity, code: str) -> bool:
    if len(code) <= 8:
        return entity.edrpou == code
    return code in (entity.inn, entity.ipn)


def payer_entity(entities: list[LegalEntity], line: BankLine) -> int | None:
    """The client's legal entity that paid (``entities`` are the client's, the primary
    first): by the payer's code, else by its account."""
    if line.payer_code:
        for entity in entities:
            if _code_matches(entity, line.payer_code):
                return entity.id
    if line.payer_account:
        for entity in entities:
            if line.payer_account in (entity.account, entity.iban):
                return entity.id
    return None


async def _open_items(pairs: set[Pair]) -> dict[Pair, _PairState]:
    """Every pair's open debits (oldest due first) and free credits (oldest first), in
    two queries over the pairs' clients."""
    out = {p: _PairState() for p in pairs}
    clients = q.ints(sorted({p.client_id for p in pairs}))
    for debits in (True, False):
        side, kinds = ("debit_id", q.DEBIT_KINDS) if debits else ("credit_id",
                                                                   q.CREDIT_KINDS)
        order = "COALESCE(e.due, e.dated), e.dated, e.id" if debits else "e.dated, e.id"
        found = await q.rows(f"""
            SELECT e.id AS id, e.client_id AS client_id, e.currency AS currency,
                   e.legal_entity_id AS le, e.own_entity_id AS oe,
                   e.dated AS dated,
                   {q.cents('e.amount')} - COALESCE(SUM({q.cents('a.amount')}), 0) AS open
            FROM ledger_entry e LEFT JOIN allocation a ON a.{side} = e.id
            WHERE e.client_id IN ({clients}) AND e.void = FALSE AND e.kind IN ({kinds})
            GROUP BY e.id, e.client_id, e.currency, e.legal_entity_id, e.own_entity_id,
                     e.amount, e.due, e.dated
            HAVING {q.cents('e.amount')} > COALESCE(SUM({q.cents('a.amount')}), 0)
            ORDER BY {order}""")
        for r in found:
            pair = Pair(int(r["client_id"]), r["currency"],
                        None if r["le"] is None else int(r["le"]),
                        None if r["oe"] is None else int(r["oe"]))
            if pair in out:
                items = out[pair].debits if debits else out[pair].credits
                items.append((int(r["id"]), int(r["open"])))
                if not debits:
                    out[pair].order[int(r["id"])] = (str(r["dated"])[:10], int(r["id"]))
    return out


@dataclass
class _Planned:
    line: BankLine
    amount: Any
    dated: Any
    pair: Pair
    target: int | None


async def record_lines(actor, lines: list[BankLine]) -> dict[int, DomainError | None]:
    """Record the matched ``lines`` as payments (inside the caller's transaction): line
    id → None when recorded, else the error that refused it."""
    from services.clients import visible_clients

    result: dict[int, DomainError | None] = {}
    ids = sorted({line.client_id for line in lines})
    seen = set(await (await visible_clients(actor)).filter(id__in=ids)
               .values_list("id", flat=True))
    await Client.filter(id__in=sorted(seen)).order_by("id").select_for_update() \
        .values_list("id", flat=True)
    entities: dict[int, list[LegalEntity]] = defaultdict(list)
    for entity in await LegalEntity.filter(client_id__in=sorted(seen)).order_by(
            "-is_primary", "id"):
        entities[entity.client_id].append(entity)
    refs = sorted({line.invoice_ref for line in lines if line.invoice_ref})
    invoices: dict[tuple[int, str], LedgerEntry] = {}
    if refs:
        for entry in await LedgerEntry.filter(client_id__in=sorted(seen), number__in=refs,
                                              kind=EntryKind.INVOICE, void=False
                                              ).order_by("id"):
            invoices[(entry.client_id, entry.number)] = entry  # the newest wins
    with_debts: dict[tuple[int, str], set[tuple[int | None, int | None]]] = defaultdict(set)
    for client_id, currency, le, oe in await LedgerEntry.filter(
            client_id__in=sorted(seen), void=False, kind__in=list(DEBITS)).distinct() \
            .values_list("client_id", "currency", "legal_entity_id", "own_entity_id"):
        with_debts[(client_id, currency)].add((le, oe))
    own = await OwnEntity.filter(archived=False).order_by("-is_default", "id").first()

    planned: list[_Planned] = []
    for line in lines:
        try:
            if line.client_id not in seen:
                raise NotFound("client")
            amount = parse_amount(line.amount)
            currency = (line.currency or "").upper()
            if not q.CURRENCY.match(currency):
                raise ValidationFailed("currency", N_("a currency code like RUB"))
            dated = parse_dated(line.dated, actor)
            le = payer_entity(entities[line.client_id], line)
            target = invoices.get((line.client_id, line.invoice_ref or ""))
            if target is not None and (target.currency != currency
                                       or (le and le != target.legal_entity_id)):
                target = None  # a hint the ledger cannot follow: the oldest are paid
            if target is not None:
                pair = Pair.of(target)
            else:
                pairs = [x for x in with_debts[(line.client_id, currency)]
                         if not le or x[0] == le]
                if len(pairs) == 1:
                    pair = Pair(line.client_id, currency, *pairs[0])
                else:
                    if not le and entities[line.client_id]:
                        le = entities[line.client_id][0].id
                    pair = Pair(line.client_id, currency, le, own.id if own else None)
        except DomainError as exc:
            result[line.id] = exc
            continue
        planned.append(_Planned(line, amount, dated, pair,
                                target.id if target is not None else None))
    if not planned:
        return result

    # the entries are inserted together after the allocations are worked out: until
    # then a new entry is known by a stand-in id (-1, -2, ...) that sorts after every
    # entry of its day, as the id it will get does
    state = await _open_items({p.pair for p in planned})
    made: list[tuple[int, int, int]] = []
    for n, p in enumerate(planned, start=1):
        items = state[p.pair]
        items.order[-n] = (p.dated.isoformat(), 10**18 + n)
        allocated, items.debits, credits = allocate(
            items.debits, items.credits + [(-n, q.to_cents(p.amount))],
            debit_first=p.target, credit_first=-n)
        items.credits = sorted(credits, key=lambda c: items.order[c[0]])
        made += allocated
        result[p.line.id] = None
    await LedgerEntry.bulk_create([LedgerEntry(
        client_id=p.line.client_id, legal_entity_id=p.pair.legal_entity_id,
        own_entity_id=p.pair.own_entity_id, currency=p.pair.currency,
        kind=EntryKind.PAYMENT, dated=p.dated, amount=p.amount, number=p.line.number,
        bank_line_id=p.line.id, created_by_id=actor.id) for p in planned], batch_size=500)
    by_line = dict(await LedgerEntry.filter(
        bank_line_id__in=[p.line.id for p in planned], kind=EntryKind.PAYMENT, void=False
    ).values_list("bank_line_id", "id"))
    real = {-n: by_line[p.line.id] for n, p in enumerate(planned, start=1)}
    if made:
        await Allocation.bulk_create([
            Allocation(credit_id=real.get(c, c), debit_id=d, amount=q.money(cents))
            for c, d, cents in made], batch_size=500)
    return result

