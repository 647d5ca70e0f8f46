"""The client card of the Mini App (S-1..S-7, S-10, U-3, A-2, A-16, A-18, K-16): one
page of its sections, each filled by a service; web/pages.py holds the other pages."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kontakt.history import history_line
from kontakt.i18n import translator
from services import managers as managers_svc
from services.permissions import Action, role_may
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user

# outbox states shown on the client card
_MESSAGE_STATES = (N_("queued"), N_("sending"), N_("sent"), N_("failed"))
# mailing states (K-16)
_MAILING_STATES = (N_("draft"), N_("running"), N_("paused"))

# requisite labels used by the client card template
_REQUISITE_LABELS = (N_("INN"), N_("KPP"), N_("OGRN"), N_("EDRPOU"), N_("IPN"), N_("BIK"),
                     N_("IBAN"))


async def page_client(request: web.Request) -> tuple[Any, Any, web.Response | None]:
    """The signed-in person and the client of /app/clients/{client_id}…, or the page to
    show instead: the sign-in page, or "not found" for a client they do not see."""
    from services import clients as client_service
    from services.errors import NotFound

    user = await current_user(request)
    if user is None:
        return None, None, render(request, "signin.html", lang=_guess_lang(request))
    raw = request.match_info["client_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("client")
        return user, await client_service.get_client(user, int(raw)), None
    except NotFound:
        return user, None, render(
            request, "message.html", lang=str(user.language), status=404, user=user,
            title_msg=N_("Client not found"),
            body_msg=N_("It does not exist or is not assigned to you."))


async def client_page(request: web.Request) -> web.Response:
    from services import clients as client_service

    user, client, refused = await page_client(request)
    if refused is not None:
        archived = await archived_card(request, user) if user is not None else None
        return archived or refused
    with client_service.checked_client(user, client):  # the sections' checks: no re-read
        return await _client_sections(request, user, client)


async def _client_sections(request: web.Request, user, client) -> web.Response:
    from services import activities as activity_service
    from services import classifier, dictionaries, layouts, links
    from services import clients as client_service
    from services import messaging as message_service
    from services import playbooks as playbook_service

    lang = str(user.language)
    address = await client_service.address_of(client)
    from services.partner_roles import roles_of
    from web.deal_pages import client_deals
    from web.dealer_pages import dealer_for_card
    from web.lead_pages import client_touches
    from web.order_pages import orders_for_card
    from web.price_pages import client_prices
    from web.settlement_pages import client_settlements
    from web.supplier_pages import client_supplier

    roles = await roles_of(client.id)  # M-7 dealer, M-8 supplier: one query for both
    return render(
        request, "client.html", lang=lang, user=user, client=client, address=address,
        maps=client_service.map_links(address) if address else [],
        managers=[m.full_name for m in await managers_svc.current_managers(client.id)],
        **await _legal_for_page(user, client.id),
        manager_rows=await managers_svc.manager_history(user, client.id),
        may_reassign=managers_svc.may_reassign(user),
        manager_candidates=await managers_svc.manager_candidates(user),
        **await _contacts_for_page(user, client.id),
        **await _documents_for_page(user, client.id),
        **await _history_for_page(request, user, client.id),
        custom=await _custom_for_page(user, client.id),
        rank=await _rank_for_page(user, client.id),
        loyalty=await _loyalty_for_page(user, client.id),
        **await dealer_for_card(user, client.id, roles),  # M-7
        nodes=await classifier.client_nodes(user, client.id),
        manual_nodes=[n for n in await classifier.list_nodes() if str(n.kind) == "manual"],
        links=await links.links_of(user, client.id),
        link_names=_link_names(request, lang),
        sections=await layouts.layout_for(user),
        activities=(await activity_service.client_activities(user, client.id, limit=30))[2],
        tz=__import__("zoneinfo").ZoneInfo(user.timezone),
        playbooks=await playbook_service.list_playbooks(),
        email_templates=await message_service.list_templates(),
        messages=await message_service.client_messages(user, client.id, limit=20),
        refs=await dictionaries.card_choices(),
        extendable=await _extendable(user),
        sphere_ids=await client_service.sphere_ids(client),
        may_archive=role_may(user.role, Action.ARCHIVE_CLIENT),
        **await client_deals(request, user, client),
        **await client_prices(request, user, client),
        **await orders_for_card(request, user, client.id),
        **await client_settlements(request, user, client),
        **await client_supplier(request, user, client, roles),
        **await client_touches(request, user, client),
    )


async def archived_card(request: web.Request, user) -> web.Response | None:
    """The card of an archived client the person sees: who archived it, when and why,
    Restore (heads and admins), its main fields and its history; None for any other."""
    from zoneinfo import ZoneInfo

    from services import client_archive
    from services import clients as client_service
    from services.errors import NotFound

    raw = request.match_info["client_id"]
    if not raw.isdigit() or int(raw) > 2**31 - 1:
        return None
    try:
        state = await client_archive.archive_state(user, int(raw))
    except NotFound:
        return None
    if state.archived_at is None:
        return None
    client = state.client
    return render(
        request, "client_archived.html", lang=str(user.language), user=user, client=client,
        state=state, address=await client_service.address_of(client),
        managers=[m.full_name for m in await managers_svc.current_managers(client.id)],
        may_restore=await client_archive.may_restore(user), tz=ZoneInfo(user.timezone),
        **await _history_for_page(request, user, client.id))


async def _legal_for_page(user, client_id: int) -> dict[str, object]:
    """The card's legal entities (S-1), the primary first, with their edit forms."""
    import json

    from services.clients import LEGAL_FIELDS
    from services.legal import list_legal_entities

    legal = await list_legal_entities(user, client_id)
    forms = {le.id: json.dumps({"id": le.id, **{k: getattr(le, k) for k in LEGAL_FIELDS}},
                               ensure_ascii=False) for le in legal}
    return {"legal": legal, "legal_forms": forms}


async def _contacts_for_page(user, client_id: int) -> dict[str, object]:
    """The card's contact persons (S-3), the archived ones apart, with their custom
    values for the edit form."""
    import json

    from services import contacts as contact_service
    from services import customfields

    def plain(value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else value

    people = await contact_service.list_contacts(user, client_id)
    # the edit form's choices: the lists of its choice fields, which the template reads
    fields = await customfields.with_choices(await customfields.fields_for(user, "contact"))
    custom = (await customfields.values_for_contacts(user, client_id, [c.id for c in people])
              if fields and people else {})
    forms = {}
    for c in people:
        values = custom.get(c.id, {})
        forms[c.id] = json.dumps({
            "id": c.id, "first_name": c.first_name, "last_name": c.last_name or "",
            "middle_name": c.middle_name or "", "position": c.position or "",
            "phones": ", ".join(c.phones or []), "emails": ", ".join(c.emails or []),
            "birthday": c.birthday.isoformat() if c.birthday else "", "notes": c.notes or "",
            "custom": {k: plain(v) for k, v in values.items()}}, ensure_ascii=False)
    return {"contacts": people, "contact_forms": forms, "contact_fields": fields,
            "archived_contacts": await contact_service.list_contacts(user, client_id,
                                                                      archived=True)}


HISTORY_PAGE = 20


async def _history_for_page(request: web.Request, user, client_id: int) -> dict[str, object]:
    """A page of the card's history (S-7), newest first: ?history=<page>."""
    from services.timeline import client_history

    raw = request.query.get("history", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1
    rows = await client_history(user, client_id, limit=HISTORY_PAGE + 1,
                                offset=(page - 1) * HISTORY_PAGE)
    lang = str(user.language)
    return {"history": [history_line(r, translator(lang), user.timezone)
                        for r in rows[:HISTORY_PAGE]],
            "history_page": page, "history_more": len(rows) > HISTORY_PAGE}


async def _documents_for_page(user, client_id: int) -> dict[str, object]:
    from services import documents as doc_service

    files = await doc_service.list_documents(user, client_id)
    return {"documents": files,
            "deletable": {d.id for d in files if await doc_service.may_delete(user, d)}}


async def _extendable(user) -> set[str]:
    """The card's dictionaries ``user`` may add an item to (A-16)."""
    from services import dictionaries

    return {code for code in (dictionaries.REGION, dictionaries.CITY, dictionaries.DISTRICT,
                              dictionaries.AD_SOURCE)
            if await dictionaries.may_add_item(user, code)}


def _link_names(request: web.Request, lang: str) -> dict[str, str]:
    i18n = request.app[I18N_KEY]
    names = {"group_member": N_("member of the group"), "division": N_("division of"),
             "dealer_of": N_("dealer of"), "competitor_of": N_("competitor of"),
             "partner_of": N_("partner of"), "supplier_of": N_("supplier of")}
    return {k: i18n.gettext(v, locale=lang) for k, v in names.items()}


async def _rank_for_page(user, client_id: int) -> dict[str, str] | None:
    """K-8: the client's ABC/XYZ class and RFM segment, if ranked."""
    from services.ranking import SEGMENT_NAMES
    from services.ranking_results import client_rank

    r = await client_rank(user, client_id)
    if r is None:
        return None
    return {"abc": r.abc, "xyz": r.xyz or "", "rfm": f"{r.recency}{r.frequency}{r.monetary}",
            "segment": SEGMENT_NAMES.get(r.segment, r.segment)}


async def _loyalty_for_page(user, client_id: int) -> dict[str, object]:
    """U-9: the client's loyalty card (number, tier, balance), if it has one."""
    from services.loyalty_cards import client_card

    view = await client_card(user, client_id)
    if view is None:
        return {"card": None}
    c = view.card
    return {"card": {"id": c.id, "number": c.number, "tier": c.tier.name if c.tier else "—",
                     "balance": view.balance, "blocked": c.blocked}}


async def _custom_for_page(user, client_id: int) -> list[tuple[object, object]]:
    from services import customfields

    values = await customfields.values_for(user, "client", client_id)
    fields = await customfields.with_choices(await customfields.fields_for(user, "client"))
    return [(f, values.get(f.code)) for f in fields]
