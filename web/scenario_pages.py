"""/app/scenarios and /app/campaigns/{id}/steps (M-8): the campaign scenario templates
(rows of steps added and removed in the form, no JSON typed) and a campaign's steps —
add, edit, delete (its task cancelled, asked first), apply a template, "Make tasks".
Changes go through /api/v1/scenario-templates and /api/v1/campaigns/{id}/steps from
static/scenarios.js and kontakt.submitJson."""

from __future__ import annotations

from aiohttp import web

from services import campaign_steps as steps_svc
from services import scenarios as tpl_svc
from services.errors import N_, NotFound
from services.staff import active_people, list_departments
from web.pages import _guess_lang, render
from web.session import current_user


async def _choices() -> dict:
    return {"departments": [{"id": d.id, "name": d.name} for d in await list_departments()],
            "people": [{"id": u.id, "full_name": u.full_name}
                       for u in await active_people()],
            "kinds": [(str(k), name) for k, name in tpl_svc.KIND_NAMES.items()]}


async def scenarios_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    archived = request.query.get("archived") == "1"
    templates = await tpl_svc.list_templates(user, archived=archived)
    return render(request, "scenarios.html", lang=str(user.language), user=user,
                  archived=archived, may_write=tpl_svc.may_write(user),
                  templates=[(t, tpl_svc.sorted_steps(t)) for t in templates],
                  **await _choices())


async def campaign_steps_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["campaign_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("campaign")
        campaign = await steps_svc.get_campaign(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Campaign not found"),
                      body_msg=N_("It does not exist or was deleted."))
    views = await steps_svc.step_views(user, campaign)
    return render(request, "campaign_steps.html", lang=lang, user=user, campaign=campaign,
                  views=views, may_edit=steps_svc.may_edit(user, campaign),
                  pending=sum(1 for v in views if not v.step.activity_id),
                  templates=await tpl_svc.list_templates(user), **await _choices())
