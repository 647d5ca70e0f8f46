"""What rules refer to, loaded once for many rules (issue 17, "lists that grow"): a page
of segments is counted without each condition looking up its own dictionary items,
staff, classifier nodes and custom fields (:func:`load_lookups`).

:mod:`services.rules` builds a rule's SQL with or without a :class:`Lookups`; with one,
it asks the database only for what the lookups were not loaded for (a reference the
walk below did not foresee: the answer stays right, it only costs a query).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models import (
    ClassifierKind,
    ClassifierNode,
    CustomEntity,
    CustomField,
    Dictionary,
    DictionaryItem,
    User,
)
from services.customfields.parsing import CHOICE_TYPES

# a client attribute holding an item of a dictionary -> that dictionary's code
FK_DICTIONARIES = {"region_id": "region", "city_id": "city", "district_id": "district",
                   "ad_source_id": "ad_source"}
_ITEM_ATTRIBUTES = {*FK_DICTIONARIES, "sphere_id"}
_CHUNK = 1000  # ids in one IN (...): far below either database's limit on parameters


@dataclass
class Lookups:
    dictionaries: dict[str, Dictionary] = field(default_factory=dict)  # system, by code
    items: dict[int, DictionaryItem] = field(default_factory=dict)  # found, by id
    items_asked: set[int] = field(default_factory=set)  # looked for (found or not)
    staff: set[int] = field(default_factory=set)  # staff ids that exist
    staff_asked: set[int] = field(default_factory=set)
    nodes: dict[int, ClassifierNode] = field(default_factory=dict)  # the whole tree
    fields: dict[str, CustomField] = field(default_factory=dict)  # client fields in use

    def known_items(self, dictionary: Dictionary, ids: Iterable[int]) -> set[int] | None:
        """Which of ``ids`` are items of ``dictionary``; None when some were not loaded."""
        ids = set(ids)
        if not ids <= self.items_asked:
            return None
        return {i for i in ids if i in self.items and self.items[i].dictionary_id == dictionary.id}

    def known_staff(self, ids: Iterable[int]) -> set[int] | None:
        ids = set(ids)
        return (ids & self.staff) if ids <= self.staff_asked else None

    def subtree_ids(self, node_id: int) -> list[int]:
        ids, frontier = [node_id], [node_id]
        while frontier:
            frontier = [n.id for n in self.nodes.values()
                        if n.parent_id in frontier and n.id not in ids]
            ids.extend(frontier)
        return ids


def _ints(value: Any) -> list[int]:
    out = []
    for v in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(v, bool):
            continue
        if isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit()):
            out.append(int(v))
    return out


def _walk(rules: Any, fields: dict[str, CustomField], items: set[int], staff: set[int],
          depth: int = 0) -> None:
    """Collect the item and staff ids a rules object's conditions name."""
    conditions = rules.get("conditions", []) if isinstance(rules, dict) else rules
    if depth > 20 or not isinstance(conditions, list):
        return
    for cond in conditions:
        if not isinstance(cond, dict):
            continue
        if "conditions" in cond:
            _walk(cond, fields, items, staff, depth + 1)
            continue
        name, value = str(cond.get("field", "")).strip(), cond.get("value")
        if name in _ITEM_ATTRIBUTES:
            items.update(_ints(value))
        elif name == "manager_id":
            staff.update(_ints(value))
        elif name.startswith("cf:"):
            found = fields.get(name[3:].strip())
            if found is not None and found.type in CHOICE_TYPES:
                items.update(_ints(value))


async def load_lookups(rule_sets: Iterable[Any]) -> Lookups:
    """Everything ``rule_sets`` (and the automatic classifier groups they may name) refer
    to, in a handful of queries however many rules there are: the classifier tree, the
    client custom fields not archived (with their lists), the system dictionaries, and
    the items and staff the conditions name."""
    from services.dictionaries import SYSTEM_DICTIONARIES

    lookups = Lookups()
    lookups.nodes = {n.id: n for n in await ClassifierNode.all()}
    lookups.fields = {f.code: f for f in await CustomField.filter(
        entity=CustomEntity.CLIENT, archived=False).prefetch_related("dictionary")}
    lookups.dictionaries = {d.code: d for d in await Dictionary.filter(
        code__in=list(SYSTEM_DICTIONARIES))}
    items: set[int] = set()
    staff: set[int] = set()
    for rules in rule_sets:
        _walk(rules, lookups.fields, items, staff)
    for node in lookups.nodes.values():
        if node.kind == ClassifierKind.BY_FIELD:
            _walk(node.rule or [], lookups.fields, items, staff)
    wanted = sorted(items)
    for start in range(0, len(wanted), _CHUNK):
        for item in await DictionaryItem.filter(id__in=wanted[start:start + _CHUNK]):
            lookups.items[item.id] = item
    lookups.items_asked = items
    wanted = sorted(staff)
    for start in range(0, len(wanted), _CHUNK):
        lookups.staff.update(await User.filter(id__in=wanted[start:start + _CHUNK])
                             .values_list("id", flat=True))
    lookups.staff_asked = staff
    return lookups
