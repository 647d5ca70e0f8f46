"""Mini App pages of K-9 motivation: the bonus schemes with their editor (steps as rows
of a form), the month's statements of the people one may see, and one statement with
its lines, each opening to the records it comes from. They read through the services
and act through /api/v1/bonus-schemes and /api/v1/bonus-statements (motivation.js)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from services.errors import N_
from web.pages import _guess_lang, render
from web.session import current_user


def _month(request: web.Request, user, raw: str | None = None) -> date:
    from services.clock import utcnow
    from services.errors import ValidationFailed
    from services.sales_plans import month_of

    try:
        return month_of(raw if raw is not None else request.query.get("month", ""))
    except ValidationFailed:
        return utcnow().astimezone(ZoneInfo(user.timezone or "UTC")).date().replace(day=1)


def _around(month: date) -> tuple[date, date]:
    prev = (month - timedelta(days=1)).replace(day=1) if month > date(2000, 1, 1) else month
    after = (month.replace(day=28) + timedelta(days=4)).replace(day=1) \
        if month < date(2100, 12, 1) else month
    return prev, after


async def schemes_page(request: web.Request) -> web.Response:
    """GET /app/motivation[?edit=ID|new&archived=1]: the schemes; the editor for
    admins and heads."""
    from services import motivation as svc
    from services.errors import DomainError

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    archived = request.query.get("archived") == "1"
    schemes = await svc.list_schemes(user, archived=archived)
    may_edit = svc.may_edit_schemes(user)
    edit, editing = None, False
    wanted = request.query.get("edit", "")
    if may_edit and wanted == "new":
        editing = True
    elif may_edit and wanted.isdigit() and len(wanted) < 10:
        try:
            edit = await svc.get_scheme(user, int(wanted))
            editing = True
        except DomainError:
            edit = None
    context = {}
    if editing:
        context = {**await svc.editor_choices(user),
                   "steps": svc.steps_of(edit) if edit else [],
                   "this_month": _month(request, user, "")}
    return render(request, "motivation.html", lang=str(user.language), user=user,
                  schemes=schemes, may_edit=may_edit, archived=archived, edit=edit,
                  editing=editing, steps_of=svc.steps_of, **context)


async def statements_page(request: web.Request) -> web.Response:
    """GET /app/motivation/statements?month=YYYY-MM: the people of one's reach with
    their plan, bonus so far and the statement's state."""
    from services import motivation_statements as st_svc

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    month = _month(request, user)
    items = await st_svc.compute_month(user, month)
    prev, after = _around(month)
    return render(request, "motivation_statements.html", lang=str(user.language), user=user,
                  month=month, prev=prev, after=after, items=items)


async def statement_page(request: web.Request) -> web.Response:
    """GET /app/motivation/statements/{user_id}/{month}: one statement, its lines, the
    records behind each, approve or reopen."""
    from services import motivation_statements as st_svc
    from services.errors import DomainError

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    raw_id = request.match_info["user_id"]
    month = _month(request, user, request.match_info["month"])
    try:
        if not raw_id.isdigit() or len(raw_id) > 9:
            raise web.HTTPNotFound
        st = await st_svc.statement(user, int(raw_id), month)
    except (DomainError, web.HTTPNotFound):
        return render(request, "message.html", lang=str(user.language), user=user,
                      status=404, title_msg=N_("Statement not found"),
                      body_msg=N_("It does not exist or is not one you may see."))
    may = st_svc.approves(user, await st_svc.approver_reach(user), st)
    return render(request, "motivation_statement.html", lang=str(user.language), user=user,
                  st=st, month=month, may_approve=may)
