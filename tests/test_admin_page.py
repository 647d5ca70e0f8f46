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
