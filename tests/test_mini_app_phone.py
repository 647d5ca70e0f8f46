"""The Mini App on a phone (issue 17): every page at 390×844 in Chromium fits without
sideways scrolling, shows no template syntax and no untranslated labels; the bottom tab
bar reaches every section; the home page is "my day"; a client is created from the
Mini App with a likely duplicate shown first; the calendar's week and month have a
phone layout (K-17, S-20, S-11)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_browser import browser, demo  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# what a page must not show in Russian: template syntax, the English tab labels
NOT_SHOWN = ("{{", "{%", "My day", "More", "Clients", "Calendar", "Reports", "Settings")

FITS = """() => {
  const W = innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 1 || r.left < -1) && !el.closest('dialog:not([open])'))
      out.push((el.dataset.testid || el.tagName) + ' ' + Math.round(r.left) + '..' +
               Math.round(r.right));
  }
  return {scroll: document.documentElement.scrollWidth, wide: out.slice(0, 5)};
}"""


async def _phone(demo, browser, telegram_id: int):  # noqa: F811
    context = await browser.new_context(viewport=PHONE, timezone_id="Europe/Moscow",
                                        locale="ru-RU")
    page = await context.new_page()
    init = (await (await page.request.get(
        f"{demo}/sandbox/api/initdata?user_id={telegram_id}")).json())["init_data"]
    await page.goto(f"{demo}/app#tgWebAppData={quote(init)}")
    await page.get_by_test_id("tabbar").wait_for()
    return page


async def _check_fits(page, what: str) -> None:
    fit = await page.evaluate(FITS)
    assert fit["scroll"] <= PHONE["width"] and not fit["wide"], (what, fit)
    # the text a person reads, less the message templates' own source (an admin's
    # template subject legitimately shows its {{ variables }})
    text = await page.evaluate("""() => { const b = document.body.cloneNode(true);
        b.querySelectorAll('[data-testid=templates] .sub').forEach(e => e.remove());
        document.documentElement.appendChild(b); const t = b.innerText; b.remove();
        return t; }""")
    for bad in NOT_SHOWN:
        assert bad not in text, (what, bad)


@pytest.mark.parametrize("telegram_id", [100003, 100001])  # a manager, the administrator
async def test_every_page_fits_a_phone(demo, browser, telegram_id):  # noqa: F811
    from models import Client, User

    page = await _phone(demo, browser, telegram_id)
    client = await Client.get(name="ООО «Ромашка»")
    pages = ["/app", "/app/clients", f"/app/clients/{client.id}", "/app/calendar",
             "/app/reports", "/app/deals/reports", "/app/more", "/app/staff", "/app/org",
             f"/app/profile/{(await User.get(telegram_id=telegram_id)).id}", "/app/import",
             "/app/motivation", "/app/motivation/statements"]
    if telegram_id == 100001:
        pages += ["/app/mailings", "/app/admin"]
    for path in pages:
        await page.goto(f"{demo}{path}")
        await page.get_by_test_id("tabbar").wait_for()
        await page.wait_for_load_state("networkidle")
        await _check_fits(page, path)
    await page.goto(f"{demo}/app/calendar")
    await page.wait_for_selector("#calendar[data-ready='1']")
    for view in ("agenda", "day", "week", "month", "overdue"):
        await page.select_option("#cal-view", view)
        await page.wait_for_load_state("networkidle")
        await _check_fits(page, f"calendar {view}")
    # the tab bar reaches every section, the sections under ☰ More by one's rights
    await page.get_by_test_id("nav-more").click()
    menu = page.get_by_test_id("more-menu")
    await menu.wait_for()
    assert await page.get_by_test_id("nav-staff").is_visible()
    assert await page.get_by_test_id("nav-admin").count() == (telegram_id == 100001)
    assert await page.get_by_test_id("nav-mailings").count() == (telegram_id == 100001)
    for tab, testid in (("nav-clients", "clients-list"), ("nav-calendar", "cal-body"),
                        ("nav-reports", "period-form"), ("nav-home", "home-today")):
        await page.get_by_test_id(tab).click()
        await page.get_by_test_id(testid).wait_for()
        assert await page.get_by_test_id(tab).get_attribute("aria-current") == "page"


async def test_a_manager_cannot_open_mailings_or_settings(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100003)
    for path, title in (("/app/mailings", "Для администраторов и руководителей"),
                        ("/app/admin", "Только для администраторов")):
        resp = await page.goto(f"{demo}{path}")
        assert resp.status == 403
        assert title in await page.inner_text("main")


async def _call_today(title: str = "Созвон сегодня") -> None:
    """A call of Ivan's earlier today in Moscow, whatever the pinned hour (the demo's own
    call, two hours from now, is tomorrow late in the evening)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from models import User
    from services import activities

    now = datetime.now(ZoneInfo("Europe/Moscow"))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ivan = await User.get(telegram_id=100003)
    await activities.do_create_activity(ivan, {"title": title, "type": "call",
                                               "starts_at": midnight + (now - midnight) / 2})


async def test_my_day_today_overdue_recent_clients(demo, browser):  # noqa: F811
    await _call_today()
    page = await _phone(demo, browser, 100003)  # Ivan: a call today, a late task
    today = page.get_by_test_id("home-today-item").filter(has_text="Созвон сегодня")
    assert "Созвон сегодня" in await today.first.inner_text()
    overdue = page.get_by_test_id("home-overdue-item")
    assert "Отправить КП Сидорову" in await overdue.first.inner_text()
    recent = page.get_by_test_id("home-recent-client")
    names = [await recent.nth(i).inner_text() for i in range(await recent.count())]
    assert any("Ромашка" in n for n in names) and any("Сидоров" in n for n in names)
    # U-2: the demo's deal with Sidorov has no next step; the one with Romashka has
    stalled = page.get_by_test_id("home-stalled-deal")
    flagged = [await stalled.nth(i).inner_text() for i in range(await stalled.count())]
    assert any("Оборудование для мастерской" in t and "Первичный контакт" in t
               for t in flagged), flagged
    assert not any("канцтоваров" in t for t in flagged)
    # an item opens in the calendar's form
    await today.first.locator("a").click()
    dialog = page.get_by_test_id("act-dialog")
    await dialog.wait_for(state="visible")
    assert await page.get_by_test_id("act-title").input_value() == "Созвон сегодня"
    # "+ Task" opens an empty form
    await page.goto(f"{demo}/app")
    await page.get_by_test_id("home-new-task").click()
    await dialog.wait_for(state="visible")
    assert await page.get_by_test_id("act-title").input_value() == ""


async def test_my_day_of_a_newcomer_says_what_to_do(demo, browser):  # noqa: F811
    page = await _phone(demo, browser, 100005)
    empty = page.get_by_test_id("home-today-empty")
    assert "Напишите боту" in await empty.inner_text()
    assert await page.get_by_test_id("home-overdue").count() == 0


async def test_new_client_from_the_mini_app_with_duplicates_first(demo, browser):  # noqa: F811
    from models import Client

    page = await _phone(demo, browser, 100003)
    await page.get_by_test_id("nav-clients").click()
    await page.get_by_test_id("new-client").click()
    form = page.get_by_test_id("new-client-form")
    await form.wait_for()
    await _check_fits(page, "new client form")
    # the phone of Ivan's own Romashka: shown, to be opened instead
    await page.get_by_test_id("new-client-name").fill("Ромашка-2")
    await page.get_by_test_id("new-client-phone").fill("+7 495 111-22-33")
    await page.get_by_test_id("new-client-save").click()
    dup = page.get_by_test_id("new-client-duplicate")
    await dup.first.wait_for()
    text = await dup.first.inner_text()
    assert "ООО «Ромашка»" in text and "тот же телефон" in text and "Открыть" in text
    assert await Client.filter(name="Ромашка-2").count() == 0
    # a bad email is refused naming it, in Russian; the form keeps what was typed
    await page.get_by_test_id("new-client-email").fill("not-an-email")
    await page.get_by_test_id("new-client-anyway").click()
    error = page.get_by_test_id("new-client-error")
    await error.wait_for(state="visible")
    assert "email" in (await error.inner_text()).lower()
    assert await page.get_by_test_id("new-client-name").input_value() == "Ромашка-2"
    # fixed, and created anyway: the new card opens
    await page.get_by_test_id("new-client-email").fill("office@romashka2.ru")
    await page.get_by_test_id("new-client-anyway").click()
    await page.get_by_test_id("client-name").wait_for()
    assert "Ромашка-2" in await page.get_by_test_id("client-name").inner_text()
    assert await Client.filter(name="Ромашка-2").count() == 1


async def test_new_client_that_is_a_colleagues_says_whose(demo, browser):  # noqa: F811
    from models import User
    from services import clients as svc

    anna = await User.get(telegram_id=100001)
    await svc.do_create_client(anna, {"name": "ООО «Тюльпан»", "phone": "+74957776655"})
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/clients?new=1")
    await page.get_by_test_id("new-client-name").fill("Тюльпан")
    await page.get_by_test_id("new-client-save").click()
    dup = page.get_by_test_id("new-client-duplicate")
    await dup.first.wait_for()
    text = await dup.first.inner_text()
    assert "Тюльпан" in text and "Анна" in text and "Открыть" not in text


async def test_calendar_week_and_month_on_a_phone(demo, browser):  # noqa: F811
    from datetime import datetime
    from zoneinfo import ZoneInfo

    await _call_today()
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/calendar")
    await page.wait_for_selector("#calendar[data-ready='1']")
    await page.select_option("#cal-view", "week")
    chips = page.get_by_test_id("cal-chip")
    await chips.first.wait_for()
    assert await chips.count() == 7
    # one day's timeline under the strip: today's, with today's call
    assert await page.get_by_test_id("cal-col").count() == 1
    assert "Созвон сегодня" in await page.get_by_test_id("cal-col").inner_text()
    # another day of the week is a tap away
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the page's zone
    picks = [await chips.nth(i).get_attribute("data-pick") for i in range(7)]
    others = [i for i, day in enumerate(picks) if day != today.isoformat()]
    same_month = [i for i in others if picks[i][:7] == today.isoformat()[:7]]
    other = (same_month or others)[0]
    await chips.nth(other).click()
    col = page.get_by_test_id("cal-col")
    assert await col.get_attribute("data-date") == await chips.nth(other).get_attribute(
        "data-pick")
    assert "Созвон сегодня" not in await col.inner_text()
    # the month: a grid of days with dots, the chosen day's list under it (the day
    # chosen in the week stays chosen if it is in this month; else it is today)
    await page.select_option("#cal-view", "month")
    await page.get_by_test_id("cal-month-phone").wait_for()
    picked = page.get_by_test_id("cal-picked-day")
    shown = "Созвон сегодня" in await page.inner_text("#cal-body")
    assert shown is not bool(same_month)
    await page.locator(f"[data-testid=cal-cell][data-pick='{today.isoformat()}']").click()
    await page.get_by_test_id("cal-item").first.wait_for()
    assert "Созвон сегодня" in " ".join(
        await page.get_by_test_id("cal-item").all_inner_texts())
    before = await picked.inner_text()
    other_day = today.replace(day=1 if today.day > 1 else 2).isoformat()
    await page.locator(f"[data-testid=cal-cell][data-pick='{other_day}']").click()
    await page.wait_for_function(
        "t => document.querySelector('[data-testid=cal-picked-day]').textContent !== t",
        arg=before)
    await _check_fits(page, "calendar month, a day picked")


async def test_contacts_added_edited_archived_and_restored_on_the_card(demo, browser):  # noqa: F811
    from models import Client, ContactPerson

    client = await Client.get(name="ООО «Ромашка»")
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/clients/{client.id}")
    await page.get_by_test_id("contact-add").click()
    await page.get_by_test_id("contact-dialog").wait_for()
    await _check_fits(page, "contact form")
    await page.get_by_test_id("contact-last-name").fill("Иванова")
    await page.get_by_test_id("contact-first-name").fill("Мария")
    await page.get_by_test_id("contact-phones").fill("8 916 000-11-22, 12")
    await page.get_by_test_id("contact-birthday").fill("31.12.1980")
    await page.get_by_test_id("contact-save").click()
    error = page.get_by_test_id("contact-error")
    await error.wait_for(state="visible")  # the bad phone is named; the form keeps it all
    assert "phones" in (await error.inner_text()).lower() or "телефон" in (
        await error.inner_text()).lower()
    assert await page.get_by_test_id("contact-last-name").input_value() == "Иванова"
    await page.get_by_test_id("contact-phones").fill("8 916 000-11-22")
    await page.get_by_test_id("contact-save").click()
    await page.get_by_test_id("contact-row").filter(has_text="Иванова").wait_for()
    maria = await ContactPerson.get(last_name="Иванова")
    assert maria.phones == ["+79160001122"] and maria.birthday.isoformat() == "1980-12-31"
    # edit: the form opens filled, the birthday as 31.12.1980
    await page.get_by_test_id("contact-row").filter(has_text="Иванова").get_by_test_id(
        "contact-edit").click()
    assert await page.get_by_test_id("contact-birthday").input_value() == "31.12.1980"
    await page.get_by_test_id("contact-position").fill("главный бухгалтер")
    await page.get_by_test_id("contact-save").click()
    await page.get_by_test_id("contact-row").filter(has_text="главный бухгалтер").wait_for()
    # archive, then restore from the archived list
    await page.get_by_test_id("contact-row").filter(has_text="Иванова").get_by_test_id(
        "contact-edit").click()
    await page.get_by_test_id("contact-archive").click()
    await page.get_by_test_id("contacts-archived").wait_for()
    assert await page.get_by_test_id("contact-row").filter(has_text="Иванова").count() == 0
    await page.get_by_test_id("contacts-archived").locator("summary").click()
    await page.get_by_test_id("contact-restore").click()
    await page.get_by_test_id("contact-row").filter(has_text="Иванова").wait_for()
    assert (await ContactPerson.get(id=maria.id)).archived_at is None


async def test_activity_form_client_contact_assignees_repeat_reminders_and_states(
        demo, browser):  # noqa: F811
    """S-12..S-16, S-21, A-8, K-15 in the calendar's form on a phone."""
    from models import Activity, ActivityState, Reminder, User
    from services import customfields

    anna = await User.get(telegram_id=100001)
    await customfields.do_create_field(anna, "activity", "budget", "Бюджет", "number")
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/calendar?new=1")
    await page.get_by_test_id("act-dialog").wait_for()
    await page.get_by_test_id("act-title").fill("Встреча по договору")
    client = page.get_by_test_id("act-client")
    # a name typed but not chosen from the list is refused, the form kept
    await client.fill("Ромаш")
    await page.get_by_test_id("act-save").click()
    error = page.get_by_test_id("act-error")
    await error.wait_for(state="visible")
    assert "из списка" in await error.inner_text()
    await client.fill("Ромашка")  # searched as typed: the datalist offers the client
    await page.wait_for_function(
        "document.querySelectorAll('#act-clients option').length > 0")
    await client.fill("ООО «Ромашка»")
    await client.dispatch_event("input")
    contact = page.get_by_test_id("act-contact")
    await page.wait_for_function(
        "document.querySelector('[data-testid=act-contact]').options.length > 1")
    await contact.select_option(label="Петров Пётр")
    await page.get_by_test_id("act-repeat").select_option("FREQ=WEEKLY")
    await page.get_by_test_id("act-reminder-60").check()
    await page.get_by_test_id("act-custom").locator("input").fill("150000")
    await _check_fits(page, "activity form")
    await page.get_by_test_id("act-save").click()
    await page.get_by_test_id("act-dialog").wait_for(state="hidden")
    a = await Activity.get(title="Встреча по договору")
    assert (await a.client).name == "ООО «Ромашка»" and (await a.contact).last_name == "Петров"
    assert a.rrule and "FREQ=WEEKLY" in a.rrule
    assert set(await Reminder.filter(activity_id=a.id).values_list("lead_minutes",
                                                                   flat=True)) == {60}
    assert (await customfields.values_for(anna, "activity", a.id))["budget"] == 150000
    # reopened: filled as saved; the client cleared, the repeating stopped
    await page.goto(f"{demo}/app/calendar?open={a.id}")
    await page.get_by_test_id("act-dialog").wait_for()
    assert await client.input_value() == "ООО «Ромашка»"
    assert await page.get_by_test_id("act-repeat").input_value() == "FREQ=WEEKLY"
    assert await page.get_by_test_id("act-reminder-60").is_checked()
    await client.fill("")
    await client.dispatch_event("input")
    await page.get_by_test_id("act-repeat").select_option("")
    await page.get_by_test_id("act-percent").fill("40")
    await page.get_by_test_id("act-save").click()
    await page.get_by_test_id("act-dialog").wait_for(state="hidden")
    await a.refresh_from_db()
    assert (a.client_id, a.contact_id, a.rrule, a.percent) == (None, None, None, 40)
    # postponed, then reopened, from the form
    await page.goto(f"{demo}/app/calendar?open={a.id}")
    await page.get_by_test_id("act-postpone").click()
    await page.get_by_test_id("act-dialog").wait_for(state="hidden")
    await a.refresh_from_db()
    assert a.state == ActivityState.POSTPONED
    await page.goto(f"{demo}/app/calendar?open={a.id}")
    assert await page.get_by_test_id("act-postpone").is_hidden()
    await page.get_by_test_id("act-reopen").click()
    await page.get_by_test_id("act-dialog").wait_for(state="hidden")
    await a.refresh_from_db()
    assert a.state == ActivityState.PLANNED


async def test_card_legal_entities_managers_relations_and_consent(demo, browser):  # noqa: F811
    """S-1, S-6, U-3, K-16 on the card, as the administrator on a phone."""
    from models import Client, ClientLink, ClientManager, LegalEntity, User

    client = await Client.get(name="ООО «Ромашка»")
    other = await Client.get(name="ИП Сидоров А. В.")
    ivan = await User.get(telegram_id=100003)
    maria = await User.get(telegram_id=100004)
    page = await _phone(demo, browser, 100001)
    page.on("dialog", lambda d: d.accept())
    await page.goto(f"{demo}/app/clients/{client.id}")
    # a second legal entity: a bad INN is named, the form kept; then a good one
    await page.get_by_test_id("legal-add").click()
    await page.get_by_test_id("legal-name").fill("ООО «Ромашка-Трейд»")
    await page.get_by_test_id("legal-inn").fill("7707083890")
    await page.get_by_test_id("legal-save").click()
    error = page.get_by_test_id("legal-error")
    await error.wait_for(state="visible")
    assert "inn" in (await error.inner_text()).lower() or "инн" in (
        await error.inner_text()).lower()
    assert await page.get_by_test_id("legal-name").input_value() == "ООО «Ромашка-Трейд»"
    await page.get_by_test_id("legal-inn").fill("7736050003")
    await page.get_by_test_id("legal-save").click()
    row = page.get_by_test_id("legal-row").filter(has_text="Ромашка-Трейд")
    await row.wait_for()
    await _check_fits(page, "card with two legal entities")
    # edited, made the primary, the old one deleted
    await row.get_by_test_id("legal-edit").click()
    await page.get_by_test_id("legal-kpp").fill("773601001")
    await page.get_by_test_id("legal-save").click()
    await page.get_by_test_id("legal-row").filter(has_text="Ромашка-Трейд").filter(
        has_text="773601001").wait_for()  # the demo's own entity has this KPP too
    await page.get_by_test_id("legal-row").filter(has_text="Ромашка-Трейд").get_by_test_id(
        "legal-primary").click()
    await page.get_by_test_id("legal-row").first.filter(has_text="Ромашка-Трейд").wait_for()
    await page.get_by_test_id("legal-row").nth(1).get_by_test_id("legal-delete").click()
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=legal-row]').length === 1")
    [left] = await LegalEntity.filter(client_id=client.id)
    assert left.name == "ООО «Ромашка-Трейд»" and left.is_primary and left.kpp == "773601001"
    # a manager assigned, then Ivan unassigned; the history shows both
    await page.get_by_test_id("managers-details").locator("summary").click()
    await page.get_by_test_id("manager-pick").select_option(str(maria.id))
    await page.get_by_test_id("manager-assign").click()
    await page.get_by_test_id("client-managers").filter(has_text="Maria Bondar").wait_for()
    await page.get_by_test_id("managers-details").locator("summary").click()
    await page.get_by_test_id("manager-history").locator("li").filter(
        has_text="Иван Кузнецов").get_by_test_id("manager-unassign").click()
    await page.wait_for_function("!document.querySelector('[data-testid=client-managers]')"
                                 ".textContent.includes('Иван')")
    assert not await ClientManager.filter(client_id=client.id, user_id=ivan.id,
                                          unassigned_at=None).exists()
    # a relation added by searching the other client, then removed
    await page.get_by_test_id("link-new").locator("summary").click()
    await page.get_by_test_id("link-kind").select_option("partner_of")
    await page.get_by_test_id("link-other").fill("Сидоров")
    await page.wait_for_function(
        "document.querySelectorAll('#link-clients option').length > 0")
    await page.get_by_test_id("link-other").fill(other.name)
    await page.get_by_test_id("link-add").click()
    await page.get_by_test_id("link-row").filter(has_text="Сидоров").wait_for()
    assert await ClientLink.filter(client_id=client.id, other_id=other.id).exists()
    await page.get_by_test_id("link-row").get_by_test_id("link-remove").click()
    await page.wait_for_function("!document.querySelector('[data-testid=link-row]')")
    # consent: SMS refused, saved from the edit form
    await page.get_by_test_id("field-sms_consent").uncheck()
    await page.get_by_test_id("save").click()
    await page.wait_for_load_state("networkidle")
    await page.wait_for_function("document.querySelector('[data-testid=field-sms_consent]')"
                                 " && !document.querySelector('[data-testid=field-sms_"
                                 "consent]').checked")
    assert (await Client.get(id=client.id)).sms_consent is False


async def test_my_profile_with_a_photo_from_a_phone(demo, browser, tmp_path):  # noqa: F811
    """S-24: one's own profile from ☰ More; a bad email named, the form kept; a photo
    shown in the staff directory."""
    from models import User
    from tests.test_profile import PNG

    page = await _phone(demo, browser, 100003)
    await page.get_by_test_id("nav-more").click()
    await page.get_by_test_id("nav-profile").click()
    await page.get_by_test_id("profile-form").wait_for()
    await _check_fits(page, "my profile")
    await page.get_by_test_id("profile-email").fill("ivan@")
    await page.get_by_test_id("profile-phone").fill("8 916 765-43-21")
    await page.get_by_test_id("profile-save").click()
    error = page.get_by_test_id("profile-error")
    await error.wait_for(state="visible")
    assert "email" in (await error.inner_text()).lower()
    assert await page.get_by_test_id("profile-phone").input_value() == "8 916 765-43-21"
    await page.get_by_test_id("profile-email").fill("ivan.k@romashka-demo.ru")
    await page.get_by_test_id("profile-position").fill("Старший менеджер")
    await page.get_by_test_id("profile-save").click()
    await page.get_by_test_id("profile-saved").wait_for(state="visible")
    ivan = await User.get(telegram_id=100003).prefetch_related("position")
    assert (ivan.phone, ivan.position.name) == ("+79167654321", "Старший менеджер")
    picture = tmp_path / "me.png"
    picture.write_bytes(PNG)
    await page.get_by_test_id("photo-input").set_input_files(str(picture))
    await page.get_by_test_id("profile-photo").wait_for()
    await page.goto(f"{demo}/app/staff")
    photo = page.get_by_test_id("staff-photo")
    await photo.wait_for()
    assert await photo.evaluate("img => img.naturalWidth") == 1


async def test_a_manager_adds_a_district_not_in_the_list(demo, browser):  # noqa: F811
    """A-16: a city and a district not in the lists, added from the card's form by a
    manager, chosen at once and saved with the client."""
    from models import Client, DictionaryItem

    client = await Client.get(name="ООО «Ромашка»")
    page = await _phone(demo, browser, 100003)
    await page.goto(f"{demo}/app/clients/{client.id}")
    await page.get_by_test_id("add-city").locator("summary").click()
    await page.get_by_test_id("add-city-name").fill("Зеленоград")
    await page.get_by_test_id("add-city-save").click()
    await page.wait_for_function("document.querySelector('[data-testid=field-city]')"
                                 ".selectedOptions[0].textContent === 'Зеленоград'")
    await page.get_by_test_id("add-district").locator("summary").click()
    await page.get_by_test_id("add-district-name").fill("Крюково")
    await page.get_by_test_id("add-district-save").click()
    await page.wait_for_function("document.querySelector('[data-testid=field-district]')"
                                 ".selectedOptions[0].textContent === 'Крюково'")
    await page.get_by_test_id("save").click()
    await page.wait_for_load_state("networkidle")
    district = await DictionaryItem.get(name="Крюково")
    city = await DictionaryItem.get(name="Зеленоград")
    assert district.parent_id == city.id
    await page.wait_for_function("document.querySelector('[data-testid=field-district]')")
    await client.refresh_from_db()
    assert (client.city_id, client.district_id) == (city.id, district.id)
    # the same name again is refused, said in the form
    await page.get_by_test_id("add-city").locator("summary").click()
    await page.get_by_test_id("add-city-name").fill("зеленоград")
    await page.get_by_test_id("add-city-save").click()
    await page.get_by_test_id("form-error").wait_for(state="visible")


async def test_a_head_sets_a_day_plan_and_the_manager_sees_it_on_my_day(demo, browser):  # noqa: F811
    """M-14: Svetlana (head of Moscow sales) plans 5 calls for Ivan today on the reports
    page; Ivan's "my day" shows it against what he did."""
    from models import WorkPlan

    head = await _phone(demo, browser, 100005)
    await head.goto(f"{demo}/app/reports")
    await head.get_by_test_id("plan-form").wait_for()
    await _check_fits(head, "reports")
    await head.get_by_test_id("plan-person").select_option(label="Иван Кузнецов")
    await head.get_by_test_id("plan-type").select_option("call")
    await head.get_by_test_id("plan-period").select_option("day")
    await head.get_by_test_id("plan-target").fill("5")
    await head.get_by_test_id("plan-save").click()
    await head.get_by_test_id("day-plan-table").filter(has_text="Иван Кузнецов").wait_for()
    plan = await WorkPlan.get(period="day")
    assert plan.target == 5
    ivan = await _phone(demo, browser, 100003)
    row = ivan.get_by_test_id("home-plan-row")
    await row.first.wait_for()
    assert "Звонок: 0 / 5" in await row.first.inner_text()


async def test_a_file_attached_and_deleted_on_the_card(demo, browser, tmp_path):  # noqa: F811
    """S-2: a file attached by the translated button, then deleted after a question."""
    from models import Client, Document

    client = await Client.get(name="ООО «Ромашка»")
    page = await _phone(demo, browser, 100003)
    page.on("dialog", lambda d: d.accept())
    await page.goto(f"{demo}/app/clients/{client.id}")
    assert "Прикрепить файл" in await page.get_by_test_id("upload-button").inner_text()
    offer = tmp_path / "КП.pdf"
    offer.write_bytes(b"%PDF-1.4 offer")
    await page.get_by_test_id("upload").set_input_files(str(offer))
    await page.get_by_test_id("file-row").filter(has_text="КП.pdf").wait_for()
    await page.get_by_test_id("file-row").filter(has_text="КП.pdf").get_by_test_id(
        "file-delete").click()
    await page.wait_for_function("!document.querySelector('[data-testid=file-row]')")
    assert not await Document.filter(client_id=client.id).exists()


async def test_mailings_are_paged_with_their_total(demo, browser):  # noqa: F811
    """K-16: the mailings page says how many there are and "page / pages", twenty a page,
    the newest first, like the other paged lists — not only "older"."""
    from models import Mailing, MessageTemplate, User

    admin = await User.get(telegram_id=100001)
    template = await MessageTemplate.create(name="Новости", channel="email", subject="Новости",
                                            body="Здравствуйте!", created_by=admin)
    for n in range(1, 24):
        await Mailing.create(name=f"Рассылка {n:02d}", channel="email", template=template,
                             created_by=admin)
    total = await Mailing.all().count()
    pages = (total + 19) // 20
    page = await _phone(demo, browser, 100001)
    await page.goto(f"{demo}/app/mailings")
    assert await page.get_by_test_id("mailings-total").inner_text() == str(total)
    assert await page.get_by_test_id("mailing").count() == 20
    assert "Рассылка 23" in await page.get_by_test_id("mailing").first.inner_text()
    assert await page.get_by_test_id("mailings-page").inner_text() == f"1 / {pages}"
    assert await page.get_by_test_id("mailings-newer").count() == 0
    await _check_fits(page, "mailings")
    await page.get_by_test_id("mailings-older").click()
    await page.wait_for_url("**/app/mailings?page=2")
    assert await page.get_by_test_id("mailings-page").inner_text() == f"2 / {pages}"
    assert await page.get_by_test_id("mailing").count() == min(20, total - 20)
    assert "Рассылка 03" in await page.inner_text("main")
    assert await page.get_by_test_id("mailings-total").inner_text() == str(total)
    await _check_fits(page, "mailings, page 2")
    await page.get_by_test_id("mailings-newer").click()
    await page.wait_for_url("**/app/mailings?page=1")
    assert "Рассылка 23" in await page.get_by_test_id("mailing").first.inner_text()
