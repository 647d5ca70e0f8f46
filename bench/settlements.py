"""Settlements (issue 14): one order's credit check, the whole company's aging report and
a 5,000-line bank statement's import, over 10,000 clients with 1,000,000 ledger entries
(1,000 and 100,000 with --quick), on SQLite and (with --postgres) on a scratch
PostgreSQL database.

The ledger is written in bulk: 5 departments of 10 managers; each client has a legal
entity with its INN; of the entries 60 % are invoices over the last two years (due 14
days later) and 40 % payments, each payment allocated to an invoice of its client (so
most old invoices are paid and recent ones open). Then, through the services:

* ``credit_check_p95_ms``: :func:`services.credit.check` of a posted-size order for a
  client with a limit, 100 times over clients;
* ``aging_report_s``: :func:`services.ledger_reports.aging` of the whole company (as an
  admin) by client, the median of 3;
* ``statement_import_s``: :func:`services.bank_import.do_import_statement` of a
  1CClientBankExchange statement of 5,000 incoming payments from the clients, each
  naming an invoice (each becomes a payment allocated in the ledger);
* ``baseline_ms``: a bare ``SELECT id FROM client WHERE id = ?`` in the same run.

    python -m bench.settlements [--quick] [--postgres URL]

Last line: {"credit_check_p95_ms", "aging_report_s", "statement_import_s" (each the worse
backend), "baseline_ms"}; each backend's figures and medians go to stderr.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

from bench.common import on_both_backends, pct

BATCH = 5000
TODAY = date(2026, 6, 10)
OURS = "40702810900000012345"


def inn_of(k: int) -> str:
    return f"77{k:08d}"


async def populate(n_clients: int, n_entries: int) -> dict:
    from tortoise.transactions import in_transaction

    from models import (
        Allocation,
        Client,
        ClientManager,
        Department,
        EntryKind,
        LedgerEntry,
        LegalEntity,
        OwnEntity,
        Role,
        User,
    )

    rnd = random.Random(14)
    admin = await User.create(telegram_id=1, full_name="Админ", role=Role.ADMIN,
                              timezone="Europe/Moscow")
    managers = []
    for d in range(5):
        dept = await Department.create(name=f"Отдел {d}")
        for m in range(10):
            managers.append(await User.create(
                telegram_id=100 + d * 10 + m, full_name=f"Менеджер {d}-{m}",
                role=Role.MANAGER, department=dept, timezone="Europe/Moscow"))
    ours = await OwnEntity.create(name="ООО «Контакт»", inn="7728168971", account=OURS,
                                  is_default=True)
    for start in range(0, n_clients, BATCH):
        ids = range(start + 1, min(n_clients, start + BATCH) + 1)
        async with in_transaction():
            await Client.bulk_create([Client(id=k, name=f"Клиент {k}",
                                             search_text=f"клиент {k}", created_by=admin)
                                      for k in ids], batch_size=BATCH)
            await LegalEntity.bulk_create([LegalEntity(id=k, client_id=k, inn=inn_of(k),
                                                       name=f"ООО «Клиент {k}»",
                                                       is_primary=True)
                                           for k in ids], batch_size=BATCH)
            await ClientManager.bulk_create([ClientManager(
                client_id=k, user_id=managers[k % len(managers)].id, is_primary=True)
                for k in ids], batch_size=BATCH)
    n_invoices = n_entries * 6 // 10
    n_payments = n_entries - n_invoices
    span = 730
    entry_id = 0
    invoices: list[tuple[int, int, Decimal, date]] = []  # id, client, amount, dated
    rows = []
    for _ in range(n_invoices):
        entry_id += 1
        client = rnd.randint(1, n_clients)
        dated = TODAY - timedelta(days=rnd.randint(0, span))
        amount = Decimal(rnd.randint(1000, 200_000))
        rows.append(LedgerEntry(id=entry_id, client_id=client, legal_entity_id=client,
                                own_entity_id=ours.id, currency="RUB",
                                kind=EntryKind.INVOICE, dated=dated, amount=amount,
                                due=dated + timedelta(days=14), number=f"{entry_id:06d}"))
        invoices.append((entry_id, client, amount, dated))
    for start in range(0, len(rows), BATCH):
        await LedgerEntry.bulk_create(rows[start:start + BATCH], batch_size=BATCH)
    # payments: the older an invoice, the likelier it is paid (in full)
    invoices.sort(key=lambda i: i[3])
    payments, allocations = [], []
    for n in range(n_payments):
        inv_id, client, amount, dated = invoices[n]
        entry_id += 1
        paid_on = min(TODAY, dated + timedelta(days=rnd.randint(1, 40)))
        payments.append(LedgerEntry(id=entry_id, client_id=client, legal_entity_id=client,
                                    own_entity_id=ours.id, currency="RUB",
                                    kind=EntryKind.PAYMENT, dated=paid_on, amount=amount,
                                    number=str(n)))
        allocations.append(Allocation(credit_id=entry_id, debit_id=inv_id, amount=amount))
    for start in range(0, len(payments), BATCH):
        await LedgerEntry.bulk_create(payments[start:start + BATCH], batch_size=BATCH)
        await Allocation.bulk_create(allocations[start:start + BATCH], batch_size=BATCH)
    open_invoices = invoices[n_payments:]
    return {"admin": admin, "open": open_invoices, "n_clients": n_clients}


def statement(open_invoices: list, n_lines: int) -> bytes:
    """A 1CClientBankExchange file (cp1251) of incoming payments paying open invoices."""
    rnd = random.Random(5)
    head = ["1CClientBankExchange", "ВерсияФормата=1.03", "Кодировка=Windows",
            "Отправитель=Банк", "Получатель=Бухгалтерия", "ДатаНачала=01.06.2026",
            f"ДатаКонца={TODAY:%d.%m.%Y}", f"РасчСчет={OURS}", "СекцияРасчСчет",
            "ДатаНачала=01.06.2026", f"ДатаКонца={TODAY:%d.%m.%Y}", f"РасчСчет={OURS}",
            "КонецРасчСчет"]
    body = []
    for n, (inv_id, client, amount, _dated) in enumerate(rnd.sample(open_invoices,
                                                                   n_lines)):
        part = (amount / 2).quantize(Decimal("0.01"))
        body += ["СекцияДокумент=Платежное поручение", f"Номер={n + 1}",
                 f"Дата={TODAY:%d.%m.%Y}", f"Сумма={part}",
                 f"ПлательщикСчет=407028101000{client:08d}",
                 f"ПлательщикИНН={inn_of(client)}", f"Плательщик1=ООО «Клиент {client}»",
                 f"ПолучательСчет={OURS}", f"ДатаПоступило={TODAY:%d.%m.%Y}",
                 "ПолучательИНН=7728168971",
                 f"НазначениеПлатежа=Оплата по счету № {inv_id:06d} за товар",
                 "КонецДокумента"]
    return "\r\n".join(head + body + ["КонецФайла", ""]).encode("cp1251")


async def run_backend(url: str, _dialect: str, quick: bool) -> dict:
    from tortoise import connections

    from kontakt import db as kdb
    from models import Client, CreditLimit, Order, OrderState
    from services import bank_import, ledger_reports

    n_clients, n_entries = (1000, 100_000) if quick else (10_000, 1_000_000)
    await kdb.init_db(url)
    await kdb.migrate(url)
    t0 = time.perf_counter()
    made = await populate(n_clients, n_entries)
    load_s = time.perf_counter() - t0
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        for table in ("ledger_entry", "client", "legal_entity"):  # written with their ids
            await conn.execute_script(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}));")
        for table in ("ledger_entry", "allocation", "client", "legal_entity"):
            await conn.execute_script(f"VACUUM ANALYZE {table}")
    else:
        await conn.execute_script("ANALYZE;")
    admin = made["admin"]
    rnd = random.Random(7)

    credit_ms: list[float] = []
    try:
        from services import credit
    except ImportError:  # the credit limits are not in this checkout yet
        credit = None
    if credit is not None:
        for k in range(100):
            client_id = rnd.randint(1, n_clients)
            await CreditLimit.get_or_create(client_id=client_id, defaults={
                "amount": Decimal(5_000_000), "currency": "RUB"})
            order = await Order.create(number=f"B{k:05d}", client_id=client_id,
                                       owner=admin, state=OrderState.DRAFT,
                                       total=Decimal(rnd.randint(1000, 100_000)))
            t = time.perf_counter()
            await credit.check(admin, order.id, TODAY)
            credit_ms.append((time.perf_counter() - t) * 1000)

    aging_s = []
    for _ in range(3):
        t = time.perf_counter()
        rows = await ledger_reports.aging(admin, TODAY, by="client")
        aging_s.append(time.perf_counter() - t)

    data = statement(made["open"], 5000)
    t = time.perf_counter()
    report = await bank_import.do_import_statement(admin, "kl_to_1c.txt", data)
    import_s = time.perf_counter() - t

    base = []
    for _ in range(300):
        k = rnd.randint(1, n_clients)
        t = time.perf_counter()
        await Client.filter(id=k).values_list("id", flat=True)
        base.append((time.perf_counter() - t) * 1000)
    await kdb.close_db()
    return {
        "clients": n_clients, "entries": n_entries, "load_s": round(load_s, 1),
        "credit_check_p95_ms": round(pct(credit_ms, 95), 2),
        "credit_check_p50_ms": round(statistics.median(credit_ms), 2) if credit_ms else 0,
        "aging_report_s": round(statistics.median(aging_s), 3),
        "aging_rows": len(rows),
        "statement_import_s": round(import_s, 2),
        "statement_matched": report.matched,
        "baseline_ms": round(statistics.median(base), 3),
    }


async def main() -> None:
    await on_both_backends(run_backend, highest=("credit_check_p95_ms", "aging_report_s",
                                                 "statement_import_s"))


if __name__ == "__main__":
    asyncio.run(main())
