"""Issue 17: whatever the settings page makes is changed, archived or deleted there —
in the services (admins only, a bad value refused naming the field with nothing
changed) and through /api/v1."""

from __future__ import annotations

import pytest

from models import (
    ActivityCategory,
    ActivityType,
    CardLayout,
    CustomField,
    Department,
    DictionaryItem,
    MessageTemplate,
    Playbook,
    PlaybookStep,
    Product,
    Role,
    User,
)
from services import catalogue, customfields, layouts, messaging, playbooks, staff
from services import dictionaries as dicts
from services.errors import PermissionDenied, ValidationFailed
from tests.test_web import signed_in


@pytest.fixture
async def org(database_url):
    hq = await Department.create(name="HQ")
    msk = await Department.create(name="Moscow", parent=hq)
    return {
        "hq": hq, "msk": msk,
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "head": await User.create(full_name="Head", telegram_id=2, role=Role.HEAD,
                                  department=msk),
        "ivan": await User.create(full_name="Ivan", telegram_id=3, role=Role.MANAGER,
                                  department=msk),
    }


async def test_a_field_code_is_made_from_its_name(org):
    admin = org["admin"]
    a = await customfields.do_create_field(admin, "client", None, "Уровень лояльности", "text")
    b = await customfields.do_create_field(admin, "client", "", "Уровень  лояльности!", "text")
    c = await customfields.do_create_field(admin, "contact", None, "Уровень лояльности", "text")
    d = await customfields.do_create_field(admin, "client", None, "2024 план", "number")
    assert (a.code, b.code, c.code, d.code) == (
        "uroven_loyalnosti", "uroven_loyalnosti_2", "uroven_loyalnosti", "f_2024_plan")
    with pytest.raises(ValidationFailed) as exc:
        await customfields.do_create_field(admin, "client", None, "  ", "text")
    assert exc.value.field == "name"


async def test_a_field_is_changed_and_archived_by_admins_only(org):
    admin = org["admin"]
    f = await customfields.do_create_field(admin, "client", None, "Бюджет", "money")
    for who in (org["head"], org["ivan"]):
        with pytest.raises(PermissionDenied):
            await customfields.do_update_field(who, f.id, archived=True)
    with pytest.raises(ValidationFailed) as exc:
        await customfields.do_update_field(admin, f.id, name=" ", required=True)
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        await customfields.do_update_field(admin, f.id, required=True, department_ids=[999])
    assert exc.value.field == "department_ids"
    assert not (await CustomField.get(id=f.id)).required  # nothing changed
    await customfields.do_update_field(admin, f.id, name="Бюджет, ₽", required=True,
                                       department_ids=[org["msk"].id], archived=True)
    f = await CustomField.get(id=f.id).prefetch_related("departments")
    assert (f.name, f.required, f.archived, [d.id for d in f.departments]) == (
        "Бюджет, ₽", True, True, [org["msk"].id])
    assert f.code == "byudzhet"  # the code stays


async def test_a_dictionary_item_is_moved_without_cycles(org):
    admin = org["admin"]
    north = await dicts.do_add_item(admin, "region", "Север")
    south = await dicts.do_add_item(admin, "region", "Юг")
    city = await dicts.do_add_item(admin, "city", "Сочи", north.id)
    await dicts.do_add_item(admin, "city", "Сочи ", south.id)
    with pytest.raises(PermissionDenied):
        await dicts.do_move_item(org["ivan"], city.id, south.id)
    with pytest.raises(ValidationFailed) as exc:  # a name taken among the new siblings
        await dicts.do_move_item(admin, city.id, south.id)
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:  # a city under a city
        await dicts.do_move_item(admin, city.id, city.id)
    assert exc.value.field == "parent"
    assert (await DictionaryItem.get(id=city.id)).parent_id == north.id
    await dicts.do_move_item(admin, city.id, None)
    assert (await DictionaryItem.get(id=city.id)).parent_id is None
    # within one dictionary an item never goes under its own child
    a = await dicts.do_add_item(admin, "sphere", "Торговля A")
    b = await dicts.do_add_item(admin, "sphere", "Розница", a.id)
    with pytest.raises(ValidationFailed) as exc:
        await dicts.do_move_item(admin, a.id, b.id)
    assert exc.value.field == "parent"
    await dicts.do_archive_item(admin, b.id)
    await dicts.do_archive_item(admin, b.id, False)
    assert not (await DictionaryItem.get(id=b.id)).archived


async def test_types_categories_products_are_changed_and_archived(org):
    admin = org["admin"]
    from services import activities

    product = await activities.do_add_product(admin, {"name": "Цемент", "code": "C1"})
    await activities.do_add_product(admin, {"name": "Песок", "code": "S1"})
    with pytest.raises(PermissionDenied):
        await catalogue.do_update_product(org["head"], product.id, {"archived": True})
    with pytest.raises(ValidationFailed) as exc:
        await catalogue.do_update_product(admin, product.id, {"name": "Цемент М500",
                                                              "code": "S1"})
    assert exc.value.field == "code"
    assert (await Product.get(id=product.id)).name == "Цемент"  # nothing changed
    await catalogue.do_update_product(admin, product.id, {"name": "Цемент М500",
                                                          "unit": "т", "archived": True})
    assert [p.name for p in await activities.list_products()] == ["Песок"]
    assert (await catalogue.archived_lists())["products"][0].unit == "т"

    await activities.list_types()  # the system types exist
    kind = await activities.do_add_type(admin, "Демо", "event", "🎬")
    with pytest.raises(ValidationFailed) as exc:
        await catalogue.do_update_type(admin, kind.id, {"kind": "party"})
    assert exc.value.field == "kind"
    await catalogue.do_update_type(admin, kind.id, {"name": "Демо-день", "archived": True})
    assert (await ActivityType.get(id=kind.id)).archived
    assert "Демо-день" not in [t.name for t in await activities.list_types()]
    with pytest.raises(PermissionDenied):
        await catalogue.do_update_type(org["ivan"], kind.id, {"archived": False})

    cat = await activities.do_add_category(admin, "Важное", "#ff0000")
    with pytest.raises(ValidationFailed) as exc:
        await catalogue.do_update_category(admin, cat.id, {"colour": "red"})
    assert exc.value.field == "colour"
    await catalogue.do_update_category(admin, cat.id, {"colour": "#00FF00", "archived": True})
    cat = await ActivityCategory.get(id=cat.id)
    assert (cat.colour, cat.archived) == ("#00ff00", True)
    assert await catalogue.list_categories() == []


async def test_a_playbook_is_rewritten_and_archived(org):
    admin = org["admin"]
    book = await playbooks.do_create_playbook(admin, "Новый клиент", [
        {"title": "Звонок", "type": "call", "offset_days": 0}])
    with pytest.raises(PermissionDenied):
        await playbooks.do_update_playbook(org["ivan"], book.id, "X", [{"title": "a"}])
    with pytest.raises(ValidationFailed) as exc:
        await playbooks.do_update_playbook(admin, book.id, "Новый", [
            {"title": "ok"}, {"title": " ", "offset_days": 1}])
    assert exc.value.field == "steps.2.title"
    assert (await Playbook.get(id=book.id)).name == "Новый клиент"
    await playbooks.do_update_playbook(org["head"], book.id, "Новый", [
        {"title": "Звонок", "type": "call"}, {"title": "КП", "type": "email",
                                              "offset_days": 2, "assignee": "manager"}])
    steps = await PlaybookStep.filter(playbook_id=book.id).order_by("position")
    assert [(s.title, s.offset_days, str(s.assignee)) for s in steps] == [
        ("Звонок", 0, "applier"), ("КП", 2, "manager")]
    await playbooks.do_archive_playbook(admin, book.id)
    assert await playbooks.list_playbooks() == []
    assert [p.name for p in await playbooks.list_playbooks(archived=True)] == ["Новый"]


async def test_templates_archived_and_departments_kept_by_admins(org):
    admin = org["admin"]
    t = await messaging.do_save_template(admin, {"name": "Привет", "channel": "sms",
                                                 "body": "Здравствуйте"})
    with pytest.raises(PermissionDenied):
        await messaging.do_archive_template(org["head"], t.id)
    await messaging.do_archive_template(admin, t.id)
    assert (await MessageTemplate.get(id=t.id)).archived
    assert await messaging.list_templates() == []

    with pytest.raises(PermissionDenied):
        await staff.do_update_department(org["head"], org["msk"].id, name="Москва")
    with pytest.raises(ValidationFailed) as exc:
        await staff.do_update_department(admin, org["hq"].id, name="Главный",
                                         parent_id=org["msk"].id)
    assert exc.value.field == "parent"
    assert (await Department.get(id=org["hq"].id)).name == "HQ"
    await staff.do_update_department(admin, org["msk"].id, name="Москва", parent_id=None)
    msk = await Department.get(id=org["msk"].id)
    assert (msk.name, msk.parent_id) == ("Москва", None)
    with pytest.raises(ValidationFailed) as exc:
        await staff.do_delete_department(admin, msk.id)  # people work there
    assert exc.value.field == "department"
    empty = await Department.create(name="Empty", parent=org["hq"])
    with pytest.raises(ValidationFailed):
        await staff.do_delete_department(admin, org["hq"].id)  # has a sub-department
    await staff.do_delete_department(admin, empty.id)
    assert not await Department.exists(id=empty.id)


async def test_layouts_per_department_and_person(org):
    await layouts.do_save_layout(org["admin"], ["history", "requisites"],
                                 department_id=org["msk"].id)
    await layouts.do_save_layout(org["ivan"], ["contacts"], user_id=org["ivan"].id)
    with pytest.raises(PermissionDenied):
        await layouts.do_save_layout(org["ivan"], ["contacts"], user_id=org["head"].id)
    assert await layouts.department_layouts() == {org["msk"].id: ["history", "requisites"]}
    assert await layouts.person_layouts() == {org["ivan"].id: ["contacts"]}
    assert await layouts.layout_for(org["ivan"]) == ["contacts"]
    await layouts.do_reset_own_layout(org["ivan"])
    assert await layouts.layout_for(org["ivan"]) == ["history", "requisites"]
    assert await CardLayout.filter(user_id=org["ivan"].id).count() == 0


# --- the API ---------------------------------------------------------------------------
async def test_the_settings_api(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    c = service.client
    await signed_in(service, emulator, ivan)
    assert (await c.patch("/api/v1/products/1", json={"archived": True})).status == 403
    assert (await c.patch("/api/v1/dictionary-items/1", json={})).status == 403
    assert (await c.delete("/api/v1/classifier/1")).status in (403, 404)
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)

    resp = await c.post("/api/v1/custom-fields", json={"name": "Уровень", "type": "bool"})
    assert resp.status == 201, await resp.text()
    field = await resp.json()
    assert field["code"] == "uroven"
    resp = await c.patch(f"/api/v1/custom-fields/{field['id']}", json={"name": ""})
    assert resp.status == 422
    resp = await c.patch(f"/api/v1/custom-fields/{field['id']}",
                         json={"name": "Level", "archived": True})
    assert resp.status == 200 and (await resp.json())["name"] == "Level"
    assert (await CustomField.get(id=field["id"])).archived

    region = await (await c.post("/api/v1/dictionaries/region", json={"name": "North"})).json()
    city = await (await c.post("/api/v1/dictionaries/city", json={
        "name": "Town", "parent_id": region["id"]})).json()
    resp = await c.patch(f"/api/v1/dictionary-items/{city['id']}", json={
        "name": "Big town", "parent_id": None, "archived": True})
    assert resp.status == 200, await resp.text()
    item = await DictionaryItem.get(id=city["id"])
    assert (item.name, item.parent_id, item.archived) == ("Big town", None, True)

    node = await (await c.post("/api/v1/classifier", json={"name": "Hot"})).json()
    resp = await c.patch(f"/api/v1/classifier/{node['id']}", json={
        "name": "Mine", "kind": "by_manager", "rule": {"manager_ids": [ivan.id]}})
    assert resp.status == 200 and (await resp.json())["kind"] == "by_manager"
    resp = await c.patch(f"/api/v1/classifier/{node['id']}", json={
        "kind": "by_manager", "rule": {"manager_ids": [10**6]}})
    assert resp.status == 422
    assert (await c.delete(f"/api/v1/classifier/{node['id']}")).status == 200

    rules = {"match": "all", "conditions": [{"field": "completeness", "op": "ge",
                                             "value": 0}]}
    assert (await (await c.post("/api/v1/segments/count", json={"rules": rules})).json()
            )["members"] == 0
    seg = await (await c.post("/api/v1/segments", json={"name": "All", "rules": rules})).json()
    resp = await c.put(f"/api/v1/segments/{seg['id']}", json={"name": "Everyone",
                                                               "rules": rules})
    assert resp.status == 200 and (await resp.json())["name"] == "Everyone"
    assert (await c.delete(f"/api/v1/segments/{seg['id']}")).status == 200

    product = await (await c.post("/api/v1/products", json={"name": "Cement"})).json()
    resp = await c.patch(f"/api/v1/products/{product['id']}", json={
        "name": "Cement M500", "archived": True})
    assert (await resp.json())["archived"] is True
    assert (await c.patch(f"/api/v1/products/{product['id']}",
                          json={"unit": ""})).status == 422

    book = await (await c.post("/api/v1/playbooks", json={"name": "Start", "steps": [
        {"title": "Call", "type": "call"}]})).json()
    resp = await c.put(f"/api/v1/playbooks/{book['id']}", json={"name": "Start", "steps": [
        {"title": "Call", "type": "call"}, {"title": "Offer", "type": "email",
                                            "offset_days": 2}]})
    assert resp.status == 200, await resp.text()
    assert await PlaybookStep.filter(playbook_id=book["id"]).count() == 2
    assert (await c.patch(f"/api/v1/playbooks/{book['id']}",
                          json={"archived": True})).status == 200

    dep = await (await c.post("/api/v1/departments", json={"name": "Sales"})).json()
    resp = await c.patch(f"/api/v1/departments/{dep['id']}", json={"name": "Sales East"})
    assert (await resp.json())["name"] == "Sales East"
    assert (await c.delete(f"/api/v1/departments/{dep['id']}")).status == 200
    page = await (await c.get("/app/admin")).text()
    assert "Code (latin" not in page and 'data-kind="json"' not in page


async def test_completeness_weights_by_admins_only(org):
    before = await catalogue.completeness_settings()
    with pytest.raises(PermissionDenied):
        await catalogue.do_save_completeness(org["head"], {"name": 50})
    for weights, minimum, field in (({"name": 101}, 0, "weights"), ({"shoe": 5}, 0, "weights"),
                                    ({}, 0, "weights"), ({"name": 50}, -1, "minimum")):
        with pytest.raises(ValidationFailed) as exc:
            await catalogue.do_save_completeness(org["admin"], weights, minimum)
        assert exc.value.field == field
    assert await catalogue.completeness_settings() == before  # nothing changed
    await catalogue.do_save_completeness(org["admin"], {"name": 50, "phone": 50}, 10)
    assert await catalogue.completeness_settings() == ({"name": 50, "phone": 50}, 10)
