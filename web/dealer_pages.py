"""/app/dealers: dealers in the Mini App (M-7) — the list (grade, revenue, won rate, a
search, the archived ones, a new dealer, the grades computed now, the grade settings
for admins) and a dealer's scorecard (its numbers for a chosen period, the grade with
its reason and the hand-set grade, the deals and orders through the dealer, the partner
scenarios); the "Dealer" line of the client card and the deal card's dealer picker.
Pages read services.dealer*; changes go through /api/v1/dealers (kontakt.submitJson)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kontakt.errors import error_line
from kontakt.formatting import date_text, money_text
from kontakt.i18n import translator
from models import PartnerKind
from services import dealer_cards as cards
from services import dealer_grades as grades
from services import dealers as svc
from services.dealer_figures import DealerFigures
from services.errors import NotFound, ValidationFailed
from services.permissions import is_admin
from web.pages import _guess_lang, render
from web.session import current_user


def _money(values: dict, currency: str | None = None) -> str:
    if currency is not None:
        return money_text(values.get(currency, 0), currency)
    return " · ".join(money_text(v, c) for c, v in sorted(values.items())) or "—"


def figures_view(f: DealerFigures, currency: str) -> dict[str, Any]:
    return {"deals": f.deals, "won": f.won, "lost": f.lost, "open": f.open,
            "won_rate": f"{f.won_rate}%" if f.won_rate is not None else "—",
            "orders": f.orders, "revenue": _money(f.revenue), "margin": _money(f.margin),
            "revenue_main": _money(f.revenue, currency),
            "contact": f"{f.contact_hours:g}" if f.contact_hours is not None else "—",
            "contacted": f.contacted, "claims": f.claims}


async def _period(request: web.Request, user, s: grades.GradeSettings
                  ) -> tuple[cards.Period, str | None]:
    lang = str(user.language)
    try:
        return cards.period(request.query.get("start"), request.query.get("end"),
                            user.timezone, s.period_days), None
    except ValidationFailed as exc:
        return cards.period(None, None, user.timezone, s.period_days), error_line(exc, lang)


async def dealers_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    gettext = translator(lang)
    s = await grades.grade_settings()
    p, error = await _period(request, user, s)
    q = (request.query.get("q") or "").strip()[:100]
    archived = request.query.get("archived") == "1"
    rows = await cards.dealer_list(user, p.since, p.till, query=q, archived=archived)
    return render(
        request, "dealers.html", lang=lang, user=user, period=p, error=error, q=q,
        archived=archived, settings=s, periods=grades.PERIODS, currencies=grades.CURRENCIES,
        rows=[{"id": r.role.client_id, "name": r.client.name, "grade": r.role.grade,
               "manual": r.role.grade_manual,
               "reason": r.reason.translated(gettext) if r.reason else "",
               "f": figures_view(r.figures, s.currency)} for r in rows],
        may_manage=svc.may_manage(user), is_admin=is_admin(user))


async def dealer_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    gettext = translator(lang)
    from kontakt.labels import process_name, stage_name

    try:
        client_id = int(request.match_info["client_id"])
        s = await grades.grade_settings()
        p, error = await _period(request, user, s)
        card = await cards.scorecard(user, client_id, p.since, p.till)
    except (ValueError, NotFound):
        raise web.HTTPNotFound() from None
    role = card.row.role

    def deal_row(d) -> dict[str, Any]:
        return {"id": d.id, "title": d.title, "stage": stage_name(d.stage, gettext),
                "process": process_name(d.process, gettext), "owner": d.owner.full_name,
                "amount": money_text(d.amount, d.currency) if d.amount is not None else "",
                "client": d.client.name}

    return render(
        request, "dealer.html", lang=lang, user=user, role=role, client=role.client,
        period=p, error=error, settings=s,
        f=figures_view(card.row.figures, s.currency),
        reason=card.row.reason.translated(gettext) if card.row.reason else "",
        since=role.since.strftime("%d.%m.%Y") if role.since else "",
        graded_at=date_text(role.graded_at, user.timezone) if role.graded_at else "",
        deals=[deal_row(d) for d in card.deals],
        orders=[{"id": o.id, "number": o.number, "state": str(o.state),
                 "total": money_text(o.total, o.currency),
                 "date": date_text(o.posted_at or o.created_at, user.timezone)}
                for o in card.orders],
        partner_deals=[deal_row(d) for d in card.partner_deals],
        processes=[(x.id, process_name(x, gettext)) for x in await cards.partner_processes()],
        may_manage=svc.may_manage(user), grades=svc.GRADES)


async def dealer_for_card(user, client_id: int, roles: dict | None = None) -> dict[str, Any]:
    """The client card's "Dealer" line: the role (active or not) and who may change it;
    ``roles``: the client's partner roles when the card has read them already."""
    role = roles.get(PartnerKind.DEALER) if roles is not None else \
        await svc.dealer_role(client_id)
    return {"dealer_role": role, "dealer_may_manage": svc.may_manage(user)}


async def dealer_for_deal(user, deal) -> dict[str, Any]:
    """The deal card's dealer and the dealers to choose from."""
    party = await svc.deal_dealer(deal.id)
    choices = await svc.active_dealers(user, limit=200)
    current = party.client if party is not None else None
    options = [(r.client_id, r.client.name) for r in choices
               if r.client_id != deal.client_id]  # a partner deal's own dealer is not it
    if current is not None and current.id not in {i for i, _ in options}:
        options.insert(0, (current.id, current.name))
    return {"deal_dealer": current, "dealer_options": options}
