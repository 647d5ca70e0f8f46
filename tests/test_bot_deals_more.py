"""More of the deals in the bot through the Bot API emulator (issue 12): a claim opened
from a deal's card and from the client's card, closed as settled or rejected after its
resolution and "our fault?" are asked (U-7); the win probability on the card with its
basis and factors, and the manager's own figure (U-5); the amount, expected close and
contact person changed from the card, bad input kept in the dialog; a contact logged
on the deal; the quick log linking to the client's open deal (one: at once; several:
a choice); the deal discussed in its next step's topic (K-2); menu buttons and /cancel
leaving every new question."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from models import Activity, ActivityState, Deal, DictionaryItem, Role, StageKind
from services import contacts as contact_svc
from services import deal_cards, deal_moves
from services import deals as svc
from services.clock import utcnow
from tests.conftest import say, settled
from tests.test_bot_deals import (
    _client,
    _deal,
    _open,
    buttons,
    current,
    label_with,
    plain,
    press,
)


async def _claim_type():
    return next(p for p in await svc.process_types() if p.kind == "claim")


async def _client_card(service, emulator, chat, name):
    found = await say(emulator, chat, f"/find {name}")
    _answer, card = await press(emulator, chat, found, label_with(found, name))
    return card


# --- claims (U-7) ---------------------------------------------------------------------

async def test_u7_a_claim_from_the_deal_card_is_settled_after_its_resolution_and_fault(
        service, emulator, make_staff):
    """⚠️ Claim on a deal's card: the title typed, the claim made about that deal; its
    ✅ Settled asks the resolution (typed), then "our fault?" (one tap), then closes it;
    what else is typed meanwhile is told what the question waits for."""
    ivan = await make_staff(Role.MANAGER, language="en")
    client = await _client(ivan)
    sale = await _deal(ivan, client, title="Pipes <DN50>")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    _answer, ask = await press(emulator, chat, card, "⚠️ Claim")
    assert "A claim about “Pipes &lt;DN50&gt;”" in ask["text"] or \
        "A claim about “Pipes <DN50>”" in ask["text"]
    assert "/cancel" in ask["text"] and "✖️ Cancel" in buttons(ask)
    made = await say(emulator, chat, "Damaged <batch>")
    assert "Claim opened" in made["text"] and "Damaged <batch>" in made["text"]
    assert "Claim: stage 1 of 3, Received" in made["text"]
    assert "About the deal: Pipes <DN50>" in made["text"]
    assert {"✅ Settled", "❌ Rejected"} <= set(buttons(made))
    assert "⚠️ Claim" not in buttons(made) and "✅ Won" not in buttons(made)
    claim = await Deal.get(parent_id=sale.id).prefetch_related("process")
    assert claim.process.kind == "claim" and claim.title == "Damaged <batch>"
    # Settled without a resolution: asked, not refused
    answer, ask = await press(emulator, chat, made, "✅ Settled")
    assert not answer.get("show_alert")
    assert "write its resolution" in ask["text"] and "✖️ Cancel" in buttons(ask)
    question = await say(emulator, chat, "Replaced the batch & paid the delivery")
    assert "our fault?" in question["text"]
    assert {"Yes, ours", "No, not ours", "✖️ Cancel"} == set(buttons(question))
    waits = await say(emulator, chat, "what?")
    assert "Yes, ours" in waits["text"] and "/cancel" in waits["text"]
    answer, _reply = await press(emulator, chat, question, "Yes, ours")
    assert "Closed as «Settled»" in answer["text"]
    await settled(service, emulator)
    closed = current(emulator, chat, question)
    assert "✅ Claim: Settled" in closed["text"]
    assert "Resolution: Replaced the batch &amp; paid" in closed["text"] or \
        "Resolution: Replaced the batch & paid" in closed["text"]
    assert "Our fault: yes" in closed["text"] and "↩️ Reopen" in buttons(closed)
    saved = await Deal.get(id=claim.id).prefetch_related("stage")
    assert saved.stage.kind == StageKind.WON and saved.our_fault is True
    assert saved.resolution == "Replaced the batch & paid the delivery"
    # the card's old Settled button says it is closed
    answer, _reply = await press(emulator, chat, made, "✅ Settled")
    assert answer["show_alert"] and "already closed as «Settled»" in answer["text"]


async def test_u7_a_claim_from_the_client_card_rejected_in_russian(service, emulator,
                                                                    make_staff):
    """⚠️ Претензия on the client's card: which deal it is about (one tap), the title;
    ❌ Отклонена asks the resolution and the fault, then the reason (one tap) — no
    competitor for a claim; a claim whose resolution and fault are set closes at once."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = await _client(ivan, "ООО Ромашка")
    sale = await _deal(ivan, client, title="Трубы")
    chat = ivan.telegram_id
    client_card = await _client_card(service, emulator, chat, "ООО Ромашка")
    _answer, which = await press(emulator, chat, client_card, "⚠️ Претензия")
    assert "О какой сделке" in which["text"]
    assert "Не о сделке" in buttons(which) and "✖️ Отмена" in buttons(which)
    _answer, ask = await press(emulator, chat, which, label_with(which, "Трубы"))
    assert "Претензия по «Трубы»" in ask["text"]
    made = await say(emulator, chat, "Брак в партии")
    assert "Претензия открыта" in made["text"] and "По сделке: Трубы" in made["text"]
    assert {"✅ Урегулирована", "❌ Отклонена"} <= set(buttons(made))
    _answer, ask = await press(emulator, chat, made, "❌ Отклонена")
    assert "решение" in ask["text"]
    question = await say(emulator, chat, "Брак не подтвердился")
    _answer, _reply = await press(emulator, chat, question, "Нет, не наша")
    await settled(service, emulator)
    reasons = current(emulator, chat, question)
    assert "«Отклонена»: почему?" in reasons["text"]
    # a claim's own reasons, not a lost sale's
    assert "Дорого" not in " ".join(buttons(reasons))
    assert {"Не подтвердилась", "Истёк срок гарантии"} <= set(buttons(reasons))
    answer, _reply = await press(emulator, chat, reasons, label_with(reasons, "Не подтвердилась"))
    assert "Отклонена" in answer["text"]
    await settled(service, emulator)
    closed = current(emulator, chat, question)
    assert "❌ Претензия: Отклонена" in closed["text"] and "Наша вина: нет" in closed["text"]
    claim = await Deal.get(parent_id=sale.id).prefetch_related("stage", "lost_reason")
    assert claim.stage.kind == StageKind.LOST and claim.our_fault is False
    assert claim.lost_reason.code == "claim_unconfirmed" and claim.competitor_id is None
    # not about a deal; resolution and fault set beforehand: settled in one tap
    _answer, which = await press(emulator, chat, client_card, "⚠️ Претензия")
    _answer, ask = await press(emulator, chat, which, "Не о сделке")
    assert "не по сделке" in ask["text"]
    made = await say(emulator, chat, "Опоздали с доставкой")
    second = await Deal.get(title="Опоздали с доставкой")
    assert second.parent_id is None
    await svc.do_update_deal(ivan, second.id, {"resolution": "Извинились", "our_fault": True})
    answer, _reply = await press(emulator, chat, made, "✅ Урегулирована")
    assert "Урегулирована" in answer["text"] and not answer.get("show_alert")
    assert (await Deal.get(id=second.id).prefetch_related("stage")).stage.kind == \
        StageKind.WON
    # a client without deals: straight to the title
    await _client(ivan, "ИП Лютик")
    lutik = await _client_card(service, emulator, chat, "ИП Лютик")
    _answer, ask = await press(emulator, chat, lutik, "⚠️ Претензия")
    assert "не по сделке" in ask["text"]


async def test_u7_leaving_a_claims_questions(service, emulator, make_staff):
    """A menu button leaves the resolution's question; the fault's buttons of a left
    question are out of date; ✖️ Cancel and /cancel leave the title's question; the claim
    stays open and nothing is half-saved."""
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client = await _client(ivan)
    sale = await _deal(ivan, client, title="Pipes")
    claim = (await svc.do_create_deal(ivan, {"client_id": client.id, "title": "Late",
                                             "process_id": (await _claim_type()).id,
                                             "parent_id": sale.id})).deal
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Late")
    _answer, _ask = await press(emulator, chat, card, "❌ Rejected")
    question = await say(emulator, chat, "We were late, a discount given")
    reply = await say(emulator, chat, "📅 Today")
    assert reply["text"].startswith("📅 Today")
    answer, _reply = await press(emulator, chat, question, "Yes, ours")
    assert answer["show_alert"] and "out of date" in answer["text"]
    saved = await Deal.get(id=claim.id).prefetch_related("stage")
    assert saved.stage.kind == StageKind.OPEN and saved.resolution is None
    # the title's question: ✖️ Cancel, then /cancel
    card = await _open(service, emulator, chat, "Pipes")
    _answer, ask = await press(emulator, chat, card, "⚠️ Claim")
    answer, _reply = await press(emulator, chat, ask, "✖️ Cancel")
    assert "nothing was saved" in answer["text"]
    _answer, ask = await press(emulator, chat, card, "⚠️ Claim")
    reply = await say(emulator, chat, "/cancel")
    assert "Cancelled" in reply["text"]
    assert await Deal.filter(parent_id=sale.id).count() == 1


# --- probability (U-5) -------------------------------------------------------------------

async def test_u5_the_card_shows_the_probability_its_basis_factors_and_the_override(
        service, emulator, make_staff):
    """The card: "🎯 Probability: 10 % — the stage's estimate"; an estimate of the model
    names its basis and the factors readably; 🎯 Probability sets the manager's own
    figure in one tap (shown as such) and takes it back."""
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan <Field>")
    client = await _client(ivan)
    deal = await _deal(ivan, client, title="Pipes", amount="250000")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    assert "🎯 Probability: 10 % — the stage's estimate" in card["text"]
    # the model's estimate with its factors, as the nightly recompute stores it
    from services.dictionaries import ensure_system_dictionaries

    await ensure_system_dictionaries()
    website = await DictionaryItem.get(code="website")
    await Deal.filter(id=deal.id).update(
        probability=62, probability_basis="model", probability_factors=[
            ["source", str(website.id), 1.84], ["owner", str(ivan.id), 0.61],
            ["band", "b1", 1.3], ["kind", "company", 1.1]])
    card = await _open(service, emulator, chat, "Pipes")
    text = card["text"]
    assert "🎯 Probability: 62 % — from the company's closed deals" in text
    assert "↑ source: Website (×1.8)" in text
    assert "↓ owner: Ivan &lt;Field&gt; (×0.6)" in text or "↓ owner: Ivan <Field> (×0.6)" in text
    assert "↑ amount: 100 000 to 1 million (×1.3)" in text
    assert "↑ the client is a company (×1.1)" in text
    await press(emulator, chat, card, "🎯 Probability")
    await settled(service, emulator)
    choices = current(emulator, chat, card)
    assert {"10 %", "25 %", "50 %", "75 %", "90 %", "↩️ Back"} <= set(buttons(choices))
    assert "🧮 Back to the estimate" not in buttons(choices)
    answer, _reply = await press(emulator, chat, choices, "75 %")
    assert "75 %" in answer["text"]
    await settled(service, emulator)
    shown = current(emulator, chat, card)
    assert "🎯 Probability: 75 % — set by the manager" in shown["text"]
    assert "source: Website" not in shown["text"]
    assert (await Deal.get(id=deal.id)).probability_override == 75
    await press(emulator, chat, shown, "🎯 Probability")
    await settled(service, emulator)
    answer, _reply = await press(emulator, chat, current(emulator, chat, card),
                                 "🧮 Back to the estimate")
    await settled(service, emulator)
    assert "62 % — from the company's closed deals" in current(emulator, chat, card)["text"]
    assert (await Deal.get(id=deal.id)).probability_override is None


async def test_u5_probability_in_russian_after_moves(service, emulator, make_staff):
    """The stage's estimate follows a move; the basis in the person's language; a closed
    deal shows no probability and no 🎯 button."""
    ivan = await make_staff(Role.MANAGER, language="ru")
    await _deal(ivan, await _client(ivan, "ООО Ромашка"), title="Трубы")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Трубы")
    assert "🎯 Вероятность: 10 % — оценка этапа" in card["text"]
    await press(emulator, chat, card, "➡️ Переместить")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, card), "➡️ 2. Выявление потребности")
    await settled(service, emulator)
    assert "🎯 Вероятность: 25 % — оценка этапа" in current(emulator, chat, card)["text"]
    await press(emulator, chat, current(emulator, chat, card), "✅ Выиграна")
    await settled(service, emulator)
    won = current(emulator, chat, card)
    assert "Вероятность" not in won["text"] and "🎯 Вероятность" not in buttons(won)


# --- edits from the card ----------------------------------------------------------------

async def test_edit_amount_close_and_contact_in_russian(service, emulator, make_staff):
    """✏️ Изменить: the amount as people type it (a non-number said in Russian, the
    question kept), the expected close typed (a date that cannot be read said so, the
    question kept), and the contact person picked from the client's contacts."""
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = await _client(ivan, "ООО Ромашка")
    deal = await _deal(ivan, client, title="Трубы")
    petrov = await contact_svc.do_add_contact(ivan, client.id, {
        "first_name": "Пётр", "last_name": "Петров"})
    await contact_svc.do_add_contact(ivan, client.id, {"first_name": "Анна",
                                                       "last_name": "Сидорова"})
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Трубы")
    await press(emulator, chat, card, "✏️ Изменить")
    await settled(service, emulator)
    menu = current(emulator, chat, card)
    assert {"💰 Сумма", "📆 Ожидаемое закрытие", "📇 Контактное лицо", "↩️ Назад"} <= set(
        buttons(menu))
    _answer, ask = await press(emulator, chat, menu, "💰 Сумма")
    assert "/cancel" in ask["text"] and "✖️ Отмена" in buttons(ask)
    bad = await say(emulator, chat, "много")
    assert "«много» — не денежная сумма" in bad["text"]
    shown = await say(emulator, chat, "1,5 млн грн")
    assert "Сумма сохранена" in shown["text"] and "1 500 000 ₴" in plain(shown["text"])
    saved = await Deal.get(id=deal.id)
    assert (saved.amount, saved.currency) == (Decimal("1500000.00"), "UAH")
    # the expected close
    await press(emulator, chat, shown, "✏️ Изменить")
    await settled(service, emulator)
    _answer, ask = await press(emulator, chat, current(emulator, chat, shown),
                               "📆 Ожидаемое закрытие")
    assert "28.11" in ask["text"]
    bad = await say(emulator, chat, "когда-нибудь потом")
    assert "Не вижу даты" in bad["text"]
    shown = await say(emulator, chat, "28.11")
    year = utcnow().year if (utcnow().month, utcnow().day) <= (11, 28) else utcnow().year + 1
    assert f"Ожидаемое закрытие: 28.11.{year}" in shown["text"]
    assert (await Deal.get(id=deal.id)).expected_close == date(year, 11, 28)
    # a date removed with its button
    await press(emulator, chat, shown, "✏️ Изменить")
    await settled(service, emulator)
    _answer, ask = await press(emulator, chat, current(emulator, chat, shown),
                               "📆 Ожидаемое закрытие")
    _answer, shown = await press(emulator, chat, ask, "🚫 Без даты")
    assert "Ожидаемое закрытие:" not in shown["text"]
    assert (await Deal.get(id=deal.id)).expected_close is None
    # the contact person, one tap
    await press(emulator, chat, shown, "✏️ Изменить")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, shown), "📇 Контактное лицо")
    await settled(service, emulator)
    people = current(emulator, chat, shown)
    assert {"👤 Петров Пётр", "👤 Сидорова Анна", "↩️ Назад"} <= set(buttons(people))
    answer, _reply = await press(emulator, chat, people, "👤 Петров Пётр")
    assert "Контактное лицо сохранено" in answer["text"]
    await settled(service, emulator)
    assert "Контактное лицо: Петров Пётр" in current(emulator, chat, shown)["text"]
    assert (await Deal.get(id=deal.id)).contact_id == petrov.id


async def test_edit_title_and_source_in_ukrainian(service, emulator, make_staff):
    """✏️ Змінити: the title typed (too long refused with the limit named, the question
    kept), the source picked from the advertising sources (shown on the card) and
    taken away again."""
    olena = await make_staff(Role.MANAGER, language="uk", timezone="Europe/Kyiv")
    deal = await _deal(olena, await _client(olena, "ТОВ Ромашка"), title="Труби")
    chat = olena.telegram_id
    card = await _open(service, emulator, chat, "Труби")
    await press(emulator, chat, card, "✏️ Змінити")
    await settled(service, emulator)
    menu = current(emulator, chat, card)
    assert {"📝 Назва", "📣 Джерело"} <= set(buttons(menu))
    _answer, ask = await press(emulator, chat, menu, "📝 Назва")
    assert "«Труби»" in ask["text"] and "✖️ Скасувати" in buttons(ask)
    bad = await say(emulator, chat, "Т" * 201)
    assert "200" in bad["text"] and "/cancel" in bad["text"]
    assert (await Deal.get(id=deal.id)).title == "Труби"
    shown = await say(emulator, chat, "Труби <ДН50>")
    assert "Назву збережено" in shown["text"] and "💼 Труби <ДН50>" in shown["text"]
    assert (await Deal.get(id=deal.id)).title == "Труби <ДН50>"
    # the source, one tap
    await press(emulator, chat, shown, "✏️ Змінити")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, shown), "📣 Джерело")
    await settled(service, emulator)
    sources = current(emulator, chat, shown)
    assert {"Рекомендація", "Виставка", "↩️ Назад"} <= set(buttons(sources))
    assert "🚫 Без джерела" not in buttons(sources)
    answer, _reply = await press(emulator, chat, sources, "Виставка")
    assert "Джерело збережено" in answer["text"]
    await settled(service, emulator)
    assert "📣 Джерело: Виставка" in current(emulator, chat, shown)["text"]
    saved = await Deal.get(id=deal.id).prefetch_related("source")
    assert saved.source.code == "exhibition"
    # and taken away
    await press(emulator, chat, current(emulator, chat, shown), "✏️ Змінити")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, shown), "📣 Джерело")
    await settled(service, emulator)
    sources = current(emulator, chat, shown)
    assert "📍 Виставка" in buttons(sources)
    await press(emulator, chat, sources, "🚫 Без джерела")
    await settled(service, emulator)
    assert "Джерело:" not in current(emulator, chat, shown)["text"]
    assert (await Deal.get(id=deal.id)).source_id is None


async def test_edit_questions_are_left_by_a_menu_button_and_a_client_without_contacts(
        service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    deal = await _deal(ivan, await _client(ivan), title="Pipes", amount="500")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    await press(emulator, chat, card, "✏️ Edit")
    await settled(service, emulator)
    _answer, ask = await press(emulator, chat, current(emulator, chat, card), "💰 Amount")
    assert "now 500 ₽" in plain(ask["text"]) and "🚫 No amount" in buttons(ask)
    reply = await say(emulator, chat, "💼 Deals")
    assert "My open deals" in reply["text"]
    reply = await say(emulator, chat, "700 000")  # not the amount any more
    assert "Amount saved" not in reply["text"]
    assert (await Deal.get(id=deal.id)).amount == Decimal("500.00")
    await say(emulator, chat, "/cancel")
    # 🚫 No amount
    _answer, shown = await press(emulator, chat, ask, "🚫 No amount")
    assert "The amount is removed" in shown["text"] and "no amount yet" in shown["text"]
    # no contacts: said where to add one
    await press(emulator, chat, shown, "✏️ Edit")
    await settled(service, emulator)
    await press(emulator, chat, current(emulator, chat, shown), "📇 Contact person")
    await settled(service, emulator)
    nobody = current(emulator, chat, shown)
    assert "no contact persons yet" in nobody["text"] and "↩️ Back" in buttons(nobody)


# --- a contact logged on the deal --------------------------------------------------------

async def test_log_contact_on_the_deal_reads_the_type_or_asks_it(service, emulator,
                                                                  make_staff):
    """📝 Log contact: what is typed is saved as a done activity of the deal, its type
    read as the quick log reads it; without a type word, the type in one tap."""
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client = await _client(ivan)
    petrov = await contact_svc.do_add_contact(ivan, client.id, {"first_name": "Peter",
                                                                "last_name": "Petrov"})
    deal = await _deal(ivan, client, title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    _answer, ask = await press(emulator, chat, card, "📝 Log contact")
    assert "What happened" in ask["text"] and "✖️ Cancel" in buttons(ask)
    shown = await say(emulator, chat, "called Petrov, they agreed to the price")
    assert "Logged: 📞 Call" in shown["text"] and "💼" in shown["text"]
    logged = await Activity.get(deal_id=deal.id).prefetch_related("type")
    assert logged.state == ActivityState.DONE and logged.type.code == "call"
    assert logged.result == "called Petrov, they agreed to the price"
    assert logged.client_id == client.id and logged.contact_id == petrov.id
    # no type word: chosen in one tap
    _answer, ask = await press(emulator, chat, shown, "📝 Log contact")
    kinds = await say(emulator, chat, "the price list is agreed with them at last")
    assert "What kind of contact" in kinds["text"]
    assert "🤝 Meeting" in buttons(kinds) and "✖️ Cancel" in buttons(kinds)
    waits = await say(emulator, chat, "hello?")
    assert "kind of contact" in waits["text"]
    _answer, shown = await press(emulator, chat, kinds, "🤝 Meeting")
    assert "Logged: 🤝 Meeting" in shown["text"]
    assert await Activity.filter(deal_id=deal.id, type__code="meeting",
                                 state=ActivityState.DONE).count() == 1
    # a type button of a question left is out of date
    answer, _reply = await press(emulator, chat, kinds, "📞 Call")
    assert answer["show_alert"]
    assert await Activity.filter(deal_id=deal.id).count() == 2


# --- the quick log and the client's open deals ---------------------------------------------

async def test_quick_log_links_to_the_clients_one_open_deal(service, emulator, make_staff):
    """One open deal: the logged contact and its follow-up are linked at once, and the
    confirmation says so; the follow-up becomes the deal's next step."""
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    client = await _client(ivan, "Romashka")
    deal = await _deal(ivan, client, title="Pipes <big>")
    closed = await _deal(ivan, client, title="Old one")
    await deal_moves.do_lose(ivan, closed.id, (await svc.lost_reasons())[0].id)
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "called Romashka, agreed to meet on Friday at 15:00")
    assert "🏢 Romashka" in proposal["text"]
    _answer, said = await press(emulator, chat, proposal, "✅ Save")
    assert "Logged" in said["text"]
    assert "Linked to the deal “Pipes &lt;big&gt;”" in said["text"] or \
        "Linked to the deal “Pipes <big>”" in said["text"]
    linked = await Activity.filter(deal_id=deal.id).order_by("id")
    assert [a.state for a in linked] == [ActivityState.DONE, ActivityState.PLANNED]
    card = await deal_cards.deal_card(ivan, deal.id)
    assert card.next_step is not None and card.next_step.id == linked[1].id


async def test_quick_log_asks_which_of_several_open_deals(service, emulator, make_staff):
    """Several open deals: a one-tap choice after saving (or 🚫 No deal); a client
    without open deals: nothing linked, nothing asked."""
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = await _client(ivan, "Ромашка")
    first = await _deal(ivan, client, title="Трубы")
    second = await _deal(ivan, client, title="Фитинги")
    chat = ivan.telegram_id
    proposal = await say(emulator, chat, "звонил в Ромашку, обсудили цены")
    _answer, said = await press(emulator, chat, proposal, "✅ Сохранить")
    assert "Привязано" not in said["text"]
    choice = await emulator.wait_for_bot_message(
        chat, predicate=lambda m: "Какая из них" in m.get("text", ""))
    assert {label_with(choice, "Трубы"), label_with(choice, "Фитинги"), "🚫 Без сделки"} == \
        set(buttons(choice))
    answer, _reply = await press(emulator, chat, choice, label_with(choice, "Фитинги"))
    assert "Фитинги" in answer["text"]
    await settled(service, emulator)
    assert "Привязано к сделке «Фитинги»" in current(emulator, chat, choice)["text"]
    logged = await Activity.get(client_id=client.id)
    assert logged.deal_id == second.id
    # changed: no deal after all
    answer, _reply = await press(emulator, chat, choice, "🚫 Без сделки")
    assert (await Activity.get(id=logged.id)).deal_id is None
    assert first.id
    # a client without open deals: nothing asked
    await _client(ivan, "Лютик")
    proposal = await say(emulator, chat, "звонил в Лютик, обсудили цены")
    _answer, said = await press(emulator, chat, proposal, "✅ Сохранить")
    await settled(service, emulator)
    assert not any("Какая из них" in m.get("text", "")
                   for m in emulator.bot_messages(chat) if m["message_id"] > said["message_id"])


# --- discussing the deal (K-2) ---------------------------------------------------------------

async def test_discuss_opens_the_next_steps_topic(service, emulator, make_staff):
    """💬 Discuss: without a next step, said to plan one; with one, its topic in the
    team's forum group (the same topic as the task's own Discuss); without a group, said
    so."""
    from tests.test_discussions import _group

    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    deal = await _deal(ivan, await _client(ivan), title="Pipes")
    chat = ivan.telegram_id
    card = await _open(service, emulator, chat, "Pipes")
    answer, _reply = await press(emulator, chat, card, "💬 Discuss")
    assert answer["show_alert"] and "plan one with ➕ Task" in answer["text"]
    await svc.do_add_activity(ivan, deal.id, {"title": "Send the offer", "type": "task",
                                              "starts_at": utcnow() + timedelta(days=1)})
    answer, reply = await press(emulator, chat, card, "💬 Discuss")
    assert "no team forum group" in reply["text"]
    group = await _group(emulator, service, admin, [chat])
    await emulator.send_message(admin.telegram_id, "/setup", chat_id=group)
    await settled(service, emulator)
    answer, reply = await press(emulator, chat, card, "💬 Discuss")
    assert "topic of its next step, “Send the offer”" in reply["text"]
    link = buttons(reply)["Open the topic"]
    assert link.startswith("https://t.me/c/")
    [topic] = emulator.topics(group)
    assert topic["name"] == "Send the offer"
    answer, again = await press(emulator, chat, card, "💬 Discuss")
    assert buttons(again)["Open the topic"] == link and len(emulator.topics(group)) == 1
