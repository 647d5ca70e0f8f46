"""``/price`` in the bot (issue 13: K-5, K-4, A-14): the client whose card is open, or
asked; a product found by part of its name, its article or with a typo; the price for
the quantity with how it came about, and the free stock."""

from __future__ import annotations

from decimal import Decimal

from models import (
    ClientTerms,
    ListPrice,
    PriceList,
    PriceRule,
    Product,
    Role,
    StockLevel,
    Warehouse,
)
from services import products
from tests.conftest import say, settled
from tests.test_bot_deals import buttons, label_with, plain, press
from tests.test_bot_deals_more import _client_card

D = Decimal


async def _catalogue(owner):
    from services import clients as client_svc

    client = (await client_svc.do_create_client(owner, {"name": "ООО Ромашка"})).client
    retail = await PriceList.create(name="Розница", is_default=True)
    pipe = await Product.create(name="Труба стальная ДН50", code="T-50", unit="м",
                                search_text=products.search_text_of("Труба стальная ДН50",
                                                                    "T-50"))
    thin = await Product.create(name="Труба стальная ДН20", code="T-20", unit="м",
                                search_text=products.search_text_of("Труба стальная ДН20",
                                                                    "T-20"))
    elbow = await Product.create(name="Отвод 90°", code="O-90")  # search text filled later
    for product, price in ((pipe, "1000.00"), (thin, "400.00"), (elbow, "150.00")):
        await ListPrice.create(price_list=retail, product=product, price=D(price))
    await PriceRule.create(price_list=retail, position=1, name="От 10 м", product=pipe,
                           min_qty=D(10), value=D(5))
    await ClientTerms.create(client=client, discount=D(3))
    store = await Warehouse.create(name="Основной", is_default=True)
    await StockLevel.create(warehouse=store, product=pipe, on_hand=D(25), reserved=D(5))
    return client, pipe, thin, elbow


async def test_k5_search_forgives_a_typo_and_finds_an_article(database_url, make_staff):
    from services import catalogue

    pipe = await Product.create(name="Труба стальная ДН50", code="T-50")
    await Product.create(name="Кран шаровый", code="K-15", archived=True)
    assert [p.id for p in await products.search_products("труба дн50")] == [pipe.id]
    assert [p.id for p in await products.search_products("T-50")] == [pipe.id]
    assert [p.id for p in await products.search_products("трбуа стальная")] == [pipe.id]
    assert await products.search_products("кран") == []  # archived
    assert await products.search_products("ё") == []
    # renamed: found by its new name, not the old one
    await catalogue.do_update_product(await make_staff(Role.ADMIN), pipe.id,
                                      {"name": "Труба оцинкованная ДН50"})
    assert [p.id for p in await products.search_products("оцинкованная")] == [pipe.id]
    assert await products.search_products("стальная") == []


async def test_k5_price_for_the_open_client_with_the_trace_and_stock(service, emulator,
                                                                     make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client, pipe, _thin, elbow = await _catalogue(ivan)
    chat = ivan.telegram_id
    await _client_card(service, emulator, chat, "ООО Ромашка")
    answer = await say(emulator, chat, "/price труба дн50 12 м")
    text = plain(answer["text"])
    assert "Труба стальная ДН50 (T-50)" in text and "Для ООО Ромашка" in text
    # 1000 − 5 % (from 10 m) = 950, − the client's 3 % = 921,50; × 12 = 11 058
    assert "921,50 ₽ за м × 12 = 11 058 ₽" in text
    assert "прайс-лист «Розница»: 1 000 ₽" in text and "правило «От 10 м»: 950 ₽" in text
    assert "скидка клиента −3 %: 921,50 ₽" in text
    assert "Свободно: Основной — 20 м" in text
    # a typo; and a product made before its search text
    answer = await say(emulator, chat, "/price отвод")
    assert "Отвод 90°" in answer["text"] and "150 ₽" in plain(answer["text"])
    assert (await Product.get(id=elbow.id)).search_text
    # more than free stock: said
    answer = await say(emulator, chat, "/price T-50 30")
    assert "Не хватает свободного остатка на 30 м" in plain(answer["text"])


async def test_k5_price_asks_the_product_and_the_client_and_leaves_on_a_menu_button(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    _client, _pipe, _thin, _elbow = await _catalogue(ivan)
    chat = ivan.telegram_id
    ask = await say(emulator, chat, "/price")
    assert "Which product?" in ask["text"] and "/cancel" in ask["text"]
    nothing = await say(emulator, chat, "гайка")
    assert "Nothing found for “гайка”" in nothing["text"]
    several = await say(emulator, chat, "труба")
    assert {label_with(several, "ДН50"), label_with(several, "ДН20")} <= set(buttons(several))
    _answer, who = await press(emulator, chat, several, label_with(several, "ДН20"))
    assert "For which client?" in who["text"]
    none = await say(emulator, chat, "Лютик")
    assert "No client found for “Лютик”" in none["text"]
    answer = await say(emulator, chat, "ромашка")
    assert "Труба стальная ДН20" in answer["text"] and "388 ₽" in plain(answer["text"])
    # a menu button leaves the question
    await say(emulator, chat, "/price")
    reply = await say(emulator, chat, "💼 Deals")
    assert "Which" not in reply["text"]
    await settled(service, emulator)
