"""Deals in the bot through the Bot API emulator (issue 12): /deals with paging and the
"no next step" flag, the card, a move in one tap and a requirement refusing one in
the person's language (U-1, U-2), won, lost in two taps with or without a competitor
(U-6), a new deal from the client's card, a task of the deal, old cards' buttons, a
menu button leaving the new deal's questions, and a colleague's deal not found."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.callbacks import DealCB
from models import Activity, Deal, DealEvent, Role, StageKind
from services import clients as client_svc
from services import deal_moves
from services import deals as svc
from services.clock import utcnow
from services.deal_money import parse_money
from tests.conftest import say, settled


def buttons(msg):
    return {b["text"]: b.get("callback_data") or b.get("url")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def current(emulator, chat, msg):
    """The message as it is now (cards and lists are redrawn in place)."""
    return emulator.get_message(chat, msg["message_id"])


async def press(emulator, chat, msg, label=None, *, data=None):
    """Press a button of ``msg`` (by its label, or any callback data); return (the
    callback's answer, the bot's next new message or None)."""
    before = max(m["message_id"] for m in emulator.history(chat))
    qid = await emulator.press_button(chat, chat, msg["message_id"],
                                      data or buttons(msg)[label], strict=False)
    answer = await emulator.wait_for_callback_answer(qid)
    settle = getattr(emulator, "settle", None)
    if settle is not None:  # the handler may answer first and send its message after commit
        await settle()
    try:
        reply = await emulator.wait_for_bot_message(chat, after_message_id=before,
                                                    timeout=0.5)
    except (AssertionError, TimeoutError):
        reply = None
    return answer, reply


def label_with(msg, part: str) -> str:
    return next(label for label in buttons(msg) if part in label)


async def _client(owner, name="Romashka LLC"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


async def _deal(owner, client, **data):
    return (await svc.do_create_deal(owner, {"client_id": client.id, **data})).deal


async def _open(service, emulator, chat, deal_title):
    """/deals, then the deal's button: the list message, now showing the card."""
    listing = await say(emulator, chat, "/deals")
    await press(emulator, chat, listing, label_with(listing, deal_title))
    await settled(service, emulator)
    return current(emulator, chat, listing)


async def test_u2_deals_lists_mine_paged_without_a_next_step_first(service, emulator,
                                                                    make_staff):
    """U-2: /deals (and 💼 Deals) lists one's open deals ten a page, those without a
    next step first and flagged ⚠️; ◀️ ▶️ page in place; a closed deal is not listed;
    an empty list says how to start one."""
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client = await _client(ivan)
    for n in range(11):
        await _deal(ivan, client, title=f"Bare {n:02}")
    stepped = await _deal(ivan, client, title="Stepped", amount="150000")
    await svc.do_add_activity(ivan, stepped.id, {
        "title": "Call", "type": "call", "starts_at": utcnow() + timedelta(days=2)})
    closed = await _deal(ivan, client, title="Closed one")  # lost: a won one goes on
    await deal_moves.do_lose(ivan, closed.id, (await svc.lost_reasons())[0].id)  # as its execution
    chat = ivan.telegram_id
    listing = await say(emulator, chat, "/deals")
    assert "My open deals: 1–10 of 12" in listing["text"]
    assert "no next step" in listing["text"]
    labels = list(buttons(listing))
    assert all(label.startswith("⚠️ Bare") for label in labels[:10])
    assert "▶️" in labels and "◀️" not in labels
    assert not any("Closed one" in label for label in labels)
    await press(emulator, chat, listing, "▶️")
    await settled(service, emulator)
    page2 = current(emulator, chat, listing)
    assert "11–12 of 12" in page2["text"]
    last = list(buttons(page2))[1]
    assert "Stepped" in last and "⚠️" not in last and "150 000 ₽" in plain(last)
    assert "◀️" in buttons(page2)
    await press(emulator, chat, page2, "◀️")
    await settled(service, emulator)
    assert "1–10 of 12" in current(emulator, chat, listing)["text"]
    # the menu button does the same
    listing = await say(emulator, chat, "💼 Deals")
    assert "1–10 of 12" in listing["text"]
    # nobody's deals: what to do next
    olena = await make_staff(Role.MANAGER, language="en")
    empty = await say(emulator, olena.telegram_id, "/deals")
    assert "no open deals" in empty["text"] and "New deal" in empty["text"]
    assert "📋 My clients" in buttons(empty)


async def test_u2_the_card_in_russian(service, emulator, make_staff):
    """U-2: title, client, stage n of m by its translated name, the amount the Russian
    way, the expected close as dd.mm.yyyy, owner, the next step in the person's time
    zone (or the flag), days in the stage; ◀️ back to the list."""
    ivan = await make_staff(Role.MANAGER, language="ru", name="Иван Полевой",
                            timezone="Asia/Yekaterinburg")
    client = await _client(ivan, "ООО Ромашка")
    deal = await _deal(ivan, client, title="Поставка <труб>", amount="150 000,50",
                       expected_close="2027-01-31")
    bare = await _deal(ivan, client, title="Гривны", amount="2500", currency="UAH")
    start = utcnow().replace(hour=5, minute=0, second=0, microsecond=0) + timedelta(days=1)
    await svc.do_add_activity(ivan, deal.id, {"title": "Позвонить по КП", "type": "call",
                                              "starts_at": start})
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Поставка")
    text = plain(card["text"])
    assert "Поставка <труб>" in text  # escaped in HTML, shown as typed
    assert "ООО Ромашка" in text
    assert "Продажа: этап 1 из 5, Первичный контакт" in text
    assert "150 000,50 ₽" in text
    assert "Ожидаемое закрытие: 31.01.2027" in text
    assert "Ответственный: Иван Полевой" in text
    assert "10:00" in text and "Позвонить по КП" in text  # 05:00 UTC in Yekaterinburg
    assert "На этапе: 0 дн." in text
    assert {"➡️ Переместить", "✅ Выиграна", "❌ Проиграна", "➕ Задача", "🏢 Клиент",
            "◀️ Мои сделки"} <= set(buttons(card))
    await press(emulator, chat, card, "◀️ Мои сделки")
    await settled(service, emulator)
    listing = current(emulator, chat, card)
    assert "Мои открытые сделки" in listing["text"]
    card = await _open(service, emulator, chat, "Гривны")
    assert "2 500 ₴" in plain(card["text"])
    assert "⚠️ Нет следующего шага" in card["text"]
    assert bare.id


async def test_u1_move_in_one_tap_and_a_double_tap_records_once(service, emulator,
                                                                  make_staff):
    """U-1: ➡️ Move lists the stages; one tap moves the deal and redraws the card; the
    same button pressed again answers "already there" and records nothing."""
    ivan = await make_staff(Role.MANAGER, language="en")
    deal = await _deal(ivan, await _client(ivan), title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    await press(emulator, chat, card, "➡️ Move")
    await settled(service, emulator)
    stages = current(emulator, chat, card)
    assert "Move to which stage?" in stages["text"]
    assert "➡️ 2. Needs analysis" in buttons(stages) and "↩️ Back" in buttons(stages)
    answer, _reply = await press(emulator, chat, stages, "➡️ 2. Needs analysis")
    assert "Needs analysis" in answer["text"]
    await settled(service, emulator)
    moved = current(emulator, chat, card)
    assert "stage 2 of 5, Needs analysis" in moved["text"]
    assert "➡️ Move" in buttons(moved)
    answer, _reply = await press(emulator, chat, stages, "➡️ 2. Needs analysis")
    assert "already at «Needs analysis»" in answer["text"]
    events = await DealEvent.filter(deal_id=deal.id).order_by("seq").values_list("seq",
                                                                                 "source")
    assert events == [(1, "web"), (2, "bot")]


async def test_u1_a_requirement_refuses_a_move_in_russian(service, emulator, make_staff):
    """U-1: a stage that needs an amount refuses a deal without one, the reason said in
    the person's language, the card kept; with the amount it moves."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    deal = await _deal(ivan, await _client(ivan, "ООО Ромашка"), title="Трубы")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Трубы")
    await press(emulator, chat, card, "➡️ Переместить")
    await settled(service, emulator)
    stages = current(emulator, chat, card)
    answer, _reply = await press(emulator, chat, stages, "➡️ 3. Коммерческое предложение")
    refusal = "нельзя перейти на этап «Коммерческое предложение»: нет суммы"
    assert answer["show_alert"] and refusal in answer["text"]
    await settled(service, emulator)
    kept = current(emulator, chat, card)
    assert refusal in kept["text"] and "этап 1 из 5" in kept["text"]
    assert "➡️ Переместить" in buttons(kept)
    assert (await Deal.get(id=deal.id).prefetch_related("stage")).stage.code == "lead"
    await svc.do_update_deal(ivan, deal.id, {"amount": "1000"})
    await press(emulator, chat, kept, "➡️ Переместить")
    await settled(service, emulator)
    answer, _reply = await press(emulator, chat, current(emulator, chat, card),
                                 "➡️ 3. Коммерческое предложение")
    assert not answer.get("show_alert")
    assert (await Deal.get(id=deal.id).prefetch_related("stage")).stage.code == "offer"


async def test_u6_lost_in_two_taps_reason_then_no_competitor(service, emulator, make_staff):
    """U-6: ❌ Lost, then two taps: the reason, then "No competitor"."""
    ivan = await make_staff(Role.MANAGER, language="en")
    deal = await _deal(ivan, await _client(ivan), title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    await press(emulator, chat, card, "❌ Lost")
    await settled(service, emulator)
    reasons = current(emulator, chat, card)
    assert "Why was it lost?" in reasons["text"]
    assert {"Too expensive", "Chose a competitor", "No budget"} <= set(buttons(reasons))
    await press(emulator, chat, reasons, "Too expensive")  # tap 1
    await settled(service, emulator)
    who = current(emulator, chat, card)
    assert "Who won it?" in who["text"] and "🤷 No competitor" in buttons(who)
    answer, _reply = await press(emulator, chat, who, "🤷 No competitor")  # tap 2
    assert "lost" in answer["text"]
    await settled(service, emulator)
    lost = current(emulator, chat, card)
    assert "❌ Sale: Lost" in lost["text"] and "Reason: Too expensive" in lost["text"]
    assert "↩️ Reopen" in buttons(lost) and "✅ Won" not in buttons(lost)
    saved = await Deal.get(id=deal.id).prefetch_related("stage", "lost_reason")
    assert saved.stage.kind == StageKind.LOST and saved.lost_reason.code == "price"
    assert saved.competitor_id is None
    # the next text is not a competitor's search any more: a quick log reads it
    reply = await say(emulator, chat, "called Petrov, discussed the prices")
    assert "✅ Save" in buttons(reply)


async def test_u6_lost_to_a_competitor_found_by_name(service, emulator, make_staff):
    """U-6: after the reason, a typed name finds the competitor among one's clients."""
    ivan = await make_staff(Role.MANAGER, language="en")
    client = await _client(ivan)
    rival = await _client(ivan, "Rival Trading")
    deal = await _deal(ivan, client, title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    await press(emulator, chat, card, "❌ Lost")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, card), "Chose a competitor")
    await settled(service, emulator)
    nothing = await say(emulator, chat, "Nobody Such")
    assert "Nothing found" in nothing["text"] and "🤷 No competitor" in buttons(nothing)
    found = await say(emulator, chat, "rival")
    assert "🏢 Rival Trading" in buttons(found)
    answer, _reply = await press(emulator, chat, found, "🏢 Rival Trading")
    await settled(service, emulator)
    shown = current(emulator, chat, found)
    assert "Competitor: Rival Trading" in shown["text"]
    saved = await Deal.get(id=deal.id).prefetch_related("stage")
    assert saved.stage.kind == StageKind.LOST and saved.competitor_id == rival.id


async def test_u2_won_in_one_tap(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    deal = await _deal(ivan, await _client(ivan), title="Pipes", amount="500")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    answer, _reply = await press(emulator, chat, card, "✅ Won")
    assert "Won" in answer["text"]
    await settled(service, emulator)
    won = current(emulator, chat, card)
    assert "✅ Sale: Won" in won["text"] and "No next step" not in won["text"]
    saved = await Deal.get(id=deal.id).prefetch_related("stage")
    assert saved.stage.kind == StageKind.WON and saved.closed_at is not None
    # U-7: the won sale goes on as its execution, now the only open deal
    listing = await say(emulator, chat, "/deals")
    assert "1–1 of 1" in listing["text"]
    follow = await Deal.get(parent_id=deal.id).prefetch_related("process")
    assert follow.process.code == "execution" and follow.title == "Pipes"


async def test_u2_a_new_deal_from_the_client_card(service, emulator, make_staff):
    """U-2: 💼 New deal on the client's card: the title (the client's name in one tap,
    or typed), the amount (typed as people type it, or Skip); the card follows; the
    client's card then lists the open deal."""
    ivan = await make_staff(Role.MANAGER, language="en")
    client = await _client(ivan)
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find romashka")
    _answer, client_card = await press(emulator, chat, found, "Romashka LLC")
    assert "💼 New deal" in buttons(client_card)
    _answer, ask = await press(emulator, chat, client_card, "💼 New deal")
    assert "/cancel" in ask["text"] and "✖️ Cancel" in buttons(ask)
    _answer, amount = await press(emulator, chat, ask, "✅ Romashka LLC")
    assert "amount" in amount["text"] and "Skip" in buttons(amount)
    bad = await say(emulator, chat, "a lot")
    assert "not a sum of money" in bad["text"] and "Skip" in buttons(bad)
    card = await say(emulator, chat, "150 000")
    assert "Deal created" in card["text"] and "150 000 ₽" in plain(card["text"])
    assert "stage 1 of 5, First contact" in card["text"]
    deal = await Deal.get(client_id=client.id)
    assert (deal.title, deal.amount, deal.currency) == ("Romashka LLC", Decimal("150000.00"),
                                                       "RUB")
    # a typed title, the amount skipped
    _answer, ask = await press(emulator, chat, client_card, "💼 New deal")
    amount = await say(emulator, chat, "Second order")
    _answer, card = await press(emulator, chat, amount, "Skip")
    assert "Second order" in card["text"] and "no amount yet" in card["text"]
    # the client's card lists both, each opening its card
    _answer, again = await press(emulator, chat, found, "Romashka LLC")
    deal_button = label_with(again, "Second order")
    _answer, opened = await press(emulator, chat, again, deal_button)
    assert "Second order" in opened["text"] and "➡️ Move" in buttons(opened)
    assert await Deal.filter(client_id=client.id).count() == 2


async def test_u2_a_task_of_the_deal_is_its_next_step(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    deal = await _deal(ivan, await _client(ivan), title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    assert "No next step" in card["text"]
    _answer, ask = await press(emulator, chat, card, "➕ Task")
    assert "/cancel" in ask["text"] and "✖️ Cancel" in buttons(ask)
    when = await say(emulator, chat, "Send the offer")
    assert "When?" in when["text"]
    bad = await say(emulator, chat, "whenever")
    assert "could not read a date" in bad["text"]
    shown = await say(emulator, chat, "tomorrow 10:00")
    assert "Task saved" in shown["text"]
    assert "Next step:" in shown["text"] and "10:00" in shown["text"]
    assert "Send the offer" in shown["text"] and "No next step" not in shown["text"]
    task = await Activity.get(deal_id=deal.id)
    assert task.title == "Send the offer" and task.client_id == deal.client_id
    assert task.starts_at > utcnow()
    listing = await say(emulator, chat, "/deals")
    assert not any(label.startswith("⚠️") for label in buttons(listing))


async def test_u2_an_old_cards_buttons_answer_with_the_deal_as_it_is(service, emulator,
                                                                      make_staff):
    """Two cards of one deal: what is done on one, the other's buttons answer with
    (won already; moved meanwhile) and redraw the deal as it is now."""
    ivan = await make_staff(Role.MANAGER, language="en")
    client = await _client(ivan)
    await _deal(ivan, client, title="Pipes")
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find romashka")
    _answer, client_card = await press(emulator, chat, found, "Romashka LLC")
    _answer, old = await press(emulator, chat, client_card, label_with(client_card, "Pipes"))
    _answer, new = await press(emulator, chat, client_card, label_with(client_card, "Pipes"))
    # the old card's stage list, drawn before the new card moves the deal
    await press(emulator, chat, old, "➡️ Move")
    await settled(service, emulator)
    old_stages = current(emulator, chat, old)
    await press(emulator, chat, new, "➡️ Move")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, new), "➡️ 2. Needs analysis")
    await settled(service, emulator)
    answer, _reply = await press(emulator, chat, old_stages, "➡️ 4. Negotiation")
    assert "moved meanwhile" in answer["text"]
    await settled(service, emulator)
    assert "stage 2 of 5, Needs analysis" in current(emulator, chat, old)["text"]
    # won on the new card; the old card's Won and Lost say so
    await press(emulator, chat, current(emulator, chat, new), "✅ Won")
    await settled(service, emulator)
    answer, _reply = await press(emulator, chat, old, "✅ Won")  # as it was drawn
    assert "already won" in answer["text"]
    answer, _reply = await press(emulator, chat, old, "❌ Lost")
    assert "already won" in answer["text"]
    await settled(service, emulator)
    assert "↩️ Reopen" in buttons(current(emulator, chat, old))
    deal = await Deal.get(title="Pipes", parent_id=None).prefetch_related("stage")
    assert deal.stage.kind == StageKind.WON
    # reopening through Move lists the open stages
    await press(emulator, chat, current(emulator, chat, old), "↩️ Reopen")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, old), "➡️ 5. Contract")
    await settled(service, emulator)
    assert "cannot move to «Contract»" in current(emulator, chat, old)["text"]


async def test_u2_a_menu_button_or_cancel_leaves_the_new_deals_questions(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = await _client(ivan, "ООО Ромашка")
    chat = ivan.telegram_id
    found = await say(emulator, chat, "/find ромашка")
    _answer, client_card = await press(emulator, chat, found, "ООО Ромашка")
    _answer, ask = await press(emulator, chat, client_card, "💼 Новая сделка")
    reply = await say(emulator, chat, "📅 Сегодня")
    assert reply["text"].startswith("📅 Сегодня:")
    # the title button of the left question is out of date
    answer, _reply = await press(emulator, chat, ask, label_with(ask, "ООО Ромашка"))
    assert answer["show_alert"] and "устарела" in answer["text"]
    # at the amount: a command leaves too, and text after it is a quick log
    _answer, ask = await press(emulator, chat, client_card, "💼 Новая сделка")
    await say(emulator, chat, "Трубы")
    reply = await say(emulator, chat, "/deals")
    assert "нет открытых сделок" in reply["text"]
    reply = await say(emulator, chat, "150 000")
    assert "Трубы" not in reply["text"]
    # ✖️ Cancel and /cancel
    _answer, ask = await press(emulator, chat, client_card, "💼 Новая сделка")
    answer, _reply = await press(emulator, chat, ask, "✖️ Отмена")
    assert "ничего не сохранено" in answer["text"]
    _answer, ask = await press(emulator, chat, client_card, "💼 Новая сделка")
    waits = await say(emulator, chat, "/cancel")
    assert "Отменено" in waits["text"]
    # the menu shows the deals
    menu = await say(emulator, chat, "💼 Сделки")
    assert "нет открытых сделок" in menu["text"]
    assert not await Deal.filter(client_id=client.id).exists()


async def test_u2_a_manager_does_not_see_a_colleagues_deal(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    olena = await make_staff(Role.MANAGER, language="en")
    theirs = await _deal(olena, await _client(olena, "Secret Client"), title="Secret")
    chat = ivan.telegram_id
    listing = await say(emulator, chat, "/deals")
    assert "no open deals" in listing["text"]
    for action in ("card", "move", "won", "lost", "task", "client"):
        answer, _reply = await press(emulator, chat, listing, data=DealCB(
            action=action, deal_id=theirs.id).pack())
        assert answer["show_alert"] and "not found" in answer["text"], action
    first = (await svc.stages_of(theirs.process_id))[1]
    answer, _reply = await press(emulator, chat, listing, data=DealCB(
        action="stage", deal_id=theirs.id, v=1, value=str(first.id)).pack())
    assert "not found" in answer["text"]
    answer, _reply = await press(emulator, chat, listing, data=DealCB(
        action="lostok", deal_id=theirs.id, value="1").pack())
    assert "not found" in answer["text"]
    saved = await Deal.get(id=theirs.id).prefetch_related("stage")
    assert saved.stage.code == "lead"


def test_u2_sums_as_salespeople_type_and_read_them():
    """U-2: the amount typed in the chat, and written back the Russian way."""
    import pytest

    from kontakt.formatting import money_text
    from services.errors import ValidationFailed

    assert parse_money("150 000") == (Decimal("150000.00"), None)
    assert parse_money("1 250,50 грн") == (Decimal("1250.50"), "UAH")
    assert parse_money("$5000") == (Decimal("5000.00"), "USD")
    assert parse_money("150к") == (Decimal("150000.00"), None)
    assert parse_money("1,5 млн ₽") == (Decimal("1500000.00"), "RUB")
    assert parse_money("100 тыс. руб.") == (Decimal("100000.00"), "RUB")
    assert parse_money("") == (None, None)
    for bad in ("a lot", "12 parrots", "$5 грн", "-5"):
        with pytest.raises(ValidationFailed):
            parse_money(bad)
    assert plain(money_text(Decimal("150000.50"), "RUB")) == "150 000,50 ₽"
    assert plain(money_text(Decimal("2500"), "UAH")) == "2 500 ₴"
    assert plain(money_text(Decimal("1234567.8"), "EUR")) == "1 234 567,80 €"
    assert money_text(None, "RUB") == "—"


async def test_u7_an_overdue_execution_is_told_to_the_owner_and_the_head_once(
        service, emulator, make_staff, pinned_clock):
    """U-7: a deal six days at the execution's payment (limit 5) is told once to its owner
    and their supervisor, each in their language, with a button to the card."""
    from notifications.deal_alerts import send_deal_escalations

    boss = await make_staff(Role.HEAD, language="ru")
    ivan = await make_staff(Role.MANAGER, language="en", supervisor=boss, name="Ivan <Late>")
    for person in (boss, ivan):  # each has opened the bot
        await say(emulator, person.telegram_id, "/menu")
    execution = next(p for p in await svc.process_types() if p.code == "execution")
    deal = await _deal(ivan, await _client(ivan), title="Pipes & fittings",
                       process_id=execution.id, amount="150000")
    assert await send_deal_escalations(service.bot, service.i18n) == 0
    pinned_clock.shift(timedelta(days=6))  # (the service's own job may come first)
    sent = await send_deal_escalations(service.bot, service.i18n)
    sent += await send_deal_escalations(service.bot, service.i18n)
    await settled(service, emulator)
    assert sent in (0, 2)
    told = [m for m in emulator.bot_messages(ivan.telegram_id) if "⏰" in m.get("text", "")]
    assert len(told) == 1
    assert "6 days at «Payment» (the limit is 5): Pipes &amp; fittings" in told[0]["text"] \
        or "6 days at «Payment» (the limit is 5): Pipes & fittings" in told[0]["text"]
    head = [m for m in emulator.bot_messages(boss.telegram_id) if "⏰" in m.get("text", "")]
    assert len(head) == 1 and "«Оплата»" in head[0]["text"] and "Ivan <Late>" in head[0][
        "text"]
    # the button opens the deal's card
    await press(emulator, boss.telegram_id, head[0], "Открыть")
    await settled(service, emulator)
    card = emulator.bot_messages(boss.telegram_id)[-1]
    assert "Pipes" in card["text"] and str(deal.id)
