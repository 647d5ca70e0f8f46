"""Reminders before and after invoices' due dates (issue 14: K-6 receivables, M-6 payment
deadlines): the owner hears in Telegram, the client gets an email or SMS through the
outbox, each reminder once (two rounds, two concurrent rounds), only the latest offset
after a pause, never for a paid invoice, with the open amount of a partly paid one;
consent and do-not-contact respected; the settings checked. The clock is pinned
(2026-06-10, 10:00 in Moscow) and moved to known days: a due date on Sunday 14 June,
and one on Sunday 31 May, a month's end."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from models import AuditLog, EntryKind, LedgerEntry, OwnEntity, Role
from models.messaging import Channel, OutboundMessage
from models.settlements import Allocation, DueReminder
from services import clients as client_svc
from services.due_reminder_settings import (
    OVERDUE,
    do_set_due_settings,
    due_settings,
    template_names,
)
from services.due_reminders import run_due_reminders
from services.errors import PermissionDenied, ValidationFailed
from tests.test_bot_deals import buttons, plain

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal


def _at(day: date, hour_utc: int = 7) -> datetime:
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


async def _invoice(client, own, due: date, amount="1000.00", number="A-1"):
    return await LedgerEntry.create(client_id=client.id, own_entity_id=own.id,
                                    currency="RUB", kind=EntryKind.INVOICE,
                                    dated=date(2026, 5, 1), due=due, amount=D(amount),
                                    number=number)


async def _pay(client, own, debit, amount: str):
    pay = await LedgerEntry.create(client_id=client.id, own_entity_id=own.id,
                                   currency="RUB", kind=EntryKind.PAYMENT,
                                   dated=date(2026, 6, 1), amount=D(amount))
    await Allocation.create(credit=pay, debit=debit, amount=D(amount))


async def _world(make_staff, *, language="ru", **client):
    owner = await make_staff(Role.MANAGER, language=language, timezone="Europe/Moscow",
                             email="ivan@example.ru")
    made = (await client_svc.do_create_client(owner, {
        "name": "Ромашка", "email": "buh@romashka.ru", **client})).client
    own = await OwnEntity.create(name="ООО «Контакт»", inn="7707083893", is_default=True)
    return owner, made, own


async def test_k6_m6_before_and_after_a_sunday_due_date_once(database_url, make_staff,
                                                            pinned_clock):
    """Due Sunday 14 June: nothing on the 10th, 3 days before on the 11th (email to the
    client), 1 day after on the 15th, 7 days after on the 21st; each once."""
    owner, client, own = await _world(make_staff)
    entry = await _invoice(client, own, date(2026, 6, 14))
    assert (await run_due_reminders()).notes == []  # the 10th: not yet
    pinned_clock.move_to(_at(date(2026, 6, 11)))
    first = await run_due_reminders()
    assert [(n.days, n.client_result) for n in first.notes] == [
        (-3, "email:buh@romashka.ru")]
    assert first.queued == 1 and (await run_due_reminders()).notes == []  # once
    mail = await OutboundMessage.get(client_id=client.id)
    assert mail.channel == Channel.EMAIL and "A-1" in mail.subject
    assert "14.06.2026" in mail.body and "1 000" in plain(mail.body)
    assert "ООО «Контакт»" in mail.body and mail.reply_to == "ivan@example.ru"
    pinned_clock.move_to(_at(date(2026, 6, 12)))
    assert (await run_due_reminders()).notes == []
    pinned_clock.move_to(_at(date(2026, 6, 15)))
    late = await run_due_reminders()
    assert [n.days for n in late.notes] == [1]
    overdue = await OutboundMessage.filter(client_id=client.id).order_by("-id").first()
    assert "просрочен" in overdue.subject
    pinned_clock.move_to(_at(date(2026, 6, 21)))
    assert [n.days for n in (await run_due_reminders()).notes] == [7]
    pinned_clock.move_to(_at(date(2026, 6, 30)))
    assert (await run_due_reminders()).notes == []
    sent = await DueReminder.filter(entry=entry).order_by("offset_days", "audience"
                                                          ).values_list("offset_days",
                                                                        "audience")
    assert sent == [(-3, "client"), (-3, "owner"), (1, "client"), (1, "owner"),
                    (7, "client"), (7, "owner")]


async def test_k6_m6_month_end_backlog_sends_only_the_latest(database_url, make_staff):
    """Due Sunday 31 May, the service first runs on 10 June (10 days late): one reminder,
    the 7-day one, not three."""
    owner, client, own = await _world(make_staff)
    await _invoice(client, own, date(2026, 5, 31))
    result = await run_due_reminders()
    assert [(n.days, n.number) for n in result.notes] == [(10, "A-1")]
    assert await DueReminder.filter(audience="owner").values_list("offset_days",
                                                                 flat=True) == [7]
    assert await OutboundMessage.filter(client_id=client.id).count() == 1


async def test_k6_m6_paid_never_partly_paid_with_the_open_amount(database_url, make_staff):
    owner, client, own = await _world(make_staff)
    paid = await _invoice(client, own, date(2026, 6, 5), "500.00", "P-1")
    await _pay(client, own, paid, "500.00")
    part = await _invoice(client, own, date(2026, 6, 5), "1000.00", "P-2")
    await _pay(client, own, part, "250.50")
    void = await _invoice(client, own, date(2026, 6, 5), "300.00", "V-1")
    void.void = True
    await void.save()
    result = await run_due_reminders()
    assert [(n.number, n.open) for n in result.notes] == [("P-2", D("749.50"))]
    mail = await OutboundMessage.get(client_id=client.id)
    assert "749,50" in plain(mail.body)


async def test_k6_m6_two_concurrent_rounds_send_once(database_url, make_staff):
    """Two replicas at the same moment (PostgreSQL too): the unique row decides."""
    owner, client, own = await _world(make_staff)
    for n in range(3):
        await _invoice(client, own, date(2026, 6, 9), number=f"C-{n}")
    results = await asyncio.gather(run_due_reminders(), run_due_reminders())
    assert sum(len(r.notes) for r in results) == 3
    assert await OutboundMessage.filter(client_id=client.id).count() == 3
    assert await DueReminder.filter(audience="client").count() == 3
    assert (await run_due_reminders()).notes == []


async def test_m6_do_not_contact_and_phone_only(database_url, make_staff):
    owner, client, own = await _world(make_staff)
    client.do_not_contact = True
    await client.save()
    await _invoice(client, own, date(2026, 6, 9))
    result = await run_due_reminders()
    assert [n.client_result for n in result.notes] == ["do_not_contact"]
    assert not await OutboundMessage.filter(client_id=client.id).exists()
    assert await AuditLog.filter(client_id=client.id, action="due_reminder",
                                 new_value="do_not_contact").exists()
    # only a phone: an SMS; an email without consent falls back to it too
    phone_only = (await client_svc.do_create_client(owner, {
        "name": "Лютик", "phone": "+7 916 123-45-67"})).client
    await _invoice(phone_only, own, date(2026, 6, 9), number="S-1")
    no_mail = (await client_svc.do_create_client(owner, {
        "name": "Василёк", "email": "v@vasilek.ru", "phone": "+7 916 765-43-21"})).client
    no_mail.email_consent = False
    await no_mail.save()
    await _invoice(no_mail, own, date(2026, 6, 9), number="S-2")
    nothing = (await client_svc.do_create_client(owner, {"name": "Пустой"})).client
    await _invoice(nothing, own, date(2026, 6, 9), number="S-3")
    result = await run_due_reminders()
    told = {n.number: n.client_result for n in result.notes}
    assert told == {"S-1": "sms:+79161234567", "S-2": "sms:+79167654321",
                    "S-3": "no_address"}
    sms = await OutboundMessage.get(client_id=phone_only.id)
    assert sms.channel == Channel.SMS and "S-1" in sms.body and "просрочен" in sms.body


async def test_k6_m6_clients_off_and_outside_working_hours(database_url, make_staff,
                                                           pinned_clock):
    owner, client, own = await _world(make_staff)
    admin = await make_staff(Role.ADMIN)
    await do_set_due_settings(admin, {"clients": False})
    await _invoice(client, own, date(2026, 6, 9))
    pinned_clock.move_to(datetime(2026, 6, 10, 19, tzinfo=UTC))  # 22:00 in Moscow
    assert (await run_due_reminders()).notes == []
    pinned_clock.move_to(datetime(2026, 6, 11, 6, tzinfo=UTC))  # 9:00
    result = await run_due_reminders()
    assert [n.client_result for n in result.notes] == ["off"]
    assert not await OutboundMessage.exists()


async def test_k6_m6_settings_admin_only_choices_checked(database_url, make_staff):
    admin = await make_staff(Role.ADMIN)
    manager = await make_staff(Role.MANAGER)
    assert (await due_settings()).offsets == [-3, 1, 7]
    assert OVERDUE in await template_names()
    with pytest.raises(PermissionDenied):
        await do_set_due_settings(manager, {"before": [1]})
    for bad in ({"before": [4]}, {"after": "7"}, {"after": [True]},
                {"soon_template": "Нет такого"}):
        with pytest.raises(ValidationFailed):
            await do_set_due_settings(admin, bad)
    done = await do_set_due_settings(admin, {"before": [5, 1], "after": [30, 3]})
    assert (await due_settings()).offsets == [-5, -1, 3, 30] == done.offsets


async def test_k6_m6_owner_in_ukrainian_through_the_emulator(service, emulator, make_staff):
    """A Ukrainian owner gets the reminder in Ukrainian with a button to the client's
    card; pressing it opens the card."""
    from notifications.due import send_due_reminders
    from tests.conftest import say
    from tests.test_bot_deals import press

    owner, client, own = await _world(make_staff, language="uk")
    await say(emulator, owner.telegram_id, "/menu")  # the person has opened the bot
    await _invoice(client, own, date(2026, 6, 5), "1500.00", "У-7")
    assert await send_due_reminders(service.bot, service.i18n, service.outbox) == 1
    msg = [m for m in emulator.bot_messages(owner.telegram_id) if "У-7" in m.get("text", "")]
    assert len(msg) == 1
    text = plain(msg[0]["text"])
    assert "Рахунок У-7 прострочено на 5 дн." in text and "Ромашка" in text
    assert "1 500 ₽" in text and "05.06.2026" in text
    assert "buh@romashka.ru" in text
    label = next(b for b in buttons(msg[0]) if "Ромашка" in b or "клієнта" in b)
    assert buttons(msg[0])[label].startswith("cl:card:")
    _answer, card = await press(emulator, owner.telegram_id, msg[0], label)
    assert card is not None and "Ромашка" in card["text"]
    assert await send_due_reminders(service.bot, service.i18n, service.outbox) == 0


async def test_k6_m6_settings_in_the_admin_page_and_api(service, emulator, make_staff):
    """The admin page shows the choices as boxes and lists; the API refuses a manager
    and names a bad day."""
    from tests.test_web import signed_in

    admin = await make_staff(Role.ADMIN, language="en")
    manager = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, admin)
    page = await (await service.client.get("/app/admin")).text()
    assert 'data-testid="due-form"' in page and 'name="before"' in page
    assert f"<option selected>{OVERDUE}</option>" in page
    url = "/api/v1/settings/due-reminders"
    body = {"before": [7], "after": [3, 14], "clients": False,
            "soon_template": "Invoice due soon", "overdue_template": OVERDUE}
    resp = await service.client.put(url, json=body)
    assert resp.status == 200 and (await resp.json())["after"] == [3, 14]
    resp = await service.client.put(url, json={**body, "before": [4]})
    assert resp.status == 422 and "before" in await resp.text()
    service.client.session.cookie_jar.clear()
    await signed_in(service, emulator, manager)
    assert (await service.client.put(url, json=body)).status == 403
