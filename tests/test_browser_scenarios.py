"""M-8 in Chromium at 390x844: the suppliers registry (the demo supplier, a service
added with a bad price named and the form kept, then saved) and a campaign's steps page
(a template applied, "Make tasks" pressed twice: one task per step, the assignee told
in Telegram like for any new task)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import TEST_NOW, wait_until
from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits, _phone

pytestmark = pytest.mark.browser


async def test_m8_supplier_pages_fit_a_phone(demo, browser):  # noqa: F811
    """M-8: More → suppliers → the demo supplier: services with prices, the dossier link;
    a bad price is named and the draft kept; a good one saved."""
    from models import Client, SupplierService

    page = await _phone(demo, browser, 100001)
    await page.goto(f"{demo}/app/more")
    await page.get_by_test_id("nav-suppliers").click()
    await page.get_by_test_id("supplier-row").first.wait_for()
    await _check_fits(page, "/app/suppliers")
    await page.get_by_test_id("suppliers-search").fill("медиа")
    await page.get_by_test_id("suppliers-search").press("Enter")
    await page.wait_for_load_state("networkidle")
    assert await page.get_by_test_id("supplier-row").count() == 1
    await page.get_by_test_id("supplier-row").first.locator("a").click()
    await page.get_by_test_id("supplier-dossier").wait_for()
    assert await page.get_by_test_id("service-row").count() == 2
    await _check_fits(page, "supplier page")
    await page.get_by_test_id("service-add").locator("summary").click()
    form = page.get_by_test_id("service-add")
    await form.get_by_test_id("service-name").fill("Листовки")
    await form.get_by_test_id("service-price-input").fill("много")
    await form.get_by_test_id("service-add-save").click()
    error = page.get_by_test_id("service-add-error")
    await error.wait_for()
    assert "price" in (await error.inner_text()).lower() or "цена" in (
        await error.inner_text()).lower() or "много" in await error.inner_text()
    assert await form.get_by_test_id("service-name").input_value() == "Листовки"
    await _check_fits(page, "supplier page with an error")
    await form.get_by_test_id("service-price-input").fill("3 200,50")
    await form.get_by_test_id("service-add-save").click()
    await page.wait_for_load_state("networkidle")
    supplier = await Client.get(name="Агентство «Медиа Плюс»")
    await wait_until(lambda: SupplierService.filter(supplier_id=supplier.id,
                                                    name="Листовки").exists())
    got = await SupplierService.get(supplier_id=supplier.id, name="Листовки")
    assert str(got.price) == "3200.50"
    await page.goto(f"{demo}/app/clients/{supplier.id}")
    await page.get_by_test_id("client-supplier-link").wait_for()
    await page.goto(f"{demo}/app/scenarios")
    await page.get_by_test_id("sc-template").first.wait_for()
    await _check_fits(page, "/app/scenarios")


async def test_m8_campaign_steps_page_makes_tasks_once(demo, browser):  # noqa: F811
    """M-8: apply the demo template, add a step and move it up, press "Make tasks"
    twice: one task per step, each assignee hears of it in Telegram."""
    from models import Activity, Campaign, CampaignStep, User

    anna = await User.get(telegram_id=100001)
    ivan = await User.get(telegram_id=100003)
    campaign = await Campaign.create(name="Летняя акция", owner=anna,
                                     starts_on=TEST_NOW.date() + timedelta(days=20))
    page = await _phone(demo, browser, 100001)
    started = await page.request.post(f"{demo}/sandbox/api/send", data={
        "user_id": 100003, "chat_id": 100003, "text": "/start"})  # Ivan has a chat
    assert started.ok, await started.text()
    await page.goto(f"{demo}/app/campaigns/{campaign.id}/steps")
    await page.get_by_test_id("steps-apply-btn").click()
    await page.get_by_test_id("step-row").first.wait_for()
    rows = await page.get_by_test_id("step-row").count()
    assert rows == await CampaignStep.filter(campaign_id=campaign.id).count() == 5
    await _check_fits(page, "steps page")
    # one step for Ivan, by the add form
    await page.get_by_test_id("step-add").locator("summary").click()
    add = page.get_by_test_id("step-add")
    await add.get_by_test_id("step-title").fill("Раздать листовки")
    await add.get_by_test_id("step-executor").select_option(str(ivan.id))
    await add.get_by_test_id("step-add-save").click()
    await wait_until(lambda: _count(campaign.id, 6))
    # within its day it goes before the launch: ↑ on its row
    await page.wait_for_load_state("networkidle")
    await page.goto(f"{demo}/app/campaigns/{campaign.id}/steps")
    row = page.get_by_test_id("step-row").filter(has_text="Раздать листовки")
    await row.locator("summary").click()
    await row.get_by_test_id("step-up").click()
    launch = await CampaignStep.get(campaign_id=campaign.id, title="Запустить кампанию")

    async def moved():
        mine = await CampaignStep.get(campaign_id=campaign.id, title="Раздать листовки")
        return mine.due_on == launch.due_on and mine.position < (
            await CampaignStep.get(id=launch.id)).position
    await wait_until(moved)
    await page.wait_for_load_state("networkidle")
    await page.goto(f"{demo}/app/campaigns/{campaign.id}/steps")
    await page.get_by_test_id("steps-make-tasks-btn").wait_for()
    await page.get_by_test_id("steps-make-tasks-btn").click()
    await wait_until(lambda: _tasks_made(campaign.id, 6))
    await page.wait_for_load_state("networkidle")
    # a second press (the API, as a double tap would): nothing new
    resp = await page.request.post(f"{demo}/api/v1/campaigns/{campaign.id}/steps/tasks",
                                   headers={"Origin": demo})
    assert resp.status == 200 and (await resp.json())["items"] == []
    assert await Activity.filter(title__startswith="Летняя акция:").count() == 6
    await page.reload()
    assert await page.get_by_test_id("step-task").count() == 6
    # Ivan, the executor of his step, got the usual new-task notice in Telegram

    async def ivan_told():
        got = await (await page.request.get(
            f"{demo}/sandbox/api/history?user_id=100003&timeout=0")).json()
        texts = [m.get("text") or "" for m in got.get("messages", [])]
        return any("Раздать листовки" in t for t in texts)
    await wait_until(ivan_told)
    await _check_fits(page, "steps page with tasks")


async def _count(campaign_id: int, n: int) -> bool:
    from models import CampaignStep

    return await CampaignStep.filter(campaign_id=campaign_id).count() == n


async def _tasks_made(campaign_id: int, n: int) -> bool:
    from models import CampaignStep

    return await CampaignStep.filter(campaign_id=campaign_id,
                                     activity_id__isnull=False).count() == n
