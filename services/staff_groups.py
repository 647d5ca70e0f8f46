"""Staff classifications (S-24; issue 15's S-25): the client classifier's tree machinery
reused for people. Admins build the staff tree with :mod:`services.classifier`
(``entity="staff"``, manual nodes only); here people are put into groups and taken out.

Who may:

* see a person's groups — an admin anyone's, a head those of the people of their
  departments (sub-departments included), everybody their own;
* put a person into a group or take them out — an admin anyone, a head the other people
  of their departments (not themselves).

The directory shows each person's groups to those who may see them and filters by a
group (with its subgroups); someone who may not see a person's groups never finds that
person through the filter.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import AuditLog, ClassifierEntity, ClassifierNode, Role, StaffClassification, User
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_staff
from services.rules import get_node, subtree_ids


async def _scope(actor: User) -> Q | None:
    """A Q over User: the people whose groups ``actor`` sees (None: everybody)."""
    require_staff(actor)
    if actor.role == Role.ADMIN:
        return None
    if actor.role == Role.HEAD and actor.department_id is not None:
        departments = await department_subtree_ids(actor.department_id)
        return Q(id=actor.id) | Q(department_id__in=list(departments))
    return Q(id=actor.id)


async def may_see(actor: User, person: User) -> bool:
    scope = await _scope(actor)
    return scope is None or await User.filter(scope, id=person.id).exists()


async def may_change(actor: User, person: User) -> bool:
    """Admins anyone; heads the other people of their departments."""
    if actor.role == Role.ADMIN and actor.is_active:
        return True
    if actor.role != Role.HEAD or person.id == actor.id:
        return False
    return await may_see(actor, person)


async def _person(actor: User, user_id: int, *, write: bool) -> User:
    person = await User.get_or_none(id=user_id)
    if person is None or not await may_see(actor, person):
        raise NotFound("person")
    if write and not await may_change(actor, person):
        raise PermissionDenied("staff groups not allowed")
    return person


async def _staff_node(node_id: int) -> ClassifierNode:
    node = await get_node(node_id)
    if node.entity != ClassifierEntity.STAFF:
        raise ValidationFailed("node", N_("«{node}» is a group of clients, not of staff"),
                               node=node.name)
    return node


async def person_groups(actor: User, user_id: int) -> list[ClassifierNode]:
    """The staff groups a person is in (NotFound for someone one may not see them of)."""
    await _person(actor, user_id, write=False)
    return await ClassifierNode.filter(
        entity=ClassifierEntity.STAFF, staff_memberships__user_id=user_id).order_by(
        "sort_order", "name", "id")


async def groups_of_people(actor: User, user_ids: Iterable[int]
                           ) -> dict[int, list[ClassifierNode]]:
    """Bulk :func:`person_groups` for the directory: only people whose groups ``actor``
    may see are in the answer (two queries)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    scope = await _scope(actor)
    qs = User.filter(id__in=ids)
    seen = await (qs.filter(scope) if scope is not None else qs).values_list("id", flat=True)
    if not seen:
        return {}
    rows = await StaffClassification.filter(user_id__in=list(seen)).values_list(
        "user_id", "node_id")
    nodes = {n.id: n for n in await ClassifierNode.filter(
        id__in=list({n for _u, n in rows}))}
    found: dict[int, list[ClassifierNode]] = {}
    for user_id, node_id in rows:
        found.setdefault(user_id, []).append(nodes[node_id])
    for groups in found.values():
        groups.sort(key=lambda n: (n.sort_order, n.name, n.id))
    return found


async def members_q(actor: User, node_id: int) -> Q:
    """A Q over User: the people in the group or its subgroups whose groups ``actor``
    may see — the directory's filter."""
    node = await _staff_node(node_id)
    q = Q(staff_classifications__node_id__in=await subtree_ids(node.id))
    scope = await _scope(actor)
    return q if scope is None else q & scope


async def member_ids(actor: User, node_id: int) -> list[int]:
    return list(await User.filter(await members_q(actor, node_id)).distinct()
                .values_list("id", flat=True))


async def _audit(actor: User, source: str, person: User, action: str, node: ClassifierNode,
                 *, old: str | None = None, new: str | None = None) -> None:
    await AuditLog.create(user_id=actor.id, source=source, entity="staff",
                          object_id=person.id, action=action, field="staff_group",
                          old_value=old, new_value=new)


async def do_place(actor: User, user_id: int, node_id: int, *, source: str = "web") -> bool:
    """Put a person into a staff group; False if they were already there."""
    person = await _person(actor, user_id, write=True)
    node = await _staff_node(node_id)
    async with in_transaction():
        if await StaffClassification.exists(node_id=node.id, user_id=person.id):
            return False
        await StaffClassification.create(node_id=node.id, user_id=person.id)
        await _audit(actor, source, person, "classify", node, new=node.name)
    return True


async def do_remove(actor: User, user_id: int, node_id: int, *, source: str = "web") -> bool:
    """Take a person out of a staff group; False if they were not there."""
    person = await _person(actor, user_id, write=True)
    node = await _staff_node(node_id)
    async with in_transaction():
        removed = await StaffClassification.filter(node_id=node.id, user_id=person.id).delete()
        if removed:
            await _audit(actor, source, person, "unclassify", node, old=node.name)
    return bool(removed)


async def do_set_groups(actor: User, user_id: int, node_ids: Iterable[int], *,
                        source: str = "web") -> list[ClassifierNode]:
    """Make a person's groups exactly ``node_ids`` (every id checked first)."""
    person = await _person(actor, user_id, write=True)
    wanted = []
    for node_id in dict.fromkeys(node_ids):
        try:
            wanted.append(await _staff_node(int(node_id)))
        except NotFound:
            raise ValidationFailed("node_ids", N_("no staff group {id}"), id=node_id) from None
    have = set(await StaffClassification.filter(user_id=person.id).values_list(
        "node_id", flat=True))
    want = {n.id for n in wanted}
    async with in_transaction():
        for node in wanted:
            if node.id not in have:
                await StaffClassification.create(node_id=node.id, user_id=person.id)
                await _audit(actor, source, person, "classify", node, new=node.name)
        gone = have - want
        if gone:
            for node in await ClassifierNode.filter(id__in=list(gone)):
                await _audit(actor, source, person, "unclassify", node, old=node.name)
            await StaffClassification.filter(user_id=person.id, node_id__in=list(gone)).delete()
    return await person_groups(actor, person.id)
