"""The demo's data (`make demo`): seeded once, and the catalogue it seeds prices the
way the README's walk-through says (issue 13: K-4, K-5, A-14, S-22)."""

from __future__ import annotations

from decimal import Decimal

from models import Client, Order, PriceList, Product, StockLevel
from services import pricing
from services.clock import utcnow


async def test_demo_seeds_a_catalogue_that_prices_romashka_as_a_dealer(database_url):
    from kontakt.demo import seed_demo
    from web.emulator import BotApiEmulator

    emulator = BotApiEmulator(token="123:demo", bot_username="demo_bot")
    await seed_demo(emulator, bot_username="demo_bot")
    await seed_demo(emulator, bot_username="demo_bot")  # a second start adds nothing
    assert await PriceList.all().count() == 2
    assert await Product.filter(code="P-A4").count() == 1
    order = await Order.get()  # Ivan's, shipped, with the promo's gift line
    assert (order.state, order.total) == ("shipped", Decimal("15830.40"))
    # issue 15 (S-26, K-9, U-9): a plan, a scheme and Romashka's card, once
    from models import BonusScheme, LoyaltyCard, SalesPlan

    assert await BonusScheme.all().count() == 1 and await SalesPlan.all().count() == 2
    assert await LoyaltyCard.filter(number="RM-0001").count() == 1
    # M-7: one dealer with a deal through it, once
    from models import DealParty, PartnerRole

    assert await PartnerRole.filter(kind="dealer").count() == 1
    assert await DealParty.filter(role="dealer").count() == 1
    romashka = await Client.get(name="ООО «Ромашка»")
    a4 = await Product.get(code="P-A4")
    today = utcnow().date()
    ten = await pricing.price_of(romashka.id, a4.id, Decimal(10), today)
    sixty = await pricing.price_of(romashka.id, a4.id, Decimal(60), today)
    # wholesale −10 % of 320 = 288, then the dealers' 3 % on goods; from 50 packs −15 %
    assert ten.price == Decimal("279.36")
    assert sixty.price == Decimal("263.84")
    assert [s["step"] for s in sixty.trace][-1] == "group"
    assert (await StockLevel.get(product=a4)).on_hand == Decimal(340)  # 60 shipped


async def test_demo_order_is_owed_by_its_terms(database_url):
    """K-6, M-6: the demo's shipped order is an invoice in Romashka's ledger, due 14
    days after the shipment."""
    from datetime import timedelta

    from kontakt.demo import seed_demo
    from models import EntryKind, LedgerEntry
    from web.emulator import BotApiEmulator

    await seed_demo(BotApiEmulator(token="123:demo", bot_username="demo_bot"),
                    bot_username="demo_bot")
    invoice = await LedgerEntry.get(kind=EntryKind.INVOICE)
    assert invoice.amount == Decimal("15830.40")
    assert invoice.due == invoice.dated + timedelta(days=14)
