"""/api/v1/clients: the dossier over JSON (S-1, S-3, S-6, S-7, S-10, S-11, A-3)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import Client, User
from notifications.telegram import deliver_notices
from services import clients as svc
from services import contacts as contacts_svc
from services import documents as docs
from services import managers as managers_svc
from services.clientlist import ClientFilters, filtered_page
from services.errors import N_, ValidationFailed
from services.storage import StorageUnavailable
from services.timeline import client_history_page
from web.api.framework import MAX_ID, storage_down
from web.api.routes import api
from web.keys import BOT_KEY, FILES_KEY, I18N_KEY
from web.session import request_lang, request_source

log = logging.getLogger("kontakt.web")


class LegalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    country: Literal["RU", "UA"] = "RU"
    inn: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    edrpou: str | None = None
    ipn: str | None = None
    legal_address: str | None = Field(default=None, max_length=400)
    bank_name: str | None = Field(default=None, max_length=200)
    bik: str | None = None
    account: str | None = Field(default=None, max_length=34)
    corr_account: str | None = Field(default=None, max_length=20)
    mfo: str | None = None
    iban: str | None = None


class LegalOut(LegalIn):
    id: int
    is_primary: bool


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["company", "individual"] = "company"
    list_type: Literal["counterparty", "partner"] = "partner"
    name: str | None = Field(default=None, max_length=300)
    short_name: str | None = Field(default=None, max_length=120)
    last_name: str | None = Field(default=None, max_length=100)
    first_name: str | None = Field(default=None, max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, max_length=2)
    street: str | None = Field(default=None, max_length=200)
    building: str | None = Field(default=None, max_length=40)
    office: str | None = Field(default=None, max_length=40)
    postal_code: str | None = Field(default=None, max_length=16)
    notes: str | None = Field(default=None, max_length=10000)
    region_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    city_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    district_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    ad_source_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-17; 0 clears")
    sphere_ids: list[int] | None = Field(default=None, max_length=50, description="S-8")
    legal: LegalIn | None = None


class ClientPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=300)
    short_name: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, max_length=2)
    street: str | None = Field(default=None, max_length=200)
    building: str | None = Field(default=None, max_length=40)
    office: str | None = Field(default=None, max_length=40)
    postal_code: str | None = Field(default=None, max_length=16)
    notes: str | None = Field(default=None, max_length=10000)
    # a column that cannot be empty: left out is unchanged, null is refused naming it
    list_type: Literal["counterparty", "partner"] = None  # type: ignore[assignment]
    region_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    city_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    district_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-16; 0 clears")
    ad_source_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="A-17; 0 clears")
    sphere_ids: list[int] | None = Field(default=None, max_length=50, description="S-8")
    # K-16: left out is unchanged, null is refused naming it
    email_consent: bool = None  # type: ignore[assignment]
    sms_consent: bool = None  # type: ignore[assignment]
    do_not_contact: bool = None  # type: ignore[assignment]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    position: str | None = Field(default=None, max_length=200)
    phones: list[str] = Field(default_factory=list, max_length=10)
    emails: list[str] = Field(default_factory=list, max_length=10)
    messengers: dict[str, str] = Field(default_factory=dict)
    birthday: date | None = None
    notes: str | None = Field(default=None, max_length=10000)
    custom: dict[str, Any] | None = Field(default=None, description="custom values (S-3)")


class ContactOut(BaseModel):
    id: int
    first_name: str
    last_name: str | None
    middle_name: str | None
    position: str | None
    phones: list[str]
    emails: list[str]
    messengers: dict[str, str]


class ManagerOut(BaseModel):
    user_id: int
    full_name: str
    active_staff: bool
    assigned_at: datetime
    unassigned_at: datetime | None


class ClientOut(BaseModel):
    id: int
    kind: str
    list_type: str
    name: str
    short_name: str | None
    phone: str | None
    email: str | None
    website: str | None
    country: str | None
    street: str | None
    building: str | None
    office: str | None
    postal_code: str | None
    notes: str | None
    region_id: int | None
    city_id: int | None
    district_id: int | None
    ad_source_id: int | None
    completeness: int
    created_at: datetime
    archived_at: datetime | None = Field(description="set while the client is archived")

    @classmethod
    def of(cls, c: Client) -> ClientOut:
        return cls(**{k: getattr(c, k) for k in cls.model_fields if k not in ("kind",
                                                                             "list_type")},
                   kind=str(c.kind), list_type=str(c.list_type))


class RefOut(BaseModel):
    id: int
    name: str


class ClientDetail(ClientOut):
    region: RefOut | None
    city: RefOut | None
    district: RefOut | None
    ad_source: RefOut | None
    spheres: list[RefOut]
    address: str | None
    map_links: dict[str, str]
    legal_entities: list[LegalOut]
    contacts: list[ContactOut]
    managers: list[ManagerOut]


class ClientPage(BaseModel):
    items: list[ClientOut]
    total: int
    page: int
    per_page: int


class ClientQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=200,
                          description="a search (S-11) within the other filters")
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=25, ge=1, le=200)
    sort: Literal["name", "-name", "created_at", "-created_at", "completeness",
                  "-completeness"] = "name"
    archived: bool = Field(default=False, description="the archived clients instead")
    segment_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                   description="a saved segment's members (K-14)")
    node_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                description="a classifier group with its subgroups (S-9)")
    list_type: Literal["counterparty", "partner"] | None = Field(
        default=None, description="counterparties or partners (U-3)")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: int = Field(ge=1, le=MAX_ID)


class HistoryItem(BaseModel):
    at: datetime
    user: str | None
    source: str
    entity: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None


class History(BaseModel):
    items: list[HistoryItem]
    total: int = Field(description="entries in all; page with limit and offset")


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


def _source(request: web.Request) -> str:
    return request_source(request)


def _region(user: User) -> str:
    return "UA" if str(user.language) == "uk" else "RU"


async def _detail(user: User, client_id: int) -> ClientDetail:
    client = await svc.get_client(user, client_id)
    from services.legal import list_legal_entities

    legal = await list_legal_entities(user, client.id)
    contacts = await contacts_svc.list_contacts(user, client.id)
    history = await managers_svc.manager_history(user, client.id)
    await svc.load_references(client)

    def ref(item) -> RefOut | None:
        return RefOut(id=item.id, name=item.name) if item is not None else None

    address = await svc.address_of(client)
    return ClientDetail(
        **ClientOut.of(client).model_dump(),
        region=ref(client.region), city=ref(client.city), district=ref(client.district),
        ad_source=ref(client.ad_source),
        spheres=[RefOut(id=s.id, name=s.name) for s in sorted(client.spheres,
                                                                key=lambda s: s.name)],
        address=address or None, map_links=dict(svc.map_links(address)) if address else {},
        legal_entities=[LegalOut(id=le.id, is_primary=le.is_primary, **{
            k: getattr(le, k) for k in LegalIn.model_fields}) for le in legal],
        contacts=[ContactOut(id=c.id, first_name=c.first_name, last_name=c.last_name,
                             middle_name=c.middle_name, position=c.position, phones=c.phones,
                             emails=c.emails, messengers=c.messengers) for c in contacts],
        managers=[ManagerOut(user_id=h.user.id, full_name=h.user.full_name,
                             active_staff=h.user.is_active, assigned_at=h.assigned_at,
                             unassigned_at=h.unassigned_at) for h in history],
    )


@api.route("GET", "/clients", summary="Clients one may see (A-3), filtered, searched (S-11) "
           "within the filters and paged; total counts every match",
           query=ClientQuery, response=ClientPage, tags=["clients"])
async def clients_list(request: web.Request, user: User, query: ClientQuery):
    filters = ClientFilters(q=(query.q or "").strip() or None, segment_id=query.segment_id,
                            node_id=query.node_id, list_type=query.list_type,
                            archived=query.archived)
    rows, total = await filtered_page(user, filters, sort=query.sort, page=query.page,
                                      per_page=query.per_page)
    return ClientPage(items=[ClientOut.of(c) for c in rows], total=total, page=query.page,
                      per_page=query.per_page)


@api.route("POST", "/clients", summary="Create a client (the author becomes its manager)",
           body=ClientIn, response=ClientDetail, tags=["clients"], status=201)
async def clients_create(request: web.Request, user: User, body: ClientIn):
    data = body.model_dump(exclude_none=True)
    result = await svc.do_create_client(user, data, source=_source(request),
                                        region=_region(user))
    return await _detail(user, result.client.id)


class DuplicateOut(BaseModel):
    client_id: int
    name: str
    reason: Literal["inn", "phone", "email", "name"]
    visible: bool = Field(description="the person may open it; else its managers are named")
    managers: list[str]
    archived: bool = Field(default=False, description="an archived client (restore it "
                                                      "rather than make it again)")


class DuplicatesOut(BaseModel):
    items: list[DuplicateOut]


@api.route("POST", "/clients/duplicates",
           summary="Clients the one about to be created may already be (same INN, phone, "
                   "email or a very similar name)",
           body=ClientIn, response=DuplicatesOut, tags=["clients"])
async def clients_duplicates(request: web.Request, user: User, body: ClientIn):
    from services.duplicates import likely_duplicates

    found = await likely_duplicates(user, body.model_dump(exclude_none=True),
                                    region=_region(user))
    return DuplicatesOut(items=[DuplicateOut(client_id=m.client_id, name=m.name,
                                             reason=m.reason, visible=m.visible,
                                             managers=m.managers, archived=m.archived)
                                 for m in found])


@api.route("GET", "/clients/{client_id}", summary="The full card", response=ClientDetail,
           tags=["clients"])
async def clients_get(request: web.Request, user: User, client_id: int):
    return await _detail(user, client_id)


@api.route("PATCH", "/clients/{client_id}", summary="Change a client (audited field by field)",
           body=ClientPatch, response=ClientDetail, tags=["clients"])
async def clients_patch(request: web.Request, user: User, client_id: int, body: ClientPatch):
    changes = body.model_dump(include=body.model_fields_set)
    if "name" in changes and not changes["name"]:
        raise ValidationFailed("name", N_("is empty"))
    await svc.do_update_client(user, client_id, changes, source=_source(request),
                               region=_region(user))
    return await _detail(user, client_id)


@api.route("POST", "/clients/{client_id}/legal-entities", summary="Add a legal entity (S-1)",
           body=LegalIn, response=ClientDetail, tags=["clients"], status=201)
async def legal_create(request: web.Request, user: User, client_id: int, body: LegalIn):
    await svc.do_add_legal_entity(user, client_id, body.model_dump(exclude_none=True),
                                  source=_source(request))
    return await _detail(user, client_id)


@api.route("POST", "/clients/{client_id}/contacts", summary="Add a contact person (S-3)",
           body=ContactIn, response=ClientDetail, tags=["clients"], status=201)
async def contact_create(request: web.Request, user: User, client_id: int, body: ContactIn):
    await contacts_svc.do_add_contact(user, client_id, body.model_dump(),
                                      source=_source(request), region=_region(user))
    return await _detail(user, client_id)


@api.route("POST", "/clients/{client_id}/managers", summary="Assign a manager (S-6, S-25)",
           body=AssignIn, response=ClientDetail, tags=["clients"])
async def manager_assign(request: web.Request, user: User, client_id: int, body: AssignIn):
    result = await managers_svc.do_assign_manager(user, client_id, body.user_id,
                                                  source=_source(request))
    # after the commit: tell the person in Telegram
    await deliver_notices(request.app[BOT_KEY], request.app[I18N_KEY], result.notices)
    return await _detail(user, client_id)


@api.route("DELETE", "/clients/{client_id}/managers/{user_id}",
           summary="End a manager's assignment (kept in the history)", response=ClientDetail,
           tags=["clients"])
async def manager_unassign(request: web.Request, user: User, client_id: int, user_id: int):
    result = await managers_svc.do_unassign_manager(user, client_id, user_id,
                                                    source=_source(request))
    await deliver_notices(request.app[BOT_KEY], request.app[I18N_KEY], result.notices)
    return await _detail(user, client_id)


@api.route("GET", "/clients/{client_id}/history", summary="Every change of the client (audit), "
           "newest first, a page at a time", query=HistoryQuery, response=History,
           tags=["clients"])
async def client_history(request: web.Request, user: User, client_id: int,
                         query: HistoryQuery):
    rows, total = await client_history_page(user, client_id, limit=query.limit,
                                            offset=query.offset)
    return History(items=[HistoryItem(at=r.at, user=r.user.full_name if r.user else None,
                                      source=r.source, entity=r.entity, action=r.action,
                                      field=r.field, old_value=r.old_value,
                                      new_value=r.new_value) for r in rows], total=total)


@api.route("GET", "/documents/{document_id}", summary="Download an attached document (S-2)",
           tags=["clients"])
async def document_get(request: web.Request, user: User, document_id: int):
    doc, stored = await docs.open_document(user, document_id, request.app[FILES_KEY])
    headers = {"Content-Type": doc.mime_type,
               "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(doc.filename)}"}
    if stored.path is not None:  # the local disk: sendfile, Range requests
        return web.FileResponse(stored.path, headers=headers)
    return await stream_file(request, stored, headers)


async def stream_file(request: web.Request, stored, headers: dict[str, str]
                      ) -> web.StreamResponse:
    """The file's bytes as they come from the store, never all in memory."""
    resp = web.StreamResponse(headers=headers)
    resp.content_length = stored.size
    try:
        first = True
        async for chunk in stored.chunks():
            if first:
                await resp.prepare(request)
                first = False
            await resp.write(chunk)
        if first:
            await resp.prepare(request)
        await resp.write_eof()
    except StorageUnavailable as exc:
        if first:  # nothing sent yet: a clear answer
            return storage_down(exc, await request_lang(request))
        log.warning("download of %s cut short: %s", stored.size, exc)
        if request.transport is not None:  # the client sees a short body, not a whole one
            request.transport.close()
    finally:
        await stored.close()
    return resp


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


async def document_upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/clients/{client_id}/documents (multipart, field "file") — S-2."""
    from services.clients import get_client

    async def attach(user, object_id: int, **kw):
        return await docs.do_attach(user, object_id, **kw)

    return await upload_to(request, "client_id", get_client, attach, "client")


async def upload_to(request: web.Request, param: str, find, attach, not_found: str
                    ) -> web.StreamResponse:
    """A multipart upload (field "file", up to the documents' size limit) handed to
    ``attach(user, id, filename=..., content=..., mime_type=..., store=..., source=...)``;
    201 with the document. Sign-in, then the thing it is for (``find(user, id)``, one
    the person sees), then reading the file: one for something the person may not see
    is never read."""
    from services.errors import DomainError
    from web.api.framework import not_found as missing
    from web.api.framework import open_upload, read_part, refusal

    raw_id = request.match_info[param]
    object_id = int(raw_id) if raw_id.isdigit() and int(raw_id) <= MAX_ID else None

    async def visible(user, lang):  # before the upload is read
        if object_id is None:
            return missing(not_found, lang)
        try:
            await find(user, object_id)
        except DomainError:
            return missing(not_found, lang)
        return None

    got = await open_upload(request, visible, named=True)
    if isinstance(got, web.Response):
        return got
    user, lang, part = got
    content = await read_part(part, docs.MAX_SIZE, lang)
    if isinstance(content, web.Response):
        return content
    try:
        doc = await attach(user, object_id, filename=part.filename, content=content,
                           mime_type=part.headers.get("Content-Type"),
                           store=request.app[FILES_KEY], source="web")
    except StorageUnavailable as exc:
        return storage_down(exc, lang)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    except DomainError:
        return missing(not_found, lang)
    return web.json_response({"id": doc.id, "filename": doc.filename, "size": doc.size,
                              "mime_type": doc.mime_type}, status=201)
