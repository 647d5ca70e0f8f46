"""Rules that pick clients, as SQL (K-14, A-19, S-9): a segment's rules, and the
members of a classifier node. The two refer to each other — a rule may name a
classifier node (``classifier_node_id``), and an automatic node's rule is again rules
— so both live here; services.segments (saved segments) and services.classifier (the
tree) use this module. No access limit here: the callers narrow to
``visible_clients(actor)`` (A-3).

Rules format (``Segment.rules``, also a BY_FIELD classifier node's ``rule``)::

    {"match": "all",                     # or "any"
     "conditions": [
        {"field": "city_id", "op": "in", "value": [12, 15]},
        {"field": "cf:budget", "op": "ge", "value": "100000"},
        {"match": "any", "conditions": [ ... ]}      # a nested group
     ]}

A bare list of conditions means ``{"match": "all", "conditions": [...]}``. No
conditions under "all" matches every client the person sees; under "any", none.
``value`` is JSON: numbers, strings, lists; dates as "YYYY-MM-DD" (or "DD.MM.YYYY").

Attributes and their operators:

==================== ============================== ==========================================
field                ops                            value
==================== ============================== ==========================================
kind                 eq ne in                       "company" / "individual"
list_type            eq ne in                       "counterparty" / "partner"
is_group             eq                             true / false
country              eq ne in is_set                "RU", "UA"...
region_id, city_id,  eq ne in is_set                item id(s) of the region/city/district/
district_id,                                        ad_source dictionary
ad_source_id
sphere_id            eq ne in is_set                sphere item id(s): has it / has none of
completeness         eq ne lt le gt ge              0..100
created_at           eq lt le gt ge within_days     a date (a whole UTC day) or an ISO
                                                    datetime; within_days: a number of days
manager_id           eq ne in is_set                staff id(s) currently assigned
name                 contains eq ne                 text (contains: any case)
classifier_node_id   eq ne in                       classifier node id(s) (direct members)
cf:<code>            see services.customfields      a value of the custom field's type
==================== ============================== ==========================================

``ne`` (and "has none of") also matches clients with no value. ``is_set`` takes
true/false. ``in`` takes a non-empty list of at most :data:`MAX_VALUES` single values
(duplicates are dropped when saved), each checked as ``eq`` checks its one value.

Groups nest at most :data:`MAX_DEPTH` levels below the top; when rules are validated
(saved, or counted in the builder), a nested group with no conditions is refused —
under "any" it would match every client — while one already stored still evaluates.
A refusal's message starts with the attribute's name in people's words
(:data:`ATTRIBUTE_LABELS`, a custom field's own name) and its ``field`` is the path
of the condition or group.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import (
    ClassifierKind,
    ClassifierNode,
    Client,
    ClientClassification,
    ClientKind,
    ClientList,
    ClientManager,
    DictionaryItem,
    User,
)
from services import customfields, dictionaries
from services.clock import utcnow
from services.customfields import parsing, query
from services.errors import N_, NotFound, Text, ValidationFailed, fill
from services.rule_lookups import FK_DICTIONARIES, Lookups

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_VALUES = 500

_FK = FK_DICTIONARIES
ATTRIBUTE_OPS: dict[str, frozenset[str]] = {
    "kind": frozenset({"eq", "ne", "in"}),
    "list_type": frozenset({"eq", "ne", "in"}),
    "is_group": frozenset({"eq"}),
    "country": frozenset({"eq", "ne", "in", "is_set"}),
    **{name: frozenset({"eq", "ne", "in", "is_set"}) for name in _FK},
    "sphere_id": frozenset({"eq", "ne", "in", "is_set"}),
    "completeness": frozenset({"eq", "ne", "lt", "le", "gt", "ge"}),
    "created_at": frozenset({"eq", "lt", "le", "gt", "ge", "within_days"}),
    "manager_id": frozenset({"eq", "ne", "in", "is_set"}),
    "name": frozenset({"contains", "eq", "ne"}),
    "classifier_node_id": frozenset({"eq", "ne", "in"}),
}
# the attributes in people's words (the same words as the settings page's builder)
ATTRIBUTE_LABELS: dict[str, str] = {
    "name": N_("Client's name"), "kind": N_("Company or person"), "list_type": N_("List"),
    "is_group": N_("A group of companies"), "country": N_("Country (two letters: RU, UA)"),
    "region_id": N_("Region"), "city_id": N_("City"), "district_id": N_("District"),
    "sphere_id": N_("Sphere of activity"), "ad_source_id": N_("Advertising source"),
    "completeness": N_("Card completeness, %"), "created_at": N_("Added on"),
    "manager_id": N_("Manager"), "classifier_node_id": N_("Classifier group"),
}


class _Bad(Exception):
    """A condition is wrong; turned into ValidationFailed naming its path. Its message
    is a template as ValidationFailed's is."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(fill(template, params))
        self.template, self.params = template, params


def _int(value: Any, refusal: str = N_("«{value}» is not a number")) -> int:
    """``value`` as an int; else ``refusal`` (a template with {value})."""
    if isinstance(value, bool):
        raise _Bad(refusal, value=value)
    try:
        return int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise _Bad(refusal, value=value)


def _values(op: str, value: Any) -> list[Any]:
    """The operand as a list: one value for eq/ne; for in, a non-empty list of at most
    MAX_VALUES single values (numbers, text, true/false), without duplicates."""
    if op == "in":
        if not isinstance(value, (list, tuple)) or not value:
            raise _Bad(N_("choose at least one value"))
        if any(v is None or isinstance(v, (list, tuple, dict)) for v in value):
            raise _Bad(N_("give a list of single values"))
        unique = list(dict.fromkeys(value))
        if len(unique) > MAX_VALUES:
            raise _Bad(N_("choose at most {max_values} values"), max_values=MAX_VALUES)
        return unique
    if value is None or isinstance(value, (list, tuple, dict)):
        raise _Bad(N_("give one value"))
    return [value]


def _flag(value: Any) -> bool:
    try:
        return parsing._bool("value", True if value is None else value)
    except ValidationFailed:
        raise _Bad(N_("«{value}» is not true or false"), value=value)


def _simple(column: str, op: str, values: list[Any]) -> Q:
    if op == "in":
        return Q(**{f"{column}__in": values})
    if op == "eq":
        return Q(**{column: values[0]})
    # ne: another value, or none at all
    return Q(Q(**{f"{column}__not": values[0]}), Q(**{f"{column}__isnull": True}),
             join_type="OR")


def _ids_q(subquery: QuerySet, op: str) -> Q:
    if op == "ne":
        return Q(id__not_in=Subquery(subquery))
    return Q(id__in=Subquery(subquery))


def _moment(value: Any) -> tuple[datetime, bool]:
    """(a UTC moment, whether a whole day was given)."""
    if isinstance(value, datetime):
        return value, False
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=utcnow().tzinfo), True
    text = str(value).strip() if isinstance(value, str) else ""
    if len(text) > 10 and text[4:5] == "-":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad(N_("«{value}» is not a date"), value=value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=utcnow().tzinfo)
        return moment, False
    try:
        day = parsing._date(_DateField, text)
    except ValidationFailed:
        raise _Bad(N_("«{value}» is not a date: use YYYY-MM-DD or DD.MM.YYYY"), value=value)
    return datetime.combine(day, time(), tzinfo=utcnow().tzinfo), True


class _DateField:  # what parsing._date needs to name a field
    code = "value"


async def _attribute_q(name: str, op: str, value: Any, stack: tuple[int, ...],
                       lookups: Lookups | None) -> Q:
    if name in ("kind", "list_type"):
        enum = ClientKind if name == "kind" else ClientList
        allowed = {e.value for e in enum}
        values = _values(op, value)
        for v in values:
            if v not in allowed:
                raise _Bad(N_("«{value}» is not one of {allowed}"), value=v,
                           allowed=", ".join(sorted(allowed)))
        return _simple(name, op, values)
    if name == "is_group":
        return Q(is_group=_flag(value))
    if name == "country":
        if op == "is_set":
            return Q(country__isnull=not _flag(value))
        values = [str(v).strip().upper() for v in _values(op, value)]
        if any(len(v) != 2 for v in values):
            raise _Bad(N_("use two-letter country codes such as RU or UA"))
        return _simple("country", op, values)
    if name in _FK:
        column = name
        if op == "is_set":
            return Q(**{f"{column}__isnull": not _flag(value)})
        ids = [_int(v, N_("«{value}» is not an item id")) for v in _values(op, value)]
        await _check_items(_FK[name], ids, lookups)
        return _simple(column, op, ids)
    if name == "sphere_id":
        if op == "is_set":
            sub = Client.filter(spheres__id__isnull=False).values("id")
            return Q(id__in=Subquery(sub)) if _flag(value) else Q(id__not_in=Subquery(sub))
        ids = [_int(v, N_("«{value}» is not an item id")) for v in _values(op, value)]
        await _check_items("sphere", ids, lookups)
        return _ids_q(Client.filter(spheres__id__in=ids).order_by().values("id"), op)
    if name == "completeness":
        number = _int(_values(op, value)[0], N_("«{value}» is not a percentage"))
        if op == "eq":
            return Q(completeness=number)
        if op == "ne":
            return Q(completeness__not=number)
        suffix = {"lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}[op]
        return Q(**{f"completeness__{suffix}": number})
    if name == "created_at":
        if op == "within_days":
            days = _int(value, N_("«{value}» is not a number of days"))
            if days < 0:
                raise _Bad(N_("give a number of days, 0 or more"))
            return Q(created_at__gte=utcnow() - timedelta(days=days))
        moment, whole_day = _moment(_values(op, value)[0])
        end = moment + timedelta(days=1) if whole_day else moment
        if op == "eq":
            if whole_day:
                return Q(created_at__gte=moment, created_at__lt=end)
            return Q(created_at=moment)
        return {
            "lt": Q(created_at__lt=moment),
            "le": Q(created_at__lt=end) if whole_day else Q(created_at__lte=moment),
            "gt": Q(created_at__gte=end) if whole_day else Q(created_at__gt=moment),
            "ge": Q(created_at__gte=moment),
        }[op]
    if name == "manager_id":
        current = ClientManager.filter(unassigned_at=None)
        if op == "is_set":
            sub = current.values("client_id")
            return Q(id__in=Subquery(sub)) if _flag(value) else Q(id__not_in=Subquery(sub))
        ids = [_int(v, N_("«{value}» is not a staff id")) for v in _values(op, value)]
        known = lookups.known_staff(ids) if lookups else None
        if known is None:
            known = set(await User.filter(id__in=ids).values_list("id", flat=True))
        if missing := [i for i in ids if i not in known]:
            raise _Bad(N_("no staff member {id}"), id=missing[0])
        return _ids_q(current.filter(user_id__in=ids).values("client_id"), op)
    if name == "name":
        text = " ".join(str(_values(op, value)[0]).split())
        if not text:
            raise _Bad(N_("give some text"))
        if op == "contains":
            return dictionaries.icontains_q("name", text)
        return Q(name=text) if op == "eq" else Q(name__not=text)
    if name == "classifier_node_id":
        ids = [_int(v, N_("«{value}» is not a classifier node id"))
               for v in _values(op, value)]
        parts = []
        for node_id in ids:
            try:
                parts.append(await node_q(node_id, _stack=stack, lookups=lookups))
            except NotFound:
                raise _Bad(N_("no classifier node {node_id}"), node_id=node_id)
            except ValidationFailed as exc:
                raise _Bad(exc.template, **exc.params)
        q = Q(*parts, join_type="OR")
        return ~q if op == "ne" else q
    raise _Bad(N_("unknown attribute"))


async def _check_items(code: str, ids: list[int], lookups: Lookups | None = None) -> None:
    dictionary = lookups.dictionaries.get(code) if lookups else None
    known = lookups.known_items(dictionary, ids) if dictionary is not None else None
    if known is None:
        dictionary = dictionary or await dictionaries.get_dictionary(code)
        known = set(await DictionaryItem.filter(dictionary_id=dictionary.id, id__in=ids)
                    .values_list("id", flat=True))
    if missing := [i for i in ids if i not in known]:
        raise _Bad(N_("{raw} is not in the list «{dictionary}»"), raw=missing[0],
                   dictionary=dictionary.name)


def _group(rules: Any, path: str) -> tuple[str, list[Any]]:
    if isinstance(rules, list):
        return "all", rules
    if not isinstance(rules, dict):
        raise ValidationFailed(path or "rules", N_("must be a list of conditions or "
                                                   '{{"match": ..., "conditions": [...]}}'))
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        raise ValidationFailed(f"{path}.match" if path else "match", N_('use "all" or "any"'))
    conditions = rules.get("conditions", [])
    if not isinstance(conditions, list):
        raise ValidationFailed(f"{path}.conditions" if path else "conditions",
                               N_("must be a list"))
    return match, conditions


async def _label(name: str, actor: User | None) -> str:
    """An attribute's name as people read it: a Text translated for them, a custom
    field's own name (only if ``actor`` may see it), else what was given."""
    if name in ATTRIBUTE_LABELS:
        return Text(ATTRIBUTE_LABELS[name])
    if name.startswith("cf:"):
        try:
            return (await query._query_field(name[3:].strip(), actor)).name
        except ValidationFailed:
            pass
    return name


async def _build(rules: Any, *, actor: User | None, stack: tuple[int, ...], path: str = "",
                 depth: int = 0, counter: list[int] | None = None, strict: bool = False,
                 lookups: Lookups | None = None) -> tuple[Q, dict[str, Any]]:
    """(the Q, the normalised rules). ``actor``: check custom field visibility.
    ``strict`` (validating what a person saves): refuse an empty nested group.
    ``lookups``: what the conditions refer to, loaded beforehand (many rules at once)."""
    counter = counter if counter is not None else [0]
    if depth > MAX_DEPTH:
        raise ValidationFailed(path, N_("groups nest deeper than {max_depth} levels"),
                               max_depth=MAX_DEPTH)
    match, conditions = _group(rules, path)
    if strict and depth and not conditions:
        raise ValidationFailed(path, N_("a group has no conditions: add one or remove "
                                        "the group"))
    parts: list[Q] = []
    normal: list[dict[str, Any]] = []
    for index, cond in enumerate(conditions):
        where = f"{path}.conditions[{index}]" if path else f"conditions[{index}]"
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise ValidationFailed(where, N_("more than {max_conditions} conditions"),
                                   max_conditions=MAX_CONDITIONS)
        if isinstance(cond, dict) and "conditions" in cond:
            q, sub = await _build(cond, actor=actor, stack=stack, path=where,
                                  depth=depth + 1, counter=counter, strict=strict,
                                  lookups=lookups)
            parts.append(q)
            normal.append(sub)
            continue
        if not isinstance(cond, dict) or not isinstance(cond.get("field"), str):
            raise ValidationFailed(where, N_('a condition is {{"field": ..., "op": ..., '
                                             '"value": ...}}'))
        name, op, value = cond["field"].strip(), cond.get("op"), cond.get("value")
        try:
            if name.startswith("cf:"):
                if op == "in" and isinstance(value, (list, tuple)) and value:
                    value = _values(op, value)
                q = await customfields.client_condition(
                    name[3:], op, value, actor=actor,
                    field=lookups.fields.get(name[3:].strip()) if lookups else None,
                    items=lookups.items if lookups else None)
            else:
                ops = ATTRIBUTE_OPS.get(name)
                if ops is None:
                    raise _Bad(N_("unknown attribute; use one of {attributes} or cf:<code>"),
                               attributes=", ".join(ATTRIBUTE_OPS))
                if op not in ops:
                    raise _Bad(N_("«{op}» does not apply; use one of {ops}"), op=op,
                               ops=", ".join(sorted(ops)))
                if op == "in":
                    value = _values(op, value)
                q = await _attribute_q(name, op, value, stack, lookups)
        except (_Bad, ValidationFailed) as exc:  # the path names the condition, this its field
            raise ValidationFailed(where, N_("{name}: {reason}"),
                                   name=await _label(name, actor),
                                   reason=Text(exc.template, **exc.params))
        parts.append(q)
        normal.append({"field": name, "op": op, "value": value})
    if not parts:
        q = Q() if match == "all" else Q(id__in=[])
    else:
        q = Q(*parts, join_type="AND" if match == "all" else "OR")
    return q, {"match": match, "conditions": normal}


async def rules_q(rules: Any, *, actor: User | None = None, _stack: tuple[int, ...] = (),
                  lookups: Lookups | None = None) -> Q:
    """The Q over Client that the rules describe (no access limit: see :func:`members`).
    ``lookups`` (:func:`services.rule_lookups.load_lookups`): what they refer to, loaded
    once for many rules."""
    return (await _build(rules, actor=actor, stack=_stack, lookups=lookups))[0]


async def validate_rules(rules: Any, *, actor: User | None = None) -> dict[str, Any]:
    """Check rules, return them normalised; ValidationFailed's ``field`` is the path of
    the bad condition (``conditions[2]``, ``conditions[1].conditions[0]``) and its
    message starts with the attribute. With ``actor``, custom fields hidden from them
    are unknown."""
    return (await _build(rules, actor=actor, stack=(), strict=True))[1]


def referenced_nodes(rules: Any) -> set[int]:
    """Classifier node ids a rules object refers to (to refuse deleting them)."""
    found: set[int] = set()
    if isinstance(rules, dict):
        conditions = rules.get("conditions", [])
    elif isinstance(rules, list):
        conditions = rules
    else:
        return found
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, dict) and "conditions" in cond:
            found |= referenced_nodes(cond)
        elif isinstance(cond, dict) and cond.get("field") == "classifier_node_id":
            value = cond.get("value")
            for v in value if isinstance(value, list) else [value]:
                try:
                    found.add(int(v))
                except (TypeError, ValueError):
                    pass
    return found


# --- classifier nodes ---------------------------------------------------------------
async def get_node(node_id: int) -> ClassifierNode:
    """A node by id, else NotFound (anyone may read the tree)."""
    node = await ClassifierNode.get_or_none(id=node_id)
    if node is None:
        raise NotFound("classifier_node")
    return node


async def subtree_ids(node_id: int) -> list[int]:
    ids = [node_id]
    frontier = [node_id]
    while frontier:
        frontier = [i for i in await ClassifierNode.filter(parent_id__in=frontier)
                    .values_list("id", flat=True) if i not in ids]
        ids.extend(frontier)
    return ids


async def node_q(node: ClassifierNode | int, *, descendants: bool = False,
                 _stack: tuple[int, ...] = (), lookups: Lookups | None = None) -> Q:
    """A Q over Client selecting the node's members (no access limit)."""
    if lookups is not None:  # the whole tree is there
        if not isinstance(node, ClassifierNode):
            if node not in lookups.nodes:
                raise NotFound("classifier_node")
            node = lookups.nodes[node]
        nodes = ([node] if not descendants else
                 [lookups.nodes[i] for i in lookups.subtree_ids(node.id)])
    else:
        if not isinstance(node, ClassifierNode):
            node = await get_node(node)
        nodes = ([node] if not descendants else
                 await ClassifierNode.filter(id__in=await subtree_ids(node.id)))
    parts: list[Q] = []
    for n in nodes:
        if n.id in _stack:
            raise ValidationFailed("rule", N_("the group «{n}» refers to itself"), n=n.name)
        if n.kind == ClassifierKind.MANUAL:
            parts.append(Q(id__in=Subquery(
                ClientClassification.filter(node_id=n.id).values("client_id"))))
        elif n.kind == ClassifierKind.BY_MANAGER:
            ids = (n.rule or {}).get("manager_ids") or []
            parts.append(Q(id__in=Subquery(ClientManager.filter(
                unassigned_at=None, user_id__in=ids).values("client_id"))))
        else:
            parts.append(await rules_q(n.rule or [], _stack=(*_stack, n.id), lookups=lookups))
    return Q(*parts, join_type="OR")
