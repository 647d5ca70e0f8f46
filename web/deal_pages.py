"""The Mini App's deal pages (issue 12: U-1, U-2, U-6): the pipeline (/app/deals: one
stage at a time on a phone with swipes and a "Move to…" sheet, columns on a wide
screen; static/deals.js over the JSON API) and the deal card (/app/deals/{id}: the
form, moves, won and lost, timeline, team, a task). The new-deal form and the move
sheet are shared with the client card (templates/_deal_parts.html)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

from kontakt import labels
from kontakt.formatting import local
from kontakt.i18n import translator
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user

CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")


def money_text(amount: Decimal | None, currency: str, lang: str) -> str:
    """"150 000 ₽", "2 500,50 $": the person's locale, kopecks only when there are any."""
    from babel.core import Locale
    from babel.numbers import format_currency

    if amount is None:
        return "—"
    locale = {"uk": "uk_UA", "ru": "ru_RU"}.get(lang, "en_GB")
    pattern = None
    if amount == amount.to_integral_value():
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace(".00", "")
    return format_currency(amount, currency, format=pattern, locale=locale,
                           currency_digits=pattern is None)


def amount_input(amount: Decimal | None, lang: str) -> str:
    """A sum as the form shows it to be changed: "250000", "2500,50" ("2500.50" in
    English); the service reads either."""
    if amount is None:
        return ""
    text = str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"
    return text.replace(".", ",") if lang in ("ru", "uk") else text


async def deal_strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/deals.js says, in the person's language."""
    i18n = request.app[I18N_KEY]

    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    return {
        "no_next_step": t(N_("⚠️ No next step")),
        "in_stage": t(N_("{n} d at the stage")),
        "more": t(N_("Show more")),
        "move_to": t(N_("Move to…")),
        "move_title": t(N_("Move “{title}” to…")),
        "empty": t(N_("No deals at this stage.")),
        "here": t(N_("it is here now")),
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "choose_reason": t(N_("Choose why the deal was lost.")),
        "choose_claim_reason": t(N_("Choose why the claim is rejected.")),
        "choose_client": t(N_("Choose the client from the list.")),
        "nothing_found": t(N_("Nothing found.")),
        "sure_archive": t(N_("Archive this deal? It leaves every list.")),
        "saved": t(N_("Saved.")),
        "kinds": {"open": "➡️", "won": "🏆", "lost": "❌"},
        "sure_remove_party": t(N_("Remove {who} from around the deal?")),
        "add_party": t(N_("Someone around the deal")),
        "edit_party": t(N_("Change: {who}")),
        "choose_who": t(N_("Choose the company from your clients.")),
        "company_only": t(N_("A competitor, a subcontractor or a partner is a company from "
                             "your clients.")),
        "percent": t(N_("a percent from 0 to 100")),
    }


async def _common(request: web.Request, user) -> dict[str, Any]:
    """What the new-deal form and the move sheet need (the sheet's reasons)."""
    from services import deals as svc
    from services.dictionaries import SEEDED_ITEM_NAMES

    lang = str(user.language)
    gettext = translator(lang)
    types = await svc.process_types()
    return {
        "process_types": [(p.id, labels.process_name(p, gettext)) for p in types],
        "currencies": CURRENCIES,
        "default_currency": svc.default_currency(user),
        "lost_reasons": [(r.id, labels.item_name(r, gettext, SEEDED_ITEM_NAMES))
                         for r in await svc.lost_reasons()],
        "claim_reasons": [(r.id, labels.item_name(r, gettext, SEEDED_ITEM_NAMES))
                          for r in await svc.lost_reasons("claim")],
        "deal_strings": await deal_strings(request, lang),
    }


async def client_deals(request: web.Request, user, client) -> dict[str, Any]:
    """The client card's open deals (U-2) and its new-deal form for that client."""
    from services import deal_lists

    lang = str(user.language)
    gettext = translator(lang)
    deals = await deal_lists.open_deals_of_client(user, client.id)
    return {"client_deals": [(d.id, d.title, labels.stage_name(d.stage, gettext),
                              money_text(d.amount, d.currency, lang) if d.amount is not None
                              else None) for d in deals],
            "fixed_client": client, **await _common(request, user)}


async def pipeline_page(request: web.Request) -> web.Response:
    """/app/deals[?process=<id>&stage=<id>]: the pipeline of one process."""
    from services import deals as svc

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    common = await _common(request, user)

    def number(name: str) -> int | None:
        raw = request.query.get(name, "")
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    ids = [pid for pid, _name in common["process_types"]]
    process = number("process")
    owners = await svc.deal_owners(user)
    return render(request, "deals.html", lang=str(user.language), user=user,
                  process_id=process if process in ids else (ids[0] if ids else None),
                  stage_id=number("stage"), owners=owners if len(owners) > 1 else [],
                  request_new=request.query.get("new") == "1", **common)


def _when(dt: datetime | None, tz: str) -> str:
    return local(dt, tz).strftime("%d.%m.%Y %H:%M") if dt else "—"


async def deal_page(request: web.Request) -> web.Response:
    """/app/deals/{id}: the deal card."""
    from kontakt.history import SOURCES
    from services import activities as activity_service
    from services import contacts as contact_service
    from services import deal_cards, deal_lists
    from services import deals as svc
    from services.clock import utcnow
    from services.dictionaries import SEEDED_ITEM_NAMES
    from services.errors import NotFound

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    gettext = translator(lang)
    raw = request.match_info["deal_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("deal")
        card = await deal_cards.deal_card(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Deal not found"),
                      body_msg=N_("It does not exist, was archived, or is not yours to see."))
    deal = card.deal
    tz = user.timezone
    timeline: list[tuple[datetime, str, str, str]] = []  # when, icon, text, testid
    for e in card.events:
        who = e.user.full_name if e.user else gettext("Kontakt")
        where = gettext(SOURCES[e.source]) if e.source in SOURCES else e.source
        to = labels.stage_name(e.to_stage, gettext)
        if e.from_stage is None:
            what = gettext("created the deal at «{stage}»").format(stage=to)
        else:
            what = f"«{labels.stage_name(e.from_stage, gettext)}» → «{to}»"
        icon = {"won": "🏆", "lost": "❌"}.get(str(e.to_stage.kind), "➡️")
        timeline.append((e.at, icon, f"{_when(e.at, tz)} · {who} ({where}): {what}",
                         "timeline-event"))
    for a in card.activities:
        at = a.starts_at or a.created_at
        state = gettext(str(a.state))
        kind = labels.type_name(a.type.code, a.type.name, gettext)
        text = f"{_when(a.starts_at, tz)} · {kind}: {a.title} · {state}"
        if a.result:
            text += f" · {a.result}"
        timeline.append((at, a.type.icon, text, "timeline-activity"))
    timeline.sort(key=lambda x: x[0], reverse=True)
    from services.dictionaries import AD_SOURCE, ensure_system_dictionaries, list_items
    from services.staff import list_staff

    await ensure_system_dictionaries()
    sources = await list_items(AD_SOURCE, limit=500)
    contacts = await contact_service.list_contacts(user, deal.client_id)
    team_ids = {u.id for u in card.team}
    people = [p for p in await list_staff(user) if p.id != deal.owner_id]
    owners = await svc.deal_owners(user)
    if owners and deal.owner_id not in {p.id for p in owners}:
        owners = [deal.owner, *owners]
    from services.activities import list_products
    from web.api.deals import environment_out, probability_out
    from web.dealer_pages import dealer_for_deal
    from web.order_pages import orders_for_card

    chances = await probability_out(deal, gettext, lang)
    env = await environment_out(user, deal.id)
    is_claim = str(deal.process.kind) == "claim"
    claim: dict[str, Any] = {}
    if is_claim:
        claim = {"subjects": [
            (d.id, " · ".join(x for x in (
                d.title, labels.stage_name(d.stage, gettext),
                money_text(d.amount, d.currency, lang) if d.amount is not None else None)
                if x)) for d in await deal_lists.claim_subjects(user, deal)],
            "products": [(p.id, p.name) for p in await list_products()]}
        if deal.parent_id and deal.parent_id not in {i for i, _ in claim["subjects"]}:
            claim["subjects"].insert(0, (deal.parent_id, deal.parent.title))
        if deal.product_id and deal.product_id not in {i for i, _ in claim["products"]}:
            claim["products"].insert(0, (deal.product_id, deal.product.name))
    closing = {str(s.kind): labels.stage_name(s, gettext) for s in card.stages
               if str(s.kind) != "open"} if is_claim else {}
    common = await _common(request, user)
    return render(
        request, "deal.html", lang=lang, user=user, deal=deal, card=card,
        stage_name=labels.stage_name(deal.stage, gettext),
        process_name=labels.process_name(deal.process, gettext),
        days=max(0, (utcnow() - card.in_stage_since).days),
        amount_text=money_text(deal.amount, deal.currency, lang),
        amount_input=amount_input(deal.amount, lang),
        next_text=(_when(card.next_step.starts_at, tz) + " · " + card.next_step.title)
        if card.next_step else None,
        chances=chances, env=env, env_json=env.model_dump(mode="json"),
        role_names=labels.PARTY_ROLES, stance_names=labels.STANCES,
        stance_icons=labels.STANCE_ICONS, link_names=labels.LINK_KINDS,
        is_claim=is_claim, claim=claim, closing=closing, timeline=timeline,
        sources=[(i.id, labels.item_name(i, gettext, SEEDED_ITEM_NAMES))
                 for i in sources],
        source_name=labels.item_name(deal.source, gettext, SEEDED_ITEM_NAMES)
        if deal.source else None,
        lost_reason=labels.item_name(deal.lost_reason, gettext, SEEDED_ITEM_NAMES)
        if deal.lost_reason else None,
        contacts=[(c.id, " ".join(x for x in (c.last_name, c.first_name, c.middle_name) if x))
                  for c in contacts],
        owners=owners if len(owners) > 1 else [], team=card.team,
        candidates=[p for p in people if p.id not in team_ids],
        types=[(t.code or str(t.id), f"{t.icon} "
                + labels.type_name(t.code, t.name, gettext))
               for t in await activity_service.list_types()],
        closed=str(deal.stage.kind) != "open", **common,
        **await dealer_for_deal(user, deal),  # M-7
        **await orders_for_card(request, user, deal.client_id, deal.id))


# ---- the deal reports (U-5, U-6, U-7) ---------------------------------------------------

LOST_VIEWS = {"reason": N_("by reason"), "competitor": N_("by competitor"),
              "stage": N_("by stage"), "owner": N_("by manager")}


def _days(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang in ("ru", "uk") else text


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}\u00a0%"


async def deal_reports_page(request: web.Request) -> web.Response:
    """/app/deals/reports: the cohort funnel of a process for a period (table and chart,
    bottlenecks marked) with the weighted pipeline, lost deals by reason, competitor,
    stage or manager, the probability model's Brier score against the stage-only
    baseline, and claims per client and product. The numbers are the JSON API's
    (web.api.deal_reports), drawn here as HTML bars."""
    from datetime import date, time, timedelta
    from zoneinfo import ZoneInfo

    from services import deal_stats
    from services import deals as svc
    from services.clock import utcnow
    from services.errors import NotFound
    from web.api import deal_reports as reports

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    gettext = translator(lang)
    tz = ZoneInfo(user.timezone)
    today = utcnow().astimezone(tz).date()
    this_q, next_q = reports.quarter(today)
    last_q = reports.quarter(this_q - timedelta(days=1))[0]
    error = None

    def number(name: str) -> int | None:
        raw = request.query.get(name, "")
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    try:
        first = date.fromisoformat(request.query.get("from") or str(this_q))
        last = date.fromisoformat(request.query.get("to") or str(next_q - timedelta(days=1)))
        if last < first:
            raise ValueError
    except ValueError:
        error = gettext(N_("The period is not valid: give two dates, the first not after "
                           "the second."))
        first, last = this_q, next_q - timedelta(days=1)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    types = [p for p in await svc.process_types() if str(p.kind) != "claim"]
    process_id = number("process")
    if process_id not in {p.id for p in types}:
        process_id = next((p.id for p in types if str(p.kind) == "sale"),
                          types[0].id if types else None)
    departments = await deal_stats.report_departments(user)
    owners = await svc.deal_owners(user)
    department_id = number("department")
    if department_id not in {d.id for d in departments}:
        department_id = None
    owner_id = number("owner")
    if owner_id not in {p.id for p in owners} or len(owners) < 2:
        owner_id = None
    lost_by = request.query.get("lost_by", "reason")
    if lost_by not in LOST_VIEWS:
        lost_by = "reason"
    try:
        funnel = await reports.funnel_out(user, reports.FunnelQuery(
            process_id=process_id, start=start, end=end, department_id=department_id,
            owner_id=owner_id))
        brier = await reports.brier_out(user, reports.BrierQuery(process_id=process_id))
    except NotFound:
        funnel = brier = None
    whose = {"department_id": department_id, "owner_id": owner_id}
    lost = await reports.lost_out(user, reports.LostQuery(
        by=lost_by, start=start, end=end, process_id=process_id, **whose))
    claims_client = await reports.claims_out(user, reports.ClaimQuery(
        by="client", start=start, end=end, **whose))
    claims_product = await reports.claims_out(user, reports.ClaimQuery(
        by="product", start=start, end=end, **whose))
    widest = max([r.entered for r in funnel.rows] if funnel else [], default=0) or 1
    longest = max([r.p90_days or 0 for r in funnel.rows] if funnel else [], default=0) or 1
    most_lost = max([line.count for line in lost.lines], default=0) or 1

    def sums(amounts: dict[str, str]) -> str:
        return " + ".join(money_text(Decimal(v), k, lang) for k, v in amounts.items()) or "—"

    def link(**changes: Any) -> str:
        from urllib.parse import urlencode

        params = {"from": first.isoformat(), "to": last.isoformat(),
                  "process": process_id or "", "department": department_id or "",
                  "owner": owner_id or "", "lost_by": lost_by, **changes}
        return "/app/deals/reports?" + urlencode({k: v for k, v in params.items() if v})

    presets = [(N_("This quarter"), this_q, next_q - timedelta(days=1)),
               (N_("Last quarter"), last_q, this_q - timedelta(days=1)),
               (N_("This month"), today.replace(day=1), today),
               (N_("This year"), date(today.year, 1, 1), date(today.year, 12, 31))]
    return render(
        request, "deal_reports.html", lang=lang, user=user, error=error,
        first=first.isoformat(), last=last.isoformat(),
        period_text=f"{first:%d.%m.%Y} – {last:%d.%m.%Y}",
        presets=[(gettext(name), link(**{"from": a.isoformat(), "to": b.isoformat()}),
                  (a, b) == (first, last)) for name, a, b in presets],
        process_types=[(p.id, labels.process_name(p, gettext)) for p in types],
        process_id=process_id, departments=departments, department_id=department_id,
        owners=owners if len(owners) > 1 else [], owner_id=owner_id,
        funnel=funnel, widest=widest, longest=longest, brier=brier,
        lost=lost, lost_by=lost_by, most_lost=most_lost,
        lost_views=[(code, gettext(name), link(lost_by=code)) for code, name in
                    LOST_VIEWS.items()],
        claims_client=claims_client, claims_product=claims_product,
        sums=sums, days=lambda v: _days(v, lang), percent=_percent,
        score=lambda v: "—" if v is None else
        (f"{v:.3f}".replace(".", ",") if lang in ("ru", "uk") else f"{v:.3f}"),
        deal_strings=await deal_strings(request, lang))
