"""The BCG matrix of product groups (U-9) in the Mini App: /app/ranking/bcg with its
chart (/app/ranking/bcg.png), for admins and heads."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services import bcg as svc
from services.errors import PermissionDenied
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user

LABELS = {"share": N_("Share of sales, %"), "growth": N_("Growth, %"),
          **svc.QUADRANT_NAMES}
NO_CATEGORY = N_("Without a category")


def _months(request: web.Request) -> int:
    raw = request.query.get("months", "12")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 24 else 12


async def bcg_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    try:
        matrix = await svc.bcg(user, months=_months(request))
    except PermissionDenied:
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators and heads"),
                      body_msg=N_("The BCG matrix is the whole company's figure."))
    return render(request, "bcg.html", lang=lang, user=user, m=matrix,
                  names=svc.QUADRANT_NAMES, quadrants=svc.QUADRANTS, no_category=NO_CATEGORY)


async def bcg_chart(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    if user is None:
        return web.Response(status=401)
    try:
        matrix = await svc.bcg(user, months=_months(request))
    except PermissionDenied:
        return web.Response(status=403)
    i18n, lang = request.app[I18N_KEY], str(user.language)
    labels = {k: i18n.gettext(v, locale=lang) for k, v in LABELS.items()}
    png = await asyncio.to_thread(svc.chart_png, matrix, labels,
                                  no_category=i18n.gettext(NO_CATEGORY, locale=lang))
    return web.Response(body=png, content_type="image/png",
                        headers={"Cache-Control": "no-store"})
