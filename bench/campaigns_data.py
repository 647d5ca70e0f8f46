"""The data of bench.campaigns (issue 16): staff in departments, clients, products, 200
campaigns of the two years before :data:`NOW` with 2–4 variants and cost items each,
deals of the sale process (two in five won, each won deal with a posted order of a few
lines that carry their cost), and the attributions — every client's first and last
touch, every deal's (its own or none, then the client's counts) — written in bulk
(``COPY`` on PostgreSQL, ``executemany`` on SQLite) like bench.analytics_data.

:func:`populate` is also what tests/test_bench_campaigns.py runs at a toy size."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bench.analytics_data import (
    BATCH,
    CENT,
    NOW,
    Made,
    Sizes,
    _clients,
    _products,
    _staff,
    fix_sequences,
    insert_rows,
)

CHANNELS = ("email", "sms", "social", "search", "display", "print", "event", "web")


@dataclass
class CampaignSizes:
    campaigns: int
    clients: int
    deals: int
    departments: int = 5
    per_department: int = 10
    products: int = 300

    def base(self) -> Sizes:
        return Sizes(clients=self.clients, departments=self.departments,
                     per_department=self.per_department, lines=0,
                     products=self.products, deals=self.deals, activities=0)


FULL = CampaignSizes(campaigns=200, clients=100_000, deals=100_000)
QUICK = CampaignSizes(campaigns=200, clients=20_000, deals=20_000)
TOY = CampaignSizes(campaigns=6, clients=60, deals=80, departments=2, per_department=3,
                    products=10)

CAMPAIGN_COLS = ("id", "name", "state", "starts_on", "ends_on", "budget", "currency",
                 "created_at", "updated_at")
VARIANT_COLS = ("id", "campaign_id", "name", "channel", "link_token", "budget", "archived",
                "created_at", "updated_at")
COST_COLS = ("id", "campaign_id", "variant_id", "item", "planned", "actual", "spent_on",
             "created_at", "updated_at")
DEAL_COLS = ("id", "title", "client_id", "process_id", "stage_id", "owner_id", "amount",
             "currency", "closed_at", "probability_factors", "version", "created_at",
             "updated_at")
ORDER_COLS = ("id", "number", "client_id", "owner_id", "deal_id", "state", "currency",
              "vat_included", "subtotal", "discount_total", "vat_total", "total", "posted_at",
              "version", "created_at", "updated_at")
LINE_COLS = ("id", "order_id", "position", "product_id", "name", "unit", "quantity",
             "list_price", "price", "discount", "vat_rate", "amount", "vat_amount", "cost",
             "trace", "off_matrix")
ATTR_COLS = ("id", "subject", "touch", "client_id", "deal_id", "campaign_id", "variant_id",
             "via", "at")


@dataclass
class CampaignsMade:
    made: Made
    campaigns: list[tuple[int, date, date]]  # (id, starts_on, ends_on)
    variants: dict[int, list[int]]  # campaign id → its variant ids
    years: list[int]


async def _campaigns(sizes: CampaignSizes, rnd: random.Random) -> tuple[list, dict]:
    """Campaigns spread over the two years before NOW, 1–3 months long, with their
    variants and planned/actual cost items."""
    first = (NOW - timedelta(days=730)).date()
    camps, variants, costs = [], [], []
    out: list[tuple[int, date, date]] = []
    by_campaign: dict[int, list[int]] = {}
    vid = cid_cost = 0
    for cid in range(1, sizes.campaigns + 1):
        starts = first + timedelta(days=rnd.randrange(0, 700))
        ends = starts + timedelta(days=rnd.randint(30, 90))
        state = "finished" if ends < NOW.date() else "running"
        budget = Decimal(rnd.choice((100_000, 250_000, 500_000, 1_000_000)))
        camps.append((cid, f"Кампания {cid}", state, starts, ends, budget, "RUB", NOW, NOW))
        out.append((cid, starts, ends))
        for k in range(rnd.randint(2, 4)):
            vid += 1
            variants.append((vid, cid, f"Вариант {k + 1}", rnd.choice(CHANNELS),
                             secrets.token_urlsafe(12)[:16], (budget / 4).quantize(CENT),
                             False, NOW, NOW))
            by_campaign.setdefault(cid, []).append(vid)
            for item in ("Размещение", "Креатив"):
                cid_cost += 1
                planned = (budget / 8 * Decimal(rnd.uniform(0.5, 1.5))).quantize(CENT)
                actual = (planned * Decimal(rnd.uniform(0.7, 1.3))).quantize(CENT) \
                    if state == "finished" or rnd.random() < 0.5 else None
                costs.append((cid_cost, cid, vid, item, planned, actual,
                              starts + timedelta(days=3), NOW, NOW))
    await insert_rows("campaign", CAMPAIGN_COLS, camps)
    await insert_rows("campaign_variant", VARIANT_COLS, variants)
    await insert_rows("campaign_cost", COST_COLS, costs)
    return out, by_campaign


async def _deals_orders_touches(sizes: CampaignSizes, owners: list, products: list,
                                campaigns: list, variants: dict,
                                rnd: random.Random) -> None:
    """Each client's first and last touch (a campaign that ran when the client came and
    a later one, or the same); deals made within the last touch's campaign, 40 % won,
    a won deal with a posted order of 1–4 lines; half of the deals with a touch of
    their own."""
    from tortoise.transactions import in_transaction

    from services import deals as deal_svc

    sale = next(p for p in await deal_svc.process_types() if p.code == "sale")
    stages = await deal_svc.stages_of(sale.id)
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    opened = [s for s in stages if s.kind == "open"]
    attrs: list[tuple] = []
    aid = 0
    last_of: list[tuple[int, date]] = []  # per client: (campaign, its start)
    for client in range(1, sizes.clients + 1):
        f = campaigns[rnd.randrange(len(campaigns))]
        last = f if rnd.random() < 0.5 else campaigns[rnd.randrange(len(campaigns))]
        for touch, (cid, starts, _ends) in (("first", f), ("last", last)):
            aid += 1
            at = _moment(starts, rnd)
            attrs.append((aid, f"c:{client}", touch, client, None, cid,
                          rnd.choice(variants[cid]), "form", at))
        last_of.append((last[0], last[1]))
    await _flush_attrs(attrs)
    attrs = []
    deals, orders, lines = [], [], []
    order_id = line_id = 0
    for did in range(1, sizes.deals + 1):
        client = rnd.randint(1, sizes.clients)
        cid, starts = last_of[client - 1]
        made_at = _moment(starts, rnd)
        end = rnd.random()
        stage = won if end < 0.4 else lost if end < 0.85 else rnd.choice(opened)
        closed = min(NOW - timedelta(minutes=1), made_at + timedelta(days=rnd.randint(1, 60))) \
            if stage.kind != "open" else None
        amount = Decimal(rnd.choice((50_000, 120_000, 300_000)))
        deals.append((did, f"Сделка {did}", client, sale.id, stage.id, owners[client - 1],
                      amount, "RUB", closed, "[]", 3, made_at, closed or made_at))
        if rnd.random() < 0.5:
            own = campaigns[rnd.randrange(len(campaigns))]
            for touch in ("first", "last"):
                aid += 1
                attrs.append((aid, f"d:{did}", touch, client, did, own[0],
                              rnd.choice(variants[own[0]]), "manual", made_at))
        if stage is won:
            order_id += 1
            total = Decimal(0)
            for pos in range(rnd.randint(1, 4)):
                line_id += 1
                pid, name, price, cost = products[rnd.randrange(len(products))]
                qty = Decimal(rnd.choice((1, 2, 5, 10)))
                amount_line = (price * qty).quantize(CENT)
                total += amount_line
                lines.append((line_id, order_id, pos, pid, name, "шт", qty, price, price,
                              Decimal(0), Decimal(20), amount_line,
                              (amount_line * 20 / 120).quantize(CENT),
                              None if cost is None else (cost * qty).quantize(CENT), "[]",
                              False))
            orders.append((order_id, f"К-{order_id:07d}", client, owners[client - 1], did,
                           "posted", "RUB", True, total, Decimal(0),
                           (total * 20 / 120).quantize(CENT), total, closed, 3, closed,
                           closed))
        if len(deals) >= BATCH:
            async with in_transaction():
                await insert_rows("deal", DEAL_COLS, deals)
                await insert_rows("sales_order", ORDER_COLS, orders)
                await insert_rows("order_line", LINE_COLS, lines)
            await _flush_attrs(attrs)
            deals, orders, lines, attrs = [], [], [], []
    async with in_transaction():
        await insert_rows("deal", DEAL_COLS, deals)
        await insert_rows("sales_order", ORDER_COLS, orders)
        await insert_rows("order_line", LINE_COLS, lines)
    await _flush_attrs(attrs)


def _moment(starts: date, rnd: random.Random):
    from datetime import datetime, time

    at = datetime.combine(starts, time(9), tzinfo=NOW.tzinfo) + timedelta(
        minutes=rnd.randrange(0, 60 * 24 * 60))
    return min(at, NOW - timedelta(minutes=5))


async def _flush_attrs(rows: list[tuple]) -> None:
    from tortoise.transactions import in_transaction

    for i in range(0, len(rows), BATCH):
        async with in_transaction():
            await insert_rows("attribution", ATTR_COLS, rows[i:i + BATCH])


async def populate(sizes: CampaignSizes, seed: int = 16) -> CampaignsMade:
    from tortoise import connections

    rnd = random.Random(seed)
    made = Made(admin=None)
    base = sizes.base()
    await _staff(base, made)
    _weights, owners = await _clients(base, made, rnd)
    products = await _products(base, rnd)
    campaigns, variants = await _campaigns(sizes, rnd)
    await _deals_orders_touches(sizes, owners, products, campaigns, variants, rnd)
    tables = ("client", "client_manager", "product", "campaign", "campaign_variant",
              "campaign_cost", "deal", "sales_order", "order_line", "attribution",
              "staff_user")
    await fix_sequences(tables)
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        for table in tables:
            await conn.execute_script(f"VACUUM ANALYZE {table}")
    else:
        await conn.execute_script("ANALYZE;")
    years = sorted({s.year for _c, s, _e in campaigns} | {e.year for _c, _s, e in campaigns})
    return CampaignsMade(made, campaigns, variants, years)
