"""Who sees a custom field and whose values (A-3): the rule in the package's
docstring; records are checked per entity (:func:`register_object_check`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from models import ContactPerson, CustomEntity, CustomField, Department, Role, User
from services.clients import get_client
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_staff

CONFIDENTIAL_ROLES = frozenset({Role.ADMIN, Role.HEAD})


def _entity(entity: Any) -> CustomEntity:
    try:
        return CustomEntity(entity)
    except ValueError:
        raise ValidationFailed("entity", N_("«{entity}» is not one of {entities}"),
                               entity=entity,
                               entities=", ".join(e.value for e in CustomEntity))


@dataclass
class _Viewer:
    role: Role
    own_chain: set[int]      # the actor's department and every department above it
    head_scope: set[int]     # a head's department subtree (empty for others)


async def _ancestor_ids(department_id: int | None) -> set[int]:
    chain: set[int] = set()
    current = department_id
    while current is not None and current not in chain:
        chain.add(current)
        current = await Department.filter(id=current).first().values_list("parent_id",
                                                                          flat=True)
    return chain


async def _viewer(actor: User) -> _Viewer:
    scope: set[int] = set()
    if actor.role == Role.HEAD and actor.department_id is not None:
        scope = await department_subtree_ids(actor.department_id)
    return _Viewer(Role(actor.role), await _ancestor_ids(actor.department_id), scope)


def _may_see(viewer: _Viewer, field: CustomField, department_ids: Iterable[int]) -> bool:
    if viewer.role == Role.ADMIN:
        return True
    if field.confidential and viewer.role not in CONFIDENTIAL_ROLES:
        return False
    limited = set(department_ids)
    if not limited:
        return True
    return bool(limited & viewer.own_chain) or bool(limited & viewer.head_scope)


async def _entity_fields(entity: CustomEntity, *, include_archived: bool = False
                         ) -> list[CustomField]:
    qs = CustomField.filter(entity=entity)
    if not include_archived:
        qs = qs.filter(archived=False)
    return await qs.order_by("sort_order", "id").prefetch_related("departments", "dictionary")


async def fields_for(actor: User, entity: Any, *, include_archived: bool = False
                     ) -> list[CustomField]:
    """The fields of ``entity`` that ``actor`` may see, in display order (A-3)."""
    require_staff(actor)
    entity = _entity(entity)
    viewer = await _viewer(actor)
    return [f for f in await _entity_fields(entity, include_archived=include_archived)
            if _may_see(viewer, f, (d.id for d in f.departments))]


async def hidden_codes(actor: User, entity: Any) -> set[str]:
    """Codes of fields ``actor`` may not see: what an audit view or an export must
    leave out (audit rows of custom values have ``field == "cf:<code>"``)."""
    entity = _entity(entity)
    visible = {f.id for f in await fields_for(actor, entity, include_archived=True)}
    return {f.code for f in await _entity_fields(entity, include_archived=True)
            if f.id not in visible}


# which records a person may read/write custom values of; returns the client id (audit)
ObjectCheck = Callable[[User, int, bool], Awaitable[int | None]]


async def _client_check(actor: User, object_id: int, write: bool) -> int | None:
    await get_client(actor, object_id)
    return object_id


async def _contact_check(actor: User, object_id: int, write: bool) -> int | None:
    client_id = await ContactPerson.filter(id=object_id, archived_at=None).first().values_list(
        "client_id", flat=True)
    if client_id is None:
        raise NotFound("contact")
    await get_client(actor, client_id)
    return client_id


async def _staff_check(actor: User, object_id: int, write: bool) -> int | None:
    person = await User.get_or_none(id=object_id)
    if person is None:
        raise NotFound("staff")
    if actor.role == Role.ADMIN:
        return None
    if (actor.role == Role.HEAD and actor.department_id is not None
            and person.department_id in await department_subtree_ids(actor.department_id)
            and (not write or person.role == Role.MANAGER)):
        return None  # a head reads their people's, and writes their managers' (as profiles)
    if person.id == actor.id and not write:
        return None
    raise NotFound("staff")


OBJECT_CHECKS: dict[CustomEntity, ObjectCheck] = {
    CustomEntity.CLIENT: _client_check,
    CustomEntity.CONTACT: _contact_check,
    CustomEntity.STAFF: _staff_check,
}


def register_object_check(entity: CustomEntity, check: ObjectCheck) -> None:
    """Sections that add entities (activities...) say who may see their records:
    ``check(actor, object_id, write)`` raises NotFound/PermissionDenied or returns the
    client id the record belongs to (for the audit log) or None."""
    OBJECT_CHECKS[CustomEntity(entity)] = check


async def _check_object(actor: User, entity: CustomEntity, object_id: int, write: bool
                        ) -> int | None:
    require_staff(actor)
    check = OBJECT_CHECKS.get(entity)
    if check is None:
        raise PermissionDenied(f"no access rule for {entity.value} records yet")
    return await check(actor, object_id, write)
