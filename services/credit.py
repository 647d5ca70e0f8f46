"""Credit limits (issue 14: A-15).

* **A limit** is a client's: an amount in a currency and, optionally, its own number of
  days after which overdue debt blocks (else the company's setting
  ``credit_overdue_days``, 30 until an admin changes it). Heads and admins set, change
  and remove it (``Action.SET_CREDIT_LIMITS``) for the clients they see; whoever sees
  the client reads it.
* **Exposure** — what the client would owe with this order, in the limit's currency:
  the open receivables of every currency (the ledger's open debits less the client's
  free credit), plus the orders posted or shipped that have no invoice entry in the
  ledger yet, plus this order; each currency's sum (taken in SQL) converted at the rate
  of the day (:func:`services.rates.convert`: no rate, no posting — the refusal names
  the currency and the day).
* **The check** refuses an order when the exposure goes over the limit («лимит
  500 000 ₽, долг 420 000 ₽, этот заказ 95 000 ₽: превышение 15 000 ₽») or when an
  invoice is overdue more than the days («просрочка 45 дн. по счёту № 000012
  (12 000 ₽): отгрузка заблокирована»). An approved exception for the order, for at
  least its total, lets it pass.
* **A client without a limit** is not checked — unless the company's setting
  ``credit_block_overdue`` is on: then its overdue debt blocks after the company's days
  just the same (off until an admin turns it on).
* **Where**: :func:`services.orders.do_post` checks inside the posting's transaction,
  after locking the client's ledger row, so every way of posting (bot, Mini App, API,
  a copied order) is checked and two postings of one client are checked one after the
  other. Drafting only warns (:func:`credit_warning`).
* Exceptions (requests and decisions) are in :mod:`services.credit_overrides`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from kontakt.formatting import money_text
from models import CreditLimit, CreditOverride, Order, OrderState, OverrideState, Setting, User
from services import ledger_sql as q
from services import rates
from services.errors import N_, DomainError, Text, ValidationFailed
from services.ledger import parse_amount
from services.permissions import Action, require, require_admin

OVERDUE_DAYS = "credit_overdue_days"       # int, default 30
BLOCK_OVERDUE = "credit_block_overdue"     # bool: clients without a limit blocked too
CONTROLLER = "credit_controller_id"        # int or null: one person decides exceptions
DEFAULT_DAYS = 30
MAX_DAYS = 3650
COUNTED = (OrderState.POSTED, OrderState.SHIPPED)


class CreditRefused(DomainError):
    """Posting refused for credit: over the limit or blocked by overdue debt."""

    code = "credit_refused"
    status = 409

    def __init__(self, reason: Text, *, kind: str, over_by: Decimal, currency: str,
                 order_total: Decimal) -> None:
        super().__init__(str(reason), **reason.params)
        self.template = reason.template
        self.reason, self.kind = reason, kind
        self.over_by, self.currency, self.order_total = over_by, currency, order_total
        self.message = str(reason)


# ---- company settings ---------------------------------------------------------------------

@dataclass
class CompanyCredit:
    overdue_days: int = DEFAULT_DAYS
    block_overdue: bool = False
    controller_id: int | None = None


def _days(raw: Any, where: str = "overdue_days") -> int:
    try:
        days = int(str(raw).strip()) if not isinstance(raw, bool) else -1
    except ValueError:
        raise ValidationFailed(where, N_("«{value}» is not a number"),
                               value=str(raw)[:40]) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(where, N_("1 to {max} days"), max=MAX_DAYS)
    return days


async def company_credit() -> CompanyCredit:
    found = dict(await Setting.filter(key__in=[OVERDUE_DAYS, CONTROLLER, BLOCK_OVERDUE])
                 .values_list("key", "value"))
    try:
        days = _days(found.get(OVERDUE_DAYS, DEFAULT_DAYS))
    except ValidationFailed:
        days = DEFAULT_DAYS
    controller = found.get(CONTROLLER)
    return CompanyCredit(days, bool(found.get(BLOCK_OVERDUE, False)),
                         int(controller) if isinstance(controller, int) else None)


async def do_set_company_credit(actor: User, data: dict[str, Any]) -> CompanyCredit:
    """An admin's settings: ``overdue_days``, ``block_overdue``, ``controller_id``
    (null: the heads of the owner's department and the admins decide)."""
    require_admin(actor)
    if "overdue_days" in data:
        await Setting.update_or_create(key=OVERDUE_DAYS,
                                       defaults={"value": _days(data["overdue_days"])})
    if "block_overdue" in data:
        await Setting.update_or_create(key=BLOCK_OVERDUE,
                                       defaults={"value": bool(data["block_overdue"])})
    if "controller_id" in data:
        raw = data["controller_id"]
        if raw in (None, ""):
            await Setting.filter(key=CONTROLLER).delete()
        else:
            person = await User.get_or_none(id=int(raw))
            if person is None or not person.is_active:
                raise ValidationFailed("controller_id", N_("choose a value from the list"))
            await Setting.update_or_create(key=CONTROLLER, defaults={"value": person.id})
    return await company_credit()


# ---- limits ---------------------------------------------------------------------------------

@dataclass
class Limit:
    amount: Decimal
    currency: str
    overdue_days: int       # in force (the client's own or the company's)
    own_days: bool          # the client's own number of days


async def limit_of(client_id: int, company: CompanyCredit | None = None) -> Limit | None:
    """The client's limit (no access check: the checks' own use)."""
    row = await CreditLimit.get_or_none(client_id=client_id)
    if row is None:
        return None
    company = company or await company_credit()
    return Limit(Decimal(row.amount), row.currency, row.overdue_days or company.overdue_days,
                 row.overdue_days is not None)


async def get_limit(actor: User, client_id: int) -> Limit | None:
    from services.clients import get_client

    await get_client(actor, client_id)
    return await limit_of(client_id)


async def do_set_limit(actor: User, client_id: int, data: dict[str, Any]) -> Limit:
    """Set a client's limit: ``amount`` as typed, ``currency`` (RUB unless given),
    ``overdue_days`` (empty: the company's)."""
    from services.clients import get_client

    await require(actor, Action.SET_CREDIT_LIMITS)
    await get_client(actor, client_id)
    if data.get("amount") in (None, ""):
        raise ValidationFailed("amount", N_("is required"))
    amount = parse_amount(data.get("amount"))
    currency = str(data.get("currency") or "RUB").strip().upper()
    if not q.CURRENCY.match(currency):
        raise ValidationFailed("currency", N_("a currency is three Latin letters, such as "
                                              "USD"))
    raw_days = data.get("overdue_days")
    days = None if raw_days in (None, "") else _days(raw_days)
    await CreditLimit.update_or_create(client_id=client_id, defaults={
        "amount": amount, "currency": currency, "overdue_days": days})
    return await limit_of(client_id)


async def do_remove_limit(actor: User, client_id: int) -> None:
    from services.clients import get_client

    await require(actor, Action.SET_CREDIT_LIMITS)
    await get_client(actor, client_id)
    await CreditLimit.filter(client_id=client_id).delete()


# ---- exposure -------------------------------------------------------------------------------

@dataclass
class Exposure:
    currency: str                    # the limit's
    debt: Decimal = Decimal(0)       # open receivables less free credit, converted
    uninvoiced: Decimal = Decimal(0)  # posted or shipped orders without an invoice entry
    this_order: Decimal = Decimal(0)
    by_currency: dict[str, Decimal] = field(default_factory=dict)  # debt + uninvoiced

    @property
    def before(self) -> Decimal:
        """What the client owes or has ordered already (without this order)."""
        return self.debt + self.uninvoiced

    @property
    def total(self) -> Decimal:
        return self.before + self.this_order


async def _sums(client_id: int, order_id: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """Cents per currency: the net open receivables, the uninvoiced orders."""
    # the open debits less the free credits of a currency are its debits less its
    # credits (an allocation takes as much off one as off the other): one indexed sum
    debts = await q.rows(f"""
        SELECT e.currency AS cur, SUM({q.SIGNED}) AS v FROM ledger_entry e
        WHERE e.client_id = {int(client_id)} AND e.void = FALSE
        GROUP BY e.currency""")
    states = ", ".join(f"'{s.value}'" for s in COUNTED)
    other = f"AND o.id <> {int(order_id)}" if order_id else ""
    orders = await q.rows(f"""
        SELECT o.currency AS cur, SUM({q.cents('o.total')}) AS v FROM sales_order o
        WHERE o.client_id = {int(client_id)} AND o.state IN ({states}) {other}
          AND NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.order_id = o.id
                          AND e.kind = 'invoice' AND e.void = FALSE)
        GROUP BY o.currency""")
    return ({r["cur"]: int(r["v"] or 0) for r in debts},
            {r["cur"]: int(r["v"] or 0) for r in orders})


async def exposure(client_id: int, order: Order | None, on: date, currency: str) -> Exposure:
    """The client's exposure in ``currency`` on the day (with ``order``, when given)."""
    debts, orders = await _sums(client_id, order.id if order else None)
    out = Exposure(currency)
    for cur, cents in debts.items():
        if cents:
            value = await rates.convert(q.money(cents), cur, currency, on)
            out.debt += value
            out.by_currency[cur] = out.by_currency.get(cur, Decimal(0)) + q.money(cents)
    for cur, cents in orders.items():
        if cents:
            out.uninvoiced += await rates.convert(q.money(cents), cur, currency, on)
            out.by_currency[cur] = out.by_currency.get(cur, Decimal(0)) + q.money(cents)
    if order is not None and order.total:
        out.this_order = await rates.convert(Decimal(order.total), order.currency, currency,
                                             on)
    return out


async def client_exposure(actor: User, client_id: int, on: date) -> tuple[Limit | None,
                                                                            Exposure]:
    """What the Mini App's client card shows: the limit and the exposure in its currency
    (the roubles' without a limit)."""
    from services.clients import get_client

    await get_client(actor, client_id)
    limit = await limit_of(client_id)
    return limit, await exposure(client_id, None, on, limit.currency if limit else "RUB")


# ---- the check ------------------------------------------------------------------------------

async def _oldest_overdue(client_id: int, on: date, days: int) -> dict[str, Any] | None:
    from datetime import timedelta

    edge = q.lit(on - timedelta(days=days))
    found = await q.rows(f"""
        SELECT * FROM ({q.open_debits(f"e.client_id = {int(client_id)} AND e.due < {edge}")}) d
        WHERE d.open > 0 ORDER BY d.due, d.id LIMIT 1""")
    return found[0] if found else None


async def _approved(order: Order) -> bool:
    return await CreditOverride.exists(order_id=order.id, state=OverrideState.APPROVED,
                                       order_total__gte=order.total or 0)


async def refusal(order: Order, on: date, *, overrides: bool = True) -> CreditRefused | None:
    """Why ``order`` may not be posted for credit on the day, or None (the rule in the
    module's docstring). ``overrides=False``: as if no exception were approved."""
    if overrides and await _approved(order):
        return None
    company = await company_credit()
    limit = await limit_of(order.client_id, company)
    if limit is not None or company.block_overdue:
        days = limit.overdue_days if limit else company.overdue_days
        late = await _oldest_overdue(order.client_id, on, days)
        if late is not None:
            due = q.as_date(late["due"])
            open_ = q.money(late["open"])
            total = Decimal(order.total or 0)
            return CreditRefused(Text(
                N_("overdue {days} days on invoice № {number} ({amount}): shipping is "
                   "blocked"), days=(on - due).days, number=late["number"] or "—",
                amount=money_text(open_, late["currency"])), kind="overdue",
                over_by=open_, currency=late["currency"], order_total=total)
    if limit is None:
        return None
    exp = await exposure(order.client_id, order, on, limit.currency)
    if exp.total <= limit.amount:
        return None
    over = exp.total - limit.amount
    cur = limit.currency
    return CreditRefused(Text(
        N_("limit {limit}, debt {debt}, this order {order}: over by {over}"),
        limit=money_text(limit.amount, cur), debt=money_text(exp.before, cur),
        order=money_text(exp.this_order, cur), over=money_text(over, cur)),
        kind="limit", over_by=over, currency=cur, order_total=Decimal(order.total or 0))


async def enforce(order: Order, on: date) -> None:
    """Inside the posting's transaction: lock the client's ledger row, then refuse
    (raise :class:`CreditRefused`) or let it pass."""
    from services.ledger import _lock

    await _lock(order.client_id)
    found = await refusal(order, on)
    if found is not None:
        raise found


async def check(actor: User, order_id: int, on: date | None = None) -> CreditRefused | None:
    """The order's credit check as it would be at posting (whoever sees the order)."""
    from services.ledger import today_of
    from services.orders import get_order

    order = await get_order(actor, order_id, related=False)
    return await refusal(order, on or today_of(actor))


async def credit_warning(actor: User, order_id: int, on: date | None = None) -> Text | None:
    """For a draft being edited: the words posting would be refused with (a missing
    rate included), or None. A warning, never a block."""
    from services.ledger import today_of
    from services.orders import get_order

    order = await get_order(actor, order_id)
    if order.state != OrderState.DRAFT:
        return None
    try:
        found = await refusal(order, on or today_of(actor))
    except ValidationFailed as exc:  # no rate for a currency
        return exc.as_text()
    return found.reason if found is not None else None
