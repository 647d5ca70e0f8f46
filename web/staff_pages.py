"""Mini App pages about the organisation: the chart of departments (S-24)."""

from __future__ import annotations

from aiohttp import web

from services.orgchart import org_chart
from web.pages import _guess_lang, render
from web.session import current_user


async def org_page(request: web.Request) -> web.Response:
    """GET /app/org: departments as a tree with their heads and people."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    return render(request, "org.html", lang=str(user.language), user=user,
                  chart=await org_chart(user))
