"""Settlements with clients (issue 14: K-6, M-6, A-15, S-23).

The ledger is the only record of what a client owes: balances, open amounts and ageing
are computed from :class:`LedgerEntry` and :class:`Allocation` rows in SQL, never kept
as a second copy. One ledger per client, its legal entity and ours, in the document's
currency (an entry names all three).

Signs: an entry's ``amount`` is always positive; ``kind`` says which way it goes. An
invoice, a debit adjustment and a refund raise what the client owes; a payment, a
credit note and a credit adjustment lower it. A shipment is recorded too (S-23 compares
what was shipped with what was paid) but does not change the balance — the invoice does.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel
from models.catalog import MONEY


class TermsBasis(StrEnum):
    INVOICE = "invoice"        # N days after the invoice
    SHIPMENT = "shipment"      # N days after the shipment
    MONTH_END = "month_end"    # the end of the invoice's month plus N days


class PaymentTerms(TimestampedModel):
    """A client's payment terms (K-6, M-6): how an invoice gets its due date. A client
    without its own has the company's default (the setting ``payment_terms``)."""

    id = fields.IntField(primary_key=True)
    client: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.Client", related_name="payment_terms", on_delete=fields.CASCADE)
    basis = fields.CharEnumField(TermsBasis, max_length=10, default=TermsBasis.INVOICE)
    days = fields.IntField(default=0)

    class Meta:
        table = "payment_terms"


class EntryKind(StrEnum):
    INVOICE = "invoice"            # + owed, has a due date
    SHIPMENT = "shipment"          # recorded, no effect on the balance
    PAYMENT = "payment"            # − owed
    CREDIT_NOTE = "credit_note"    # − owed (a return, a discount after the fact)
    DEBIT = "debit"                # + owed: a manual adjustment up
    CREDIT = "credit"              # − owed: a manual adjustment down
    REFUND = "refund"              # + owed: money paid back to the client


DEBITS = (EntryKind.INVOICE, EntryKind.DEBIT, EntryKind.REFUND)
CREDITS = (EntryKind.PAYMENT, EntryKind.CREDIT_NOTE, EntryKind.CREDIT)


class LedgerEntry(Model):
    """One document in a client's ledger."""

    id = fields.BigIntField(primary_key=True)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="ledger", on_delete=fields.RESTRICT)
    legal_entity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.LegalEntity", related_name="ledger", null=True, on_delete=fields.SET_NULL)
    own_entity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.OwnEntity", related_name="ledger", null=True, on_delete=fields.RESTRICT)
    currency = fields.CharField(max_length=3)
    kind = fields.CharEnumField(EntryKind, max_length=12)
    dated = fields.DateField()                         # the document's date
    amount = fields.DecimalField(**MONEY)           # > 0; the kind gives the direction
    due = fields.DateField(null=True)               # invoices: from the payment terms
    number = fields.CharField(max_length=64, null=True)  # the document's number
    order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Order", related_name="ledger", null=True, on_delete=fields.RESTRICT)
    bank_line: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.BankLine", related_name="entries", null=True, on_delete=fields.SET_NULL)
    note = fields.CharField(max_length=500, null=True)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="ledger_entries", null=True,
        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    void = fields.BooleanField(default=False)       # entered by mistake: left out of all sums

    class Meta:
        table = "ledger_entry"
        indexes = [Index(fields=["client_id", "currency", "kind"]),
                   Index(fields=["kind", "due"]), Index(fields=["order_id"]),
                   Index(fields=["dated"]), Index(fields=["bank_line_id"])]


class Allocation(Model):
    """So much of a credit (a payment, a credit note, a credit adjustment) paid off so
    much of a debit (an invoice, ...). What a credit has left over is the client's
    credit balance until a later debit takes it."""

    id = fields.BigIntField(primary_key=True)
    credit: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "kontakt.LedgerEntry", related_name="allocations_out", on_delete=fields.CASCADE)
    debit: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "kontakt.LedgerEntry", related_name="allocations_in", on_delete=fields.CASCADE)
    amount = fields.DecimalField(**MONEY)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "allocation"
        indexes = [Index(fields=["credit_id"]), Index(fields=["debit_id"])]


class BankLineState(StrEnum):
    MATCHED = "matched"        # a payment entry was made from it
    UNMATCHED = "unmatched"    # waits in the queue with a reason
    IGNORED = "ignored"        # not a client's payment (someone said so)


class BankStatement(Model):
    """An uploaded statement (1CClientBankExchange or XLSX). The same file twice adds
    nothing: its lines are known by their own key."""

    id = fields.IntField(primary_key=True)
    filename = fields.CharField(max_length=255)
    sha256 = fields.CharField(max_length=64)
    account = fields.CharField(max_length=34, null=True)  # our account it is for
    date_from = fields.DateField(null=True)
    date_to = fields.DateField(null=True)
    uploaded_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="statements", null=True, on_delete=fields.SET_NULL)
    uploaded_at = fields.DatetimeField(auto_now_add=True)
    lines_total = fields.IntField(default=0)
    lines_new = fields.IntField(default=0)

    class Meta:
        table = "bank_statement"


class BankLine(Model):
    """One incoming payment from a statement."""

    id = fields.BigIntField(primary_key=True)
    statement: fields.ForeignKeyRelation[BankStatement] = fields.ForeignKeyField(
        "kontakt.BankStatement", related_name="lines", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=128, unique=True)  # date, number, payer, amount
    number = fields.CharField(max_length=32, null=True)
    dated = fields.DateField()
    amount = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="RUB")
    payer_name = fields.CharField(max_length=400, null=True)
    payer_code = fields.CharField(max_length=12, null=True)   # INN or EDRPOU
    payer_account = fields.CharField(max_length=34, null=True)
    purpose = fields.TextField(null=True)
    invoice_ref = fields.CharField(max_length=64, null=True)  # an invoice number in the purpose
    state = fields.CharEnumField(BankLineState, max_length=10,
                                 default=BankLineState.UNMATCHED)
    reason = fields.CharField(max_length=64, null=True)  # why unmatched: a code
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="bank_lines", null=True, on_delete=fields.SET_NULL)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="bank_lines_decided", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "bank_line"
        indexes = [Index(fields=["state", "dated"])]


class CreditLimit(TimestampedModel):
    """A client's credit limit (A-15) in a currency. Debt overdue more than overdue_days
    days blocks like an exceeded limit (none: the company's setting)."""

    id = fields.IntField(primary_key=True)
    client: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.Client", related_name="credit_limit", on_delete=fields.CASCADE)
    amount = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3, default="RUB")
    overdue_days = fields.IntField(null=True)

    class Meta:
        table = "credit_limit"


class CurrencyRate(Model):
    """How much of the base currency one unit of the currency is worth on a day
    (entered by an admin or loaded from the central bank's daily XML)."""

    id = fields.IntField(primary_key=True)
    dated = fields.DateField()
    currency = fields.CharField(max_length=3)
    base = fields.CharField(max_length=3, default="RUB")
    rate = fields.DecimalField(max_digits=18, decimal_places=6)
    source = fields.CharField(max_length=16, default="manual")  # manual, cbr, nbu

    class Meta:
        table = "currency_rate"
        unique_together = (("dated", "currency", "base"),)


class OverrideState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class CreditOverride(Model):
    """A salesperson's request to post an order over the credit limit (A-15) and the
    credit controller's decision, kept on the order."""

    id = fields.IntField(primary_key=True)
    order: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Order", related_name="credit_overrides", on_delete=fields.CASCADE)
    requested_by: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="credit_requests", on_delete=fields.RESTRICT)
    requested_at = fields.DatetimeField(auto_now_add=True)
    reason = fields.CharField(max_length=500, null=True)
    over_by = fields.DecimalField(**MONEY)           # how far over, when asked
    currency = fields.CharField(max_length=3)
    order_total = fields.DecimalField(**MONEY)       # the approval holds for this total
    state = fields.CharEnumField(OverrideState, max_length=10, default=OverrideState.PENDING)
    decided_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="credit_decisions", null=True, on_delete=fields.SET_NULL)
    decided_at = fields.DatetimeField(null=True)
    comment = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "credit_override"
        indexes = [Index(fields=["order_id", "state"])]


class DueReminder(Model):
    """A due-date reminder sent (to the owner or the client), so it is sent once."""

    id = fields.BigIntField(primary_key=True)
    entry: fields.ForeignKeyRelation[LedgerEntry] = fields.ForeignKeyField(
        "kontakt.LedgerEntry", related_name="reminders", on_delete=fields.CASCADE)
    offset_days = fields.IntField()                  # −3: three days before, 7: after
    audience = fields.CharField(max_length=8)        # owner, client
    sent_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "due_reminder"
        unique_together = (("entry", "offset_days", "audience"),)
