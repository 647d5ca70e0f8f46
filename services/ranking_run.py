"""A ranking run (K-8): the classes of services.ranking written, the clients moved
between the "ABC" classifier's groups with a history line each, and a task for the
manager of each client that dropped out of A. The rules are in services.ranking."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from tortoise.transactions import in_transaction

from models import (
    ClassifierKind,
    ClassifierNode,
    Client,
    ClientClassification,
    ClientRank,
    Setting,
    User,
)
from services.clock import utcnow
from services.errors import N_
from services.ranking import CLASSES, Rank, check_runner, compute_now, next_morning, per_class

log = logging.getLogger("kontakt.ranking")
CENT = Decimal("0.01")
NODES_KEY = "ranking.nodes"
LAST_RUN_KEY = "ranking.last_run"
ROOT_NAME = N_("ABC classes")
GROUP_NAMES = {"A": N_("Class A"), "B": N_("Class B"), "C": N_("Class C")}
_lock = asyncio.Lock()


@dataclass
class RunReport:
    ranked: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    moved: int = 0
    dropped: list[int] = field(default_factory=list)  # clients out of A
    tasks: list[int] = field(default_factory=list)     # activities made
    missing: list[str] = field(default_factory=list)   # currencies without a rate
    at: str = ""

    def as_dict(self) -> dict:
        return {"ranked": self.ranked, "classes": self.classes, "moved": self.moved,
                "dropped": len(self.dropped), "tasks": len(self.tasks),
                "missing": self.missing, "at": self.at}


async def abc_nodes(lang: str) -> dict[str, int]:
    """The ids of the classifier "ABC" and its groups A, B, C (made when missing)."""
    from kontakt.i18n import translator

    _ = translator(lang)
    row = await Setting.get_or_none(key=NODES_KEY)
    ids = dict(row.value) if row is not None and isinstance(row.value, dict) else {}
    known = set(await ClassifierNode.filter(
        id__in=[int(v) for v in ids.values() if isinstance(v, int)]).values_list(
        "id", flat=True))
    changed = False
    if ids.get("root") not in known:
        last = await ClassifierNode.filter(parent_id=None).order_by("-sort_order").first()
        root = await ClassifierNode.create(name=_(ROOT_NAME), kind=ClassifierKind.MANUAL,
                                           sort_order=(last.sort_order + 1) if last else 0)
        ids, changed = {"root": root.id}, True
    for n, cls in enumerate(CLASSES):
        if ids.get(cls) not in known:
            node = await ClassifierNode.create(name=_(GROUP_NAMES[cls]), parent_id=ids["root"],
                                               kind=ClassifierKind.MANUAL, sort_order=n)
            ids[cls], changed = node.id, True
    if changed:
        await Setting.update_or_create(key=NODES_KEY, defaults={"value": ids})
    return {c: ids[c] for c in ("root", *CLASSES)}


async def run(actor: User | None = None, *, source: str = "system",
              lang: str = "ru") -> RunReport:
    """Rank every client and regroup them (an admin or a head on demand; the nightly
    job with no actor)."""
    check_runner(actor)
    async with _lock:
        return await _run(actor, source, str(actor.language) if actor else lang)


async def _run(actor: User | None, source: str, lang: str) -> RunReport:
    now = utcnow()
    ranks, missing = await compute_now(now)
    nodes = await abc_nodes(lang)
    group_of = {nodes[c]: c for c in CLASSES}
    new = {r.client_id: r for r in ranks}
    previous = {c: (abc, at) for c, abc, at in await ClientRank.all().values_list(
        "client_id", "abc", "computed_at")}
    report = RunReport(ranked=len(ranks), classes=per_class(ranks), missing=missing,
                       at=now.isoformat())
    by = actor.id if actor else None
    audit: list[tuple] = []  # the history lines, written in one go below
    drops: list[tuple[int, str]] = []  # client, claim key
    for client_id in sorted(set(previous) | set(new)):
        old_cls = previous.get(client_id, (None, None))[0]
        new_cls = new[client_id].abc if client_id in new else None
        if old_cls == new_cls:
            continue
        report.moved += 1
        audit.append((by, source, "client", client_id, client_id, "update", "abc", old_cls,
                      new_cls, now))
        if old_cls == "A":
            report.dropped.append(client_id)
            drops.append((client_id, f"{client_id}:{previous[client_id][1].isoformat()}"))
    async with in_transaction() as conn:
        await ClientRank.all().delete()
        await _insert(conn, "client_rank", RANK_COLUMNS, [_row(r, now) for r in ranks])
        # the groups: each ranked client in its class's group, nobody else there
        current = {(c, n) for c, n in await ClientClassification.filter(
            node_id__in=list(group_of)).values_list("client_id", "node_id")}
        wanted = {(r.client_id, nodes[r.abc]) for r in ranks}
        leaving: dict[int, list[int]] = {}
        for client_id, node_id in current - wanted:
            leaving.setdefault(node_id, []).append(client_id)
        for node_id, clients in leaving.items():  # a query per group and thousand
            for i in range(0, len(clients), 1000):
                await ClientClassification.filter(node_id=node_id,
                                                  client_id__in=clients[i:i + 1000]).delete()
        await _insert(conn, "client_classification", ("client_id", "node_id", "added_at"),
                      [(c, n, now) for c, n in sorted(wanted - current)])
        await _insert(conn, "audit_log", AUDIT_COLUMNS, audit)
        await Setting.update_or_create(key=LAST_RUN_KEY, defaults={"value": report.as_dict()})
    for client_id, key in drops:
        made = await _drop_task(client_id, new.get(client_id), key)
        if made is not None:
            report.tasks.append(made)
    if report.tasks:
        await Setting.filter(key=LAST_RUN_KEY).update(value=report.as_dict())
    log.info("ranking: %d clients, %d moved, %d out of A", report.ranked, report.moved,
             len(report.dropped))
    return report


RANK_COLUMNS = ("client_id", "abc", "xyz", "recency", "frequency", "monetary", "segment",
                "revenue", "margin", "share", "cv", "orders", "last_order_at", "computed_at")
AUDIT_COLUMNS = ("user_id", "source", "entity", "object_id", "client_id", "action", "field",
                 "old_value", "new_value", "at")


def _row(r: Rank, now) -> tuple:
    """A ``ClientRank`` row as :data:`RANK_COLUMNS`."""
    return (r.client_id, r.abc, r.xyz, r.recency, r.frequency, r.monetary, r.segment,
            r.revenue.quantize(CENT), r.margin.quantize(CENT), r.share, r.cv, r.orders,
            r.last, now)


async def _insert(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows in one ``COPY`` on PostgreSQL, one ``executemany`` on SQLite (a model
    object per row costs seconds for 10,000 clients; the values are those the models
    would write)."""
    if not rows:
        return
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    marks = ", ".join("?" if conn.capabilities.dialect == "sqlite" else f"${n}"
                      for n in range(1, len(columns) + 1))
    names = ", ".join(f'"{c}"' for c in columns)
    await conn.execute_many(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)


async def _drop_task(client_id: int, rank: Rank | None, key: str) -> int | None:
    """A task for the client's main manager: it dropped out of A (once per drop)."""
    from kontakt.i18n import translator
    from services.activities import do_create_activity
    from services.activities.organizer import claim_once
    from services.ledger_sql import MAIN_MANAGER, rows

    found = await rows("SELECT " + MAIN_MANAGER.format(col=int(client_id)) + " AS u")
    manager_id = found[0]["u"] if found else None
    client = await Client.get_or_none(id=client_id)
    manager = await User.get_or_none(id=manager_id) if manager_id else None
    if client is None or manager is None or not manager.is_active:
        return None
    if not await claim_once("abc_drop", manager.id, key[:64]):
        return None
    _ = translator(str(manager.language))
    now_cls = rank.abc if rank else "—"
    title = _(N_("«{client}» dropped out of class A (now {cls})")).format(
        client=client.name, cls=now_cls)
    goal = _(N_("Find out why the client buys less and agree on the next order"))
    made = await do_create_activity(manager, {
        "type": "task", "title": title[:300], "goal": goal, "client_id": client.id,
        "priority": "high", "starts_at": next_morning(manager.timezone).isoformat(),
        "assignees": [manager.id]}, source="trigger", check_assignees=False)
    return made.activity.id


async def last_run() -> dict | None:
    row = await Setting.get_or_none(key=LAST_RUN_KEY)
    return row.value if row is not None and isinstance(row.value, dict) else None


async def nightly(lang: str = "ru") -> RunReport:
    """The scheduler's job: the whole ranking, as the system."""
    return await run(None, source="system", lang=lang)
