"""bench.campaigns' data at a toy size (issue 16, K-10/K-12): the generator writes what
the figures read — every deal attributed (its own touch or its client's last one), and
the revenue of the campaigns is the total of the won deals' orders."""

from __future__ import annotations

from decimal import Decimal

from bench.campaigns_data import TOY, populate


async def test_k10_bench_data_adds_up_in_the_figures(database_url):
    from models import Attribution, Campaign, Deal, Order
    from services.campaign_figures import figures_of, roi_report

    made = await populate(TOY)
    assert await Campaign.all().count() == TOY.campaigns
    assert await Deal.all().count() == TOY.deals
    assert await Attribution.filter(subject__startswith="c:").count() == 2 * TOY.clients
    figures = await figures_of(await Campaign.all().order_by("id"), "last")
    assert sum(f.figures.deals for f in figures) == TOY.deals
    orders = await Order.filter(state="posted").values_list("total", flat=True)
    assert sum((f.figures.revenue for f in figures), Decimal(0)) == sum(orders, Decimal(0))
    report = await roi_report(made.years[-1])
    assert report and all(c.campaign.starts_on.year <= made.years[-1] for c in report)
