"""/api/v1 for the settings page (issue 17): whatever an admin creates is also changed,
archived (restored) or deleted here — custom fields, dictionary items, classifier
nodes, segments, playbooks, activity types, categories, products, message templates,
departments — and a person's own card layout. Every rule is in the services."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import (
    catalogue,
    classifier,
    customfields,
    dictionaries,
    layouts,
    messaging,
    playbooks,
    segments,
    staff,
)
from services.permissions import require_admin
from services.rules import validate_rules
from web.api.customization import (
    DictionaryItemOut,
    FieldOut,
    NodeOut,
    SegmentIn,
    SegmentOut,
    _field_out,
)
from web.api.framework import MAX_ID
from web.api.playbooks import PlaybookIn
from web.api.routes import api


class Patch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def given(self) -> dict[str, Any]:
        """Only what the request named (``parent_id: null`` means "to the top")."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class FieldPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    required: bool | None = None
    confidential: bool | None = None
    department_ids: list[int] | None = Field(default=None, max_length=100)
    archived: bool | None = None


@api.route("PATCH", "/custom-fields/{field_id}", summary="Change, archive or restore a "
           "custom field (admins)", body=FieldPatch, response=FieldOut, tags=["settings"])
async def field_patch(request: web.Request, user: User, field_id: int, body: FieldPatch):
    f = await customfields.do_update_field(user, field_id, **body.given())
    return await _field_out(f)


class ItemPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    archived: bool | None = None


@api.route("PATCH", "/dictionary-items/{item_id}", summary="Rename, move, archive or "
           "restore a dictionary item (admins)", body=ItemPatch, response=DictionaryItemOut,
           tags=["settings"])
async def item_patch(request: web.Request, user: User, item_id: int, body: ItemPatch):
    given = body.given()
    require_admin(user)
    item = await dictionaries.get_item(item_id)
    if given.get("name") is not None:
        item = await dictionaries.do_rename_item(user, item_id, given["name"])
    if "parent_id" in given:
        item = await dictionaries.do_move_item(user, item_id, given["parent_id"])
    if given.get("archived") is not None:
        item = await dictionaries.do_archive_item(user, item_id, given["archived"])
    return DictionaryItemOut(id=item.id, name=item.name, parent_id=item.parent_id)


class NodePatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: Literal["manual", "by_field", "by_manager"] | None = None
    rule: Any = None


@api.route("PATCH", "/classifier/{node_id}", summary="Rename, move or change the rule of "
           "a node (admins)", body=NodePatch, response=NodeOut, tags=["settings"])
async def node_patch(request: web.Request, user: User, node_id: int, body: NodePatch):
    given = body.given()
    node = None
    if given.get("name") is not None:
        node = await classifier.do_rename_node(user, node_id, given["name"])
    if "parent_id" in given:
        node = await classifier.do_move_node(user, node_id, given["parent_id"])
    if given.get("kind") is not None:
        node = await classifier.do_set_rule(user, node_id, given["kind"], given.get("rule"))
    if node is None:
        node = await classifier.do_rename_node(user, node_id,
                                               (await classifier.get_node(node_id)).name)
    return NodeOut(id=node.id, name=node.name, parent_id=node.parent_id, kind=str(node.kind))


@api.route("DELETE", "/classifier/{node_id}", summary="Delete a node with its branch "
           "(admins; refused while a segment or rule uses it)", tags=["settings"])
async def node_delete(request: web.Request, user: User, node_id: int):
    await classifier.do_delete_node(user, node_id)
    return {"ok": True}


@api.route("PUT", "/segments/{segment_id}", summary="Change a segment (its author or an "
           "admin)", body=SegmentIn, response=SegmentOut, tags=["settings"])
async def segment_put(request: web.Request, user: User, segment_id: int, body: SegmentIn):
    s = await segments.do_save_segment(user, body.name, body.rules, body.shared,
                                       segment_id=segment_id)
    return SegmentOut(id=s.id, name=s.name, rules=s.rules, shared=s.shared,
                      members=await segments.count_members(user, s))


@api.route("DELETE", "/segments/{segment_id}", summary="Delete a segment (its author or "
           "an admin)", tags=["settings"])
async def segment_delete(request: web.Request, user: User, segment_id: int):
    await segments.do_delete_segment(user, segment_id)
    return {"ok": True}


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: Any


@api.route("POST", "/segments/count", summary="How many clients rules match now (the "
           "builder's preview)", body=RulesIn, tags=["settings"])
async def segment_count(request: web.Request, user: User, body: RulesIn):
    rules = await validate_rules(body.rules, actor=user)
    return {"members": await segments.count_members(user, rules)}


@api.route("PUT", "/playbooks/{playbook_id}", summary="Rename a playbook and replace its "
           "steps (admins and heads)", body=PlaybookIn, tags=["settings"])
async def playbook_put(request: web.Request, user: User, playbook_id: int, body: PlaybookIn):
    p = await playbooks.do_update_playbook(user, playbook_id, body.name,
                                           [s.model_dump() for s in body.steps],
                                           body.description)
    return {"id": p.id, "name": p.name}


class ArchivedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool


@api.route("PATCH", "/playbooks/{playbook_id}", summary="Archive or restore a playbook",
           body=ArchivedIn, tags=["settings"])
async def playbook_archive(request: web.Request, user: User, playbook_id: int,
                           body: ArchivedIn):
    p = await playbooks.do_archive_playbook(user, playbook_id, body.archived)
    return {"id": p.id, "archived": p.archived}


@api.route("PATCH", "/templates/{template_id}", summary="Archive or restore a message "
           "template (admins)", body=ArchivedIn, tags=["settings"])
async def template_archive(request: web.Request, user: User, template_id: int,
                           body: ArchivedIn):
    t = await messaging.do_archive_template(user, template_id, body.archived)
    return {"id": t.id, "archived": t.archived}


class TypePatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: Literal["event", "task"] | None = None
    icon: str | None = Field(default=None, max_length=8)
    archived: bool | None = None


@api.route("PATCH", "/activity-types/{type_id}", summary="Change, archive or restore an "
           "activity type (admins)", body=TypePatch, tags=["settings"])
async def type_patch(request: web.Request, user: User, type_id: int, body: TypePatch):
    t = await catalogue.do_update_type(user, type_id, body.given())
    return {"id": t.id, "name": t.name, "kind": str(t.kind), "icon": t.icon,
            "archived": t.archived}


class CategoryPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    archived: bool | None = None


@api.route("PATCH", "/activity-categories/{category_id}", summary="Change, archive or "
           "restore a category (admins)", body=CategoryPatch, tags=["settings"])
async def category_patch(request: web.Request, user: User, category_id: int,
                         body: CategoryPatch):
    c = await catalogue.do_update_category(user, category_id, body.given())
    return {"id": c.id, "name": c.name, "colour": c.colour, "archived": c.archived}


class ProductPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    code: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    archived: bool | None = None


@api.route("PATCH", "/products/{product_id}", summary="Change, archive or restore a "
           "product (admins)", body=ProductPatch, tags=["settings"])
async def product_patch(request: web.Request, user: User, product_id: int,
                        body: ProductPatch):
    p = await catalogue.do_update_product(user, product_id, body.given())
    return {"id": p.id, "name": p.name, "code": p.code, "category": p.category,
            "unit": p.unit, "archived": p.archived}


class DepartmentPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


@api.route("PATCH", "/departments/{department_id}", summary="Rename or move a department "
           "(admins)", body=DepartmentPatch, tags=["settings"])
async def department_patch(request: web.Request, user: User, department_id: int,
                           body: DepartmentPatch):
    given = body.given()
    d = await staff.do_update_department(user, department_id, name=given.get("name"),
                                         parent_id=given.get("parent_id", False))
    return {"id": d.id, "name": d.name, "parent_id": d.parent_id}


@api.route("DELETE", "/departments/{department_id}", summary="Delete an empty department "
           "(admins)", tags=["settings"])
async def department_delete(request: web.Request, user: User, department_id: int):
    await staff.do_delete_department(user, department_id)
    return {"ok": True}


@api.route("DELETE", "/card-layout/own", summary="Back to the department's card layout "
           "(A-2)", tags=["settings"])
async def own_layout_reset(request: web.Request, user: User):
    await layouts.do_reset_own_layout(user)
    return {"ok": True}
