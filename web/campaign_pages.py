"""/app/campaigns: marketing campaigns in the Mini App (K-10, K-12) — the list (by
year, state, archived) with plan/fact cost and ROI per row and a form to make one, and
a campaign's card: budget, plan vs fact, contacts, cost per contact, deals, revenue,
margin, ROI, the chart, the variants side by side, the cost items and variants with
their forms, the linked mailings and the segment's preferences (M-8). Pages read
services.campaigns / services.campaign_figures; changes go through /api/v1/campaigns
(kontakt.submitJson keeps the draft when the answer is an error)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from kontakt.formatting import money_text
from models import CampaignState, VariantChannel
from services import campaign_figures as figs
from services import campaigns as svc
from services.clock import utcnow
from services.dictionaries import list_items
from services.errors import N_, NotFound
from services.segments import list_segments
from web.pages import _guess_lang, render
from web.session import current_user

STATES = {"planned": N_("Planned"), "running": N_("Running"), "finished": N_("Finished")}
CHANNELS = {"email": N_("E-mail"), "sms": N_("SMS"), "social": N_("Social networks"),
            "search": N_("Search ads"), "display": N_("Banners, contextual ads"),
            "print": N_("Print"), "outdoor": N_("Outdoor"), "event": N_("Event"),
            "referral": N_("Referral"), "web": N_("Own site"), "other": N_("Other")}
assert set(STATES) == {s.value for s in CampaignState}
assert set(CHANNELS) == {c.value for c in VariantChannel}


def _pct(v: Decimal | None) -> str:
    return "—" if v is None else f"{v:+.1f}".replace(".", ",") + " %"


def figures_view(f: figs.Figures, currency: str) -> dict[str, Any]:
    """The figures as text (money the project's way)."""
    m = lambda v: money_text(v, currency)  # noqa: E731
    return {"budget": m(f.budget), "planned": m(f.planned), "actual": m(f.actual),
            "difference": m(f.difference), "over": f.difference > 0,
            "contacts": f.contacts, "cpc": m(f.cost_per_contact)
            if f.cost_per_contact is not None else "—", "leads": f.leads, "deals": f.deals,
            "won": f.won, "revenue": m(f.revenue), "margin": m(f.margin),
            "roi": _pct(f.roi_percent), "roi_negative": f.roi is not None and f.roi < 0}


def _year(raw: str | None) -> int | None:
    if raw == "all":
        return None
    try:
        y = int(raw or utcnow().year)
    except ValueError:
        return utcnow().year
    return y if 1900 <= y <= 2999 else utcnow().year


async def campaigns_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    q = request.query
    year = _year(q.get("year"))
    state = q.get("state") if q.get("state") in STATES else None
    archived = q.get("archived") == "1"
    model = "first" if q.get("model") == "first" else "last"
    found = await svc.list_campaigns(user, year=year, state=state, archived=archived)
    rows = [{"id": cf.campaign.id, "name": cf.campaign.name,
             "state": str(cf.campaign.state.value),
             "dates": _dates(cf.campaign), "f": figures_view(cf.figures, cf.currency)}
            for cf in await figs.figures_of(found, model)]
    now_year = utcnow().year
    return render(request, "campaigns.html", lang=lang, user=user, rows=rows, year=year,
                  years=list(range(now_year + 1, now_year - 5, -1)), state=state,
                  archived=archived, model=model, states=STATES,
                  may_manage=await svc.may_manage(user),
                  segments=await _segments(user),
                  today=utcnow().date().isoformat())


def _dates(c) -> str:
    start = c.starts_on.strftime("%d.%m.%Y")
    return f"{start} – {c.ends_on.strftime('%d.%m.%Y')}" if c.ends_on else f"{start} –"


async def _items(code: str) -> list[dict[str, Any]]:
    try:
        items = await list_items(code)
    except NotFound:
        return []
    return [{"id": i.id, "name": i.name} for i in items]


async def _segments(user) -> list[dict[str, Any]]:
    """The segments the person may use (their own and the shared ones)."""
    return [{"id": g.id, "name": g.name} for g in await list_segments(user)]


async def campaign_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["campaign_id"]
    model = "first" if request.query.get("model") == "first" else "last"
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("campaign")
        cf = await figs.campaign_figures(user, int(raw), model)
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Campaign not found"),
                      body_msg=N_("It does not exist or was deleted."))
    c, cur = cf.campaign, cf.currency
    names = {vf.variant.id: vf.variant.name for vf in cf.variants}
    costs = [{"id": x.id, "item": x.item, "planned": money_text(x.planned, cur),
              "actual": money_text(x.actual, cur) if x.actual is not None else "—",
              "planned_raw": f"{x.planned:.2f}",
              "actual_raw": "" if x.actual is None else f"{x.actual:.2f}",
              "spent_on": x.spent_on.strftime("%d.%m.%Y") if x.spent_on else "",
              "spent_on_iso": x.spent_on.isoformat() if x.spent_on else "",
              "variant_id": x.variant_id, "variant": names.get(x.variant_id),
              "supplier_id": x.supplier_id, "service_id": x.service_id,
              "supplier": x.supplier.name if x.supplier else None,
              "quantity": "" if x.quantity is None else format(x.quantity.normalize(), "f"),
              "invoice_number": x.invoice_number or "",
              "invoice_date_iso": x.invoice_date.isoformat() if x.invoice_date else "",
              "invoice_date": x.invoice_date.strftime("%d.%m.%Y") if x.invoice_date else ""}
             for x in await svc.costs(c.id)]
    variants = [{"v": vf.variant, "channel": str(vf.variant.channel.value),
                 "f": figures_view(vf.figures, cur)} for vf in cf.variants]
    unassigned = cf.unassigned
    suppliers = await svc.supplier_choices()
    links = await svc.mailings(c.id)
    return render(
        request, "campaign.html", lang=lang, user=user, c=c, cur=cur, model=model,
        f=figures_view(cf.figures, cur), variants=variants,
        unassigned=figures_view(unassigned, cur) if (
            unassigned.planned or unassigned.actual or unassigned.contacts
            or unassigned.deals) else None,
        costs=costs, states=STATES, channels=CHANNELS, dates=_dates(c),
        may_manage=await svc.may_manage(user), suppliers=suppliers,
        regions=await _items("region"), sources=await _items("ad_source"),
        segments=await _segments(user),
        mailings=[{"id": m.id, "name": m.mailing.name,
                   "variant": names.get(m.variant_id)} for m in links],
        mailing_choices=await svc.mailing_choices(),
        services=await svc.service_choices(),
        prefs=_prefs(await figs.preferences(user, c.id), cur),
        archived=c.archived_at is not None)


def _prefs(p: figs.Preferences, currency: str) -> figs.Preferences:
    """The preferences with their sums as text (money the project's way)."""
    for row in p.categories + p.products:
        row["money"] = money_text(Decimal(row["revenue"]), currency)
    return p
