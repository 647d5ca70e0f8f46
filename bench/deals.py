"""Deals (issue 12): the cohort funnel, a stage's page of the pipeline, the nightly
probability recompute and a managed stage move, over 100,000 deals with 1,000,000
stage events (10,000 and 100,000 with --quick), on SQLite and (with --postgres) on a
scratch PostgreSQL database.

The history is written in bulk: 5 departments of 10 managers, 5,000 clients, deals of
the seeded sale process that walk its stages (forward mostly, sometimes back) over two
years and end won, lost or still open. Then, through the services:

* ``funnel_p95_ms``: :func:`services.deal_stats.funnel` for a quarter and one department
  (as an admin), 30 times over quarters and departments;
* ``pipeline_page_p95_ms``: one stage's first page of a manager's deals
  (:func:`services.deal_lists.deal_page`), 100 times;
* ``probability_all_s``: :func:`services.deal_stats.recompute_all` once;
* ``stage_move_p95_ms``: :func:`services.deal_moves.do_move` into a managed stage whose
  playbook makes 3 tasks, 100 deals;
* ``baseline_ms``: a bare ``SELECT id FROM deal WHERE id = ?`` in the same run.

    python -m bench.deals [--quick] [--postgres URL]

Last line: {"funnel_p95_ms", "pipeline_page_p95_ms", "probability_all_s",
"stage_move_p95_ms" (each the worse backend), "baseline_ms"}; each backend's figures
and medians go to stderr.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.common import on_both_backends, pct

BATCH = 5000
START = datetime(2025, 1, 1, tzinfo=UTC)



async def populate(n_deals: int, n_events: int) -> dict:
    from tortoise.transactions import in_transaction

    from models import Client, ClientManager, Deal, DealEvent, Department, Role, User
    from services import deals as svc
    from services.clock import utcnow

    rnd = random.Random(5)
    now = utcnow()
    depts = [await Department.create(name=f"Отдел {k}") for k in range(5)]
    managers = [await User.create(telegram_id=1000 + k, full_name=f"Менеджер {k}",
                                  role=Role.MANAGER, department=depts[k % 5])
                for k in range(50)]
    clients = [Client(id=i + 1, name=f"Клиент {i}", search_text=f"клиент {i}",
                      created_at=now, updated_at=now) for i in range(5000)]
    await Client.bulk_create(clients, batch_size=BATCH)
    await ClientManager.bulk_create([
        ClientManager(client_id=i + 1, user_id=managers[i % 50].id, is_primary=True,
                      assigned_at=now) for i in range(5000)], batch_size=BATCH)
    sale = next(p for p in await svc.process_types() if p.code == "sale")
    stages = await svc.stages_of(sale.id)
    opened = [s for s in stages if s.kind == "open"]
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    per_deal = max(2, n_events // n_deals)
    event_id = 0
    for start in range(0, n_deals, BATCH):
        deals, events = [], []
        for i in range(start, min(n_deals, start + BATCH)):
            deal_id = i + 1
            at = START + timedelta(minutes=rnd.randrange(0, 60 * 24 * 600))
            steps = rnd.randint(per_deal - 3, per_deal + 3) if per_deal > 4 else per_deal
            pos, path = 0, [opened[0]]
            ending = rnd.random()
            for _ in range(steps - 2):
                pos = max(0, min(len(opened) - 1, pos + (1 if rnd.random() < 0.7 else -1)))
                path.append(opened[pos])
            path.append(won if ending < 0.35 else lost if ending < 0.7 else opened[pos])
            times = []
            for _ in path:
                times.append(at)
                at = at + timedelta(hours=rnd.randint(2, 24 * 12))
            closed = path[-1].kind != "open"
            owner = managers[rnd.randrange(50)]
            deals.append(Deal(
                id=deal_id, title=f"Сделка {deal_id}", client_id=rnd.randint(1, 5000),
                process_id=sale.id, stage_id=path[-1].id, owner_id=owner.id,
                amount=rnd.choice([None, 50_000, 250_000, 1_200_000, 15_000_000]),
                currency="RUB", version=len(path), closed_at=times[-1] if closed else None,
                created_at=times[0], updated_at=times[-1]))
            prev = None
            for seq, (stage, t) in enumerate(zip(path, times, strict=True), 1):
                event_id += 1
                events.append(DealEvent(id=event_id, deal_id=deal_id, seq=seq,
                                        from_stage_id=prev, to_stage_id=stage.id,
                                        user_id=owner.id, at=t, source="bench",
                                        process_id=sale.id, owner_id=owner.id,
                                        department_id=owner.department_id))
                prev = stage.id
        async with in_transaction():
            await Deal.bulk_create(deals, batch_size=BATCH)
            await DealEvent.bulk_create(events, batch_size=BATCH)
    return {"sale": sale, "stages": stages, "depts": depts, "managers": managers,
            "events": event_id}


async def managed_moves(managers, n: int) -> list[float]:
    """n deals of a managed process moved into a stage whose playbook makes 3 tasks."""
    from models import ActivityType, Playbook, PlaybookStep, Role, User
    from services import activities as acts
    from services import deal_moves, deal_processes
    from services import deals as svc
    from services.clock import utcnow

    admin = await User.create(telegram_id=1, full_name="Админ", role=Role.ADMIN)
    await acts.ensure_activity_types()
    call = await ActivityType.get(code="call")
    book = await Playbook.create(name="Три задачи")
    for k in range(3):
        await PlaybookStep.create(playbook=book, type=call, position=k, offset_days=k,
                                  title=f"Шаг {k + 1}")
    managed = await deal_processes.do_save_process(admin, None, {
        "name": "Управляемая продажа", "mode": "managed", "stages": [
            {"name": "Начало"}, {"name": "Предложение", "playbook_id": book.id},
            {"name": "Выиграна", "kind": "won"}, {"name": "Проиграна", "kind": "lost"}]})
    target = (await svc.stages_of(managed.id))[1]
    owner = managers[0]
    deals = [(await svc.do_create_deal(owner, {"client_id": 50 * k + 1,
                                               "process_id": managed.id})).deal
             for k in range(n)]
    del utcnow
    times = []
    for deal in deals:
        t = time.perf_counter()
        await deal_moves.do_move(owner, deal.id, target.id, source="bench")
        times.append((time.perf_counter() - t) * 1000)
    return times


async def run_backend(url: str, backend: str, quick: bool) -> dict:
    from tortoise import connections

    from kontakt import db as kdb
    from models import Role, User
    from services import deal_lists, deal_stats

    n_deals, n_events = (10_000, 100_000) if quick else (100_000, 1_000_000)
    await kdb.init_db(url)
    await kdb.migrate(url)
    t0 = time.perf_counter()
    made = await populate(n_deals, n_events)
    load_s = time.perf_counter() - t0
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        await conn.execute_script(
            "SELECT setval(pg_get_serial_sequence('deal', 'id'), (SELECT MAX(id) FROM deal));"
            "SELECT setval(pg_get_serial_sequence('deal_event', 'id'), "
            "(SELECT MAX(id) FROM deal_event));")
        for table in ("deal", "deal_event", "activity"):  # one statement: not in a block
            await conn.execute_script(f"VACUUM ANALYZE {table}")
    else:
        await conn.execute_script("ANALYZE;")
    admin = await User.create(telegram_id=2, full_name="Руководитель", role=Role.ADMIN)
    sale, stages, depts, managers = (made["sale"], made["stages"], made["depts"],
                                     made["managers"])

    funnel_ms = []
    for k in range(30):
        q_start = START + timedelta(days=91 * (k % 6))
        t = time.perf_counter()
        await deal_stats.funnel(admin, sale.id, q_start, q_start + timedelta(days=91),
                                department_id=depts[k % 5].id)
        funnel_ms.append((time.perf_counter() - t) * 1000)

    page_ms = []
    opened = [s for s in stages if s.kind == "open"]
    for k in range(100):
        t = time.perf_counter()
        await deal_lists.deal_page(managers[k % 50], deal_lists.DealFilters(
            process_id=sale.id, stage_id=opened[k % len(opened)].id, mine=True), page=1)
        page_ms.append((time.perf_counter() - t) * 1000)

    t = time.perf_counter()
    recomputed = await deal_stats.recompute_all()
    probability_s = time.perf_counter() - t

    move_ms = await managed_moves(managers, 100)

    placeholder = "?" if dialect == "sqlite" else "$1"
    rnd = random.Random(3)
    base = []
    for _ in range(300):
        t = time.perf_counter()
        await conn.execute_query(f"SELECT id FROM deal WHERE id={placeholder}",
                                 [rnd.randint(1, n_deals)])
        base.append((time.perf_counter() - t) * 1000)
    await kdb.close_db()
    return {
        "deals": n_deals, "events": made["events"], "load_s": round(load_s, 1),
        "funnel_p95_ms": round(pct(funnel_ms, 95), 2),
        "funnel_p50_ms": round(statistics.median(funnel_ms), 2),
        "pipeline_page_p95_ms": round(pct(page_ms, 95), 2),
        "pipeline_page_p50_ms": round(statistics.median(page_ms), 2),
        "probability_all_s": round(probability_s, 2), "open_deals": recomputed,
        "stage_move_p95_ms": round(pct(move_ms, 95), 2),
        "stage_move_p50_ms": round(statistics.median(move_ms), 2),
        "baseline_ms": round(statistics.median(base), 3),
    }


async def main() -> None:
    await on_both_backends(run_backend, highest=("funnel_p95_ms", "pipeline_page_p95_ms",
                                                 "probability_all_s", "stage_move_p95_ms"))


if __name__ == "__main__":
    asyncio.run(main())
