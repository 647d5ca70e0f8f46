"""Field definitions (S-5, K-3): admins create and change fields; a field's code
is made from its name; a choice field gets its own list or uses a dictionary."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tortoise.transactions import in_transaction

from models import AuditLog, CustomField, Department, Dictionary, DictionaryItem, FieldType, User
from models.staff import fold
from services import dictionaries
from services.customfields.access import _entity
from services.customfields.parsing import CHOICE_TYPES
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import require_admin

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


async def with_choices(fields: list[CustomField]) -> list[CustomField]:
    """The fields with the items of their lists loaded (a form's choices): the lists and
    their items of all the fields at once, not a query per field."""
    listed = [f for f in fields if f.dictionary_id]
    if listed:
        await CustomField.fetch_for_list(listed, "dictionary__items")
    return fields


def _clean_code(code: Any) -> str:
    text = str(code or "").strip()
    if not CODE_RE.match(text):
        raise ValidationFailed("code", N_("use 1-63 Latin lower-case letters, digits and _, "
                                          "starting with a letter"))
    return text


async def derive_code(entity: Any, name: str) -> str:
    """A field's code made from its name (people never type codes): Latin letters from
    the transliterated name, ``_`` between words, unique for the entity (``_2``...)."""
    from services.text import translit

    entity = _entity(entity)
    base = re.sub(r"[^a-z0-9]+", "_", translit(str(name or ""))).strip("_")[:40] or "field"
    if not base[0].isalpha():
        base = f"f_{base}"
    taken = set(await CustomField.filter(entity=entity, code__startswith=base)
                .values_list("code", flat=True))
    code, n = base, 2
    while code in taken:
        code, n = f"{base}_{n}", n + 1
    return code


async def _departments(department_ids: Iterable[int] | None) -> list[Department]:
    ids = list(dict.fromkeys(department_ids or []))
    if not ids:
        return []
    found = await Department.filter(id__in=ids)
    if len(found) != len(ids):
        missing = sorted(set(ids) - {d.id for d in found})
        raise ValidationFailed("department_ids", N_("no such department: {missing}"),
                               missing=missing)
    return found


async def _audit_field(actor: User, source: str, field: CustomField, action: str,
                       attr: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(
        user_id=actor.id, source=source, entity="custom_field", object_id=field.id,
        action=action, field=attr, old_value=None if old is None else str(old),
        new_value=None if new is None else str(new))


async def do_create_field(actor: User, entity: Any, code: str | None, name: str, type: Any, *,
                          dictionary_code: str | None = None,
                          items: list[Any] | None = None, required: bool = False,
                          confidential: bool = False,
                          department_ids: Iterable[int] | None = None,
                          sort_order: int | None = None, source: str = "web") -> CustomField:
    """Define a field (admins). A choice field uses an existing dictionary
    (``dictionary_code``) or gets its own ``cf_<code>`` made from ``items`` (names, or
    ``{"name": ..., "code": ...}``). Without ``code`` one is made from the name."""
    require_admin(actor)
    entity = _entity(entity)
    name = dictionaries._clean_name(name)
    code = _clean_code(code) if code else await derive_code(entity, name)
    try:
        ftype = FieldType(type)
    except ValueError:
        raise ValidationFailed("type", N_("«{type}» is not one of {types}"), type=type,
                               types=", ".join(t.value for t in FieldType))
    if await CustomField.exists(entity=entity, code=code):
        raise ValidationFailed("code", N_("a {value} field «{code}» already exists"),
                               value=entity.value, code=code)
    if ftype not in CHOICE_TYPES and (dictionary_code or items):
        raise ValidationFailed("dictionary_code", N_("only choice fields have a list of values"))
    if ftype in CHOICE_TYPES and not dictionary_code and not items:
        raise ValidationFailed("items", N_("a choice field needs a list of values"))
    if dictionary_code and items:
        raise ValidationFailed("items", N_("give either a dictionary or a list of values"))
    departments = await _departments(department_ids)
    dictionary: Dictionary | None = None
    if dictionary_code:
        dictionary = await Dictionary.get_or_none(code=dictionary_code)
        if dictionary is None and dictionary_code in dictionaries.SYSTEM_DICTIONARIES:
            dictionary = await dictionaries.get_dictionary(dictionary_code)
        if dictionary is None:
            raise ValidationFailed("dictionary_code", N_("no dictionary «{dictionary_code}»"),
                                   dictionary_code=dictionary_code)
    parsed_items: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for raw in items or []:
        item_name, item_code = ((raw.get("name"), raw.get("code")) if isinstance(raw, dict)
                                else (raw, None))
        item_name = dictionaries._clean_name(item_name, "items")
        if fold(item_name) in seen:
            raise ValidationFailed("items", N_("«{item_name}» is in the list twice"),
                                   item_name=item_name)
        seen.add(fold(item_name))
        parsed_items.append((item_name, item_code))
    if sort_order is None:
        last = await CustomField.filter(entity=entity).order_by("-sort_order").first()
        sort_order = (last.sort_order + 1) if last else 0
    async with in_transaction():
        if parsed_items:
            dict_code = f"cf_{code}"
            if await Dictionary.exists(code=dict_code):
                dict_code = f"cf_{entity.value}_{code}"
            dictionary = await dictionaries.create_dictionary(dict_code, name)
            for order, (item_name, item_code) in enumerate(parsed_items):
                await DictionaryItem.create(dictionary=dictionary, name=item_name,
                                            code=item_code, sort_order=order)
        field = await CustomField.create(
            entity=entity, code=code, name=name, type=ftype, dictionary=dictionary,
            required=bool(required), confidential=bool(confidential), sort_order=sort_order)
        if departments:
            await field.departments.add(*departments)
        await _audit_field(actor, source, field, "create", new=f"{entity.value}.{code}")
    return field


async def get_field(entity: Any, code: str, *, include_archived: bool = False) -> CustomField:
    qs = CustomField.filter(entity=_entity(entity), code=code)
    if not include_archived:
        qs = qs.filter(archived=False)
    field = await qs.prefetch_related("departments", "dictionary").first()
    if field is None:
        raise ValidationFailed(code, N_("no such field"))
    return field


async def do_update_field(actor: User, field_id: int, *, name: str | None = None,
                          required: bool | None = None, confidential: bool | None = None,
                          department_ids: Iterable[int] | None = None,
                          sort_order: int | None = None, archived: bool | None = None,
                          source: str = "web") -> CustomField:
    """Change a field's name, flags, departments or place (admins). The type and code
    stay: values are stored by type and segments refer to the code."""
    require_admin(actor)
    field = await CustomField.get_or_none(id=field_id)
    if field is None:
        raise NotFound("custom_field")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = dictionaries._clean_name(name)
    for attr, value in (("required", required), ("confidential", confidential),
                        ("archived", archived)):
        if value is not None:
            changes[attr] = bool(value)
    if sort_order is not None:
        changes["sort_order"] = int(sort_order)
    departments = await _departments(department_ids) if department_ids is not None else None
    async with in_transaction():
        for attr, value in changes.items():
            old = getattr(field, attr)
            if old != value:
                setattr(field, attr, value)
                await _audit_field(actor, source, field, "update", attr, old, value)
        await field.save()
        if departments is not None:
            old_ids = sorted(d.id for d in await field.departments.all())
            new_ids = sorted(d.id for d in departments)
            if old_ids != new_ids:
                await field.departments.clear()
                if departments:
                    await field.departments.add(*departments)
                await _audit_field(actor, source, field, "update", "departments",
                                   old_ids, new_ids)
    return field
