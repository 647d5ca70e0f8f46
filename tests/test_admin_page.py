"""The settings page from a phone (issue 17): forms, pickers and readable labels, no
raw JSON and no internal codes; whatever is made there is changed and archived there.
Chromium at 390×844."""

from __future__ import annotations

import os

import pytest

from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits, _phone

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("KONTAKT_SHOTS")


async def _shot(page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def _admin(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100001)
    page.on("dialog", lambda d: d.accept())
    await page.goto(f"{demo}/app/admin")
    await page.get_by_test_id("field-form").wait_for()
    await page.wait_for_load_state("networkidle")
    return page


async def _reloaded(page, action) -> None:
    async with page.expect_navigation():
        await action


async def test_the_settings_page_has_forms_not_codes(demo, browser):  # noqa: F811
    page = await _admin(demo, browser)
    await _shot(page, "admin")
    await _check_fits(page, "/app/admin")
    assert await page.locator("textarea[data-kind=json]").count() == 0
    text = await page.inner_text("main")
    for code in ("multichoice", "requisites", "by_field", "manager_ids", '"match"',
                 "Code (latin"):
        assert code not in text, code
    options = await page.locator("[data-testid=field-type] option").all_inner_texts()
    assert "multichoice" not in options and "Несколько значений из списка" in options


async def _submit(page, form: str) -> None:
    async with page.expect_navigation():
        await page.get_by_test_id(form).locator("button[type=submit]").click()
    await page.get_by_test_id("field-form").wait_for()


def _row(page, testid: str, name: str):
    return page.locator(f"[data-testid={testid}][data-name='{name}']")


async def test_an_admin_makes_changes_and_archives_from_a_phone(demo, browser):  # noqa: F811
    from models import CardLayout, CustomField, Department, Playbook, Product
    from services import segments
    from services.staff import get_by_telegram_id

    page = await _admin(demo, browser)
    # a custom field with no code to type: the code comes from the name
    form = page.get_by_test_id("field-form")
    await page.get_by_test_id("field-name").fill("Уровень лояльности")
    await page.get_by_test_id("field-type").select_option("choice")
    await page.get_by_test_id("field-items").fill("высокий\nнизкий")
    await _submit(page, "field-form")
    field = await CustomField.get(name="Уровень лояльности")
    assert field.code == "uroven_loyalnosti" and str(field.type) == "choice"
    row = _row(page, "field-row", "Уровень лояльности")
    assert "Одно значение из списка" in await row.inner_text()
    await row.get_by_test_id("field-edit").click()
    await page.get_by_test_id("field-name").fill("Лояльность")
    await form.locator("input[name=required]").check()
    await _submit(page, "field-form")
    row = _row(page, "field-row", "Лояльность")
    assert "обязательное" in await row.inner_text()
    async with page.expect_navigation():
        await row.get_by_test_id("field-archive").click()
    await _row(page, "field-row", "Лояльность").get_by_test_id("field-restore").wait_for()
    assert (await CustomField.get(id=field.id)).archived

    # a segment of two conditions, its members counted as it is built
    await page.get_by_test_id("segment-name").fill("Заполненные у менеджера")
    builder = page.get_by_test_id("segment-builder")
    await builder.get_by_test_id("builder-add").click()
    await builder.get_by_test_id("builder-add").click()
    rows = builder.get_by_test_id("cond-row")
    await rows.nth(0).get_by_test_id("cond-field").select_option("completeness")
    await rows.nth(0).get_by_test_id("cond-op").select_option("ge")
    await rows.nth(0).get_by_test_id("cond-value").fill("10")
    await rows.nth(1).get_by_test_id("cond-field").select_option("manager_id")
    manager = await rows.nth(1).get_by_test_id("cond-value").locator(
        "option").first.get_attribute("value")
    admin = await get_by_telegram_id(100001)
    expected = await segments.count_members(admin, {"match": "all", "conditions": [
        {"field": "completeness", "op": "ge", "value": 10},
        {"field": "manager_id", "op": "eq", "value": int(manager)}]})
    await page.wait_for_function(
        "n => document.querySelector('[data-testid=segment-builder] "
        "[data-testid=builder-count]').textContent.endsWith(' ' + n)", arg=str(expected))
    await _shot(page, "segment")
    await _submit(page, "segment-form")
    row = _row(page, "segment-row", "Заполненные у менеджера")
    assert f"Клиентов: {expected}" in await row.inner_text()

    # a classifier group by manager: the managers are ticked, not typed
    await page.get_by_test_id("node-name").fill("Клиенты Ивана")
    await page.get_by_test_id("node-kind").select_option("by_manager")
    await page.get_by_test_id("node-managers").locator("input").first.check()
    await _submit(page, "node-form")
    row = _row(page, "node-row", "Клиенты Ивана")
    assert "по менеджеру:" in await row.inner_text()

    # the card's sections: history moved up one, files unticked, for the first department
    layout = page.get_by_test_id("layout-form")
    target = await page.get_by_test_id("layout-target").input_value()
    rows = layout.get_by_test_id("layout-row")
    await rows.last.get_by_test_id("layout-up").click()
    await layout.locator("[data-section=files] input").uncheck()
    assert "История изменений" in await rows.nth(8).inner_text()
    await _submit(page, "layout-form")
    saved = await CardLayout.get(department_id=int(target.split(":")[1]), user_id=None)
    assert saved.layout["sections"][-2:] == ["history", "edit"]
    assert "files" not in saved.layout["sections"]

    # a playbook of two steps, as rows
    await page.get_by_test_id("playbook-name").fill("Новый клиент")
    steps = page.get_by_test_id("step-row")
    await steps.nth(0).get_by_test_id("step-title").fill("Звонок-знакомство")
    await page.get_by_test_id("playbook-add-step").click()
    await steps.nth(1).get_by_test_id("step-title").fill("Отправить КП")
    await steps.nth(1).get_by_test_id("step-days").fill("2")
    await _submit(page, "playbook-form")
    book = await Playbook.get(name="Новый клиент").prefetch_related("steps")
    assert sorted((s.position, s.title, s.offset_days) for s in book.steps) == [
        (0, "Звонок-знакомство", 0), (1, "Отправить КП", 2)]

    # a product added, changed and archived
    await page.get_by_test_id("product-name").fill("Цемент М400")
    await _submit(page, "product-form")
    await _row(page, "product-row", "Цемент М400").get_by_test_id("product-edit").click()
    await page.get_by_test_id("product-name").fill("Цемент М500")
    await _submit(page, "product-form")
    async with page.expect_navigation():
        await _row(page, "product-row", "Цемент М500").get_by_test_id(
            "product-archive").click()
    await _row(page, "product-archived", "Цемент М500").wait_for()
    assert (await Product.get(name="Цемент М500")).archived
    await _check_fits(page, "/app/admin after the changes")
    await _shot(page, "admin-after")
    assert await Department.exists()


async def test_a_manager_sets_the_sections_of_their_own_card(demo, browser):  # noqa: F811
    from models import CardLayout, Client
    from services.staff import get_by_telegram_id

    page = await _phone(demo, browser, 100003)  # a manager
    client = await Client.get(name="ООО «Ромашка»")
    await page.goto(f"{demo}/app/clients/{client.id}")
    async with page.expect_navigation():
        await page.get_by_test_id("card-layout-link").click()
    form = page.get_by_test_id("layout-form")
    await form.get_by_test_id("layout-row").first.wait_for()
    await _check_fits(page, "/app/card-layout")
    text = await page.inner_text("main")
    assert "Реквизиты" in text and "requisites" not in text
    await form.locator("[data-section=history] [data-testid=layout-up]").click()
    await form.locator("[data-section=files] input").uncheck()
    async with page.expect_navigation():
        await page.get_by_test_id("layout-submit").click()
    me = await get_by_telegram_id(100003)
    sections = (await CardLayout.get(user_id=me.id)).layout["sections"]
    assert sections[-2:] == ["history", "edit"] and "files" not in sections
    await page.goto(f"{demo}/app/clients/{client.id}")
    shown = await page.eval_on_selector_all("main [data-section]",
                                            "els => els.map(e => e.dataset.section)")
    assert "files" not in shown
    await page.goto(f"{demo}/app/card-layout")
    async with page.expect_navigation():
        await page.get_by_test_id("layout-reset").click()
    assert not await CardLayout.exists(user_id=me.id)


async def test_lists_are_changed_in_place(demo, browser):  # noqa: F811
    """Dictionary values, a rule-built group, a segment changed, a type, a template and
    a department: each made, changed and archived or deleted from the page."""
    from models import (
        ActivityType,
        ClassifierNode,
        Department,
        DictionaryItem,
        MessageTemplate,
        Segment,
    )

    page = await _admin(demo, browser)
    await page.get_by_test_id("dict-select").select_option("sphere")
    form = page.get_by_test_id("dict-form")
    await page.get_by_test_id("item-name").fill("Фармацевтика")
    await _submit(page, "dict-form")
    await page.get_by_test_id("dict-select").select_option("sphere")
    row = _row(page, "item-row", "Фармацевтика")
    await row.get_by_test_id("item-edit").click()
    await page.get_by_test_id("item-name").fill("Фармация")
    await _submit(page, "dict-form")
    item = await DictionaryItem.get(name="Фармация")
    await page.get_by_test_id("dict-select").select_option("sphere")
    async with page.expect_navigation():
        await _row(page, "item-row", "Фармация").get_by_test_id("item-archive").click()
    assert (await DictionaryItem.get(id=item.id)).archived
    await page.get_by_test_id("dict-select").select_option("sphere")
    async with page.expect_navigation():
        await _row(page, "item-row", "Фармация").get_by_test_id("item-restore").click()
    assert not (await DictionaryItem.get(id=item.id)).archived
    assert await form.count() == 1

    # a group by a rule: built with the same pickers as a segment
    await page.get_by_test_id("node-name").fill("Почти полные")
    await page.get_by_test_id("node-kind").select_option("by_field")
    node_builder = page.get_by_test_id("node-builder")
    await node_builder.get_by_test_id("builder-add").click()
    cond = node_builder.get_by_test_id("cond-row").first
    await cond.get_by_test_id("cond-field").select_option("completeness")
    await cond.get_by_test_id("cond-op").select_option("ge")
    await cond.get_by_test_id("cond-value").fill("80")
    await _submit(page, "node-form")
    node = await ClassifierNode.get(name="Почти полные")
    assert node.rule["conditions"] == [{"field": "completeness", "op": "ge", "value": 80}]
    # changed: the builder opens with its rule
    await _row(page, "node-row", "Почти полные").get_by_test_id("node-edit").click()
    value = node_builder.get_by_test_id("cond-value").first
    assert await value.input_value() == "80"
    await value.fill("90")
    await _submit(page, "node-form")
    assert (await ClassifierNode.get(id=node.id)).rule["conditions"][0]["value"] == 90

    # a segment opened again, a condition removed, saved
    await page.get_by_test_id("segment-name").fill("Москва и полнота")
    seg_builder = page.get_by_test_id("segment-builder")
    for _ in range(2):
        await seg_builder.get_by_test_id("builder-add").click()
    conds = seg_builder.get_by_test_id("cond-row")
    await conds.nth(0).get_by_test_id("cond-field").select_option("name")
    await conds.nth(0).get_by_test_id("cond-value").fill("ООО")
    await conds.nth(1).get_by_test_id("cond-field").select_option("is_group")
    await _submit(page, "segment-form")
    await _row(page, "segment-row", "Москва и полнота").get_by_test_id(
        "segment-edit").click()
    assert await conds.count() == 2
    await conds.nth(1).get_by_test_id("cond-remove").click()
    await page.get_by_test_id("segment-name").fill("Все ООО")
    await _submit(page, "segment-form")
    segment = await Segment.get(name="Все ООО")
    assert [c["field"] for c in segment.rules["conditions"]] == ["name"]
    async with page.expect_navigation():
        await _row(page, "segment-row", "Все ООО").get_by_test_id("segment-delete").click()
    assert not await Segment.exists(id=segment.id)

    # an activity type renamed and archived
    await _row(page, "type-row", "Презентация").locator("button").first.click()
    await page.get_by_test_id("type-name").fill("Демонстрация")
    await _submit(page, "type-form")
    async with page.expect_navigation():
        await _row(page, "type-row", "Демонстрация").get_by_test_id("type-archive").click()
    assert (await ActivityType.get(name="Демонстрация")).archived

    # a template: added, changed, archived
    tform = page.get_by_test_id("template-form")
    await page.get_by_test_id("template-name").fill("Приветствие")
    await tform.locator("select[name=channel]").select_option("sms")
    await page.get_by_test_id("template-body").fill("Здравствуйте, {{ client.name }}")
    await _submit(page, "template-form")
    await page.locator("[data-name='Приветствие'] [data-testid=template-edit]").click()
    assert await tform.locator("select[name=channel]").input_value() == "sms"
    await page.get_by_test_id("template-body").fill("Добрый день, {{ client.name }}")
    await _submit(page, "template-form")
    template = await MessageTemplate.get(name="Приветствие")
    assert template.body.startswith("Добрый день")
    async with page.expect_navigation():
        await page.locator("[data-name='Приветствие'] [data-testid=template-archive]").click()
    assert (await MessageTemplate.get(id=template.id)).archived

    # a department: added, renamed, deleted
    dform = page.get_by_test_id("department-form")
    await dform.locator("input[name=name]").fill("Склад")
    await _submit(page, "department-form")
    await page.locator("[data-name='Склад'] [data-testid=department-edit]").click()
    await dform.locator("input[name=name]").fill("Склад Киев")
    await _submit(page, "department-form")
    dep = await Department.get(name="Склад Киев")
    async with page.expect_navigation():
        await page.locator("[data-name='Склад Киев'] [data-testid=department-delete]").click()
    assert not await Department.exists(id=dep.id)
    await _check_fits(page, "/app/admin after the lists")
