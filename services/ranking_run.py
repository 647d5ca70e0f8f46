"""A ranking run (K-8): the classes of services.ranking written, the clients moved
between the "ABC" classifier's groups with a history line each, and a task for the
manager of each client that dropped out of A. The rules are in services.ranking."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models import (
    AuditLog,
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
    audit: list[AuditLog] = []
    drops: list[tuple[int, str]] = []  # client, claim key
    for client_id in sorted(set(previous) | set(new)):
        old_cls = previous.get(client_id, (None, None))[0]
        new_cls = new[client_id].abc if client_id in new else None
        if old_cls == new_cls:
            continue
        report.moved += 1
        audit.append(AuditLog(user_id=actor.id if actor else None, source=source,
                              entity="client", object_id=client_id, client_id=client_id,
                              action="update", field="abc", old_value=old_cls,
                              new_value=new_cls))
        if old_cls == "A":
            report.dropped.append(client_id)
            drops.append((client_id, f"{client_id}:{previous[client_id][1].isoformat()}"))
    async with in_transaction():
        await ClientRank.all().delete()
        await ClientRank.bulk_create([_row(r, now) for r in ranks], batch_size=1000)
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
        await ClientClassification.bulk_create(
            [ClientClassification(client_id=c, node_id=n) for c, n in wanted - current],
            batch_size=1000)
        await AuditLog.bulk_create(audit, batch_size=1000)
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


def _row(r: Rank, now) -> ClientRank:
    return ClientRank(client_id=r.client_id, abc=r.abc, xyz=r.xyz, recency=r.recency,
                      frequency=r.frequency, monetary=r.monetary, segment=r.segment,
                      revenue=r.revenue, margin=r.margin, share=r.share, cv=r.cv,
                      orders=r.orders, last_order_at=r.last, computed_at=now)


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
