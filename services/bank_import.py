"""Bank statements into payments (issue 14: K-6).

* Who: admins and heads (:data:`Action.RECORD_PAYMENTS`).
* A statement (1CClientBankExchange or XLSX, :mod:`services.bank_format`, read in a
  thread) is stored as a :class:`BankStatement` with one :class:`BankLine` per incoming
  payment. A line's ``key`` (our account, its date, number, the payer's code — or the
  payer's account when there is no code — and the amount) is unique: the same
  statement uploaded again, or an overlapping one, adds only the lines not seen before;
  a file with no new line writes nothing. The report counts new and known lines.
* Each new line is matched to a client: by the payer's INN / EDRPOU / IPN among the
  clients' legal entities (not archived clients); when that gives several clients or
  none, by the payer's account (the legal entities' account or IBAN). A line left
  unmatched keeps a reason code (:data:`REASONS`, shown translated): ``no_client``,
  ``several_clients``, ``not_incoming`` (neither account is ours and the dates do not
  say it came in), ``currency`` (a currency the file names that is not known),
  ``not_recorded`` (the ledger refused the payment; its message was logged).
* An invoice or order number found in the purpose («счёт № 000012 от…», «по сч. 15»,
  «рахунок №12», «inv. 12», «заказ 000031») goes to ``invoice_ref`` — up to six digits
  padded with zeros as order numbers are (``000012``).
* Matched lines become payments in the ledger 200 to a transaction through
  :mod:`services.ledger_batch` (the rules of ``services.ledger.do_record_payment`` in a
  few queries a chunk); a chunk the database refuses is recorded again line by line
  through :func:`_record`. A line is ``matched`` only when its payment was recorded.
  The number in a purpose is a hint: an invoice the ledger does not know, of the
  client's other legal entity or in another currency leaves the payment to pay the
  oldest invoices first.
* The queue (:func:`unmatched`): a person assigns a line to a client (optionally
  naming the invoice) — it is recorded then — or ignores it with a reason (not a
  client's payment); an ignored line can be put back into the queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.exceptions import BaseORMException, IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import BankLine, BankLineState, BankStatement, LegalEntity, OwnEntity, User
from services import bank_format, ledger_batch
from services.clients import get_client
from services.errors import N_, DomainError, NotFound, ValidationFailed
from services.permissions import Action, require

log = logging.getLogger("kontakt.bank")

REASONS = {
    "no_client": N_("no client has this payer's INN/EDRPOU or account"),
    "several_clients": N_("several clients have this payer's INN/EDRPOU"),
    "not_incoming": N_("not a payment to our account"),
    "currency": N_("the currency is not known"),
    "not_recorded": N_("the payment could not be recorded; assign it again"),
}
MAX_REASON = 64
MAX_PAGE = 200
_COUNTRY_CURRENCY = {"RU": "RUB", "UA": "UAH"}


@dataclass(slots=True)
class ImportReport:
    statement_id: int | None
    kind: str
    total: int = 0          # incoming payments in the file
    new: int = 0            # of them stored now
    known: int = 0          # of them stored before
    outgoing: int = 0       # paid from our account: left out
    matched: int = 0
    unmatched: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # code → lines


# --- the invoice number in a purpose -------------------------------------------------------

_INVOICE = re.compile(
    r"(?:(?<![\w/])(?:сч[её]т\w*|сч|с-т|сч-т|рахун\w*|рах|инвойс\w*|інвойс\w*|invoice|inv"
    r"|заказ\w*|замовлен\w*|order|ord)\.?)"
    r"\s*(?:на\s+оплату\s*|на\s+оплату\s+)?(?:№|#|n|no\.?|nr\.?|номер)?\s*"
    r"(?P<number>(?:[a-zа-яіїє]{1,3}-?)?\d{1,10})(?!\d)", re.IGNORECASE)


def find_invoice_ref(purpose: str | None) -> str | None:
    """The first invoice or order number named in a payment's purpose: «000012» for
    «по счету № 000012 от…», «по сч. 12», «рахунок №12», «inv. 12»; None if none."""
    match = _INVOICE.search(purpose or "")
    if not match:
        return None
    number = match.group("number").upper()
    return number.zfill(6) if number.isdigit() and len(number) <= 6 else number[:64]


# --- matching ----------------------------------------------------------------------------


def _by_code(code: str) -> Q:
    """A legal entity with this INN, EDRPOU or IPN (each column's length respected)."""
    if len(code) <= 8:
        return Q(edrpou=code)
    return Q(inn=code) | Q(ipn=code)


async def _entities_for(codes: set[str], accounts: set[str]) -> list[LegalEntity]:
    """The legal entities (of clients not archived) with any of these payer codes or
    accounts, 500 values to a query."""
    found: dict[int, LegalEntity] = {}
    short, long_ = sorted(c for c in codes if len(c) <= 8), sorted(c for c in codes
                                                                   if len(c) > 8)
    accs = sorted(accounts)
    for values, condition in ((short, lambda v: Q(edrpou__in=v)),
                              (long_, lambda v: Q(inn__in=v) | Q(ipn__in=v)),
                              (accs, lambda v: Q(account__in=v) | Q(iban__in=v))):
        for i in range(0, len(values), 500):
            for entity in await LegalEntity.filter(condition(values[i:i + 500]),
                                                   client__archived_at=None):
                found[entity.id] = entity
    return list(found.values())


def _match_one(payment: bank_format.Payment, by_code: dict[str, set[int]],
               by_account: dict[str, set[int]]) -> tuple[int | None, str | None]:
    if payment.direction != "in":
        return None, "not_incoming"
    if payment.currency is None and payment.currency_raw:
        return None, "currency"
    code = by_code.get(payment.payer_code or "", set())
    if len(code) == 1:
        return next(iter(code)), None
    account = by_account.get(payment.payer_account or "", set())
    if code:
        both = code & account
        return (next(iter(both)), None) if len(both) == 1 else (None, "several_clients")
    if len(account) == 1:
        return next(iter(account)), None
    return None, "several_clients" if account else "no_client"


async def match_clients(payments: list[bank_format.Payment]
                        ) -> list[tuple[int | None, str | None]]:
    """For each payment (client id, None) or (None, the reason code): by the payer's
    INN / EDRPOU / IPN when that names one client, else by its account."""
    codes = {p.payer_code for p in payments if p.payer_code}
    accounts = {p.payer_account for p in payments if p.payer_account}
    by_code: dict[str, set[int]] = {}
    by_account: dict[str, set[int]] = {}
    for entity in await _entities_for(codes, accounts):
        # a code of up to 8 digits is an EDRPOU, a longer one an INN or IPN (_by_code)
        named = [entity.edrpou] if entity.edrpou and len(entity.edrpou) <= 8 else []
        named += [c for c in (entity.inn, entity.ipn) if c and len(c) > 8]
        for code in set(named) & codes:
            by_code.setdefault(code, set()).add(entity.client_id)
        for account in (entity.account, entity.iban):
            if account in accounts:
                by_account.setdefault(account, set()).add(entity.client_id)
    return [_match_one(p, by_code, by_account) for p in payments]


async def match_client(payment: bank_format.Payment) -> tuple[int | None, str | None]:
    """(client id, None) or (None, the reason code)."""
    return (await match_clients([payment]))[0]


async def _payer_entity(client_id: int, line: BankLine) -> int | None:
    """The client's legal entity that paid: by the payer's code, else its account."""
    for condition in (
            _by_code(line.payer_code) if line.payer_code else None,
            Q(account=line.payer_account) | Q(iban=line.payer_account)
            if line.payer_account else None):
        if condition is not None:
            found = await LegalEntity.filter(condition, client_id=client_id
                                             ).order_by("-is_primary", "id").first()
            if found is not None:
                return found.id
    return None


async def _record(actor: User, line: BankLine) -> Any:
    """The line as a payment in the client's ledger (services.ledger), paying first the
    invoice its purpose names. The number in a purpose is a hint typed by the payer: an
    invoice the ledger does not know (or of the client's other legal entity) leaves the
    payment to pay the oldest invoices first rather than the line in the queue."""
    from services.ledger import do_record_payment

    data = {"client_id": line.client_id, "amount": line.amount, "currency": line.currency,
            "dated": line.dated, "number": line.number,
            "legal_entity_id": await _payer_entity(line.client_id, line),
            "invoice_number": line.invoice_ref, "bank_line_id": line.id}
    if line.invoice_ref:
        try:
            async with in_transaction():
                return await do_record_payment(actor, data, source="bank")
        except ValidationFailed as exc:
            if exc.field not in ("invoice_number", "currency"):  # the invoice's currency
                raise
    return await do_record_payment(actor, {**data, "invoice_number": None}, source="bank")


async def _record_matched(actor: User, line: BankLine) -> bool:
    """Record a matched line's payment; the line is ``matched`` only if that worked."""
    try:
        async with in_transaction():
            await _record(actor, line)
            line.state, line.reason = BankLineState.MATCHED, None
            await line.save(update_fields=["state", "reason"])
    except DomainError as exc:
        log.warning("bank line %s not recorded: %s", line.id, exc)
        line.state, line.reason = BankLineState.UNMATCHED, "not_recorded"
        await BankLine.filter(id=line.id).update(state=line.state, reason=line.reason)
        return False
    return True


# --- import ------------------------------------------------------------------------------


async def _record_chunk(actor: User, chunk: list[BankLine]) -> None:
    """The chunk's matched lines as payments (services.ledger_batch), their states set:
    ``matched``, or ``not_recorded`` when the ledger refused the payment."""
    todo = [line for line in chunk if line.client_id is not None and line.reason is None]
    if not todo:
        return
    outcome = await ledger_batch.record_lines(actor, todo)
    done = {line.id for line in todo if outcome.get(line.id) is None}
    refused = [line.id for line in todo if outcome.get(line.id) is not None]
    for line_id in refused:
        log.warning("bank line %s not recorded: %s", line_id, outcome[line_id])
    if done:
        await BankLine.filter(id__in=sorted(done)).update(state=BankLineState.MATCHED, reason=None)
    if refused:
        await BankLine.filter(id__in=refused).update(state=BankLineState.UNMATCHED,
                                                     reason="not_recorded")
    for line in todo:
        line.state, line.reason = ((BankLineState.MATCHED, None) if line.id in done
                                   else (BankLineState.UNMATCHED, "not_recorded"))


RECORD_CHUNK = 200


def line_key(payment: bank_format.Payment) -> str:
    """What makes a payment the same in any later statement."""
    who = payment.payer_code or f"acc:{payment.payer_account or payment.payer_name or ''}"
    parts = (payment.account or "", payment.dated.isoformat(), payment.number or "", who,
             f"{payment.amount.normalize():f}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


async def _own_accounts() -> dict[str, str]:
    """Our accounts → the currency their entity's country uses."""
    out: dict[str, str] = {}
    for entity in await OwnEntity.filter(archived=False):
        for acc in (entity.account, entity.iban):
            if acc:
                out[re.sub(r"\s+", "", acc).upper()] = _COUNTRY_CURRENCY.get(
                    entity.country or "RU", "RUB")
    return out


async def do_import_statement(actor: User, filename: str, data: bytes) -> ImportReport:
    await require(actor, Action.RECORD_PAYMENTS)
    ours = await _own_accounts()
    parsed = await asyncio.to_thread(bank_format.parse, data, filename or "", set(ours))
    report = ImportReport(statement_id=None, kind=parsed.kind, total=len(parsed.payments),
                          outgoing=parsed.outgoing)
    keyed: dict[str, bank_format.Payment] = {}
    for payment in parsed.payments:
        keyed.setdefault(line_key(payment), payment)
    report.known += len(parsed.payments) - len(keyed)
    known: set[str] = set()
    keys = list(keyed)
    for i in range(0, len(keys), 500):
        known.update(await BankLine.filter(key__in=keys[i:i + 500])
                     .values_list("key", flat=True))
    report.known += len(known)
    fresh = [(k, p) for k, p in keyed.items() if k not in known]
    report.new = len(fresh)
    if not fresh:
        return report
    default = next(iter(ours.values()), "RUB") if len(set(ours.values())) == 1 else "RUB"
    rows: list[BankLine] = []
    matches = await match_clients([p for _key, p in fresh])
    for (key, p), (client_id, reason) in zip(fresh, matches, strict=True):
        currency = p.currency or (ours.get(p.account or "") if p.account else None) \
            or default
        rows.append(BankLine(
            key=key, number=p.number, dated=p.dated, amount=p.amount, currency=currency,
            payer_name=p.payer_name, payer_code=p.payer_code,
            payer_account=p.payer_account, purpose=p.purpose,
            invoice_ref=find_invoice_ref(p.purpose), state=BankLineState.UNMATCHED,
            reason=reason, client_id=client_id))
    name = (filename or "statement")[-255:]
    try:
        async with in_transaction():
            statement = await BankStatement.create(
                filename=name, sha256=hashlib.sha256(data).hexdigest(),
                account=parsed.account, date_from=parsed.date_from,
                date_to=parsed.date_to, uploaded_by=actor, lines_total=report.total,
                lines_new=report.new)
            for row in rows:
                row.statement_id = statement.id
            await BankLine.bulk_create(rows, batch_size=500)
    except IntegrityError:
        raise ValidationFailed("file", N_("the same statement is being uploaded right now; "
                                          "try again in a minute")) from None
    report.statement_id = statement.id
    stored = await BankLine.filter(statement_id=statement.id).order_by("id")
    # the payments are recorded RECORD_CHUNK lines to a transaction by
    # services.ledger_batch (a few queries a chunk); a chunk the database refuses is
    # recorded again line by line, each line in its own savepoint
    for start in range(0, len(stored), RECORD_CHUNK):
        chunk = stored[start:start + RECORD_CHUNK]
        try:
            async with in_transaction():
                await _record_chunk(actor, chunk)
        except BaseORMException:
            log.exception("statement %s: lines %s–%s recorded one by one", statement.id,
                          chunk[0].id, chunk[-1].id)
            chunk = await BankLine.filter(id__in=[x.id for x in chunk]).order_by("id")
            async with in_transaction():
                for line in chunk:
                    if line.client_id is not None and line.reason is None:
                        await _record_matched(actor, line)
        for line in chunk:
            if line.state == BankLineState.MATCHED:
                report.matched += 1
            else:
                report.unmatched += 1
                report.reasons[line.reason or ""] = report.reasons.get(line.reason or "",
                                                                       0) + 1
    log.info("statement %s (%s) by user %s: %s new, %s known, %s matched", statement.id,
             parsed.kind, actor.id, report.new, report.known, report.matched)
    return report


# --- the queue ---------------------------------------------------------------------------


async def list_lines(actor: User, state: str = BankLineState.UNMATCHED, *,
                     limit: int = 50, offset: int = 0) -> list[BankLine]:
    """Lines in a state (the queue: unmatched), the newest first, with their client."""
    await require(actor, Action.RECORD_PAYMENTS)
    try:
        wanted = BankLineState(state)
    except ValueError:
        raise ValidationFailed("state", N_("choose unmatched, matched or ignored")) from None
    limit = max(1, min(limit, MAX_PAGE))
    return await BankLine.filter(state=wanted).order_by("-dated", "-id") \
        .offset(max(0, offset)).limit(limit).prefetch_related("client")


async def unmatched(actor: User, *, limit: int = 50, offset: int = 0) -> list[BankLine]:
    """The queue: payments waiting for a person, the newest first."""
    return await list_lines(actor, BankLineState.UNMATCHED, limit=limit, offset=offset)


async def _line(line_id: int) -> BankLine:
    line = await BankLine.get_or_none(id=line_id)
    if line is None:
        raise NotFound("bank_line")
    return line


async def do_assign(actor: User, line_id: int, client_id: int,
                    invoice_number: str | None = None) -> BankLine:
    """The line is this client's payment (for this invoice): recorded in the ledger.
    The line is returned with its client, as by the other changes of a line."""
    await require(actor, Action.RECORD_PAYMENTS)
    line = await _line(line_id)
    if line.state == BankLineState.MATCHED:
        raise ValidationFailed("line", N_("this payment is already recorded"))
    client = await get_client(actor, client_id)
    invoice = (invoice_number or "").strip()
    if len(invoice) > 64:
        raise ValidationFailed("invoice_number", N_("at most {max} characters"), max=64)
    async with in_transaction():
        line.client_id = client.id
        if invoice:
            line.invoice_ref = invoice.zfill(6) if invoice.isdigit() and len(invoice) <= 6 \
                else invoice
        line.state, line.reason, line.decided_by_id = BankLineState.MATCHED, None, actor.id
        await line.save(update_fields=["client_id", "invoice_ref", "state", "reason",
                                       "decided_by_id"])
        await _record(actor, line)
    line.client = client
    return line


async def do_ignore(actor: User, line_id: int, reason: str) -> BankLine:
    """Not a client's payment (a refund from a supplier, a transfer between our
    accounts): out of the queue, with the person's reason."""
    await require(actor, Action.RECORD_PAYMENTS)
    line = await _line(line_id)
    if line.state == BankLineState.MATCHED:
        raise ValidationFailed("line", N_("this payment is already recorded"))
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationFailed("reason", N_("say why it is not a client's payment"))
    if len(text) > MAX_REASON:
        raise ValidationFailed("reason", N_("at most {max} characters"), max=MAX_REASON)
    line.state, line.reason, line.decided_by_id = BankLineState.IGNORED, text, actor.id
    await line.save(update_fields=["state", "reason", "decided_by_id"])
    await line.fetch_related("client")  # the client suggested, if one
    return line


async def do_restore(actor: User, line_id: int) -> BankLine:
    """An ignored line back into the queue, matched again against the clients: the
    client found (if one) is suggested; the person assigns it."""
    await require(actor, Action.RECORD_PAYMENTS)
    line = await _line(line_id)
    if line.state != BankLineState.IGNORED:
        raise ValidationFailed("line", N_("only an ignored payment can be put back"))
    payment = bank_format.Payment(line=0, number=line.number, dated=line.dated,
                                  amount=Decimal(line.amount), payer_code=line.payer_code,
                                  payer_account=line.payer_account)
    client_id, reason = await match_client(payment)
    line.state, line.client_id, line.reason = BankLineState.UNMATCHED, client_id, reason
    line.decided_by_id = actor.id
    await line.save(update_fields=["state", "client_id", "reason", "decided_by_id"])
    await line.fetch_related("client")
    return line


def reason_text(line: BankLine, gettext) -> str | None:
    """Why a line waits (or was ignored), in the person's language."""
    if not line.reason:
        return None
    template = REASONS.get(line.reason)
    return gettext(template) if template else line.reason
