"""/app/ranking: the clients' ABC/XYZ/RFM ranking in the Mini App (K-8) — the ABC × XYZ
matrix and the RFM segments with counts, each a link down to its clients, the clients
a page at a time (each to its card), the admin's settings as a form and the run button
for admins and heads. The data comes from services.ranking_results, within what the
person sees."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from kontakt.formatting import money_text, when_text
from services import bcg
from services import ranking as svc
from services import ranking_results as results
from services import ranking_run as runner
from services.errors import ValidationFailed
from services.permissions import is_admin
from web.pages import _guess_lang, render
from web.session import current_user

PAGE = 30


def _arg(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    return value if value in allowed else None


async def ranking_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    abc = _arg(request, "abc", svc.CLASSES)
    xyz = _arg(request, "xyz", svc.XYZ)
    segment = _arg(request, "segment", svc.SEGMENTS)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    settings = await svc.rank_settings()
    summary = await results.summary(user)
    try:
        rows, total = await results.results(user, abc=abc, xyz=xyz, segment=segment,
                                            offset=(page - 1) * PAGE, limit=PAGE)
    except ValidationFailed:
        rows, total = [], 0
    last = await runner.last_run()
    last_at = when_text(datetime.fromisoformat(last["at"]), user.timezone, lang) \
        if last and last.get("at") else None
    filters = {k: v for k, v in (("abc", abc), ("xyz", xyz), ("segment", segment)) if v}
    return render(
        request, "ranking.html", lang=lang, user=user, summary=summary,
        classes=svc.CLASSES, xyz_classes=svc.XYZ, segment_names=svc.SEGMENT_NAMES,
        rows=[{"id": r.client_id, "name": r.client.name, "abc": r.abc, "xyz": r.xyz,
               "rfm": f"{r.recency}{r.frequency}{r.monetary}", "segment": r.segment,
               "revenue": money_text(r.revenue, settings.currency),
               "margin": money_text(r.margin, settings.currency), "share": r.share}
              for r in rows],
        total=total, page=page, pages=max(1, (total + PAGE - 1) // PAGE),
        filters=filters, settings=settings.as_dict(), last=last, last_at=last_at,
        may_run=svc.may_run(user), is_admin=is_admin(user),
        may_bcg=bcg.may_see(user))
