"""S-25 (issue 15; S-24 classifications): staff groups on the client classifier's tree
machinery — admins build the tree, admins and heads put people in, a person sees their
own; the profile page and the directory show them, the directory filters by a group."""

from __future__ import annotations

import pytest

from models import AuditLog, ClassifierNode, Department, Role, StaffClassification
from services import classifier, staff, staff_groups
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_web import signed_in


async def _world(make_staff):
    sales = await Department.create(name="Продажи")
    other = await Department.create(name="Опт")
    admin = await make_staff(Role.ADMIN, name="Анна Админ")
    head = await make_staff(Role.HEAD, department=sales, name="Гена Глава")
    ivan = await make_staff(Role.MANAGER, department=sales, name="Иван Продавец")
    olga = await make_staff(Role.MANAGER, department=other, name="Ольга Оптовик")
    return admin, head, ivan, olga


async def test_s25_staff_tree_is_its_own(database_url, make_staff):
    admin, head, ivan, _olga = await _world(make_staff)
    skills = await classifier.do_create_node(admin, "Навыки", entity="staff")
    english = await classifier.do_create_node(admin, "Английский", skills.id, entity="staff")
    hot = await classifier.do_create_node(admin, "Горячие")  # a client group
    assert {n.id for n in await classifier.list_nodes("staff")} == {skills.id, english.id}
    assert [n.id for n in await classifier.list_nodes()] == [hot.id]
    with pytest.raises(ValidationFailed) as err:  # trees do not mix
        await classifier.do_create_node(admin, "Смесь", hot.id, entity="staff")
    assert err.value.field == "parent"
    with pytest.raises(ValidationFailed):
        await classifier.do_move_node(admin, hot.id, skills.id)
    with pytest.raises(ValidationFailed) as err:  # staff groups are filled by hand
        await classifier.do_create_node(admin, "Авто", kind="by_manager",
                                        rule={"manager_ids": [ivan.id]}, entity="staff")
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        await classifier.do_set_rule(admin, skills.id, "by_manager", {"manager_ids": [ivan.id]})
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed) as err:
        await classifier.do_create_node(admin, "X", entity="robots")
    assert err.value.field == "entity"
    with pytest.raises(PermissionDenied):
        await classifier.do_create_node(head, "Свои", entity="staff")
    # a client cannot be put into a staff group, nor a person into a client group
    with pytest.raises(NotFound):
        await classifier.do_classify(admin, 1, skills.id)
    with pytest.raises(ValidationFailed) as err:
        await staff_groups.do_place(admin, ivan.id, hot.id)
    assert "Горячие" in str(err.value.params.get("node"))
    await classifier.do_rename_node(admin, english.id, "English")
    await staff_groups.do_place(admin, ivan.id, english.id)
    await classifier.do_delete_node(admin, skills.id)  # branch and memberships go
    assert await StaffClassification.all().count() == 0
    assert await ClassifierNode.filter(entity="staff").count() == 0


async def test_s25_who_may_place_and_see(database_url, make_staff):
    admin, head, ivan, olga = await _world(make_staff)
    vip = await classifier.do_create_node(admin, "VIP-продавцы", entity="staff")
    mentors = await classifier.do_create_node(admin, "Наставники", entity="staff")
    assert await staff_groups.do_place(head, ivan.id, vip.id) is True  # a head, their person
    assert await staff_groups.do_place(head, ivan.id, vip.id) is False
    assert await staff_groups.do_place(admin, olga.id, mentors.id) is True
    await staff_groups.do_place(admin, head.id, mentors.id)
    for actor, target in ((head, olga), (ivan, ivan), (ivan, olga), (head, head)):
        with pytest.raises((PermissionDenied, NotFound)):
            await staff_groups.do_place(actor, target.id, vip.id)
    # a person sees their own; a head their department's; nobody else's
    assert [n.name for n in await staff_groups.person_groups(ivan, ivan.id)] == ["VIP-продавцы"]
    assert [n.name for n in await staff_groups.person_groups(head, head.id)] == ["Наставники"]
    with pytest.raises(NotFound):
        await staff_groups.person_groups(ivan, olga.id)
    with pytest.raises(NotFound):
        await staff_groups.person_groups(head, olga.id)
    seen = await staff_groups.groups_of_people(head, [ivan.id, olga.id, head.id])
    assert set(seen) == {ivan.id, head.id}
    everyone = await staff_groups.groups_of_people(admin, [ivan.id, olga.id, head.id])
    assert set(everyone) == {ivan.id, olga.id, head.id}
    # edit the set; removal; the history keeps who did it
    got = await staff_groups.do_set_groups(admin, ivan.id, [mentors.id])
    assert [n.id for n in got] == [mentors.id]
    assert await staff_groups.do_remove(head, ivan.id, mentors.id) is True
    assert await staff_groups.do_remove(head, ivan.id, mentors.id) is False
    actions = await AuditLog.filter(entity="staff", field="staff_group", object_id=ivan.id) \
        .order_by("id").values_list("action", "user_id")
    assert actions == [("classify", head.id), ("classify", admin.id), ("unclassify", admin.id),
                       ("unclassify", head.id)]
    with pytest.raises(ValidationFailed) as err:  # a bad id in the set: nothing changes
        await staff_groups.do_set_groups(admin, olga.id, [vip.id, 999999])
    assert err.value.field == "node_ids" and "999999" in str(err.value)
    assert [n.id for n in await staff_groups.person_groups(admin, olga.id)] == [mentors.id]


async def test_s25_directory_filter_by_group(database_url, make_staff):
    admin, head, ivan, olga = await _world(make_staff)
    top = await classifier.do_create_node(admin, "Языки", entity="staff")
    sub = await classifier.do_create_node(admin, "Польский", top.id, entity="staff")
    await staff_groups.do_place(admin, ivan.id, sub.id)
    await staff_groups.do_place(admin, ivan.id, top.id)  # twice in the branch: once listed
    await staff_groups.do_place(admin, olga.id, top.id)
    people, total = await staff.staff_page(admin, node_id=top.id)
    assert total == 2 and {p.id for p in people} == {ivan.id, olga.id}
    people, total = await staff.staff_page(admin, node_id=sub.id)
    assert [p.id for p in people] == [ivan.id] and total == 1
    people, _ = await staff.staff_page(head, node_id=top.id)  # only whose groups one sees
    assert [p.id for p in people] == [ivan.id]
    people, _ = await staff.staff_page(olga, node_id=top.id)
    assert [p.id for p in people] == [olga.id]


async def test_s25_api_and_pages(service, emulator, make_staff):
    admin, head, ivan, olga = await _world(make_staff)
    http = service.client
    await signed_in(service, emulator, admin)
    resp = await http.post("/api/v1/staff-groups", json={"name": "Эксперты"})
    assert resp.status == 201, await resp.text()
    experts = (await resp.json())["id"]
    resp = await http.post("/api/v1/staff-groups", json={"name": "B2B", "parent_id": experts})
    b2b = (await resp.json())["id"]
    resp = await http.post("/api/v1/staff-groups", json={"name": ""})
    assert resp.status == 422
    resp = await http.patch(f"/api/v1/classifier/{b2b}", json={"name": "Эксперты B2B"})
    assert resp.status == 200 and (await resp.json())["name"] == "Эксперты B2B"
    listed = (await (await http.get("/api/v1/staff-groups")).json())["items"]
    assert [g["name"] for g in listed] == ["Эксперты", "Эксперты B2B"]
    assert [n["id"] for n in (await (await http.get("/api/v1/classifier")).json())["items"]] == []
    resp = await http.put(f"/api/v1/staff/{ivan.id}/groups", json={"node_ids": [b2b]})
    assert resp.status == 200 and [g["id"] for g in (await resp.json())["items"]] == [b2b]
    resp = await http.put(f"/api/v1/staff/{olga.id}/groups/{experts}")
    assert resp.status == 200 and (await resp.json())["added"] is True
    resp = await http.put(f"/api/v1/staff/{olga.id}/groups", json={"node_ids": [123456789]})
    assert resp.status == 422 and "123456789" in await resp.text()
    page = await (await http.get(f"/app/staff?node={experts}")).text()
    assert "Иван Продавец" in page and "Ольга Оптовик" in page and "Гена Глава" not in page
    assert 'data-testid="staff-groups"' in page and "Эксперты B2B" in page
    page = await (await http.get("/app/org")).text()
    assert 'data-testid="org-groups"' in page and "Эксперты B2B" in page
    page = await (await http.get("/app/admin")).text()
    assert 'data-testid="staff-node-row"' in page and "Эксперты B2B" in page
    page = await (await http.get(f"/app/profile/{ivan.id}")).text()
    assert 'data-testid="groups-form"' in page
    # the manager: sees their own groups, read-only; not a colleague's; cannot change
    await signed_in(service, emulator, ivan)
    assert (await http.get(f"/api/v1/staff/{olga.id}/groups")).status == 404
    mine = (await (await http.get(f"/api/v1/staff/{ivan.id}/groups")).json())["items"]
    assert [g["name"] for g in mine] == ["Эксперты B2B"]
    assert (await http.delete(f"/api/v1/staff/{ivan.id}/groups/{b2b}")).status == 403
    assert (await http.post("/api/v1/staff-groups", json={"name": "Моя"})).status == 403
    page = await (await http.get(f"/app/profile/{ivan.id}")).text()
    assert 'data-testid="groups-list"' in page and 'data-testid="groups-form"' not in page
    page = await (await http.get("/app/staff")).text()
    assert page.count('data-testid="staff-groups"') == 1  # their own only
    api = await (await http.get(f"/api/v1/staff?node_id={experts}")).json()
    assert [p["id"] for p in api["items"]] == [ivan.id]
    # the head takes their person out
    await signed_in(service, emulator, head)
    resp = await http.delete(f"/api/v1/staff/{ivan.id}/groups/{b2b}")
    assert resp.status == 200 and (await resp.json())["removed"] is True
    await signed_in(service, emulator, admin)
    assert (await http.delete(f"/api/v1/classifier/{experts}")).status == 200
    assert (await (await http.get("/api/v1/staff-groups")).json())["items"] == []


@pytest.mark.browser
async def test_s25_groups_on_a_phone(demo, browser):  # noqa: F811
    """A head ticks their person's groups on the profile page and finds them in the
    directory by the group, on a 390 px screen."""
    from models import User
    from tests.test_mini_app_phone import _check_fits, _phone

    admin = await User.filter(role=Role.ADMIN).first()
    ivan = await User.get(telegram_id=100003)
    top = await classifier.do_create_node(admin, "Наставники", entity="staff")
    sub = await classifier.do_create_node(admin, "Наставники новичков", top.id,
                                          entity="staff")
    page = await _phone(demo, browser, 100005)  # Svetlana, head of Ivan's department
    await page.goto(f"{demo}/app/profile/{ivan.id}")
    await page.get_by_test_id("groups-form").wait_for()
    await _check_fits(page, "profile with staff groups")
    await page.locator(f"[data-testid=group-box][value='{sub.id}']").check()
    await page.get_by_test_id("groups-save").click()
    await page.get_by_test_id("groups-saved").wait_for()
    assert [n.id for n in await staff_groups.person_groups(admin, ivan.id)] == [sub.id]
    await page.goto(f"{demo}/app/staff")
    async with page.expect_navigation():
        await page.get_by_test_id("staff-group-filter").select_option(str(top.id))
    rows = page.get_by_test_id("staff-row")
    assert await rows.count() == 1 and "Наставники новичков" in await rows.inner_text()
    await _check_fits(page, "directory filtered by a staff group")
