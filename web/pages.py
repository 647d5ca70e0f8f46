"""Server-rendered Mini App pages (Jinja2), the desktop login link, health."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from services import auth as auth_service
from services import staff as staff_service
from services.errors import PermissionDenied
from services.permissions import Action, can
from web.jsonbody import read_json
from web.keys import BOT_INFO_KEY, I18N_KEY, JINJA_KEY, SCHEDULER_KEY, SETTINGS_KEY
from web.session import current_user, guess_lang, set_session_cookie

log = logging.getLogger("kontakt.web")


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


def render(request: web.Request, template: str, *, lang: str, status: int = 200,
           **context) -> web.Response:
    from kontakt import labels
    from services.dictionaries import SEEDED_ITEM_NAMES, SYSTEM_DICTIONARIES

    i18n = request.app[I18N_KEY]
    settings = request.app[SETTINGS_KEY]
    env = request.app[JINJA_KEY]

    def gettext(s: str) -> str:
        return i18n.gettext(s, locale=lang)

    seeded_dicts = {code: name for code, (name, _flag) in SYSTEM_DICTIONARIES.items()}
    html = env.get_template(template).render(
        _=lambda s, **kw: gettext(s).format(**kw) if kw else gettext(s),
        item_name=lambda item: labels.item_name(item, gettext, SEEDED_ITEM_NAMES),
        dictionary_name=lambda d: labels.dictionary_name(d, gettext, seeded_dicts),
        skip_reason=lambda r: labels.skip_reason(str(r), gettext),
        stage_label=lambda stage: labels.stage_name(stage, gettext),
        lang=lang,
        sandbox=settings.sandbox,
        bot_username=request.app[BOT_INFO_KEY].username,
        path=request.path,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def _guess_lang(request: web.Request) -> str:
    return guess_lang(request)


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/app")


async def app_page(request: web.Request) -> web.Response:
    """The Mini App's home, "my day" (today, overdue, recent clients), once signed in;
    else the sign-in step."""
    from zoneinfo import ZoneInfo

    from services.myday import my_day

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    day = await my_day(user)
    return render(request, "home.html", lang=str(user.language), user=user, day=day,
                  tz=ZoneInfo(user.timezone), type_names=await _type_names(request, user))


async def _type_names(request: web.Request, user) -> dict[str, str]:
    """Activity types by code, with their icon, in the person's language."""
    from kontakt.labels import type_name
    from services import activities as activity_service

    i18n = request.app[I18N_KEY]
    lang = str(user.language)
    return {t.code: f"{t.icon} {type_name(t.code, t.name, lambda s: i18n.gettext(s, locale=lang))}"
            for t in await activity_service.list_types() if t.code}


async def more_page(request: web.Request) -> web.Response:
    """☰ More: the sections that do not fit the tab bar, those one may use."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    return render(request, "more.html", lang=str(user.language), user=user,
                  may_mail=await can(user, Action.SEND_MAILINGS),
                  may_configure=await can(user, Action.CHANGE_SETTINGS),
                  may_record_payments=await can(user, Action.RECORD_PAYMENTS))


async def profile_page(request: web.Request) -> web.Response:
    """S-24: a profile (one's own, or one an admin or head may change) to edit."""
    from services import profile as profile_service
    from services.errors import NotFound

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["user_id"]
    try:
        person = await staff_service.get_staff(user, int(raw)) if raw.isdigit() and \
            len(raw) < 10 else None
    except (NotFound, PermissionDenied):
        person = None
    if person is None or not await profile_service.may_edit(user, person):
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Not found"),
                      body_msg=N_("This person is not there, or not yours to change."))
    from zoneinfo import available_timezones

    zones = sorted(z for z in available_timezones() if z.startswith(("Europe/", "Asia/")))
    from services import classifier, customfields, staff_groups
    from services.handover import hand_over_choices
    from services.orgchart import place_choices

    values = await customfields.values_for(user, "staff", person.id)
    fields = await customfields.with_choices(await customfields.fields_for(user, "staff"))
    return render(request, "profile.html", lang=lang, user=user, person=person,
                  handover=await hand_over_choices(user, person),
                  place=await place_choices(user, person),
                  custom=[(f, values.get(f.code)) for f in fields],
                  custom_writable=await customfields.may_write(user, "staff", person.id),
                  has_photo=profile_service.photo_key(person) is not None,
                  groups=_tree_order(await classifier.list_nodes("staff")),
                  in_groups={n.id for n in await staff_groups.person_groups(user, person.id)},
                  groups_writable=await staff_groups.may_change(user, person),
                  positions=await profile_service.positions(), zones=zones)


async def staff_page(request: web.Request) -> web.Response:
    """The staff directory."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    include_dismissed = request.query.get("dismissed") == "1" and await can(
        user, Action.VIEW_DISMISSED)
    from services import profile as profile_service

    query = (request.query.get("q") or "").strip()[:100]
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1
    per_page = 50
    from services import classifier, staff_groups

    groups = await classifier.list_nodes("staff")
    raw_node = request.query.get("node", "")
    node_id = int(raw_node) if raw_node.isdigit() and int(raw_node) in {
        n.id for n in groups} else None
    people, total = await staff_service.staff_page(user, query=query,
                                                   include_dismissed=include_dismissed,
                                                   page=page, per_page=per_page,
                                                   node_id=node_id)
    from urllib.parse import urlencode

    keep = urlencode({k: v for k, v in (("q", query), ("dismissed", "1" if include_dismissed
                                                         else ""),
                                        ("node", str(node_id or ""))) if v})
    from services import customfields

    return render(request, "staff.html", lang=str(user.language), user=user, people=people,
                  total=total, q=query, page=page,
                  staff_fields=await customfields.fields_for(user, "staff"),
                  custom=await customfields.values_for_staff(user, [p.id for p in people]),
                  pages=max(1, (total + per_page - 1) // per_page), keep=keep,
                  editable={p.id for p in people if await profile_service.may_edit(user, p)},
                  photos={p.id for p in people if profile_service.photo_key(p)},
                  can_see_dismissed=await can(user, Action.VIEW_DISMISSED),
                  include_dismissed=include_dismissed, groups=_tree_order(groups),
                  node_id=node_id,
                  person_groups=await staff_groups.groups_of_people(user, [p.id for p in people]))


async def login_page(request: web.Request) -> web.Response:
    """GET /login/{token}: a page with one button. The link is used up only by the
    POST, so link previews and scanners that fetch it do not burn it."""
    return render(request, "login.html", lang=_guess_lang(request),
                  token=request.match_info["token"])


async def login_link(request: web.Request) -> web.Response:
    """POST /login/{token}: the one-time link from the bot's /web signs this browser in."""
    from web.api.framework import cross_site_refusal

    if cross_site_refusal(request):
        return render(request, "message.html", lang=_guess_lang(request), status=403,
                      title_msg=N_("This sign-in link is no longer valid"),
                      body_msg=N_("Send /web to the bot for a new one."))
    try:
        _user, raw = await auth_service.do_consume_login_token(request.match_info["token"])
    except PermissionDenied:
        return render(request, "message.html", lang=_guess_lang(request), status=403,
                      title_msg=N_("This sign-in link is no longer valid"),
                      body_msg=N_("Send /web to the bot for a new one."))
    resp = web.Response(status=302, headers={"Location": "/app"})
    set_session_cookie(resp, raw, secure=request.app[SETTINGS_KEY].base_url.startswith("https://"))
    return resp


async def health(request: web.Request) -> web.Response:
    from kontakt.db import ping

    body: dict[str, object] = {"status": "ok"}
    status = 200
    try:
        await ping()
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure is "down"
        log.warning("health: database down: %s", type(exc).__name__)
        body["database"] = "down"
        body["status"] = "degraded"
        status = 503
    scheduler = request.app.get(SCHEDULER_KEY)
    body["scheduler"] = "running" if scheduler is not None and scheduler.running else "stopped"
    body["bot_mode"] = request.app[BOT_INFO_KEY].mode
    return web.json_response(body, status=status)


CLIENT_SORTS = ("name", "-created_at", "-completeness", "completeness")


async def clients_page(request: web.Request) -> web.Response:
    """The client list: search within the chosen segment, group and list, paged."""
    from services import classifier, segments
    from services.clientlist import client_page

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    i18n = request.app[I18N_KEY]
    f = _client_filters(request)
    sort = request.query.get("sort", "name")
    sort = sort if sort in CLIENT_SORTS else "name"
    try:
        page = max(1, min(int(request.query.get("page", "1")), 100000))
    except ValueError:
        page = 1
    per_page = 25
    clients, total = await client_page(user, f, sort=sort, page=page, per_page=per_page)
    pages = max(1, (total + per_page - 1) // per_page)
    labels = {"name": "A–Z", "-created_at": i18n.gettext("Newest", locale=lang),
              "-completeness": i18n.gettext("Most complete", locale=lang),
              "completeness": i18n.gettext("Least complete", locale=lang)}
    from urllib.parse import urlencode
    from zoneinfo import ZoneInfo

    keep = {k: v for k, v in (("q", f.q or ""), ("segment", f.segment_id or ""),
                              ("node", f.node_id or ""), ("list", f.list_type or ""),
                              ("archived", "1" if f.archived else ""), ("sort", sort)) if v}
    return render(request, "clients.html", lang=lang, user=user, clients=clients, total=total,
                  q=f.q or "", sort=sort, page=page, pages=pages,
                  sorts=[(s, labels[s]) for s in CLIENT_SORTS],
                  segs=await segments.list_segments(user), nodes=await classifier.list_nodes(),
                  segment_id=str(f.segment_id or ""), node_id=str(f.node_id or ""),
                  list_type=f.list_type or "", archived=f.archived, tz=ZoneInfo(user.timezone),
                  query_string=urlencode(keep),
                  export_query=urlencode({k: v for k, v in keep.items() if k != "sort"}),
                  request_new=request.query.get("new") == "1")


def _client_filters(request: web.Request):
    """The list's filters from the query: the Mini App's names (``segment``, ``node``,
    ``list``, ``archived=1``) or the API's (``segment_id``, ``node_id``, ``list_type``,
    ``archived=true``) — the export (web/imports.py) serves both."""
    from services.clientlist import LIST_TYPES, ClientFilters

    def value(*names: str) -> str:
        return next((request.query[n] for n in names if request.query.get(n)), "")

    def number(*names: str) -> int | None:
        raw = value(*names)
        return int(raw) if raw.isdigit() and len(raw) < 10 else None

    list_type = value("list", "list_type")
    return ClientFilters(q=(request.query.get("q") or "").strip()[:200] or None,
                         segment_id=number("segment", "segment_id"),
                         node_id=number("node", "node_id"),
                         list_type=list_type if list_type in LIST_TYPES else None,
                         archived=request.query.get("archived") in ("1", "true"))


async def calendar_page(request: web.Request) -> web.Response:
    """K-17, M-13, A-10, S-20: the organizer (static/calendar.js over /api/v1/activities)."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    i18n = request.app[I18N_KEY]

    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    strings = {
        "overdue": t(N_("Overdue")), "empty": t(N_("Nothing planned here.")),
        "empty_day": t(N_("Nothing on this day. “+ New” plans something.")),
        "new_activity": t(N_("New activity")),
        "no_group": t(N_("There is no team forum group yet: comments on the task stay in "
                         "the CRM and reach the participants in private.")),
        "states": {s: t(s) for s in ("planned", "done", "postponed", "cancelled",
                                     "rescheduled")},
        "notice_none": t(N_("— do not tell the client —")),
        "message_states": {s: t(s) for s in ("queued", "sending", "sent", "failed",
                                             "cancelled")},
    }
    return render(request, "calendar.html", lang=lang, user=user, strings=strings)


async def reports_page(request: web.Request) -> web.Response:
    """S-27, M-14, M-16: done activities per person and type (table and chart),
    reaction time, plan vs fact of the month with a form to set plans."""
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from services import analytics
    from services.clock import utcnow
    from services.manager_report import manager_report

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    tz = ZoneInfo(user.timezone)
    today = utcnow().astimezone(tz).date()
    error = None
    try:
        first = date.fromisoformat(request.query.get("from") or str(today - timedelta(days=30)))
        last = date.fromisoformat(request.query.get("to") or str(today))
        if last < first:
            raise ValueError
    except ValueError:
        error = request.app[I18N_KEY].gettext(N_("The period is not valid: give two dates, "
                                                 "the first not after the second."),
                                              locale=lang)
        first, last = today - timedelta(days=30), today
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    month_start = today.replace(day=1)
    people = await analytics.plannable_people(user)
    return render(
        request, "reports.html", lang=lang, user=user, error=error,
        start_day=first.isoformat(), end_day=last.isoformat(),
        start_iso=start.isoformat(), end_iso=end.isoformat(),
        table=await analytics.activities_by_manager_and_type(user, start, end),
        reactions=await analytics.reaction_times(user, start, end),
        plans=await analytics.plan_vs_fact(user, "month", month_start),
        day_plans=await analytics.plan_vs_fact(user, "day", today),
        today=today.isoformat(), today_label=today.strftime("%d.%m.%Y"),
        month_label=month_start.strftime("%m.%Y"), month_start=month_start.isoformat(),
        type_names=await _type_names(request, user),
        may_plan=bool(people), people=people,
        managers=await manager_report(user, start, end),
        **await _funnel_context(user, lang, start, end))


async def _funnel_context(user: Any, lang: str, start: Any, end: Any) -> dict[str, Any]:
    """S-27: each person's deal funnel of the period, with the stages' names."""
    from kontakt.i18n import translator
    from kontakt.labels import stage_name
    from services.manager_funnel import manager_funnel

    funnel = await manager_funnel(user, start, end)
    gettext = translator(lang)
    return {"funnel": funnel, "stage_names": {s.id: stage_name(s, gettext)
                                              for s in funnel.stages}}


async def unsubscribe_page(request: web.Request) -> web.Response:
    """K-16: /u/<token> from an email: GET asks, POST records it (one click, and mail
    scanners that only GET do not unsubscribe anybody)."""
    from services import mailings

    settings = request.app[SETTINGS_KEY]
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    found = mailings.read_token(secret, request.match_info["token"])
    lang = _guess_lang(request)
    if found is None:
        return render(request, "message.html", lang=lang, status=404,
                      title_msg=N_("Link not valid"),
                      body_msg=N_("This unsubscribe link is not valid."))
    channel, address = found
    if request.method == "POST":
        await mailings.do_unsubscribe(channel, address)
        return render(request, "message.html", lang=lang, title_msg=N_("Unsubscribed"),
                      body_msg=N_("You will not receive our mailings at this address any "
                                  "more."))
    return render(request, "unsubscribe.html", lang=lang, address=address)


async def inbound_sms(request: web.Request) -> web.Response:
    """K-16: a provider posts the replies to our SMS here (Twilio: form From/Body; a
    generic gateway: JSON or form from/text). STOP unsubscribes the number. The URL
    holds a secret token (shown on the settings page)."""
    import hmac as _hmac

    from services import mailings

    settings = request.app[SETTINGS_KEY]
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not _hmac.compare_digest(request.match_info["token"], mailings.inbound_token(secret)):
        return web.Response(status=404)
    if request.content_type == "application/json":
        try:
            data = await read_json(request)
        except ValueError:  # BadJSON too
            return web.Response(status=400, text="not JSON")
        data = data if isinstance(data, dict) else {}
    else:
        data = dict(await request.post())
    sender = str(data.get("From") or data.get("from") or data.get("phone") or "")
    text = str(data.get("Body") or data.get("text") or data.get("message") or "")
    await mailings.do_inbound_sms(sender, text)
    if "From" in data:  # Twilio waits for TwiML
        return web.Response(text="<Response/>", content_type="text/xml")
    return web.json_response({"ok": True})


async def mailings_page(request: web.Request) -> web.Response:
    """K-16: mailings with progress bars; make one from a segment and a template."""
    from services import mailings, segments
    from services.messaging import list_templates

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    if not await can(user, Action.SEND_MAILINGS):
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators and heads"),
                      body_msg=N_("Mailings are made by administrators and heads of "
                                  "department."))
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1
    per_page = 20
    items, total = await mailings.mailing_page(user, limit=per_page,
                                               offset=(page - 1) * per_page)
    settings = request.app[SETTINGS_KEY]
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    return render(request, "mailings.html", lang=lang, user=user, items=items, page=page,
                  total=total, pages=max(1, (total + per_page - 1) // per_page),
                  templates=await list_templates(), segs=await segments.list_segments(user),
                  may_send=True,
                  inbound_url=f"{settings.base_url}/webhooks/sms/"
                              f"{mailings.inbound_token(secret)}"
                  if await can(user, Action.CHANGE_SETTINGS) else None)


async def import_page(request: web.Request) -> web.Response:
    """Upload a CSV/XLSX, map its columns, check it (dry run), import with progress."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    return render(request, "import.html", lang=str(user.language), user=user)


async def admin_page(request: web.Request) -> web.Response:
    """K-3, issue 17: every setting with forms and pickers, readable labels; whatever is
    made here is also changed and archived or deleted here."""
    from services import activities as activity_service
    from services import catalogue, classifier, customfields, dictionaries, layouts, segments
    from services import due_reminder_settings as due_rs
    from services import rules as rules_engine
    from services.activities import organizer_settings
    from services.calendar import workspace_account
    from services.messaging import list_templates
    from services.playbooks import list_playbooks
    from services.staff import list_departments, list_staff

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    if not await can(user, Action.CHANGE_SETTINGS):
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators"),
                      body_msg=N_("Ask an administrator to change the settings."))
    dicts = await dictionaries.list_dictionaries()
    weights, minimum = await catalogue.completeness_settings()
    fields = []
    for entity in ("client", "contact", "activity"):
        fields += await customfields.fields_for(user, entity, include_archived=True)
    client_fields = [f for f in fields if str(f.entity) == "client" and not f.archived]
    nodes = await classifier.list_nodes()
    departments = await list_departments()
    people = await list_staff(user)
    types = await activity_service.list_types()
    counted = await segments.list_with_counts(user)
    segs, counts = [sg for sg, _n in counted], {sg.id: n for sg, n in counted}
    items = await dictionaries.items_of(dicts)
    data = {
        "fields": [{"code": f.code, "name": f.name, "type": str(f.type), "choices": [
            {"id": i.id, "name": i.name} for i in items.get(
                f.dictionary.code if f.dictionary else "", []) if not i.archived]}
            for f in client_fields],
        "dicts": {code: [{"id": i.id, "name": i.name, "parent_id": i.parent_id}
                         for i in rows if not i.archived] for code, rows in items.items()},
        "parents": dict(dictionaries.PARENT_RULES),
        "staff": [{"id": p.id, "name": p.full_name} for p in people],
        "nodes": [{"id": n.id, "name": n.name, "parent_id": n.parent_id, "kind": str(n.kind),
                   "rule": n.rule} for n in nodes],
        "types": [{"value": t.code or str(t.id), "name": f"{t.icon} {t.name}".strip()}
                  for t in types],
        "layouts": {**{f"d:{k}": v for k, v in (await layouts.department_layouts()).items()},
                    **{f"u:{k}": v for k, v in (await layouts.person_layouts()).items()}},
        "sections": list(layouts.SECTIONS),
        # the segment builder: how deep groups nest; the names of archived values a
        # stored condition may still hold, by attribute
        "maxDepth": rules_engine.MAX_DEPTH,
        "gone": {
            **{f"{code}_id": {str(i.id): i.name for i in items.get(code, []) if i.archived}
               for code in ("region", "city", "district", "sphere", "ad_source")},
            **{f"cf:{f.code}": {str(i.id): i.name for i in items.get(f.dictionary.code, [])
                                if i.archived} for f in client_fields if f.dictionary},
        },
    }
    archived = await catalogue.archived_lists()
    books = await list_playbooks()
    return render(
        request, "admin.html", lang=lang, user=user, data=data,
        fields=fields, dicts=dicts, items=items, nodes=_tree_order(nodes),
        staff_nodes=_tree_order(await classifier.list_nodes("staff")),
        item_names={i.id: i.name for rows in items.values() for i in rows},
        node_names={n.id: n.name for n in nodes},
        segs=segs, counts=counts, people=people,
        weights=weights, minimum=minimum,
        departments=departments,
        organizer=await organizer_settings(),
        playbooks=books,
        playbook_steps={p.id: [{"title": st.title, "type": st.type.code or str(st.type_id),
                                "offset_days": st.offset_days, "assignee": str(st.assignee)}
                               for st in sorted(p.steps, key=lambda x: x.position)]
                        for p in books},
        old_playbooks=await list_playbooks(archived=True),
        activity_types=types,
        categories=await catalogue.list_categories(),
        products=await activity_service.list_products(),
        archived=archived,
        message_templates=await list_templates(),
        old_templates=await list_templates(archived=True),
        workspace=await workspace_account(),
        due=await due_rs.due_settings(), due_choices=(due_rs.BEFORE_CHOICES, due_rs.AFTER_CHOICES),
        due_templates=await due_rs.template_names(),
        process_labels=_process_labels(request, lang),
    )


def _process_labels(request: web.Request, lang: str) -> dict[str, dict[str, str]]:
    """U-1: the process editor's choices in the person's words (kontakt.labels)."""
    from kontakt import labels

    i18n = request.app[I18N_KEY]

    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    return {"kinds": {k: t(v) for k, v in labels.PROCESS_KINDS.items()},
            "modes": {k: t(v) for k, v in labels.PROCESS_MODES.items()},
            "requires": {k: t(v) for k, v in labels.REQUIREMENTS.items()}}


async def card_layout_page(request: web.Request) -> web.Response:
    """A-2: anyone sets the sections of the client card for themselves."""
    from services import layouts

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    own = await layouts.own_layout(user)
    back = request.query.get("client", "")
    return render(request, "card_layout.html", lang=str(user.language), user=user, own=own,
                  back=f"/app/clients/{back}" if back.isdigit() else None,
                  data={"sections": list(layouts.SECTIONS),
                        "layouts": {f"u:{user.id}": await layouts.layout_for(user)}})


def _tree_order(nodes: list) -> list[tuple[Any, int]]:
    """Nodes parents first, each with its depth, for an indented list."""
    children: dict[Any, list] = {}
    for n in nodes:
        children.setdefault(n.parent_id, []).append(n)
    out: list[tuple[Any, int]] = []

    def walk(parent_id: Any, depth: int) -> None:
        for n in children.get(parent_id, []):
            out.append((n, depth))
            if depth < 20:
                walk(n.id, depth + 1)
    walk(None, 0)
    return out
