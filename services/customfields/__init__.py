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
  (S-24 characteristics) if admin; a head reads those of their department subtree
  and writes only their managers' (as with profiles); the person reads their own.
  Other entities register a check with :func:`register_object_check` (until then
  they are refused).

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

from services.customfields.access import (
    CONFIDENTIAL_ROLES,
    OBJECT_CHECKS,
    ObjectCheck,
    fields_for,
    hidden_codes,
    register_object_check,
)
from services.customfields.definitions import (
    CODE_RE,
    derive_code,
    do_create_field,
    do_update_field,
    get_field,
    with_choices,
)
from services.customfields.parsing import (
    CHOICE_TYPES,
    COLUMN,
    MAX_ABS,
    MAX_TEXT,
    scalar,
)
from services.customfields.query import (
    OPS_BY_TYPE,
    client_condition,
    filter_clients,
    order_clients,
)
from services.customfields.values import (
    do_set_values,
    may_write,
    missing_required,
    require_complete,
    values_for,
    values_for_clients,
    values_for_contacts,
    values_for_staff,
)

__all__ = [
    "CHOICE_TYPES",
    "CODE_RE",
    "COLUMN",
    "CONFIDENTIAL_ROLES",
    "MAX_ABS",
    "MAX_TEXT",
    "OBJECT_CHECKS",
    "OPS_BY_TYPE",
    "ObjectCheck",
    "client_condition",
    "derive_code",
    "do_create_field",
    "do_set_values",
    "do_update_field",
    "fields_for",
    "filter_clients",
    "get_field",
    "hidden_codes",
    "may_write",
    "missing_required",
    "order_clients",
    "register_object_check",
    "require_complete",
    "scalar",
    "values_for",
    "values_for_clients",
    "values_for_contacts",
    "values_for_staff",
    "with_choices",
]
