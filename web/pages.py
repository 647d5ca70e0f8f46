"""Server-rendered Mini App pages (Jinja2), the desktop login link, health."""

from __future__ import annotations

import logging

from aiohttp import web

from services import auth as auth_service
from services import staff as staff_service
from services.errors import PermissionDenied
from services.permissions import Action, can
from web.keys import BOT_INFO_KEY, I18N_KEY, JINJA_KEY, SCHEDULER_KEY, SETTINGS_KEY
from web.session import current_user, set_session_cookie

log = logging.getLogger("kontakt.web")


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


def render(request: web.Request, template: str, *, lang: str, status: int = 200,
           **context) -> web.Response:
    i18n = request.app[I18N_KEY]
    settings = request.app[SETTINGS_KEY]
    env = request.app[JINJA_KEY]
    html = env.get_template(template).render(
        _=lambda s, **kw: i18n.gettext(s, locale=lang).format(**kw) if kw
        else i18n.gettext(s, locale=lang),
        lang=lang,
        sandbox=settings.sandbox,
        bot_username=request.app[BOT_INFO_KEY].username,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def _guess_lang(request: web.Request) -> str:
    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in ("ru", "uk", "en"):
            return code
    return request.app[SETTINGS_KEY].default_language


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/app")


async def app_page(request: web.Request) -> web.Response:
    """The Mini App shell: the staff directory once signed in, else the sign-in step."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    include_dismissed = request.query.get("dismissed") == "1" and await can(
        user, Action.VIEW_DISMISSED)
    people = await staff_service.list_staff(user, include_dismissed=include_dismissed)
    return render(request, "staff.html", lang=str(user.language), user=user, people=people,
                  can_see_dismissed=await can(user, Action.VIEW_DISMISSED),
                  include_dismissed=include_dismissed)


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
    from tortoise.expressions import Subquery

    from services import clients as client_service
    from services.errors import NotFound

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    i18n = request.app[I18N_KEY]
    q = (request.query.get("q") or "").strip()[:200]
    sort = request.query.get("sort", "name")
    sort = sort if sort in CLIENT_SORTS else "name"
    try:
        page = max(1, min(int(request.query.get("page", "1")), 100000))
    except ValueError:
        page = 1
    per_page = 25
    from services import classifier, segments

    segment_id = request.query.get("segment", "")
    node_id = request.query.get("node", "")
    if q:
        clients = await client_service.search_clients(user, q, limit=50)
        total, pages = len(clients), 1
    else:
        qs = await client_service.visible_clients(user)
        try:
            if segment_id.isdigit():
                qs = await segments.members(user, int(segment_id))
            if node_id.isdigit():
                qs = qs.filter(id__in=Subquery((await classifier.node_clients(
                    user, int(node_id), descendants=True)).values("id")))
        except NotFound:
            segment_id = node_id = ""
        total = await qs.count()
        pages = max(1, (total + per_page - 1) // per_page)
        clients = await qs.order_by(sort, "id").offset((page - 1) * per_page).limit(per_page)
    labels = {"name": "A–Z", "-created_at": i18n.gettext("Newest", locale=lang),
              "-completeness": i18n.gettext("Most complete", locale=lang),
              "completeness": i18n.gettext("Least complete", locale=lang)}
    return render(request, "clients.html", lang=lang, user=user, clients=clients, total=total,
                  q=q, sort=sort, page=page, pages=pages,
                  sorts=[(s, labels[s]) for s in CLIENT_SORTS],
                  segs=await segments.list_segments(user), nodes=await classifier.list_nodes(),
                  segment_id=segment_id, node_id=node_id)


async def client_page(request: web.Request) -> web.Response:
    from models import ContactPerson, LegalEntity
    from services import classifier, layouts, links
    from services import clients as client_service
    from services import documents as doc_service
    from services.errors import NotFound

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["client_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("client")
        client = await client_service.get_client(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Client not found"),
                      body_msg=N_("It does not exist or is not assigned to you."))
    address = await client_service.address_of(client)
    return render(
        request, "client.html", lang=lang, user=user, client=client, address=address,
        maps=client_service.map_links(address) if address else [],
        managers=[m.full_name for m in await client_service.current_managers(client.id)],
        legal=await LegalEntity.filter(client_id=client.id).order_by("-is_primary", "id"),
        contacts=await ContactPerson.filter(client_id=client.id, archived_at=None),
        documents=await doc_service.list_documents(user, client.id),
        history=await client_service.client_history(user, client.id, limit=100),
        custom=await _custom_for_page(user, client.id),
        nodes=await classifier.client_nodes(user, client.id),
        manual_nodes=[n for n in await classifier.list_nodes() if str(n.kind) == "manual"],
        links=await links.links_of(user, client.id),
        link_names=_link_names(request, lang),
        sections=await layouts.layout_for(user),
        refs=await _reference_items(),
        sphere_ids={s.id for s in await client.spheres.all()},
    )


async def _reference_items() -> dict[str, list[object]]:
    """The items the card's edit form chooses from (S-4/A-16, S-8, A-17)."""
    from models import DictionaryItem
    from services import dictionaries

    await dictionaries.ensure_system_dictionaries()
    out: dict[str, list[object]] = {}
    for code in (dictionaries.REGION, dictionaries.CITY, dictionaries.DISTRICT,
                 dictionaries.SPHERE, dictionaries.AD_SOURCE):
        out[code] = await DictionaryItem.filter(
            dictionary__code=code, archived=False).order_by("sort_order", "name").limit(2000)
    return out


def _link_names(request: web.Request, lang: str) -> dict[str, str]:
    i18n = request.app[I18N_KEY]
    names = {"group_member": N_("member of the group"), "division": N_("division of"),
             "dealer_of": N_("dealer of"), "competitor_of": N_("competitor of"),
             "partner_of": N_("partner of"), "supplier_of": N_("supplier of")}
    return {k: i18n.gettext(v, locale=lang) for k, v in names.items()}


async def _custom_for_page(user, client_id: int) -> list[tuple[object, object]]:
    from services import customfields

    values = await customfields.values_for(user, "client", client_id)
    fields = await customfields.fields_for(user, "client")
    for f in fields:
        if f.dictionary_id:
            await f.fetch_related("dictionary__items")
    return [(f, values.get(f.code)) for f in fields]


# requisite labels used by the client card template
_REQUISITE_LABELS = (N_("INN"), N_("KPP"), N_("OGRN"), N_("EDRPOU"), N_("IPN"), N_("BIK"),
                     N_("IBAN"))


async def import_page(request: web.Request) -> web.Response:
    """Upload a CSV/XLSX, map its columns, check it (dry run), import with progress."""
    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    return render(request, "import.html", lang=str(user.language), user=user)


async def admin_page(request: web.Request) -> web.Response:
    """K-3: custom fields, dictionaries, classifier, segments, completeness — no code."""
    from models import Department, Role, Setting
    from services import classifier, customfields, dictionaries, segments
    from services.clients import DEFAULT_WEIGHTS
    from services.layouts import SECTIONS

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    if user.role != Role.ADMIN:
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators"),
                      body_msg=N_("Ask an administrator to change the settings."))
    await dictionaries.ensure_system_dictionaries()
    weights = await Setting.get_or_none(key="completeness.weights")
    minimum = await Setting.get_or_none(key="completeness.minimum")
    return render(
        request, "admin.html", lang=lang, user=user,
        fields=await customfields.fields_for(user, "client") + await customfields.fields_for(
            user, "contact"),
        dicts=await dictionaries.list_dictionaries(),
        nodes=await classifier.list_nodes(),
        segs=await segments.list_segments(user),
        weights=weights.value if weights else DEFAULT_WEIGHTS,
        minimum=minimum.value if minimum else 0,
        departments=await Department.all().order_by("name"),
        sections=SECTIONS,
    )
