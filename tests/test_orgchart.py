"""The organisation (S-24): the chart of departments with their heads and people, a
person's place in it (role, department, supervisor) set from the profile page, and
staff characteristics (custom fields of staff) on the profile and in the directory."""

from __future__ import annotations

import pytest

from models import Department, Role, StaffStatus, User
from services import customfields
from services.errors import NotFound, PermissionDenied
from services.orgchart import org_chart, place_choices
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits, _phone
from tests.test_web import signed_in


async def _company(make_staff):
    hq = await Department.create(name="Головной офис")
    msk = await Department.create(name="Продажи Москва", parent=hq)
    north = await Department.create(name="Север", parent=msk)
    kyiv = await Department.create(name="Продажі Київ", parent=hq)
    admin = await make_staff(Role.ADMIN, name="Анна Смирнова", department=hq)
    head = await make_staff(Role.HEAD, name="Светлана Орлова", department=msk)
    ivan = await make_staff(Role.MANAGER, name="Иван Кузнецов", department=msk,
                            supervisor=head)
    petr = await make_staff(Role.MANAGER, name="Пётр Северов", department=north,
                            supervisor=ivan)
    oleg = await make_staff(Role.HEAD, name="Олег Петренко", department=kyiv)
    free = await make_staff(Role.MANAGER, name="Фрилансер Без Отдела")
    gone = await make_staff(Role.MANAGER, name="Уволенный", department=msk,
                            status=StaffStatus.DISMISSED)
    return (hq, msk, north, kyiv), (admin, head, ivan, petr, oleg, free, gone)


async def test_chart_tree_heads_counts_and_unassigned(database_url, make_staff):
    (hq, msk, north, kyiv), (admin, head, ivan, petr, oleg, free, gone) = \
        await _company(make_staff)
    chart = await org_chart(ivan)  # a manager sees the chart as the directory
    assert [u.department.name for u in chart.roots] == ["Головной офис"]
    root = chart.roots[0]
    assert [u.department.name for u in root.children] == ["Продажи Москва", "Продажі Київ"]
    moscow = root.children[0]
    assert [p.full_name for p in moscow.heads] == ["Светлана Орлова"]
    assert [p.full_name for p in moscow.people] == ["Иван Кузнецов"]  # the dismissed left out
    assert [u.department.name for u in moscow.children] == ["Север"]
    # counts cover the subtree: Moscow 2 + North 1; the office 1 + 3 + Kyiv 1
    assert (moscow.total, moscow.children[0].total, root.total) == (3, 1, 5)
    assert [p.full_name for p in chart.unassigned.people] == ["Фрилансер Без Отдела"]
    assert chart.total == 6


async def test_place_choices_follow_the_rules_of_the_change(database_url, make_staff):
    (hq, msk, north, kyiv), (admin, head, ivan, petr, oleg, free, gone) = \
        await _company(make_staff)
    everything = await place_choices(admin, ivan)
    assert everything.roles == list(Role)
    assert {d.name for d in everything.departments} == {"Головной офис", "Продажи Москва",
                                                        "Север", "Продажі Київ"}
    # Ivan cannot report to himself nor to Pyotr, who reports to him (a cycle)
    names = {p.full_name for p in everything.supervisors}
    assert "Иван Кузнецов" not in names and "Пётр Северов" not in names
    assert {"Светлана Орлова", "Олег Петренко"} <= names and "Уволенный" not in names
    # a head changes only the supervisor of managers of their departments, naming
    # themselves or someone of their departments
    theirs = await place_choices(head, petr)
    assert theirs.roles is None and theirs.departments is None
    assert {p.full_name for p in theirs.supervisors} == {"Светлана Орлова", "Иван Кузнецов"}
    assert not (await place_choices(head, free)).any
    assert not (await place_choices(ivan, ivan)).any
    # the current supervisor is always offered, even out of reach: the form keeps it
    await User.filter(id=petr.id).update(supervisor_id=oleg.id)
    petr = await User.get(id=petr.id)
    theirs = await place_choices(head, petr)
    assert theirs.supervisors[0].full_name == "Олег Петренко"


async def test_staff_characteristics_who_reads_and_writes(database_url, make_staff):
    (hq, msk, north, kyiv), (admin, head, ivan, petr, oleg, free, gone) = \
        await _company(make_staff)
    await customfields.do_create_field(admin, "staff", "langs", "Языки", "text")
    await customfields.do_set_values(head, "staff", ivan.id, {"langs": "английский"})
    await customfields.do_set_values(admin, "staff", oleg.id, {"langs": "польский"})
    with pytest.raises((NotFound, PermissionDenied)):  # a manager only reads their own
        await customfields.do_set_values(ivan, "staff", ivan.id, {"langs": "китайский"})
    with pytest.raises((NotFound, PermissionDenied)):  # a head outside their departments
        await customfields.do_set_values(oleg, "staff", ivan.id, {"langs": "китайский"})
    assert await customfields.may_write(head, "staff", ivan.id)
    assert not await customfields.may_write(ivan, "staff", ivan.id)
    # a head writes their managers' only, as with profiles: not their own, nor an admin's
    assert not await customfields.may_write(head, "staff", head.id)
    with pytest.raises((NotFound, PermissionDenied)):
        await customfields.do_set_values(head, "staff", head.id, {"langs": "все"})
    ids = [ivan.id, oleg.id, petr.id]
    assert await customfields.values_for_staff(ivan, ids) == {ivan.id: {"langs": "английский"}}
    assert await customfields.values_for_staff(head, ids) == {
        ivan.id: {"langs": "английский"}, petr.id: {"langs": None}}
    assert (await customfields.values_for_staff(admin, ids))[oleg.id] == {"langs": "польский"}


async def test_api_characteristics_and_place(service, emulator, make_staff):
    (hq, msk, north, kyiv), (admin, head, ivan, petr, oleg, free, gone) = \
        await _company(make_staff)
    await customfields.do_create_field(admin, "staff", "since", "Работает с", "date")
    http = service.client
    url = f"/api/v1/staff/{ivan.id}/custom"
    await signed_in(service, emulator, head)
    resp = await http.put(url, json={"values": {"since": "32.13.2020"}})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["field"] == "Работает с"  # named, in Russian
    assert "не дата" in (await resp.json())["detail"][0]["msg"]
    resp = await http.put(url, json={"values": {"since": "01.03.2020"}})
    assert resp.status == 200 and (await resp.json())["values"] == {"since": "2020-03-01"}
    resp = await http.put(f"/api/v1/staff/{oleg.id}/custom",
                          json={"values": {"since": "01.03.2020"}})
    assert resp.status in (403, 404)
    page = await (await http.get("/app/staff")).text()
    assert "Работает с: 2020-03-01" in page and "подчиняется: Светлана Орлова" in page
    resp = await http.patch(f"/api/v1/staff/{petr.id}", json={"supervisor_id": head.id})
    assert resp.status == 200
    assert (await User.get(id=petr.id)).supervisor_id == head.id
    await signed_in(service, emulator, ivan)
    assert (await http.get(f"/api/v1/staff/{ivan.id}/custom")).status == 200
    resp = await http.put(f"/api/v1/staff/{ivan.id}/custom", json={"values": {"since": None}})
    assert resp.status in (403, 404)
    page = await (await http.get(f"/app/profile/{ivan.id}")).text()
    assert 'data-testid="custom-values"' in page and 'data-testid="place-form"' not in page


@pytest.mark.browser
async def test_org_chart_and_profile_place_on_a_phone(demo, browser):  # noqa: F811
    admin = await User.get(telegram_id=100001)
    await customfields.do_create_field(admin, "staff", "car", "Служебная машина", "bool")
    ivan = await User.get(telegram_id=100003)
    page = await _phone(demo, browser, 100001)
    await page.goto(f"{demo}/app/staff")
    await page.get_by_test_id("org-link").click()
    chart = page.get_by_test_id("org-chart")
    await chart.wait_for()
    await _check_fits(page, "org chart")
    moscow = page.locator("[data-testid=org-unit][data-name='Продажи Москва']")
    assert "Светлана Орлова" in await moscow.get_by_test_id("org-heads").inner_text()
    await page.screenshot(path="/tmp/org-chart.png", full_page=True)
    # the administrator gives Ivan a supervisor and a characteristic from his profile
    await page.goto(f"{demo}/app/profile/{ivan.id}")
    await page.get_by_test_id("place-form").wait_for()
    await page.select_option("[data-testid=place-supervisor]", label="Светлана Орлова")
    await page.get_by_test_id("place-save").click()
    await page.get_by_test_id("place-saved").wait_for()
    assert (await User.get(id=ivan.id)).supervisor_id == (
        await User.get(telegram_id=100005)).id
    await page.get_by_test_id("cf-car").check()
    async with page.expect_navigation():  # saved, the page reloads
        await page.get_by_test_id("custom-save").click()
    await page.get_by_test_id("cf-car").wait_for()
    assert await page.get_by_test_id("cf-car").is_checked()
    await _check_fits(page, "profile with place and characteristics")
    await page.screenshot(path="/tmp/org-profile.png", full_page=True)
    # the client card's characteristics use the same form (K-3)
    from models import Client

    await customfields.do_create_field(admin, "client", "site", "Сайт", "text")
    client = await Client.get(name="ООО «Ромашка»")
    await page.goto(f"{demo}/app/clients/{client.id}")
    await page.get_by_test_id("cf-site").fill("romashka.ru")
    async with page.expect_navigation():  # saved, the page reloads
        await page.get_by_test_id("custom-save").click()
    await page.get_by_test_id("cf-site").wait_for()
    assert (await customfields.values_for(admin, "client", client.id))["site"] == "romashka.ru"
    # the administrator is not offered demoting themselves
    await page.goto(f"{demo}/app/profile/{admin.id}")
    assert await page.get_by_test_id("place-role").count() == 0
