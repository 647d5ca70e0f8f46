"""Deals in the Mini App on a phone (issue 12: U-1, U-2, U-6), in Chromium at 390×844:
the pipeline fits with its stage chips scrolling on their own, a swipe changes the
stage, "Move to…" moves a deal and closes one as lost with a reason and the competitor,
paging within a stage, columns on a wide screen; the deal card's form saves and shows a
bad sum next to its field keeping the draft; a new deal from the pipeline and from the
client card; the admin's process editor adds a stage and saves."""

from __future__ import annotations

import os
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import TEST_NOW
from tests.test_browser import browser, demo  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("KONTAKT_SCREENSHOTS")  # a folder to keep the screenshots in
# what a page must not show in Russian: template syntax, English words of the pages
NOT_SHOWN = ("{{", "{%", "{n}", "undefined", "null", "NaN", "Deals", "Move to", "Stage",
             "Won", "Lost", "Show more", "No next step", "Sale", "First contact")

# nothing sticks out sideways but what scrolls inside its own box (the stage chips)
FITS = """() => {
  const W = innerWidth, out = [];
  const inScroller = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true; } return false; };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 1 || r.left < -1) && !inScroller(el)
        && !el.closest('dialog:not([open])'))
      out.push((el.dataset.testid || el.tagName) + ' ' + Math.round(r.left) + '..' +
               Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, wide: out.slice(0, 5)};
}"""


async def _phone(demo, browser, telegram_id: int, viewport=None):  # noqa: F811
    context = await browser.new_context(viewport=viewport or PHONE, has_touch=True,
                                        is_mobile=True, timezone_id="Europe/Moscow",
                                        locale="ru-RU")
    page = await context.new_page()
    init = (await (await page.request.get(
        f"{demo}/sandbox/api/initdata?user_id={telegram_id}")).json())["init_data"]
    await page.goto(f"{demo}/app#tgWebAppData={quote(init)}")
    await page.get_by_test_id("tabbar").wait_for()
    return page


def _plain(text: str) -> str:
    """Text with the narrow and non-breaking spaces of number formats as plain ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


async def _shot(page, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)


async def _check_fits(page, what: str, width: int = PHONE["width"]) -> None:
    fit = await page.evaluate(FITS)
    assert fit["scroll"] <= width and not fit["wide"], (what, fit)
    text = await page.inner_text("body")
    for bad in NOT_SHOWN:
        assert bad not in text, (what, bad)


async def _deals(n_first: int = 3):
    """Ivan's deals: ``n_first`` at the first stage, one at the second, one won (the
    demo's own deals archived first, so the counts are these)."""
    from models import Client, Deal, User
    from services import deal_moves
    from services import deals as svc
    from services.clock import utcnow

    await Deal.filter(archived_at=None).update(archived_at=utcnow())
    ivan = await User.get(telegram_id=100003)
    romashka = await Client.get(name="ООО «Ромашка»")
    sale = next(p for p in await svc.process_types() if p.code == "sale")
    stages = {s.code: s for s in await svc.stages_of(sale.id)}
    made = []
    for n in range(n_first):
        made.append((await svc.do_create_deal(ivan, {
            "client_id": romashka.id, "title": f"Поставка №{n + 1:02d}",
            "amount": str(1000 * (n + 1))})).deal)
    second = (await svc.do_create_deal(ivan, {"client_id": romashka.id,
                                              "title": "Сервисный договор",
                                              "amount": "250000", "currency": "RUB"})).deal
    await deal_moves.do_move(ivan, second.id, stages["need"].id)
    won = (await svc.do_create_deal(ivan, {"client_id": romashka.id, "title": "Пилот"})).deal
    await deal_moves.do_win(ivan, won.id)
    return ivan, sale, stages, made, second


async def _swipe(page, dx: int) -> None:
    """A finger across the deals, through Chromium's own touch input."""
    cdp = await page.context.new_cdp_session(page)
    box = await page.get_by_test_id("pipe-board").bounding_box()
    # a point on the deals that is on the screen, above the tab bar
    x, y = box["x"] + box["width"] / 2, min(max(box["y"] + 60, 120), 560)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                                 "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 9):
        await cdp.send("Input.dispatchTouchEvent", {
            "type": "touchMove", "touchPoints": [{"x": x + dx * step / 8, "y": y + step}]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def _chosen(page) -> str:
    chip = page.locator("[data-testid=stage-chip][aria-selected=true]")
    return (await chip.get_attribute("data-stage-id")) or ""


async def test_u1_pipeline_fits_a_phone_and_a_swipe_changes_the_stage(demo, browser):  # noqa: F811
    """U-1: one stage at a time with its chips (count and sum) scrolling on their own,
    a swipe left or right for the next stage, "Show more" within a stage."""
    ivan, sale, stages, made, second = await _deals(n_first=23)
    page = await _phone(demo, browser, 100003)
    await page.get_by_test_id("nav-deals").click()
    cards = page.get_by_test_id("deal-card")
    await cards.first.wait_for()
    assert await page.get_by_test_id("nav-deals").get_attribute("aria-current") == "page"
    chips = page.get_by_test_id("stage-chip")
    assert await chips.count() == 7
    names = await page.locator("[data-testid=stage-chip] .name").all_inner_texts()
    assert names[:2] == ["Первичный контакт", "Выявление потребности"]
    assert names[-2:] == ["Выиграна", "Проиграна"]
    first = chips.nth(0)
    assert await first.get_attribute("aria-selected") == "true"
    assert await first.get_by_test_id("stage-count").inner_text() == "23"
    assert _plain(await first.get_by_test_id("stage-sum").inner_text()) == "276 тыс. ₽"
    assert await cards.count() == 20  # a page; the rest behind "Show more"
    card = cards.filter(has_text="Поставка №23")
    text = _plain(await card.inner_text())
    assert "ООО «Ромашка»" in text and "23 000" in text
    assert "Нет следующего шага" in text and "0 дн. на этапе" in text
    await _check_fits(page, "pipeline")
    await _shot(page, "pipeline")
    await page.get_by_test_id("stage-more").click()
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=deal-card]').length === 23")
    assert await page.get_by_test_id("stage-more").is_hidden()
    # a swipe to the left: the next stage, its chip chosen and in view
    await _swipe(page, -220)
    await page.wait_for_function(
        f"document.querySelector('[data-testid=stage-chip][aria-selected=true]')"
        f".dataset.stageId === '{stages['need'].id}'")
    await page.get_by_test_id("deal-card").filter(has_text="Сервисный договор").wait_for()
    assert await page.get_by_test_id("deal-card").count() == 1
    assert f"stage={stages['need'].id}" in page.url
    await _shot(page, "pipeline-swiped")
    # a swipe too short or mostly up and down changes nothing; back to the right
    await _swipe(page, 30)
    assert await _chosen(page) == str(stages["need"].id)
    await _swipe(page, 220)
    await page.wait_for_function(
        f"document.querySelector('[data-testid=stage-chip][aria-selected=true]')"
        f".dataset.stageId === '{stages['lead'].id}'")
    # the chips: the won stage is a tap away, its chip scrolled into view
    await chips.nth(5).click()
    await page.get_by_test_id("deal-card").filter(has_text="Пилот").wait_for()
    assert await page.get_by_test_id("deal-no-next").count() == 0  # closed: no flag
    # (the strip scrolls smoothly: wait until the chip has come whole into view)
    await page.wait_for_function(
        "(() => { const r = document.querySelectorAll('[data-testid=stage-chip]')[5]"
        ".getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth; })()")
    await _check_fits(page, "pipeline, the won stage")
    # the tab bar fits a 360 px phone with every label whole
    await page.set_viewport_size({"width": 360, "height": 740})
    cut = await page.evaluate("""() => [...document.querySelectorAll('.tabbar a')]
        .filter(a => a.scrollWidth > a.clientWidth + 1).map(a => a.textContent)""")
    assert cut == []
    await _check_fits(page, "pipeline at 360", width=360)
    await _shot(page, "pipeline-360")


async def test_u1_u6_move_sheet_moves_a_deal_and_closes_one_as_lost(demo, browser):  # noqa: F811
    """U-1: "Move to…" on a deal's card opens a sheet of the stages (one whose
    requirements are missing says why) and moves it; U-6: lost asks the reason from a
    list and the competitor who won, picked from one's clients by search."""
    from models import Client, Deal

    ivan, sale, stages, made, second = await _deals()
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/deals")
    card = page.get_by_test_id("deal-card").filter(has_text="Поставка №01")
    await card.wait_for()
    await card.get_by_test_id("deal-move").click()
    sheet = page.get_by_test_id("move-sheet")
    await sheet.wait_for(state="visible")
    options = sheet.get_by_test_id("sheet-stage")
    await options.nth(6).wait_for()
    texts = await options.all_inner_texts()
    assert "Первичный контакт" in texts[0] and "сейчас здесь" in texts[0]
    assert await options.nth(0).is_disabled()
    assert "нет ожидаемой даты закрытия" in texts[4]  # the contract needs it
    assert await options.nth(4).is_disabled()
    await _check_fits(page, "move sheet")
    await _shot(page, "move-sheet")
    # the sheet sits at the bottom of the screen, over the tab bar
    box = await sheet.bounding_box()
    assert abs(box["y"] + box["height"] - PHONE["height"]) <= 2
    await options.nth(1).click()
    await sheet.wait_for(state="hidden")
    chip = page.get_by_test_id("stage-chip").nth(1)
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=stage-count]')[1].textContent === '2'")
    assert (await Deal.get(id=made[0].id)).stage_id == stages["need"].id
    assert await page.get_by_test_id("deal-card").filter(has_text="Поставка №01").count() == 0
    # lost: the reason first, then the competitor who won
    card = page.get_by_test_id("deal-card").filter(has_text="Поставка №02")
    await card.get_by_test_id("deal-move").click()
    await options.nth(6).wait_for()
    await options.nth(6).click()
    await sheet.get_by_test_id("lost-reasons").wait_for()
    await sheet.get_by_test_id("lost-confirm").click()
    error = sheet.locator("[data-error-for=lost_reason_id]")
    await error.wait_for(state="visible")
    assert "почему" in (await error.inner_text()).lower()
    await sheet.get_by_test_id("lost-reason").nth(0).check()  # Дорого
    await sheet.get_by_test_id("lost-competitor").fill("Сидор")
    await sheet.get_by_test_id("client-pick").filter(has_text="Сидоров").click()
    assert "Сидоров" in await sheet.get_by_test_id("competitor-chosen").inner_text()
    await _check_fits(page, "lost step")
    await _shot(page, "move-sheet-lost")
    await sheet.get_by_test_id("lost-confirm").click()
    await sheet.wait_for(state="hidden")
    lost = await Deal.get(id=made[1].id).prefetch_related("lost_reason", "stage")
    assert lost.stage.kind == "lost" and lost.lost_reason.code == "price"
    assert lost.competitor_id == (await Client.get(name="ИП Сидоров А. В.")).id
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=stage-count]')[6].textContent === '1'")
    assert chip  # the chips followed the moves


async def test_u2_deal_card_form_saves_and_a_bad_sum_is_shown_by_its_field(demo, browser):  # noqa: F811
    """U-2: the deal card: its fields in a form that saves; a bad sum is refused next to
    the field in Russian and the draft stays; the timeline in the person's time zone;
    a task of the deal becomes its next step; won from the card."""
    from models import Deal

    ivan, sale, stages, made, second = await _deals()
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/deals/{second.id}")
    await page.get_by_test_id("deal-form").wait_for()
    assert "Выявление потребности" in await page.get_by_test_id("deal-stage").inner_text()
    assert _plain(await page.get_by_test_id("deal-amount").inner_text()) == "250 000 ₽"
    assert "Нет следующего шага" in await page.get_by_test_id("deal-next").inner_text()
    events = await page.get_by_test_id("timeline-event").all_inner_texts()
    assert "«Первичный контакт» → «Выявление потребности»" in events[0]
    moscow_day = TEST_NOW.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y")
    assert moscow_day in events[0] and "Иван Кузнецов" in events[0]  # Moscow time
    await _check_fits(page, "deal card")
    await _shot(page, "deal-card")
    # a bad sum: named next to the field, nothing saved, the draft kept
    await page.get_by_test_id("deal-field-title").fill("Сервис на год")
    await page.get_by_test_id("deal-field-amount").fill("много денег")
    await page.get_by_test_id("deal-save").click()
    error = page.get_by_test_id("deal-error-amount")
    await error.wait_for(state="visible")
    assert "«много денег» — не сумма" in await error.inner_text() or \
        "много денег" in await error.inner_text()
    assert await page.get_by_test_id("deal-field-title").input_value() == "Сервис на год"
    assert await page.get_by_test_id("deal-field-amount").input_value() == "много денег"
    assert (await Deal.get(id=second.id)).title == "Сервисный договор"
    await _check_fits(page, "deal card, a refusal")
    await _shot(page, "deal-card-refused")
    # fixed: saved, and shown after the page comes back
    await page.get_by_test_id("deal-field-amount").fill("300 000,50")
    await page.get_by_test_id("deal-field-close").fill("2026-07-15")
    await page.get_by_test_id("deal-save").click()
    await page.wait_for_function(
        "document.querySelector('[data-testid=deal-amount]').textContent.includes('300')")
    saved = await Deal.get(id=second.id)
    assert (saved.title, saved.amount) == ("Сервис на год", Decimal("300000.50"))
    assert str(saved.expected_close) == "2026-07-15"
    # the manager's own probability (U-5) is set beside the figure, not in the form
    await page.get_by_test_id("deal-override-open").click()
    await page.get_by_test_id("deal-override-value").fill("40")
    await page.get_by_test_id("deal-override-save").click()
    await page.get_by_test_id("deal-override-clear").wait_for()
    assert (await Deal.get(id=second.id)).probability_override == 40
    assert _plain(await page.get_by_test_id("deal-probability").inner_text()) == "40 %"
    # a task: the next step now
    await page.get_by_test_id("deal-task-title").fill("Позвонить Петрову")
    await page.get_by_test_id("deal-task-when").fill("2026-06-11T11:30")
    await page.get_by_test_id("deal-task-save").click()
    await page.get_by_test_id("timeline-activity").first.wait_for()
    assert "11.06.2026 11:30 · Позвонить Петрову" in await page.get_by_test_id(
        "deal-next").inner_text()
    # won from the card
    await page.get_by_test_id("deal-won").click()
    await page.wait_for_function(
        "document.querySelector('[data-testid=deal-stage]').textContent.includes('Выиграна')")
    assert (await Deal.get(id=second.id).prefetch_related("stage")).stage.kind == "won"
    await page.get_by_test_id("deal-client").click()
    await page.get_by_test_id("client-name").wait_for()


async def test_u2_new_deal_from_the_pipeline_and_from_the_client_card(demo, browser):  # noqa: F811
    """U-2: "+ Deal" on the pipeline picks the client by search; a refusal is shown by
    its field with the draft kept; on the client card the client is given."""
    from models import Client, Deal
    from services.clock import utcnow

    await Deal.filter(archived_at=None).update(archived_at=utcnow())  # the demo's own
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/deals")
    await page.get_by_test_id("stage-chip").first.wait_for()
    await page.get_by_test_id("deal-new").click()
    form = page.get_by_test_id("deal-new-form")
    await form.wait_for()
    await page.get_by_test_id("deal-new-save").click()  # no client yet
    assert await form.locator("[data-error-for=client_id]").is_visible()
    await page.get_by_test_id("deal-new-client").fill("Рома")
    await page.get_by_test_id("client-pick").filter(has_text="Ромашка").click()
    await page.get_by_test_id("deal-new-title").fill("Оборудование")
    await page.get_by_test_id("deal-new-amount").fill("12,3,4")
    await page.get_by_test_id("deal-new-save").click()
    error = form.locator("[data-error-for=amount]")
    await error.wait_for(state="visible")
    assert "12,3,4" in await error.inner_text()
    assert await page.get_by_test_id("deal-new-title").input_value() == "Оборудование"
    await _check_fits(page, "new deal form")
    await _shot(page, "deal-new")
    await page.get_by_test_id("deal-new-amount").fill("45 000")
    await page.get_by_test_id("deal-new-save").click()
    await page.get_by_test_id("deal-form").wait_for()
    deal = await Deal.get(title="Оборудование")
    assert deal.amount == Decimal("45000.00") and deal.currency == "RUB"
    # from the client card: the client is the card's
    client = await Client.get(name="ИП Сидоров А. В.")
    await page.goto(f"{demo}/app/clients/{client.id}")
    await page.get_by_test_id("client-deal-new").click()
    assert "Сидоров" in await page.get_by_test_id("deal-new-fixed-client").inner_text()
    await page.get_by_test_id("deal-new-save").click()
    await page.get_by_test_id("deal-form").wait_for()
    assert await Deal.filter(client_id=client.id, title="ИП Сидоров А. В.").exists()
    await page.goto(f"{demo}/app/clients/{client.id}")
    assert "Первичный контакт" in await page.get_by_test_id("client-deal").inner_text()
    await _check_fits(page, "client card with a deal")


async def test_u1_pipeline_as_columns_on_a_wide_screen(demo, browser):  # noqa: F811
    """U-1: ≥ 900 px wide, every stage is a column side by side."""
    await _deals()
    page = await _phone(demo, browser, 100005, viewport={"width": 1280, "height": 800})
    await page.goto(f"{demo}/app/deals")
    columns = page.get_by_test_id("stage-column")
    await columns.nth(6).wait_for()
    assert await columns.count() == 7
    assert await page.get_by_test_id("stage-chips").is_hidden()
    boxes = [await columns.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    await page.get_by_test_id("deal-card").filter(has_text="Сервисный договор").wait_for()
    await _shot(page, "pipeline-wide")
    # the head sees his manager's deals, or only his own
    await page.select_option("[data-testid=pipe-owner]", "mine")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=deal-card]').length === 0")


async def test_u1_admin_process_editor_adds_a_stage_and_saves(demo, browser):  # noqa: F811
    """U-1: the settings page lists process types; a type's stages are edited in a form
    — a stage added, named, moved up, given a requirement ticked by its readable name —
    and saved; no raw JSON, no codes."""
    from services import deals as svc

    page = await _phone(demo, browser, 100001)
    await page.goto(f"{demo}/app/admin#processes")
    await page.wait_for_selector("[data-testid=processes][data-ready='1']")
    rows = page.get_by_test_id("process-row")
    assert await rows.count() == 4  # sale, its execution, claim, partnership (U-8)
    assert "Партнёрство" in await rows.nth(3).inner_text()
    assert "Продажа" in await rows.nth(0).inner_text()
    assert "Первичный контакт → Выявление потребности" in await rows.nth(0).inner_text()
    await rows.nth(0).get_by_test_id("process-edit").click()
    form = page.get_by_test_id("process-form")
    stage_rows = form.get_by_test_id("stage-row")
    assert await stage_rows.count() == 7
    assert await form.get_by_test_id("process-name").input_value() == "Продажа"
    text = await form.inner_text()
    for code in ("expected_close", "tasks_done", "managed", "open"):
        assert code not in text
    assert "ожидаемая дата закрытия" in text
    await form.get_by_test_id("process-add-stage").click()
    assert await stage_rows.count() == 8
    new = stage_rows.nth(5)  # before won and lost
    await new.get_by_test_id("stage-name").fill("Оплата")
    await new.get_by_test_id("stage-probability").fill("95")
    await new.get_by_test_id("stage-require-amount").check()
    await new.get_by_test_id("stage-up").click()  # before the contract now
    await _check_fits(page, "process editor")
    await stage_rows.nth(3).scroll_into_view_if_needed()
    await _shot(page, "process-editor")
    await form.get_by_test_id("process-submit").click()
    await page.wait_for_function(
        "document.querySelector('[data-testid=processes][data-ready=\"1\"]') && "
        "document.body.innerText.includes('Оплата')")
    sale = next(p for p in await svc.process_types() if p.code == "sale")
    stages = await svc.stages_of(sale.id)
    assert [s.name for s in stages][3:6] == ["Переговоры", "Оплата", "Договор"]
    paid = stages[4]
    assert (paid.probability, paid.requires, paid.code) == (95, ["amount"], None)
    assert stages[0].code == "lead" and stages[0].name == "Первичный контакт"  # kept seeded
    # a refusal names the stage's field; nothing saved
    await page.get_by_test_id("process-row").nth(0).get_by_test_id("process-edit").click()
    await stage_rows.nth(1).get_by_test_id("stage-name").fill("Оплата")
    await form.get_by_test_id("process-submit").click()
    err = stage_rows.nth(4).locator("[data-stage-error]")
    await err.wait_for(state="visible")
    assert "Оплата" in await err.inner_text()
    await _shot(page, "process-editor-refused")


async def test_u1_u2_in_ukrainian_on_a_360_px_phone(demo, browser):  # noqa: F811
    """U-1, U-2, U-6: the pipeline, the sheet with its lost step, the card and the new-deal
    form in Ukrainian on the narrowest phone: all in Ukrainian, nothing sideways."""
    from models import Language, User

    ivan, sale, stages, made, second = await _deals()
    await User.filter(id=ivan.id).update(language=Language.UK)
    page = await _phone(demo, browser, 100003, viewport={"width": 360, "height": 740})
    await page.goto(f"{demo}/app/deals")
    await page.get_by_test_id("deal-card").first.wait_for()
    assert "Перший контакт" in await page.get_by_test_id("stage-chips").inner_text()
    assert "Немає наступного кроку" in await page.get_by_test_id("pipe-board").inner_text()
    await _check_fits(page, "pipeline uk", width=360)
    await page.get_by_test_id("deal-move").first.click()
    sheet = page.get_by_test_id("move-sheet")
    await sheet.get_by_test_id("sheet-stage").nth(6).click()
    await sheet.get_by_test_id("lost-reasons").wait_for()
    assert "Дорого" in await sheet.inner_text() and "Чому угоду програно?" in \
        await sheet.inner_text()
    await _check_fits(page, "lost step uk", width=360)
    await _shot(page, "uk-lost")
    await sheet.get_by_test_id("sheet-cancel").click()
    await page.get_by_test_id("deal-new").click()
    await page.get_by_test_id("deal-new-form").wait_for()
    assert await page.get_by_test_id("deal-new-currency").input_value() == "UAH"
    await _check_fits(page, "new deal uk", width=360)
    await page.goto(f"{demo}/app/deals/{second.id}")
    await page.get_by_test_id("deal-form").wait_for()
    text = await page.inner_text("main")
    assert "Виявлення потреби" in text and "Хронологія" in text
    await _check_fits(page, "deal card uk", width=360)
    await _shot(page, "uk-card")
