"""M-7 dealers: the role, a deal's one dealer, the numbers of a dealer worked out by
hand (won rate, revenue, margin, time to first contact, claims), the grades by the
thresholds and by hand, the permissions and the partner scenario applied once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import (
    Activity,
    ActivityType,
    Deal,
    DealParty,
    PartnerRole,
    PartyRole,
    ProcessKind,
    ProcessMode,
    ProcessType,
    Stage,
    StageKind,
)
from services import dealer_cards as cards
from services import dealer_grades as grades
from services import dealers as svc
from services.activities.choices import ensure_activity_types
from services.clients import do_create_client
from services.deal_parties import do_add_party
from services.deal_processes import ensure_processes
from services.dealer_figures import dealer_figures
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW
from tests.test_sales_plans import _order, _world

D = Decimal
START, END = TEST_NOW - timedelta(days=30), TEST_NOW + timedelta(days=1)


async def _stage(kind, process_kind=ProcessKind.SALE):
    process = await ProcessType.get(code={ProcessKind.SALE: "sale", ProcessKind.CLAIM: "claim",
                                          ProcessKind.PARTNER: "partner"}[process_kind])
    return await Stage.filter(process=process, kind=kind).order_by("position").first()


async def _deal(owner, client, stage, *, dealer=None, created=TEST_NOW - timedelta(days=2),
                closed=None, parent=None):
    deal = await Deal.create(title="Сделка", client=client, process_id=stage.process_id,
                             stage=stage, owner=owner, closed_at=closed, parent=parent)
    await Deal.filter(id=deal.id).update(created_at=created)
    if dealer is not None:
        await DealParty.create(deal=deal, client=dealer, role=PartyRole.DEALER)
    return await Deal.get(id=deal.id)


async def _contact(author, *, deal=None, client=None, at, kind="call", cancelled=False):
    await ensure_activity_types()
    a = await Activity.create(title="Звонок", type=await ActivityType.get(code=kind),
                              kind="task" if kind == "task" else "event", deal=deal,
                              client=client, author=author,
                              state="cancelled" if cancelled else "done")
    await Activity.filter(id=a.id).update(created_at=at)


async def test_m7_dealer_numbers_by_hand(database_url, make_staff):
    """M-7: deals, won, lost, won rate, open, revenue and margin of the orders, the median
    time to first contact and the claims of a dealer, worked out by hand; another dealer's
    and deals without a dealer count nothing."""
    (_s, _o), (admin, head, ivan, olga), client, _cats, (pipe, valve) = await _world(make_staff)
    await ensure_processes()
    dealer = (await do_create_client(admin, {"name": "Дилер Юг"})).client
    other = (await do_create_client(admin, {"name": "Дилер Север"})).client
    await svc.do_mark_dealer(admin, dealer.id)
    await svc.do_mark_dealer(admin, other.id)
    won, lost, first = (await _stage(StageKind.WON), await _stage(StageKind.LOST),
                        await _stage(StageKind.OPEN))
    t0 = TEST_NOW - timedelta(days=5)
    # through the dealer: 2 won, 1 lost in the period, 1 open, 1 won before the period
    d1 = await _deal(ivan, client, won, dealer=dealer, created=t0, closed=TEST_NOW)
    d2 = await _deal(olga, client, won, dealer=dealer, created=t0, closed=TEST_NOW)
    d3 = await _deal(ivan, client, lost, dealer=dealer, created=t0, closed=TEST_NOW)
    d4 = await _deal(ivan, client, first, dealer=dealer, created=t0)
    await _deal(ivan, client, won, dealer=dealer, created=START - timedelta(days=9),
                closed=START - timedelta(days=1))
    await _deal(ivan, client, won, dealer=other, created=t0, closed=TEST_NOW)
    nodealer = await _deal(ivan, client, won, created=t0, closed=TEST_NOW)
    # orders: d1 1000 (cost 600) + 500 (cost 300); d2 2000 (no cost); a cancelled and a
    # draft order of d1, and an order without a deal, count nothing
    for deal, state, lines in ((d1, "posted", [(pipe, 1, "1000", "600"), (valve, 1, "500", "300")]),
                               (d2, "closed", [(pipe, 1, "2000", None)]),
                               (d1, "cancelled", [(pipe, 1, "9999", "1")]),
                               (d1, "draft", [(pipe, 1, "9999", "1")]),
                               (None, "posted", [(pipe, 1, "7777", "1")])):
        order = await _order(ivan, client, state, lines)
        order.deal_id = deal.id if deal else None
        await order.save(update_fields=["deal_id"])
    # first contacts: d1 after 2 h (on the deal), d2 after 6 h (on its client, a task at
    # 1 h and a cancelled call at 1 h skipped), d3 after 10 h, d4 none → median 6.0
    await _contact(ivan, deal=d1, at=t0 + timedelta(hours=2))
    await _contact(ivan, deal=d2, at=t0 + timedelta(hours=1), kind="task")
    await _contact(ivan, deal=d2, at=t0 + timedelta(hours=1), cancelled=True)
    await _contact(ivan, deal=d2, at=t0 + timedelta(hours=6))
    await _contact(ivan, deal=d3, at=t0 + timedelta(hours=10))
    await _contact(ivan, deal=d4, at=t0 - timedelta(hours=1))  # before the deal
    # claims: one with the dealer as its party, one about d1, one about a deal without a
    # dealer, one a sale (not a claim)
    received = await _stage(StageKind.OPEN, ProcessKind.CLAIM)
    await _deal(ivan, client, received, dealer=dealer, created=TEST_NOW)
    await _deal(ivan, client, received, parent=d1, created=TEST_NOW)
    await _deal(ivan, client, received, parent=nodealer, created=TEST_NOW)
    f = (await dealer_figures(START, END))[dealer.id]
    # sale deals created in the period: d1..d4 (the claim through the dealer is no sale)
    assert (f.deals, f.won, f.lost, f.open) == (4, 2, 1, 1)
    assert f.won_rate == 67  # 2 / 3
    assert (f.orders, f.revenue, f.margin) == (2, {"RUB": D("3500.00")},
                                               {"RUB": D("2600.00")})
    # d1 2 h, d2 6 h, d3 10 h; d4 has none (its call is before); the claim made at
    # TEST_NOW has none
    assert (f.contact_hours, f.contacted) == (6.0, 3)
    assert f.claims == 2
    g = (await dealer_figures(START, END))[other.id]
    assert (g.won, g.revenue, g.claims, g.won_rate) == (1, {}, 0, 100)
    # one dealer asked: the same numbers
    assert (await dealer_figures(START, END, [dealer.id]))[dealer.id] == f


async def test_m7_one_dealer_per_deal_and_only_active_dealers(database_url, make_staff):
    """M-7: a deal's dealer is an active dealer, one per deal; setting replaces it,
    clearing removes it; an archived dealer cannot be chosen."""
    (_s, _o), (admin, head, ivan, olga), client, _c, _p = await _world(make_staff)
    await ensure_processes()
    dealer = (await do_create_client(admin, {"name": "Дилер"})).client
    second = (await do_create_client(admin, {"name": "Дилер 2"})).client
    plain = (await do_create_client(admin, {"name": "Не дилер"})).client
    await svc.do_mark_dealer(admin, dealer.id)
    await svc.do_mark_dealer(admin, second.id)
    deal = await _deal(ivan, client, await _stage(StageKind.OPEN))
    with pytest.raises(ValidationFailed) as e:
        await svc.do_set_deal_dealer(ivan, deal.id, plain.id)
    assert e.value.field == "client_id"
    # a manager who does not see the dealer's card still names it
    await svc.do_set_deal_dealer(ivan, deal.id, dealer.id)
    await svc.do_set_deal_dealer(ivan, deal.id, second.id)
    parties = await DealParty.filter(deal_id=deal.id, role=PartyRole.DEALER)
    assert [p.client_id for p in parties] == [second.id]
    # the environment's form refuses a second dealer
    with pytest.raises(ValidationFailed) as e:
        await do_add_party(ivan, deal.id, {"role": "dealer", "client_id": dealer.id})
    assert e.value.field == "role"
    await svc.do_set_deal_dealer(ivan, deal.id, None)
    assert not await DealParty.filter(deal_id=deal.id).exists()
    await do_add_party(ivan, deal.id, {"role": "dealer", "client_id": dealer.id})
    assert (await svc.deal_dealer(deal.id)).client_id == dealer.id
    await svc.do_archive_dealer(admin, second.id)
    with pytest.raises(ValidationFailed):
        await svc.do_set_deal_dealer(ivan, deal.id, second.id)
    assert [r.client_id for r in await svc.active_dealers(ivan)] == [dealer.id]
    # another manager's deal is not found
    from services.errors import NotFound
    with pytest.raises(NotFound):
        await svc.do_set_deal_dealer(olga, deal.id, None)


async def test_m7_permissions(database_url, make_staff):
    """M-7: managers see dealers and their scorecards; heads and admins manage them;
    only admins change the grade settings."""
    (_s, _o), (admin, head, ivan, olga), client, _c, _p = await _world(make_staff)
    await svc.do_mark_dealer(admin, client.id)
    assert [r.client.name for r in await cards.dealer_list(ivan, START, END)] == ["Ромашка"]
    assert (await cards.scorecard(ivan, client.id, START, END)).row.role.client_id == client.id
    for call in (svc.do_mark_dealer(ivan, client.id), svc.do_archive_dealer(ivan, client.id),
                 svc.do_update_dealer(ivan, client.id, {"grade": "A"}),
                 svc.do_create_dealer(ivan, {"name": "Новый"}),
                 grades.do_grade_now(ivan), grades.do_set_grade_settings(head, {})):
        with pytest.raises(PermissionDenied):
            await call
    role = await svc.do_create_dealer(head, {"name": "Новый дилер", "since": "01.02.2026",
                                             "note": "север"})
    assert (role.since.isoformat(), role.note) == ("2026-02-01", "север")
    with pytest.raises(ValidationFailed) as e:
        await svc.do_create_dealer(head, {"name": "Плохая дата", "since": "31.02.2026"})
    assert e.value.field == "since"
    from models import Client
    assert not await Client.filter(name="Плохая дата").exists()
    await svc.do_archive_dealer(head, role.client_id)
    assert [r.client.name for r in await cards.dealer_list(ivan, START, END,
                                                           archived=True)] == ["Новый дилер"]
    await svc.do_mark_dealer(head, role.client_id)  # restores
    assert (await svc.dealer_role(role.client_id)).archived_at is None


async def test_m7_grades_by_thresholds_and_by_hand(database_url, make_staff):
    """M-7: A needs both A's revenue and won rate, B both of B's, else C; a hand-set
    grade stays through the computation until reset; the reason names the numbers."""
    (_s, _o), (admin, head, ivan, olga), client, _c, (pipe, valve) = await _world(make_staff)
    await ensure_processes()
    s = await grades.do_set_grade_settings(admin, {
        "period_days": "90", "currency": "RUB", "a_revenue": "3 000", "a_won_rate": "60",
        "b_revenue": "1000", "b_won_rate": "30"})
    assert (s.a_revenue, s.a_won_rate) == (D("3000.00"), 60)
    with pytest.raises(ValidationFailed) as e:
        await grades.do_set_grade_settings(admin, {"b_revenue": "5000"})
    assert e.value.field == "b_revenue"
    with pytest.raises(ValidationFailed) as e:
        await grades.do_set_grade_settings(admin, {"a_won_rate": "101"})
    assert e.value.field == "a_won_rate"
    won, lost = await _stage(StageKind.WON), await _stage(StageKind.LOST)
    names = {}
    # A: 3500 and 2/3 = 67 percent; B: 3500 but 1/2 = 50 percent; C: 500 and 100 percent
    for name, outcomes, amount in (("A-дилер", (won, won, lost), "3500"),
                                   ("B-дилер", (won, lost), "3500"),
                                   ("C-дилер", (won,), "500")):
        dealer = (await do_create_client(admin, {"name": name})).client
        await svc.do_mark_dealer(admin, dealer.id)
        names[name] = dealer.id
        deals = [await _deal(ivan, client, st, dealer=dealer, closed=TEST_NOW)
                 for st in outcomes]
        order = await _order(ivan, client, "posted", [(pipe, 1, amount, "0")])
        order.deal_id = deals[0].id
        await order.save(update_fields=["deal_id"])
    assert await grades.do_grade_now(head) == {"A": 1, "B": 1, "C": 1}
    got = {r.client.name: r.role.grade for r in await cards.dealer_list(ivan, START, END)}
    assert got == {"A-дилер": "A", "B-дилер": "B", "C-дилер": "C"}
    card = await cards.scorecard(ivan, names["B-дилер"], START, END)
    assert str(card.row.reason).startswith("revenue 3 500 RUB and won rate 50 percent")
    # by hand: C becomes A and stays A through the nightly run; reset: C again
    await svc.do_update_dealer(head, names["C-дилер"], {"grade": "A"})
    await grades.nightly()
    role = await svc.dealer_role(names["C-дилер"])
    assert (role.grade, role.grade_manual) == ("A", True)
    assert str((await cards.scorecard(ivan, role.client_id, START, END)).row.reason) == \
        "set by hand"
    role = await svc.do_update_dealer(head, names["C-дилер"], {"grade": "auto"})
    assert (role.grade, role.grade_manual) == ("C", False)
    with pytest.raises(ValidationFailed):
        await svc.do_update_dealer(head, names["C-дилер"], {"grade": "Z"})


async def test_m7_partner_scenario_applied_once(database_url, make_staff):
    """M-7: a partner process applied to a dealer makes its deal with the first stage's
    tasks once; a second apply gives the same deal; a sale process is refused."""
    from services.dealer_seed import seed_dealer_process

    (_s, _o), (admin, head, ivan, olga), client, _c, _p = await _world(make_staff)
    await ensure_activity_types()
    await svc.do_mark_dealer(admin, client.id)
    process = await seed_dealer_process(admin)
    assert process.mode == ProcessMode.MANAGED and process.kind == ProcessKind.PARTNER
    assert (await seed_dealer_process(admin)).id == process.id  # idempotent
    assert process.id in [p.id for p in await cards.partner_processes()]
    first = await cards.do_apply_scenario(admin, client.id, process.id)
    assert first.created and first.deal.process_id == process.id
    tasks = await Activity.filter(deal_id=first.deal.id).count()
    assert tasks >= 1
    again = await cards.do_apply_scenario(admin, client.id, str(process.id))
    assert not again.created and again.deal.id == first.deal.id
    assert await Activity.filter(deal_id=first.deal.id).count() == tasks
    assert await Deal.filter(client_id=client.id).count() == 1
    sale = await ProcessType.get(code="sale")
    with pytest.raises(ValidationFailed) as e:
        await cards.do_apply_scenario(admin, client.id, sale.id)
    assert e.value.field == "process_id"
    with pytest.raises(PermissionDenied):
        await cards.do_apply_scenario(ivan, client.id, process.id)
    # a head whose departments do not manage the dealer is told so (not "not found")
    for other in (process.id, (await ProcessType.get(code="partner")).id):
        with pytest.raises(ValidationFailed) as e:
            await cards.do_apply_scenario(head, client.id, other)
        assert e.value.field == "client_id"
    card = await cards.scorecard(admin, client.id, START, END)
    assert [d.id for d in card.partner_deals] == [first.deal.id]
    assert await PartnerRole.filter(client_id=client.id).count() == 1


def test_m7_nightly_grading_is_registered():
    """M-7: the dealers are graded every night (03:05 UTC) through the job runner."""
    from notifications.scheduler import add_dealer_grade_job, build_scheduler

    scheduler, jobs = build_scheduler()
    add_dealer_grade_job(scheduler, jobs)
    job = scheduler.get_job("dealer-grades")
    assert job is not None and str(job.trigger) == "cron[hour='3', minute='5']"
