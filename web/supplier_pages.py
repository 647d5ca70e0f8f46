"""/app/suppliers (M-8): the registry of marketing service suppliers — the list with a
search and the archived ones, a supplier's page (its client card is the dossier, its
services with the add, edit and archive forms, its campaigns with costs, contacts gained
and cost per contact) and the "Supplier" block of the client card. Changes go through
/api/v1/suppliers from kontakt.submitJson."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kontakt.formatting import money_text
from models import PartnerKind
from services import suppliers as svc
from services.errors import N_, NotFound
from web.pages import _guess_lang, render
from web.session import current_user

PAGE = 30


def _d(day) -> str:
    return day.strftime("%d.%m.%Y") if day else "—"


async def suppliers_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    q = (request.query.get("q") or "").strip()[:100]
    archived = request.query.get("archived") == "1"
    try:
        page = max(1, int(request.query.get("page") or 1))
    except ValueError:
        page = 1
    rows, total = await svc.list_suppliers(user, q=q, archived=archived,
                                           offset=(page - 1) * PAGE, limit=PAGE)
    candidates = []
    if svc.may_manage(user):
        candidates = await svc.candidates(user)
    return render(request, "suppliers.html", lang=str(user.language), user=user, q=q,
                  archived=archived, rows=rows, total=total, page=page,
                  pages=max(1, (total + PAGE - 1) // PAGE), may_manage=svc.may_manage(user),
                  candidates=candidates)


async def supplier_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["client_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("supplier")
        client, role = await svc.get_supplier(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Supplier not found"),
                      body_msg=N_("It does not exist or is not yours to see."))
    services = await svc.services_of(user, client.id)
    got = await svc.figures(user, client.id)
    return render(
        request, "supplier.html", lang=lang, user=user, client=client, role=role,
        since=_d(role.since), may_manage=svc.may_manage(user), currencies=svc.CURRENCIES,
        services=[_service_row(s) for s in services],
        campaigns=[{"id": r.campaign_id, "name": r.name, "starts": _d(r.starts_on),
                    "planned": money_text(r.planned, r.currency),
                    "actual": money_text(r.actual, r.currency),
                    "campaign_actual": money_text(r.campaign_actual, r.currency),
                    "contacts": r.contacts,
                    "per_contact": money_text(r.per_contact, r.currency)}
                   for r in got.campaigns],
        planned=", ".join(money_text(v, k) for k, v in sorted(got.planned.items())) or "—",
        actual=", ".join(money_text(v, k) for k, v in sorted(got.actual.items())) or "—")


def _service_row(s) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "unit": s.unit or "",
            "price": money_text(s.price, s.currency) if s.price is not None else "—",
            "price_raw": f"{s.price:.2f}".replace(".", ",") if s.price is not None else "",
            "currency": s.currency, "agreed_on": s.agreed_on.isoformat() if s.agreed_on
            else "", "valid_until": s.valid_until.isoformat() if s.valid_until else "",
            "period": " – ".join(_d(d) for d in (s.agreed_on, s.valid_until) if d),
            "note": s.note or "", "archived": s.archived}


async def client_supplier(request: web.Request, user, client,
                          roles: dict | None = None) -> dict[str, Any]:
    """The client card's "Supplier" block: the role, on or off, and the link;
    ``roles``: the client's partner roles when the card has read them already."""
    role = roles.get(PartnerKind.MARKETING_SUPPLIER) if roles is not None else \
        await svc.role_of(client.id)
    return {"supplier_role": role, "supplier_may_manage": svc.may_manage(user)}
