"""The Mini App's bank statements and currency rates (issue 14: K-6, A-15): /app/bank —
upload a statement, the report, the queue of payments waiting for a person (assign to a
client, ignore with a reason, restore an ignored one), the matched payments of the last
statement; /app/bank?tab=rates — a day's rates, a central bank's XML, a manual rate,
"convert". Heads and admins only (Action.RECORD_PAYMENTS); rates are changed by admins.
Pages are drawn from services.bank_import / services.rates, changes go through the JSON
API (web/api/bank.py, web/api/rates.py) from static/bank.js.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web

from kontakt.formatting import money_text
from web.pages import N_, _guess_lang, render
from web.session import current_user
from web.settlement_pages import _t, day

RATE_CURRENCIES = ("USD", "EUR", "CNY", "KZT", "BYN", "UAH", "RUB", "GBP", "CHF", "TRY")
SOURCES = {"cbr": N_("Bank of Russia"), "nbu": N_("National Bank of Ukraine"),
           "manual": N_("entered by hand")}


def strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/bank.js says, in the person's language."""
    t = _t(request, lang)
    return {
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "report": {
            "total": t(N_("Incoming payments in the file: {n}")),
            "new": t(N_("new: {n}")),
            "known": t(N_("already known: {n}")),
            "matched": t(N_("recorded to clients: {n}")),
            "waiting": t(N_("waiting for you below: {n}")),
            "outgoing": t(N_("our outgoing payments left out: {n}")),
            "nothing_new": t(N_("Nothing new: every payment of this file is already "
                                "known.")),
            "rates": t(N_("Rates of {day}: {created} new, {updated} changed, "
                          "{unchanged} the same.")),
        },
        "choose_client": t(N_("choose a client from the list")),
        "bad_date": t(N_("a date like 31.12.2025")),
        "date": t(N_("Date")),
        "converted": t(N_("{amount} (rate {rate} on {day})")),
    }


async def _queue(user, state: str, t) -> list[dict[str, Any]]:
    from services import bank_import

    rows = await bank_import.list_lines(user, state, limit=100)
    return [_line(r, t) for r in rows]


def _line(r, t) -> dict[str, Any]:
    from services import bank_import

    client = r.client if r.client_id is not None else None
    return {"id": r.id, "statement_id": r.statement_id, "dated": day(r.dated),
            "number": r.number, "amount": money_text(Decimal(r.amount), r.currency),
            "payer": r.payer_name or "—", "code": r.payer_code,
            "account": r.payer_account, "purpose": r.purpose, "invoice": r.invoice_ref,
            "reason": bank_import.reason_text(r, t), "client_id": r.client_id,
            "client": getattr(client, "name", None)}


def _day_arg(raw: str) -> date | None:
    raw = raw.strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


async def bank_page(request: web.Request) -> web.Response:
    """/app/bank: statements and the queue (K-6); ?tab=rates: currency rates (A-15)."""
    from services import ledger
    from services import rates as rates_svc
    from services.permissions import Action, can

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    if not await can(user, Action.RECORD_PAYMENTS):
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators and heads"),
                      body_msg=N_("Bank statements and currency rates are kept by "
                                  "administrators and heads of department."))
    t = _t(request, lang)
    tab = "rates" if request.query.get("tab") == "rates" else "bank"
    today = ledger.today_of(user)
    ctx: dict[str, Any] = {"tab": tab, "today": day(today), "today_iso": today.isoformat(),
                           "may_change_rates": await can(user, Action.CHANGE_SETTINGS),
                           "bank_strings": strings(request, lang)}
    if tab == "bank":
        show = "ignored" if request.query.get("show") == "ignored" else "unmatched"
        matched = await _queue(user, "matched", t)
        last = max((m["statement_id"] for m in matched), default=None)
        ctx.update(show=show, lines=await _queue(user, show, t),
                   matched=[m for m in matched if m["statement_id"] == last])
    else:
        wanted = _day_arg(request.query.get("on", ""))
        on = wanted
        if on is None:  # the newest day with rates, else today
            newest = await rates_svc.list_rates(user, limit=1)
            on = newest[0].dated if newest else today
        rows = await rates_svc.list_rates(user, on=on, limit=500)
        ctx.update(
            on=on.isoformat(), on_text=day(on),
            bad_day=bool(request.query.get("on")) and wanted is None,
            rates=[{"id": r.id, "currency": r.currency, "base": r.base,
                    "rate": f"{Decimal(r.rate).normalize():f}".replace(".", ","),
                    "manual": r.source == "manual",
                    "source": t(SOURCES[r.source]) if r.source in SOURCES else r.source}
                   for r in rows],
            currencies=RATE_CURRENCIES,
            to_currencies=("RUB", "UAH") + tuple(c for c in RATE_CURRENCIES
                                                 if c not in ("RUB", "UAH")))
    return render(request, "bank.html", lang=lang, user=user, **ctx)
