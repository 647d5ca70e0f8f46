"""A promo's effect (issue 13: A-14): the posted, shipped and closed orders of a period
with a line under the promo against those without any promo line — orders, revenue,
margin, the average order and the margin percent, per currency, summed in SQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import Order, OrderLine, Product, Promo, Role
from services import clients as client_svc
from services import discount_admin as svc
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal
TODAY = TEST_NOW.date()


async def _order(owner, client, state, lines, *, currency="RUB", days_ago=1):
    order = await Order.create(number=f"N{await Order.all().count() + 1}", client=client,
                               owner=owner, state=state, currency=currency,
                               posted_at=TEST_NOW - timedelta(days=days_ago))
    for n, (product, amount, cost, promo) in enumerate(lines):
        await OrderLine.create(order=order, position=n, product=product, name=product.name,
                               quantity=D(1), list_price=D(amount), price=D(amount),
                               amount=D(amount), cost=None if cost is None else D(cost),
                               promo=promo)
    return order


async def test_a14_promo_effect_with_and_without_known_numbers(database_url, make_staff):
    admin = await make_staff(Role.ADMIN, timezone="UTC")
    client = (await client_svc.do_create_client(admin, {"name": "Ромашка"})).client
    pipe = await Product.create(name="Труба")
    gift = await Product.create(name="Степлер")
    promo = await Promo.create(name="Степлер в подарок", percent=D(100),
                               starts=TODAY - timedelta(days=10), ends=TODAY, product=gift)
    other = await Promo.create(name="Другая", percent=D(5), starts=TODAY - timedelta(days=10),
                               ends=TODAY)
    # with the promo: 1000 + 0 (cost 700 + 50) and 3000 (cost 2000 + 50)
    await _order(admin, client, "posted", [(pipe, "1000", "700", None),
                                           (gift, "0", "50", promo)])
    await _order(admin, client, "closed", [(pipe, "3000", "2000", None),
                                           (gift, "0", "50", promo)], days_ago=3)
    # without any promo: 500 (cost 400) and 1500 (cost unknown: margin counts it 0)
    await _order(admin, client, "shipped", [(pipe, "500", "400", None)])
    await _order(admin, client, "posted", [(pipe, "1500", None, None)], days_ago=2)
    # not counted: another promo's, a draft, a cancelled one, one before the period,
    # and one in hryvnias counted on its own
    await _order(admin, client, "posted", [(pipe, "9000", "1", other)])
    await _order(admin, client, "draft", [(gift, "0", "50", promo)])
    await _order(admin, client, "cancelled", [(gift, "0", "50", promo)])
    await _order(admin, client, "posted", [(gift, "0", "50", promo)], days_ago=30)
    await _order(admin, client, "posted", [(pipe, "400", "100", None),
                                           (gift, "0", "10", promo)], currency="UAH")
    effect = await svc.promo_effect(admin, promo.id)
    assert (effect.start, effect.end) == (promo.starts, promo.ends)
    rub = next(e for e in effect.with_promo if e.currency == "RUB")
    assert (rub.orders, rub.revenue, rub.margin, rub.average, rub.margin_percent) == (
        2, D("4000.00"), D("1200.00"), D("2000.00"), D("30.00"))
    uah = next(e for e in effect.with_promo if e.currency == "UAH")
    assert (uah.orders, uah.revenue, uah.margin) == (1, D("400.00"), D("290.00"))
    [plain] = effect.without
    assert (plain.currency, plain.orders, plain.revenue, plain.margin, plain.average,
            plain.margin_percent) == ("RUB", 2, D("2000.00"), D("1600.00"), D("1000.00"),
                                      D("80.00"))
    # a shorter period: only the order of yesterday
    short = await svc.promo_effect(admin, promo.id, TODAY - timedelta(days=1), TODAY)
    rub = next(e for e in short.with_promo if e.currency == "RUB")
    assert (rub.orders, rub.revenue) == (1, D("1000.00"))
    with pytest.raises(ValidationFailed) as err:
        await svc.promo_effect(admin, promo.id, TODAY, TODAY - timedelta(days=1))
    assert err.value.field == "end"
    with pytest.raises(PermissionDenied):
        await svc.promo_effect(await make_staff(Role.MANAGER), promo.id)
