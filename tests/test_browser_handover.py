"""A-5 in Chromium on a phone (390×844): the profile page's hand-over form says how
many open deals and tasks go along, takes them by default (a ticked checkbox), and
reports clients, deals and tasks handed over; unticked, only the clients go."""

from __future__ import annotations

from urllib.parse import quote

from tests.test_browser import browser, demo  # noqa: F401 - the fixtures


async def _profile_as_admin(demo, browser, user_id: int):  # noqa: F811
    """The profile page of ``user_id`` on a phone, opened by the demo's admin."""
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    init = (await (await page.request.get(
        f"{demo}/sandbox/api/initdata?user_id=100001")).json())["init_data"]
    await page.goto(f"{demo}/app/profile/{user_id}#tgWebAppData={quote(init)}")
    return page


async def test_a5_profile_hand_over_with_deals_and_tasks(demo, browser):  # noqa: F811
    from models import ActivityAssignee, Client, Deal, User
    from services import activities as acts
    from services import deals as deal_svc
    from services import handover as svc
    from services.clock import utcnow

    ivan = await User.get(telegram_id=100003)
    sveta = await User.get(telegram_id=100005)  # his head, in Moscow
    client = await Client.get(name="ООО «Ромашка»")
    await deal_svc.do_create_deal(ivan, {"client_id": client.id, "title": "Поставка"},
                                  source="system")
    from datetime import timedelta

    await acts.do_create_activity(ivan, {"title": "Позвонить", "client_id": client.id,
                                         "starts_at": utcnow() + timedelta(days=1)})
    has = await svc.to_hand_over(ivan.id)
    assert has.clients and has.deals and has.tasks
    page = await _profile_as_admin(demo, browser, ivan.id)
    form = page.get_by_test_id("handover-form")
    await form.wait_for()
    work = page.get_by_test_id("handover-work")
    assert await work.is_checked()
    label = await form.locator("label.inline").inner_text()
    assert f"({has.deals})" in label and f"({has.tasks})" in label
    await page.get_by_test_id("handover-submit").click()  # no successor: named
    error = page.get_by_test_id("handover-error")
    await error.wait_for()
    await page.get_by_test_id("handover-to").select_option(str(sveta.id))
    await page.get_by_test_id("handover-submit").click()
    done = page.get_by_test_id("handover-done")
    await done.wait_for()
    text = await done.inner_text()
    assert f"— {has.clients}," in text and f"— {has.deals}," in text, text
    assert text.rstrip(".").endswith(f"— {has.tasks}"), text
    assert await Deal.filter(owner_id=ivan.id, closed_at=None, archived_at=None).count() == 0
    assert not await ActivityAssignee.filter(user_id=ivan.id,
                                             activity__state="planned").exists()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await page.screenshot(path="/tmp/cardhand-handover.png", full_page=True)


async def test_a5_profile_hand_over_clients_only(demo, browser):  # noqa: F811
    from models import Deal, User
    from services import handover as svc

    ivan = await User.get(telegram_id=100003)
    sveta = await User.get(telegram_id=100005)
    before = await svc.to_hand_over(ivan.id)
    page = await _profile_as_admin(demo, browser, ivan.id)
    await page.get_by_test_id("handover-work").uncheck()
    await page.get_by_test_id("handover-to").select_option(str(sveta.id))
    await page.get_by_test_id("handover-submit").click()
    await page.get_by_test_id("handover-done").wait_for()
    after = await svc.to_hand_over(ivan.id)
    assert (after.clients, after.deals, after.tasks) == (0, before.deals, before.tasks)
    assert await Deal.filter(owner_id=ivan.id).count() >= before.deals
