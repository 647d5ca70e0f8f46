"""Deal execution monitoring and claims (U-7). The rules:

* A stage may have a limit in days (the seeded execution: payment 5, delivery 10,
  closing documents 5). A deal that has stayed in such a stage longer is *overdue*
  there: :func:`due_escalations` hands each such stay to the notifier once (the stage
  entry's ``seq`` is kept on the deal, and a second replica finds it taken), for the
  owner and the owner's supervisor.
* Claims are deals of a claim process: about one of the client's deals (``parent``),
  maybe a product, with a deadline (the expected close), a responsible person (the
  owner), a resolution and whether it was our fault — both needed to close one.
  :func:`claim_stats` counts them per client or per product: how many, how many our
  fault, how many still open, the median days to close.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from tortoise import connections
from tortoise.expressions import F, Q

from models import Deal, DealEvent, ProcessKind, StaffStatus, Stage, StageKind, User
from services.clock import utcnow
from services.deal_stats import _aware, _narrow, _ph, _scope


@dataclass
class Overdue:
    deal: Deal
    stage: Stage
    since: datetime
    days: int
    tell: list[User]  # the owner and their supervisor, active


async def due_escalations(now: datetime | None = None, *, limit: int = 200
                          ) -> list[Overdue]:
    now = now or utcnow()
    limited = {s.id: s for s in await Stage.filter(days_limit__not_isnull=True,
                                                   kind=StageKind.OPEN, archived=False)}
    if not limited:
        return []
    candidates = await Deal.filter(stage_id__in=list(limited), archived_at=None).filter(
        Q(escalated_seq=None) | ~Q(escalated_seq=F("version"))).limit(5000).values(
        "id", "stage_id", "version", "escalated_seq")
    out: list[Overdue] = []
    for row in candidates:
        if row["escalated_seq"] == row["version"]:
            continue
        stage = limited[row["stage_id"]]
        entered = await DealEvent.get_or_none(deal_id=row["id"], seq=row["version"])
        if entered is None or _aware(entered.at) + timedelta(days=stage.days_limit) > now:
            continue
        claimed = await Deal.filter(id=row["id"], version=row["version"]).filter(
            Q(escalated_seq=None) | ~Q(escalated_seq=row["version"])).update(
            escalated_seq=row["version"])
        if not claimed:
            continue  # moved meanwhile, or another replica has it
        deal = await Deal.get(id=row["id"]).prefetch_related("client", "owner")
        tell = [deal.owner] if deal.owner.status == StaffStatus.ACTIVE else []
        if deal.owner.supervisor_id:
            boss = await User.get_or_none(id=deal.owner.supervisor_id,
                                          status=StaffStatus.ACTIVE)
            if boss is not None:
                tell.append(boss)
        out.append(Overdue(deal, stage, _aware(entered.at),
                           (now - _aware(entered.at)).days, tell))
        if len(out) >= limit:
            break
    return out


@dataclass
class ClaimLine:
    key: Any  # a client's or product's id (None: no product)
    name: str
    claims: int
    our_fault: int
    open: int
    median_days: float | None


async def claim_stats(actor: User, by: str, start: datetime, end: datetime, *,
                      department_id: int | None = None, owner_id: int | None = None
                      ) -> list[ClaimLine]:
    """U-7: claims opened in the period, per client or per product; whose as in the
    funnel (a manager's own; a head's departments, or one of them or one person)."""
    column, name = {"client": ("d.client_id", "c.name"),
                    "product": ("d.product_id", "p.name")}[by]
    depts, owner = await _scope(actor, department_id, owner_id)
    conn = connections.get("default")
    params: list[Any] = [start, end]
    where = [f"pt.kind = '{ProcessKind.CLAIM.value}'", f"d.created_at >= {_ph(conn, 1)}",
             f"d.created_at < {_ph(conn, 2)}", "d.archived_at IS NULL"]
    _narrow(conn, where, params, depts, owner, "u.department_id", "d.owner_id")
    _, rows = await conn.execute_query(f"""
        SELECT {column} AS k, {name} AS name, d.created_at AS opened,
               d.closed_at AS closed, d.our_fault AS fault
        FROM deal d JOIN process_type pt ON pt.id = d.process_id
        JOIN staff_user u ON u.id = d.owner_id JOIN client c ON c.id = d.client_id
        LEFT JOIN product p ON p.id = d.product_id
        WHERE {' AND '.join(where)}""", params)
    lines: dict[Any, dict[str, Any]] = {}
    for row in rows:
        line = lines.setdefault(row["k"], {"name": row["name"] or "", "claims": 0,
                                           "fault": 0, "open": 0, "days": []})
        line["claims"] += 1
        line["fault"] += 1 if row["fault"] in (True, 1) else 0
        if row["closed"] is None:
            line["open"] += 1
        else:
            line["days"].append((_aware(row["closed"]) - _aware(row["opened"])
                                 ).total_seconds() / 86400)
    return sorted((ClaimLine(k, v["name"], v["claims"], v["fault"], v["open"],
                             round(median(v["days"]), 1) if v["days"] else None)
                   for k, v in lines.items()), key=lambda line: -line.claims)
