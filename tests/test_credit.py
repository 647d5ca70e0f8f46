"""Credit limits (A-15): the exposure with known numbers (an invoice partly paid, a
posted order not invoiced yet, this order), in another currency at the day's rate,
overdue debt blocking, exceptions asked for and decided (approved lets the posting
pass; refused and pending do not), no way around it (the API and the bot post through
the same check), and two postings of one client at once: exactly one passes.
The clock is pinned at 2026-06-10 (Moscow)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from models import (
    CreditOverride,
    Department,
    EntryKind,
    LedgerEntry,
    Order,
    OrderState,
    OverrideState,
    Role,
    Setting,
)
from services import credit, credit_overrides, ledger, rates
from services import orders as order_svc
from services.errors import PermissionDenied, ValidationFailed
from tests.test_orders import _setup

# The stories here are told on named days (invoices of 1 May, a Sunday due date on
# 14 June, the service's run on 10 June): each test starts at that instant.
pytestmark = pytest.mark.clock("2026-06-10T07:00:00+00:00")

D = Decimal
NB = "\u00a0"
TODAY = date(2026, 6, 10)


async def _people(make_staff, **extra):
    dept = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=dept, timezone="Europe/Moscow", **extra)
    head = await make_staff(Role.HEAD, department=dept, timezone="Europe/Moscow", **extra)
    return ivan, head


async def _draft(ivan, client, pipe, qty):
    order = await order_svc.do_create_order(ivan, {"client_id": client.id})
    return await order_svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id,
                                                          "quantity": str(qty)}])


async def _invoice(client, amount, number, due, dated=None):
    return await LedgerEntry.create(client_id=client.id, currency="RUB",
                                    kind=EntryKind.INVOICE, dated=dated or due,
                                    amount=D(amount), due=due, number=number)


async def _world(make_staff, **extra):
    """A limit of 500 000 ₽; invoice № 000012 of 300 000 ₽ (due in ten days) with
    100 000 paid; an order of 220 000 ₽ posted, not invoiced."""
    ivan, head = await _people(make_staff, **extra)
    client, _r, _s, pipe, _b, _m = await _setup(ivan, on_hand="10000")
    await _invoice(client, "300000", "000012", date(2026, 6, 20), date(2026, 6, 1))
    await ledger.do_record_payment(head, {"client_id": client.id, "amount": "100 000",
                                          "currency": "RUB", "invoice_number": "000012"})
    await credit.do_set_limit(head, client.id, {"amount": "500 000", "currency": "RUB"})
    earlier = await _draft(ivan, client, pipe, 220)
    await order_svc.do_post(ivan, earlier.id)
    return ivan, head, client, pipe


async def test_a15_exposure_and_the_refusal_in_numbers(database_url, make_staff):
    ivan, head, client, pipe = await _world(make_staff)
    order = await _draft(ivan, client, pipe, 95)
    exp = await credit.exposure(client.id, order, TODAY, "RUB")
    assert (exp.debt, exp.uninvoiced, exp.this_order, exp.total) == (
        D("200000.00"), D("220000.00"), D("95000.00"), D("515000.00"))
    warning = await credit.credit_warning(ivan, order.id)
    assert warning == (f"limit 500{NB}000{NB}₽, debt 420{NB}000{NB}₽, this order "
                       f"95{NB}000{NB}₽: over by 15{NB}000{NB}₽")
    with pytest.raises(credit.CreditRefused) as refused:
        await order_svc.do_post(ivan, order.id)
    assert refused.value.kind == "limit" and refused.value.over_by == D("15000.00")
    fresh = await Order.get(id=order.id)
    assert fresh.state == OrderState.DRAFT
    # free credit lowers the exposure: a payment of 20 000 with nothing to pay off
    await ledger.do_record_payment(head, {"client_id": client.id, "amount": "220000",
                                          "currency": "RUB"})
    exp = await credit.exposure(client.id, order, TODAY, "RUB")
    assert exp.debt == D("-20000.00") and exp.total == D("295000.00")
    assert await credit.credit_warning(ivan, order.id) is None
    assert (await order_svc.do_post(ivan, order.id)).changed
    # once invoiced, the posted order counts once (as the invoice)
    earlier = await Order.filter(client_id=client.id, id__lt=order.id).first()
    await ledger.record_invoice(earlier, actor=ivan)
    exp = await credit.exposure(client.id, None, TODAY, "RUB")
    assert (exp.debt, exp.uninvoiced) == (D("200000.00"), D("95000.00"))


async def test_a15_a_limit_in_another_currency_at_the_days_rate(database_url, make_staff):
    ivan, head, client, pipe = await _world(make_staff)
    admin = await make_staff(Role.ADMIN)
    await credit.do_set_limit(head, client.id, {"amount": "6000", "currency": "usd"})
    order = await _draft(ivan, client, pipe, 95)
    # no rate yet: posting refused naming the currency and the day, nothing posted
    with pytest.raises(ValidationFailed) as no_rate:
        await order_svc.do_post(ivan, order.id)
    assert no_rate.value.field == "currency" and "10.06.2026" in no_rate.value.message
    await rates.do_set_rate(admin, "USD", "80", date(2026, 6, 9))   # the latest before
    await rates.do_set_rate(admin, "USD", "90", date(2026, 6, 11))  # not yet
    exp = await credit.exposure(client.id, order, TODAY, "USD")
    assert (exp.debt, exp.uninvoiced, exp.this_order) == (D("2500.00"), D("2750.00"),
                                                          D("1187.50"))
    with pytest.raises(credit.CreditRefused) as refused:
        await order_svc.do_post(ivan, order.id)
    assert str(refused.value) == (f"limit 6{NB}000{NB}$, debt 5{NB}250{NB}$, this order "
                                  f"1{NB}187,50{NB}$: over by 437,50{NB}$")


async def test_a15_overdue_debt_blocks(database_url, make_staff):
    ivan, head = await _people(make_staff)
    client, _r, _s, pipe, _b, _m = await _setup(ivan, on_hand="100")
    await _invoice(client, "12000", "000012", date(2026, 4, 26))  # 45 days ago
    order = await _draft(ivan, client, pipe, 1)
    # no limit, the company's blocking off: no check
    assert await credit.credit_warning(ivan, order.id) is None
    await Setting.create(key=credit.BLOCK_OVERDUE, value=True)
    words = f"overdue 45 days on invoice № 000012 (12{NB}000{NB}₽): shipping is blocked"
    assert await credit.credit_warning(ivan, order.id) == words
    with pytest.raises(credit.CreditRefused) as refused:
        await order_svc.do_post(ivan, order.id)
    assert refused.value.kind == "overdue" and str(refused.value) == words
    # a limit with its own 60 days: 45 are allowed; the company's 30 would block
    await credit.do_set_limit(head, client.id, {"amount": "1000000", "overdue_days": "60"})
    assert await credit.credit_warning(ivan, order.id) is None
    await credit.do_set_limit(head, client.id, {"amount": "1000000", "overdue_days": ""})
    assert (await credit.get_limit(ivan, client.id)).overdue_days == 30
    assert await credit.credit_warning(ivan, order.id) == words
    await credit.do_set_company_credit(await make_staff(Role.ADMIN), {"overdue_days": 50})
    assert await credit.credit_warning(ivan, order.id) is None
    assert (await order_svc.do_post(ivan, order.id)).changed


async def test_a15_limits_are_set_by_heads_and_admins_with_fields_named(database_url,
                                                                       make_staff):
    ivan, head = await _people(make_staff)
    client, *_ = await _setup(ivan)
    with pytest.raises(PermissionDenied):
        await credit.do_set_limit(ivan, client.id, {"amount": "1000"})
    for data, field in (({"amount": "много"}, "amount"), ({"amount": "-5"}, "amount"),
                        ({}, "amount"), ({"amount": "10", "currency": "рубли"}, "currency"),
                        ({"amount": "10", "overdue_days": "0"}, "overdue_days"),
                        ({"amount": "10", "overdue_days": "x"}, "overdue_days")):
        with pytest.raises(ValidationFailed) as bad:
            await credit.do_set_limit(head, client.id, data)
        assert bad.value.field == field
    made = await credit.do_set_limit(head, client.id, {"amount": "1 500,50"})
    assert (made.amount, made.currency, made.own_days) == (D("1500.50"), "RUB", False)
    assert (await credit.get_limit(ivan, client.id)).amount == D("1500.50")
    with pytest.raises(PermissionDenied):
        await credit.do_remove_limit(ivan, client.id)
    await credit.do_remove_limit(head, client.id)
    assert await credit.get_limit(ivan, client.id) is None


async def test_a15_exceptions_asked_and_decided(database_url, make_staff):
    ivan, head, client, pipe = await _world(make_staff)
    admin = await make_staff(Role.ADMIN)
    other_head = await make_staff(Role.HEAD, department=await Department.create(name="B"))
    order = await _draft(ivan, client, pipe, 95)
    with pytest.raises(PermissionDenied):  # not the owner
        await credit_overrides.do_request_override(head, order.id, "please")
    with pytest.raises(ValidationFailed) as bad:
        await credit_overrides.do_request_override(ivan, order.id, "  ")
    assert bad.value.field == "reason"
    asked = await credit_overrides.do_request_override(ivan, order.id, "большой клиент")
    assert (asked.override.over_by, asked.override.order_total) == (D("15000.00"),
                                                                    D("95000.00"))
    assert sorted(n.user_id for n in asked.notices) == sorted([head.id, admin.id])
    assert {n.kind for n in asked.notices} == {"requested"}
    with pytest.raises(ValidationFailed):  # one waiting at a time
        await credit_overrides.do_request_override(ivan, order.id, "again")
    # pending: still refused
    with pytest.raises(credit.CreditRefused):
        await order_svc.do_post(ivan, order.id)
    with pytest.raises(PermissionDenied):  # the head of another department
        await credit_overrides.do_decide(other_head, asked.override.id, True)
    with pytest.raises(PermissionDenied):  # nobody decides on their own request
        await credit_overrides.do_decide(ivan, asked.override.id, True)
    refused = await credit_overrides.do_decide(head, asked.override.id, False, "нет")
    assert refused.notices[0].user_id == ivan.id and refused.notices[0].kind == "refused"
    with pytest.raises(credit_overrides.AlreadyDecided) as twice:
        await credit_overrides.do_decide(admin, asked.override.id, True)
    assert twice.value.params["who"] == head.full_name
    with pytest.raises(credit.CreditRefused):  # refused: still refused
        await order_svc.do_post(ivan, order.id)
    # asked again, approved: the posting passes — but not for a bigger total
    again = await credit_overrides.do_request_override(ivan, order.id, "оплатят в пятницу")
    await credit_overrides.do_decide(admin, again.override.id, True)
    await order_svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": "96"}])
    with pytest.raises(credit.CreditRefused):
        await order_svc.do_post(ivan, order.id)
    await order_svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": "90"}])
    assert await credit.credit_warning(ivan, order.id) is None
    assert (await order_svc.do_post(ivan, order.id)).changed
    states = [o.state for o in await CreditOverride.filter(order_id=order.id).order_by("id")]
    assert states == [OverrideState.REFUSED, OverrideState.APPROVED]
    # a fitting order needs no exception
    small = await _draft(ivan, client, pipe, 1)
    await credit.do_set_limit(head, client.id, {"amount": "10000000"})
    with pytest.raises(ValidationFailed):
        await credit_overrides.do_request_override(ivan, small.id, "why not")


async def test_a15_a_named_credit_controller_decides_alone(database_url, make_staff):
    ivan, head, client, pipe = await _world(make_staff)
    admin = await make_staff(Role.ADMIN)
    boss = await make_staff(Role.MANAGER, name="Ольга Кредитная")
    await credit.do_set_company_credit(admin, {"controller_id": boss.id})
    order = await _draft(ivan, client, pipe, 95)
    asked = await credit_overrides.do_request_override(ivan, order.id, "срочно")
    assert [n.user_id for n in asked.notices] == [boss.id]
    with pytest.raises(PermissionDenied):
        await credit_overrides.do_decide(head, asked.override.id, True)
    await credit_overrides.do_decide(boss, asked.override.id, True)
    assert (await order_svc.do_post(ivan, order.id)).changed


async def test_a15_parallel_postings_of_one_client_exactly_one_passes(database_url,
                                                                      make_staff, monkeypatch):
    """Two orders of 300 000 ₽ against a limit of 500 000 ₽, posted at once (real
    concurrent transactions on PostgreSQL): each alone fits, both do not. The check is
    slowed down so the two transactions surely overlap: only the client's lock keeps
    the second from counting without the first."""
    checked = credit.refusal

    async def slow(order, on, **kw):
        await asyncio.sleep(0.3)
        return await checked(order, on, **kw)

    monkeypatch.setattr(credit, "refusal", slow)
    ivan, head = await _people(make_staff)
    client, _r, _s, _pipe, _b, mounting = await _setup(ivan)
    await credit.do_set_limit(head, client.id, {"amount": "500000"})
    made = [await _draft(ivan, client, mounting, 60) for _ in range(2)]  # a service: no
    # stock rows locked, only the client's
    results = await asyncio.gather(*(order_svc.do_post(ivan, o.id) for o in made),
                                   return_exceptions=True)
    posted = [r for r in results if isinstance(r, order_svc.OrderResult)]
    refused = [r for r in results if isinstance(r, credit.CreditRefused)]
    assert (len(posted), len(refused)) == (1, 1), results
    assert await Order.filter(state=OrderState.POSTED).count() == 1


async def test_a15_the_bot_refuses_asks_for_an_exception_and_the_controller_decides(
        service, emulator, make_staff):
    from tests.conftest import say
    from tests.test_bot_deals import buttons, plain, press
    from tests.test_bot_deals_more import _client_card

    ivan, head, client, pipe = await _world(make_staff, language="en")
    chat = ivan.telegram_id
    await say(emulator, head.telegram_id, "/start")  # the head has a chat with the bot
    card = await _client_card(service, emulator, chat, "Ромашка")
    _answer, draft = await press(emulator, chat, card, "🧾 Order")
    shown = await say(emulator, chat, "труба 95")
    assert "Line added" in shown["text"]
    assert "⚠️ limit 500 000 ₽, debt 420 000 ₽, this order 95 000 ₽: over by 15 000 ₽" in \
        plain(shown["text"])
    _answer, refused = await press(emulator, chat, shown, "✅ Post")
    assert "⛔ limit 500 000 ₽" in plain(refused["text"]) and "stays a draft" in \
        refused["text"]
    order = await Order.get(client_id=client.id, state=OrderState.DRAFT)
    _answer, asked = await press(emulator, chat, refused, "🙏 Ask for an exception")
    assert "Type the reason" in asked["text"]
    before = max((m["message_id"] for m in emulator.history(head.telegram_id)), default=0)
    sent = await say(emulator, chat, "they always pay on Friday")
    assert "request is sent to" in sent["text"] and head.full_name in sent["text"]
    to_head = await emulator.wait_for_bot_message(head.telegram_id, after_message_id=before)
    assert f"order № {order.number}" in to_head["text"]
    assert "over by 15 000 ₽" in plain(to_head["text"])
    assert "they always pay on Friday" in to_head["text"]
    assert set(buttons(to_head)) == {"✅ Approve", "❌ Refuse"}
    answer, _reply = await press(emulator, head.telegram_id, to_head, "✅ Approve")
    assert answer["text"] == "✅ Approved."
    told = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert "approved the exception" in told["text"] and head.full_name in told["text"]
    # a second press: decided already, by whom
    answer, _reply = await press(emulator, head.telegram_id, to_head, "❌ Refuse")
    assert answer["text"].startswith(f"already decided by {head.full_name} on 10.06.2026")
    assert (await CreditOverride.get(order_id=order.id)).state == OverrideState.APPROVED
    _answer, posted = await press(emulator, chat, refused, data=buttons(shown)["✅ Post"])
    assert "Posted" in posted["text"]
    assert (await Order.get(id=order.id)).state == OrderState.POSTED


async def test_a15_no_way_around_the_api_posts_through_the_same_check(service, emulator,
                                                                       make_staff):
    from tests.test_web import signed_in

    ivan, head, client, pipe = await _world(make_staff, language="en")
    order = await _draft(ivan, client, pipe, 95)
    await signed_in(service, emulator, ivan)
    resp = await service.client.post(f"/api/v1/orders/{order.id}/post")
    assert resp.status == 409
    assert plain_text((await resp.json())["detail"]) == (
        "limit 500 000 ₽, debt 420 000 ₽, this order 95 000 ₽: over by 15 000 ₽")
    assert (await Order.get(id=order.id)).state == OrderState.DRAFT


def plain_text(text: str) -> str:
    return text.replace(NB, " ")


async def test_a15_the_credit_api(service, emulator, make_staff):
    from tests.test_web import signed_in

    ivan, head, client, pipe = await _world(make_staff, language="en")
    order = await _draft(ivan, client, pipe, 95)
    c = service.client
    await signed_in(service, emulator, ivan)
    body = await (await c.get(f"/api/v1/clients/{client.id}/credit")).json()
    assert (body["limit"]["amount"], body["debt"], body["uninvoiced"], body["total"],
            body["free"], body["limit"]["may_edit"]) == (
        "500000.00", "200000.00", "220000.00", "420000.00", "80000.00", False)
    resp = await c.put(f"/api/v1/clients/{client.id}/credit", json={"amount": "1"})
    assert resp.status == 403
    check = await (await c.get(f"/api/v1/orders/{order.id}/credit")).json()
    assert (check["ok"], check["kind"], check["over_by"]) == (False, "limit", "15000.00")
    resp = await c.post(f"/api/v1/orders/{order.id}/credit-overrides",
                        json={"reason": "   "})
    assert resp.status == 422
    resp = await c.post(f"/api/v1/orders/{order.id}/credit-overrides",
                        json={"reason": "a big client"})
    assert resp.status == 201
    made = await resp.json()
    assert (made["state"], made["over_by"]) == ("pending", "15000.00")
    check = await (await c.get(f"/api/v1/orders/{order.id}/credit")).json()
    assert check["pending_id"] == made["id"]
    resp = await c.post(f"/api/v1/credit-overrides/{made['id']}/decide",
                        json={"approve": True})
    assert resp.status == 403  # not the requester's to decide
    await signed_in(service, emulator, head)
    resp = await c.post(f"/api/v1/credit-overrides/{made['id']}/decide",
                        json={"approve": True, "comment": "ok"})
    assert resp.status == 200 and (await resp.json())["state"] == "approved"
    resp = await c.post(f"/api/v1/credit-overrides/{made['id']}/decide",
                        json={"approve": False})
    assert resp.status == 409 and "already decided by" in (await resp.json())["detail"]
    resp = await c.put(f"/api/v1/clients/{client.id}/credit",
                       json={"amount": "много"})
    assert resp.status == 422
    resp = await c.put(f"/api/v1/clients/{client.id}/credit",
                       json={"amount": "600 000", "currency": "RUB", "overdue_days": "45"})
    assert resp.status == 200 and (await resp.json())["overdue_days"] == 45
    resp = await c.delete(f"/api/v1/clients/{client.id}/credit")
    assert resp.status == 204
    body = await (await c.get(f"/api/v1/clients/{client.id}/credit")).json()
    assert body["limit"] is None and body["free"] is None
