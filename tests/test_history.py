"""History in the person's language and time zone (issue 17): the bot's client
history, the activity's history in the API (the calendar's form shows its ``text``)
and the client page say what changed in words of the person's language, with values
of states translated and every time in the person's zone — not "(web) state state:
planned → done" in UTC."""

from __future__ import annotations

from datetime import timedelta

from models import Role
from services import activities as act_svc
from services import clients as client_svc
from services.clock import utcnow
from tests.conftest import say
from tests.test_web import signed_in


async def test_history_reads_in_russian_and_moscow_time(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    await client_svc.do_update_client(ivan, client.id, {"phone": "+79161234567"},
                                      source="bot")
    when = utcnow().replace(second=0, microsecond=0) + timedelta(days=1)
    activity = (await act_svc.do_create_activity(ivan, {
        "title": "Позвонить", "client_id": client.id, "starts_at": when})).activity
    await act_svc.do_complete(ivan, activity.id, "договорились", source="bot")
    moscow_now = (utcnow() + timedelta(hours=3)).strftime("%d.%m.%Y %H:")
    # the bot: the card's History button
    card = await say(emulator, ivan.telegram_id, "/find Ромашка")
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    before = max(m["message_id"] for m in emulator.history(ivan.telegram_id))
    await emulator.press_button(ivan.telegram_id, ivan.telegram_id, card["message_id"], data)
    opened = await emulator.wait_for_bot_message(ivan.telegram_id, after_message_id=before)
    history_data = next(b["callback_data"] for row in opened["reply_markup"]["inline_keyboard"]
                        for b in row if "История" in b["text"] or "history" in b[
                            "callback_data"])
    before = max(m["message_id"] for m in emulator.history(ivan.telegram_id))
    await emulator.press_button(ivan.telegram_id, ivan.telegram_id, opened["message_id"],
                                history_data)
    shown = await emulator.wait_for_bot_message(ivan.telegram_id, after_message_id=before)
    text = shown["text"]
    assert "создано" in text and "изменено · телефон" in text and "бот" in text
    assert moscow_now in text  # Moscow time, not UTC
    assert "update" not in text and "(bot)" not in text
    # the API's activity history (what the calendar's form shows)
    await signed_in(service, emulator, ivan)
    detail = await (await service.client.get(f"/api/v1/activities/{activity.id}")).json()
    lines = [h["text"] for h in detail["history"]]
    assert any("изменено · состояние: запланировано → выполнено" in t for t in lines), lines
    assert all(moscow_now[:10] in t for t in lines)
    # the client page
    page = await (await service.client.get(f"/app/clients/{client.id}")).text()
    assert "изменено · телефон" in page and moscow_now in page
