"""The effectiveness of marketing campaigns (K-10, K-12): plan vs fact cost, contacts
gained and the cost of one, leads, deals, revenue, margin and ROI, per campaign and
per variant (variants side by side), a year's ROI report, and the preferences of the
campaign's consumer group (M-8).

Rules:

* **Cost**: planned = the sum of the cost items' planned sums; actual = the sum of
  their actual sums (an item not spent yet counts 0); the difference is actual −
  planned (above 0: overspent). A cost item without a variant counts for the campaign
  only. The budget is the campaign's (a variant's own budget for a variant).
* **Contacts gained**: the distinct clients whose *first-touch* attribution (subject
  ``c:<client>``) names the campaign (the variant). **Cost per contact** = actual cost
  / contacts (None without contacts).
* **Leads**: the inbound requests (subject ``a:<activity>``) attributed to the
  campaign (the variant) at either touch, each counted once per variant.
* **Deals** are attributed by the touch of ``model``: ``last`` (the default) or
  ``first``. A deal with its own attribution (``d:<deal>``) at that touch goes with
  it; a deal without one inherits its client's attribution (``c:<client>``) at that
  touch. Archived deals are left out. **Won** = the deals in a stage of kind won.
* **Revenue and margin** are the rules of services.manager_report: the orders of those
  deals that are posted, shipped or closed (not drafts, not cancelled), whenever
  posted; revenue = the lines' amounts, margin = revenue − the lines' cost (a line
  without a cost counts no cost). Only orders in the **campaign's currency** count:
  sums are never converted (as in services.analytics / manager_report), an order in
  another currency is left out of the figures.
* **ROI** = (margin − actual cost) / actual cost, a ratio (0.5 = 50 percent); None
  when the actual cost is 0.
* A campaign's figures are the sums over all its rows (variants and no variant); a
  variant's, its rows only; variants are shown archived or not.
* **The year's report** (:func:`roi_report`) lists the campaigns that run at some
  time of the year (start on or before 31 December, end on or after 1 January or no
  end), archived ones left out, newest start first. Everything is summed by the
  database in a fixed number of queries (campaigns, variants, costs, attribution
  counts in two, deals with their money): six, however many campaigns.
* **Consumer group preferences** (:func:`preferences`): for the campaign's segment,
  its members (those the viewer sees, services.segments) — what they bought (top
  product categories and products by buyers, with the revenue in the campaign's
  currency, sold orders as above) and which channels brought them (the channel of
  the variant of each member's first-touch attribution, any campaign).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise import connections
from tortoise.expressions import Subquery

from models import Campaign, CampaignVariant, OrderState, User
from services.analytics import _Params
from services.campaigns import get_campaign, running_in
from services.errors import N_, ValidationFailed
from services.permissions import require_staff

CENT = Decimal("0.01")
MODELS = ("last", "first")
SOLD = (OrderState.POSTED.value, OrderState.SHIPPED.value, OrderState.CLOSED.value)
TOP = 5


def _money(v: Any) -> Decimal:
    if v is None:
        return Decimal(0).quantize(CENT)
    return Decimal(str(v)).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Figures:
    budget: Decimal = Decimal("0.00")
    planned: Decimal = Decimal("0.00")
    actual: Decimal = Decimal("0.00")
    contacts: int = 0
    leads: int = 0
    deals: int = 0
    won: int = 0
    revenue: Decimal = Decimal("0.00")
    cost_of_sales: Decimal = Decimal("0.00")

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost_of_sales

    @property
    def difference(self) -> Decimal:
        """Actual − planned: above 0 is overspent."""
        return self.actual - self.planned

    @property
    def cost_per_contact(self) -> Decimal | None:
        if not self.contacts:
            return None
        return (self.actual / self.contacts).quantize(CENT, ROUND_HALF_UP)

    @property
    def roi(self) -> Decimal | None:
        if not self.actual:
            return None
        return ((self.margin - self.actual) / self.actual).quantize(Decimal("0.0001"),
                                                                    ROUND_HALF_UP)

    @property
    def roi_percent(self) -> Decimal | None:
        roi = self.roi
        return None if roi is None else (roi * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def add(self, other: Figures) -> None:
        for name in ("planned", "actual", "contacts", "leads", "deals", "won", "revenue",
                     "cost_of_sales"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        def m(v: Decimal | None) -> str | None:
            return None if v is None else f"{v:.2f}"

        return {"budget": m(self.budget), "planned": m(self.planned), "actual": m(self.actual),
                "difference": m(self.difference), "contacts": self.contacts,
                "cost_per_contact": m(self.cost_per_contact), "leads": self.leads,
                "deals": self.deals, "won": self.won, "revenue": m(self.revenue),
                "margin": m(self.margin),
                "roi": None if self.roi is None else str(self.roi),
                "roi_percent": None if self.roi_percent is None else str(self.roi_percent)}


@dataclass
class VariantFigures:
    variant: CampaignVariant
    figures: Figures


@dataclass
class CampaignFigures:
    campaign: Campaign
    figures: Figures
    variants: list[VariantFigures] = field(default_factory=list)
    unassigned: Figures = field(default_factory=Figures)  # rows without a variant

    @property
    def currency(self) -> str:
        return self.campaign.currency


def _model(model: str) -> str:
    if model not in MODELS:
        raise ValidationFailed("model", N_("choose a value from the list"))
    return model


async def _figures(campaigns: list[Campaign], model: str) -> list[CampaignFigures]:
    """The figures of ``campaigns`` in five queries, whatever their number."""
    touch = _model(model)
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    cells: dict[tuple[int, int | None], Figures] = {}

    def cell(cid: int, vid: int | None) -> Figures:
        return cells.setdefault((cid, vid), Figures())

    variants = await CampaignVariant.filter(campaign_id__in=ids).order_by("id")
    # the costs
    p = _Params(dialect)
    sql = (f"SELECT campaign_id, variant_id, SUM(planned) AS planned, SUM(actual) AS actual "
           f"FROM campaign_cost WHERE campaign_id IN ({p.many(ids)}) "
           f"GROUP BY campaign_id, variant_id")
    for r in await conn.execute_query_dict(sql, p.values):
        c = cell(r["campaign_id"], r["variant_id"])
        c.planned, c.actual = _money(r["planned"]), _money(r["actual"])
    sqlite = dialect == "sqlite"

    def prefix(letter: str) -> str:
        """Rows whose subject starts with ``<letter>:`` — a range on the unique
        (subject, touch) index on SQLite (binary collation), LIKE on PostgreSQL."""
        return (f"subject >= '{letter}:' AND subject < '{letter};'" if sqlite
                else f"subject LIKE '{letter}:%'")

    # contacts gained = first-touch rows (counted on the covering index) less the
    # first-touch rows of leads and deals (a client has one first-touch row)
    p = _Params(dialect)
    sql = ("SELECT campaign_id, variant_id, COUNT(*) AS n FROM attribution "
           f"WHERE touch = 'first' AND campaign_id IN ({p.many(ids)}) "
           "GROUP BY campaign_id, variant_id")
    for r in await conn.execute_query_dict(sql, p.values):
        cell(r["campaign_id"], r["variant_id"]).contacts = int(r["n"] or 0)
    p = _Params(dialect)
    sql = ("SELECT campaign_id, variant_id, SUM(CASE WHEN touch = 'first' THEN 1 ELSE 0 END) "
           f"AS first_rows, COUNT(DISTINCT CASE WHEN subject LIKE 'a:%' THEN subject END) "
           f"AS leads FROM attribution WHERE (({prefix('a')}) OR ({prefix('d')})) "
           f"AND campaign_id IN ({p.many(ids)}) GROUP BY campaign_id, variant_id")
    for r in await conn.execute_query_dict(sql, p.values):
        c = cell(r["campaign_id"], r["variant_id"])
        c.contacts -= int(r["first_rows"] or 0)
        c.leads = int(r["leads"] or 0)
    # deals: their own attribution at the touch, else their client's; with the money of
    # their sold orders in the campaign's currency
    p = _Params(dialect)
    t1, t2 = p(touch), p(touch)
    sold = p.many(SOLD)
    wanted = p.many(ids)
    mat = "MATERIALIZED " if sqlite else ""  # SQLite: each made once; PostgreSQL: inlined
    sql = (
        f"WITH ca AS {mat}(SELECT client_id, campaign_id, variant_id FROM attribution"
        f"{' NOT INDEXED' if sqlite else ''} WHERE touch = {t1} AND subject LIKE 'c:%'), "
        f"da AS {mat}(SELECT CAST(SUBSTR(subject, 3) AS INTEGER) AS deal_id, "
        f"campaign_id, variant_id FROM attribution WHERE {prefix('d')} AND touch = {t2}), "
        f"sold AS {mat}(SELECT o.deal_id AS deal_id, o.currency AS currency, "
        "SUM(l.amount) AS revenue, SUM(COALESCE(l.cost, 0)) AS cost "
        "FROM sales_order o JOIN order_line l ON l.order_id = o.id "
        f"WHERE o.state IN ({sold}) AND o.deal_id IS NOT NULL "
        "GROUP BY o.deal_id, o.currency), "
        "att AS (SELECT d.id AS deal_id, d.stage_id AS stage_id, "
        "COALESCE(da.campaign_id, ca.campaign_id) AS campaign_id, "
        "CASE WHEN da.deal_id IS NULL THEN ca.variant_id ELSE da.variant_id END AS variant_id "
        "FROM deal d LEFT JOIN da ON da.deal_id = d.id "
        "LEFT JOIN ca ON ca.client_id = d.client_id WHERE d.archived_at IS NULL) "
        "SELECT att.campaign_id AS campaign_id, att.variant_id AS variant_id, "
        "COUNT(*) AS deals, SUM(CASE WHEN s.kind = 'won' THEN 1 ELSE 0 END) AS won, "
        "SUM(sold.revenue) AS revenue, SUM(sold.cost) AS cost "
        "FROM att JOIN campaign c ON c.id = att.campaign_id "
        "JOIN deal_stage s ON s.id = att.stage_id "
        "LEFT JOIN sold ON sold.deal_id = att.deal_id AND sold.currency = c.currency "
        f"WHERE att.campaign_id IN ({wanted}) GROUP BY att.campaign_id, att.variant_id")
    for r in await conn.execute_query_dict(sql, p.values):
        c = cell(r["campaign_id"], r["variant_id"])
        c.deals, c.won = int(r["deals"] or 0), int(r["won"] or 0)
        c.revenue, c.cost_of_sales = _money(r["revenue"]), _money(r["cost"])
    by_campaign = {c.id: CampaignFigures(campaign=c, figures=Figures(budget=c.budget))
                   for c in campaigns}
    known: set[tuple[int, int]] = set()
    for v in variants:
        f = cells.get((v.campaign_id, v.id), Figures())
        f.budget = v.budget
        by_campaign[v.campaign_id].variants.append(VariantFigures(v, f))
        known.add((v.campaign_id, v.id))
    for (cid, vid), f in cells.items():
        out = by_campaign[cid]
        out.figures.add(f)
        if vid is None or (cid, vid) not in known:  # a variant of another campaign
            out.unassigned.add(f)
    return [by_campaign[c.id] for c in campaigns]


async def campaign_figures(actor: User, campaign_id: int, model: str = "last"
                           ) -> CampaignFigures:
    """One campaign's figures with its variants side by side."""
    require_staff(actor)
    campaign = await get_campaign(actor, campaign_id)
    return (await _figures([campaign], model))[0]


async def figures_of(campaigns: list[Campaign], model: str = "last"
                     ) -> list[CampaignFigures]:
    """The figures of campaigns already chosen (a list page), in bounded queries."""
    return await _figures(campaigns, model)


async def roi_report(year: int, model: str = "last") -> list[CampaignFigures]:
    """Every campaign (not archived) that runs at some time of ``year``, with its
    figures; six queries whatever the number of campaigns."""
    if not isinstance(year, int) or not 1900 <= year <= 2999:
        raise ValidationFailed("year", N_("from {low} to {high}"), low=1900, high=2999)
    _model(model)
    campaigns = await Campaign.filter(running_in(year), archived_at__isnull=True).order_by(
        "-starts_on", "name", "id")
    return await _figures(campaigns, model)


def comparison(cf: CampaignFigures) -> list[dict[str, Any]]:
    """The variants side by side: one dict per variant (and the rows without a
    variant when there are some), with the campaign's share of contacts."""
    rows = []
    for vf in cf.variants:
        rows.append({"id": vf.variant.id, "name": vf.variant.name,
                     "channel": str(vf.variant.channel.value if hasattr(
                         vf.variant.channel, "value") else vf.variant.channel),
                     "archived": vf.variant.archived, **vf.figures.as_dict()})
    u = cf.unassigned
    if u.planned or u.actual or u.contacts or u.leads or u.deals:
        rows.append({"id": None, "name": None, "channel": None, "archived": False,
                     **u.as_dict()})
    return rows


def chart_points(cf: CampaignFigures) -> list[tuple[str, float, float, float, float]]:
    """(name, planned, actual, revenue, margin) per variant, for the chart."""
    return [(vf.variant.name, float(vf.figures.planned), float(vf.figures.actual),
             float(vf.figures.revenue), float(vf.figures.margin)) for vf in cf.variants]


# --- M-8: consumer group preferences -------------------------------------------------
@dataclass
class Preferences:
    segment_id: int | None
    segment: str | None
    members: int = 0
    categories: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"segment_id": self.segment_id, "segment": self.segment,
                "members": self.members, "categories": self.categories,
                "products": self.products, "channels": self.channels}


async def preferences(actor: User, campaign_id: int) -> Preferences:
    """What the campaign's segment buys and which channels brought its members."""
    from tortoise.functions import Count, Sum

    from models import Attribution, OrderLine
    from services.segments import members

    campaign = await get_campaign(actor, campaign_id)
    segment = campaign.segment
    if segment is None:
        return Preferences(None, None)
    out = Preferences(segment.id, segment.name)
    try:
        qs = await members(actor, segment.id)
    except Exception:  # noqa: BLE001 - a segment the viewer may not use shows nothing
        return out
    ids = Subquery(qs.values("id"))
    out.members = await qs.count()
    lines = OrderLine.filter(order__client_id__in=ids, order__state__in=SOLD)
    cats = await lines.annotate(buyers=Count("order__client_id", distinct=True)).group_by(
        "product__group_id", "product__group__name").order_by("-buyers").limit(TOP).values(
        "product__group_id", "product__group__name", "buyers")
    money = dict(
        ((r["product__group_id"]), r["revenue"]) for r in await lines.filter(
            order__currency=campaign.currency).annotate(revenue=Sum("amount")).group_by(
            "product__group_id").values("product__group_id", "revenue"))
    out.categories = [{"id": r["product__group_id"], "name": r["product__group__name"],
                       "buyers": int(r["buyers"]),
                       "revenue": f"{_money(money.get(r['product__group_id'])):.2f}"}
                      for r in cats]
    prods = await lines.annotate(buyers=Count("order__client_id", distinct=True)).group_by(
        "product_id", "product__name").order_by("-buyers").limit(TOP).values(
        "product_id", "product__name", "buyers")
    pmoney = dict((r["product_id"], r["revenue"]) for r in await lines.filter(
        product_id__in=[r["product_id"] for r in prods],
        order__currency=campaign.currency).annotate(revenue=Sum("amount")).group_by(
        "product_id").values("product_id", "revenue"))
    out.products = [{"id": r["product_id"], "name": r["product__name"],
                     "buyers": int(r["buyers"]),
                     "revenue": f"{_money(pmoney.get(r['product_id'])):.2f}"} for r in prods]
    chans = await Attribution.filter(client_id__in=Subquery(qs.values("id")), touch="first",
                                     subject__startswith="c:").annotate(
        clients=Count("client_id", distinct=True)).group_by("variant__channel").order_by(
        "-clients").values("variant__channel", "clients")
    out.channels = [{"channel": r["variant__channel"], "clients": int(r["clients"])}
                    for r in chans]
    return out
