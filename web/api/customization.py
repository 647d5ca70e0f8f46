"""/api/v1 for customisation without programmers (K-3): custom fields and their values
(S-5, A-3), dictionaries (A-16, S-8, A-17), the classifier (S-9, M-1), segments (K-14, A-19)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import classifier, customfields, dictionaries, segments
from web.api.framework import MAX_ID
from web.api.routes import api
from web.session import request_source


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


class FieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: Literal["client", "contact", "activity", "staff"] = "client"
    code: str | None = Field(default=None, max_length=64,
                             description="made from the name when not given")
    name: str = Field(min_length=1, max_length=200)
    type: Literal["text", "number", "money", "date", "bool", "choice", "multichoice"]
    dictionary_code: str | None = Field(default=None, max_length=64)
    items: list[str] | None = Field(default=None, max_length=500)
    required: bool = False
    confidential: bool = False
    department_ids: list[int] = Field(default_factory=list, max_length=100)


class FieldOut(BaseModel):
    id: int
    entity: str
    code: str
    name: str
    type: str
    required: bool
    confidential: bool
    choices: list[dict[str, Any]] = []


class FieldList(BaseModel):
    items: list[FieldOut]


class ValuesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any]


class ValuesOut(BaseModel):
    values: dict[str, Any]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class DictionaryItemOut(BaseModel):
    id: int
    name: str
    parent_id: int | None


class ItemList(BaseModel):
    items: list[DictionaryItemOut]


class NodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: Literal["manual", "by_field", "by_manager"] = "manual"
    rule: Any = None


class NodeOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    kind: str


class NodeList(BaseModel):
    items: list[NodeOut]


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    rules: Any
    shared: bool = True


class SegmentOut(BaseModel):
    id: int
    name: str
    rules: Any
    shared: bool
    members: int | None  # None: the rules no longer evaluate (a field they name archived)


class SegmentList(BaseModel):
    items: list[SegmentOut]


class MemberList(BaseModel):
    items: list[dict[str, Any]]
    total: int


async def _field_out(f) -> FieldOut:
    choices = []
    if f.dictionary_id:
        choices = [{"id": i.id, "name": i.name}
                   for i in await dictionaries.items_in_use(f.dictionary_id)]
    return FieldOut(id=f.id, entity=str(f.entity), code=f.code, name=f.name, type=str(f.type),
                    required=f.required, confidential=f.confidential, choices=choices)


@api.route("GET", "/custom-fields/{entity}", summary="Custom fields one may see (S-5, A-3)",
           response=FieldList, tags=["customisation"])
async def fields_list(request: web.Request, user: User, entity: str):
    return FieldList(items=[await _field_out(f)
                            for f in await customfields.fields_for(user, entity)])


@api.route("POST", "/custom-fields", summary="Define a custom field (admins; K-3)",
           body=FieldIn, response=FieldOut, tags=["customisation"], status=201)
async def fields_create(request: web.Request, user: User, body: FieldIn):
    f = await customfields.do_create_field(
        user, body.entity, body.code, body.name, body.type,
        dictionary_code=body.dictionary_code, items=body.items, required=body.required,
        confidential=body.confidential, department_ids=body.department_ids)
    return await _field_out(f)


@api.route("GET", "/clients/{client_id}/custom", summary="A client's custom values",
           response=ValuesOut, tags=["customisation"])
async def values_get(request: web.Request, user: User, client_id: int):
    values = await customfields.values_for(user, "client", client_id)
    return ValuesOut(values={k: _jsonable(v) for k, v in values.items()})


@api.route("PUT", "/clients/{client_id}/custom", summary="Set a client's custom values",
           body=ValuesIn, response=ValuesOut, tags=["customisation"])
async def values_put(request: web.Request, user: User, client_id: int, body: ValuesIn):
    values = await customfields.do_set_values(user, "client", client_id, body.values)
    return ValuesOut(values={k: _jsonable(v) for k, v in values.items()})


@api.route("GET", "/staff/{user_id}/custom", summary="A person's characteristics (S-24): "
           "admins anyone's, heads their departments', anyone their own", response=ValuesOut,
           tags=["staff"])
async def staff_values_get(request: web.Request, user: User, user_id: int):
    values = await customfields.values_for(user, "staff", user_id)
    return ValuesOut(values={k: _jsonable(v) for k, v in values.items()})


@api.route("PUT", "/staff/{user_id}/custom", summary="Set a person's characteristics (S-24; "
           "admins, and heads for their departments)", body=ValuesIn, response=ValuesOut,
           tags=["staff"])
async def staff_values_put(request: web.Request, user: User, user_id: int, body: ValuesIn):
    values = await customfields.do_set_values(user, "staff", user_id, body.values,
                                              source=request_source(request))
    return ValuesOut(values={k: _jsonable(v) for k, v in values.items()})


@api.route("GET", "/dictionaries/{code}", summary="Items of a dictionary (A-16, S-8, A-17)",
           response=ItemList, tags=["customisation"])
async def items_list(request: web.Request, user: User, code: str):
    items = await dictionaries.list_items(code, parent_id=_opt_int(request, "parent_id"),
                                          query=request.query.get("q"))
    return ItemList(items=[DictionaryItemOut(id=i.id, name=i.name, parent_id=i.parent_id)
                           for i in items])


def _opt_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return int(raw) if raw and raw.isdigit() and int(raw) <= MAX_ID else None


@api.route("POST", "/dictionaries/{code}", summary="Add an item (staff may extend)",
           body=ItemIn, response=DictionaryItemOut, tags=["customisation"], status=201)
async def items_add(request: web.Request, user: User, code: str, body: ItemIn):
    item = await dictionaries.do_add_item(user, code, body.name, body.parent_id)
    return DictionaryItemOut(id=item.id, name=item.name, parent_id=item.parent_id)


@api.route("GET", "/classifier", summary="The classifier tree (S-9, M-1)", response=NodeList,
           tags=["customisation"])
async def nodes_list(request: web.Request, user: User):
    return NodeList(items=[NodeOut(id=n.id, name=n.name, parent_id=n.parent_id,
                                   kind=str(n.kind)) for n in await classifier.list_nodes()])


@api.route("POST", "/classifier", summary="Add a node (admins)", body=NodeIn,
           response=NodeOut, tags=["customisation"], status=201)
async def nodes_create(request: web.Request, user: User, body: NodeIn):
    n = await classifier.do_create_node(user, body.name, body.parent_id, body.kind, body.rule)
    return NodeOut(id=n.id, name=n.name, parent_id=n.parent_id, kind=str(n.kind))


@api.route("PUT", "/clients/{client_id}/classifier/{node_id}",
           summary="Put a client into a manual node", tags=["customisation"])
async def classify(request: web.Request, user: User, client_id: int, node_id: int):
    return {"added": await classifier.do_classify(user, client_id, node_id)}


@api.route("DELETE", "/clients/{client_id}/classifier/{node_id}",
           summary="Take a client out of a manual node", tags=["customisation"])
async def unclassify(request: web.Request, user: User, client_id: int, node_id: int):
    return {"removed": await classifier.do_unclassify(user, client_id, node_id)}


@api.route("GET", "/segments", summary="Saved segments one may use (K-14, A-19)",
           response=SegmentList, tags=["customisation"])
async def segments_list(request: web.Request, user: User):
    return SegmentList(items=[SegmentOut(id=s.id, name=s.name, rules=s.rules, shared=s.shared,
                                         members=n)
                              for s, n in await segments.list_with_counts(user)])


@api.route("POST", "/segments", summary="Save a segment", body=SegmentIn,
           response=SegmentOut, tags=["customisation"], status=201)
async def segments_create(request: web.Request, user: User, body: SegmentIn):
    s = await segments.do_save_segment(user, body.name, body.rules, body.shared)
    return SegmentOut(id=s.id, name=s.name, rules=s.rules, shared=s.shared,
                      members=await segments.count_members(user, s))


class MembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@api.route("GET", "/segments/{segment_id}/members", summary="Members by name, computed now "
           "in SQL, a page at a time", query=MembersQuery, response=MemberList,
           tags=["customisation"])
async def segment_members(request: web.Request, user: User, segment_id: int,
                          query: MembersQuery):
    rows, total = await segments.member_page(user, segment_id, limit=query.limit,
                                             offset=query.offset)
    return MemberList(items=[{"id": c.id, "name": c.name} for c in rows], total=total)


class CompletenessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weights: dict[Literal["name", "phone", "email", "address", "requisites", "contact"],
                  int] = Field(min_length=1)
    minimum: int = Field(default=0, ge=0, le=100)


@api.route("PUT", "/settings/completeness",
           summary="Completeness weights and the minimum to save a card (admins; S-10)",
           body=CompletenessIn, tags=["customisation"])
async def completeness_put(request: web.Request, user: User, body: CompletenessIn):
    from services import catalogue

    weights, minimum = await catalogue.do_save_completeness(user, dict(body.weights),
                                                            body.minimum)
    return {"weights": weights, "minimum": minimum}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other_id: int = Field(ge=1, le=MAX_ID)
    kind: Literal["group_member", "division", "dealer_of", "competitor_of", "partner_of",
                  "supplier_of"]
    note: str | None = Field(default=None, max_length=300)


@api.route("POST", "/clients/{client_id}/links", summary="Relate two clients (U-3)",
           body=LinkIn, tags=["clients"], status=201)
async def link_create(request: web.Request, user: User, client_id: int, body: LinkIn):
    from services import links

    link = await links.do_link(user, client_id, body.other_id, body.kind, note=body.note)
    return {"id": link.id}


@api.route("GET", "/clients/{client_id}/links", summary="Related clients (U-3)",
           tags=["clients"])
async def link_list(request: web.Request, user: User, client_id: int):
    from services import links

    return {"items": [vars(v) for v in await links.links_of(user, client_id)]}


@api.route("DELETE", "/links/{link_id}", summary="Remove a relation", tags=["clients"])
async def link_delete(request: web.Request, user: User, link_id: int):
    from services import links

    await links.do_unlink(user, link_id)
    return {"ok": True}


class LayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sections: list[str] = Field(min_length=1, max_length=20)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)


@api.route("PUT", "/card-layout", summary="The client card's sections for a department or "
           "a person (A-2)", body=LayoutIn, tags=["customisation"])
async def layout_put(request: web.Request, user: User, body: LayoutIn):
    from services import layouts

    row = await layouts.do_save_layout(user, body.sections, department_id=body.department_id,
                                       user_id=body.user_id)
    return {"id": row.id, "sections": row.layout["sections"]}
