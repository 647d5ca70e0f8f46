"""Segments (K-14, A-19): "is one of" conditions over dictionaries, staff, kinds and
custom fields, nested AND/OR groups, and the refusals a person reads in the builder —
each naming the attribute in people's words and the path of the condition."""

from __future__ import annotations

import pytest

from kontakt.errors import error_message
from models import Client
from services import customfields, segments
from services import dictionaries as dicts
from services import rules as rules_engine
from services.errors import ValidationFailed
from tests.test_customization import _all_fields, _client, _names, org  # noqa: F401


@pytest.fixture
async def town(org):  # noqa: F811
    """Moscow with three districts; five clients of Ivan's and Olena's in them."""
    admin, ivan, olena = org["admin"], org["ivan"], org["olena"]
    await _all_fields(admin)
    city = await dicts.do_add_item(ivan, "city", "Москва")
    centre, north, south = [await dicts.do_add_item(ivan, "district", name, city.id)
                            for name in ("Центральный", "Северный", "Южный")]
    a = await _client(ivan, "Альфа", city_id=city.id, district_id=centre.id)
    b = await _client(ivan, "Бета", kind="individual", city_id=city.id, district_id=north.id)
    c = await _client(olena, "Гамма", city_id=city.id, district_id=south.id)
    d = await _client(olena, "Дельта", kind="individual", city_id=city.id,
                      district_id=centre.id)
    await _client(olena, "Эпсилон")
    for client, temperature in ((a, "Горячий"), (b, "Тёплый"), (c, "Горячий"),
                                (d, "Холодный")):
        await customfields.do_set_values(admin, "client", client.id,
                                         {"temperature": temperature})
    return {**org, "centre": centre, "north": north, "south": south}


async def test_is_one_of_over_districts_kinds_staff_and_custom_fields(town):
    admin, ivan, olena = town["admin"], town["ivan"], town["olena"]
    centre, north = town["centre"].id, town["north"].id
    cases = [
        ([{"field": "district_id", "op": "in", "value": [centre, north]}],
         ["Альфа", "Бета", "Дельта"]),
        ([{"field": "district_id", "op": "in", "value": [north]}], ["Бета"]),
        ([{"field": "kind", "op": "in", "value": ["company", "individual"]}],
         ["Альфа", "Бета", "Гамма", "Дельта", "Эпсилон"]),
        ([{"field": "manager_id", "op": "in", "value": [ivan.id]}], ["Альфа", "Бета"]),
        ([{"field": "manager_id", "op": "in", "value": [ivan.id, olena.id]}],
         ["Альфа", "Бета", "Гамма", "Дельта", "Эпсилон"]),
        ([{"field": "cf:temperature", "op": "in", "value": ["Горячий", "Тёплый"]}],
         ["Альфа", "Бета", "Гамма"]),
    ]
    for rules, expected in cases:
        assert await _names(await segments.members(admin, rules)) == expected, rules
    # saved: duplicates dropped, members within what each person sees
    segment = await segments.do_save_segment(ivan, "Центр и север", [
        {"field": "district_id", "op": "in", "value": [centre, north, centre]}])
    assert segment.rules["conditions"][0]["value"] == [centre, north]
    assert await segments.count_members(admin, segment) == 3
    assert await _names(await segments.members(ivan, segment)) == ["Альфа", "Бета"]
    assert await _names(await segments.members(olena, segment)) == ["Дельта"]


async def test_nested_groups_combine_and_and_or(town):
    admin, ivan = town["admin"], town["ivan"]
    centre, north, south = town["centre"].id, town["north"].id, town["south"].id
    # in the centre or the north, and (a person, or hot, or Ivan's and in the south)
    rules = {"match": "all", "conditions": [
        {"field": "district_id", "op": "in", "value": [centre, north, south]},
        {"match": "any", "conditions": [
            {"field": "kind", "op": "eq", "value": "individual"},
            {"field": "cf:temperature", "op": "in", "value": ["Горячий"]},
            {"match": "all", "conditions": [
                {"field": "manager_id", "op": "in", "value": [ivan.id]},
                {"field": "district_id", "op": "in", "value": [south]}]}]}]}
    saved = await segments.do_save_segment(admin, "Вложенные", rules)
    assert saved.rules == rules
    assert await _names(await segments.members(admin, saved)) == ["Альфа", "Бета", "Гамма",
                                                                   "Дельта"]
    # the innermost group alone: none of Ivan's clients is in the south
    inner = rules["conditions"][1]["conditions"][2]
    assert await segments.count_members(admin, inner) == 0
    # groups as deep as allowed are fine; a group under "any" of one condition
    deep: dict = {"field": "kind", "op": "eq", "value": "individual"}
    for _ in range(rules_engine.MAX_DEPTH):
        deep = {"match": "any", "conditions": [deep]}
    await rules_engine.validate_rules({"match": "all", "conditions": [deep]})
    assert await _names(await segments.members(admin, deep)) == ["Бета", "Дельта"]
    # an empty group already stored still evaluates as before ("all" of nothing: all)
    stored = {"match": "any", "conditions": [{"match": "all", "conditions": []}]}
    assert await segments.count_members(admin, stored) == 5


def _with_ids(rules, town):
    """``rules`` with each "@centre" (and so on) replaced by that district's id."""
    if isinstance(rules, dict):
        return {k: _with_ids(v, town) for k, v in rules.items()}
    if isinstance(rules, list):
        return [_with_ids(v, town) for v in rules]
    if isinstance(rules, str) and rules.startswith("@"):
        return town[rules[1:]].id
    return rules


def _nested(depth: int) -> dict:
    rules: dict = {"field": "kind", "op": "eq", "value": "company"}
    for _ in range(depth):
        rules = {"match": "all", "conditions": [rules]}
    return rules


@pytest.mark.parametrize(("rules", "path", "english", "russian"), [
    # an empty list, for an attribute and for a custom field
    ([{"field": "district_id", "op": "in", "value": []}], "conditions[0]",
     "District: choose at least one value", "Район: выберите хотя бы одно значение"),
    ({"match": "any", "conditions": [{"match": "all", "conditions": [
        {"field": "kind", "op": "eq", "value": "company"},
        {"field": "cf:temperature", "op": "in", "value": []}]}]},
     "conditions[0].conditions[1]", "Температура: choose at least one value",
     "Температура: выберите хотя бы одно значение"),
    # not a list, a list of lists, too many values
    ([{"field": "kind", "op": "in", "value": "company"}], "conditions[0]",
     "Company or person: choose at least one value", "Компания или частное лицо:"),
    ([{"field": "manager_id", "op": "in", "value": [[1, 2]]}], "conditions[0]",
     "Manager: give a list of single values", "Менеджер: укажите список отдельных значений"),
    ([{"field": "district_id", "op": "in", "value": list(range(1, 502))}], "conditions[0]",
     "District: choose at most 500 values", "Район: выберите не больше 500 значений"),
    # unknown values
    ([{"field": "district_id", "op": "in", "value": ["@centre", 999999]}], "conditions[0]",
     "District: 999999 is not in the list «Районы»", "Район: 999999 нет в списке «Районы»"),
    ([{"field": "kind", "op": "in", "value": ["company", "robot"]}], "conditions[0]",
     "«robot» is not one of company, individual", "«robot» не входит в"),
    ([{"field": "cf:temperature", "op": "in", "value": ["Горячий", "Ледяной"]}],
     "conditions[0]", "Температура: «Ледяной» is not in the list", "«Ледяной» нет в списке"),
    ([{"field": "manager_id", "op": "in", "value": [999999]}], "conditions[0]",
     "Manager: no staff member 999999", "Менеджер: нет сотрудника 999999"),
    ([{"field": "classifier_node_id", "op": "in", "value": ["first"]}], "conditions[0]",
     "Classifier group: «first» is not a classifier node id",
     "Группа классификатора: «first» — не номер группы классификатора"),
    # groups: too deep, empty
    ({"match": "all", "conditions": [_nested(rules_engine.MAX_DEPTH + 1)]},
     "conditions[0]" + ".conditions[0]" * rules_engine.MAX_DEPTH,
     "groups nest deeper than 5 levels", "группы вложены глубже 5 уровней"),
    ({"match": "all", "conditions": [{"field": "kind", "op": "eq", "value": "company"},
                                     {"match": "any", "conditions": []}]},
     "conditions[1]", "a group has no conditions: add one or remove the group",
     "в группе нет условий: добавьте условие или удалите группу"),
])
async def test_bad_conditions_are_refused_naming_the_problem(town, rules, path, english,
                                                             russian):
    rules = _with_ids(rules, town)
    with pytest.raises(ValidationFailed) as info:
        await segments.do_save_segment(town["ivan"], "Плохой", rules)
    assert info.value.field == path
    assert english in info.value.message
    assert russian in error_message(info.value, "ru")
    # the builder's live count checks the same way
    with pytest.raises(ValidationFailed):
        await rules_engine.validate_rules(rules, actor=town["ivan"])


async def test_a_hidden_custom_field_is_not_named_in_a_refusal(town):
    admin, olena = town["admin"], town["olena"]
    await customfields.do_create_field(admin, "client", "margin", "Маржа", "number",
                                       confidential=True)
    with pytest.raises(ValidationFailed) as info:
        await segments.do_save_segment(olena, "Маржа", [
            {"field": "cf:margin", "op": "in", "value": [1]}])
    assert "Маржа" not in info.value.message and "cf:margin" in info.value.message
    assert await Client.all().count() == 5
