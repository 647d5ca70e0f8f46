"""/api/v1/campaigns: marketing campaigns (K-10, K-12) — the list (by year, state,
archived) with plan/fact and ROI, a campaign with its variants, costs and mailings,
making, changing, archiving, restoring and deleting them, the figures, the variants
side by side, the chart, the year's ROI report and the segment's preferences (M-8).
The rules are services.campaigns' and services.campaign_figures'."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.i18n import translator
from models import User
from services import campaign_charts
from services import campaign_figures as figs
from services import campaigns as svc
from services.errors import N_
from services.permissions import require_staff
from web.api.routes import api

TAGS = ["campaigns"]
MODEL = Literal["last", "first"]
S = {"default": None, "max_length": 5000}


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=1900, le=2999)
    state: Literal["planned", "running", "finished"] | None = None
    archived: bool = False
    model: MODEL = "last"


class ModelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: MODEL = "last"


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=1900, le=2999)
    model: MODEL = "last"


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(**S)
    starts_on: str | None = Field(default=None, max_length=20, description="yyyy-mm-dd or "
                                  "dd.mm.yyyy")
    ends_on: str | None = Field(default=None, max_length=20)
    budget: str | None = Field(default=None, max_length=30)
    currency: str | None = Field(default=None, max_length=3)
    state: str | None = Field(default=None, max_length=10)
    segment_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=10)
    creative: str | None = Field(**S)
    region_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    ad_source_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    promo_code: str | None = Field(default=None, max_length=40)
    landing_url: str | None = Field(default=None, max_length=500)
    budget: str | None = Field(default=None, max_length=30)
    archived: bool | None = None


class CostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str | None = Field(default=None, max_length=200)
    planned: str | None = Field(default=None, max_length=30)
    actual: str | None = Field(default=None, max_length=30)
    spent_on: str | None = Field(default=None, max_length=20)
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    supplier_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    service_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    quantity: str | None = Field(default=None, max_length=30)
    invoice_number: str | None = Field(default=None, max_length=40)
    invoice_date: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class MailingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mailing_id: int = Field(ge=1, le=2**31 - 1)
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class FiguresOut(BaseModel):
    budget: str
    planned: str
    actual: str
    difference: str
    contacts: int
    cost_per_contact: str | None
    leads: int
    deals: int
    won: int
    revenue: str
    margin: str
    roi: str | None = Field(description="(margin − actual cost) / actual cost, a ratio")
    roi_percent: str | None


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str | None
    state: str
    starts_on: date
    ends_on: date | None
    budget: str
    currency: str
    segment_id: int | None
    archived: bool
    figures: FiguresOut | None = None


class CampaignList(BaseModel):
    items: list[CampaignOut]
    may_manage: bool


class VariantOut(BaseModel):
    id: int
    name: str
    channel: str
    creative: str | None
    region_id: int | None
    ad_source_id: int | None
    promo_code: str | None
    link_token: str
    landing_url: str | None
    budget: str
    archived: bool


class CostOut(BaseModel):
    id: int
    item: str
    planned: str
    actual: str | None
    spent_on: date | None
    variant_id: int | None
    supplier_id: int | None
    service_id: int | None
    quantity: str | None
    invoice_number: str | None
    invoice_date: date | None
    note: str | None


class MailingOut(BaseModel):
    id: int
    mailing_id: int
    mailing: str
    variant_id: int | None


class CampaignDetail(CampaignOut):
    variants: list[VariantOut]
    costs: list[CostOut]
    mailings: list[MailingOut]
    may_manage: bool


class ComparisonRow(FiguresOut):
    id: int | None
    name: str | None = Field(description="none: the costs and contacts without a variant")
    channel: str | None
    archived: bool


class ComparisonOut(BaseModel):
    currency: str
    model: str
    campaign: FiguresOut
    variants: list[ComparisonRow]


class PreferencesOut(BaseModel):
    segment_id: int | None
    segment: str | None
    members: int
    categories: list[dict[str, Any]]
    products: list[dict[str, Any]]
    channels: list[dict[str, Any]]


def _m(v) -> str | None:
    return None if v is None else f"{v:.2f}"


def campaign_out(c, f: figs.Figures | None = None) -> CampaignOut:
    return CampaignOut(id=c.id, name=c.name, description=c.description,
                       state=str(c.state.value if hasattr(c.state, "value") else c.state),
                       starts_on=c.starts_on, ends_on=c.ends_on, budget=_m(c.budget),
                       currency=c.currency, segment_id=c.segment_id,
                       archived=c.archived_at is not None,
                       figures=FiguresOut(**f.as_dict()) if f is not None else None)


def variant_out(v) -> VariantOut:
    return VariantOut(id=v.id, name=v.name, channel=str(getattr(v.channel, "value", v.channel)),
                      creative=v.creative, region_id=v.region_id, ad_source_id=v.ad_source_id,
                      promo_code=v.promo_code, link_token=v.link_token,
                      landing_url=v.landing_url, budget=_m(v.budget), archived=v.archived)


def cost_out(c) -> CostOut:
    return CostOut(id=c.id, item=c.item, planned=_m(c.planned), actual=_m(c.actual),
                   spent_on=c.spent_on, variant_id=c.variant_id, supplier_id=c.supplier_id,
                   service_id=c.service_id,
                   quantity=None if c.quantity is None else format(c.quantity.normalize(), "f"),
                   invoice_number=c.invoice_number, invoice_date=c.invoice_date, note=c.note)


async def detail(user: User, campaign_id: int, model: str = "last") -> CampaignDetail:
    cf = await figs.campaign_figures(user, campaign_id, model)
    base = campaign_out(cf.campaign, cf.figures)
    links = await svc.mailings(campaign_id)
    return CampaignDetail(
        **base.model_dump(), variants=[variant_out(v) for v in await svc.variants(campaign_id)],
        costs=[cost_out(c) for c in await svc.costs(campaign_id)],
        mailings=[MailingOut(id=m.id, mailing_id=m.mailing_id, mailing=m.mailing.name,
                             variant_id=m.variant_id) for m in links],
        may_manage=await svc.may_manage(user))


def _body(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


@api.route("GET", "/campaigns", summary="Campaigns (of a year, a state, archived) with "
           "their plan/fact cost and ROI (K-10)", query=ListQuery, response=CampaignList,
           tags=TAGS)
async def campaigns_list(request: web.Request, user: User, query: ListQuery):
    found = await svc.list_campaigns(user, year=query.year, state=query.state,
                                     archived=query.archived)
    got = await figs.figures_of(found, query.model)
    return CampaignList(items=[campaign_out(cf.campaign, cf.figures) for cf in got],
                        may_manage=await svc.may_manage(user))


@api.route("POST", "/campaigns", summary="Make a campaign (admins and heads)",
           body=CampaignIn, response=CampaignDetail, tags=TAGS, status=201)
async def campaign_create(request: web.Request, user: User, body: CampaignIn):
    c = await svc.do_create_campaign(user, _body(body))
    return await detail(user, c.id)


@api.route("GET", "/campaigns/report", summary="The year's ROI report: every campaign "
           "running that year with its figures (K-12)", query=ReportQuery,
           response=CampaignList, tags=TAGS)
async def campaigns_report(request: web.Request, user: User, query: ReportQuery):
    require_staff(user)
    got = await figs.roi_report(query.year, query.model)
    return CampaignList(items=[campaign_out(cf.campaign, cf.figures) for cf in got],
                        may_manage=await svc.may_manage(user))


@api.route("GET", "/campaigns/{campaign_id}", summary="A campaign with its figures, "
           "variants, costs and mailings", query=ModelQuery, response=CampaignDetail,
           tags=TAGS)
async def campaign_get(request: web.Request, user: User, campaign_id: int, query: ModelQuery):
    return await detail(user, campaign_id, query.model)


@api.route("PATCH", "/campaigns/{campaign_id}", summary="Change a campaign",
           body=CampaignIn, response=CampaignDetail, tags=TAGS)
async def campaign_patch(request: web.Request, user: User, campaign_id: int,
                         body: CampaignIn):
    await svc.do_update_campaign(user, campaign_id, _body(body))
    return await detail(user, campaign_id)


@api.route("POST", "/campaigns/{campaign_id}/archive", summary="Archive a campaign",
           response=CampaignDetail, tags=TAGS)
async def campaign_archive(request: web.Request, user: User, campaign_id: int):
    await svc.do_archive_campaign(user, campaign_id, True)
    return await detail(user, campaign_id)


@api.route("POST", "/campaigns/{campaign_id}/unarchive", summary="Restore an archived "
           "campaign", response=CampaignDetail, tags=TAGS)
async def campaign_unarchive(request: web.Request, user: User, campaign_id: int):
    await svc.do_archive_campaign(user, campaign_id, False)
    return await detail(user, campaign_id)


@api.route("DELETE", "/campaigns/{campaign_id}", summary="Delete a campaign nothing is "
           "attributed to (else archive it)", tags=TAGS, status=204)
async def campaign_delete(request: web.Request, user: User, campaign_id: int):
    await svc.do_delete_campaign(user, campaign_id)
    return None


@api.route("GET", "/campaigns/{campaign_id}/comparison", summary="The variants side by "
           "side (K-12)", query=ModelQuery, response=ComparisonOut, tags=TAGS)
async def campaign_comparison(request: web.Request, user: User, campaign_id: int,
                              query: ModelQuery):
    cf = await figs.campaign_figures(user, campaign_id, query.model)
    return ComparisonOut(currency=cf.currency, model=query.model,
                         campaign=FiguresOut(**cf.figures.as_dict()),
                         variants=[ComparisonRow(**r) for r in figs.comparison(cf)])


@api.route("GET", "/campaigns/{campaign_id}/figures", summary="A campaign's figures",
           query=ModelQuery, response=FiguresOut, tags=TAGS)
async def campaign_figures(request: web.Request, user: User, campaign_id: int,
                           query: ModelQuery):
    cf = await figs.campaign_figures(user, campaign_id, query.model)
    return FiguresOut(**cf.figures.as_dict())


async def chart_png(user: User, campaign_id: int, model: str = "last") -> bytes:
    """The plan/fact and revenue/margin chart per variant, drawn in a thread."""
    cf = await figs.campaign_figures(user, campaign_id, model)
    gettext = translator(str(user.language))
    title = gettext(N_("Cost, revenue and margin by variant, {currency}")).format(
        currency=cf.currency)
    labels = (gettext(N_("Planned cost")), gettext(N_("Actual cost")),
              gettext(N_("Revenue")), gettext(N_("Margin")))
    return await asyncio.to_thread(campaign_charts.campaign_chart_png,
                                   figs.chart_points(cf), title, labels=labels,
                                   empty_text=gettext(N_("No variants yet")))


@api.route("GET", "/campaigns/{campaign_id}/chart.png", summary="Plan vs fact cost and "
           "revenue/margin per variant as a chart image", query=ModelQuery, tags=TAGS)
async def campaign_chart(request: web.Request, user: User, campaign_id: int,
                         query: ModelQuery):
    png = await chart_png(user, campaign_id, query.model)
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})


@api.route("GET", "/campaigns/{campaign_id}/preferences", summary="The campaign segment's "
           "preferences: what it buys, which channels bring it (M-8)",
           response=PreferencesOut, tags=TAGS)
async def campaign_preferences(request: web.Request, user: User, campaign_id: int):
    return PreferencesOut(**(await figs.preferences(user, campaign_id)).as_dict())


@api.route("POST", "/campaigns/{campaign_id}/variants", summary="Add a variant",
           body=VariantIn, response=VariantOut, tags=TAGS, status=201)
async def variant_create(request: web.Request, user: User, campaign_id: int, body: VariantIn):
    return variant_out(await svc.do_create_variant(user, campaign_id, _body(body)))


@api.route("PATCH", "/campaigns/{campaign_id}/variants/{variant_id}", summary="Change, "
           "archive or restore a variant", body=VariantIn, response=VariantOut, tags=TAGS)
async def variant_patch(request: web.Request, user: User, campaign_id: int, variant_id: int,
                        body: VariantIn):
    return variant_out(await svc.do_update_variant(user, campaign_id, variant_id, _body(body)))


@api.route("DELETE", "/campaigns/{campaign_id}/variants/{variant_id}", summary="Delete a "
           "variant nothing is attributed to", tags=TAGS, status=204)
async def variant_delete(request: web.Request, user: User, campaign_id: int, variant_id: int):
    await svc.do_delete_variant(user, campaign_id, variant_id)
    return None


@api.route("POST", "/campaigns/{campaign_id}/costs", summary="Add a cost item",
           body=CostIn, response=CostOut, tags=TAGS, status=201)
async def cost_create(request: web.Request, user: User, campaign_id: int, body: CostIn):
    return cost_out(await svc.do_create_cost(user, campaign_id, _body(body)))


@api.route("PATCH", "/campaigns/{campaign_id}/costs/{cost_id}", summary="Change a cost "
           "item", body=CostIn, response=CostOut, tags=TAGS)
async def cost_patch(request: web.Request, user: User, campaign_id: int, cost_id: int,
                     body: CostIn):
    return cost_out(await svc.do_update_cost(user, campaign_id, cost_id, _body(body)))


@api.route("DELETE", "/campaigns/{campaign_id}/costs/{cost_id}", summary="Delete a cost "
           "item", tags=TAGS, status=204)
async def cost_delete(request: web.Request, user: User, campaign_id: int, cost_id: int):
    await svc.do_delete_cost(user, campaign_id, cost_id)
    return None


@api.route("POST", "/campaigns/{campaign_id}/mailings", summary="Link a mailing (K-16) "
           "to the campaign", body=MailingIn, response=MailingOut, tags=TAGS, status=201)
async def mailing_link(request: web.Request, user: User, campaign_id: int, body: MailingIn):
    link = await svc.do_link_mailing(user, campaign_id, _body(body))
    return MailingOut(id=link.id, mailing_id=link.mailing_id, mailing=link.mailing.name,
                      variant_id=link.variant_id)


@api.route("DELETE", "/campaigns/{campaign_id}/mailings/{link_id}", summary="Unlink a "
           "mailing", tags=TAGS, status=204)
async def mailing_unlink(request: web.Request, user: User, campaign_id: int, link_id: int):
    await svc.do_unlink_mailing(user, campaign_id, link_id)
    return None
