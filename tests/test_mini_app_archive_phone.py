"""Archiving a client in the Mini App on a phone (390×844, Chromium): the card's
Archive asks with an optional reason, the archived card shows its banner and no
Restore to a manager, the administrator restores it; every step fits the screen."""

from __future__ import annotations

import pytest

from tests.test_browser import browser, demo  # noqa: F401 - fixtures
from tests.test_mini_app_phone import _check_fits, _phone

pytestmark = pytest.mark.browser


async def test_archive_on_the_card_and_restore_by_the_admin(demo, browser):  # noqa: F811
    from models import Client, User
    from services import clients as client_svc

    ivan = await User.get(telegram_id=100003)
    client = (await client_svc.do_create_client(ivan, {"name": "ООО «Закрытое»"})).client
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/clients/{client.id}")
    await page.get_by_test_id("client-archive").click()
    await page.get_by_test_id("archive-dialog").wait_for()
    await _check_fits(page, "archive dialog")
    await page.get_by_test_id("archive-reason").fill("закрылись")
    await page.get_by_test_id("archive-confirm").click()
    banner = page.get_by_test_id("archived-banner")
    await banner.wait_for()
    assert "Иван Кузнецов" in await banner.inner_text()
    assert "закрылись" in await banner.inner_text()
    assert await page.get_by_test_id("client-restore").count() == 0
    await _check_fits(page, "archived card")
    assert (await Client.get(id=client.id)).archived_at is not None
    # the administrator finds it under "Archived" and restores it
    admin = await _phone(demo, browser, 100001)
    await admin.goto(f"{demo}/app/clients?archived=1")
    await admin.get_by_test_id("client-row").filter(has_text="Закрытое").locator("a").click()
    await admin.get_by_test_id("client-restore").click()
    await admin.get_by_test_id("client-archive").wait_for()
    assert (await Client.get(id=client.id)).archived_at is None
