"""/app/loyalty: loyalty cards in the Mini App (U-9) — the analysis (repeat rate,
churn by cohort, the interval between orders) with its period and churn days, the
cards one sees with a search, a card's page (its moves, the redeem and adjust forms,
edit, block, archive) and the program's form for admins (/app/loyalty/program).
Pages read services.loyalty*; changes go through /api/v1/loyalty from
static/loyalty.js."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from kontakt.errors import error_line
from kontakt.formatting import date_text, money_text, when_text
from services import loyalty as svc
from services import loyalty_analysis as analysis_svc
from services import loyalty_cards as cards
from services import loyalty_points as points
from services import loyalty_run as runner
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import is_admin
from web.pages import _guess_lang, render
from web.session import current_user

PAGE = 30
KINDS = {"accrual": N_("Accrual"), "redemption": N_("Redemption"),
         "adjustment": N_("Adjustment"), "expiry": N_("Expiry"),
         "reversal": N_("Order cancelled")}


def _int(raw: str | None, default: int) -> int:
    try:
        return max(1, int(raw or default))
    except ValueError:
        return default


async def loyalty_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    q = request.query
    error = None
    try:
        got = await analysis_svc.analysis(user, start=q.get("start"), end=q.get("end"),
                                          days=q.get("days"))
    except ValidationFailed as exc:
        error = error_line(exc, lang)
        got = await analysis_svc.analysis(user)
    page = _int(q.get("page"), 1)
    text = (q.get("q") or "").strip()[:100]
    views, total = await cards.list_cards(user, q=text, offset=(page - 1) * PAGE,
                                          limit=PAGE)
    prog = await svc.program()
    last = await runner.last_run()
    return render(
        request, "loyalty.html", lang=lang, user=user, a=got, error=error,
        rows=[_card_row(v, prog.currency) for v in views], total=total, page=page,
        pages=max(1, (total + PAGE - 1) // PAGE), q=text, program=prog,
        last_at=when_text(datetime.fromisoformat(last["at"]), user.timezone, lang)
        if last and last.get("at") else None,
        may_run=svc.may_run(user), is_admin=is_admin(user))


def _card_row(v: cards.CardView, currency: str) -> dict[str, Any]:
    c = v.card
    return {"id": c.id, "number": c.number, "client": c.client.name,
            "client_id": c.client_id, "tier": c.tier.name if c.tier else "—",
            "balance": v.balance, "blocked": c.blocked, "archived": c.archived,
            "spend": money_text(c.spend, currency)}


async def card_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["card_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("loyalty card")
        view = await cards.card_view(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Loyalty card not found"),
                      body_msg=N_("It does not exist or is not yours to see."))
    prog = await svc.program()
    moves = await points.moves(user, view.card.id)
    orders = await points.open_orders(user, view.card.id)
    return render(
        request, "loyalty_card.html", lang=lang, user=user, c=_card_row(view, prog.currency),
        card=view.card, program=prog, kinds=KINDS,
        point_value=money_text(prog.point_value, prog.currency),
        issued=date_text(view.card.issued_at, user.timezone),
        moves=[{"kind": str(m.kind.value), "points": m.points,
                "when": date_text(m.created_at, user.timezone),
                "order": m.order.number if m.order else None, "order_id": m.order_id,
                "amount": money_text(m.amount, prog.currency) if m.amount is not None
                else None, "reason": m.reason,
                "author": m.author.full_name if m.author else None,
                "expires": date_text(m.expires_at, user.timezone)
                if m.expires_at and not m.expired and m.points > 0 else None}
               for m in moves],
        orders=[{"id": o.id, "number": o.number, "total": money_text(o.total, o.currency)}
                for o in orders])


async def program_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    if not is_admin(user):
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("Admins only"),
                      body_msg=N_("The loyalty program is set by an admin."))
    prog = await svc.program()
    from services.discount_admin import list_groups

    groups = [g for g, _rates in await list_groups(archived=False)]
    return render(request, "loyalty_program.html", lang=lang, user=user,
                  program=prog.as_dict(), groups=groups)
