"""An order from the client's card in the bot (issue 13: S-17, K-4, K-5): lines typed
with their quantities and priced, the running total, a short line named at posting
with the draft kept, the invoice emailed, shipped — and a menu button leaving the
draft's questions."""

from __future__ import annotations

from decimal import Decimal

from models import (
    Order,
    OrderState,
    OutboundMessage,
    OwnEntity,
    Role,
    StockLevel,
)
from tests.conftest import say, settled
from tests.test_bot_deals import buttons, current, label_with, plain, press
from tests.test_bot_deals_more import _client_card
from tests.test_orders import _setup

D = Decimal


async def test_s17_an_order_typed_line_by_line_posted_invoiced_and_shipped(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client, _retail, store, pipe, bolt, _m = await _setup(ivan, on_hand="4")
    await client.__class__.filter(id=client.id).update(email="zakaz@romashka.ru")
    await OwnEntity.filter(is_default=True).update(bank_name="ПАО Сбербанк",
                                                   bik="044525225")
    chat = ivan.telegram_id
    card = await _client_card(service, emulator, chat, "Ромашка")
    assert "🧾 Заказ" in buttons(card)
    _answer, draft = await press(emulator, chat, card, "🧾 Заказ")
    assert "Заказ № " in draft["text"] and "Черновик" in draft["text"]
    assert "Строк пока нет" in draft["text"]
    shown = await say(emulator, chat, "труба 5")
    assert "Строка добавлена" in shown["text"]
    assert "1. Труба ДН50 — 5 шт × 1 000 ₽ = 5 000 ₽" in plain(shown["text"])
    shown = await say(emulator, chat, "болт м8 2,5")
    text = plain(shown["text"])
    assert "2. Болт М8 — 2,5 кг × 12,50 ₽ = 31,25 ₽" in text
    assert "Итого: 5 031,25 ₽" in text
    nothing = await say(emulator, chat, "гайка")
    assert "ничего не найдено" in nothing["text"]
    # posting: 5 pipes wanted, 4 free — named, the draft kept
    _answer, refused = await press(emulator, chat, shown, "✅ Провести")
    assert "«Труба ДН50»: нужно 5, свободно 4, не хватает 1" in refused["text"]
    assert "черновиком" in refused["text"]
    order = await Order.get(client_id=client.id)
    assert order.state == OrderState.DRAFT
    # the last line removed and the pipe typed again with 4
    _answer, shown = await press(emulator, chat, shown, "↩️ Убрать последнюю строку")
    assert "Болт" not in shown["text"]
    _answer, shown = await press(emulator, chat, shown, "↩️ Убрать последнюю строку")
    shown = await say(emulator, chat, "T-50 4")
    _answer, posted = await press(emulator, chat, shown, "✅ Провести")
    assert "Проведён: товар зарезервирован" in posted["text"]
    level = await StockLevel.get(warehouse=store, product=pipe)
    assert level.reserved == D(4)
    # the invoice to the client's email, the file attached
    _answer, said = await press(emulator, chat, posted, "📄 Счёт")
    assert "zakaz@romashka.ru" in said["text"]
    outbound = await OutboundMessage.get(client_id=client.id)
    assert outbound.subject == f"Счёт № {order.number}" and len(outbound.attachments) == 1
    _answer, shipped = await press(emulator, chat, posted, "🚚 Отгружено")
    assert "Отгружен" in shipped["text"]
    level = await StockLevel.get(warehouse=store, product=pipe)
    assert (level.on_hand, level.reserved) == (D(0), D(0))
    assert bolt.id


async def test_s17_order_questions_are_left_by_a_menu_button(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client, *_ = await _setup(ivan)
    chat = ivan.telegram_id
    reply = await say(emulator, chat, "/order")
    assert "Open the client's card first" in reply["text"]
    card = await _client_card(service, emulator, chat, "Ромашка")
    await say(emulator, chat, "/order")
    reply = await say(emulator, chat, "💼 Deals")
    assert "My open deals" in reply["text"] or "no open deals" in reply["text"]
    reply = await say(emulator, chat, "труба 5")  # not a line any more: the quick log
    assert "Line added" not in reply["text"]
    await settled(service, emulator)
    order = await Order.get(client_id=client.id)
    assert await order.lines.all().count() == 0
    assert card and label_with and current
