"""Clients filtered and sorted by a custom field in SQL (segments, lists, exports):
the operators of each type in the package's docstring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from models import Client, CustomEntity, CustomField, CustomValue, DictionaryItem, FieldType, User
from services import dictionaries
from services.customfields.access import fields_for
from services.customfields.definitions import get_field
from services.customfields.parsing import CHOICE_TYPES, COLUMN, _bool, _is_empty, scalar
from services.errors import N_, ValidationFailed

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
                           actor: User | None = None, field: CustomField | None = None,
                           items: Mapping[int, DictionaryItem] | None = None) -> Q:
    """A Q over Client that keeps clients whose custom field ``field_code`` satisfies
    ``op value`` — a subquery on custom_value, evaluated by the database. With
    ``actor``, a field hidden from them is refused as unknown. ``field`` (the client
    field of that code, not archived, its list loaded) and ``items`` (items by id)
    were loaded beforehand for many conditions: a choice given by an id found there is
    not looked up again."""
    if field is None or actor is not None:
        field = await _query_field(field_code, actor)
    code = field.code
    if op not in OPS_BY_TYPE[field.type]:
        raise ValidationFailed(code, N_("«{op}» does not apply to a {type} field; use one of "
                                        "{ops}"), op=op, type=field.type.value,
                               ops=", ".join(sorted(OPS_BY_TYPE[field.type])))
    column = COLUMN[field.type]

    async def stored(raw: Any) -> Any:
        if (items is not None and field.type in CHOICE_TYPES and isinstance(raw, int)
                and not isinstance(raw, bool)):
            item = items.get(raw)
            if item is not None and item.dictionary_id == field.dictionary_id:
                return item.id
        return await scalar(field, raw)

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
            raise ValidationFailed(code, N_("choose at least one value"))
        return having(**{f"{column}__in": [await stored(v) for v in value]})
    if _is_empty(value) or isinstance(value, (list, tuple, set, dict)):
        raise ValidationFailed(code, N_("give one value"))
    if op == "contains" and field.type == FieldType.TEXT:
        return having(dictionaries.icontains_q("value_text", str(value).strip()))
    one = await stored(value)
    if op in ("eq", "contains"):
        return having(**{column: one})
    if op == "ne":
        return lacking(**{column: one})
    suffix = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}[op]
    return having(**{f"{column}__{suffix}": one})


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
