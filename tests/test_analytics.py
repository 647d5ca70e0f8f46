"""Analytics (services.analytics): done activities per manager and type with access
rules and a chart (S-27), work plans against the fact in each person's time zone
(M-14), reaction time to inbound requests (M-16)."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta

import pytest

from models import Activity, ActivityState, Department, Role, User, WorkPlan
from services import activities as act_svc
from services import analytics as svc
from services import clients as client_svc
from services.errors import PermissionDenied, ValidationFailed

NOV = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
async def org(database_url):
    """Sales (head, Ivan in Kyiv) > Sales North (Petr in Vladivostok); Retail (Olena)."""
    sales = await Department.create(name="Sales")
    north = await Department.create(name="Sales North", parent=sales)
    retail = await Department.create(name="Retail")
    return {
        "sales": sales, "north": north, "retail": retail,
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "head": await User.create(full_name="Head", telegram_id=2, role=Role.HEAD,
                                  department=sales),
        "ivan": await User.create(full_name="Иван Петров", telegram_id=3, department=sales,
                                  timezone="Europe/Kyiv"),
        "petr": await User.create(full_name="Пётр Сидоров", telegram_id=4,
                                  department=north, timezone="Asia/Vladivostok"),
        "olena": await User.create(full_name="Олена", telegram_id=5, department=retail),
    }


async def make(actor: User, type_code: str, *, assignees: list[User] | None = None,
               done_at: datetime | None = None, created_at: datetime | None = None,
               starts_at: datetime | None = None, client_id: int | None = None,
               state: ActivityState | None = None) -> Activity:
    """An activity with the given times set directly in the database."""
    data = {"title": type_code, "type": type_code,
            "assignees": [u.id for u in assignees or [actor]]}
    if client_id:
        data["client_id"] = client_id
    a = (await act_svc.do_create_activity(actor, data)).activity
    changes = {k: v for k, v in (("done_at", done_at), ("created_at", created_at),
                                 ("starts_at", starts_at)) if v is not None}
    if done_at is not None:
        changes["state"] = state or ActivityState.DONE
    elif state is not None:
        changes["state"] = state
    if changes:
        await Activity.filter(id=a.id).update(**changes)
    return a


async def test_counts_per_manager_and_type_with_access_and_chart(org):
    """S-27: done activities per assignee and type in the period; a manager sees only
    themselves, a head their department subtree, an admin everyone; the chart is a
    PNG 800 px wide."""
    head, ivan, petr, olena = org["head"], org["ivan"], org["petr"], org["olena"]
    await make(ivan, "call", done_at=utc(2026, 11, 3, 9))
    await make(ivan, "call", done_at=utc(2026, 11, 30, 23, 59))
    await make(ivan, "call", done_at=utc(2026, 12, 1))  # after the period
    await make(ivan, "call", done_at=utc(2026, 11, 5), state=ActivityState.CANCELLED)
    await make(ivan, "call")  # planned
    await make(head, "meeting", assignees=[ivan, petr], done_at=utc(2026, 11, 10, 12))
    await make(olena, "email", done_at=utc(2026, 11, 1))

    table = await svc.activities_by_manager_and_type(org["admin"], *NOV)
    # by total, then by name
    assert table.people == [(ivan.id, "Иван Петров"), (olena.id, "Олена"),
                            (petr.id, "Пётр Сидоров")]
    assert table.types == [("call", "Звонок"), ("meeting", "Встреча"), ("email", "Письмо")]
    assert table.counts == {(ivan.id, "call"): 2, (ivan.id, "meeting"): 1,
                            (petr.id, "meeting"): 1, (olena.id, "email"): 1}
    assert table.totals == {ivan.id: 3, petr.id: 1, olena.id: 1} and table.total == 5

    by_head = await svc.activities_by_manager_and_type(head, *NOV)
    assert [p for p, _ in by_head.people] == [ivan.id, petr.id]
    north = await svc.activities_by_manager_and_type(head, *NOV,
                                                     department_id=org["north"].id)
    assert north.counts == {(petr.id, "meeting"): 1}
    with pytest.raises(PermissionDenied):
        await svc.activities_by_manager_and_type(head, *NOV, department_id=org["retail"].id)
    mine = await svc.activities_by_manager_and_type(petr, *NOV)
    assert mine.people == [(petr.id, "Пётр Сидоров")] and mine.totals == {petr.id: 1}
    assert await svc.activities_by_manager_and_type(
        petr, *NOV, department_id=org["retail"].id) == svc.Table()
    with pytest.raises(ValidationFailed) as exc:
        await svc.activities_by_manager_and_type(ivan, NOV[1], NOV[0])
    assert exc.value.field == "end"

    png = svc.chart_png(table, "Активности за ноябрь 2026")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    width, height = struct.unpack(">II", png[16:24])
    assert width == 800 and 200 < height < 1200
    empty = svc.chart_png(svc.Table(), "Нет данных")
    assert empty.startswith(b"\x89PNG")


async def test_plans_count_the_fact_in_each_persons_time_zone(org):
    """M-14: an activity done at 2026-11-30 20:00 UTC is November in Kyiv (22:00) and
    December in Vladivostok (06:00 on the 1st); heads set plans of their departments'
    people, upserted on the unique key; per-department totals."""
    head, ivan, petr = org["head"], org["ivan"], org["petr"]
    plan = await svc.do_set_plan(head, ivan.id, "month", date(2026, 11, 15), "call", 5)
    assert plan.period_start == date(2026, 11, 1) and plan.set_by_id == head.id
    again = await svc.do_set_plan(org["admin"], ivan.id, "month", "2026-11", "call", 2)
    assert again.id == plan.id and await WorkPlan.all().count() == 1
    assert (await WorkPlan.get(id=plan.id)).target == 2
    await svc.do_set_plan(head, petr.id, "month", date(2026, 11, 1), "call", 2)
    await svc.do_set_plan(head, petr.id, "month", date(2026, 12, 1), "call", 4)

    await make(head, "call", assignees=[ivan, petr], done_at=utc(2026, 11, 30, 20))
    await make(ivan, "call", done_at=utc(2026, 10, 31, 22, 30))  # 00:30 on Nov 1 in Kyiv
    await make(ivan, "meeting", done_at=utc(2026, 11, 10))  # no plan of that type

    november = await svc.plan_vs_fact(head, "month", date(2026, 11, 1))
    assert [(r.full_name, r.type_code, r.target, r.fact, r.percent) for r in november] == [
        ("Иван Петров", "call", 2, 2, 100), ("Пётр Сидоров", "call", 2, 0, 0)]
    december = await svc.plan_vs_fact(head, "month", date(2026, 12, 1))
    assert [(r.user_id, r.fact, r.percent) for r in december] == [(petr.id, 1, 25)]
    assert svc.department_totals(november) == {"call": (4, 2)}
    assert await svc.plan_vs_fact_by_department(
        head, "month", date(2026, 11, 1), department_id=org["north"].id) == {"call": (2, 0)}
    # a manager sees only their own plan
    assert [r.user_id for r in await svc.plan_vs_fact(petr, "month", date(2026, 11, 1))] \
        == [petr.id]
    day = await svc.do_set_plan(head, ivan.id, "day", date(2026, 11, 30), "call", 1)
    assert day.period_start == date(2026, 11, 30)
    assert [(r.fact, r.percent) for r in await svc.plan_vs_fact(
        ivan, "day", date(2026, 11, 30))] == [(1, 100)]


async def test_who_sets_plans_and_validation(org):
    """M-14: managers cannot set plans, a head only for their departments' people; a
    target of -1 or an unknown period names the field."""
    head, ivan, olena = org["head"], org["ivan"], org["olena"]
    with pytest.raises(PermissionDenied):
        await svc.do_set_plan(ivan, ivan.id, "month", date(2026, 11, 1), "call", 10)
    with pytest.raises(PermissionDenied):
        await svc.do_set_plan(head, olena.id, "month", date(2026, 11, 1), "call", 10)
    for args, field in [((ivan.id, "month", date(2026, 11, 1), "call", -1), "target"),
                        ((ivan.id, "month", date(2026, 11, 1), "call", 10_001), "target"),
                        ((ivan.id, "week", date(2026, 11, 1), "call", 3), "period"),
                        ((ivan.id, "month", "soon", "call", 3), "period_start"),
                        ((ivan.id, "month", date(2026, 11, 1), "teleport", 3), "type")]:
        with pytest.raises(ValidationFailed) as exc:
            await svc.do_set_plan(head, *args)
        assert exc.value.field == field
    assert await WorkPlan.all().count() == 0


async def test_reaction_time_median_and_p90(org):
    """M-16: minutes from an inbound request (its start, else its creation) to the
    first other activity with the client by the same person; median and p90 per
    person; an unanswered request counts as a request only."""
    admin, head, ivan, petr = org["admin"], org["head"], org["ivan"], org["petr"]
    clients = [(await client_svc.do_create_client(ivan, {"name": f"Клиент {n}"})).client.id
               for n in range(4)]
    a, b, c, d = clients
    day = utc(2026, 11, 10)
    h = timedelta(hours=1)

    async def at(actor, code, client, when, **kw):
        return await make(actor, code, client_id=client, created_at=when, **kw)

    # 1: answered by a call 30 minutes later (an earlier call and a later email ignored)
    await at(ivan, "call", a, day + 9 * h)
    await at(ivan, "inbound_request", a, day + 10 * h)
    await at(ivan, "call", a, day + 10.5 * h)
    await at(ivan, "email", a, day + 11 * h)
    # 2: came in at 12:00 (starts_at), logged at 13:00, answered at 12:45 -> 45
    await at(ivan, "inbound_request", b, day + 13 * h, starts_at=day + 12 * h)
    await at(ivan, "call", b, day + 12.75 * h)
    # 3: Petr's call and another request do not count; a meeting the admin assigned
    # to Ivan at 16:00 does -> 120
    await at(ivan, "inbound_request", c, day + 14 * h)
    await at(ivan, "inbound_request", c, day + 14.1 * h)
    await at(admin, "call", c, day + 14.2 * h, assignees=[petr])
    await at(admin, "meeting", c, day + 16 * h, assignees=[ivan])
    # 4: never answered; 5: outside the period
    await at(ivan, "inbound_request", d, day + 17 * h)
    await at(ivan, "inbound_request", a, utc(2026, 10, 31, 23))

    rows = await svc.reaction_times(head, *NOV)
    assert len(rows) == 1
    row = rows[0]
    # request 3b (14:06) is answered by the 16:00 meeting too: 114 minutes
    assert (row.user_id, row.full_name, row.requests, row.answered) == (
        ivan.id, "Иван Петров", 5, 4)
    assert row.median_minutes == 79.5  # of 30, 45, 114, 120
    assert row.p90_minutes == 118.2
    assert await svc.reaction_times(petr, *NOV) == []
    assert await svc.reaction_times(ivan, *NOV, department_id=org["retail"].id) == []
    assert [r.user_id for r in await svc.reaction_times(ivan, *NOV)] == [ivan.id]
    assert svc.percentile([30.0, 45.0, 120.0], 0.9) == pytest.approx(105.0)
