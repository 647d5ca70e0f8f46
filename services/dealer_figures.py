"""Dealer effectiveness (M-7): the numbers of each dealer for a period ``[start, end)``.

Rules (a *dealer deal* is a current — not archived — deal with the dealer as its party
in the role ``dealer``; every figure counts all such deals, whoever owns them: a dealer's
effectiveness is the company's, not one manager's):

* **deals**, **won**, **lost**, **open** and the **time to first contact** count dealer
  deals of a *sale* process (kind ``sale``): a claim or an execution settled is not a
  sale won;
* **deals**: dealer deals created in the period;
* **won / lost**: dealer deals closed in the period at a won / lost stage; the **won
  rate** is won over won and lost, in whole percent (None when none closed);
* **open**: dealer deals at an open stage now (not bound to the period);
* **revenue / margin**: as the manager report (services.manager_report) counts them —
  the lines of the orders of dealer deals posted in the period and posted, shipped or
  closed now (not drafts, not cancelled); revenue is the lines' amounts, margin revenue
  less the lines' cost (a line without a cost counts nothing); per currency;
* **time to first contact**: for each dealer deal created in the period, the hours
  from its creation to the first contact after it — an event (a call, a meeting, a
  letter: not a task, whose reminders a managed process makes at once), not cancelled,
  created after the deal, linked to the deal or to its client; the median over the
  deals that had one (None when none had); ``contacted`` says how many had;
* **claims**: deals of a process of kind ``claim`` created in the period that came
  through the dealer themselves (the dealer is their party) or are about a dealer deal
  (their parent deal, U-7) — a client bought through the dealer complains about it.

The database does the counting: one query per figure for all dealers at once (grouped
by the dealer), never a query per dealer; Python puts the small results together and
takes the median of the contact times.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tortoise import connections

from models import PartnerKind, PartyRole, ProcessKind, StageKind
from services.analytics import _as_datetime, _Params, _utc_period
from services.sales_plans import SOLD

CENT = Decimal("0.01")


@dataclass
class DealerFigures:
    client_id: int
    deals: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    orders: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    margin: dict[str, Decimal] = field(default_factory=dict)
    contact_hours: float | None = None
    contacted: int = 0
    claims: int = 0

    @property
    def won_rate(self) -> int | None:
        closed = self.won + self.lost
        return int((Decimal(self.won * 100) / closed).to_integral_value(ROUND_HALF_UP)) \
            if closed else None

    def revenue_in(self, currency: str) -> Decimal:
        return self.revenue.get(currency, Decimal(0))


def _dealer_join(p: _Params, alias: str, dealer_ids: list[int] | None) -> str:
    """The party row that makes ``alias`` (a deal) a dealer deal, optionally of the
    dealers given."""
    sql = (f"JOIN deal_party dp ON dp.deal_id = {alias}.id "
           f"AND dp.role = {p(PartyRole.DEALER.value)}")
    if dealer_ids is not None:
        sql += f" AND dp.client_id IN ({p.many(dealer_ids)})"
    return sql


async def dealer_figures(start: datetime, end: datetime, dealer_ids: list[int] | None = None
                         ) -> dict[int, DealerFigures]:
    """The figures of every dealer (or of ``dealer_ids``) in ``[start, end)``; a dealer
    with nothing has no entry (callers use :class:`DealerFigures` defaults)."""
    if dealer_ids is not None and not dealer_ids:
        return {}
    start, end = _utc_period(start, end)
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    out: dict[int, DealerFigures] = {}

    def row(cid: int) -> DealerFigures:
        return out.setdefault(int(cid), DealerFigures(client_id=int(cid)))

    # deals created, won, lost, open (one query)
    p = _Params(dialect)  # "?" placeholders: the values in the order they appear

    def closed_in() -> str:
        return f"d.closed_at >= {p(start)} AND d.closed_at < {p(end)}"

    sql = f"""
        SELECT dp.client_id AS dealer,
               SUM(CASE WHEN d.created_at >= {p(start)} AND d.created_at < {p(end)}
                        THEN 1 ELSE 0 END) AS deals,
               SUM(CASE WHEN s.kind = {p(StageKind.WON.value)} AND {closed_in()}
                        THEN 1 ELSE 0 END) AS won,
               SUM(CASE WHEN s.kind = {p(StageKind.LOST.value)} AND {closed_in()}
                        THEN 1 ELSE 0 END) AS lost,
               SUM(CASE WHEN s.kind = {p(StageKind.OPEN.value)} THEN 1 ELSE 0 END) AS open_deals
          FROM deal d
          JOIN deal_stage s ON s.id = d.stage_id
          JOIN process_type pt ON pt.id = d.process_id
          {_dealer_join(p, "d", dealer_ids)}
         WHERE d.archived_at IS NULL AND pt.kind = {p(ProcessKind.SALE.value)}
         GROUP BY dp.client_id"""
    for r in await conn.execute_query_dict(sql, p.values):
        f = row(r["dealer"])
        f.deals, f.won, f.lost, f.open = (int(r["deals"] or 0), int(r["won"] or 0),
                                          int(r["lost"] or 0), int(r["open_deals"] or 0))

    # revenue and margin of the orders (one query)
    p = _Params(dialect)
    sql = f"""
        SELECT dp.client_id AS dealer, o.currency AS currency,
               SUM(l.amount) AS revenue, SUM(COALESCE(l.cost, 0)) AS cost,
               COUNT(DISTINCT o.id) AS orders
          FROM order_line l
          JOIN sales_order o ON o.id = l.order_id
          JOIN deal d ON d.id = o.deal_id
          {_dealer_join(p, "d", dealer_ids)}
         WHERE d.archived_at IS NULL
           AND o.state IN ({p.many(s.value for s in SOLD)})
           AND o.posted_at >= {p(start)} AND o.posted_at < {p(end)}
         GROUP BY dp.client_id, o.currency"""
    for r in await conn.execute_query_dict(sql, p.values):
        f = row(r["dealer"])
        revenue = Decimal(str(r["revenue"] or 0)).quantize(CENT)
        f.revenue[r["currency"]] = revenue
        f.margin[r["currency"]] = (revenue - Decimal(str(r["cost"] or 0))).quantize(CENT)
        f.orders += int(r["orders"] or 0)

    # time to first contact: each deal with its first contact (a correlated MIN)
    p = _Params(dialect)
    sql = f"""
        SELECT dp.client_id AS dealer, d.created_at AS created_at,
          (SELECT MIN(a.created_at) FROM activity a
            WHERE (a.deal_id = d.id OR a.client_id = d.client_id)
              AND a.kind = {p("event")} AND a.state <> {p("cancelled")}
              AND a.created_at > d.created_at) AS contacted_at
          FROM deal d
          JOIN process_type pt ON pt.id = d.process_id
          {_dealer_join(p, "d", dealer_ids)}
         WHERE d.archived_at IS NULL AND pt.kind = {p(ProcessKind.SALE.value)}
           AND d.created_at >= {p(start)} AND d.created_at < {p(end)}"""
    hours: dict[int, list[float]] = defaultdict(list)
    for r in await conn.execute_query_dict(sql, p.values):
        if r["contacted_at"] is not None:
            delta = _as_datetime(r["contacted_at"]) - _as_datetime(r["created_at"])
            hours[int(r["dealer"])].append(delta.total_seconds() / 3600)
    for cid, values in hours.items():
        f = row(cid)
        f.contacted = len(values)
        f.contact_hours = round(statistics.median(values), 1)

    # claims: through the dealer, or about a deal through the dealer
    p = _Params(dialect)
    role = p(PartyRole.DEALER.value)
    only = f" AND x.client_id IN ({p.many(dealer_ids)})" if dealer_ids is not None else ""
    claim = p(ProcessKind.CLAIM.value)
    sql = f"""
        SELECT x.client_id AS dealer, COUNT(DISTINCT c.id) AS claims
          FROM deal c
          JOIN process_type pt ON pt.id = c.process_id
          JOIN deal_party x ON x.role = {role}{only}
               AND (x.deal_id = c.id OR x.deal_id = c.parent_id)
         WHERE pt.kind = {claim} AND c.archived_at IS NULL
           AND c.created_at >= {p(start)} AND c.created_at < {p(end)}
         GROUP BY x.client_id"""
    for r in await conn.execute_query_dict(sql, p.values):
        row(r["dealer"]).claims = int(r["claims"] or 0)
    return out


async def dealer_ids_of_kind(*, archived: bool | None = False) -> list[int]:
    from models import PartnerRole

    qs = PartnerRole.filter(kind=PartnerKind.DEALER, client__archived_at=None)
    if archived is not None:
        qs = qs.filter(archived_at__isnull=not archived)
    return list(await qs.values_list("client_id", flat=True))
