"""K-10: a lead posted to the public form through the web route is announced to the
assigned manager in the bot (escaped, with Take, Reassign, Log contact); every press is
answered: Take marks the request done, Reassign offers the department's people with
Cancel and tells the new person, Log contact asks for the result and saves a done call
(the M-16 reaction) — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from models import Activity, ActivityAssignee, ActivityState, Department, Role
from models.marketing import Campaign, CampaignState, CampaignVariant, LeadSubmission
from services import lead_forms, lead_intake
from tests.conftest import TEST_NOW, say, wait_until


def _buttons(msg: dict) -> dict[str, str]:
    rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def _press(emulator, tid: int, msg: dict, data: str) -> dict:
    qid = await emulator.press_button(tid, tid, msg["message_id"], data)
    return await emulator.wait_for_callback_answer(qid)


async def test_k10_lead_announced_with_buttons(service, emulator, make_staff):
    lead_intake.PER_ADDRESS.reset()
    dept = await Department.create(name="Отдел лидов")
    admin = await make_staff(Role.ADMIN, name="Анна Админ")
    ivan = await make_staff(name="Иван Лидов", department=dept)
    petr = await make_staff(name="Пётр Второй", department=dept)
    for person in (ivan, petr):
        await say(emulator, person.telegram_id, "/start")
    campaign = await Campaign.create(name="Весна <b>", state=CampaignState.RUNNING,
                                     starts_on=TEST_NOW.date() - timedelta(days=1))
    variant = await CampaignVariant.create(campaign=campaign, name="Баннер", link_token="bn1")
    form = await lead_forms.create_form(admin, variant.id, {
        "title": "Заявка", "shown": ["name", "phone", "message"], "required": ["phone"],
        "department_id": dept.id})
    resp = await service.client.post(f"/f/{form.token}", data={
        "name": "<script>Вася</script>", "phone": "+79160000001", "message": "Перезвоните"})
    assert resp.status == 200
    sub = await LeadSubmission.get(form_id=form.id)
    assert sub.assigned_id == ivan.id
    msg = await wait_until(lambda: next((m for m in emulator.history(ivan.telegram_id)
                                         if "Перезвоните" in m.get("text", "")), None))
    assert "<script>" in msg["text"]  # shown as typed: escaped, not markup
    assert "Весна <b>" in msg["text"] and "Баннер" in msg["text"]
    buttons = _buttons(msg)
    assert len(buttons) == 3
    take = next(v for k, v in buttons.items() if "✋" in k)
    reassign = next(v for k, v in buttons.items() if "🔁" in k)
    log = next(v for k, v in buttons.items() if "📞" in k)
    # Take
    answer = await _press(emulator, ivan.telegram_id, msg, take)
    assert answer.get("text")
    assert (await Activity.get(id=sub.activity_id)).state == ActivityState.DONE
    # Reassign: a list with Cancel; Cancel leaves; then to Pётр, who is told
    await _press(emulator, ivan.telegram_id, msg, reassign)
    pick = await wait_until(lambda: next((m for m in reversed(emulator.history(
        ivan.telegram_id)) if _buttons(m) and "Пётр Второй" in _buttons(m)), None))
    cancel = next(v for k, v in _buttons(pick).items() if "✖" in k)
    assert (await _press(emulator, ivan.telegram_id, pick, cancel)) is not None
    await _press(emulator, ivan.telegram_id, msg, reassign)
    pick = await wait_until(lambda: next((m for m in reversed(emulator.history(
        ivan.telegram_id)) if "Пётр Второй" in _buttons(m)), None))
    await _press(emulator, ivan.telegram_id, pick, _buttons(pick)["Пётр Второй"])
    await wait_until(lambda: next((m for m in emulator.history(petr.telegram_id)
                                   if "Перезвоните" in m.get("text", "")), None))
    assert await ActivityAssignee.filter(activity_id=sub.activity_id,
                                         user_id=petr.id).exists()
    # Log contact, by Пётр: the result typed becomes a done call
    petr_msg = next(m for m in emulator.history(petr.telegram_id)
                    if "Перезвоните" in m.get("text", ""))
    log = _buttons(petr_msg)[next(k for k in _buttons(petr_msg) if "📞" in k)]
    await _press(emulator, petr.telegram_id, petr_msg, log)
    await emulator.settle()
    reply = await say(emulator, petr.telegram_id, "Договорились о встрече")
    assert "✅" in reply["text"]
    call = await Activity.filter(parent_id=sub.activity_id).prefetch_related("type").first()
    assert call.type.code == "call" and call.state == ActivityState.DONE
    assert call.result == "Договорились о встрече"
    # a bot-filled honeypot through the route: the thanks page, nothing made
    resp = await service.client.post(f"/f/{form.token}", data={
        "name": "Bot", "phone": "+79160000002", "website": "x"})
    assert resp.status == 200
    assert await LeadSubmission.filter(form_id=form.id).count() == 1


async def test_k10_api_lead_forms_and_attribution(service, emulator, make_staff):
    """K-10: /api/v1/lead-forms (create, a bad form named, patch, archive, delete) and
    /api/v1/attribution (read, set by hand; a manager not the client's is refused)."""
    from services.clients import do_create_client
    from tests.test_web import signed_in

    dept = await Department.create(name="API лиды")
    admin = await make_staff(Role.ADMIN, name="Анна Админ")
    ivan = await make_staff(name="Иван Api", department=dept)
    campaign = await Campaign.create(name="API", state=CampaignState.RUNNING,
                                     starts_on=TEST_NOW.date())
    variant = await CampaignVariant.create(campaign=campaign, name="V1", link_token="api1")
    http = service.client
    await signed_in(service, emulator, admin)
    resp = await http.post("/api/v1/lead-forms", json={
        "variant_id": variant.id, "title": "Форма", "shown": ["name"],
        "department_id": dept.id})
    assert resp.status == 422, await resp.text()
    resp = await http.post("/api/v1/lead-forms", json={
        "variant_id": variant.id, "title": "Форма", "shown": ["name", "email"],
        "required": ["email"], "department_id": dept.id})
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    assert got["form_url"].endswith(f"/f/{got['token']}") and "/go/api1" in got["link_url"]
    assert {"name": "email", "required": True} in got["fields"]
    resp = await http.patch(f"/api/v1/lead-forms/{got['id']}", json={"title": "Новая"})
    assert (await resp.json())["title"] == "Новая"
    resp = await http.get("/api/v1/lead-forms", params={"campaign_id": campaign.id})
    assert [f["id"] for f in (await resp.json())["items"]] == [got["id"]]
    resp = await http.post(f"/api/v1/lead-forms/{got['id']}/archive")
    assert (await resp.json())["archived_at"]
    assert (await http.delete(f"/api/v1/lead-forms/{got['id']}")).status == 204
    client = (await do_create_client(ivan, {"name": "Атрибуция"})).client
    resp = await http.put(f"/api/v1/attribution/client/{client.id}/first",
                          json={"variant_id": variant.id})
    assert resp.status == 200, await resp.text()
    resp = await http.get(f"/api/v1/attribution/client/{client.id}")
    body = await resp.json()
    assert body["first"]["variant"] == "V1" and body["first"]["via"] == "manual"
    assert body["last"] is None
    assert (await http.get(f"/api/v1/attribution/planet/{client.id}")).status == 404
    other = await make_staff(name="Чужой Менеджер", department=dept)
    await signed_in(service, emulator, other)
    resp = await http.put(f"/api/v1/attribution/client/{client.id}/last",
                          json={"variant_id": variant.id})
    assert resp.status in (403, 404)
