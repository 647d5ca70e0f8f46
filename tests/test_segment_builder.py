"""The segment builder on the settings page from a phone (issue 17, K-14 / A-19):
"is one of" ticked from readable names, nested AND/OR groups added, switched, filled,
emptied and removed; the segment saved, opened again as it was, its members counted;
a refusal outlines the condition it names. Chromium at 390×844, the clock pinned."""

from __future__ import annotations

import os

import pytest

from tests.test_admin_page import _admin, _row, _submit
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits

pytestmark = pytest.mark.browser

COUNT = "[data-testid=segment-builder] [data-testid=builder-count]"


async def _districts() -> dict[str, int]:
    """Moscow's centre, north and south, the demo's clients spread over them."""
    from models import Client
    from services import dictionaries
    from services.staff import get_by_telegram_id

    anna = await get_by_telegram_id(100001)
    city = await dictionaries.do_add_item(anna, "city", "Москва")
    ids = {name: (await dictionaries.do_add_item(anna, "district", name, city.id)).id
           for name in ("Центральный", "Северный", "Южный")}
    for client, district in (("ООО «Ромашка»", "Центральный"),   # Ivan's company
                             ("ИП Сидоров А. В.", "Северный"),   # Ivan's individual
                             ("ТОВ «Соняшник»", "Центральный"),  # Maria's
                             ("Fresh Market LLC", "Южный"),      # Maria's
                             ("Группа «Восток»", "Северный")):   # Oleg's
        await Client.filter(name=client).update(city_id=city.id, district_id=ids[district])
    return ids


async def _count_is(page, n: int) -> None:
    await page.wait_for_function(
        "n => document.querySelector('" + COUNT + "').textContent.endsWith(' ' + n)",
        arg=str(n))


async def _shot(page, path: str) -> None:
    """The segment form as a phone shows it, the page's header not over it."""
    box = await page.get_by_test_id("segment-form").bounding_box()
    top = box["y"] + await page.evaluate("scrollY")
    await page.screenshot(path=path, full_page=True, clip={
        "x": 0, "y": max(top - 8, 0), "width": 390, "height": box["height"] + 16},
        style="header.top, [data-testid=tabbar] { visibility: hidden; }")


async def _tick(row, *names: str) -> None:
    for name in names:
        await row.get_by_test_id("cond-option").filter(has_text=name).locator("input").check()


async def test_a_segment_with_is_one_of_and_a_nested_or_group(demo, browser, tmp_path):  # noqa: F811
    from models import Segment, User
    from services import segments

    districts = await _districts()
    maria = await User.get(telegram_id=100004)
    oleg = await User.get(telegram_id=100002)
    admin = await User.get(telegram_id=100001)
    page = await _admin(demo, browser)
    errors: list = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.get_by_test_id("segment-name").fill("Центр и север")
    builder = page.get_by_test_id("segment-builder")

    # the district is one of two, ticked by name: no codes on the page
    await builder.get_by_test_id("builder-add").click()
    first = builder.get_by_test_id("cond-row").first
    await first.get_by_test_id("cond-field").select_option("district_id")
    await first.get_by_test_id("cond-op").select_option("in")
    options = await first.get_by_test_id("cond-option").all_inner_texts()
    assert sorted(o.strip() for o in options) == ["Северный", "Центральный", "Южный"]
    await _tick(first, "Центральный", "Северный")
    await _count_is(page, 4)

    # a nested group: it starts with one condition and "any" inside "all"
    await builder.get_by_test_id("builder-add-group").click()
    group = builder.get_by_test_id("group")
    assert await group.count() == 1
    assert await group.get_by_test_id("group-match").input_value() == "any"
    # switched to "all" and back: the word between its items follows
    await group.get_by_test_id("group-add").click()
    await group.get_by_test_id("group-match").select_option("all")
    assert await group.locator(".joiner").first.inner_text() == "и"
    await group.get_by_test_id("group-match").select_option("any")
    assert await group.locator(".joiner").first.inner_text() == "или"
    rows = group.get_by_test_id("cond-row")
    assert await rows.count() == 2
    await rows.nth(0).get_by_test_id("cond-field").select_option("kind")
    await rows.nth(0).get_by_test_id("cond-value").select_option("individual")
    await rows.nth(1).get_by_test_id("cond-field").select_option("manager_id")
    await rows.nth(1).get_by_test_id("cond-value").select_option(label="Maria Bondar")
    # "is" turned into "is one of": the manager chosen stays ticked
    await rows.nth(1).get_by_test_id("cond-op").select_option("in")
    ticked = rows.nth(1).locator("[data-testid=cond-option]:has(input:checked)")
    assert [t.strip() for t in await ticked.all_inner_texts()] == ["Maria Bondar"]
    await _tick(rows.nth(1), "Олег Петренко")
    # a condition added and removed inside the group, a group inside it added and removed
    await group.get_by_test_id("group-add").click()
    assert await rows.count() == 3
    await rows.nth(2).get_by_test_id("cond-remove").click()
    assert await rows.count() == 2
    await group.get_by_test_id("group-add-group").click()
    inner = group.get_by_test_id("group").first
    await inner.wait_for()
    await inner.get_by_test_id("group-remove").click()
    assert await builder.get_by_test_id("group").count() == 1

    rules = {"match": "all", "conditions": [
        {"field": "district_id", "op": "in",
         "value": [districts["Центральный"], districts["Северный"]]},
        {"match": "any", "conditions": [
            {"field": "kind", "op": "eq", "value": "individual"},
            {"field": "manager_id", "op": "in", "value": [maria.id, oleg.id]}]}]}
    expected = await segments.count_members(admin, rules)
    assert expected == 3  # Sidorov (a person), Sonyashnyk (Maria's), Vostok (Oleg's)
    await _count_is(page, expected)
    await _check_fits(page, "the segment builder")
    shot = os.environ.get("KONTAKT_SHOTS") or str(tmp_path)
    await _shot(page, f"{shot}/segment-builder.png")

    # an emptied "is one of" is refused by the live count, the condition outlined
    await first.get_by_test_id("cond-option").filter(has_text="Северный").locator(
        "input").uncheck()
    await first.get_by_test_id("cond-option").filter(has_text="Центральный").locator(
        "input").uncheck()
    await page.wait_for_function(
        "s => document.querySelector(s).textContent.includes("
        "'Район: выберите хотя бы одно значение')", arg=COUNT)
    assert "bad" in (await first.get_attribute("class")).split()
    # ... and by saving: the message in the form, the page stays
    await page.get_by_test_id("segment-submit").click()
    error = page.get_by_test_id("segment-form").locator(".error")
    await error.wait_for()
    assert await error.inner_text() == "Район: выберите хотя бы одно значение"
    assert "выберите" not in await page.locator(COUNT).inner_text()  # said once
    await _shot(page, f"{shot}/segment-builder-refused.png")
    await _tick(first, "Центральный", "Северный")
    await _count_is(page, expected)
    assert "bad" not in (await first.get_attribute("class")).split()

    await _submit(page, "segment-form")
    segment = await Segment.get(name="Центр и север")
    assert segment.rules == rules
    row = _row(page, "segment-row", "Центр и север")
    assert f"Клиентов: {expected}" in await row.inner_text()
    assert not errors, errors

    # opened again: the same conditions, ticked by name, the same count
    await row.get_by_test_id("segment-edit").click()
    first = builder.get_by_test_id("cond-row").first
    assert await first.get_by_test_id("cond-op").input_value() == "in"
    ticked = first.locator("[data-testid=cond-option]:has(input:checked)")
    assert sorted(t.strip() for t in await ticked.all_inner_texts()) == ["Северный",
                                                                         "Центральный"]
    group = builder.get_by_test_id("group")
    assert await group.count() == 1
    assert await group.get_by_test_id("group-match").input_value() == "any"
    rows = group.get_by_test_id("cond-row")
    assert await rows.nth(0).get_by_test_id("cond-value").input_value() == "individual"
    ticked = rows.nth(1).locator("[data-testid=cond-option]:has(input:checked)")
    assert sorted(t.strip() for t in await ticked.all_inner_texts()) == ["Maria Bondar",
                                                                         "Олег Петренко"]
    await _count_is(page, expected)
    await _check_fits(page, "the segment opened again")
    await _shot(page, f"{shot}/segment-builder-reopened.png")

    # changed: Oleg's clients no longer count; the whole group removed, then saved
    await rows.nth(1).get_by_test_id("cond-option").filter(has_text="Олег Петренко").locator(
        "input").uncheck()
    await _count_is(page, 2)
    await _submit(page, "segment-form")
    segment = await Segment.get(id=segment.id)
    assert segment.rules["conditions"][1]["conditions"][1]["value"] == [maria.id]
    assert "Клиентов: 2" in await _row(page, "segment-row", "Центр и север").inner_text()
    assert not errors, errors


async def test_groups_nest_only_as_deep_as_the_service_allows(demo, browser,  # noqa: F811
                                                             tmp_path):
    from services import rules as rules_engine

    page = await _admin(demo, browser)
    builder = page.get_by_test_id("segment-builder")
    # a long list ("is one of" a sphere) gets a search box; ticked values stay in sight
    await builder.get_by_test_id("builder-add").click()
    row = builder.get_by_test_id("cond-row").first
    await row.get_by_test_id("cond-field").select_option("sphere_id")
    await row.get_by_test_id("cond-op").select_option("in")
    chips = row.get_by_test_id("cond-option")
    assert await chips.count() == 11
    await row.get_by_test_id("cond-find").fill("торг")
    assert sorted(await row.locator("[data-testid=cond-option]:visible").all_inner_texts()) \
        == ["Оптовая торговля", "Торговля"]
    await _tick(row, "Оптовая торговля")
    await row.get_by_test_id("cond-find").fill("связь")
    assert sorted(await row.locator("[data-testid=cond-option]:visible").all_inner_texts()) \
        == ["IT и связь", "Оптовая торговля"]
    await row.get_by_test_id("cond-find").fill("")
    assert await row.locator("[data-testid=cond-option]:visible").count() == 11
    await row.get_by_test_id("cond-remove").click()

    await builder.get_by_test_id("builder-add-group").click()
    for depth in range(2, rules_engine.MAX_DEPTH + 1):
        await builder.get_by_test_id("group").last.get_by_test_id("group-add-group").click()
        assert await builder.get_by_test_id("group").count() == depth
    deepest = builder.get_by_test_id("group").last
    assert await deepest.get_by_test_id("group-add-group").count() == 0
    # five groups deep still fits the phone, and every new group has a condition
    groups = builder.get_by_test_id("group")
    for i in range(rules_engine.MAX_DEPTH):
        await groups.nth(i).get_by_test_id("cond-row").first.get_by_test_id(
            "cond-field").select_option("kind")
    await page.wait_for_function(
        "s => document.querySelector(s).textContent.startsWith('Подходит сейчас:')",
        arg=COUNT)
    await _check_fits(page, "groups five deep")
    await _shot(page, f"{os.environ.get('KONTAKT_SHOTS') or tmp_path}/segment-groups-deep.png")
    # the outermost group removed takes the others with it
    await builder.get_by_test_id("group").first.get_by_test_id("group-remove").last.click()
    assert await builder.get_by_test_id("group").count() == 0


async def test_saving_again_keeps_what_the_page_does_not_offer(demo, browser):  # noqa: F811
    """An archived district stays ticked under its name; a condition the builder has no
    picker for (a country "is one of", typed through the API) is kept as it is."""
    from models import Segment, User
    from services import dictionaries, segments

    districts = await _districts()
    anna = await User.get(telegram_id=100001)
    rules = {"match": "all", "conditions": [
        {"field": "district_id", "op": "in",
         "value": [districts["Северный"], districts["Южный"]]},
        {"match": "any", "conditions": [
            {"field": "country", "op": "in", "value": ["RU", "UA"]},
            {"field": "kind", "op": "eq", "value": "company"}]}]}
    segment = await segments.do_save_segment(anna, "Север и юг", rules)
    await dictionaries.do_archive_item(anna, districts["Южный"])
    expected = await segments.count_members(anna, segment)
    page = await _admin(demo, browser)
    await _row(page, "segment-row", "Север и юг").get_by_test_id("segment-edit").click()
    builder = page.get_by_test_id("segment-builder")
    first = builder.get_by_test_id("cond-row").first
    ticked = first.locator("[data-testid=cond-option]:has(input:checked)")
    assert sorted(t.strip() for t in await ticked.all_inner_texts()) == [
        "Северный", "Южный · больше нет в списке"]
    kept = builder.get_by_test_id("group").get_by_test_id("cond-row").first
    assert "сохранится как есть" in await kept.inner_text()
    await _count_is(page, expected)
    await _check_fits(page, "a segment with a kept condition")
    await _submit(page, "segment-form")
    assert (await Segment.get(id=segment.id)).rules == rules
