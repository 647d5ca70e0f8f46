"""/debts in the bot (issue 14: K-6, M-6): the open invoices of the clients one sees that
are overdue or fall due soon, one line each — a manager his own clients', a head his
departments', an admin everyone's (services.ledger_sql.client_scope). Summed in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from models import User
from services import ledger_sql as q
from services.ledger_views import _today

AHEAD_DAYS = 7
MAX_ITEMS = 200


@dataclass
class DueItem:
    entry_id: int
    client_id: int
    client: str
    number: str | None
    currency: str
    open: Decimal
    due: date
    days_overdue: int  # 0: not overdue yet

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


async def due_items(actor: User, *, on: date | None = None, ahead: int = AHEAD_DAYS,
                    limit: int = 30) -> tuple[list[DueItem], int]:
    """M-6: the open debits due before ``on`` + ``ahead`` days, the most overdue first
    (then what falls due soonest), and how many there are in all."""
    today = on or _today(actor)
    ahead = max(0, min(int(ahead), 90))
    limit = max(1, min(int(limit), MAX_ITEMS))
    scope = await q.client_scope(actor)
    body = (f"FROM ({q.open_debits(scope)}) d JOIN client c ON c.id = d.client_id "
            f"WHERE d.open > 0 AND d.due IS NOT NULL "
            f"AND d.due <= {q.lit(today + timedelta(days=ahead))}")
    found = await q.rows(f"""
        SELECT d.id AS id, d.client_id AS client_id, c.name AS name, d.number AS number,
               d.currency AS currency, d.open AS open, d.due AS due
        {body} ORDER BY d.due, c.name, d.id LIMIT {limit}""")
    total = await q.rows(f"SELECT COUNT(*) AS n {body}")
    out = []
    for r in found:
        due = q.as_date(r["due"])
        out.append(DueItem(int(r["id"]), int(r["client_id"]), r["name"], r["number"],
                           r["currency"], q.money(r["open"]), due,
                           max((today - due).days, 0)))
    return out, int(total[0]["n"])
