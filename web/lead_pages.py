"""K-10 web pages: the public tracked link (/go/<token>) and lead form (/f/<token>),
and the Mini App's lead form designer (/app/campaigns/<id>/forms, /app/lead-forms/<id>).

The public pages need no sign-in and no CSRF token (a visitor from an ad has no
session); a honeypot and a rate limit guard the form (services.lead_intake). A flood
gets a friendly 429 page, never a 500. The designer's pages are plain HTML forms posted
back to the same page (same-origin checked); the JSON API is web/api/lead_forms.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from kontakt.errors import error_message, field_label
from models.marketing import LeadForm
from services import attribution, lead_forms, lead_intake
from services.crypto import sign, unsign
from services.errors import N_, DomainError, NotFound, ValidationFailed
from services.staff import active_people, list_departments
from web.keys import BOT_KEY, I18N_KEY, SETTINGS_KEY
from web.pages import _guess_lang, render
from web.remote import client_address
from web.session import current_user

log = logging.getLogger("kontakt.leads")
COOKIE = "k_src"
COOKIE_DAYS = 30
_ANNOUNCING: set[asyncio.Task] = set()  # the announcements under way (kept from the GC)


def _secret(request: web.Request) -> str:
    settings = request.app[SETTINGS_KEY]
    return settings.secret_key.get_secret_value() if settings.secret_key else "kontakt"


def _remote(request: web.Request) -> str:
    """The visitor's address, behind a trusted reverse proxy too (web.remote)."""
    return client_address(request)


# --- /go/<token> -----------------------------------------------------------------------
async def go_link(request: web.Request) -> web.Response:
    """A tracked link: remember the variant in a signed cookie, then go on to the
    variant's landing page (or its lead form)."""
    variant = await attribution.variant_for_link(request.match_info["token"])
    if variant is None:
        return render(request, "message.html", lang=_guess_lang(request), status=404,
                      title_msg=N_("Link not valid"),
                      body_msg=N_("This link is not valid or no longer works."))
    from services.clock import utcnow

    target = variant.landing_url
    if not target:
        form = await lead_forms.first_active_form(variant.id)
        target = f"/f/{form.token}" if form else "/"
    if not target.startswith(("https://", "http://", "/")):
        target = "/"
    resp = web.Response(status=302, headers={"Location": target})
    resp.set_cookie(COOKIE, sign(_secret(request), {"v": variant.id,
                                                    "t": utcnow().isoformat()},
                                 purpose="leadlink", ttl_s=COOKIE_DAYS * 86400),
                    max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax", path="/")
    return resp


def _cookie_variant(request: web.Request) -> int | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    payload = unsign(_secret(request), raw, purpose="leadlink")
    value = payload.get("v") if payload else None
    return value if isinstance(value, int) else None


# --- /f/<token> ------------------------------------------------------------------------
async def _regions() -> list[Any]:
    from services.dictionaries import REGION, list_items

    return await list_items(REGION, limit=500)


async def _form_page(request: web.Request, form: LeadForm, *, status: int = 200,
                     errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> web.Response:
    specs = lead_forms.spec_of(form)
    return render(request, "leadform_public.html", lang=form.language, status=status,
                  form=form, specs=specs, labels=lead_forms.FIELDS, errors=errors or {},
                  values=values or {},
                  regions=await _regions() if any(s["name"] == "region" for s in specs)
                  else [], honeypot=lead_intake.HONEYPOT)


async def public_form(request: web.Request) -> web.Response:
    """GET shows the form; POST submits it. Never a 500 for the visitor."""
    form = await lead_intake.public_form(request.match_info["token"])
    lang = form.language if form else _guess_lang(request)
    if form is None:
        return render(request, "leadform_message.html", lang=lang, status=404,
                      title_msg=N_("Form not found"),
                      body_msg=N_("This form does not exist. Check the link."))
    if not lead_intake.is_open(form):
        return render(request, "leadform_message.html", lang=lang, status=410,
                      title_msg=N_("The form is closed"),
                      body_msg=N_("This form no longer takes requests. Thank you for your "
                                  "interest."))
    if request.method != "POST":
        return await _form_page(request, form)
    try:
        raw = dict(await request.post())
    except Exception:  # noqa: BLE001 - a body that cannot be read: show the form again
        raw = {}
    raw = {k: v for k, v in raw.items() if isinstance(v, str)}
    try:
        outcome = await lead_intake.submit(
            form, raw, address_hash=lead_intake.remote_hash(_secret(request), _remote(request)),
            link_variant_id=_cookie_variant(request))
    except Exception:  # noqa: BLE001 - the visitor gets a friendly page, the log the rest
        log.exception("lead form %s", form.id)
        return render(request, "leadform_message.html", lang=lang, status=503,
                      title_msg=N_("Please try again"),
                      body_msg=N_("We could not take your request just now. Please try "
                                  "again in a minute."))
    if outcome.kind == "limited":
        return render(request, "leadform_message.html", lang=lang, status=429,
                      title_msg=N_("Too many requests"),
                      body_msg=N_("We have received many requests from you. Please wait a "
                                  "few minutes and try again."))
    if outcome.kind == "invalid":
        gettext = request.app[I18N_KEY]

        def tr(s: str) -> str:
            return gettext.gettext(s, locale=lang)

        errors = {name: text.translated(tr) for name, text in outcome.errors.items()}
        return await _form_page(request, form, status=422, errors=errors,
                                values=outcome.values)
    if outcome.kind == "thanks" and outcome.activity is not None:
        # after the commit, without keeping the visitor waiting for Telegram
        task = asyncio.create_task(_announce(
            request, outcome.activity.id, outcome.assigned.id if outcome.assigned else None))
        _ANNOUNCING.add(task)
        task.add_done_callback(_ANNOUNCING.discard)
    return render(request, "leadform_message.html", lang=lang, title_msg=N_("Thank you!"),
                  body_msg=N_("We have received your request and will contact you soon."),
                  body_text=form.thanks, thanks=True)


async def _announce(request: web.Request, activity_id: int, user_id: int | None) -> None:
    """After the commit: the manager hears of the lead (a failure only logged)."""
    from notifications.leads import deliver_lead

    try:
        await deliver_lead(request.app[BOT_KEY], request.app[I18N_KEY], activity_id, user_id)
    except Exception:  # noqa: BLE001 - the lead is saved; the message is a nicety
        log.exception("announcing lead %s", activity_id)


# --- the designer ----------------------------------------------------------------------
def _cross_site(request: web.Request) -> bool:
    from web.api.framework import cross_site_refusal

    return cross_site_refusal(request) is not None


async def _designer_context(form: LeadForm | None) -> dict[str, Any]:
    departments = await list_departments()
    people = await active_people()
    return {"departments": departments, "people": people, "regions": await _regions(),
            "labels": lead_forms.FIELDS, "languages": lead_forms.LANGUAGES,
            "routes": await lead_forms.routes_of(form.id) if form else []}


def _form_data(post: Any) -> dict[str, Any]:
    routes = [{"region_id": int(r) if r.isdigit() else None,
               "user_id": int(u) if u.isdigit() else None}
              for r, u in zip(post.getall("route_region", []), post.getall("route_user", []),
                              strict=False)]
    def _id(key: str) -> int | None:
        raw = str(post.get(key) or "")
        return int(raw) if raw.isdigit() and len(raw) < 10 else None
    return {"title": post.get("title", ""), "intro": post.get("intro", ""),
            "thanks": post.get("thanks", ""), "language": post.get("language", "ru"),
            "shown": post.getall("shown", []), "required": post.getall("required", []),
            "assign_mode": post.get("assign_mode", "round_robin"),
            "department_id": _id("department_id"), "person_id": _id("person_id"),
            "routes": routes}


def _draft(data: dict[str, Any]) -> dict[str, Any]:
    """What the page shows again after an error: the typed values."""
    spec = lead_forms.spec_from_checkboxes(data["shown"], data["required"])
    return {**data, "fields_spec": spec, "routes_rows": data["routes"]}


async def campaign_forms_page(request: web.Request) -> web.Response:
    """The forms of a campaign's variants, and a new form for a variant."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["campaign_id"]
    try:
        if not (raw.isdigit() and len(raw) < 10) or not lead_forms.may_design(user):
            raise NotFound("campaign")
        campaign, variants = await lead_forms.campaign_for_design(int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Not found"),
                      body_msg=N_("This page is not there, or not yours to change."))
    error, draft = None, None
    if request.method == "POST":
        if _cross_site(request):
            raise web.HTTPForbidden()
        post = await request.post()
        data = _form_data(post)
        vid = str(post.get("variant_id") or "")
        try:
            if not vid.isdigit() or int(vid) not in {v.id for v in variants}:
                raise ValidationFailed("variant", N_("choose a value from the list"))
            form = await lead_forms.create_form(user, int(vid), data)
            raise web.HTTPFound(f"/app/lead-forms/{form.id}")
        except DomainError as exc:
            error, draft = _error_line(exc, lang), {**_draft(data), "variant_id": vid}
    archived = request.query.get("archived") == "1"
    forms = await lead_forms.forms_of_campaign(user, campaign.id, archived=archived)
    counts = await lead_forms.submission_counts([f.id for f in forms])
    return render(request, "leadforms.html", lang=lang, user=user, campaign=campaign,
                  variants=variants, forms=forms, counts=counts, error=error,
                  draft=draft or {"fields_spec": lead_forms.DEFAULT_SPEC,
                                  "language": lang, "assign_mode": "round_robin"},
                  archived=archived, origin=_origin(request),
                  **await _designer_context(None))


DESIGNER_LABELS = {"title": N_("Title"), "intro": N_("Introduction"),
                   "thanks": N_("Thanks text"), "language": N_("Language"),
                   "fields": N_("Fields"), "assign_mode": N_("Leads go to"),
                   "department": N_("Department"), "person": N_("Person"),
                   "routes": N_("Regions"), "variant": N_("Variant"), "form": N_("Form")}


def _error_line(exc: DomainError, lang: str) -> str:
    if isinstance(exc, ValidationFailed):
        from kontakt.errors import gettext_for

        label = DESIGNER_LABELS.get(exc.field)
        name = gettext_for(lang)(label) if label else field_label(exc.field, lang)
        return f"{name}: {error_message(exc, lang)}"
    from kontakt.errors import domain_message

    return domain_message(exc, lang)


def _origin(request: web.Request) -> str:
    settings = request.app[SETTINGS_KEY]
    base = settings.public_url or settings.base_url or f"{request.scheme}://{request.host}"
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


async def form_page(request: web.Request) -> web.Response:
    """One form: edit it, copy its links, archive, restore or delete it."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["form_id"]
    try:
        form = await lead_forms.get_form(user, int(raw) if raw.isdigit() and len(raw) < 10
                                         else 0)
    except DomainError:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Not found"),
                      body_msg=N_("This page is not there, or not yours to change."))
    error, draft = None, None
    if request.method == "POST":
        if _cross_site(request):
            raise web.HTTPForbidden()
        post = await request.post()
        action = post.get("action", "save")
        campaign_id = form.variant.campaign_id
        try:
            if action == "archive":
                await lead_forms.archive_form(user, form.id, True)
            elif action == "restore":
                await lead_forms.archive_form(user, form.id, False)
            elif action == "delete":
                await lead_forms.delete_form(user, form.id)
                raise web.HTTPFound(f"/app/campaigns/{campaign_id}/forms")
            else:
                data = _form_data(post)
                try:
                    await lead_forms.update_form(user, form.id, data)
                except DomainError:
                    draft = _draft(data)
                    raise
            raise web.HTTPFound(f"/app/lead-forms/{form.id}")
        except (DomainError, NotFound) as exc:
            error = _error_line(exc, lang)
    show = draft or {"title": form.title, "intro": form.intro or "",
                     "thanks": form.thanks or "", "language": form.language,
                     "fields_spec": lead_forms.spec_of(form),
                     "assign_mode": str(form.assign_mode.value if hasattr(
                         form.assign_mode, "value") else form.assign_mode),
                     "department_id": form.department_id, "person_id": form.person_id}
    counts = await lead_forms.submission_counts([form.id])
    return render(request, "leadform_edit.html", lang=lang, user=user, form=form,
                  draft=show, error=error, origin=_origin(request),
                  submissions=counts.get(form.id, 0), **await _designer_context(form))


async def client_touches(request: web.Request, user, client) -> dict[str, Any]:
    """The client card's "Where from" block: the first and last touch, set by hand by
    the client's manager, heads and admins."""
    from kontakt.formatting import when_text

    got = await attribution.touches("c", client.id)
    may = await attribution.may_set_by_hand(user, client)
    lang = str(user.language)
    rows = []
    for key, label in (("first", N_("First touch")), ("last", N_("Last touch"))):
        t = got[key]
        rows.append({"key": key, "label": label, "touch": t,
                     "when": when_text(t.at, user.timezone, lang) if t else None})
    return {"touch_rows": rows, "may_set_touch": may,
            "touch_variants": await attribution.variant_choices() if may else [],
            "touch_via": VIA}


VIA = {"ad_source": N_("ad source"), "link": N_("tracked link"), "form": N_("web form"),
       "promo": N_("promo code"), "manual": N_("by hand"), "mailing": N_("mailing")}


def setup_lead_pages(app: web.Application) -> None:
    app.router.add_get("/go/{token}", go_link)
    app.router.add_get("/f/{token}", public_form)
    app.router.add_post("/f/{token}", public_form)
    app.router.add_get("/app/campaigns/{campaign_id}/forms", campaign_forms_page)
    app.router.add_post("/app/campaigns/{campaign_id}/forms", campaign_forms_page)
    app.router.add_get("/app/lead-forms/{form_id}", form_page)
    app.router.add_post("/app/lead-forms/{form_id}", form_page)
