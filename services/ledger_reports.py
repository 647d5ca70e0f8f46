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


def _open_on(on: date, scope: str) -> str:
    """The debits dated by ``on`` with what was open that day."""
    day = q.lit(on)
    return (f"SELECT e.id AS id, e.client_id AS client_id, e.currency AS currency, "
            f"e.legal_entity_id AS legal_entity_id, e.due AS due, "
            f"{q.cents('e.amount')} - COALESCE((SELECT SUM({q.cents('a.amount')}) FROM "
            f"allocation a JOIN ledger_entry cr ON cr.id = a.credit_id WHERE "
            f"a.debit_id = e.id AND cr.dated <= {day}), 0) AS open "
            f"FROM ledger_entry e WHERE e.void = FALSE AND e.kind IN ({q.DEBIT_KINDS}) "
            f"AND e.dated <= {day} AND {scope}")


async def aging(actor: User, on: date, *, by: str = "client", department_id: int | None = None,
                manager_id: int | None = None) -> list[AgingRow]:
    key, name = _by(by)
    scope = await q.client_scope(actor, department_id=department_id, manager_id=manager_id)
    edges = [q.lit(on - timedelta(days=n)) for n in (0, 30, 60, 90)]
    bucket = (f"CASE WHEN d.due IS NULL OR d.due >= {edges[0]} THEN 'current' "
              f"WHEN d.due >= {edges[1]} THEN 'd1_30' WHEN d.due >= {edges[2]} THEN 'd31_60' "
              f"WHEN d.due >= {edges[3]} THEN 'd61_90' ELSE 'over_90' END")
    found = await q.rows(f"""
        SELECT x.k AS k, {name} AS name, x.currency AS cur, x.b AS b, SUM(x.open) AS open
        FROM (SELECT {key} AS k, d.currency AS currency, {bucket} AS b, d.open AS open
              FROM ({_open_on(on, scope)}) d WHERE d.open > 0) x
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
          SELECT d.currency AS cur, d.open AS open, 0 AS sold FROM ({_open_on(on, scope)}) d
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
