"""Pricing and posting (issue 13): 20,000 products in 200 categories, 10 price lists with
5,000 rules between them, 200 discount groups (2,000 products, 1,000 rules and 40
groups with --quick), on SQLite and (with --postgres) on a scratch PostgreSQL database.
Through the services:

* ``order_price_p95_ms``: :func:`services.pricing.price_lines` for a 50-line order of a
  client with a discount group and an individual discount (the context made once per
  order, as services.orders does), 100 orders;
* ``price_query_p95_ms``: :func:`services.pricing.price_of`, one product for one client
  (the context made each time, as /price does), 200 times;
* ``post_order_p95_ms``: :func:`services.orders.do_post` of a 50-line draft (its stock
  reserved by conditional updates), 50 orders;
* ``lines_per_s``: order lines priced per second in the 50-line orders;
* ``baseline_ms``: a bare select of the order's 50 products by id in the same run.

    python -m bench.pricing [--quick] [--postgres URL]

Last line: {"order_price_p95_ms", "price_query_p95_ms", "post_order_p95_ms",
"lines_per_s" (each the worse backend), "baseline_ms"}; each backend's figures and
medians go to stderr.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import date
from decimal import Decimal

from bench.common import on_both_backends, pct

BATCH = 2000
DAY = date(2026, 6, 10)



async def populate(n_products: int, n_rules: int, n_groups: int) -> dict:
    from tortoise.transactions import in_transaction

    from models import (
        Client,
        ClientTerms,
        DiscountGroup,
        DiscountRate,
        ListPrice,
        PriceList,
        PriceRule,
        Product,
        ProductCategory,
        ProductKind,
        Role,
        StockLevel,
        User,
        Warehouse,
    )

    rnd = random.Random(13)
    owner = await User.create(telegram_id=100, full_name="Менеджер", role=Role.ADMIN,
                              timezone="Europe/Moscow")
    roots = [await ProductCategory.create(name=f"Группа {k}") for k in range(20)]
    cats = roots + [await ProductCategory.create(name=f"Подгруппа {k}",
                                                 parent=roots[k % 20]) for k in range(180)]
    kinds = [await ProductKind.create(name=f"Вид {k}") for k in range(20)]
    lists = [await PriceList.create(name=f"Прайс {k}", is_default=k == 0) for k in range(10)]
    for k in range(1, 10):
        lists[k].base_list_id = lists[0].id
        await lists[k].save()
    store = await Warehouse.create(name="Основной", is_default=True)
    for start in range(0, n_products, BATCH):
        rows = [Product(id=i + 1, name=f"Товар {i}", code=f"A-{i}",
                        group_id=cats[i % len(cats)].id, kind_id=kinds[i % 20].id,
                        cost_price=Decimal(rnd.randint(50, 5000)), vat_rate=Decimal(20),
                        search_text=f"товар {i} a {i}")
                for i in range(start, min(n_products, start + BATCH))]
        async with in_transaction():
            await Product.bulk_create(rows, batch_size=BATCH)
            await ListPrice.bulk_create([
                ListPrice(price_list_id=lists[0].id, product_id=p.id,
                          price=(p.cost_price * Decimal("1.4")).quantize(Decimal("0.01")))
                for p in rows], batch_size=BATCH)
            await ListPrice.bulk_create([
                ListPrice(price_list_id=lists[1 + p.id % 9].id, product_id=p.id,
                          price=(p.cost_price * Decimal("1.25")).quantize(Decimal("0.01")))
                for p in rows if p.id % 3 == 0], batch_size=BATCH)
            await StockLevel.bulk_create([
                StockLevel(warehouse_id=store.id, product_id=p.id, on_hand=Decimal(10**6))
                for p in rows], batch_size=BATCH)
    rules = []
    for r in range(n_rules):
        scope = rnd.random()
        rules.append(PriceRule(
            price_list_id=lists[r % 10].id, position=r // 10, name=f"Правило {r}",
            product_id=rnd.randint(1, n_products) if scope < 0.6 else None,
            category_id=cats[rnd.randrange(len(cats))].id if 0.6 <= scope < 0.95 else None,
            min_qty=Decimal(rnd.choice([1, 5, 10, 50, 100])) if rnd.random() < 0.5 else None,
            method=rnd.choice(["discount", "markup"]), value=Decimal(rnd.randint(1, 15)),
            rounding=Decimal("1.00") if rnd.random() < 0.3 else None,
            min_margin=Decimal(5) if rnd.random() < 0.2 else None))
    await PriceRule.bulk_create(rules, batch_size=BATCH)
    groups = [await DiscountGroup.create(name=f"Группа скидок {g}",
                                         combine="chain" if g % 2 else "best")
              for g in range(n_groups)]
    await DiscountRate.bulk_create([
        DiscountRate(group_id=g.id, kind_id=kinds[k].id, percent=Decimal(rnd.randint(1, 12)))
        for g in groups for k in range(0, 20, 2)] + [
        DiscountRate(group_id=g.id, kind_id=None, percent=Decimal(2)) for g in groups],
        batch_size=BATCH)
    clients = []
    for c in range(20):
        client = await Client.create(name=f"Клиент {c}", search_text=f"клиент {c}",
                                     created_by=owner)
        await ClientTerms.create(client=client, price_list=lists[c % 10],
                                 discount_group=groups[c % len(groups)],
                                 discount=Decimal(3))
        clients.append(client)
    return {"owner": owner, "clients": clients, "store": store}


async def run_backend(url: str, _dialect: str, quick: bool) -> dict:
    from tortoise import connections

    from kontakt import db as kdb
    from models import ClientManager
    from services import orders, pricing

    n_products, n_rules, n_groups = (2000, 1000, 40) if quick else (20_000, 5000, 200)
    await kdb.init_db(url)
    await kdb.migrate(url)
    t0 = time.perf_counter()
    made = await populate(n_products, n_rules, n_groups)
    load_s = time.perf_counter() - t0
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        for table in ("product", "list_price", "price_rule", "stock_level"):
            await conn.execute_script(f"VACUUM ANALYZE {table}")
    else:
        await conn.execute_script("ANALYZE;")
    owner, clients = made["owner"], made["clients"]
    for client in clients:
        await ClientManager.create(client=client, user=owner, is_primary=True)
    rnd = random.Random(7)

    def order_lines() -> list[tuple[int, Decimal]]:
        return [(rnd.randint(1, n_products), Decimal(rnd.choice([1, 2, 5, 10, 60, 120])))
                for _ in range(50)]

    order_ms, lines_priced, priced_s = [], 0, 0.0
    for k in range(100):
        wanted = order_lines()
        t = time.perf_counter()
        ctx = await pricing.context_for(clients[k % 20].id, DAY)
        lines = await pricing.price_lines(ctx, wanted)
        spent = time.perf_counter() - t
        order_ms.append(spent * 1000)
        lines_priced += len(lines)
        priced_s += spent

    one_ms = []
    for k in range(200):
        t = time.perf_counter()
        await pricing.price_of(clients[k % 20].id, rnd.randint(1, n_products),
                               Decimal(rnd.choice([1, 10, 100])), DAY)
        one_ms.append((time.perf_counter() - t) * 1000)

    post_ms = []
    for k in range(50):
        order = await orders.do_create_order(owner, {"client_id": clients[k % 20].id})
        seen: set[int] = set()
        lines = []
        for pid, qty in order_lines():
            if pid not in seen:
                seen.add(pid)
                lines.append({"product_id": pid, "quantity": str(qty)})
        await orders.do_set_lines(owner, order.id, lines)
        t = time.perf_counter()
        await orders.do_post(owner, order.id)
        post_ms.append((time.perf_counter() - t) * 1000)

    ids = [rnd.randint(1, n_products) for _ in range(50)]
    marks = ",".join("?" if dialect == "sqlite" else f"${n + 1}" for n in range(50))
    base = []
    for _ in range(100):
        t = time.perf_counter()
        await conn.execute_query(f"SELECT id, name, cost_price FROM product WHERE id IN "
                                 f"({marks})", ids)
        base.append((time.perf_counter() - t) * 1000)
    await kdb.close_db()
    return {
        "products": n_products, "rules": n_rules, "groups": n_groups,
        "load_s": round(load_s, 1),
        "order_price_p95_ms": round(pct(order_ms, 95), 2),
        "order_price_p50_ms": round(statistics.median(order_ms), 2),
        "price_query_p95_ms": round(pct(one_ms, 95), 2),
        "price_query_p50_ms": round(statistics.median(one_ms), 2),
        "post_order_p95_ms": round(pct(post_ms, 95), 2),
        "post_order_p50_ms": round(statistics.median(post_ms), 2),
        "lines_per_s": round(lines_priced / priced_s),
        "baseline_ms": round(statistics.median(base), 3),
    }


async def main() -> None:
    await on_both_backends(
        run_backend, highest=("order_price_p95_ms", "price_query_p95_ms",
                              "post_order_p95_ms"), lowest=("lines_per_s",))


if __name__ == "__main__":
    asyncio.run(main())
