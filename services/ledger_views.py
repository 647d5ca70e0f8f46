"""Reading a client's ledger (issue 14: K-6, M-6): balances per currency and legal entity
pair, open invoices, the entries with a running balance and one's overdue clients
(/debts). Everything summed in SQL (services.ledger_sql); whoever sees the client
reads them. An amount is overdue from the day after its due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from models import EntryKind, LegalEntity, OwnEntity, User
from services import ledger_sql as q
from services.clock import utcnow

MAX_ITEMS = 500


def _today(user: User) -> date:
    return utcnow().astimezone(ZoneInfo(user.timezone or "UTC")).date()


@dataclass
class Balance:
    currency: str
    legal_entity_id: int | None
    own_entity_id: int | None
    owed: Decimal        # open debits
    credit: Decimal      # payments not yet used
    overdue: Decimal     # of the owed, past its due date
    oldest_due: date | None  # the oldest overdue due date
    legal_entity: str | None = None
    own_entity: str | None = None

    @property
    def balance(self) -> Decimal:
        """What the client owes net (negative: our debt, their credit)."""
        return self.owed - self.credit


async def _names(items) -> None:
    les = {i.legal_entity_id for i in items if i.legal_entity_id}
    oes = {i.own_entity_id for i in items if i.own_entity_id}
    le = dict(await LegalEntity.filter(id__in=les).values_list("id", "name")) if les else {}
    oe = dict(await OwnEntity.filter(id__in=oes).values_list("id", "name")) if oes else {}
    for i in items:
        i.legal_entity, i.own_entity = le.get(i.legal_entity_id), oe.get(i.own_entity_id)


async def balances(actor: User, client_id: int, *, on: date | None = None) -> list[Balance]:
    """K-6: what the client owes, its credit and the overdue part, per currency and
    legal entity pair (pairs with nothing open left out)."""
    from services.clients import get_client

    await get_client(actor, client_id)
    day = q.lit(on or _today(actor))
    where = f"e.client_id = {int(client_id)}"
    found = await q.rows(f"""
        SELECT x.currency AS cur, x.legal_entity_id AS le, x.own_entity_id AS oe,
               SUM(x.owed) AS owed, SUM(x.free) AS free, SUM(x.overdue) AS overdue,
               MIN(x.oldest) AS oldest
        FROM (
          SELECT d.currency, d.legal_entity_id, d.own_entity_id, d.open AS owed, 0 AS free,
                 CASE WHEN d.due < {day} THEN d.open ELSE 0 END AS overdue,
                 CASE WHEN d.due < {day} AND d.open > 0 THEN d.due END AS oldest
          FROM ({q.open_debits(where)}) d
          UNION ALL
          SELECT c.currency, c.legal_entity_id, c.own_entity_id, 0, c.free, 0, NULL
          FROM ({q.free_credits(where)}) c
        ) x
        GROUP BY x.currency, x.legal_entity_id, x.own_entity_id
        ORDER BY x.currency, x.legal_entity_id, x.own_entity_id""")
    out = [Balance(r["cur"], r["le"], r["oe"], q.money(r["owed"]), q.money(r["free"]),
                   q.money(r["overdue"]), q.as_date(r["oldest"]))
           for r in found if int(r["owed"] or 0) or int(r["free"] or 0)]
    await _names(out)
    return out


@dataclass
class OpenItem:
    id: int
    kind: EntryKind
    number: str | None
    dated: date
    due: date | None
    currency: str
    amount: Decimal
    open: Decimal
    days_overdue: int     # 0: not overdue (or no due date yet)
    order_id: int | None
    legal_entity_id: int | None
    own_entity_id: int | None


async def open_items(actor: User, client_id: int, *, on: date | None = None
                     ) -> list[OpenItem]:
    """M-6: the client's invoices (and debit entries) with something open, oldest due
    first, with their due date and days overdue."""
    from services.clients import get_client

    await get_client(actor, client_id)
    today = on or _today(actor)
    found = await q.rows(f"""
        SELECT * FROM ({q.open_debits(f"e.client_id = {int(client_id)}")}) d
        WHERE d.open > 0 ORDER BY COALESCE(d.due, d.dated), d.dated, d.id
        LIMIT {MAX_ITEMS}""")
    out = []
    for r in found:
        due = q.as_date(r["due"])
        out.append(OpenItem(
            int(r["id"]), EntryKind(r["kind"]), r["number"], q.as_date(r["dated"]), due,
            r["currency"], q.money(r["amount"]), q.money(r["open"]),
            max((today - due).days, 0) if due else 0, r["order_id"], r["legal_entity_id"],
            r["own_entity_id"]))
    return out


@dataclass
class LedgerLine:
    id: int
    kind: EntryKind
    dated: date
    due: date | None
    number: str | None
    note: str | None
    void: bool
    currency: str
    legal_entity_id: int | None
    own_entity_id: int | None
    order_id: int | None
    amount: Decimal
    running: Decimal  # the pair's balance after this entry (what the client owes)


async def ledger(actor: User, client_id: int, *, limit: int = 50, offset: int = 0
                 ) -> tuple[list[LedgerLine], int]:
    """The client's entries, newest first, each with the running balance of its currency
    and pair; and how many there are."""
    from services.clients import get_client

    await get_client(actor, client_id)
    limit, offset = max(1, min(int(limit), 200)), max(0, int(offset))
    cid = int(client_id)
    found = await q.rows(f"""
        SELECT * FROM (
          SELECT e.id AS id, e.kind AS kind, e.dated AS dated, e.due AS due,
                 e.number AS number, e.note AS note, e.void AS void,
                 e.currency AS currency, e.legal_entity_id AS le, e.own_entity_id AS oe,
                 e.order_id AS order_id, {q.cents('e.amount')} AS amount,
                 SUM(CASE WHEN e.void = TRUE THEN 0 ELSE {q.SIGNED} END) OVER (
                   PARTITION BY e.currency, e.legal_entity_id, e.own_entity_id
                   ORDER BY e.dated, e.id ROWS UNBOUNDED PRECEDING) AS running
          FROM ledger_entry e WHERE e.client_id = {cid}) t
        ORDER BY t.dated DESC, t.id DESC LIMIT {limit} OFFSET {offset}""")
    total = await q.rows(f"SELECT COUNT(*) AS n FROM ledger_entry e WHERE e.client_id = {cid}")
    return [LedgerLine(int(r["id"]), EntryKind(r["kind"]), q.as_date(r["dated"]),
                       q.as_date(r["due"]), r["number"], r["note"], bool(r["void"]),
                       r["currency"], r["le"], r["oe"], r["order_id"], q.money(r["amount"]),
                       q.money(r["running"])) for r in found], int(total[0]["n"])


@dataclass
class Overdue:
    client_id: int
    name: str
    currency: str
    owed: Decimal
    overdue: Decimal
    oldest_due: date | None
    days_overdue: int


async def overdue_of(actor: User, *, on: date | None = None, limit: int = 100
                     ) -> list[Overdue]:
    """/debts: the clients ``actor`` manages that owe something, per currency, the
    overdue ones first (the longest overdue on top), then by what they owe."""
    today = on or _today(actor)
    day = q.lit(today)
    mine = (f"e.client_id IN (SELECT cm.client_id FROM client_manager cm WHERE "
            f"cm.unassigned_at IS NULL AND cm.user_id = {int(actor.id)}) AND e.client_id IN "
            f"(SELECT c.id FROM client c WHERE c.archived_at IS NULL)")
    found = await q.rows(f"""
        SELECT d.client_id AS client_id, MAX(c.name) AS name, d.currency AS cur,
               SUM(d.open) AS owed,
               SUM(CASE WHEN d.due < {day} THEN d.open ELSE 0 END) AS overdue,
               MIN(CASE WHEN d.due < {day} THEN d.due END) AS oldest
        FROM ({q.open_debits(mine)}) d JOIN client c ON c.id = d.client_id
        WHERE d.open > 0
        GROUP BY d.client_id, d.currency""")
    out = []
    for r in found:
        oldest = q.as_date(r["oldest"])
        out.append(Overdue(int(r["client_id"]), r["name"], r["cur"], q.money(r["owed"]),
                           q.money(r["overdue"]), oldest,
                           (today - oldest).days if oldest else 0))
    out.sort(key=lambda o: (o.overdue <= 0, -o.days_overdue, -o.owed, o.name))
    return out[:max(1, int(limit))]


@dataclass
class BalanceLine:
    currency: str
    owed: Decimal
    credit: Decimal
    overdue: Decimal
    days_overdue: int  # of the oldest overdue amount


async def balance_line(actor: User, client_id: int, *, on: date | None = None
                       ) -> list[BalanceLine]:
    """K-6, M-6: the client's balances summed per currency (every legal entity pair
    together) for one compact line on the card; empty when nothing is owed either way."""
    today = on or _today(actor)
    per: dict[str, BalanceLine] = {}
    for b in await balances(actor, client_id, on=today):
        line = per.setdefault(b.currency, BalanceLine(b.currency, Decimal("0.00"),
                                                      Decimal("0.00"), Decimal("0.00"), 0))
        line.owed += b.owed
        line.credit += b.credit
        line.overdue += b.overdue
        if b.oldest_due is not None:
            line.days_overdue = max(line.days_overdue, (today - b.oldest_due).days)
    return [per[c] for c in sorted(per)]
