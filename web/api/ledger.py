"""/api/v1 settlements with clients (issue 14: K-6, M-6, S-23): a client's balances, open
invoices and ledger; payments, credit notes, adjustments and voids; payment terms;
aging, DSO and payments against shipments. Money goes out as decimal strings ("1500.50")
and comes in as typed ("1 500,50"). Every rule is in services.ledger, services.
payment_terms and services.ledger_reports.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import ledger, ledger_reports, payment_terms
from web.api.deal_schemas import ID, MONEY, money
from web.api.routes import api

TAGS = ["settlements"]


class BalanceOut(BaseModel):
    currency: str
    legal_entity_id: int | None
    legal_entity: str | None
    own_entity_id: int | None
    own_entity: str | None
    owed: str = Field(description=MONEY)
    credit: str = Field(description="the client's money not used yet")
    overdue: str
    balance: str = Field(description="owed − credit")
    oldest_due: date | None


class BalancesOut(BaseModel):
    items: list[BalanceOut]


class OpenItemOut(BaseModel):
    id: int
    kind: str
    number: str | None
    dated: date
    due: date | None
    currency: str
    amount: str
    open: str
    days_overdue: int
    order_id: int | None


class OpenItemsOut(BaseModel):
    items: list[OpenItemOut]


class EntryOut(BaseModel):
    id: int
    kind: str
    dated: date
    due: date | None
    number: str | None
    note: str | None
    void: bool
    currency: str
    legal_entity_id: int | None
    own_entity_id: int | None
    order_id: int | None
    amount: str
    running: str | None = Field(default=None, description="the pair's balance after it")


class LedgerOut(BaseModel):
    items: list[EntryOut]
    total: int


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=10**9)


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    amount: str = Field(min_length=1, max_length=30, description="as typed: \"1 500,50\"")
    currency: str | None = Field(default=None, max_length=3)
    dated: date | None = Field(default=None, description="today by default")
    number: str | None = Field(default=None, max_length=64)
    legal_entity_id: int | None = Field(default=None, **ID)
    own_entity_id: int | None = Field(default=None, **ID)
    invoice_entry_id: int | None = Field(default=None, **ID, description="paid first")
    invoice_number: str | None = Field(default=None, max_length=64,
                                       description="the client's invoice, paid first")
    bank_line_id: int | None = Field(default=None, **ID)
    note: str | None = Field(default=None, max_length=500)


class AdjustmentIn(EntryIn):
    direction: Literal["debit", "credit"]
    note: str = Field(min_length=1, max_length=500)


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=300)


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    basis: Literal["invoice", "shipment", "month_end"] | None = None
    days: int | str = Field(default=0, description="0 to 365")
    default: bool = Field(default=False, description="drop the client's own terms")


class TermsOut(BaseModel):
    basis: str
    days: int
    own: bool


def _entry(e) -> EntryOut:
    return EntryOut(id=e.id, kind=str(e.kind), dated=e.dated, due=e.due, number=e.number,
                    note=e.note, void=e.void, currency=e.currency,
                    legal_entity_id=e.legal_entity_id, own_entity_id=e.own_entity_id,
                    order_id=e.order_id, amount=money(e.amount),
                    running=money(getattr(e, "running", None)))


@api.route("GET", "/clients/{client_id}/balances", summary="What the client owes, its credit "
           "and the overdue part, per currency and legal entity pair (K-6)",
           response=BalancesOut, tags=TAGS)
async def client_balances(request: web.Request, user: User, client_id: int):
    return BalancesOut(items=[BalanceOut(
        currency=b.currency, legal_entity_id=b.legal_entity_id, legal_entity=b.legal_entity,
        own_entity_id=b.own_entity_id, own_entity=b.own_entity, owed=money(b.owed),
        credit=money(b.credit), overdue=money(b.overdue), balance=money(b.balance),
        oldest_due=b.oldest_due) for b in await ledger.balances(user, client_id)])


@api.route("GET", "/clients/{client_id}/open-items", summary="The client's invoices with "
           "something open, due dates and days overdue (M-6)", response=OpenItemsOut,
           tags=TAGS)
async def client_open_items(request: web.Request, user: User, client_id: int):
    return OpenItemsOut(items=[OpenItemOut(
        id=i.id, kind=str(i.kind), number=i.number, dated=i.dated, due=i.due,
        currency=i.currency, amount=money(i.amount), open=money(i.open),
        days_overdue=i.days_overdue, order_id=i.order_id)
        for i in await ledger.open_items(user, client_id)])


@api.route("GET", "/clients/{client_id}/ledger", summary="The client's entries, newest first, "
           "with the running balance (K-6)", query=PageQuery, response=LedgerOut, tags=TAGS)
async def client_ledger(request: web.Request, user: User, client_id: int, query: PageQuery):
    lines, total = await ledger.ledger(user, client_id, limit=query.limit,
                                       offset=query.offset)
    return LedgerOut(items=[_entry(ln) for ln in lines], total=total)


@api.route("POST", "/ledger/payments", summary="Record a client's payment, allocated to the "
           "invoice named first, then oldest due first (K-6; heads and admins)",
           body=EntryIn, response=EntryOut, tags=TAGS, status=201)
async def payment_create(request: web.Request, user: User, body: EntryIn):
    return _entry(await ledger.do_record_payment(user, body.model_dump(), source="api"))


@api.route("POST", "/ledger/credit-notes", summary="Record a credit note (heads and admins)",
           body=EntryIn, response=EntryOut, tags=TAGS, status=201)
async def credit_note_create(request: web.Request, user: User, body: EntryIn):
    return _entry(await ledger.do_credit_note(user, body.model_dump(), source="api"))


@api.route("POST", "/ledger/adjustments", summary="A manual adjustment up (debit) or down "
           "(credit), with a note (heads and admins)", body=AdjustmentIn, response=EntryOut,
           tags=TAGS, status=201)
async def adjustment_create(request: web.Request, user: User, body: AdjustmentIn):
    return _entry(await ledger.do_adjust(user, body.model_dump(), source="api"))


@api.route("POST", "/ledger/entries/{entry_id}/void", summary="Void an entry made by mistake: "
           "its allocations go and the money is allocated again", body=VoidIn,
           response=EntryOut, tags=TAGS)
async def entry_void(request: web.Request, user: User, entry_id: int, body: VoidIn):
    return _entry(await ledger.do_void(user, entry_id, body.reason))


@api.route("GET", "/clients/{client_id}/payment-terms", summary="The client's payment terms "
           "(its own or the company's default; M-6)", response=TermsOut, tags=TAGS)
async def terms_get(request: web.Request, user: User, client_id: int):
    t = await payment_terms.get_terms(user, client_id)
    return TermsOut(basis=str(t.basis), days=t.days, own=t.own)


@api.route("PUT", "/clients/{client_id}/payment-terms", summary="Set the client's payment terms "
           "(heads and admins; M-6)", body=TermsIn, response=TermsOut, tags=TAGS)
async def terms_set(request: web.Request, user: User, client_id: int, body: TermsIn):
    data = None if body.default else {"basis": body.basis, "days": body.days}
    t = await payment_terms.do_set_terms(user, client_id, data)
    return TermsOut(basis=str(t.basis), days=t.days, own=t.own)


# ---- reports -------------------------------------------------------------------------------

class ScopeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = Field(default=None, description="today by default")
    department_id: int | None = Field(default=None, **ID)
    manager_id: int | None = Field(default=None, **ID)


class AgingQuery(ScopeQuery):
    by: Literal["client", "manager", "department"] = "client"


class AgingRowOut(BaseModel):
    key: int | None
    name: str | None
    currency: str
    current: str
    d1_30: str
    d31_60: str
    d61_90: str
    over_90: str
    total: str


class AgingOut(BaseModel):
    on: date
    items: list[AgingRowOut]


@api.route("GET", "/reports/aging", summary="Receivables by days overdue on a date, per "
           "client, manager or department, in each currency (K-6)", query=AgingQuery,
           response=AgingOut, tags=TAGS)
async def report_aging(request: web.Request, user: User, query: AgingQuery):
    on = query.on or ledger.today_of(user)
    rows = await ledger_reports.aging(user, on, by=query.by, department_id=query.department_id,
                                      manager_id=query.manager_id)
    return AgingOut(on=on, items=[AgingRowOut(
        key=r.key, name=r.name, currency=r.currency, total=money(r.total),
        **{b: money(v) for b, v in r.buckets.items()}) for r in rows])


class DsoQuery(ScopeQuery):
    days: int = Field(default=90, ge=1, le=730)


class DsoRowOut(BaseModel):
    currency: str
    receivables: str
    sales: str
    days: str | None


class DsoOut(BaseModel):
    on: date
    days: int
    items: list[DsoRowOut]


@api.route("GET", "/reports/dso", summary="Days sales outstanding: receivables ÷ the credit "
           "sales of the last N days × N, per currency", query=DsoQuery, response=DsoOut,
           tags=TAGS)
async def report_dso(request: web.Request, user: User, query: DsoQuery):
    on = query.on or ledger.today_of(user)
    rows = await ledger_reports.dso(user, on, days=query.days,
                                    department_id=query.department_id,
                                    manager_id=query.manager_id)
    return DsoOut(on=on, days=query.days, items=[DsoRowOut(
        currency=r.currency, receivables=money(r.receivables), sales=money(r.sales),
        days=None if r.days is None else str(r.days)) for r in rows])


class S23Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date | None = Field(default=None, description="the month's first day by default")
    end: date | None = Field(default=None, description="inclusive; today by default")
    by: Literal["client", "legal_entity"] = "client"
    department_id: int | None = Field(default=None, **ID)
    manager_id: int | None = Field(default=None, **ID)


class S23RowOut(BaseModel):
    client_id: int
    client: str
    legal_entity_id: int | None
    legal_entity: str | None
    currency: str
    shipped: str
    paid: str
    difference: str = Field(description="shipped − paid")


class S23Out(BaseModel):
    start: date
    end: date
    items: list[S23RowOut]


@api.route("GET", "/reports/payments-shipments", summary="Shipped and paid in a period per "
           "client or legal entity, with the difference (S-23)", query=S23Query,
           response=S23Out, tags=TAGS)
async def report_s23(request: web.Request, user: User, query: S23Query):
    end = query.end or ledger.today_of(user)
    start = query.start or end.replace(day=1)
    if query.start is None and query.end is not None and start > end:
        start = end - timedelta(days=30)
    rows = await ledger_reports.payments_vs_shipments(
        user, start, end, by=query.by, department_id=query.department_id,
        manager_id=query.manager_id)
    return S23Out(start=start, end=end, items=[S23RowOut(
        client_id=r.client_id, client=r.client, legal_entity_id=r.legal_entity_id,
        legal_entity=r.legal_entity, currency=r.currency, shipped=money(r.shipped),
        paid=money(r.paid), difference=money(r.difference)) for r in rows])
