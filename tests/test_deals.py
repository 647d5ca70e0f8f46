"""Deals and sales processes (U-1, U-2, U-6, U-7): the service's rules — who sees a
deal, moving through stages in each mode, requirements refusing a move with the reason
named, a stage's tasks made once under a double tap and two replicas, lost with a
reason, the seeded processes, the admin's process editor."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from kontakt.errors import error_message
from models import (
    Activity,
    ActivityType,
    AuditLog,
    Deal,
    DealEvent,
    Department,
    Playbook,
    PlaybookStep,
    ProcessMode,
    ProcessType,
    Role,
    Stage,
    StageKind,
)
from services import activities as acts
from services import clients as client_svc
from services import deal_cards, deal_lists, deal_moves
from services import deal_processes as processes
from services import deals as svc
from services.errors import NotFound, PermissionDenied, ValidationFailed


async def _client(owner, name="Ромашка"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


async def _stages(process_id):
    return {s.code or s.name: s for s in await svc.stages_of(process_id)}


async def _sale():
    return next(p for p in await svc.process_types() if p.code == "sale")


async def test_u1_seeded_processes_have_open_won_and_lost_stages(database_url, make_staff):
    types = await svc.process_types()
    assert [p.code for p in types] == ["sale", "execution", "claim", "partner"]
    assert types[3].kind == "partner"
    for p in types:
        kinds = [s.kind for s in await svc.stages_of(p.id)]
        assert kinds.count(StageKind.WON) == 1 and kinds.count(StageKind.LOST) == 1
        assert kinds[0] == StageKind.OPEN
    await processes.ensure_processes()  # idempotent
    assert await ProcessType.all().count() == 4
    # a database seeded before partnerships were: only the missing one is added
    partner = types[3]
    await Stage.filter(process_id=partner.id).delete()
    await ProcessType.filter(id=partner.id).delete()
    await processes.do_archive_process(await make_staff(Role.ADMIN), types[2].id)
    await processes.ensure_processes()
    again = await ProcessType.all().order_by("sort_order", "id")
    assert [(p.code, p.archived) for p in again] == [
        ("sale", False), ("execution", False), ("claim", True), ("partner", False)]
    # a sale goes on as its execution when seeded; an admin who took that away keeps it
    # away: seeding again (every card view) writes nothing
    sale = await ProcessType.get(code="sale")
    assert sale.next_process_id == (await ProcessType.get(code="execution")).id
    await ProcessType.filter(id=sale.id).update(next_process_id=None)
    await processes.ensure_processes()
    assert (await ProcessType.get(id=sale.id)).next_process_id is None


async def test_u2_create_move_win_with_history_and_time_in_stage(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    made = await svc.do_create_deal(ivan, {"client_id": client.id, "title": "Поставка",
                                           "amount": "150 000,50", "source": "x"})
    deal = made.deal
    assert deal.amount == Decimal("150000.50") and deal.currency == "RUB"
    assert deal.stage.code == "lead" and deal.owner_id == ivan.id
    stages = await _stages(deal.process_id)
    moved = await deal_moves.do_move(ivan, deal.id, stages["need"].id, source="bot")
    assert moved.moved and moved.deal.stage_id == stages["need"].id
    again = await deal_moves.do_move(ivan, deal.id, stages["need"].id, source="bot")
    assert not again.moved  # a double tap records nothing
    won = await deal_moves.do_win(ivan, deal.id)
    assert won.deal.stage.kind == StageKind.WON and won.deal.closed_at is not None
    events = await DealEvent.filter(deal_id=deal.id).order_by("seq").values_list(
        "seq", "from_stage_id", "to_stage_id", "source")
    assert events == [(1, None, stages["lead"].id, "web"),
                      (2, stages["lead"].id, stages["need"].id, "bot"),
                      (3, stages["need"].id, stages["won"].id, "web")]
    card = await deal_cards.deal_card(ivan, deal.id)
    assert card.in_stage_since == (await DealEvent.get(deal_id=deal.id, seq=3)).at
    assert await AuditLog.filter(entity="deal", object_id=deal.id, action="stage").count() == 2


async def test_u1_a_requirement_refuses_the_move_naming_what_is_missing(
        database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id})).deal
    stages = await _stages(deal.process_id)
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_move(ivan, deal.id, stages["contract"].id)
    assert err.value.field == "stage_id"
    assert err.value.message == "cannot move to «Contract»: no amount; no expected close date"
    assert error_message(err.value, "ru") == \
        "нельзя перейти на этап «Договор»: нет суммы; нет ожидаемой даты закрытия"
    assert error_message(err.value, "uk") == \
        "не можна перейти на етап «Договір»: немає суми; немає очікуваної дати закриття"
    assert (await Deal.get(id=deal.id)).stage_id == stages["lead"].id  # nothing moved
    await svc.do_update_deal(ivan, deal.id, {"amount": "10", "expected_close": "2027-01-31"})
    assert (await deal_moves.do_move(ivan, deal.id, stages["contract"].id)).moved


async def test_u6_lost_needs_a_reason_and_takes_a_competitor(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    rival = await _client(ivan, "Конкурент")
    deal = (await svc.do_create_deal(ivan, {"client_id": client.id})).deal
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_lose(ivan, deal.id, None)
    assert err.value.field == "lost_reason_id"
    reasons = {r.code: r for r in await svc.lost_reasons()}
    assert {"price", "competitor", "no_budget", "other"} <= set(reasons)
    with pytest.raises(ValidationFailed):
        await deal_moves.do_lose(ivan, deal.id, reasons["competitor"].id, client.id)
    lost = await deal_moves.do_lose(ivan, deal.id, reasons["competitor"].id, rival.id)
    assert lost.deal.stage.kind == StageKind.LOST
    assert (lost.deal.lost_reason_id, lost.deal.competitor_id) == (
        reasons["competitor"].id, rival.id)
    # reopened: the reason goes
    stages = await _stages(deal.process_id)
    reopened = await deal_moves.do_move(ivan, deal.id, stages["need"].id)
    assert reopened.deal.lost_reason_id is None and reopened.deal.closed_at is None


async def _managed_sale(admin):
    await acts.ensure_activity_types()
    call = await ActivityType.get(code="call")
    playbook = await Playbook.create(name="Предложение")
    await PlaybookStep.create(playbook=playbook, type=call, position=0, title="Отправить КП")
    await PlaybookStep.create(playbook=playbook, type=call, position=1, offset_days=2,
                              title="Позвонить по КП", assignee="head")
    await PlaybookStep.create(playbook=playbook, type=call, position=2, offset_days=5,
                              title="Договориться о встрече")
    sale = await _sale()
    stages = await svc.stages_of(sale.id)
    body = [{"id": s.id, "name": s.name, "kind": s.kind, "probability": s.probability,
             "requires": [] if s.code != "contract" else ["tasks_done"],
             "skippable": s.code != "offer",
             "playbook_id": playbook.id if s.code == "offer" else None} for s in stages]
    await processes.do_save_process(admin, sale.id, {"mode": "managed", "stages": body})
    return sale


async def test_u1_managed_stage_makes_its_tasks_once_under_a_double_tap(
        database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    boss = await make_staff(Role.HEAD)
    ivan = await make_staff(Role.MANAGER, supervisor_id=boss.id)
    sale = await _managed_sale(admin)
    assert (await ProcessType.get(id=sale.id)).mode == ProcessMode.MANAGED
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id})).deal
    stages = await _stages(sale.id)
    # a manager may not jump over the stage that is not skippable
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_move(ivan, deal.id, stages["talks"].id)
    assert error_message(err.value, "ru") == \
        "этап «Коммерческое предложение» нельзя пропустить; обратитесь к руководителю"
    await deal_moves.do_move(ivan, deal.id, stages["need"].id)
    results = await asyncio.gather(*[deal_moves.do_move(ivan, deal.id, stages["offer"].id,
                                                        source="bot") for _ in range(3)])
    assert sum(r.moved for r in results) == 1
    tasks = await Activity.filter(deal_id=deal.id).order_by("starts_at").prefetch_related(
        "assignments")
    assert [t.title for t in tasks] == ["Отправить КП", "Позвонить по КП",
                                        "Договориться о встрече"]
    assert [a.user_id for a in tasks[1].assignments] == [boss.id]  # the owner's supervisor
    # one notice, to the head: the owner made the move himself
    assert [n.user_id for r in results for n in r.notices] == [boss.id]
    # the contract needs the open tasks done
    await svc.do_update_deal(ivan, deal.id, {"amount": "5"})
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_move(ivan, deal.id, stages["contract"].id)
    assert "tasks of this stage are open" in err.value.message


async def test_u2_who_sees_a_deal(database_url, make_staff):
    sales = await Department.create(name="Продажи")
    other = await Department.create(name="Опт")
    head = await make_staff(Role.HEAD, department=sales)
    ivan = await make_staff(Role.MANAGER, department=sales)
    petr = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER, department=other)
    admin = await make_staff(Role.ADMIN)
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id})).deal
    for who in (ivan, head, admin):
        assert (await svc.get_deal(who, deal.id)).id == deal.id
    for who in (petr, olga):
        with pytest.raises(NotFound):
            await svc.get_deal(who, deal.id)
        with pytest.raises(NotFound):
            await deal_moves.do_move(who, deal.id, deal.stage_id + 1)
    await svc.do_set_team(ivan, deal.id, [petr.id])  # shared with a colleague
    assert (await svc.get_deal(petr, deal.id)).id == deal.id
    rows, total = await deal_lists.deal_page(petr, deal_lists.DealFilters(mine=True))
    assert total == 1 and rows[0].deal.id == deal.id
    # a manager cannot give it to someone outside; a head can within the department
    with pytest.raises(ValidationFailed):
        await svc.do_update_deal(ivan, deal.id, {"owner_id": olga.id})
    await svc.do_update_deal(head, deal.id, {"owner_id": petr.id})
    assert (await Deal.get(id=deal.id)).owner_id == petr.id
    # archived: gone from lists; only an admin restores
    await svc.do_archive_deal(petr, deal.id)
    assert (await deal_lists.deal_page(admin, deal_lists.DealFilters()))[1] == 0
    with pytest.raises(PermissionDenied):
        await svc.do_archive_deal(petr, deal.id, archived=False)
    await svc.do_archive_deal(admin, deal.id, archived=False)
    assert (await deal_lists.deal_page(admin, deal_lists.DealFilters()))[1] == 1


async def test_u2_list_puts_deals_without_a_next_step_first_and_pages(
        database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    deals = [(await svc.do_create_deal(ivan, {"client_id": client.id, "title": f"D{n}"})).deal
             for n in range(5)]
    await acts.ensure_activity_types()
    call = await ActivityType.get(code="call")
    for n, d in enumerate(deals[:3]):  # D0 next week, D1 in two days, D2 tomorrow
        await svc.do_add_activity(ivan, d.id, {
            "title": "Звонок", "type": call.code,
            "starts_at": f"2030-01-{10 - 3 * n:02d}T10:00:00+03:00"})
    first, total = await deal_lists.deal_page(ivan, deal_lists.DealFilters(), page=1, per_page=3)
    second, _ = await deal_lists.deal_page(ivan, deal_lists.DealFilters(), page=2, per_page=3)
    assert total == 5
    assert [r.deal.title for r in first + second] == ["D4", "D3", "D2", "D1", "D0"]
    assert first[0].next_step is None and second[0].next_step is not None
    summary = await deal_lists.pipeline(ivan, deals[0].process_id)
    assert summary[0].count == 5 and summary[1].count == 0


@pytest.mark.parametrize("bad, field", [
    ({"amount": "много"}, "amount"), ({"amount": "-5"}, "amount"),
    ({"currency": "XYZ"}, "currency"), ({"expected_close": "31.02.2027"}, "expected_close"),
    ({"title": "  "}, "title"), ({"probability_override": 101}, "probability_override"),
    ({"contact_id": 999999}, "contact_id"), ({"source_id": 999999}, "source_id"),
])
async def test_bad_values_are_refused_naming_the_field(database_url, make_staff, bad, field):
    ivan = await make_staff(Role.MANAGER)
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id,
                                            "title": "Поставка", "amount": "7"})).deal
    with pytest.raises(ValidationFailed) as err:
        await svc.do_update_deal(ivan, deal.id, bad)
    assert err.value.field == field
    kept = await Deal.get(id=deal.id)
    assert (kept.title, kept.amount) == ("Поставка", Decimal("7.00"))


async def test_u1_process_editor_rules(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    ivan = await make_staff(Role.MANAGER)
    body = {"name": "Тендер", "kind": "sale", "mode": "simple", "stages": [
        {"name": "Заявка"}, {"name": "Торги", "requires": ["amount"]},
        {"name": "Выиграли", "kind": "won"}, {"name": "Проиграли", "kind": "lost"}]}
    with pytest.raises(PermissionDenied):
        await processes.do_save_process(ivan, None, body)
    tender = await processes.do_save_process(admin, None, body)
    stages = await svc.stages_of(tender.id)
    assert [s.name for s in stages] == ["Заявка", "Торги", "Выиграли", "Проиграли"]
    for bad, where in [
            ({**body, "name": "Продажа"}, "name"),
            ({**body, "stages": body["stages"][:2]}, "stages"),
            ({**body, "stages": [*body["stages"], {"name": "Заявка"}]}, "stages.5.name"),
            ({**body, "stages": [{"name": "x", "requires": ["moon"]}]}, "stages.1.requires")]:
        with pytest.raises(ValidationFailed) as err:
            await processes.do_save_process(admin, tender.id, bad)
        assert err.value.field == where
    # a stage with deals left out is archived; an unused one is deleted
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id,
                                            "process_id": tender.id})).deal
    assert deal.stage.name == "Заявка"
    kept = [{"id": s.id, "name": s.name, "kind": s.kind} for s in stages[2:]]
    await processes.do_save_process(admin, tender.id, {"stages": [
        {"name": "Подготовка"}, *kept]})
    assert (await Stage.get(id=stages[0].id)).archived
    assert not await Stage.filter(id=stages[1].id).exists()
    assert [s.name for s in await svc.stages_of(tender.id)] == [
        "Подготовка", "Выиграли", "Проиграли"]


async def test_u2_expected_close_is_a_date(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id,
                                            "expected_close": "2027-03-01"})).deal
    assert deal.expected_close == date(2027, 3, 1)


async def test_u1_a_trigger_moves_the_deal_on_when_its_tasks_are_done(
        database_url, make_staff):
    """U-1: a managed stage marked to move on by itself: the last of its tasks done, the
    deal goes to the next stage, recorded as from a trigger; a task left open keeps it."""
    from services import deal_triggers

    deal_triggers.install()
    admin = await make_staff(Role.ADMIN)
    ivan = await make_staff(Role.MANAGER)
    sale = await _managed_sale(admin)
    stages = await svc.stages_of(sale.id)
    body = [{"id": s.id, "name": s.name, "kind": s.kind, "playbook_id": s.playbook_id,
             "advance_when_done": s.code == "offer"} for s in stages]
    await processes.do_save_process(admin, sale.id, {"stages": body})
    by_code = {s.code: s for s in stages}
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id})).deal
    await deal_moves.do_move(ivan, deal.id, by_code["need"].id)
    await deal_moves.do_move(ivan, deal.id, by_code["offer"].id)
    tasks = await Activity.filter(deal_id=deal.id).order_by("id")
    assert len(tasks) == 3
    for task in tasks[:2]:
        await acts.do_complete(ivan, task.id, "сделано")
    assert (await Deal.get(id=deal.id)).stage_id == by_code["offer"].id  # one left
    await acts.do_complete(ivan, tasks[2].id, "сделано")
    moved = await Deal.get(id=deal.id)
    assert moved.stage_id == by_code["talks"].id
    last = await DealEvent.filter(deal_id=deal.id).order_by("-seq").first()
    assert (last.source, last.from_stage_id) == ("trigger", by_code["offer"].id)
