"""The client classifier (S-9, M-1): a tree of groups where one client sits in several
branches at once (hot/cold, loyal/disloyal, large/small).

Three kinds of node:

* ``manual`` — people put clients in (``client_classification`` rows);
* ``by_field`` — automatic: ``rule`` is a segment rules object (see
  :mod:`services.segments`), members computed by the database;
* ``by_manager`` — automatic: ``rule`` is ``{"manager_ids": [..]}``, members are the
  clients currently assigned to any of them.

Admins build the tree (create, rename, move without cycles, change the rule,
delete). Anyone who sees a client may put it into or take it out of a manual node.
Members are always limited by ``visible_clients(actor)`` (A-3).

The same tree machinery holds staff groups (S-24, issue 15's S-25): a node's
``entity`` is ``client`` or ``staff``; staff nodes are manual only, a node's parent is of
its own entity, and :mod:`services.staff_groups` puts people in them.
"""

from __future__ import annotations

from typing import Any

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    ClassifierEntity,
    ClassifierKind,
    ClassifierNode,
    Client,
    ClientClassification,
    Segment,
    User,
)
from services import dictionaries
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import require_admin
from services.rules import (
    get_node,
    node_q,
    referenced_nodes,
    rules_q,
    subtree_ids,
    validate_rules,
)


def _kind(kind: Any) -> ClassifierKind:
    try:
        return ClassifierKind(kind)
    except ValueError:
        raise ValidationFailed("kind", N_("«{kind}» is not one of {kinds}"), kind=kind,
                               kinds=", ".join(k.value for k in ClassifierKind))


def _entity(entity: Any) -> ClassifierEntity:
    try:
        return ClassifierEntity(entity)
    except ValueError:
        raise ValidationFailed("entity", N_("«{kind}» is not one of {kinds}"), kind=entity,
                               kinds=", ".join(k.value for k in ClassifierEntity))


async def _parent_of(entity: ClassifierEntity, parent_id: int | None) -> None:
    """The parent exists and holds the same kind of records."""
    if parent_id is not None and (await get_node(parent_id)).entity != entity:
        raise ValidationFailed("parent", N_("a group of clients and a group of staff "
                                            "cannot be inside one another"))


async def _clean_rule(kind: ClassifierKind, rule: Any, actor: User,
                      node_id: int | None = None) -> Any:
    if kind == ClassifierKind.MANUAL:
        if rule:
            raise ValidationFailed("rule", N_("people put clients into a manual group; "
                                              "it has no rule"))
        return None
    if kind == ClassifierKind.BY_MANAGER:
        ids = rule.get("manager_ids") if isinstance(rule, dict) else None
        if not isinstance(ids, list) or not ids:
            raise ValidationFailed("rule", N_('give {{"manager_ids": [staff ids]}}'))
        try:
            ids = list(dict.fromkeys(int(i) for i in ids if not isinstance(i, bool)))
        except (TypeError, ValueError):
            raise ValidationFailed("rule", N_("manager_ids must be staff ids"))
        known = set(await User.filter(id__in=ids).values_list("id", flat=True))
        if missing := [i for i in ids if i not in known]:
            raise ValidationFailed("rule", N_("no staff member {id}"), id=missing[0])
        return {"manager_ids": ids}
    normal = await validate_rules(rule, actor=actor)
    if node_id is not None:  # refuses a rule that reaches this node again
        await rules_q(normal, _stack=(node_id,))
    return normal


async def _audit(actor: User, source: str, object_id: int, action: str, *,
                 client_id: int | None = None, entity: str = "classifier_node",
                 field: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(
        user_id=actor.id, source=source, entity=entity, object_id=object_id,
        client_id=client_id, action=action, field=field,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new))


# --- the tree (admins) -------------------------------------------------------------
async def do_create_node(actor: User, name: str, parent_id: int | None = None,
                         kind: Any = ClassifierKind.MANUAL, rule: Any = None, *,
                         entity: Any = ClassifierEntity.CLIENT,
                         source: str = "web") -> ClassifierNode:
    require_admin(actor)
    name = dictionaries._clean_name(name)
    kind = _kind(kind)
    entity = _entity(entity)
    _staff_manual(entity, kind)
    await _parent_of(entity, parent_id)
    rule = await _clean_rule(kind, rule, actor)
    last = await ClassifierNode.filter(parent_id=parent_id).order_by("-sort_order").first()
    async with in_transaction():
        node = await ClassifierNode.create(name=name, parent_id=parent_id, kind=kind,
                                           rule=rule, entity=entity,
                                           sort_order=(last.sort_order + 1) if last else 0)
        await _audit(actor, source, node.id, "create", new=f"{kind.value}: {name}")
    return node


async def do_rename_node(actor: User, node_id: int, name: str, *,
                         source: str = "web") -> ClassifierNode:
    require_admin(actor)
    node = await get_node(node_id)
    name = dictionaries._clean_name(name)
    if name != node.name:
        async with in_transaction():
            old, node.name = node.name, name
            await node.save(update_fields=["name", "updated_at"])
            await _audit(actor, source, node.id, "update", field="name", old=old, new=name)
    return node


async def do_move_node(actor: User, node_id: int, new_parent_id: int | None, *,
                       sort_order: int | None = None, source: str = "web") -> ClassifierNode:
    """Move a node (with its branch) under another node or to the top; a node cannot
    go under itself or its own descendants."""
    require_admin(actor)
    node = await get_node(node_id)
    if new_parent_id is not None:
        await _parent_of(node.entity, new_parent_id)
        if new_parent_id in await subtree_ids(node.id):
            raise ValidationFailed("parent", N_("a group cannot go inside itself"))
    async with in_transaction():
        old = node.parent_id
        if sort_order is not None:
            node.sort_order = int(sort_order)
        elif old != new_parent_id:  # to the end of its new siblings
            last = await ClassifierNode.filter(parent_id=new_parent_id).order_by(
                "-sort_order").first()
            node.sort_order = (last.sort_order + 1) if last else 0
        node.parent_id = new_parent_id
        await node.save(update_fields=["parent_id", "sort_order", "updated_at"])
        if old != new_parent_id:
            await _audit(actor, source, node.id, "move", field="parent", old=old,
                         new=new_parent_id)
    return node


async def do_set_rule(actor: User, node_id: int, kind: Any, rule: Any = None, *,
                      source: str = "web") -> ClassifierNode:
    """Change what a node holds. Leaving ``manual`` drops its hand-made memberships."""
    require_admin(actor)
    node = await get_node(node_id)
    kind = _kind(kind)
    _staff_manual(node.entity, kind)
    rule = await _clean_rule(kind, rule, actor, node.id)
    if kind == node.kind and rule == node.rule:
        return node  # the same: no history line
    async with in_transaction():
        if node.kind == ClassifierKind.MANUAL and kind != ClassifierKind.MANUAL:
            await ClientClassification.filter(node_id=node.id).delete()
        old = {"kind": node.kind.value, "rule": node.rule}
        node.kind, node.rule = kind, rule
        await node.save(update_fields=["kind", "rule", "updated_at"])
        await _audit(actor, source, node.id, "update", field="rule", old=old,
                     new={"kind": kind.value, "rule": rule})
    return node


async def do_delete_node(actor: User, node_id: int, *, source: str = "web") -> None:
    """Delete a node with its branch and memberships; refused while a segment or an
    automatic node's rule refers to one of them."""
    require_admin(actor)
    node = await get_node(node_id)
    branch = set(await subtree_ids(node.id))
    for segment in await Segment.all().only("id", "name", "rules"):
        if referenced_nodes(segment.rules) & branch:
            raise ValidationFailed("node", N_("the segment «{segment}» uses this group"),
                                   segment=segment.name)
    for other in await ClassifierNode.filter(kind=ClassifierKind.BY_FIELD).exclude(
            id__in=list(branch)):
        if referenced_nodes(other.rule) & branch:
            raise ValidationFailed("node", N_("the group «{other}» uses this group"),
                                   other=other.name)
    async with in_transaction():
        await _audit(actor, source, node.id, "delete", old=node.name)
        await node.delete()  # children and memberships cascade


def _staff_manual(entity: ClassifierEntity, kind: ClassifierKind) -> None:
    if entity == ClassifierEntity.STAFF and kind != ClassifierKind.MANUAL:
        raise ValidationFailed("kind", N_("people are put into a staff group by hand"))


async def list_nodes(entity: Any = ClassifierEntity.CLIENT) -> list[ClassifierNode]:
    """Every node of the clients' (or the staff's) tree, in level order."""
    return await ClassifierNode.filter(entity=_entity(entity)).order_by(
        "sort_order", "name", "id")


async def tree(entity: Any = ClassifierEntity.CLIENT) -> list[dict[str, Any]]:
    """The tree as nested ``{"node": ClassifierNode, "children": [...]}``."""
    nodes = await list_nodes(entity)
    entries = {n.id: {"node": n, "children": []} for n in nodes}
    roots: list[dict[str, Any]] = []
    for n in nodes:
        parent = entries.get(n.parent_id) if n.parent_id is not None else None
        (parent["children"] if parent else roots).append(entries[n.id])
    return roots


# --- membership --------------------------------------------------------------------
async def node_clients(actor: User, node_id: int, *, descendants: bool = False
                       ) -> QuerySet[Client]:
    """The clients of a node (and, with ``descendants``, of its whole branch) that
    ``actor`` may see — a queryset evaluated in SQL."""
    from services.clients import visible_clients

    qs = await visible_clients(actor)
    return qs.filter(await node_q(node_id, descendants=descendants))


async def client_nodes(actor: User, client_id: int) -> list[ClassifierNode]:
    """Every node the client sits in, of all three kinds (one query per automatic
    node; a node whose rule no longer works is skipped)."""
    from services.clients import get_client

    await get_client(actor, client_id)
    manual = set(await ClientClassification.filter(client_id=client_id).values_list(
        "node_id", flat=True))
    found: list[ClassifierNode] = []
    for node in await list_nodes():
        if node.kind == ClassifierKind.MANUAL:
            if node.id in manual:
                found.append(node)
            continue
        try:
            q = await node_q(node)
        except (ValidationFailed, NotFound):
            continue
        if await Client.filter(id=client_id).filter(q).exists():
            found.append(node)
    return found


async def _manual_node(node_id: int) -> ClassifierNode:
    node = await get_node(node_id)
    if node.entity != ClassifierEntity.CLIENT:
        raise NotFound("classifier_node")
    if node.kind != ClassifierKind.MANUAL:
        raise ValidationFailed("node", N_("clients join «{node}» automatically"), node=node.name)
    return node


async def do_classify(actor: User, client_id: int, node_id: int, *,
                      source: str = "web") -> bool:
    """Put a client into a manual node; False if it was already there."""
    from services.clients import get_client

    client = await get_client(actor, client_id)
    node = await _manual_node(node_id)
    async with in_transaction():
        if await ClientClassification.exists(node_id=node.id, client_id=client.id):
            return False
        await ClientClassification.create(node_id=node.id, client_id=client.id)
        await _audit(actor, source, node.id, "classify", client_id=client.id,
                     entity="classification", field="classifier", new=node.name)
    return True


async def do_unclassify(actor: User, client_id: int, node_id: int, *,
                        source: str = "web") -> bool:
    """Take a client out of a manual node; False if it was not there."""
    from services.clients import get_client

    client = await get_client(actor, client_id)
    node = await _manual_node(node_id)
    async with in_transaction():
        removed = await ClientClassification.filter(node_id=node.id,
                                                    client_id=client.id).delete()
        if removed:
            await _audit(actor, source, node.id, "unclassify", client_id=client.id,
                         entity="classification", field="classifier", old=node.name)
    return bool(removed)
