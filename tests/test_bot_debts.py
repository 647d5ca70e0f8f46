"""Settlements in the bot (issue 14: K-6 receivables, M-6 payment deadlines), through the
Bot API emulator: the client's card shows its balance and the overdue part in one line;
/debts lists the overdue invoices (the longest overdue first), then those due within 7
days, and says so kindly when there are none; a head records a payment from the card
(a bad amount named and asked again, the invoice, the date, the confirmation) and sees
the new balance; a manager has no 💳 button and a forged press is refused.
The clock is pinned at 2026-06-10, 10:00 in Moscow."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models import Department, EntryKind, LedgerEntry, OwnEntity, Role
from services import ledger, order_invoices
from services.storage import LocalFileStore
from tests.conftest import say, settled
from tests.test_bot_deals import buttons, label_with, plain, press
from tests.test_bot_deals_more import _client_card
from tests.test_ledger import _hand_made, _posted
from tests.test_orders import _setup

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal


async def _people(make_staff, language="ru"):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept, language=language,
                            timezone="Europe/Moscow")
    head = await make_staff(Role.HEAD, department=dept, language=language,
                            timezone="Europe/Moscow")
    return ivan, head


async def _debts(ivan, tmp_path):
    """Ivan's client owes 1 000 ₽ due 1 May (40 days overdue) and 500 ₽ due 1 June (9
    days), 700 ₽ due 1 July, and an order of 2 000 ₽ invoiced and shipped today (due
    today: not overdue yet)."""
    client, _r, _s, pipe, _b, _m = await _setup(ivan)
    own = await OwnEntity.get(is_default=True)
    await _hand_made(client, own)
    order = await _posted(ivan, client, pipe)
    await order_invoices.do_make_invoice(ivan, order.id, LocalFileStore(tmp_path))
    from services import orders as order_svc

    await order_svc.do_ship(ivan, order.id)
    return client, order


async def test_k6_m6_card_line_and_debts_in_order(service, emulator, make_staff, tmp_path):
    ivan, head = await _people(make_staff)
    client, order = await _debts(ivan, tmp_path)
    card = await _client_card(service, emulator, ivan.telegram_id, "Ромашка")
    assert "💰 Долг 4 200 ₽, просрочено 1 500 ₽ (40 дн.)" in plain(card["text"])
    # /debts: the longest overdue first, then what falls due within 7 days; not 1 July
    for person in (ivan, head):  # the head sees his department's clients
        listing = await say(emulator, person.telegram_id, "/debts")
        text = plain(listing["text"])
        assert "Долги" in text
        rows = [ln for ln in text.splitlines() if ln.startswith("•")]
        assert rows == [
            "• Ромашка · № A-1 · 1 000 ₽ · срок 01.05.2026 · просрочен на 40 дн.",
            "• Ромашка · № A-2 · 500 ₽ · срок 01.06.2026 · просрочен на 9 дн.",
            f"• Ромашка · № {order.number} · 2 000 ₽ · срок 10.06.2026"], rows
        assert text.index("Просрочено:") < text.index("Скоро срок:")
        assert "A-3" not in text
    # its button opens the client's card
    _answer, opened = await press(emulator, ivan.telegram_id, listing, "🏢 Ромашка")
    assert opened["text"].startswith("Ромашка")
    assert "💰 Долг" in opened["text"]


async def test_k6_m6_debts_empty_and_nothing_owed(service, emulator, make_staff):
    petr = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    await _setup(petr)
    reply = await say(emulator, petr.telegram_id, "/debts")
    assert "Просроченных счетов нет" in reply["text"] and "7 дней" in reply["text"]
    card = await _client_card(service, emulator, petr.telegram_id, "Ромашка")
    assert "💰 Расчёты: долгов нет" in card["text"]


async def test_k6_head_records_a_payment_from_the_card(service, emulator, make_staff,
                                                         tmp_path):
    ivan, head = await _people(make_staff)
    client, _order = await _debts(ivan, tmp_path)
    chat = head.telegram_id
    card = await _client_card(service, emulator, chat, "Ромашка")
    answer, ask = await press(emulator, chat, card, "💳 Оплата")
    assert not answer.get("show_alert")
    assert "Оплата от Ромашка" in ask["text"] and "1 500,50" in ask["text"]
    # a bad amount: named, asked again, the dialog kept
    bad = await say(emulator, chat, "много")
    assert "«много» — не число" in bad["text"] and "ещё раз" in bad["text"]
    bad = await say(emulator, chat, "-5")
    assert "сумма" in bad["text"]
    which = await say(emulator, chat, "1 000")
    assert "Какой счёт" in which["text"]
    assert "№ A-1 · не оплачено 1 000 ₽" in [plain(b) for b in buttons(which)]
    _answer, when = await press(emulator, chat, which, label_with(which, "A-2"))
    assert "Когда получена" in when["text"]
    # a bad date, then yesterday's button
    wrong = await say(emulator, chat, "32.13.2026")
    assert "31.12.2025" in wrong["text"] and "ещё раз" in wrong["text"]
    future = await say(emulator, chat, "11.06.2026")
    assert "будущ" in future["text"]
    _answer, check = await press(emulator, chat, when, "Вчера, 09.06")
    text = plain(check["text"])
    assert "Сумма: 1 000 ₽" in text and "№ A-2" in text and "09.06.2026" in text
    # ✏️ Change starts again from the amount; the oldest first this time
    _answer, again = await press(emulator, chat, check, "✏️ Изменить")
    assert "Введите полученную сумму" in again["text"]
    which = await say(emulator, chat, "1 500,50")
    _answer, when = await press(emulator, chat, which, "⏳ Сначала старые")
    check = await say(emulator, chat, "05.06.2026")
    assert "сначала самые старые счета" in check["text"]
    answer, saved = await press(emulator, chat, check, "✅ Сохранить")
    assert answer["text"] == "Сохранено."
    assert "Оплата 1 500,50 ₽ от Ромашка записана" in plain(saved["text"])
    assert "💰 Долг 2 699,50 ₽, просрочено 0 ₽" not in plain(saved["text"])
    assert "💰 Долг 2 699,50 ₽" in plain(saved["text"])  # 4 200 − 1 500,50, none overdue
    [pay] = await LedgerEntry.filter(client_id=client.id, kind=EntryKind.PAYMENT)
    assert (pay.amount, pay.dated, pay.currency, pay.created_by_id) == (
        D("1500.50"), date(2026, 6, 5), "RUB", head.id)
    # the confirmation's buttons are spent: a second ✅ is out of date, nothing doubled
    answer, _none = await press(emulator, chat, check, "✅ Сохранить")
    assert answer["show_alert"]
    assert await LedgerEntry.filter(client_id=client.id, kind=EntryKind.PAYMENT).count() == 1


async def test_k6_payment_dialog_left_by_a_menu_button_and_cancel(service, emulator,
                                                                   make_staff, tmp_path):
    ivan, head = await _people(make_staff)
    client, _order = await _debts(ivan, tmp_path)
    chat = head.telegram_id
    card = await _client_card(service, emulator, chat, "Ромашка")
    await press(emulator, chat, card, "💳 Оплата")
    reply = await say(emulator, chat, "📅 Сегодня")
    assert reply["text"].startswith("📅 Сегодня")
    await settled(service, emulator)
    reply = await say(emulator, chat, "700")  # not an amount any more: the quick log
    assert "Какой счёт" not in reply["text"]
    _answer, ask = await press(emulator, chat, card, "💳 Оплата")
    which = await say(emulator, chat, "700")
    waiting = await say(emulator, chat, "привет")  # a text where a button is awaited
    assert "Выберите кнопкой выше счёт" in waiting["text"]
    answer, said = await press(emulator, chat, which, "❌ Отмена")
    assert "не записана" in said["text"]
    await settled(service, emulator)
    assert not await LedgerEntry.filter(client_id=client.id, kind=EntryKind.PAYMENT).exists()
    assert ask


async def test_k6_a_manager_has_no_payment_button_and_a_forged_press_is_refused(
        service, emulator, make_staff, tmp_path):
    ivan, _head = await _people(make_staff)
    client, _order = await _debts(ivan, tmp_path)
    chat = ivan.telegram_id
    card = await _client_card(service, emulator, chat, "Ромашка")
    assert not [b for b in buttons(card) if "💳" in b]
    from bot.routers.debts import DebtCB

    answer, _none = await press(emulator, chat, card, data=DebtCB(
        action="pay", client_id=client.id).pack())
    assert answer["show_alert"] and "нет прав" in answer["text"]
    answer, _none = await press(emulator, chat, card, data=DebtCB(
        action="save", client_id=client.id).pack())
    assert answer["show_alert"]
    await settled(service, emulator)
    assert not await LedgerEntry.filter(client_id=client.id, kind=EntryKind.PAYMENT).exists()
    # the service refuses anyway
    try:
        await ledger.do_record_payment(ivan, {"client_id": client.id, "amount": "10"})
    except Exception as exc:  # noqa: BLE001
        assert type(exc).__name__ == "PermissionDenied"
    else:
        raise AssertionError("a manager recorded a payment")


async def test_k6_m6_in_ukrainian_an_advance_and_no_debts(service, emulator, make_staff):
    ivan, head = await _people(make_staff, language="uk")
    client, *_ = await _setup(ivan)
    await ledger.do_record_payment(head, {"client_id": client.id, "amount": "2 000",
                                          "currency": "RUB"})
    card = await _client_card(service, emulator, head.telegram_id, "Ромашка")
    assert "💰 Аванс 2 000 ₽" in plain(card["text"])
    assert "💳 Оплата" in buttons(card)
    reply = await say(emulator, head.telegram_id, "/debts")
    assert "Прострочених рахунків немає" in reply["text"]
    _answer, ask = await press(emulator, head.telegram_id, card, "💳 Оплата")
    assert "Оплата від Ромашка" in ask["text"] and "Аванс 2 000" in plain(ask["text"])
    bad = await say(emulator, head.telegram_id, "0")
    assert "Введіть суму ще раз" in bad["text"]
