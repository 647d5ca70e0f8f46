"""K-9: where a plan's fact comes from — the grouped counts of documents prepared and
payments collected per person (for :func:`services.sales_plans.plans_vs_fact`), and the
records behind one person's fact of one metric in a month (the deals, orders, payments
and activities a statement's line is traced to), a page at a time.

The same rules as :mod:`services.sales_plans` and :mod:`services.analytics`: orders
posted in the month in the person's time zone and posted, shipped or closed now; deals
won and closed in the month; done activities where the person is an assignee;
payments (not void) dated in the month on the ledgers of the clients whose main
manager the person is now (the primary current manager, else the first current one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections
from tortoise.functions import Count, Sum

from models import (
    ActivityAssignee,
    ActivityState,
    Deal,
    EntryKind,
    LedgerEntry,
    Order,
    OrderLine,
    OrderState,
    StageKind,
)
from services.analytics import _Params

SOLD = (OrderState.POSTED, OrderState.SHIPPED, OrderState.CLOSED)
MAIN_MANAGER = ("(SELECT cm.user_id FROM client_manager cm WHERE cm.client_id = e.client_id "
                "AND cm.unassigned_at IS NULL ORDER BY cm.is_primary DESC, cm.id LIMIT 1)")
PAGE = 50
MAX_KEPT = 5000  # an approved line keeps at most this many of its records


def local_dates(start: datetime, end: datetime, tz: str) -> tuple[date, date]:
    """The local [first day, day after the last) of a period given in UTC."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return start.astimezone(zone).date(), end.astimezone(zone).date()


async def documents_by_person(people: list[int], start: datetime, end: datetime
                              ) -> dict[int, int]:
    """Per person: orders owned and posted in [start, end) that are not cancelled, plus
    invoices entered by hand (no order) whose creation falls in the period."""
    counts: dict[int, int] = defaultdict(int)
    for row in await Order.filter(owner_id__in=people, state__in=SOLD, posted_at__gte=start,
                                  posted_at__lt=end).annotate(n=Count("id")).group_by(
            "owner_id").values("owner_id", "n"):
        counts[row["owner_id"]] += row["n"]
    for row in await LedgerEntry.filter(
            created_by_id__in=people, kind=EntryKind.INVOICE, order_id=None, void=False,
            created_at__gte=start, created_at__lt=end).annotate(n=Count("id")).group_by(
            "created_by_id").values("created_by_id", "n"):
        counts[row["created_by_id"]] += row["n"]
    return dict(counts)


async def payments_by_person(people: list[int], start: datetime, end: datetime, tz: str
                             ) -> dict[tuple[int, str], Decimal]:
    """(person, currency) → the payments dated in the local month on their clients'
    ledgers. One grouped query."""
    first, after = local_dates(start, end, tz)
    if not people:
        return {}
    conn = connections.get("default")
    p = _Params(conn.capabilities.dialect)
    sql = (f"SELECT x.user_id AS user_id, x.currency AS currency, SUM(x.amount) AS total "
           f"FROM (SELECT {MAIN_MANAGER} AS user_id, e.currency AS currency, "
           f"e.amount AS amount FROM ledger_entry e WHERE e.kind = {p(EntryKind.PAYMENT.value)} "
           f"AND e.void = {p(False)} AND e.dated >= {p(first)} AND e.dated < {p(after)}) x "
           f"WHERE x.user_id IN ({p.many(people)}) GROUP BY x.user_id, x.currency")
    rows = await conn.execute_query_dict(sql, p.values)
    return {(r["user_id"], r["currency"]): Decimal(str(r["total"] or 0)) for r in rows}


@dataclass
class Source:
    """One record behind a fact: ``kind`` order | invoice | deal | payment | activity;
    ``amount`` what it adds (money, or 1 for a count)."""

    kind: str
    id: int
    label: str
    amount: Decimal
    currency: str | None
    at: str  # ISO date or date and time
    client_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label,
                "amount": str(self.amount), "currency": self.currency, "at": self.at,
                "client_id": self.client_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Source:
        return cls(d["kind"], d["id"], d["label"], Decimal(d["amount"]), d.get("currency"),
                   d["at"], d.get("client_id"))


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


async def sources(metric: str, user_id: int, start: datetime, end: datetime, tz: str, *,
                  currency: str | None = None, type_ids: list[int] | None = None,
                  offset: int = 0, limit: int = PAGE) -> tuple[int, list[Source]]:
    """(how many, a page of them): the records behind ``user_id``'s fact of ``metric``
    in [start, end) — newest first."""
    limit = max(1, min(int(limit), MAX_KEPT))
    offset = max(0, int(offset))
    if metric in ("revenue", "margin"):
        orders = Order.filter(owner_id=user_id, state__in=SOLD, posted_at__gte=start,
                              posted_at__lt=end, currency=currency)
        total = await orders.count()
        page = await orders.order_by("-posted_at", "-id").offset(offset).limit(limit).values(
            "id", "number", "posted_at", "client_id", "currency", client="client__name")
        sums = {r["order_id"]: (Decimal(r["revenue"] or 0), Decimal(r["cost"] or 0))
                for r in await OrderLine.filter(order_id__in=[o["id"] for o in page]).annotate(
                    revenue=Sum("amount"), cost=Sum("cost")).group_by("order_id").values(
                    "order_id", "revenue", "cost")}
        out = []
        for o in page:
            revenue, cost = sums.get(o["id"], (Decimal(0), Decimal(0)))
            out.append(Source("order", o["id"], f"{o['number']} · {o['client']}",
                              revenue if metric == "revenue" else revenue - cost,
                              o["currency"], _iso(o["posted_at"]), o["client_id"]))
        return total, out
    if metric == "deals_won":
        deals = Deal.filter(owner_id=user_id, stage__kind=StageKind.WON, closed_at__gte=start,
                            closed_at__lt=end, archived_at=None)
        total = await deals.count()
        page = await deals.order_by("-closed_at", "-id").offset(offset).limit(limit).values(
            "id", "title", "closed_at", "client_id", "amount", "currency")
        return total, [Source("deal", d["id"], d["title"], Decimal(1), None,
                              _iso(d["closed_at"]), d["client_id"]) for d in page]
    if metric == "documents":
        return await _documents(user_id, start, end, offset, limit)
    if metric == "payments":
        return await _payments(user_id, start, end, tz, currency, offset, limit)
    if metric == "activities":
        done = ActivityAssignee.filter(user_id=user_id, activity__state=ActivityState.DONE,
                                       activity__done_at__gte=start,
                                       activity__done_at__lt=end)
        if type_ids is not None:
            done = done.filter(activity__type_id__in=type_ids)
        total = await done.count()
        page = await done.order_by("-activity__done_at", "-id").offset(offset).limit(
            limit).values(activity_id="activity__id", title="activity__title",
                          done_at="activity__done_at", client_id="activity__client_id")
        return total, [Source("activity", a["activity_id"], a["title"], Decimal(1), None,
                              _iso(a["done_at"]), a["client_id"]) for a in page]
    return 0, []


async def _documents(user_id: int, start: datetime, end: datetime, offset: int, limit: int
                     ) -> tuple[int, list[Source]]:
    orders = Order.filter(owner_id=user_id, state__in=SOLD, posted_at__gte=start,
                          posted_at__lt=end)
    invoices = LedgerEntry.filter(created_by_id=user_id, kind=EntryKind.INVOICE,
                                  order_id=None, void=False, created_at__gte=start,
                                  created_at__lt=end)
    n_orders, n_invoices = await orders.count(), await invoices.count()
    out: list[Source] = []
    if offset < n_orders:
        for o in await orders.order_by("-posted_at", "-id").offset(offset).limit(limit).values(
                "id", "number", "posted_at", "client_id", client="client__name"):
            out.append(Source("order", o["id"], f"{o['number']} · {o['client']}", Decimal(1),
                              None, _iso(o["posted_at"]), o["client_id"]))
    if len(out) < limit:
        skip = max(0, offset - n_orders)
        for e in await invoices.order_by("-created_at", "-id").offset(skip).limit(
                limit - len(out)).values("id", "number", "created_at", "client_id",
                                         client="client__name"):
            out.append(Source("invoice", e["id"], f"{e['number'] or '—'} · {e['client']}",
                              Decimal(1), None, _iso(e["created_at"]), e["client_id"]))
    return n_orders + n_invoices, out


async def _payments(user_id: int, start: datetime, end: datetime, tz: str,
                    currency: str | None, offset: int, limit: int
                    ) -> tuple[int, list[Source]]:
    first, after = local_dates(start, end, tz)
    conn = connections.get("default")
    p = _Params(conn.capabilities.dialect)
    where = (f"FROM ledger_entry e JOIN client c ON c.id = e.client_id "
             f"WHERE e.kind = {p(EntryKind.PAYMENT.value)} AND e.void = {p(False)} "
             f"AND e.dated >= {p(first)} AND e.dated < {p(after)} "
             f"AND e.currency = {p(currency)} AND {MAIN_MANAGER} = {p(user_id)}")
    counted = await conn.execute_query_dict(f"SELECT COUNT(*) AS n {where}", p.values)
    rows = await conn.execute_query_dict(
        f"SELECT e.id AS id, e.number AS number, e.dated AS dated, e.amount AS amount, "
        f"e.currency AS currency, e.client_id AS client_id, c.name AS client {where} "
        f"ORDER BY e.dated DESC, e.id DESC LIMIT {int(limit)} OFFSET {int(offset)}", p.values)
    out = []
    for r in rows:
        dated = r["dated"]
        out.append(Source("payment", r["id"], f"{r['number'] or '—'} · {r['client']}",
                          Decimal(str(r["amount"])), r["currency"],
                          dated if isinstance(dated, str) else _iso(dated), r["client_id"]))
    return int(counted[0]["n"]), out
