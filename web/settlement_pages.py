"""The Mini App's settlements (issue 14: K-6, M-6, S-23): the client card's "💰 Settlements"
section (balances, open invoices, the last payments, the payment terms and, for heads and
admins, the payment / credit note / adjustment sheet), the client's ledger
(/app/clients/{id}/ledger) and the receivables report (/app/settlements: aging on a date,
DSO, payments against shipments). Pages are drawn from services.ledger*, changes go
through the JSON API (web/api/ledger.py) from static/settlements.js.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from kontakt.formatting import money_text
from models import EntryKind
from models.settlements import CREDITS, DEBITS
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user

KINDS = {  # icon, word: the ledger never shows a raw code
    "invoice": ("🧾", N_("Invoice")),
    "shipment": ("🚚", N_("Shipment")),
    "payment": ("💵", N_("Payment")),
    "credit_note": ("↩️", N_("Credit note")),
    "debit": ("➕", N_("Adjustment up")),
    "credit": ("➖", N_("Adjustment down")),
    "refund": ("💸", N_("Refund to the client")),
}
BASES = {"invoice": N_("days after the invoice"), "shipment": N_("days after the shipment"),
         "month_end": N_("days after the end of the invoice's month")}
BUCKETS = (("current", N_("not due")), ("d1_30", N_("1–30 days")),
           ("d31_60", N_("31–60 days")), ("d61_90", N_("61–90 days")),
           ("over_90", N_("over 90 days")))
CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")
LEDGER_PAGE = 30


def _t(request: web.Request, lang: str):
    i18n = request.app[I18N_KEY]
    return lambda text: i18n.gettext(text, locale=lang)


def day(d: date | None) -> str:
    return d.strftime("%d.%m.%Y") if d else "—"


def strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/settlements.js says, in the person's language."""
    t = _t(request, lang)
    return {
        "kinds": {k: [icon, t(word)] for k, (icon, word) in KINDS.items()},
        "titles": {"payment": t(N_("+ Payment")), "credit_note": t(N_("Credit note")),
                   "adjustment": t(N_("Adjustment"))},
        "bad_date": t(N_("a date like 31.12.2025")),
        "date": t(N_("Date")),
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "balance_after": t(N_("balance {amount}")),
        "voided": t(N_("voided")),
        "void": t(N_("Void")),
        "no_effect": t(N_("does not change the balance")),
        "due": t(N_("due {date}")),
    }


def _pair_name(b) -> str:
    return " ↔ ".join(x for x in (b.legal_entity, b.own_entity) if x)


async def client_settlements(request: web.Request, user, client) -> dict[str, Any]:
    """The client card's "💰 Settlements" section (K-6, M-6)."""
    from services import ledger, payment_terms
    from services.permissions import Action, can

    lang = str(user.language)
    t = _t(request, lang)
    balances = await ledger.balances(user, client.id)
    items = await ledger.open_items(user, client.id)
    lines, _total = await ledger.ledger(user, client.id, limit=100)
    terms = await payment_terms.get_terms(user, client.id)
    currencies = list(dict.fromkeys([b.currency for b in balances] +
                                    [i.currency for i in items] + list(CURRENCIES)))
    return {"settle": {
        "balances": [{
            "pair": _pair_name(b), "currency": b.currency,
            "owed": money_text(b.owed, b.currency),
            "overdue": money_text(b.overdue, b.currency) if b.overdue > 0 else None,
            "oldest_due": day(b.oldest_due) if b.oldest_due else None,
            "credit": money_text(b.credit, b.currency) if b.credit > 0 else None,
        } for b in balances],
        "open": [{
            "id": i.id, "number": i.number or "—", "dated": day(i.dated), "due": day(i.due),
            "open": money_text(i.open, i.currency), "currency": i.currency,
            "days_overdue": i.days_overdue,
            "label": f"№ {i.number or '—'} · {day(i.dated)} · "
                     f"{money_text(i.open, i.currency)}",
            "word": t(KINDS[str(i.kind)][1]), "order_id": i.order_id,
        } for i in items],
        "payments": [{
            "dated": day(ln.dated), "amount": money_text(ln.amount, ln.currency),
            "number": ln.number, "note": ln.note,
        } for ln in lines if ln.kind == EntryKind.PAYMENT and not ln.void][:5],
        "terms": {"basis": str(terms.basis), "days": terms.days, "own": terms.own,
                  "text": f"{terms.days} {t(BASES[str(terms.basis)])}"},
        "bases": [(k, t(v)) for k, v in BASES.items()],
        "may_record": await can(user, Action.RECORD_PAYMENTS),
        "credit": await _credit(user, client.id),
        "currencies": currencies,
        "today": day(ledger.today_of(user)),
    }, "settle_strings": strings(request, lang)}


def _typed(amount: Decimal) -> str:
    """500000 → "500000", 1500.5 → "1500,50": as a person would type it back."""
    return str(int(amount)) if amount == amount.to_integral_value() else \
        f"{amount:.2f}".replace(".", ",")


async def _credit(user, client_id: int) -> dict[str, Any]:
    """The card's credit limit (A-15): the limit, what the client owes or has ordered
    against it, what is free; heads and admins change it."""
    from services import credit
    from services.ledger import today_of
    from services.permissions import Action, can

    limit, exp = await credit.client_exposure(user, client_id, today_of(user))
    company = await credit.company_credit()
    return {
        "limit": money_text(limit.amount, limit.currency) if limit else None,
        "used": money_text(exp.total, exp.currency),
        "free": money_text(limit.amount - exp.total, limit.currency) if limit else None,
        "over": bool(limit and exp.total > limit.amount),
        "overdue_days": limit.overdue_days if limit else company.overdue_days,
        "own_days": bool(limit and limit.own_days),
        "amount_input": _typed(limit.amount) if limit else "",
        "currency": limit.currency if limit else "RUB",
        "may_set": await can(user, Action.SET_CREDIT_LIMITS),
    }


def _line(ln, t) -> dict[str, Any]:
    icon, word = KINDS[str(ln.kind)]
    sign = "+" if ln.kind in DEBITS else "−" if ln.kind in CREDITS else ""
    return {"id": ln.id, "kind": str(ln.kind), "icon": icon, "word": t(word),
            "number": ln.number, "dated": day(ln.dated),
            "due": day(ln.due) if ln.due else None, "note": ln.note, "void": ln.void,
            "amount": sign + money_text(ln.amount, ln.currency),
            "running": money_text(ln.running, ln.currency),
            "moves": ln.kind != EntryKind.SHIPMENT}


async def ledger_page(request: web.Request) -> web.Response:
    """/app/clients/{id}/ledger: the entries newest first with the running balance;
    heads and admins void one with a reason (K-6)."""
    from services import ledger
    from services.permissions import Action, can
    from web.card import page_client

    user, client, refused = await page_client(request)
    if refused is not None:
        return refused
    lang = str(user.language)
    t = _t(request, lang)
    lines, total = await ledger.ledger(user, client.id, limit=LEDGER_PAGE)
    return render(request, "client_ledger.html", lang=lang, user=user, client=client,
                  lines=[_line(ln, t) for ln in lines], total=total, page=LEDGER_PAGE,
                  may_void=await can(user, Action.RECORD_PAYMENTS),
                  settle_strings=strings(request, lang))


def _date_arg(request: web.Request, name: str, default: date) -> tuple[date, bool]:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default, True
    try:
        return date.fromisoformat(raw), True
    except ValueError:
        return default, False


def _bar(buckets: dict[str, Decimal], widest: Decimal) -> list[tuple[str, float]]:
    total = sum(buckets.values(), Decimal(0))
    if total <= 0 or widest <= 0:
        return []
    return [(b, float(buckets[b] / widest * 100)) for b, _w in BUCKETS if buckets[b] > 0]


async def settlements_page(request: web.Request) -> web.Response:
    """/app/settlements: aging on a date by client / manager / department with DSO for the
    last 90 days (K-6); ?tab=s23: payments against shipments for a period (S-23)."""
    from services import ledger, ledger_reports
    from services.errors import ValidationFailed

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    t = _t(request, lang)
    today = ledger.today_of(user)
    tab = "s23" if request.query.get("tab") == "s23" else "aging"
    error = None
    ctx: dict[str, Any] = {"tab": tab, "today": today.isoformat(),
                           "buckets": [(k, t(v)) for k, v in BUCKETS]}
    if tab == "aging":
        on, good = _date_arg(request, "on", today)
        if not good:
            error = t(N_("a date like 31.12.2025"))
        by = request.query.get("by", "client")
        if by not in ("client", "manager", "department"):
            by = "client"
        rows = await ledger_reports.aging(user, on, by=by)
        widest: dict[str, Decimal] = {}
        totals: dict[str, dict[str, Decimal]] = {}
        for r in rows:
            widest[r.currency] = max(widest.get(r.currency, Decimal(0)), r.total)
            sums = totals.setdefault(r.currency, {b: Decimal(0) for b, _w in BUCKETS})
            for b, v in r.buckets.items():
                sums[b] += v
        nobody = {"client": "—", "manager": t(N_("No manager")),
                  "department": t(N_("No department"))}[by]
        ctx.update(
            on=on.isoformat(), on_text=day(on), by=by,
            rows=[{"key": r.key, "name": r.name or nobody, "currency": r.currency,
                   "total": money_text(r.total, r.currency),
                   "bar": _bar(r.buckets, widest[r.currency]),
                   "parts": [(t(w), money_text(r.buckets[b], r.currency))
                             for b, w in BUCKETS if r.buckets[b] > 0]} for r in rows],
            totals=[{"currency": cur, "total": money_text(sum(s.values(), Decimal(0)), cur),
                     "bar": _bar(s, sum(s.values(), Decimal(0))),
                     "parts": [(t(w), money_text(s[b], cur)) for b, w in BUCKETS if s[b] > 0]}
                    for cur, s in totals.items()],
            dso=[{"currency": d.currency,
                  "days": str(d.days).replace(".", ",") if d.days is not None else "—",
                  "receivables": money_text(d.receivables, d.currency),
                  "sales": money_text(d.sales, d.currency)}
                 for d in await ledger_reports.dso(user, on, days=90)])
    else:
        end, good_end = _date_arg(request, "to", today)
        start, good_start = _date_arg(request, "from", end.replace(day=1))
        if not (good_start and good_end):
            error = t(N_("a date like 31.12.2025"))
        by = "legal_entity" if request.query.get("by") == "legal_entity" else "client"
        try:
            rows23 = await ledger_reports.payments_vs_shipments(user, start, end, by=by)
        except ValidationFailed:
            error = t(N_("the end is before the start"))
            start, end = end - timedelta(days=30), end
            rows23 = await ledger_reports.payments_vs_shipments(user, start, end, by=by)
        sums23: dict[str, list[Decimal]] = {}
        for r in rows23:
            s = sums23.setdefault(r.currency, [Decimal(0), Decimal(0)])
            s[0] += r.shipped
            s[1] += r.paid
        ctx.update(
            start=start.isoformat(), end=end.isoformat(), by=by,
            rows23=[{"client_id": r.client_id, "client": r.client,
                     "legal_entity": r.legal_entity,
                     "shipped": money_text(r.shipped, r.currency),
                     "paid": money_text(r.paid, r.currency),
                     "difference": money_text(r.difference, r.currency),
                     "owes": r.difference > 0} for r in rows23],
            totals23=[{"currency": cur, "shipped": money_text(s[0], cur),
                       "paid": money_text(s[1], cur),
                       "difference": money_text(s[0] - s[1], cur), "owes": s[0] > s[1]}
                      for cur, s in sums23.items()])
    from services.permissions import Action, can

    return render(request, "settlements.html", lang=lang, user=user, error=error,
                  may_bank=await can(user, Action.RECORD_PAYMENTS), **ctx)
