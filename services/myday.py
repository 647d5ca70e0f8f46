"""The Mini App's home page, "my day" (K-17, S-20): what a salesperson opens the app for.

* **Today**: the person's own activities of their local today (recurring ones expanded),
  in time order, as /today in the bot shows them.
* **Overdue**: their open activities whose time has passed (S-15), oldest first.
* **The day's plan** (M-14): one's own targets for today against what is done.
* **Deals without a next step** (U-2): one's own or team's open deals with no open
  dated activity, newest first, at most five (the count of all of them beside).
* **Recent clients**: the clients of the activities they wrote most recently, newest
  first, only those they may still see (A-3); then, if that leaves room, the clients
  they manage, by name. The grouping and ordering run in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.functions import Max

from models import Activity, Client, User
from services import activities as activity_service
from services import deal_lists
from services.activities import AgendaItem
from services.analytics import PlanRow, plan_vs_fact
from services.clients import my_clients, visible_filter
from services.clock import utcnow

RECENT = 8
OVERDUE = 20
STALLED = 5


@dataclass
class MyDay:
    today: list[AgendaItem]
    overdue: list[Activity]
    overdue_total: int
    recent: list[Client]
    plan: list[PlanRow]  # M-14: one's own plan of the day against the fact
    stalled: list = field(default_factory=list)  # U-2: deals without a next step
    stalled_total: int = 0


async def recent_clients(actor: User, *, limit: int = RECENT) -> list[Client]:
    rows = await Activity.filter(await visible_filter(actor), author_id=actor.id,
                                 client_id__not_isnull=True).group_by(
        "client_id").annotate(last=Max("id")).order_by("-last").limit(limit).values(
        "client_id", "last")
    ids = [r["client_id"] for r in rows]
    by_id = {c.id: c for c in await Client.filter(id__in=ids)}
    recent = [by_id[i] for i in ids if i in by_id]
    if len(recent) < limit:
        mine, _total = await my_clients(actor, limit=limit)
        recent += [c for c in mine if c.id not in by_id and c.archived_at is None][
            :limit - len(recent)]
    return recent


async def my_day(actor: User, *, now: datetime | None = None) -> MyDay:
    now = now or utcnow()
    start, end = activity_service.day_bounds(now, actor.timezone)
    today = await activity_service.agenda(actor, start, end, limit=100)
    late = await activity_service.overdue(actor, limit=200)
    local_day = now.astimezone(ZoneInfo(actor.timezone)).date()
    plan = [r for r in await plan_vs_fact(actor, "day", local_day) if r.user_id == actor.id]
    stalled, stalled_total = await deal_lists.without_next_step(actor, limit=STALLED)
    return MyDay(today=today, overdue=late[:OVERDUE], overdue_total=len(late),
                 recent=await recent_clients(actor), plan=plan, stalled=stalled,
                 stalled_total=stalled_total)
