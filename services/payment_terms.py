"""Payment terms (issue 14: K-6, M-6): how an invoice gets its due date.

* A client's own terms (:class:`models.PaymentTerms`), else the company's default kept
  in the setting ``payment_terms`` (``{"basis": "invoice", "days": 0}`` until an admin
  sets it).
* **Bases**: ``invoice`` — the invoice's date plus N days; ``shipment`` — the shipment's
  date plus N days (no due date until the goods are shipped); ``month_end`` — the last
  day of the invoice's month plus N days. N is 0 to 365.
* A client's terms are set by heads and admins (for clients they see); the company's
  default by admins.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from models import PaymentTerms, Setting, TermsBasis, User
from services.errors import N_, ValidationFailed
from services.permissions import Action, require, require_admin

SETTING = "payment_terms"
MAX_DAYS = 365


@dataclass(frozen=True)
class Terms:
    basis: TermsBasis = TermsBasis.INVOICE
    days: int = 0
    own: bool = False  # the client's own (else the company's default)


def due_date(terms: Terms, invoice_date: date | None,
             shipment_date: date | None = None) -> date | None:
    """The due date under ``terms`` (None: not known yet — a shipment basis before the
    shipment)."""
    if terms.basis == TermsBasis.SHIPMENT:
        return None if shipment_date is None else shipment_date + timedelta(days=terms.days)
    if invoice_date is None:
        return None
    if terms.basis == TermsBasis.MONTH_END:
        last = calendar.monthrange(invoice_date.year, invoice_date.month)[1]
        return invoice_date.replace(day=last) + timedelta(days=terms.days)
    return invoice_date + timedelta(days=terms.days)


def _clean(data: dict[str, Any]) -> Terms:
    try:
        basis = TermsBasis(str(data.get("basis") or ""))
    except ValueError:
        raise ValidationFailed("basis", N_("choose invoice, shipment or month end")) from None
    raw = data.get("days", 0)
    try:
        days = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        raise ValidationFailed("days", N_("«{value}» is not a number"),
                               value=str(raw)[:40]) from None
    if not 0 <= days <= MAX_DAYS:
        raise ValidationFailed("days", N_("0 to {max} days"), max=MAX_DAYS)
    return Terms(basis, days)


async def company_terms() -> Terms:
    row = await Setting.get_or_none(key=SETTING)
    if row is None or not isinstance(row.value, dict):
        return Terms()
    try:
        return _clean(row.value)
    except ValidationFailed:
        return Terms()


async def terms_of(client_id: int) -> Terms:
    """The terms an invoice of the client gets (no access check: the ledger's own use)."""
    own = await PaymentTerms.get_or_none(client_id=client_id)
    if own is not None:
        return Terms(TermsBasis(own.basis), own.days, own=True)
    return await company_terms()


async def get_terms(actor: User, client_id: int) -> Terms:
    from services.clients import get_client

    await get_client(actor, client_id)
    return await terms_of(client_id)


async def do_set_terms(actor: User, client_id: int, data: dict[str, Any] | None) -> Terms:
    """Set a client's terms (heads and admins); ``None`` (or ``{"default": true}``)
    drops them so the company's default applies."""
    from services.clients import get_client

    await require(actor, Action.RECORD_PAYMENTS)
    await get_client(actor, client_id)
    if data is None or data.get("default"):
        await PaymentTerms.filter(client_id=client_id).delete()
        return await company_terms()
    terms = _clean(data)
    await PaymentTerms.update_or_create(client_id=client_id, defaults={
        "basis": terms.basis, "days": terms.days})
    return Terms(terms.basis, terms.days, own=True)


async def do_set_company_terms(actor: User, data: dict[str, Any]) -> Terms:
    require_admin(actor)
    terms = _clean(data)
    await Setting.update_or_create(key=SETTING, defaults={
        "value": {"basis": str(terms.basis), "days": terms.days}})
    return terms
