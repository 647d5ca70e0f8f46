"""Customisation without programmers: dictionaries (A-16, S-8, A-17), custom fields
(S-5, K-3) with confidentiality and departments (A-3), SQL filtering and sorting by
custom fields, the classifier (S-9, M-1) and segments (K-14, A-19)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import (
    AuditLog,
    ClassifierKind,
    Client,
    CustomValue,
    Department,
    Dictionary,
    DictionaryItem,
    Role,
    User,
)
from services import classifier, customfields, segments
from services import clients as client_svc
from services import contacts as contacts_svc
from services import dictionaries as dicts
from services import managers as managers_svc
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.rules import validate_rules


@pytest.fixture
async def org(database_url):
    hq = await Department.create(name="HQ")
    msk = await Department.create(name="Moscow", parent=hq)
    kyiv = await Department.create(name="Kyiv", parent=hq)
    return {
        "hq": hq, "msk": msk, "kyiv": kyiv,
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "head_msk": await User.create(full_name="Head M", telegram_id=2, role=Role.HEAD,
                                      department=msk),
        "ivan": await User.create(full_name="Ivan", telegram_id=3, department=msk),
        "olena": await User.create(full_name="Olena", telegram_id=4, department=kyiv),
    }


async def _client(actor: User, name: str, **attrs) -> Client:
    client = (await client_svc.do_create_client(actor, {"name": name})).client
    if attrs:
        await Client.filter(id=client.id).update(**attrs)
    return client


async def _names(qs) -> list[str]:
    return list(await qs.values_list("name", flat=True))


# --- A-16 / S-8 / A-17: dictionaries -------------------------------------------------
async def test_system_dictionaries_are_idempotent_with_russian_names(org):
    first = await dicts.ensure_system_dictionaries()
    second = await dicts.ensure_system_dictionaries()
    assert set(first) == {"region", "city", "district", "sphere", "ad_source", "lost_reason",
                          "claim_rejection"}
    assert {c: d.id for c, d in first.items()} == {c: d.id for c, d in second.items()}
    assert await Dictionary.filter(system=True).count() == 7
    assert first["region"].name == "Регионы" and first["ad_source"].name == "Источники рекламы"
    spheres = await dicts.list_items("sphere")
    assert spheres and all(i.code for i in spheres)
    assert len(spheres) == await DictionaryItem.filter(
        dictionary_id=first["sphere"].id).count()  # no duplicates after the second run
    assert first["city"].user_extendable and not first["ad_source"].user_extendable


async def test_a16_regions_cities_districts_with_parent_rules(org):
    ivan, admin = org["ivan"], org["admin"]
    msk_region = await dicts.do_add_item(ivan, "region", "Московская область")
    spb_region = await dicts.do_add_item(ivan, "region", "Ленинградская область")
    moscow = await dicts.do_add_item(ivan, "city", "Москва", msk_region.id)
    khimki = await dicts.do_add_item(ivan, "city", "Химки", msk_region.id)
    await dicts.do_add_item(ivan, "city", "Выборг", spb_region.id)
    # a city's parent must be a region; a district needs a city
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "city", "Подольск", moscow.id)
    assert info.value.field == "parent" and "region" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "district", "Тверской")
    assert info.value.field == "parent"
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "district", "Тверской", msk_region.id)
    assert info.value.field == "parent"
    center_msk = await dicts.do_add_item(ivan, "district", "Центральный", moscow.id)
    # the same name under another parent is fine; under the same one it is refused
    await dicts.do_add_item(ivan, "district", "Центральный", khimki.id)
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "district", "центральный", moscow.id)
    assert info.value.field == "name" and "Центральный" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "region", "  ")
    assert info.value.field == "name"
    # lists: by parent, by a fragment in any case
    assert [i.name for i in await dicts.list_items("city", msk_region.id)] == ["Москва",
                                                                               "Химки"]
    assert [i.name for i in await dicts.list_items("city", query="моск")] == ["Москва"]
    assert [i.name for i in await dicts.list_items("region", query="ЛЕНИН")] == [
        "Ленинградская область"]
    # renaming and archiving are for admins
    with pytest.raises(PermissionDenied):
        await dicts.do_rename_item(ivan, khimki.id, "Химки-2")
    with pytest.raises(PermissionDenied):
        await dicts.do_archive_item(ivan, khimki.id)
    with pytest.raises(ValidationFailed):
        await dicts.do_rename_item(admin, khimki.id, "москва")
    await dicts.do_rename_item(admin, khimki.id, "г. Химки")
    await dicts.do_archive_item(admin, khimki.id)
    assert [i.name for i in await dicts.list_items("city", msk_region.id)] == ["Москва"]
    with pytest.raises(ValidationFailed) as info:
        await dicts.do_add_item(ivan, "city", "г. Химки", msk_region.id)
    assert "archived" in info.value.message
    await dicts.do_archive_item(admin, khimki.id, archived=False)
    assert len(await dicts.list_items("city", msk_region.id)) == 2
    assert await AuditLog.filter(entity="dictionary_item", action="create").count() == 7
    # the address of a client fits together
    await dicts.check_address(msk_region.id, moscow.id, center_msk.id)
    with pytest.raises(ValidationFailed) as info:
        await dicts.check_address(spb_region.id, moscow.id, None)
    assert info.value.field == "city"
    with pytest.raises(ValidationFailed) as info:
        await dicts.check_address(None, khimki.id, center_msk.id)
    assert info.value.field == "district"
    with pytest.raises(PermissionDenied):
        await dicts.do_add_item(None, "region", "X")


async def test_s8_spheres_extended_by_staff_and_used_in_segments(org):
    ivan = org["ivan"]
    agro = await dicts.do_add_item(ivan, "sphere", "Агрохолдинги")
    trade = (await dicts.find_item(await dicts.get_dictionary("sphere"), "торговля"))
    farm = await _client(ivan, "Ферма")
    shop = await _client(ivan, "Магазин")
    await _client(ivan, "Без сферы")
    await farm.spheres.add(agro)
    await shop.spheres.add(trade, agro)
    rules = {"match": "all", "conditions": [{"field": "sphere_id", "op": "eq",
                                              "value": agro.id}]}
    assert await _names(await segments.members(ivan, rules)) == ["Магазин", "Ферма"]
    rules = [{"field": "sphere_id", "op": "ne", "value": trade.id}]
    assert await _names(await segments.members(ivan, rules)) == ["Без сферы", "Ферма"]
    rules = [{"field": "sphere_id", "op": "is_set", "value": False}]
    assert await _names(await segments.members(ivan, rules)) == ["Без сферы"]


async def test_a17_ad_sources_are_added_by_admins(org):
    ivan, admin = org["ivan"], org["admin"]
    with pytest.raises(PermissionDenied):
        await dicts.do_add_item(ivan, "ad_source", "Радио")
    radio = await dicts.do_add_item(admin, "ad_source", "Радио")
    assert radio.code is None and "Радио" in [i.name for i in await dicts.list_items(
        "ad_source")]
    await _client(ivan, "Слушатель", ad_source_id=radio.id)
    await _client(ivan, "Другой")
    rules = [{"field": "ad_source_id", "op": "in", "value": [radio.id]}]
    assert await _names(await segments.members(ivan, rules)) == ["Слушатель"]
    with pytest.raises(ValidationFailed) as info:
        await validate_rules([{"field": "ad_source_id", "op": "eq", "value": 999999}])
    assert info.value.field == "conditions[0]" and info.value.message.startswith(
        "Advertising source: 999999 ")


# --- S-5 / K-3: custom fields -------------------------------------------------------
async def _all_fields(admin: User) -> None:
    await customfields.do_create_field(admin, "client", "notes2", "Заметка", "text")
    await customfields.do_create_field(admin, "client", "staff_count", "Сотрудников", "number")
    await customfields.do_create_field(admin, "client", "budget", "Бюджет", "money")
    await customfields.do_create_field(admin, "client", "contract_date", "Договор", "date")
    await customfields.do_create_field(admin, "client", "vip", "VIP", "bool")
    await customfields.do_create_field(admin, "client", "temperature", "Температура",
                                       "choice", items=["Горячий", "Тёплый", "Холодный"])
    await customfields.do_create_field(admin, "client", "products", "Продукты",
                                       "multichoice", items=["CRM", "ERP", "BI"])


async def test_s5_k3_admins_define_fields_and_staff_fill_them(org):
    admin, ivan = org["admin"], org["ivan"]
    with pytest.raises(PermissionDenied):
        await customfields.do_create_field(ivan, "client", "x", "X", "text")
    await _all_fields(admin)
    field = await customfields.get_field("client", "temperature")
    assert (await Dictionary.get(id=field.dictionary_id)).code == "cf_temperature"
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_create_field(admin, "client", "vip", "Again", "bool")
    assert info.value.field == "code"
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_create_field(admin, "client", "Bad Code", "X", "text")
    assert info.value.field == "code"
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_create_field(admin, "client", "kind2", "X", "choice")
    assert info.value.field == "items"
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_create_field(admin, "client", "t", "X", "colour")
    assert info.value.field == "type"
    # a contact field using a system dictionary (S-3: unlimited extra parameters)
    await customfields.do_create_field(admin, "contact", "hobby_sphere", "Сфера", "choice",
                                       dictionary_code="sphere")
    client = await _client(ivan, "Ромашка")
    values = await customfields.do_set_values(ivan, "client", client.id, {
        "notes2": "  ценный клиент ", "staff_count": "1 250", "budget": "12 000,50 ₽",
        "contract_date": "05.03.2024", "vip": "да", "temperature": "горячий",
        "products": "CRM, BI"}, source="bot")
    assert values == {
        "notes2": "ценный клиент", "staff_count": Decimal("1250.0000"),
        "budget": Decimal("12000.50"), "contract_date": date(2024, 3, 5), "vip": True,
        "temperature": "Горячий", "products": ["CRM", "BI"]}
    assert [f.code for f in await customfields.fields_for(ivan, "client")] == [
        "notes2", "staff_count", "budget", "contract_date", "vip", "temperature", "products"]
    # replace, by ids and ISO; the audit names the field, old and new value
    temp = await customfields.get_field("client", "temperature")
    cold = await DictionaryItem.get(dictionary_id=temp.dictionary_id, name="Холодный")
    await customfields.do_set_values(ivan, "client", client.id, {
        "temperature": cold.id, "products": ["ERP"], "contract_date": "2024-04-01",
        "vip": False, "notes2": None})
    values = await customfields.values_for(ivan, "client", client.id)
    assert values["temperature"] == "Холодный" and values["products"] == ["ERP"]
    assert values["contract_date"] == date(2024, 4, 1) and values["vip"] is False
    assert values["notes2"] is None
    ids = await customfields.values_for(ivan, "client", client.id, item_ids=True)
    assert ids["temperature"] == cold.id
    row = await AuditLog.get(client_id=client.id, field="cf:temperature",
                             old_value="Горячий")
    assert row.new_value == "Холодный" and row.user_id == ivan.id
    assert await CustomValue.filter(entity="client", object_id=client.id).count() == 6
    # contacts have custom fields too
    contact = await contacts_svc.do_add_contact(ivan, client.id, {"first_name": "Пётр"})
    assert (await customfields.do_set_values(ivan, "contact", contact.id, {
        "hobby_sphere": "Торговля"}))["hobby_sphere"] == "Торговля"
    # somebody else's client: not found
    with pytest.raises(NotFound):
        await customfields.values_for(org["olena"], "client", client.id)
    with pytest.raises(NotFound):
        await customfields.do_set_values(org["olena"], "client", client.id, {"vip": True})
    bulk = await customfields.values_for_clients(org["olena"], [client.id])
    assert bulk == {}


async def test_required_fields(org):
    admin, ivan = org["admin"], org["ivan"]
    await customfields.do_create_field(admin, "client", "inn_source", "Откуда ИНН", "text",
                                       required=True)
    await customfields.do_create_field(admin, "client", "secret_req", "Секрет", "text",
                                       required=True, confidential=True)
    client = await _client(ivan, "Обязательный")
    assert [f.code for f in await customfields.missing_required("client", client.id)] == [
        "inn_source", "secret_req"]
    assert [f.code for f in await customfields.missing_required(
        "client", client.id, ivan)] == ["inn_source"]
    with pytest.raises(ValidationFailed) as info:
        await customfields.require_complete("client", client.id, ivan)
    assert info.value.field == "inn_source"
    await customfields.do_set_values(ivan, "client", client.id, {"inn_source": "ФНС"})
    assert await customfields.missing_required("client", client.id, ivan) == []
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_set_values(ivan, "client", client.id, {"inn_source": ""})
    assert info.value.field == "inn_source" and "required" in info.value.message


@pytest.mark.parametrize(("code", "raw"), [
    ("staff_count", "много"),
    ("staff_count", True),
    ("budget", "1e30"),
    ("contract_date", "31.02.2024"),
    ("contract_date", "вчера"),
    ("vip", "может быть"),
    ("temperature", "Ледяной"),
    ("temperature", ["Горячий", "Холодный"]),
    ("products", ["CRM", "Склад"]),
    ("notes2", "x" * 1001),
    ("no_such_field", "1"),
])
async def test_bad_input_names_the_field_and_writes_nothing(org, code, raw):
    await _all_fields(org["admin"])
    client = await _client(org["ivan"], "Ошибки")
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_set_values(org["ivan"], "client", client.id, {
            "vip": True, code: raw})
    assert info.value.field == code
    assert not await CustomValue.filter(object_id=client.id).exists()


# --- confidential and department-limited fields --------------------------------
async def test_a3_confidential_fields_are_hidden_from_managers(org):
    admin, head, ivan = org["admin"], org["head_msk"], org["ivan"]
    await customfields.do_create_field(admin, "client", "margin", "Маржа", "money",
                                       confidential=True)
    await customfields.do_create_field(admin, "client", "site_visits", "Визиты", "number")
    client = await _client(ivan, "Тайна")
    await customfields.do_set_values(admin, "client", client.id, {"margin": "1000",
                                                                  "site_visits": 3})
    assert [f.code for f in await customfields.fields_for(ivan, "client")] == ["site_visits"]
    assert await customfields.values_for(ivan, "client", client.id) == {
        "site_visits": Decimal("3.0000")}
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_set_values(ivan, "client", client.id, {"margin": "1"})
    assert info.value.field == "margin" and info.value.message == "no such field"
    assert (await customfields.values_for(admin, "client", client.id))["margin"] == Decimal(
        "1000.00")
    # heads have the right
    assert (await customfields.values_for(head, "client", client.id))["margin"] == Decimal(
        "1000.00")
    await customfields.do_set_values(head, "client", client.id, {"margin": "1500"})
    assert await customfields.hidden_codes(ivan, "client") == {"margin"}
    assert await customfields.hidden_codes(head, "client") == set()
    bulk = await customfields.values_for_clients(ivan, [client.id])
    assert bulk == {client.id: {"site_visits": Decimal("3.0000")}}
    # nor can a manager filter or sort by it
    qs = await client_svc.visible_clients(ivan)
    with pytest.raises(ValidationFailed) as info:
        await customfields.filter_clients(qs, "margin", "gt", 1, actor=ivan)
    assert info.value.field == "margin"
    with pytest.raises(ValidationFailed):
        await customfields.order_clients(qs, "margin", actor=ivan)
    with pytest.raises(ValidationFailed) as info:
        await segments.do_save_segment(ivan, "Маржинальные", [
            {"field": "cf:margin", "op": "gt", "value": 100}])
    assert info.value.field == "conditions[0]"


async def test_a3_department_limited_fields(org):
    admin = org["admin"]
    await customfields.do_create_field(admin, "client", "msk_only", "Москва", "text",
                                       department_ids=[org["msk"].id])
    await customfields.do_create_field(admin, "client", "hq_all", "Всем в HQ", "text",
                                       department_ids=[org["hq"].id])
    with pytest.raises(ValidationFailed) as info:
        await customfields.do_create_field(admin, "client", "bad", "X", "text",
                                           department_ids=[999999])
    assert info.value.field == "department_ids"
    seen = {who: [f.code for f in await customfields.fields_for(org[who], "client")]
            for who in ("admin", "head_msk", "ivan", "olena")}
    assert seen == {"admin": ["msk_only", "hq_all"], "head_msk": ["msk_only", "hq_all"],
                    "ivan": ["msk_only", "hq_all"], "olena": ["hq_all"]}
    field = await customfields.get_field("client", "msk_only")
    await customfields.do_update_field(admin, field.id, department_ids=[org["kyiv"].id])
    assert [f.code for f in await customfields.fields_for(org["olena"], "client")] == [
        "msk_only", "hq_all"]
    assert [f.code for f in await customfields.fields_for(org["ivan"], "client")] == [
        "hq_all"]


# --- SQL filtering and sorting by custom fields --------------------------------------
@pytest.fixture
async def filled(org):
    admin, ivan = org["admin"], org["ivan"]
    await _all_fields(admin)
    data = {
        "Альфа": {"notes2": "Крупный опт", "staff_count": 9, "budget": "100.50",
                  "contract_date": "2024-01-15", "vip": True, "temperature": "Горячий",
                  "products": ["CRM", "ERP"]},
        "Бета": {"notes2": "розница", "staff_count": 10, "budget": "99.99",
                 "contract_date": "2023-12-31", "vip": False, "temperature": "Холодный",
                 "products": ["BI"]},
        "Гамма": {"notes2": "ОПТ и розница", "staff_count": "100.5", "budget": 2000,
                  "contract_date": "2024-06-01", "temperature": "Тёплый",
                  "products": ["CRM"]},
        "Дельта": {},
    }
    for name, values in data.items():
        client = await _client(ivan, name)
        await customfields.do_set_values(ivan, "client", client.id, values)
    return await client_svc.visible_clients(ivan)


@pytest.mark.parametrize(("code", "op", "value", "expected"), [
    ("staff_count", "gt", 9, ["Бета", "Гамма"]),           # numerically, not as text
    ("staff_count", "le", "10", ["Альфа", "Бета"]),
    ("staff_count", "eq", "100,5", ["Гамма"]),
    ("staff_count", "ne", 10, ["Альфа", "Гамма", "Дельта"]),
    ("staff_count", "in", [9, 100.5], ["Альфа", "Гамма"]),
    ("budget", "ge", "100.5", ["Альфа", "Гамма"]),
    ("budget", "lt", 100, ["Бета"]),
    ("contract_date", "ge", "01.01.2024", ["Альфа", "Гамма"]),
    ("contract_date", "lt", date(2024, 1, 15), ["Бета"]),
    ("contract_date", "eq", "2024-06-01", ["Гамма"]),
    ("vip", "eq", True, ["Альфа"]),
    ("vip", "eq", "нет", ["Бета"]),
    ("vip", "ne", True, ["Бета", "Гамма", "Дельта"]),
    ("vip", "is_set", False, ["Гамма", "Дельта"]),
    ("notes2", "contains", "опт", ["Альфа", "Гамма"]),
    ("notes2", "contains", "РОЗНИЦА", ["Бета", "Гамма"]),
    ("notes2", "eq", "розница", ["Бета"]),
    ("notes2", "is_set", True, ["Альфа", "Бета", "Гамма"]),
    ("temperature", "eq", "Горячий", ["Альфа"]),
    ("temperature", "in", ["горячий", "тёплый"], ["Альфа", "Гамма"]),
    ("temperature", "ne", "Горячий", ["Бета", "Гамма", "Дельта"]),
    ("products", "contains", "CRM", ["Альфа", "Гамма"]),
    ("products", "in", ["ERP", "BI"], ["Альфа", "Бета"]),
    ("products", "ne", "CRM", ["Бета", "Дельта"]),
    ("products", "is_set", False, ["Дельта"]),
])
async def test_filter_clients_by_custom_fields_in_sql(filled, code, op, value, expected):
    qs = await customfields.filter_clients(filled, code, op, value)
    assert "custom_value" in qs.sql()
    assert await _names(qs.order_by("name")) == expected


@pytest.mark.parametrize(("code", "op", "value"), [
    ("staff_count", "contains", "1"),
    ("vip", "gt", True),
    ("staff_count", "gt", "много"),
    ("temperature", "eq", "Ледяной"),
    ("temperature", "in", []),
    ("budget", "eq", None),
])
async def test_filter_bad_input_names_the_field(filled, code, op, value):
    with pytest.raises(ValidationFailed) as info:
        await customfields.filter_clients(filled, code, op, value)
    assert info.value.field == code


@pytest.mark.parametrize(("code", "ascending", "descending"), [
    # 9 < 10 < 100.5 as numbers (not as text); no value: last either way
    ("staff_count", ["Альфа", "Бета", "Гамма"], ["Гамма", "Бета", "Альфа"]),
    ("budget", ["Бета", "Альфа", "Гамма"], ["Гамма", "Альфа", "Бета"]),
    ("contract_date", ["Бета", "Альфа", "Гамма"], ["Гамма", "Альфа", "Бета"]),
    ("notes2", ["Альфа", "Гамма", "Бета"], ["Бета", "Гамма", "Альфа"]),
    ("vip", ["Бета", "Альфа"], ["Альфа", "Бета"]),
    # choices: in the dictionary's order (Горячий, Тёплый, Холодный)
    ("temperature", ["Альфа", "Гамма", "Бета"], ["Бета", "Гамма", "Альфа"]),
    # multichoice: by the first chosen item ascending, by the last descending
    ("products", ["Альфа", "Гамма", "Бета"], ["Бета", "Альфа", "Гамма"]),
])
async def test_order_clients_by_custom_fields_in_sql(filled, code, ascending, descending):
    unset = [n for n in ("Альфа", "Бета", "Гамма", "Дельта") if n not in ascending]
    qs = await customfields.order_clients(filled, code)
    assert await _names(qs) == ascending + unset
    qs = await customfields.order_clients(filled, code, descending=True)
    assert await _names(qs) == descending + unset
    # sorting and filtering combine, and paging works on the result
    narrowed = await customfields.filter_clients(filled, code, "is_set", True)
    ordered = await customfields.order_clients(narrowed, code)
    assert await _names(ordered.limit(2)) == ascending[:2]
    assert await ordered.count() == len(ascending)


# --- S-9 / M-1: the classifier ------------------------------------------------------
async def test_s9_m1_three_kinds_of_nodes_one_client_in_several_branches(org):
    admin, ivan, olena = org["admin"], org["ivan"], org["olena"]
    await customfields.do_create_field(admin, "client", "revenue", "Выручка", "money")
    with pytest.raises(PermissionDenied):
        await classifier.do_create_node(ivan, "Температура")
    temperature = await classifier.do_create_node(admin, "Температура")
    hot = await classifier.do_create_node(admin, "Горячие", temperature.id)
    cold = await classifier.do_create_node(admin, "Холодные", temperature.id)
    size = await classifier.do_create_node(admin, "Размер")
    large = await classifier.do_create_node(
        admin, "Крупные", size.id, ClassifierKind.BY_FIELD,
        {"match": "all", "conditions": [{"field": "cf:revenue", "op": "ge",
                                          "value": 1_000_000}]})
    by_manager = await classifier.do_create_node(
        admin, "Клиенты Ивана", None, "by_manager", {"manager_ids": [ivan.id]})
    with pytest.raises(ValidationFailed) as info:
        await classifier.do_create_node(admin, "Плохое", None, "by_field",
                                        [{"field": "cf:nope", "op": "eq", "value": 1}])
    assert info.value.field == "conditions[0]"
    with pytest.raises(ValidationFailed) as info:
        await classifier.do_create_node(admin, "Плохое", None, "by_manager", {})
    assert info.value.field == "rule"

    big = await _client(ivan, "Большой")
    small = await _client(ivan, "Малый")
    foreign = await _client(olena, "Чужой")
    await customfields.do_set_values(ivan, "client", big.id, {"revenue": "5 000 000"})
    await customfields.do_set_values(olena, "client", foreign.id, {"revenue": 2_000_000})
    assert await classifier.do_classify(ivan, big.id, hot.id) is True
    assert await classifier.do_classify(ivan, big.id, hot.id) is False
    await classifier.do_classify(ivan, small.id, cold.id)
    await classifier.do_classify(olena, foreign.id, hot.id)
    with pytest.raises(NotFound):
        await classifier.do_classify(ivan, foreign.id, cold.id)
    with pytest.raises(ValidationFailed) as info:
        await classifier.do_classify(ivan, big.id, large.id)
    assert info.value.field == "node"
    assert await AuditLog.filter(client_id=big.id, action="classify").exists()

    # one client, several branches, three kinds
    nodes = await classifier.client_nodes(ivan, big.id)
    assert {n.name for n in nodes} == {"Горячие", "Крупные", "Клиенты Ивана"}
    assert {n.name for n in await classifier.client_nodes(ivan, small.id)} == {
        "Холодные", "Клиенты Ивана"}
    # members, limited by access
    assert await _names(await classifier.node_clients(ivan, hot.id)) == ["Большой"]
    assert await _names(await classifier.node_clients(admin, hot.id)) == ["Большой", "Чужой"]
    assert await _names(await classifier.node_clients(admin, large.id)) == ["Большой",
                                                                             "Чужой"]
    assert await _names(await classifier.node_clients(olena, large.id)) == ["Чужой"]
    assert await _names(await classifier.node_clients(admin, by_manager.id)) == [
        "Большой", "Малый"]
    assert await _names(await classifier.node_clients(
        ivan, temperature.id, descendants=True)) == ["Большой", "Малый"]
    # a reassignment moves the client out of the by-manager node
    await managers_svc.do_assign_manager(admin, small.id, olena.id)
    await managers_svc.do_unassign_manager(admin, small.id, ivan.id)
    assert await _names(await classifier.node_clients(admin, by_manager.id)) == ["Большой"]
    await classifier.do_unclassify(ivan, big.id, hot.id)
    assert await _names(await classifier.node_clients(ivan, hot.id)) == []

    # the tree: rename, move without cycles, a self-referring rule, delete
    await classifier.do_rename_node(admin, size.id, "По размеру")
    with pytest.raises(ValidationFailed) as info:
        await classifier.do_move_node(admin, temperature.id, hot.id)
    assert info.value.field == "parent"
    with pytest.raises(ValidationFailed):
        await classifier.do_move_node(admin, size.id, size.id)
    await classifier.do_move_node(admin, by_manager.id, size.id)
    roots = await classifier.tree()
    assert [r["node"].name for r in roots] == ["Температура", "По размеру"]
    assert [c["node"].name for c in roots[1]["children"]] == ["Крупные", "Клиенты Ивана"]
    with pytest.raises(ValidationFailed):
        await classifier.do_set_rule(admin, large.id, "by_field", [
            {"field": "classifier_node_id", "op": "eq", "value": large.id}])
    await classifier.do_set_rule(admin, cold.id, "by_field", [
        {"field": "classifier_node_id", "op": "eq", "value": large.id}])
    assert await _names(await classifier.node_clients(admin, cold.id)) == ["Большой",
                                                                            "Чужой"]
    with pytest.raises(ValidationFailed) as info:
        await classifier.do_delete_node(admin, size.id)
    assert "Холодные" in info.value.message
    await classifier.do_delete_node(admin, temperature.id)
    await classifier.do_delete_node(admin, size.id)
    assert await classifier.list_nodes() == []


# --- K-14 / A-19: segments ----------------------------------------------------------
async def test_k14_a19_segments_with_custom_fields_and_access(org):
    admin, head, ivan, olena = org["admin"], org["head_msk"], org["ivan"], org["olena"]
    await _all_fields(admin)
    region = await dicts.do_add_item(ivan, "region", "Московская область")
    city = await dicts.do_add_item(ivan, "city", "Москва", region.id)
    a = await _client(ivan, "Альфа", city_id=city.id, region_id=region.id)
    b = await _client(ivan, "Бета", kind="individual")
    c = await _client(olena, "Гамма", city_id=city.id)
    await _client(olena, "Дельта")
    await customfields.do_set_values(ivan, "client", a.id, {"temperature": "Горячий",
                                                            "budget": 5000})
    await customfields.do_set_values(ivan, "client", b.id, {"temperature": "Горячий",
                                                            "budget": 10})
    await customfields.do_set_values(olena, "client", c.id, {"temperature": "Горячий",
                                                             "budget": 7000})
    rules = {"match": "all", "conditions": [
        {"field": "cf:temperature", "op": "eq", "value": "Горячий"},
        {"match": "any", "conditions": [
            {"field": "city_id", "op": "eq", "value": city.id},
            {"field": "cf:budget", "op": "ge", "value": "6000"}]}]}
    segment = await segments.do_save_segment(ivan, "Горячие москвичи", rules, shared=True)
    private = await segments.do_save_segment(olena, "Мои", [
        {"field": "kind", "op": "eq", "value": "company"}], shared=False)
    # members are computed in SQL and limited by who asks
    assert await _names(await segments.members(ivan, segment)) == ["Альфа"]
    assert await _names(await segments.members(olena, segment.id)) == ["Гамма"]
    assert await _names(await segments.members(admin, segment)) == ["Альфа", "Гамма"]
    assert await _names(await segments.members(head, segment)) == ["Альфа"]
    assert await segments.count_members(admin, segment) == 2
    # who sees which segment
    assert [s.name for s in await segments.list_segments(ivan)] == ["Горячие москвичи"]
    assert [s.name for s in await segments.list_segments(olena)] == ["Горячие москвичи",
                                                                     "Мои"]
    assert len(await segments.list_segments(admin)) == 2
    with pytest.raises(NotFound):
        await segments.members(ivan, private.id)
    with pytest.raises(PermissionDenied):
        await segments.do_save_segment(olena, "Чужое", rules, segment_id=segment.id)
    with pytest.raises(ValidationFailed) as info:
        await segments.do_save_segment(ivan, "Горячие москвичи", [])
    assert info.value.field == "name"
    await segments.do_save_segment(admin, "Горячие (все)", rules, segment_id=segment.id)
    # attributes: kind, manager, name, completeness, created_at, region
    cases = [
        ([{"field": "kind", "op": "eq", "value": "individual"}], ["Бета"]),
        ([{"field": "kind", "op": "in", "value": ["company"]}], ["Альфа", "Гамма", "Дельта"]),
        ([{"field": "list_type", "op": "eq", "value": "partner"}],
         ["Альфа", "Бета", "Гамма", "Дельта"]),
        ([{"field": "manager_id", "op": "eq", "value": olena.id}], ["Гамма", "Дельта"]),
        ([{"field": "manager_id", "op": "ne", "value": olena.id}], ["Альфа", "Бета"]),
        ([{"field": "name", "op": "contains", "value": "ЛЬФ"}], ["Альфа"]),
        ([{"field": "completeness", "op": "ge", "value": 0}],
         ["Альфа", "Бета", "Гамма", "Дельта"]),
        ([{"field": "created_at", "op": "within_days", "value": 1}],
         ["Альфа", "Бета", "Гамма", "Дельта"]),
        ([{"field": "created_at", "op": "lt", "value": date.today() - timedelta(days=2)}], []),
        ([{"field": "created_at", "op": "le", "value": (date.today() + timedelta(days=1))
           .isoformat()}], ["Альфа", "Бета", "Гамма", "Дельта"]),
        ([{"field": "region_id", "op": "eq", "value": region.id}], ["Альфа"]),
        ([{"field": "city_id", "op": "ne", "value": city.id}], ["Бета", "Дельта"]),
        ([{"field": "city_id", "op": "is_set", "value": True}], ["Альфа", "Гамма"]),
        ({"match": "any", "conditions": [
            {"field": "name", "op": "eq", "value": "Бета"},
            {"field": "cf:budget", "op": "gt", "value": 6000}]}, ["Бета", "Гамма"]),
        ({"match": "any", "conditions": []}, []),
        ([], ["Альфа", "Бета", "Гамма", "Дельта"]),
    ]
    for case_rules, expected in cases:
        assert await _names(await segments.members(admin, case_rules)) == expected, case_rules
    # a classifier node as a condition
    node = await classifier.do_create_node(admin, "Горячие", None, "manual")
    await classifier.do_classify(ivan, b.id, node.id)
    rules = [{"field": "classifier_node_id", "op": "eq", "value": node.id}]
    assert await _names(await segments.members(admin, rules)) == ["Бета"]
    rules = [{"field": "classifier_node_id", "op": "ne", "value": node.id}]
    assert await _names(await segments.members(ivan, rules)) == ["Альфа"]


@pytest.mark.parametrize(("rules", "path", "fragment"), [
    ([{"field": "colour", "op": "eq", "value": 1}], "conditions[0]", "colour"),
    ([{"field": "kind", "op": "gt", "value": "company"}], "conditions[0]",
     "Company or person:"),
    ([{"field": "kind", "op": "eq", "value": "robot"}], "conditions[0]", "robot"),
    ([{"field": "kind", "op": "eq", "value": "company"},
      {"field": "cf:staff_count", "op": "gt", "value": "много"}], "conditions[1]",
     "Сотрудников:"),
    ({"match": "all", "conditions": [{"match": "any", "conditions": [
        {"field": "city_id", "op": "in", "value": []}]}]},
     "conditions[0].conditions[0]", "City: choose at least one value"),
    ({"match": "some", "conditions": []}, "match", "all"),
    ([{"field": "created_at", "op": "ge", "value": "yesterday"}], "conditions[0]",
     "Added on:"),
    ([{"field": "manager_id", "op": "eq", "value": 999999}], "conditions[0]", "999999"),
    ([{"field": "classifier_node_id", "op": "eq", "value": 999999}], "conditions[0]",
     "999999"),
    (["not a condition"], "conditions[0]", "field"),
    ("nonsense", "rules", "list"),
])
async def test_bad_segment_rules_name_the_condition(org, rules, path, fragment):
    await _all_fields(org["admin"])
    with pytest.raises(ValidationFailed) as info:
        await segments.do_save_segment(org["ivan"], "Плохой", rules)
    assert info.value.field == path
    assert fragment in info.value.message
