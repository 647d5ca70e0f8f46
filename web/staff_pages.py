"""Mini App pages about the organisation: the chart of departments (S-24) with the staff
groups one may see (S-25), and the sales plans (S-26)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from services.orgchart import org_chart
from web.pages import _guess_lang, render
from web.session import current_user


async def org_page(request: web.Request) -> web.Response:
    """GET /app/org: departments as a tree with their heads and people."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    from services.staff_groups import groups_of_people

    chart = await org_chart(user)
    ids = [p.id for u in _units(chart) for p in [*u.heads, *u.people]]
    return render(request, "org.html", lang=str(user.language), user=user, chart=chart,
                  person_groups=await groups_of_people(user, ids))


def _units(chart):
    """Every unit of the chart, depth first."""
    stack = [*chart.roots, chart.unassigned]
    while stack:
        unit = stack.pop()
        yield unit
        stack.extend(unit.children)


async def plans_page(request: web.Request) -> web.Response:
    """GET /app/plans[?month=YYYY-MM]: sales plans against the fact (S-26); a grid to
    set them for those who may, one's own figures for everyone else."""
    from zoneinfo import ZoneInfo

    from services import sales_plan_subjects as subjects
    from services import sales_plans as svc
    from services.analytics import plannable_people
    from services.clock import utcnow
    from services.errors import ValidationFailed

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    try:
        month = svc.month_of(request.query.get("month", ""))
    except ValidationFailed:
        month = utcnow().astimezone(ZoneInfo(user.timezone or "UTC")).date().replace(day=1)
    rows = await svc.plans_vs_fact(user, month)
    people = await plannable_people(user)
    currency = await svc.default_currency()
    plannable = {p.id for p in people}
    grid = {(r.user_id, r.metric.value): r for r in rows  # the grid's people only
            if r.user_id in plannable and r.metric.value in GRID_METRICS and not r.subject
            and r.currency in (None, currency)}
    subject, measure, column = None, None, {}
    if request.query.get("subject"):
        try:
            subject = await subjects.subject_of(request.query.get("subject"))
            measure = subjects.measure_of(request.query.get("measure"))
        except ValidationFailed:
            subject = measure = None
    if subject is not None:
        column = {r.user_id: r for r in rows if r.user_id in plannable
                  and r.metric == measure and r.product_id == subject.product_id
                  and r.category_id == subject.category_id
                  and r.currency in (None, currency)}
    planned = subjects.planned_subjects(rows)
    choices = list(dict.fromkeys(([subject] if subject else []) + [s for _m, s in planned]
                                 + await subjects.search_subjects(user, "")))
    in_grid = {r.plan_id for r in [*grid.values(), *column.values()]}
    prev = (month.replace(day=1) - timedelta(days=1)).replace(day=1) \
        if month.year > 2000 or month.month > 1 else month
    after = (month.replace(day=28) + timedelta(days=4)).replace(day=1) \
        if month.year < 2100 or month.month < 12 else month
    return render(request, "plans.html", lang=str(user.language), user=user, month=month,
                  prev=prev, after=after, people=people, grid=grid, metrics=GRID_METRICS,
                  rows=rows, others=[r for r in rows if r.plan_id not in in_grid],
                  totals=svc.totals(rows), currency=currency, subject=subject,
                  measure=measure, column=column, planned=planned, choices=choices)


GRID_METRICS = ("revenue", "margin", "deals_won", "documents", "payments")
