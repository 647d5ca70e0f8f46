"""K-10 in Chromium at a phone's 390×844: Anna (admin) designs a lead form for a
campaign variant in the Mini App (checkboxes for fields, round robin in «Продажи
Москва»), copies its link; a visitor (no sign-in) opens /f/<token>: a bad phone is
named and the values kept; two submissions become inbound requests for Ivan, then
Svetlana (round robin), announced in the bot with the buttons; a region route sends
one to Maria; a bot-filled honeypot makes nothing; a flood gets friendly 429 pages,
never a server error; /go/<token> sets the cookie and leads to the form, an unknown
token is a plain 404 page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from tests.conftest import TEST_NOW
from tests.test_browser import browser, demo, shot  # noqa: F401 - the fixtures

pytestmark = pytest.mark.browser


async def _fits(page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


async def _open(browser, demo, tid: int, path: str):  # noqa: F811
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    resp = await page.request.get(f"{demo}/sandbox/api/initdata?user_id={tid}")
    init = (await resp.json())["init_data"]
    await page.goto(f"{demo}{path}#tgWebAppData={quote(init)}")
    return page


async def _bot_messages(page, demo, tid: int) -> list[dict]:  # noqa: F811
    resp = await page.request.get(f"{demo}/sandbox/api/history?user_id={tid}&timeout=0")
    return (await resp.json()).get("messages", [])


async def _visitor(browser, demo, token: str):  # noqa: F811
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{demo}/f/{token}")
    return page


async def _fill(page, name: str, phone: str, **more: str) -> None:
    await page.get_by_test_id("lf-name").fill(name)
    await page.get_by_test_id("lf-phone").fill(phone)
    for key, value in more.items():
        if key == "region":
            await page.get_by_test_id("lf-region").select_option(value)
        else:
            await page.get_by_test_id(f"lf-{key}").fill(value)


async def test_k10_lead_form_on_a_phone(demo, browser, tmp_path):  # noqa: F811
    from models import Activity, DictionaryItem, LeadSubmission, User
    from models.marketing import Campaign, CampaignState, CampaignVariant, LeadForm
    from services import lead_intake
    from services.dictionaries import REGION, get_dictionary

    campaign = await Campaign.create(name="K10 Тест", state=CampaignState.RUNNING,
                                     starts_on=TEST_NOW.date() - timedelta(days=5))
    variant = await CampaignVariant.create(campaign=campaign, name="Сайт", link_token="k10go")
    region = await DictionaryItem.create(dictionary=await get_dictionary(REGION),
                                         name="Тестовая область")
    ivan, sveta, maria = [await User.get(telegram_id=t) for t in (100003, 100005, 100004)]
    # Anna designs the form
    page = await _open(browser, demo, 100001, f"/app/campaigns/{campaign.id}/forms")
    await page.get_by_test_id("lfd-new").wait_for()
    await page.get_by_test_id("lfd-title").fill("")
    await page.get_by_test_id("lfd-shown-region").check()
    await page.get_by_test_id("lfd-department").select_option(label="Продажи Москва")
    await _fits(page)
    async with page.expect_navigation():
        await page.get_by_test_id("lfd-save").click()
    error = page.get_by_test_id("lfd-error")
    assert await error.is_visible()  # the title is named, the rest kept
    assert await page.get_by_test_id("lfd-shown-region").is_checked()
    await page.get_by_test_id("lfd-title").fill("Оставьте заявку")
    async with page.expect_navigation():
        await page.get_by_test_id("lfd-save").click()
    await page.get_by_test_id("lfd-heading").wait_for()
    link = await page.get_by_test_id("lfd-form-link").input_value()
    form = await LeadForm.get(variant_id=variant.id)
    assert link.endswith(f"/f/{form.token}")
    assert "k10go" in await page.get_by_test_id("lfd-go-link").input_value()
    await _fits(page)
    await shot(page, tmp_path, "leads-1-designer")

    lead_intake.PER_ADDRESS.reset()
    await page.request.post(f"{demo}/sandbox/api/send", data={"user_id": 100003,
                                                             "text": "/start"})
    # a visitor: a bad phone is named, the values kept
    visitor = await _visitor(browser, demo, form.token)
    await _fill(visitor, "Пётр", "12", message="Нужен расчёт")
    async with visitor.expect_navigation():
        await visitor.get_by_test_id("lf-submit").click()
    await visitor.get_by_test_id("lf-error-phone").wait_for()
    assert await visitor.get_by_test_id("lf-name").input_value() == "Пётр"
    assert await visitor.get_by_test_id("lf-message").input_value() == "Нужен расчёт"
    await _fits(visitor)
    await shot(visitor, tmp_path, "leads-2-bad-phone")
    await visitor.get_by_test_id("lf-phone").fill("+7 916 555-01-01")
    async with visitor.expect_navigation():
        await visitor.get_by_test_id("lf-submit").click()
    await visitor.get_by_test_id("lf-thanks").wait_for() if form.thanks else \
        await visitor.get_by_test_id("lf-message-title").wait_for()
    first = await LeadSubmission.get(form_id=form.id)
    assert first.assigned_id == ivan.id
    act = await Activity.get(id=first.activity_id).prefetch_related("type")
    assert act.type.code == "inbound_request"
    # the round robin: the next lead goes to Svetlana
    visitor = await _visitor(browser, demo, form.token)
    await _fill(visitor, "Ольга", "+79165550102")
    async with visitor.expect_navigation():
        await visitor.get_by_test_id("lf-submit").click()
    second = await LeadSubmission.filter(form_id=form.id).order_by("-id").first()
    assert second.assigned_id == sveta.id
    # Ivan's bot has the lead with its buttons
    msgs = [m for m in await _bot_messages(page, demo, 100003) if "Пётр" in m.get("text", "")]
    assert msgs, await _bot_messages(page, demo, 100003)
    buttons = [b["text"] for row in msgs[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == 3 and any("✋" in b for b in buttons)
    # a region route sends the lead to Maria
    from services.lead_forms import update_form

    anna = await User.get(telegram_id=100001)
    await update_form(anna, form.id, {"assign_mode": "region", "routes": [
        {"region_id": region.id, "user_id": maria.id}]})
    lead_intake.PER_ADDRESS.reset()
    visitor = await _visitor(browser, demo, form.token)
    await _fill(visitor, "Регион", "+79165550103", region=str(region.id))
    async with visitor.expect_navigation():
        await visitor.get_by_test_id("lf-submit").click()
    third = await LeadSubmission.filter(form_id=form.id).order_by("-id").first()
    assert third.assigned_id == maria.id
    # a bot fills the hidden field: thanks, nothing made
    before = await LeadSubmission.filter(form_id=form.id).count()
    resp = await visitor.request.post(f"{demo}/f/{form.token}", form={
        "name": "Bot", "phone": "+79165550104", "website": "http://spam.example"})
    assert resp.status == 200
    assert await LeadSubmission.filter(form_id=form.id).count() == before
    # a flood: friendly 429 pages, never a 500
    statuses = []
    for n in range(12):
        resp = await visitor.request.post(f"{demo}/f/{form.token}", form={
            "name": f"Flood {n}", "phone": "12"})
        statuses.append(resp.status)
    assert 500 not in statuses and 503 not in statuses
    assert statuses.count(429) >= 6, statuses
    await visitor.goto(f"{demo}/f/{form.token}", wait_until="commit")
    resp = await visitor.request.post(f"{demo}/f/{form.token}", form={"name": "x"})
    assert resp.status == 429 and "<h1" in await resp.text()
    # the tracked link: a cookie, then the form; an unknown token: a plain 404
    lead_intake.PER_ADDRESS.reset()
    go = await _visitor(browser, demo, form.token)
    await go.goto(f"{demo}/go/k10go")
    assert f"/f/{form.token}" in go.url
    cookies = await go.context.cookies()
    assert any(c["name"] == "k_src" for c in cookies)
    await _fill(go, "По ссылке", "+79165550105")
    async with go.expect_navigation():
        await go.get_by_test_id("lf-submit").click()
    last = await LeadSubmission.filter(form_id=form.id).order_by("-id").first()
    from services.attribution import touches

    assert (await touches("a", last.activity_id))["first"].via == "link"
    resp = await go.request.get(f"{demo}/go/nope-nope", max_redirects=0)
    assert resp.status == 404
    # the client card shows where the lead came from; Ivan (its manager) sets the last
    # touch by hand
    card = await _open(browser, demo, 100003, f"/app/clients/{first.client_id}")
    first_touch = card.get_by_test_id("touch-first")
    await first_touch.wait_for()
    assert "K10 Тест" in await first_touch.inner_text()
    await card.get_by_test_id("touch-which").select_option("last")
    await card.get_by_test_id("touch-variant").select_option(str(variant.id))
    async with card.expect_navigation():
        await card.get_by_test_id("touch-save").click()
    assert "по ссылке" not in (await card.get_by_test_id("touch-last").inner_text()).lower()
    assert (await touches("c", first.client_id))["last"].via == "manual"
    await _fits(card)
