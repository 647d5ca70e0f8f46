"""A manager's deal funnel in a period (S-27): for each person, how many of their deals
entered each stage in ``[start, end)``, and the deals behind each count.

Rules:

* An entry is a line of the deal's stage history (:class:`models.DealEvent`): the deal's
  creation enters its first stage, every move (forward, back, won, lost) enters the
  next. A deal that entered a stage twice in the period counts once there.
* The person is the deal's owner *at that moment* (the event's ``owner_id``, as the
  cohort funnel of :mod:`services.deal_stats` counts it): a later hand-over does not
  move a past entry. Archived deals are left out.
* Who is counted is the reach of :mod:`services.analytics` (an admin everyone, a head
  their departments, a manager themselves), narrowed to a department when asked.
* Stages are listed per process in the process's order (open ones, then won, then
  lost), only those with an entry in the period; one grouped query counts them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tortoise.expressions import Subquery
from tortoise.functions import Count

from models import Deal, DealEvent, Stage, StageKind, User
from services.analytics import _names, _scope, _utc_period

KIND_ORDER = {StageKind.OPEN: 0, StageKind.WON: 1, StageKind.LOST: 2}


@dataclass
class ManagerFunnel:
    stages: list[Stage]  # the columns, with ``process`` fetched
    people: list[tuple[int, str]]  # (user id, name), by name
    counts: dict[int, dict[int, int]] = field(default_factory=dict)  # user -> stage -> n

    def count(self, user_id: int, stage_id: int) -> int:
        return self.counts.get(user_id, {}).get(stage_id, 0)

    def stage_total(self, stage_id: int) -> int:
        return sum(c.get(stage_id, 0) for c in self.counts.values())


def _entries(start: datetime, end: datetime):
    return DealEvent.filter(at__gte=start, at__lt=end).exclude(
        deal_id__in=Subquery(Deal.filter(archived_at__not_isnull=True).values("id")))


async def manager_funnel(actor: User, start: datetime, end: datetime, *,
                         department_id: int | None = None) -> ManagerFunnel:
    """Per person in ``actor``'s reach, the deals that entered each stage in the
    period (distinct deals)."""
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    qs = _entries(start, end).filter(owner_id__not_isnull=True)
    if not scope.everyone:
        qs = qs.filter(owner_id__in=Subquery(scope.users().values("id")))
    rows = await qs.annotate(n=Count("deal_id", distinct=True)).group_by(
        "owner_id", "to_stage_id").values("owner_id", "to_stage_id", "n")
    counts: dict[int, dict[int, int]] = {}
    for r in rows:
        counts.setdefault(r["owner_id"], {})[r["to_stage_id"]] = int(r["n"])
    stage_ids = {sid for c in counts.values() for sid in c}
    stages = await Stage.filter(id__in=sorted(stage_ids)).prefetch_related("process") \
        if stage_ids else []
    stages = sorted(stages, key=lambda s: (s.process.name.casefold(), s.process_id,
                                           KIND_ORDER.get(s.kind, 3), s.position, s.id))
    names = await _names(counts)
    people = sorted(((uid, names.get(uid, str(uid))) for uid in counts),
                    key=lambda p: (p[1].casefold(), p[0]))
    return ManagerFunnel(stages=stages, people=people, counts=counts)


async def stage_deals(actor: User, user_id: int, stage_id: int, start: datetime,
                      end: datetime, *, limit: int = 200,
                      department_id: int | None = None) -> tuple[list[dict], int]:
    """The deals behind one count of :func:`manager_funnel`, the latest entry first:
    (rows with id, title, client_name, at, amount, currency; how many in all). Someone
    outside ``actor``'s reach has none."""
    start, end = _utc_period(start, end)
    scope = await _scope(actor, department_id)
    if not scope.everyone and not await scope.users().filter(id=user_id).exists():
        return [], 0
    entries = _entries(start, end).filter(owner_id=user_id, to_stage_id=stage_id)
    firsts: dict[int, datetime] = {}
    for deal_id, at in await entries.order_by("-at", "-id").values_list("deal_id", "at"):
        firsts.setdefault(deal_id, at)  # the latest entry of each deal
    total = len(firsts)
    ids = list(firsts)[:limit]
    deals = {d["id"]: d for d in await Deal.filter(id__in=ids).values(
        "id", "title", "amount", "currency", client_name="client__name")}
    return [{**deals[i], "at": firsts[i]} for i in ids if i in deals], total
