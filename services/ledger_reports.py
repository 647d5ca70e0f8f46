"""Receivables reports (issue 14: K-6, S-23), summed in SQL, per currency.

* **Aging** on a date: what was open that day (debits dated by then, less what credits
  dated by then paid) by days past due — current (not due yet, or no due date yet),
  1–30, 31–60, 61–90, over 90 — per client, per manager (the client's primary manager,
  else its first) or per department (that manager's).
* **DSO**: the receivables on the date ÷ the invoices of the last N days × N.
* **S-23**: what was shipped and what was paid in a period, per client or per legal
  entity, and the difference (shipped − paid).
* **Who sees what**: the clients one sees (an admin all, a head their departments', a
  manager their own), narrowed to a department or a manager when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from models import EntryKind, User
from services import ledger_sql as q
from services.errors import N_, ValidationFailed

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "over_90")
BY = {
    "client": ("d.client_id", "(SELECT c.name FROM client c WHERE c.id = x.k)"),
    "manager": (q.MAIN_MANAGER.format(col="d.client_id"),
                "(SELECT u.full_name FROM staff_user u WHERE u.id = x.k)"),
    "department": (f"(SELECT u.department_id FROM staff_user u WHERE u.id = "
                   f"{q.MAIN_MANAGER.format(col='d.client_id')})",
                   "(SELECT t.name FROM department t WHERE t.id = x.k)"),
}


@dataclass
class AgingRow:
    key: int | None        # the client's, manager's or department's id (None: nobody's)
    name: str | None
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal("0.00"))


def _by(by: str) -> tuple[str, str]:
    if by not in BY:
        raise ValidationFailed("by", N_("choose client, manager or department"))
    return BY[by]


async def _settled_by(on: date) -> bool:
    """True when no entry is dated after ``on`` (the usual report: today): then what was
    open that day is what is open now, read without the credits' dates."""
    found = await q.rows(f"SELECT 1 AS x FROM ledger_entry e WHERE e.dated > {q.lit(on)} "
                         f"LIMIT 1")
    return not found


async def _open_parts(on: date, scope: str, bucket: str = "''") -> str:
    """Rows (client_id, currency, b, v) whose sum per group is what was open on ``on``
    (cents): each debit dated by then (+ its amount) and each allocation to it by a credit
    dated by then (− its amount); ``bucket`` (over the debit ``e``) gives ``b``.

    Summing the two sides is what the ledger's open amounts add up to (no debit is paid
    more than its amount), without grouping the allocations per debit first; when
    nothing is dated after ``on`` the dates are not read at all."""
    day = q.lit(on)
    settled = await _settled_by(on)
    debits = (f"e.void = FALSE AND e.kind IN ({q.DEBIT_KINDS}) AND {scope}"
              + ("" if settled else f" AND e.dated <= {day}"))
    by_then = "" if settled else f" JOIN ledger_entry cr ON cr.id = a.credit_id " \
                                 f"AND cr.dated <= {day}"
    return (f"SELECT e.client_id AS client_id, e.currency AS currency, {bucket} AS b, "
            f"{q.cents('e.amount')} AS v FROM ledger_entry e WHERE {debits} "
            f"UNION ALL SELECT e.client_id, e.currency, {bucket}, -{q.cents('a.amount')} "
            f"FROM allocation a JOIN ledger_entry e ON e.id = a.debit_id{by_then} "
            f"WHERE {debits}")


async def aging(actor: User, on: date, *, by: str = "client", department_id: int | None = None,
                manager_id: int | None = None) -> list[AgingRow]:
    key, name = _by(by)
    scope = await q.client_scope(actor, department_id=department_id, manager_id=manager_id)
    edges = [q.lit(on - timedelta(days=n)) for n in (0, 30, 60, 90)]
    bucket = (f"CASE WHEN e.due IS NULL OR e.due >= {edges[0]} THEN 'current' "
              f"WHEN e.due >= {edges[1]} THEN 'd1_30' WHEN e.due >= {edges[2]} THEN 'd31_60' "
              f"WHEN e.due >= {edges[3]} THEN 'd61_90' ELSE 'over_90' END")
    # summed per client first; the manager or department of each client is looked up
    # once per client and bucket, not once per invoice
    found = await q.rows(f"""
        SELECT x.k AS k, {name} AS name, x.currency AS cur, x.b AS b, SUM(x.open) AS open
        FROM (SELECT {key} AS k, d.currency AS currency, d.b AS b, d.open AS open
              FROM (SELECT y.client_id AS client_id, y.currency AS currency, y.b AS b,
                           SUM(y.v) AS open
                    FROM ({await _open_parts(on, scope, bucket)}) y
                    GROUP BY y.client_id, y.currency, y.b HAVING SUM(y.v) <> 0) d) x
        GROUP BY x.k, x.currency, x.b""")
    rows: dict[tuple, AgingRow] = {}
    for r in found:
        row = rows.setdefault((r["k"], r["cur"]), AgingRow(
            r["k"], r["name"], r["cur"], {b: Decimal("0.00") for b in BUCKETS}))
        row.buckets[r["b"]] += q.money(r["open"])
    return sorted(rows.values(), key=lambda r: (r.currency, -r.total, r.name or ""))


@dataclass
class Dso:
    currency: str
    receivables: Decimal
    sales: Decimal          # invoiced in the last N days
    days: Decimal | None    # None: no sales on credit in the period


async def dso(actor: User, on: date, *, days: int = 90, department_id: int | None = None,
              manager_id: int | None = None) -> list[Dso]:
    if not 1 <= int(days) <= 730:
        raise ValidationFailed("days", N_("1 to {max} days"), max=730)
    scope = await q.client_scope(actor, department_id=department_id, manager_id=manager_id)
    since, day = q.lit(on - timedelta(days=int(days))), q.lit(on)
    found = await q.rows(f"""
        SELECT x.cur AS cur, SUM(x.open) AS open, SUM(x.sold) AS sold FROM (
          SELECT d.currency AS cur, d.v AS open, 0 AS sold
          FROM ({await _open_parts(on, scope)}) d
          UNION ALL
          SELECT e.currency, 0, {q.cents('e.amount')} FROM ledger_entry e
          WHERE e.void = FALSE AND e.kind = '{EntryKind.INVOICE.value}'
            AND e.dated > {since} AND e.dated <= {day} AND {scope}) x
        GROUP BY x.cur ORDER BY x.cur""")
    out = []
    for r in found:
        open_, sold = q.money(r["open"]), q.money(r["sold"])
        out.append(Dso(r["cur"], open_, sold, (open_ / sold * int(days)).quantize(
            Decimal("0.1")) if sold else None))
    return out


@dataclass
class S23Row:
    client_id: int
    client: str
    legal_entity_id: int | None
    legal_entity: str | None
    currency: str
    shipped: Decimal
    paid: Decimal

    @property
    def difference(self) -> Decimal:
        return self.shipped - self.paid


async def payments_vs_shipments(actor: User, start: date, end: date, *,
                                by: str = "client", department_id: int | None = None,
                                manager_id: int | None = None) -> list[S23Row]:
    """S-23: shipped and paid in [start, end] per client (or per its legal entity)."""
    if end < start:
        raise ValidationFailed("end", N_("the end is before the start"))
    if by not in ("client", "legal_entity"):
        raise ValidationFailed("by", N_("choose client or legal entity"))
    scope = await q.client_scope(actor, department_id=department_id, manager_id=manager_id)
    le = "e.legal_entity_id" if by == "legal_entity" else "CAST(NULL AS INTEGER)"
    found = await q.rows(f"""
        SELECT x.c AS c, MAX(cl.name) AS name, x.le AS le, MAX(l.name) AS le_name,
               x.cur AS cur,
               SUM(CASE WHEN x.kind = '{EntryKind.SHIPMENT.value}' THEN x.amount ELSE 0 END)
                 AS shipped,
               SUM(CASE WHEN x.kind = '{EntryKind.PAYMENT.value}' THEN x.amount ELSE 0 END)
                 AS paid
        FROM (SELECT e.client_id AS c, {le} AS le, e.currency AS cur, e.kind AS kind,
                     {q.cents('e.amount')} AS amount
              FROM ledger_entry e WHERE e.void = FALSE
                AND e.kind IN ('{EntryKind.SHIPMENT.value}', '{EntryKind.PAYMENT.value}')
                AND e.dated >= {q.lit(start)} AND e.dated <= {q.lit(end)} AND {scope}) x
        JOIN client cl ON cl.id = x.c LEFT JOIN legal_entity l ON l.id = x.le
        GROUP BY x.c, x.le, x.cur""")
    out = [S23Row(int(r["c"]), r["name"], r["le"], r["le_name"], r["cur"],
                  q.money(r["shipped"]), q.money(r["paid"])) for r in found]
    return sorted(out, key=lambda r: (r.currency, -abs(r.difference), r.client))
