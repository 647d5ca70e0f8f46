"""Win probability, the cohort funnel and lost-deal analysis (U-5, U-6) on hand-made
histories with answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models import Deal, DealEvent, Department, DictionaryItem, Role, StageKind
from services import clients as client_svc
from services import deal_moves
from services import deal_stats as stats
from services import deals as svc

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


async def _history(owner, client, stages, path, outcome, *, source=None, start=T0,
                   days=(2, 3, 4, 5), amount=None, reason=None):
    """A deal that went through ``path`` (stage codes) and ended at ``outcome`` (won,
    lost or None: still open), a stage change every ``days`` days."""
    codes = [*path, outcome] if outcome else list(path)
    last = stages[codes[-1]]
    at = start
    deal = await Deal.create(title="d", client=client, process_id=last.process_id,
                             stage=last, owner=owner, source=source, amount=amount,
                             version=len(codes), lost_reason=reason,
                             closed_at=None)
    prev = None
    for seq, code in enumerate(codes, 1):
        await DealEvent.create(deal=deal, seq=seq, from_stage=prev, to_stage=stages[code],
                               user=owner, at=at, process_id=deal.process_id,
                               owner_id=owner.id, department_id=owner.department_id)
        prev = stages[code]
        if seq < len(codes):
            at = at + timedelta(days=days[(seq - 1) % len(days)])
    if outcome:
        await Deal.filter(id=deal.id).update(closed_at=at)
    return deal


async def _setup(make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    sale = next(p for p in await svc.process_types() if p.code == "sale")
    stages = {s.code: s for s in await svc.stages_of(sale.id)}
    return ivan, client, sale, stages


async def _sources():
    from services.dictionaries import ensure_system_dictionaries

    ad = (await ensure_system_dictionaries())["ad_source"]
    items = await DictionaryItem.filter(dictionary_id=ad.id).order_by("id").limit(2)
    return items[0], items[1]


async def test_u5_naive_bayes_on_a_known_history(database_url, make_staff):
    ivan, client, sale, stages = await _setup(make_staff)
    a, b = await _sources()
    to_offer = ["lead", "need", "offer"]
    for source, won, lost in ((a, 15, 5), (b, 5, 15)):
        for _ in range(won):
            await _history(ivan, client, stages, to_offer, "won", source=source)
        for _ in range(lost):
            await _history(ivan, client, stages, to_offer, "lost", source=source)
    for _ in range(10):  # lost at the first stage: not counted for the offer
        await _history(ivan, client, stages, ["lead"], "lost", source=a)
    stats.refresh()
    counts = await stats.counts_for(sale.id)
    assert counts.past(stages["offer"].position) == (20, 20)
    assert counts.past(stages["lead"].position) == (30, 20)
    # at the offer: odds 20:20; source A ratio (15+1)/(20+3) : (5+1)/(20+3) = 8/3
    feats = stats.features_of(a.id, ivan.id, client.kind, None)
    est = stats.estimate(counts, stages["offer"], feats)
    assert (est.value, est.basis) == (73, "model")  # 8/3 / (1 + 8/3) = 72.7 %
    assert est.factors == [["source", str(a.id), 2.67]]
    est_b = stats.estimate(counts, stages["offer"], stats.features_of(b.id, ivan.id,
                                                                      client.kind, None))
    assert est_b.value == 27
    # a deal being moved to the offer gets it stored, with its factors
    deal = (await svc.do_create_deal(ivan, {"client_id": client.id, "source_id": a.id,
                                            "amount": "500"})).deal
    await deal_moves.do_move(ivan, deal.id, stages["need"].id)
    await deal_moves.do_move(ivan, deal.id, stages["offer"].id)
    stored = await Deal.get(id=deal.id)
    assert (stored.probability, stored.probability_basis) == (73, "model")
    # the manager's override is shown as such
    await svc.do_update_deal(ivan, deal.id, {"probability_override": 90})
    shown = stats.shown(await Deal.get(id=deal.id))
    assert (shown.value, shown.basis) == (90, "override")
    # the nightly run reaches every open deal
    assert await stats.recompute_all() == 1


async def test_u5_few_closed_deals_fall_back_to_stages_then_to_the_admins_figure(
        database_url, make_staff):
    ivan, client, sale, stages = await _setup(make_staff)
    stats.refresh()
    counts = await stats.counts_for(sale.id)
    assert stats.estimate(counts, stages["offer"], {}).basis == "default"
    assert stats.estimate(counts, stages["offer"], {}).value == stages["offer"].probability
    for n in range(12):
        await _history(ivan, client, stages, ["lead", "need", "offer"],
                       "won" if n < 3 else "lost")
    counts = await stats.counts_for(sale.id, fresh=True)
    est = stats.estimate(counts, stages["offer"], {})
    assert (est.value, est.basis) == (25, "stages")  # 3 of 12
    assert stats.estimate(counts, stages["won"], {}).value == 100


async def test_u5_brier_against_the_stage_only_baseline(database_url, make_staff):
    ivan, client, sale, stages = await _setup(make_staff)
    a, b = await _sources()
    path = ["lead", "need", "offer"]
    for n in range(80):  # source A mostly wins, B mostly loses
        source = a if n % 2 else b
        won = (n % 2 == 1) == (n % 10 != 0)
        await _history(ivan, client, stages, path, "won" if won else "lost", source=source,
                       start=T0 + timedelta(hours=n))
    result = await stats.brier(sale.id, last=20)
    assert result.deals == 20 and result.points == 60  # three open stages each
    assert result.model is not None and result.baseline is not None
    assert result.model < result.baseline  # the source tells more than the stage alone


async def test_u5_cohort_funnel_on_hand_made_data(database_url, make_staff):
    ivan, client, sale, stages = await _setup(make_staff)
    q_start, q_end = datetime(2026, 10, 1, tzinfo=UTC), \
        datetime(2027, 1, 1, tzinfo=UTC)
    for n in range(6):  # moved on from lead after n+1 days
        await _history(ivan, client, stages, ["lead", "need"], None, days=(n + 1,))
    for _ in range(2):  # lost at lead after 10 days
        await _history(ivan, client, stages, ["lead"], "lost", days=(10,))
    for _ in range(2):  # still at lead
        await _history(ivan, client, stages, ["lead"], None)
    # entered before the quarter: not in the cohort
    await _history(ivan, client, stages, ["lead", "need"], None,
                   start=datetime(2026, 9, 1, tzinfo=UTC))
    result = await stats.funnel(ivan, sale.id, q_start, q_end)
    lead = result.rows[0]
    assert lead.stage.code == "lead"
    assert (lead.entered, lead.moved_on, lead.lost, lead.still) == (10, 6, 2, 2)
    assert lead.conversion == 0.75
    # days in stage of those that left: 1..6 and 10, 10 -> median 4.5
    assert lead.median_days == 4.5 and lead.p90_days == 10.0
    need = result.rows[1]
    assert (need.entered, need.still) == (6, 6)  # one entered in September
    assert "conversion" in lead.bottleneck and "time" in lead.bottleneck


async def test_u5_weighted_pipeline_and_who_counts_what(database_url, make_staff):
    sales = await Department.create(name="Продажи")
    head = await make_staff(Role.HEAD, department=sales)
    ivan = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER)
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    other = (await client_svc.do_create_client(olga, {"name": "Лютик"})).client
    await svc.do_create_deal(ivan, {"client_id": client.id, "amount": "1000"})
    await svc.do_create_deal(olga, {"client_id": other.id, "amount": "500"})
    sale = next(p for p in await svc.process_types() if p.code == "sale")
    lead = (await svc.stages_of(sale.id))[0]
    q = (T0, T0 + timedelta(days=400))
    mine = await stats.funnel(ivan, sale.id, datetime(2020, 1, 1, tzinfo=UTC), q[1])
    assert mine.open_total == {"RUB": Decimal("1000.00")}
    assert mine.weighted == {"RUB": Decimal(1000 * lead.probability / 100).quantize(
        Decimal("0.01"))}
    heads = await stats.funnel(head, sale.id, datetime(2020, 1, 1, tzinfo=UTC), q[1])
    assert heads.open_total == {"RUB": Decimal("1000.00")}  # not Olga's


async def test_u6_lost_analysis_by_reason_stage_and_competitor(database_url, make_staff):
    ivan, client, sale, stages = await _setup(make_staff)
    reasons = {r.code: r for r in await svc.lost_reasons()}
    for _ in range(3):
        await _history(ivan, client, stages, ["lead", "need"], "lost", amount=Decimal(100),
                       reason=reasons["price"])
    await _history(ivan, client, stages, ["lead"], "lost", reason=reasons["no_need"])
    start, end = T0, T0 + timedelta(days=60)
    by_reason = await stats.lost_analysis(ivan, start, end, "reason")
    assert [(line.key, line.count, line.amount) for line in by_reason] == [
        (reasons["price"].id, 3, Decimal("300.00")), (reasons["no_need"].id, 1, Decimal("0.00"))]
    by_stage = await stats.lost_analysis(ivan, start, end, "stage")
    assert {(line.key, line.count) for line in by_stage} == {
        (stages["need"].id, 3), (stages["lead"].id, 1)}
    assert StageKind.LOST == "lost"


@pytest.mark.parametrize("amount, band", [(None, "none"), (Decimal("99999.99"), "b0"),
                                          (Decimal(100000), "b1"), (Decimal(10**8), "b3")])
def test_amount_bands(amount, band):
    assert stats.band_of(amount) == band


async def test_u5_recomputed_nightly_by_the_scheduler(database_url, make_staff):
    from notifications.scheduler import build_scheduler, deal_probabilities

    scheduler, _ = build_scheduler()
    job = scheduler.get_job("deal-probability")
    assert job is not None and "hour='1'" in str(job.trigger)
    ivan, client, sale, stages = await _setup(make_staff)
    deal = (await svc.do_create_deal(ivan, {"client_id": client.id})).deal
    await Deal.filter(id=deal.id).update(probability=None)
    await deal_probabilities()
    assert (await Deal.get(id=deal.id)).probability == stages["lead"].probability
