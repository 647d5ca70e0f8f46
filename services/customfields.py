"""Custom fields without programmers (S-5, K-3) and who sees them (A-3).

Admins define fields per entity (client, contact, activity, staff): a type (text,
number, money, date, yes/no, one or many values from a dictionary), required,
confidential, and the departments that see it. Values live in ``custom_value`` in a
column of their type, so :func:`filter_clients` and :func:`order_clients` work in SQL.

Who sees a field (A-3) — the same rule for reading, writing, filtering, exports:

* admins see every field;
* a **confidential** field is seen only by roles in :data:`CONFIDENTIAL_ROLES` — admins
  and heads. Managers never see it: it is left out of :func:`fields_for` and
  :func:`values_for` (hidden, not greyed), and :func:`do_set_values` answers
  "no such field" exactly as for a field that does not exist;
* a field limited to departments is seen by staff of those departments or any
  department below them, and by heads whose own subtree contains one of those
  departments (a head sees what their people see); a field with no departments is
  seen by everybody (subject to the confidential rule);
* a person sees and writes values only of records they may see: clients via
  ``services.clients.visible_clients``, contacts via their client, staff profiles
  (S-24 characteristics) if admin, head of the person's department subtree, or
  (read-only) the person themself. Other entities register a check with
  :func:`register_object_check` (until then they are refused).

Input accepted by :func:`do_set_values` (``None``, ``""`` or ``[]`` clear a value):

* text: any string up to 1000 characters;
* number / money: int, Decimal, float or a string ("1 234,50", "1234.5", "12 000 ₽");
  numbers keep 4 decimal places, money 2;
* date: ``date``/``datetime``, "YYYY-MM-DD" or "DD.MM.YYYY";
* bool: True/False, 1/0, "да"/"нет", "yes"/"no", "true"/"false", "+"/"-";
* choice: an item id or an item name of the field's dictionary (not archived);
* multichoice: a list of those (or one string, split at commas if it is not one name).

Filter operators (:data:`OPS_BY_TYPE`): ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``,
``contains`` (text: case-insensitive fragment; multichoice: has the item), ``in`` (any
of a list), ``is_set`` (value true/false). ``ne`` means "has no value equal to it", so
records without a value match; the order comparisons match only records with a value.
Sorting puts records without a value last in both directions.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    Client,
    ContactPerson,
    CustomEntity,
    CustomField,
    CustomValue,
    Department,
    Dictionary,
    DictionaryItem,
    FieldType,
    Role,
    User,
)
from models.staff import fold
from services import dictionaries
from services.clients import get_client, visible_clients
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, require_admin, require_staff

CONFIDENTIAL_ROLES = frozenset({Role.ADMIN, Role.HEAD})
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_TEXT = 1000
MAX_ABS = Decimal(10) ** 16  # DECIMAL(20, 4)

CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTICHOICE)
_ORDERED = {"eq", "ne", "lt", "le", "gt", "ge", "in", "is_set"}
OPS_BY_TYPE: dict[FieldType, frozenset[str]] = {
    FieldType.TEXT: frozenset(_ORDERED | {"contains"}),
    FieldType.NUMBER: frozenset(_ORDERED),
    FieldType.MONEY: frozenset(_ORDERED),
    FieldType.DATE: frozenset(_ORDERED),
    FieldType.BOOL: frozenset({"eq", "ne", "is_set"}),
    FieldType.CHOICE: frozenset({"eq", "ne", "in", "is_set"}),
    FieldType.MULTICHOICE: frozenset({"eq", "ne", "in", "contains", "is_set"}),
}
COLUMN = {
    FieldType.TEXT: "value_text", FieldType.NUMBER: "value_number",
    FieldType.MONEY: "value_number", FieldType.DATE: "value_date",
    FieldType.BOOL: "value_bool", FieldType.CHOICE: "item_id",
    FieldType.MULTICHOICE: "item_id",
}
_TRUE = {"1", "true", "yes", "y", "on", "да", "д", "так", "+", "✓", "✅"}
_FALSE = {"0", "false", "no", "n", "off", "нет", "н", "ні", "-", "✗", "❌"}
_CURRENCY = re.compile(r"(₽|руб\.?|р\.|грн\.?|₴|\$|€|usd|eur|rub|uah)", re.IGNORECASE)
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


# --- access ------------------------------------------------------------------------
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


async def with_choices(fields: list[CustomField]) -> list[CustomField]:
    """The fields with the items of their lists loaded (a form's choices)."""
    for f in fields:
        if f.dictionary_id:
            await f.fetch_related("dictionary__items")
    return fields


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
            and person.department_id in await department_subtree_ids(actor.department_id)):
        return None
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


# --- field definitions (admins) ----------------------------------------------------
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


# --- values ------------------------------------------------------------------------
def _decimal(field: CustomField, raw: Any) -> Decimal:
    code = field.code
    if isinstance(raw, bool):
        raise ValidationFailed(code, N_("must be a number"))
    try:
        if isinstance(raw, Decimal):
            value = raw
        elif isinstance(raw, int):
            value = Decimal(raw)
        elif isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, str):
            text = raw.strip()
            if field.type == FieldType.MONEY:
                text = _CURRENCY.sub("", text)
            text = re.sub(r"[\s\u00a0\u202f_']", "", text)
            if "," in text and "." in text:
                text = text.replace(",", "")
            else:
                text = text.replace(",", ".")
            value = Decimal(text)
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise ValidationFailed(code, N_("«{raw}» is not a number"), raw=raw)
    if not value.is_finite():
        raise ValidationFailed(code, N_("«{raw}» is not a number"), raw=raw)
    if abs(value) >= MAX_ABS:
        raise ValidationFailed(code, N_("is too large"))
    places = Decimal("0.01") if field.type == FieldType.MONEY else Decimal("0.0001")
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _date(field: CustomField, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip() if isinstance(raw, str) else None
    if text:
        match = _DMY.match(text)
        try:
            if match:
                day, month, year = (int(g) for g in match.groups())
                return date(year, month, day)
            if len(text) >= 10 and text[4] == "-":
                return date.fromisoformat(text[:10])
        except ValueError:
            raise ValidationFailed(field.code, N_("«{raw}» is not a date"), raw=raw)
    raise ValidationFailed(field.code, N_("«{raw}» is not a date: use YYYY-MM-DD or DD.MM.YYYY"),
                           raw=raw)


def _bool(code: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValidationFailed(code, N_("«{raw}» is not yes or no"), raw=raw)


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (
        isinstance(raw, (list, tuple, set)) and not raw)


async def _dictionary(field: CustomField) -> Dictionary:
    if field.dictionary_id is None:
        raise ValidationFailed(field.code, N_("the field has no list of values"))
    dictionary = field.dictionary if isinstance(field.dictionary, Dictionary) else None
    return dictionary or await Dictionary.get(id=field.dictionary_id)


async def _items(field: CustomField, raw: Any) -> list[DictionaryItem]:
    dictionary = await _dictionary(field)
    if isinstance(raw, (list, tuple, set)):
        parts = list(raw)
    elif field.type == FieldType.MULTICHOICE and isinstance(raw, str):
        try:
            return [await dictionaries.find_item(dictionary, raw, field=field.code)]
        except ValidationFailed:
            parts = [p for p in re.split(r"[,;\n]", raw) if p.strip()]
    else:
        parts = [raw]
    if field.type == FieldType.CHOICE and len(parts) != 1:
        raise ValidationFailed(field.code, N_("choose one value"))
    found: dict[int, DictionaryItem] = {}
    for part in parts:
        item = await dictionaries.find_item(dictionary, part, field=field.code)
        found[item.id] = item
    return list(found.values())


async def scalar(field: CustomField, raw: Any) -> Any:
    """One raw value of ``field`` as stored in its column (an item id for choices)."""
    if field.type == FieldType.TEXT:
        text = str(raw).strip()
        if len(text) > MAX_TEXT:
            raise ValidationFailed(field.code, N_("is longer than {max_text} characters"),
                                   max_text=MAX_TEXT)
        return text
    if field.type in (FieldType.NUMBER, FieldType.MONEY):
        return _decimal(field, raw)
    if field.type == FieldType.DATE:
        return _date(field, raw)
    if field.type == FieldType.BOOL:
        return _bool(field.code, raw)
    dictionary = await _dictionary(field)
    return (await dictionaries.find_item(dictionary, raw, field=field.code,
                                         allow_archived=True)).id


async def _parse(field: CustomField, raw: Any) -> tuple[list[dict[str, Any]], Any]:
    """(rows for custom_value, the python value :func:`values_for` would give)."""
    if _is_empty(raw):
        return [], ([] if field.type == FieldType.MULTICHOICE else None)
    if field.type in CHOICE_TYPES:
        items = await _items(field, raw)
        items.sort(key=lambda i: (i.sort_order, i.name))
        rows = [{"item_id": i.id} for i in items]
        names = [i.name for i in items]
        return rows, (names if field.type == FieldType.MULTICHOICE else names[0])
    if isinstance(raw, (list, tuple, set, dict)):
        raise ValidationFailed(field.code, N_("give one value"))
    value = await scalar(field, raw)
    if field.type == FieldType.TEXT and not value:
        return [], None
    return [{COLUMN[field.type]: value}], value


def _python(field: CustomField, row: dict[str, Any], item_ids: bool) -> Any:
    if field.type in CHOICE_TYPES:
        return row["item_id"] if item_ids else row["item__name"]
    value = row[COLUMN[field.type]]
    if value is None:
        return None
    if field.type in (FieldType.NUMBER, FieldType.MONEY):
        places = Decimal("0.01") if field.type == FieldType.MONEY else Decimal("0.0001")
        return Decimal(str(value)).quantize(places)
    if field.type == FieldType.DATE and isinstance(value, str):
        return date.fromisoformat(value[:10])
    if field.type == FieldType.BOOL:
        return bool(value)
    return value


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


# --- SQL filtering and ordering of clients -----------------------------------------
async def _query_field(code: str, actor: User | None) -> CustomField:
    if isinstance(code, str) and code.startswith("cf:"):
        code = code[3:]
    field = await get_field(CustomEntity.CLIENT, code)
    if actor is not None:
        visible = {f.id for f in await fields_for(actor, CustomEntity.CLIENT)}
        if field.id not in visible:
            raise ValidationFailed(code, N_("no such field"))
    return field


async def client_condition(field_code: str, op: str, value: Any = None, *,
                           actor: User | None = None) -> Q:
    """A Q over Client that keeps clients whose custom field ``field_code`` satisfies
    ``op value`` — a subquery on custom_value, evaluated by the database. With
    ``actor``, a field hidden from them is refused as unknown."""
    field = await _query_field(field_code, actor)
    code = field.code
    if op not in OPS_BY_TYPE[field.type]:
        raise ValidationFailed(code, N_("«{op}» does not apply to a {type} field; use one of "
                                        "{ops}"), op=op, type=field.type.value,
                               ops=", ".join(sorted(OPS_BY_TYPE[field.type])))
    column = COLUMN[field.type]
    base = CustomValue.filter(field_id=field.id, entity=CustomEntity.CLIENT)

    def having(cond: Q | None = None, **kw: Any) -> Q:
        rows = base.filter(cond) if cond is not None else base
        return Q(id__in=Subquery(rows.filter(**kw).values("object_id")))

    def lacking(**kw: Any) -> Q:
        return Q(id__not_in=Subquery(base.filter(**kw).values("object_id")))

    if op == "is_set":
        return having() if _bool(code, True if value is None else value) else lacking()
    if op == "in":
        if not isinstance(value, (list, tuple, set)) or not value:
            raise ValidationFailed(code, N_("give a list of values"))
        return having(**{f"{column}__in": [await scalar(field, v) for v in value]})
    if _is_empty(value) or isinstance(value, (list, tuple, set, dict)):
        raise ValidationFailed(code, N_("give one value"))
    if op == "contains" and field.type == FieldType.TEXT:
        return having(dictionaries.icontains_q("value_text", str(value).strip()))
    stored = await scalar(field, value)
    if op in ("eq", "contains"):
        return having(**{column: stored})
    if op == "ne":
        return lacking(**{column: stored})
    suffix = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}[op]
    return having(**{f"{column}__{suffix}": stored})


async def filter_clients(qs: QuerySet[Client], field_code: str, op: str, value: Any = None,
                         *, actor: User | None = None) -> QuerySet[Client]:
    """Narrow a Client queryset by a custom field, in SQL (see :func:`client_condition`)."""
    return qs.filter(await client_condition(field_code, op, value, actor=actor))


async def order_clients(qs: QuerySet[Client], field_code: str, descending: bool = False, *,
                        actor: User | None = None) -> QuerySet[Client]:
    """Sort a Client queryset by a custom field in SQL (a correlated subquery per row;
    choices by their order in the dictionary, then name; no value: last), then name."""
    field = await _query_field(field_code, actor)
    fid = int(field.id)  # only integers and constants are put into the SQL text
    where = (f"cv.field_id = {fid} AND cv.entity = 'client' "
             f'AND cv.object_id = "client"."id"')
    agg = "MAX" if descending else "MIN"
    sign = "-" if descending else ""
    keys: list[tuple[str, str]] = []
    if field.type in CHOICE_TYPES:
        joined = f"FROM custom_value cv JOIN dictionary_item di ON di.id = cv.item_id WHERE {where}"
        keys.append((f"cf{fid}_ord", f"(SELECT {agg}(di.sort_order) {joined})"))
        keys.append((f"cf{fid}_name", f"(SELECT {agg}(di.name) {joined})"))
    else:
        expr = {
            FieldType.TEXT: "cv.value_text",
            FieldType.NUMBER: "CAST(cv.value_number AS NUMERIC)",
            FieldType.MONEY: "CAST(cv.value_number AS NUMERIC)",
            FieldType.DATE: "cv.value_date",
            FieldType.BOOL: "CASE WHEN cv.value_bool THEN 1 ELSE 0 END",
        }[field.type]
        keys.append((f"cf{fid}_val", f"(SELECT {agg}({expr}) FROM custom_value cv WHERE {where})"))
    null_key = f"cf{fid}_none"
    annotations = {null_key: RawSQL(f"CASE WHEN {keys[0][1]} IS NULL THEN 1 ELSE 0 END")}
    annotations.update({name: RawSQL(sql) for name, sql in keys})
    return qs.annotate(**annotations).order_by(
        null_key, *(sign + name for name, _ in keys), "name", "id")
