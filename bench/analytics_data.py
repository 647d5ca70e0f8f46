"""The data of bench.analytics (issue 15): staff in departments, clients with a
Pareto-like skew of what they buy, products (most with a cost), two years of orders
and their lines ending at :data:`NOW`, closed deals, done activities and inbound
requests — written in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL, through
the tortoise connection), never an ORM object per row for the big tables.

:func:`populate` is also what tests/test_bench_analytics.py runs at a toy size."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

NOW = datetime(2026, 6, 10, 7, tzinfo=UTC)  # the pinned "now" of the tests
DAYS = 730  # the history: two years up to NOW
BATCH = 10_000
CENT = Decimal("0.01")
FOREIGN = {"USD": Decimal("88.5"), "EUR": Decimal("96.2")}  # their rates drift around


@dataclass
class Sizes:
    clients: int
    departments: int
    per_department: int  # a head and managers
    lines: int
    products: int
    deals: int
    activities: int

    @property
    def staff(self) -> int:
        return self.departments * self.per_department


FULL = Sizes(clients=10_000, departments=25, per_department=20, lines=1_000_000,
             products=3000, deals=40_000, activities=150_000)
QUICK = Sizes(clients=1000, departments=5, per_department=10, lines=100_000,
              products=500, deals=4000, activities=15_000)
TOY = Sizes(clients=30, departments=2, per_department=3, lines=1500, products=20,
            deals=60, activities=200)


@dataclass
class Made:
    admin: object
    heads: list = field(default_factory=list)
    managers: list = field(default_factory=list)  # every staff member who sells
    departments: list = field(default_factory=list)
    orders: int = 0
    lines: int = 0


async def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows straight into a table: COPY on PostgreSQL, executemany on SQLite (Decimal
    and datetime adapted as tortoise stores them)."""
    from tortoise import connections

    if not rows:
        return
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    await conn.execute_many(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)


async def fix_sequences(tables: tuple[str, ...]) -> None:
    """PostgreSQL: the id sequences past the ids written by hand."""
    from tortoise import connections

    conn = connections.get("default")
    if conn.capabilities.dialect != "postgres":
        return
    for table in tables:
        await conn.execute_script(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1));")


async def _staff(sizes: Sizes, made: Made) -> None:
    from models import Department, Role, User
    from models.staff import staff_search_text

    made.admin = await User.create(telegram_id=1, full_name="Администратор",
                                   role=Role.ADMIN, timezone="Europe/Moscow")
    made.departments = [await Department.create(name=f"Отдел продаж {d + 1}")
                        for d in range(sizes.departments)]
    people = []
    for d, dept in enumerate(made.departments):
        for k in range(sizes.per_department):
            role = Role.HEAD if k == 0 else Role.MANAGER
            who = User(telegram_id=1000 + d * 1000 + k, full_name=f"Сотрудник {d + 1}-{k + 1}",
                       role=role, department_id=dept.id, timezone="Europe/Moscow")
            who.search_text = staff_search_text(who)
            people.append(who)
    await User.bulk_create(people, batch_size=BATCH)
    made.managers = await User.filter(role__in=(Role.HEAD, Role.MANAGER)).order_by("id")
    made.heads = [u for u in made.managers if u.role == Role.HEAD]


async def _clients(sizes: Sizes, made: Made, rnd: random.Random) -> tuple[list, list]:
    """The clients, each with a primary manager; returns (cumulative weights, owner of
    each client) — a Pareto weight, so a fifth of the clients buy most."""
    from models import Client, ClientManager

    start = NOW - timedelta(days=DAYS + 30)
    await Client.bulk_create([
        Client(id=i, name=f"Клиент {i}", search_text=f"клиент {i}", created_at=start,
               updated_at=start) for i in range(1, sizes.clients + 1)], batch_size=BATCH)
    owners = [made.managers[rnd.randrange(len(made.managers))].id
              for _ in range(sizes.clients)]
    await ClientManager.bulk_create([
        ClientManager(client_id=i + 1, user_id=owners[i], is_primary=True, assigned_at=start)
        for i in range(sizes.clients)], batch_size=BATCH)
    weights, acc = [], 0.0
    for _ in range(sizes.clients):
        acc += rnd.paretovariate(1.16)
        weights.append(acc)
    return weights, owners


async def _products(sizes: Sizes, rnd: random.Random) -> list[tuple]:
    from models import Product

    out = []
    for i in range(1, sizes.products + 1):
        price = Decimal(round(rnd.lognormvariate(7, 1.1), 2)).quantize(CENT) + 1
        cost = (price * Decimal(rnd.uniform(0.55, 0.9))).quantize(CENT) \
            if rnd.random() < 0.75 else None
        out.append((i, f"Товар {i}", price, cost))
    await Product.bulk_create([Product(id=i, name=name, code=f"P-{i}", cost_price=cost,
                                       search_text=f"товар {i} p-{i}")
                               for i, name, _price, cost in out], batch_size=BATCH)
    return out


async def _rates() -> None:
    from models import CurrencyRate

    first = (NOW - timedelta(days=DAYS + 5)).date()
    rows = []
    for n in range(DAYS + 6):
        day = first + timedelta(days=n)
        if day.weekday() >= 5:
            continue  # no rates on weekends: Friday's is used
        for code, base in FOREIGN.items():
            rows.append(CurrencyRate(dated=day, currency=code, base="RUB", source="cbr",
                                     rate=(base * Decimal(1 + 0.1 * ((n % 97) / 97 - 0.5))
                                           ).quantize(Decimal("0.000001"))))
    await CurrencyRate.bulk_create(rows, batch_size=BATCH)


ORDER_COLS = ("id", "number", "client_id", "owner_id", "state", "currency", "vat_included",
              "subtotal", "discount_total", "vat_total", "total", "posted_at", "shipped_at",
              "closed_at", "cancelled_at", "version", "created_at", "updated_at")
LINE_COLS = ("id", "order_id", "position", "product_id", "name", "unit", "quantity",
             "list_price", "price", "discount", "vat_rate", "amount", "vat_amount", "cost",
             "trace", "off_matrix")


async def _orders(sizes: Sizes, made: Made, weights: list, owners: list, products: list,
                  rnd: random.Random) -> None:
    """Orders of 1..25 lines (8 on average) until the lines are written: a client by
    its weight, owned by its manager, posted at a moment of the two years (a little
    more lately); the old ones closed, recent ones posted or shipped, a few cancelled
    or still drafts; 3 % in dollars or euros."""
    from tortoise.transactions import in_transaction

    order_id = line_id = 0
    orders: list[tuple] = []
    lines: list[tuple] = []
    clients = range(1, sizes.clients + 1)
    seconds = DAYS * 86400
    while line_id < sizes.lines:
        order_id += 1
        client = rnd.choices(clients, cum_weights=weights)[0]
        age = int(seconds * (1 - rnd.random() ** 0.85))  # a little more lately
        posted = NOW - timedelta(seconds=age + 60)
        fate = rnd.random()
        state = "cancelled" if fate < 0.03 else "draft" if fate < 0.05 else \
            "closed" if age > 45 * 86400 else "shipped" if fate < 0.6 else "posted"
        cur = "RUB" if rnd.random() < 0.97 else rnd.choice(tuple(FOREIGN))
        n_lines = min(25, 1 + int(rnd.expovariate(1 / 7)), sizes.lines - line_id)
        total = Decimal(0)
        for pos in range(n_lines):
            line_id += 1
            pid, name, price, cost = products[rnd.randrange(len(products))]
            qty = Decimal(rnd.choice((1, 1, 2, 3, 5, 10, 20, 50)))
            disc = Decimal(rnd.choice((0, 0, 0, 3, 5, 10)))
            unit = (price * (100 - disc) / 100).quantize(CENT)
            if cur != "RUB":
                unit = (unit / FOREIGN[cur]).quantize(CENT) + CENT
            amount = (unit * qty).quantize(CENT)
            total += amount
            lines.append((line_id, order_id, pos, pid, name, "шт", qty, price, unit, disc,
                          Decimal(20), amount, (amount * 20 / 120).quantize(CENT),
                          None if cost is None else (cost * qty).quantize(CENT), "[]",
                          False))
        drafted = posted - timedelta(hours=rnd.randint(1, 72))
        orders.append((
            order_id, f"Б-{order_id:07d}", client, owners[client - 1], state, cur, True,
            total, Decimal(0), (total * 20 / 120).quantize(CENT), total,
            None if state == "draft" else posted,
            posted + timedelta(days=2) if state in ("shipped", "closed") else None,
            posted + timedelta(days=30) if state == "closed" else None,
            posted + timedelta(days=1) if state == "cancelled" else None,
            3, drafted, posted))
        if len(lines) >= BATCH:
            async with in_transaction():
                await insert_rows("sales_order", ORDER_COLS, orders)
                await insert_rows("order_line", LINE_COLS, lines)
            orders, lines = [], []
    async with in_transaction():
        await insert_rows("sales_order", ORDER_COLS, orders)
        await insert_rows("order_line", LINE_COLS, lines)
    made.orders, made.lines = order_id, line_id


async def _deals(sizes: Sizes, owners: list, rnd: random.Random) -> None:
    """Deals of the seeded sale process, closed won or lost over the two years (a few
    still open)."""
    from models import Deal
    from services import deals as svc

    sale = next(p for p in await svc.process_types() if p.code == "sale")
    stages = await svc.stages_of(sale.id)
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    opened = [s for s in stages if s.kind == "open"]
    rows = []
    for i in range(1, sizes.deals + 1):
        client = rnd.randint(1, sizes.clients)
        made_at = NOW - timedelta(minutes=rnd.randrange(60, DAYS * 1440))
        end = rnd.random()
        stage = won if end < 0.4 else lost if end < 0.85 else rnd.choice(opened)
        closed = min(NOW - timedelta(minutes=1), made_at + timedelta(days=rnd.randint(1, 60))) \
            if stage.kind != "open" else None
        rows.append(Deal(id=i, title=f"Сделка {i}", client_id=client, process_id=sale.id,
                         stage_id=stage.id, owner_id=owners[client - 1],
                         amount=rnd.choice((None, Decimal(50_000), Decimal(250_000),
                                            Decimal(1_200_000))),
                         currency="RUB", closed_at=closed, created_at=made_at,
                         updated_at=closed or made_at, version=3))
    await Deal.bulk_create(rows, batch_size=BATCH)


ACT_COLS = ("id", "kind", "title", "priority", "state", "starts_at", "all_day", "timezone",
            "percent", "exdates", "reminder_leads", "done_at", "source", "author_id",
            "client_id", "type_id", "created_at", "updated_at")


async def _activities(sizes: Sizes, made: Made, weights: list, owners: list,
                      rnd: random.Random) -> None:
    """Done calls, meetings, letters… (each with its author as the assignee), one in
    ten an inbound request that a call of the same manager answers within hours."""
    from tortoise.transactions import in_transaction

    from models import ActivityType
    from services.activities import ensure_activity_types

    await ensure_activity_types()
    types = dict(await ActivityType.exclude(code=None).values_list("code", "id"))
    common = [types[c] for c in ("call", "meeting", "email", "visit", "task")]
    clients = range(1, sizes.clients + 1)
    acts, assignees = [], []
    n = 0
    while n < sizes.activities:
        client = rnd.choices(clients, cum_weights=weights)[0]
        who = owners[client - 1]
        at = NOW - timedelta(minutes=rnd.randrange(60, DAYS * 1440))
        inbound = rnd.random() < 0.1
        pair = [(types["inbound_request"], at)] if inbound else []
        if not inbound or rnd.random() < 0.8:
            pair.append((rnd.choice(common),
                         at + timedelta(minutes=rnd.randint(5, 600) if inbound else 0)))
        for type_id, moment in pair:
            n += 1
            acts.append((n, "event", "Дело", "normal", "done", moment, False,
                         "Europe/Moscow", 100, "[]", "[]", moment + timedelta(minutes=30),
                         "bench", who, client, type_id, moment, moment))
            assignees.append((n, n, who, moment))
        if len(acts) >= BATCH:
            async with in_transaction():
                await insert_rows("activity", ACT_COLS, acts)
                await insert_rows("activity_assignee", ("id", "activity_id", "user_id",
                                                        "added_at"), assignees)
            acts, assignees = [], []
    async with in_transaction():
        await insert_rows("activity", ACT_COLS, acts)
        await insert_rows("activity_assignee", ("id", "activity_id", "user_id", "added_at"),
                          assignees)


async def populate(sizes: Sizes, seed: int = 15) -> Made:
    """Everything of :class:`Sizes`, then the statistics the planners use."""
    from tortoise import connections

    rnd = random.Random(seed)
    made = Made(admin=None)
    await _staff(sizes, made)
    weights, owners = await _clients(sizes, made, rnd)
    products = await _products(sizes, rnd)
    await _rates()
    await _orders(sizes, made, weights, owners, products, rnd)
    await _deals(sizes, owners, rnd)
    await _activities(sizes, made, weights, owners, rnd)
    await fix_sequences(("client", "client_manager", "product", "sales_order", "order_line",
                         "deal", "activity", "activity_assignee", "staff_user"))
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        for table in ("sales_order", "order_line", "client", "client_manager", "deal",
                      "activity", "activity_assignee", "staff_user", "product"):
            await conn.execute_script(f"VACUUM ANALYZE {table}")  # one statement each
        try:  # the load's dirty pages written now, not during the timed runs
            await conn.execute_script("CHECKPOINT")
        except Exception:  # noqa: BLE001 - not a superuser: the runs share the flush
            pass
    else:
        await conn.execute_script("ANALYZE;")
    return made


def month_start(months_ago: int) -> date:
    """The first day of the month ``months_ago`` months before NOW's."""
    year, month = divmod(NOW.year * 12 + NOW.month - 1 - months_ago, 12)
    return date(year, month + 1, 1)
