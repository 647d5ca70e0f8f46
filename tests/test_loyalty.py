"""U-9: loyalty cards (services.loyalty, loyalty_cards, loyalty_points, loyalty_run)
on hand-made data with the answers worked out by hand: the program's checks, card
numbers, accrual and its reversal, redemption within the balance and the share, the
credit note it makes, expiry oldest points first, tier moves with the discount group
and who sees and does what. The analysis is in tests/test_loyalty_analysis.py."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import (
    AuditLog,
    ClientTerms,
    Department,
    DiscountGroup,
    EntryKind,
    LedgerEntry,
    LoyaltyCard,
    LoyaltyMove,
    MoveKind,
    Order,
    OrderLine,
    Product,
    Role,
    User,
)
from services import clients as client_svc
from services import loyalty as svc
from services import loyalty_cards as cards
from services import loyalty_points as points
from services import loyalty_run as run
from services import orders as order_svc
from services import rates
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

D = Decimal


async def _order(owner, client, total, *, days_ago=1, state="posted", currency="RUB"):
    order = await Order.create(number=f"L{await Order.all().count() + 1:05d}", client=client,
                               owner=owner, state=state, currency=currency, total=D(total),
                               posted_at=TEST_NOW - timedelta(days=days_ago)
                               if state != "draft" else None)
    return order


def _tiers(silver_group=None, gold_group=None):
    return [{"name": "Bronze", "threshold": "0", "accrual": "1"},
            {"name": "Silver", "threshold": "10 000", "accrual": "3",
             "discount_group_id": silver_group},
            {"name": "Gold", "threshold": "50000", "accrual": "5,5",
             "discount_group_id": gold_group}]


@pytest.fixture
async def club(database_url):
    """Sales (head Hanna; manager Ivan: Alpha, Beta) and Retail (manager Petr: Gamma).
    The program: a point pays 0.50 ₽, points pay up to 20 % of an order, live 6 months;
    Bronze from 0 (1 %), Silver from 10 000 (3 %, group «Silver»), Gold from 50 000
    (5.5 %, group «Gold»)."""
    sales = await Department.create(name="Sales")
    retail = await Department.create(name="Retail")
    admin = await User.create(full_name="Admin", telegram_id=901, role=Role.ADMIN,
                              timezone="UTC")
    head = await User.create(full_name="Hanna", telegram_id=902, role=Role.HEAD,
                             department=sales)
    ivan = await User.create(full_name="Ivan", telegram_id=903, department=sales,
                             timezone="Europe/Moscow")
    petr = await User.create(full_name="Petr", telegram_id=904, department=retail)
    out = {"admin": admin, "head": head, "ivan": ivan, "petr": petr}
    for who, name in ((ivan, "Alpha"), (ivan, "Beta"), (petr, "Gamma")):
        out[name] = (await client_svc.do_create_client(who, {"name": name})).client
    out["silver"] = await DiscountGroup.create(name="Silver")
    out["gold"] = await DiscountGroup.create(name="Gold")
    await svc.do_set_program(admin, {"point_value": "0,50", "max_share": "20",
                                     "expiry_months": "6",
                                     "tiers": _tiers(out["silver"].id, out["gold"].id)})
    return out


# ---- the program -------------------------------------------------------------------------

async def test_u9_program_saved_and_bad_rows_named(club):
    """U-9: the admin's form is read as typed; each bad row names its field."""
    prog = await svc.program()
    assert (prog.point_value, prog.max_share, prog.expiry_months) == (D("0.5"), D(20), 6)
    assert [(t.name, t.threshold, t.accrual) for t in prog.tiers] == [
        ("Bronze", D(0), D(1)), ("Silver", D(10000), D(3)), ("Gold", D(50000), D("5.5"))]
    good = _tiers()
    for bad, name in (
            ([{**good[0], "threshold": "100"}, *good[1:]], "tiers.0.threshold"),  # no 0
            ([good[0], {**good[1], "threshold": "50000"}, good[2]], "tiers.2.threshold"),
            ([good[0], {**good[1], "threshold": "-5"}], "tiers.1.threshold"),
            ([good[0], {**good[1], "threshold": "lots"}], "tiers.1.threshold"),
            ([good[0], {**good[1], "accrual": "150"}], "tiers.1.accrual"),
            ([good[0], {**good[1], "name": "bronze"}], "tiers.1.name"),
            ([good[0], {**good[1], "name": "  "}], "tiers.1.name"),
            ([good[0], {**good[1], "discount_group_id": 99999}],
             "tiers.1.discount_group_id"),
            ([], "tiers")):
        with pytest.raises(ValidationFailed) as err:
            await svc.do_set_program(club["admin"], {"tiers": bad})
        assert err.value.field == name, bad
    with pytest.raises(ValidationFailed) as err:
        await svc.do_set_program(club["admin"], {"tiers": [good[0], {**good[1],
                                                 "threshold": "50000"}, good[2]]})
    assert "50000" in err.value.message  # the threshold named
    for data, name in (({"point_value": "0"}, "point_value"),
                       ({"max_share": "120"}, "max_share"),
                       ({"expiry_months": "200"}, "expiry_months")):
        with pytest.raises(ValidationFailed) as err:
            await svc.do_set_program(club["admin"], {**data, "tiers": good})
        assert err.value.field == name
    for who in ("ivan", "head"):
        with pytest.raises(PermissionDenied):
            await svc.do_set_program(club[who], {"tiers": good})
    # a row left out is archived, a kept one changed in place
    bronze, silver = prog.tiers[0], prog.tiers[1]
    await svc.do_set_program(club["admin"], {"expiry_months": "", "tiers": [
        {"id": bronze.id, "name": "Base", "threshold": "0", "accrual": "2"},
        {"id": silver.id, "name": "Silver", "threshold": "10000", "accrual": "3"}]})
    prog = await svc.program()
    assert [(t.id, t.name) for t in prog.tiers] == [(bronze.id, "Base"), (silver.id, "Silver")]
    assert prog.expiry_months is None


def test_u9_tier_for_and_accrual_points():
    """U-9: the tier with the highest threshold not above the spend; ⌊total × % / 100⌋."""
    class T:
        def __init__(self, n, th):
            self.name, self.threshold = n, D(th)
    tiers = [T("B", 0), T("S", 10000), T("G", 50000)]
    assert [svc.tier_for(D(v), tiers).name for v in ("0", "9999.99", "10000", "49999.99",
                                                     "50000", "1e9")] == list("BBSSGG")
    assert svc.tier_for(D(5), [T("S", 10)]) is None
    assert svc.accrual_points(D("12345.67"), D(1)) == 123     # 123.4567
    assert svc.accrual_points(D("999.99"), D("5.5")) == 54    # 54.99945
    assert svc.accrual_points(D("10"), D(0)) == 0


# ---- cards ------------------------------------------------------------------------------------

async def test_u9_card_numbers_typed_made_and_unique(club):
    """U-9: a typed number is kept in capitals; a duplicate (archived cards too) is named;
    an empty one is made from the id; one current card per client."""
    ivan = club["ivan"]
    card = await cards.do_issue(ivan, {"client_id": club["Alpha"].id, "number": " ab-1234 "})
    assert card.number == "AB-1234"
    with pytest.raises(ValidationFailed) as err:
        await cards.do_issue(ivan, {"client_id": club["Beta"].id, "number": "AB-1234"})
    assert (err.value.field, err.value.params["number"]) == ("number", "AB-1234")
    for bad in ("x", "AB 12 #", "-ABC", "A" * 21):
        with pytest.raises(ValidationFailed) as err:
            await cards.do_issue(ivan, {"client_id": club["Beta"].id, "number": bad})
        assert err.value.field == "number"
    with pytest.raises(ValidationFailed) as err:
        await cards.do_issue(ivan, {"client_id": club["Alpha"].id})
    assert err.value.field == "client_id"  # Alpha has one
    made = await cards.do_issue(ivan, {"client_id": club["Beta"].id})
    assert made.number == f"{made.id:08d}"
    with pytest.raises(ValidationFailed):
        await cards.do_update(ivan, made.id, {"number": "ab-1234"})
    await cards.do_update(ivan, made.id, {"number": "BETA-1", "blocked": True})
    made = await cards.get_card(ivan, made.id)
    assert (made.number, made.blocked) == ("BETA-1", True)
    await cards.do_archive(ivan, card.id)
    with pytest.raises(ValidationFailed):  # the archived card keeps its number
        await cards.do_issue(ivan, {"client_id": club["Alpha"].id, "number": "AB-1234"})
    again = await cards.do_issue(ivan, {"client_id": club["Alpha"].id, "number": "AB-2"})
    assert again.tier.name == "Bronze"  # no spend: the lowest tier
    history = await AuditLog.filter(client_id=club["Beta"].id, entity="loyalty_card"
                                    ).values_list("field", "old_value", "new_value")
    assert ("loyalty_card", made.number and f"{made.id:08d}", "BETA-1") in history
    assert ("loyalty_blocked", "False", "True") in history


async def test_u9_accrual_on_posting_once_and_reversal_on_cancel(club):
    """U-9: posting an order of 12 345.67 ₽ for a Bronze card (1 %) accrues 123 points,
    once; cancelling reverses them. 10 USD at 90 ₽ is 900 ₽: 9 points; without a rate,
    nothing. A blocked card accrues nothing."""
    ivan, beta = club["ivan"], club["Beta"]
    card = await cards.do_issue(ivan, {"client_id": beta.id})
    product = await Product.create(name="Монтаж", is_service=True)
    order = await _order(ivan, beta, "0", state="draft")
    await OrderLine.create(order=order, product=product, name="Монтаж", quantity=D(1),
                           list_price=D("12345.67"), price=D("12345.67"),
                           amount=D("12345.67"))
    await Order.filter(id=order.id).update(total=D("12345.67"))
    await order_svc.do_post(ivan, order.id)
    assert await cards.balance(card.id) == 123
    move = await LoyaltyMove.get(card_id=card.id)
    assert (move.kind, move.points, move.order_id, move.amount) == (
        MoveKind.ACCRUAL, 123, order.id, D("12345.67"))
    assert move.expires_at.date() == TEST_NOW.replace(month=12).date()  # 6 months on
    await points.accrue_for_order(await Order.get(id=order.id))  # the hook again
    assert await cards.balance(card.id) == 123
    await order_svc.do_cancel(ivan, order.id)
    assert await cards.balance(card.id) == 0
    assert await LoyaltyMove.filter(card_id=card.id).order_by("id").values_list(
        "kind", "points") == [(MoveKind.ACCRUAL, 123), (MoveKind.REVERSAL, -123)]
    history = await AuditLog.filter(client_id=beta.id, field__in=[
        "loyalty_accrual", "loyalty_reversal"]).order_by("id").values_list("field",
                                                                          "new_value")
    assert history == [("loyalty_accrual", f"+123 · № {order.number}"),
                       ("loyalty_reversal", f"-123 · № {order.number}")]
    usd = await _order(ivan, beta, "10", currency="USD", days_ago=0)
    assert await points.accrue_for_order(usd) is None  # no rate yet
    await rates.do_set_rate(club["admin"], "USD", "90", TEST_NOW.date() - timedelta(days=3))
    usd2 = await _order(ivan, beta, "10", currency="USD", days_ago=0)
    assert (await points.accrue_for_order(usd2)).points == 9
    await cards.do_update(ivan, card.id, {"blocked": True})
    assert await points.accrue_for_order(await _order(ivan, beta, "5000")) is None


async def test_u9_redemption_bounded_by_balance_and_share(club):
    """U-9: a point pays 0.50 ₽, points pay at most 20 %: on an order of 1 000 ₽ that is
    200 ₽ = 400 points in all. The money is a credit note on the ledger; cancelling the
    order gives the points back and voids the notes."""
    petr, gamma = club["petr"], club["Gamma"]
    card = await cards.do_issue(petr, {"client_id": gamma.id})
    await points.do_adjust(petr, card.id, {"points": "+1000", "reason": "welcome"})
    order = await _order(petr, gamma, "1000", state="posted")
    with pytest.raises(ValidationFailed) as err:
        await points.do_redeem(petr, card.id, {"order_id": order.id, "points": "1001"})
    assert (err.value.field, err.value.params["balance"]) == ("points", 1000)
    with pytest.raises(ValidationFailed) as err:
        await points.do_redeem(petr, card.id, {"order_id": order.id, "points": "401"})
    assert (err.value.field, err.value.params["points"]) == ("points", 400)
    first = await points.do_redeem(petr, card.id, {"order_id": order.id, "points": "300"})
    assert (first.points, first.amount) == (-300, D("150.00"))
    with pytest.raises(ValidationFailed) as err:  # 100 left on this order
        await points.do_redeem(petr, card.id, {"order_id": order.id, "points": "101"})
    assert err.value.params["points"] == 100
    await points.do_redeem(petr, card.id, {"order_id": order.id, "points": "100"})
    assert await cards.balance(card.id) == 600
    notes = await LedgerEntry.filter(order_id=order.id, kind=EntryKind.CREDIT_NOTE,
                                     void=False).order_by("id").values_list("amount", flat=True)
    assert notes == [D("150.00"), D("50.00")]
    for bad, name in (({"points": "0"}, "points"), ({"points": "-5"}, "points"),
                      ({"points": "1.5"}, "points"), ({"points": "10"}, "order_id")):
        with pytest.raises(ValidationFailed) as err:
            await points.do_redeem(petr, card.id, bad)
        assert err.value.field == name
    shipped = await _order(petr, gamma, "1000", state="shipped")
    other = await _order(petr, club["Alpha"], "1000")
    for o in (shipped, other):
        with pytest.raises(ValidationFailed) as err:
            await points.do_redeem(petr, card.id, {"order_id": o.id, "points": "10"})
        assert err.value.field == "order_id"
    await order_svc.do_cancel(petr, order.id)
    assert await cards.balance(card.id) == 1000
    assert not await LedgerEntry.exists(order_id=order.id, kind=EntryKind.CREDIT_NOTE,
                                        void=False)
    # adjustments: not 0, with a reason, not below a zero balance
    for bad, name in (({"points": "0", "reason": "x"}, "points"),
                      ({"points": "5"}, "reason"),
                      ({"points": "-1001", "reason": "x"}, "points")):
        with pytest.raises(ValidationFailed) as err:
            await points.do_adjust(petr, card.id, bad)
        assert err.value.field == name
    await cards.do_update(petr, card.id, {"blocked": True})
    draft = await _order(petr, gamma, "1000", state="draft")
    with pytest.raises(ValidationFailed) as err:
        await points.do_redeem(petr, card.id, {"order_id": draft.id, "points": "10"})
    assert err.value.field == "card"


def test_u9_expiry_takes_the_oldest_points_first():
    """U-9: outflow 30 takes 30 of the first accrual (100): 70 of it expire; when the
    outflow passed the first, the next loses only its rest."""
    assert points.expiring([(1, 100, True), (2, 50, False)], 30) == (70, [1])
    assert points.expiring([(1, 100, False), (2, 50, True)], 120) == (30, [2])
    assert points.expiring([(1, 100, True), (2, 50, True)], 200) == (0, [1, 2])
    assert points.expiring([(1, 10, False), (2, 5, True)], 0) == (5, [2])


async def test_u9_expiry_on_the_database(club):
    """U-9: accruals of 100 (due 20 days ago) and 50 (due in 80 days), a redemption of
    30: 70 expire now, once; 100 days on, the other 50."""
    petr, gamma = club["petr"], club["Gamma"]
    card = await cards.do_issue(petr, {"client_id": gamma.id})
    for kind, pts, ago, due in ((MoveKind.ACCRUAL, 100, 200, -20),
                                (MoveKind.ACCRUAL, 50, 100, 80),
                                (MoveKind.REDEMPTION, -30, 50, None)):
        await LoyaltyMove.create(card=card, client=gamma, kind=kind, points=pts,
                                 created_at=TEST_NOW - timedelta(days=ago),
                                 expires_at=None if due is None else
                                 TEST_NOW + timedelta(days=due))
    assert await points.expire() == 70
    assert await points.expire() == 0
    assert await cards.balance(card.id) == 50
    assert await points.expire(TEST_NOW + timedelta(days=100)) == 50
    assert await cards.balance(card.id) == 0
    assert await LoyaltyMove.filter(card_id=card.id, kind=MoveKind.EXPIRY).values_list(
        "points", flat=True) == [-70, -50]


async def test_u9_tier_moves_set_the_discount_group(club):
    """U-9: Alpha's spend over 12 months: 8 000 (100 days ago) + 4 000 (10 days ago) =
    12 000 — an order 400 days ago, a cancelled one and a draft do not count → Silver,
    and the group «Silver» on its terms; 40 000 more → 52 000: Gold. A group set by hand
    stays when the tier has none."""
    admin, ivan, alpha = club["admin"], club["ivan"], club["Alpha"]
    card = await cards.do_issue(ivan, {"client_id": alpha.id})
    assert card.tier.name == "Bronze"
    for total, ago, state in (("8000", 100, "posted"), ("4000", 10, "shipped"),
                              ("60000", 400, "closed"), ("99999", 5, "cancelled"),
                              ("99999", 5, "draft")):
        await _order(ivan, alpha, total, days_ago=ago, state=state)
    with pytest.raises(PermissionDenied):
        await run.recalculate(ivan)
    report = await run.recalculate(club["head"], source="web")
    assert (report.cards, report.moved) == (1, 1)
    card = await LoyaltyCard.get(id=card.id).prefetch_related("tier")
    assert (card.tier.name, card.spend) == ("Silver", D(12000))
    terms = await ClientTerms.get(client_id=alpha.id)
    assert terms.discount_group_id == club["silver"].id
    await _order(ivan, alpha, "40000", days_ago=1)
    await run.nightly()
    card = await LoyaltyCard.get(id=card.id).prefetch_related("tier")
    assert (card.tier.name, card.spend) == ("Gold", D(52000))
    assert (await ClientTerms.get(client_id=alpha.id)).discount_group_id == club["gold"].id
    rows = await AuditLog.filter(client_id=alpha.id, field__in=[
        "loyalty_tier", "discount_group_id"]).order_by("id").values_list(
        "field", "old_value", "new_value")
    assert rows == [("loyalty_tier", None, "Bronze"),  # issued
                    ("loyalty_tier", "Bronze", "Silver"),
                    ("discount_group_id", None, "Silver"),
                    ("loyalty_tier", "Silver", "Gold"),
                    ("discount_group_id", "Silver", "Gold")]
    # Gold loses its group and moves to 60 000: Alpha falls back to Silver, whose group
    # replaces Gold's; a hand-set group stays when the new tier has none
    prog = await svc.program()
    rows = [{"id": t.id, "name": t.name, "threshold": str(t.threshold),
             "accrual": str(t.accrual), "discount_group_id": t.discount_group_id}
            for t in prog.tiers]
    rows[2]["threshold"] = "60000"
    await svc.do_set_program(admin, {"point_value": "0.5", "max_share": "20", "tiers": rows})
    assert (await ClientTerms.get(client_id=alpha.id)).discount_group_id == club["silver"].id
    hand = await DiscountGroup.create(name="Hand")
    await ClientTerms.filter(client_id=alpha.id).update(discount_group_id=hand.id)
    rows[1]["discount_group_id"] = None
    rows[1]["threshold"] = "20000"
    await svc.do_set_program(admin, {"point_value": "0.5", "max_share": "20", "tiers": rows})
    card = await LoyaltyCard.get(id=card.id).prefetch_related("tier")
    assert card.tier.name == "Silver"
    rows[1]["threshold"] = "55000"  # Alpha down to Bronze (no group): Hand stays
    await svc.do_set_program(admin, {"point_value": "0.5", "max_share": "20", "tiers": rows})
    card = await LoyaltyCard.get(id=card.id).prefetch_related("tier")
    assert card.tier.name == "Bronze"
    assert (await ClientTerms.get(client_id=alpha.id)).discount_group_id == hand.id


async def test_u9_who_sees_and_acts_on_cards(club):
    """U-9: a manager sees and acts on their own clients' cards, a head their
    departments', an admin all."""
    ivan, petr, head, admin = (club[k] for k in ("ivan", "petr", "head", "admin"))
    a = await cards.do_issue(ivan, {"client_id": club["Alpha"].id, "number": "A-0001"})
    g = await cards.do_issue(petr, {"client_id": club["Gamma"].id, "number": "G-0001"})
    with pytest.raises(NotFound):
        await cards.do_issue(petr, {"client_id": club["Beta"].id})
    assert [v.card.number for v in (await cards.list_cards(ivan))[0]] == ["A-0001"]
    assert [v.card.number for v in (await cards.list_cards(head))[0]] == ["A-0001"]
    assert {v.card.number for v in (await cards.list_cards(admin))[0]} == {"A-0001",
                                                                         "G-0001"}
    assert [v.card.number for v in (await cards.list_cards(admin, q="gamm"))[0]] == \
        ["G-0001"]
    assert [v.card.number for v in (await cards.list_cards(admin, q="a-00"))[0]] == \
        ["A-0001"]
    for call in (cards.get_card(petr, a.id), cards.get_card(head, g.id),
                 points.do_adjust(petr, a.id, {"points": "5", "reason": "x"}),
                 cards.do_archive(ivan, g.id), points.moves(ivan, g.id)):
        with pytest.raises(NotFound):
            await call
    await points.do_adjust(head, a.id, {"points": "5", "reason": "gift"})
    assert (await cards.client_card(ivan, club["Alpha"].id)).balance == 5
    assert await cards.client_card(ivan, club["Beta"].id) is None
