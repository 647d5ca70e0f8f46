"""Mini App report pages beyond the main one: the records behind a figure (S-27)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from services.errors import ValidationFailed
from services.manager_report import RECORD_KINDS, records
from services.staff import get_by_id
from web.pages import N_, _guess_lang, render
from web.session import current_user

TITLES = {"orders": N_("Orders"), "won": N_("Deals won"), "lost": N_("Deals lost"),
          "activities": N_("Done activities")}


async def records_page(request: web.Request) -> web.Response:
    """GET /app/reports/records?kind=orders|won|lost&user=ID&from=YYYY-MM-DD&to=…: the
    orders or deals one figure of the manager report counts, each opening its card."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang, tz = str(user.language), ZoneInfo(user.timezone)
    q = request.query
    kind, raw, stage = q.get("kind", ""), q.get("user", ""), q.get("stage", "")
    try:
        first = date.fromisoformat(q.get("from", ""))
        last = date.fromisoformat(q.get("to", ""))
        if kind not in RECORD_KINDS or not raw.isdigit() or len(raw) > 9 or last < first:
            raise ValueError
        if kind == "stage" and not (stage.isdigit() and len(stage) < 10):
            raise ValueError
        rows, total = await records(user, kind, int(raw), datetime.combine(first, time(0), tz),
                                    datetime.combine(last + timedelta(days=1), time(0), tz),
                                    stage_id=int(stage) if kind == "stage" else None)
    except (ValueError, ValidationFailed):
        return render(request, "message.html", lang=lang, status=400, user=user,
                      title_msg=N_("Not found"),
                      body_msg=N_("This link is not right: open the report again."))
    person = await get_by_id(int(raw))
    title = TITLES.get(kind, "")
    if kind == "stage":  # "Entered the stage «…»"
        from kontakt.i18n import translator
        from kontakt.labels import stage_name
        from services.manager_report import stage_named

        found = await stage_named(int(stage))
        gettext = translator(lang)
        title = gettext(N_("Entered «{stage}»")).format(
            stage=stage_name(found, gettext) if found else "?")
    return render(request, "report_records.html", lang=lang, user=user, rows=rows,
                  total=total, kind=kind, title=title, tz=tz,
                  person=person.full_name if person else "", first=first, last=last)
