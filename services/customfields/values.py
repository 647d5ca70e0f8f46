"""Reading and writing a record's custom values (one record, or clients in bulk),
with the audit of each change and the required fields still missing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    ContactPerson,
    CustomEntity,
    CustomField,
    CustomValue,
    FieldType,
    Role,
    User,
)
from services.clients import get_client, visible_clients
from services.customfields.access import _check_object, _entity, _entity_fields, fields_for
from services.customfields.parsing import CHOICE_TYPES, _parse, _python
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids


async def _load(entity: CustomEntity, object_ids: list[int], fields: list[CustomField], *,
                item_ids: bool = False) -> dict[int, dict[str, Any]]:
    by_id = {f.id: f for f in fields}
    out = {oid: {f.code: ([] if f.type == FieldType.MULTICHOICE else None) for f in fields}
           for oid in object_ids}
    if not by_id or not object_ids:
        return out
    rows = await CustomValue.filter(
        entity=entity, object_id__in=object_ids, field_id__in=list(by_id)).order_by(
        "item__sort_order", "item__name", "id").values(
        "object_id", "field_id", "value_text", "value_number", "value_date", "value_bool",
        "item_id", "item__name")
    for row in rows:
        field = by_id[row["field_id"]]
        value = _python(field, row, item_ids)
        if field.type == FieldType.MULTICHOICE:
            out[row["object_id"]][field.code].append(value)
        elif out[row["object_id"]][field.code] is None:
            out[row["object_id"]][field.code] = value
    return out


def _shown(value: Any) -> str | None:
    if value is None or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def do_set_values(actor: User, entity: Any, object_id: int, values: dict[str, Any],
                        *, source: str = "web") -> dict[str, Any]:
    """Set custom values of one record (each given field's values are replaced).
    Validates everything before writing anything; returns :func:`values_for`."""
    entity = _entity(entity)
    client_id = await _check_object(actor, entity, object_id, True)
    visible = {f.code: f for f in await fields_for(actor, entity)}
    parsed: list[tuple[CustomField, list[dict[str, Any]], Any]] = []
    for code, raw in (values or {}).items():
        field = visible.get(code)
        if field is None:  # unknown and hidden look the same
            raise ValidationFailed(code, N_("no such field"))
        try:
            rows, value = await _parse(field, raw)
            if not rows and field.required:
                raise ValidationFailed(code, N_("is required"))
        except ValidationFailed as exc:  # named as the admin named the field
            exc.label = exc.label or field.name
            raise
        parsed.append((field, rows, value))
    if parsed:
        async with in_transaction():
            touched = [p[0] for p in parsed]
            before = (await _load(entity, [object_id], touched))[object_id]
            before_ids = (await _load(entity, [object_id], touched, item_ids=True))[object_id]
            for field, rows, value in parsed:
                old = before[field.code]
                if field.type in CHOICE_TYPES:
                    old_ids = before_ids[field.code]
                    old_ids = sorted(old_ids if isinstance(old_ids, list) else
                                     [old_ids] if old_ids is not None else [])
                    if old_ids == sorted(r["item_id"] for r in rows):
                        continue
                elif old == value:
                    continue
                await CustomValue.filter(field_id=field.id, entity=entity,
                                         object_id=object_id).delete()
                if rows:
                    await CustomValue.bulk_create([
                        CustomValue(field_id=field.id, entity=entity, object_id=object_id,
                                    **row) for row in rows])
                await AuditLog.create(
                    user_id=actor.id, source=source, entity=f"cf_{entity.value}",
                    object_id=object_id, client_id=client_id, action="update",
                    field=f"cf:{field.code}", old_value=_shown(old), new_value=_shown(value))
    return await values_for(actor, entity, object_id)


async def values_for(actor: User, entity: Any, object_id: int, *, item_ids: bool = False
                     ) -> dict[str, Any]:
    """{code: value} of the fields ``actor`` may see (unset: None, or [] for
    multichoice). Choices come as item names, or ids with ``item_ids=True``."""
    entity = _entity(entity)
    await _check_object(actor, entity, object_id, False)
    fields = await fields_for(actor, entity)
    return (await _load(entity, [object_id], fields, item_ids=item_ids))[object_id]


async def values_for_clients(actor: User, client_ids: Iterable[int], *,
                             item_ids: bool = False) -> dict[int, dict[str, Any]]:
    """Bulk :func:`values_for` for lists and exports: only clients ``actor`` may see are
    returned, only fields they may see are in each dict."""
    wanted = list(dict.fromkeys(int(i) for i in client_ids))
    if not wanted:
        return {}
    allowed = await (await visible_clients(actor)).filter(id__in=wanted).values_list(
        "id", flat=True)
    fields = await fields_for(actor, CustomEntity.CLIENT)
    allowed_set = set(allowed)
    return await _load(CustomEntity.CLIENT, [i for i in wanted if i in allowed_set], fields,
                       item_ids=item_ids)


async def values_for_contacts(actor: User, client_id: int, contact_ids: Iterable[int]
                              ) -> dict[int, dict[str, Any]]:
    """Bulk :func:`values_for` for contact persons of one client (its card): one access
    check and one read for them all. Only the client's contacts not archived are
    returned, and only if ``actor`` sees the client; only fields they may see."""
    await get_client(actor, client_id)
    wanted = list(dict.fromkeys(int(i) for i in contact_ids))
    if not wanted:
        return {}
    theirs = set(await ContactPerson.filter(client_id=client_id, archived_at=None,
                                            id__in=wanted).values_list("id", flat=True))
    fields = await fields_for(actor, CustomEntity.CONTACT)
    return await _load(CustomEntity.CONTACT, [i for i in wanted if i in theirs], fields)


async def missing_required(entity: Any, object_id: int, actor: User | None = None
                           ) -> list[CustomField]:
    """Required fields without a value on the record (only those ``actor`` may see,
    when given: a person is not asked for what is hidden from them)."""
    entity = _entity(entity)
    fields = (await fields_for(actor, entity) if actor is not None
              else await _entity_fields(entity))
    required = [f for f in fields if f.required]
    if not required:
        return []
    have = set(await CustomValue.filter(
        entity=entity, object_id=object_id, field_id__in=[f.id for f in required]
    ).values_list("field_id", flat=True))
    return [f for f in required if f.id not in have]


async def require_complete(entity: Any, object_id: int, actor: User | None = None) -> None:
    """ValidationFailed naming the first required field without a value."""
    missing = await missing_required(entity, object_id, actor)
    if missing:
        names = ", ".join(f.name for f in missing)
        raise ValidationFailed(missing[0].code, N_("is required (missing: {names})"), names=names)


async def values_for_staff(actor: User, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Bulk :func:`values_for` of staff characteristics (S-24) for the directory: only
    people whose values ``actor`` may read (an admin everyone's, a head those of their
    department subtree and their own, anyone else their own), only fields they may
    see; one query for the people, one for the values."""
    wanted = list(dict.fromkeys(int(i) for i in user_ids))
    if not wanted:
        return {}
    fields = await fields_for(actor, CustomEntity.STAFF)
    if not fields:
        return {}
    if actor.role == Role.ADMIN:
        allowed = set(wanted)
    elif actor.role == Role.HEAD and actor.department_id is not None:
        reach = await department_subtree_ids(actor.department_id)
        allowed = set(await User.filter(id__in=wanted, department_id__in=reach)
                      .values_list("id", flat=True)) | ({actor.id} & set(wanted))
    else:
        allowed = {actor.id} & set(wanted)
    return await _load(CustomEntity.STAFF, [i for i in wanted if i in allowed], fields)


async def may_write(actor: User, entity: Any, object_id: int) -> bool:
    """Whether ``actor`` may change custom values of this record (a form is offered
    only then; :func:`do_set_values` checks again)."""
    try:
        await _check_object(actor, _entity(entity), object_id, True)
    except (NotFound, PermissionDenied):
        return False
    return True
