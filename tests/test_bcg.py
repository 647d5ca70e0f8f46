"""The BCG matrix of product groups (U-9): share of the company's sales against growth,
period over period, by top-level category, with the quadrants worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import Product, ProductCategory
from services import bcg as svc
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW
from tests.test_sales_plans import _order, _world

D = Decimal
NOW_, BEFORE = TEST_NOW - timedelta(hours=1), TEST_NOW - timedelta(days=40)


async def test_u9_bcg_quadrants_by_hand(database_url, make_staff):
    (_sales, _other), (admin, head, ivan, _olga), client, (pipes, steel), (pipe, valve) = \
        await _world(make_staff)
    fittings = await ProductCategory.create(name="Фитинги")
    tools = await ProductCategory.create(name="Инструмент")
    fitting = await Product.create(name="Муфта", group=fittings)
    drill = await Product.create(name="Дрель", group=tools)
    # the last month (since 10.05) against the month before (10.04–10.05), roubles:
    #   Трубы (pipe in the subcategory «Стальные»): 5000 against 2000
    #   no category (the valve): 4000 against 4000
    #   Фитинги: 1000 against nothing; Инструмент: nothing against 2000
    for product, amount, when in ((pipe, "5000", NOW_), (pipe, "2000", BEFORE),
                                  (valve, "4000", NOW_), (valve, "4000", BEFORE),
                                  (fitting, "1000", NOW_), (drill, "2000", BEFORE)):
        await _order(ivan, client, "posted", [(product, 1, amount, None)], posted=when)
    await _order(ivan, client, "cancelled", [(pipe, 1, "99999", None)], posted=NOW_)
    await _order(ivan, client, "posted", [(drill, 1, "99999", None)],
                 posted=TEST_NOW - timedelta(days=75))  # before both periods
    m = await svc.bcg(head, months=1, now=TEST_NOW)
    # the company: 10000 against 8000, +25 %; three groups sold: the share line 33.33 %
    assert (m.company_growth, m.share_line) == (D("25.00"), D("33.33"))
    got = {p.name: (p.sales, p.share, p.growth, p.quadrant) for p in m.groups}
    assert got == {
        "Трубы": (D("5000.00"), D("50.00"), D("150.00"), "star"),       # 50 ≥ 33, 150 ≥ 25
        "": (D("4000.00"), D("40.00"), D("0.00"), "cash_cow"),          # 40 ≥ 33, 0 < 25
        "Фитинги": (D("1000.00"), D("10.00"), None, "question"),         # new, 10 < 33
        "Инструмент": (D("0.00"), D("0.00"), D("-100.00"), "dog")}
    png = svc.chart_png(m, {"share": "Доля", "growth": "Рост", "star": "Звёзды",
                            "cash_cow": "Дойные коровы", "question": "Вопросы",
                            "dog": "Собаки"}, no_category="Без категории")
    assert png.startswith(b"\x89PNG")
    with pytest.raises(PermissionDenied):
        await svc.bcg(ivan)
    with pytest.raises(ValidationFailed):
        await svc.bcg(admin, months=0)


async def test_u9_bcg_page_and_chart(service, emulator, make_staff):
    from tests.test_web import signed_in

    (_sales, _other), (admin, head, ivan, _olga), client, _cats, (pipe, valve) = \
        await _world(make_staff)
    await _order(ivan, client, "posted", [(pipe, 1, "5000", None)], posted=NOW_)
    await _order(ivan, client, "posted", [(valve, 1, "4000", None)], posted=BEFORE)
    http = service.client
    await signed_in(service, emulator, head)
    page = await (await http.get("/app/ranking/bcg?months=1")).text()
    assert 'data-testid="bcg-chart"' in page and "Трубы" in page
    assert "Без категории" in page and "Звёзды" in page and "Собаки" in page
    chart = await http.get("/app/ranking/bcg.png?months=1")
    assert chart.status == 200 and (await chart.read()).startswith(b"\x89PNG")
    assert 'data-testid="bcg-link"' in await (await http.get("/app/ranking")).text()
    await signed_in(service, emulator, ivan)  # a manager: not theirs to see
    assert (await http.get("/app/ranking/bcg")).status == 403
    assert (await http.get("/app/ranking/bcg.png")).status == 403
    assert 'data-testid="bcg-link"' not in await (await http.get("/app/ranking")).text()
