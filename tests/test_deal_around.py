"""Around a deal: its environment (U-4), what follows a win and overdue execution
(U-7), claims with their resolution and statistics (U-7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Deal, DealEvent, Department, Product, Role, StageKind
from services import clients as client_svc
from services import deal_execution as execution
from services import deal_moves
from services import deal_parties as parties
from services import deals as svc
from services.clock import utcnow
from services.errors import NotFound, ValidationFailed


async def _client(owner, name="Ромашка"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


async def _process(code):
    return next(p for p in await svc.process_types() if p.code == code)


async def test_u4_environment_parties_roles_stances_and_links(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    rival = await _client(ivan, "Конкурент")
    deal = (await svc.do_create_deal(ivan, {"client_id": client.id})).deal
    with pytest.raises(ValidationFailed) as err:  # a competitor comes from the base
        await parties.do_add_party(ivan, deal.id, {"role": "competitor", "name": "Кто-то"})
    assert err.value.field == "client_id"
    comp = await parties.do_add_party(ivan, deal.id, {"role": "competitor",
                                                      "client_id": rival.id,
                                                      "stance": "opponent"})
    boss = await parties.do_add_party(ivan, deal.id, {"role": "decision_maker",
                                                      "name": "Директор Петров",
                                                      "stance": "neutral"})
    cfo = await parties.do_add_party(ivan, deal.id, {"role": "influencer",
                                                     "name": "Финдиректор"})
    await parties.do_link(ivan, cfo.id, boss.id, "influences")
    await parties.do_link(ivan, cfo.id, boss.id, "influences")  # once
    env = await parties.environment(ivan, deal.id)
    assert {(p.role, p.stance) for p in env.parties} == {
        ("competitor", "opponent"), ("decision_maker", "neutral"), ("influencer", "unknown")}
    assert [(lnk.source_id, lnk.target_id, lnk.kind) for lnk in env.links] == [
        (cfo.id, boss.id, "influences")]
    await parties.do_update_party(ivan, boss.id, {"stance": "supporter"})
    assert (await parties.environment(ivan, deal.id)).parties[0].stance in (
        "supporter", "opponent", "unknown")
    for bad, field in [({"role": "king", "name": "x"}, "role"),
                       ({"role": "influencer", "stance": "x", "name": "x"}, "stance"),
                       ({"role": "influencer"}, "name"),
                       ({"role": "partner", "client_id": client.id}, "client_id")]:
        with pytest.raises(ValidationFailed) as err:
            await parties.do_add_party(ivan, deal.id, bad)
        assert err.value.field == field
    with pytest.raises(NotFound):  # a colleague who does not see the deal
        await parties.do_update_party(olga, comp.id, {"stance": "neutral"})
    await parties.do_remove_party(ivan, cfo.id)
    env = await parties.environment(ivan, deal.id)
    assert len(env.parties) == 2 and env.links == []


async def test_u7_a_won_sale_goes_on_as_its_execution_once(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    deal = (await svc.do_create_deal(ivan, {"client_id": client.id, "amount": "1000",
                                            "title": "Поставка"})).deal
    await deal_moves.do_win(ivan, deal.id)
    await deal_moves.do_win(ivan, deal.id)  # a double tap
    follow = await Deal.filter(parent_id=deal.id).prefetch_related("process", "stage")
    assert len(follow) == 1
    assert follow[0].process.code == "execution" and follow[0].stage.code == "payment"
    assert (follow[0].title, follow[0].amount) == ("Поставка", deal.amount)


async def test_u7_overdue_execution_is_escalated_once(database_url, make_staff):
    sales = await Department.create(name="Продажи")
    boss = await make_staff(Role.HEAD, department=sales)
    ivan = await make_staff(Role.MANAGER, department=sales, supervisor_id=boss.id)
    execution_type = await _process("execution")
    deal = (await svc.do_create_deal(ivan, {"client_id": (await _client(ivan)).id,
                                            "process_id": execution_type.id})).deal
    assert deal.stage.days_limit == 5
    now = utcnow()
    assert await execution.due_escalations(now + timedelta(days=4)) == []
    due = await execution.due_escalations(now + timedelta(days=6))
    assert [(o.deal.id, o.stage.code, o.days) for o in due] == [(deal.id, "payment", 6)]
    assert {u.id for u in due[0].tell} == {ivan.id, boss.id}
    assert await execution.due_escalations(now + timedelta(days=7)) == []  # once
    # a new stage is a new stay
    stages = {s.code: s for s in await svc.stages_of(execution_type.id)}
    await deal_moves.do_move(ivan, deal.id, stages["delivery"].id)
    moved_at = (await DealEvent.get(deal_id=deal.id, seq=2)).at
    assert await execution.due_escalations(moved_at + timedelta(days=9)) == []
    assert len(await execution.due_escalations(moved_at + timedelta(days=11))) == 1


async def test_u7_claims_need_a_resolution_and_are_counted(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    other = await _client(ivan, "Лютик")
    sale = (await svc.do_create_deal(ivan, {"client_id": client.id})).deal
    bolts = await Product.create(name="Болты")
    claim_type = await _process("claim")
    with pytest.raises(ValidationFailed) as err:  # about a deal of another client
        await svc.do_create_deal(ivan, {"client_id": other.id, "process_id": claim_type.id,
                                        "parent_id": sale.id})
    assert err.value.field == "parent_id"
    claim = (await svc.do_create_deal(ivan, {
        "client_id": client.id, "process_id": claim_type.id, "parent_id": sale.id,
        "product_id": bolts.id, "title": "Брак в партии",
        "expected_close": (utcnow() + timedelta(days=10)).date().isoformat()})).deal
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_win(ivan, claim.id)
    assert err.value.field == "resolution"
    await svc.do_update_deal(ivan, claim.id, {"resolution": "Заменили партию",
                                              "our_fault": True})
    settled = await deal_moves.do_win(ivan, claim.id)
    assert settled.deal.stage.kind == StageKind.WON
    await svc.do_create_deal(ivan, {"client_id": client.id, "process_id": claim_type.id,
                                    "title": "Опоздали"})
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    by_client = await execution.claim_stats(ivan, "client", start, end)
    assert [(c.key, c.claims, c.our_fault, c.open) for c in by_client] == [
        (client.id, 2, 1, 1)]
    by_product = await execution.claim_stats(ivan, "product", start, end)
    assert {(c.key, c.claims) for c in by_product} == {(bolts.id, 1), (None, 1)}


async def test_u7_a_claim_is_rejected_for_its_own_reasons(database_url, make_staff):
    """A claim closes as lost with a reason of the claims' list (not a lost sale's, which
    stays for sales), and nobody "won" it from us: a competitor is refused."""
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    rival = await _client(ivan, "Соперник")
    claim_type = await _process("claim")
    claim = (await svc.do_create_deal(ivan, {
        "client_id": client.id, "process_id": claim_type.id, "title": "Брак",
        "resolution": "Брак не подтвердился", "our_fault": False})).deal
    for_claims = {r.code: r for r in await svc.lost_reasons("claim")}
    for_sales = {r.code: r for r in await svc.lost_reasons()}
    assert {"claim_unconfirmed", "claim_warranty_over", "other"} <= set(for_claims)
    assert "price" in for_sales and "price" not in for_claims
    assert not set(for_sales) & {"claim_unconfirmed", "claim_withdrawn"}
    with pytest.raises(ValidationFailed) as err:  # a sale's reason
        await deal_moves.do_lose(ivan, claim.id, for_sales["price"].id)
    assert (err.value.field, err.value.message) == ("lost_reason_id",
                                                    "choose a value from the list")
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_lose(ivan, claim.id, None)
    assert err.value.message == "choose why the claim was rejected"
    with pytest.raises(ValidationFailed) as err:
        await deal_moves.do_lose(ivan, claim.id, for_claims["claim_unconfirmed"].id, rival.id)
    assert err.value.field == "competitor_id"
    assert (await Deal.get(id=claim.id).prefetch_related("stage")).stage.kind == "open"
    rejected = await deal_moves.do_lose(ivan, claim.id, for_claims["claim_unconfirmed"].id)
    assert rejected.deal.stage.kind == StageKind.LOST
    assert rejected.deal.lost_reason.code == "claim_unconfirmed"
    # a sale is still lost for a sale's reason, and a claim's is refused for it
    sale = (await svc.do_create_deal(ivan, {"client_id": client.id})).deal
    with pytest.raises(ValidationFailed):
        await deal_moves.do_lose(ivan, sale.id, for_claims["claim_unconfirmed"].id)
    assert (await deal_moves.do_lose(ivan, sale.id, for_sales["price"].id, rival.id)).moved
