"""A-5: a hand-over takes the person's open work too (on by default): open deals get
the successor as owner, open tasks the successor as assignee — with the history,
reminders and calendar events following, done and cancelled tasks and closed deals
left — and the successor hears one summary; a head's scope still holds; the bot's
choice and the Mini App's checkbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import (
    OPEN_STATES,
    ActivityAssignee,
    AuditLog,
    CalendarEvent,
    CalendarLink,
    Deal,
    DealMember,
    Reminder,
    ReminderState,
    Role,
)
from services import activities as acts
from services import clients as client_svc
from services import deal_moves
from services import deals as deal_svc
from services import handover as svc
from services.clock import utcnow
from services.errors import ValidationFailed


def soon(hours: float = 24):
    return (utcnow() + timedelta(hours=hours)).replace(microsecond=0)


async def _assignees(activity_id: int) -> set[int]:
    return set(await ActivityAssignee.filter(activity_id=activity_id).values_list(
        "user_id", flat=True))


async def _work(ivan, maria):
    """Ivan's client with an open and a won deal, and tasks: open, shared with Maria,
    done and cancelled; both have a connected calendar."""
    for person in (ivan, maria):
        await CalendarLink.create(user_id=person.id, calendar_id=f"{person.id}@x")
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka"})).client
    open_deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id,
                                                      "title": "Supply"})).deal
    won = (await deal_svc.do_create_deal(ivan, {"client_id": client.id, "title": "Old"})).deal
    await deal_moves.do_win(ivan, won.id)
    await deal_svc.do_set_team(ivan, open_deal.id, [maria.id])

    async def task(title, people, hours=24):
        return (await acts.do_create_activity(ivan, {
            "title": title, "type": "task", "client_id": client.id, "starts_at": soon(hours),
            "assignees": people, "reminders": [15, 60]}, check_assignees=False)).activity

    mine, shared = await task("Call", [ivan.id]), await task("Meet", [ivan.id, maria.id])
    done, cancelled = await task("Done", [ivan.id]), await task("Off", [ivan.id])
    await acts.do_complete(ivan, done.id)
    await acts.do_set_state(ivan, cancelled.id, "cancelled")
    return client, open_deal, won, mine, shared, done, cancelled


async def test_open_deals_and_tasks_follow_the_clients(staff_world):
    admin, ivan, maria = staff_world["admin"], staff_world["ivan"], staff_world["maria"]
    client, open_deal, won, mine, shared, done, cancelled = await _work(ivan, maria)
    has = await svc.to_hand_over(ivan.id)
    # the won sale went on as an execution deal (U-1): that one is open too
    assert has.clients == 1 and has.deals == await Deal.filter(
        owner_id=ivan.id, closed_at=None).count() == 2 and has.tasks >= 2
    assert await Reminder.filter(activity_id=mine.id, user_id=ivan.id).count() == 2
    result = await svc.do_hand_over(admin, ivan.id, maria.id, source="bot")
    assert (result.count, result.deals, result.tasks) == (1, 2, has.tasks)
    (notice,) = result.notices
    assert (notice.user_id, notice.count, notice.deals, notice.tasks) == (
        maria.id, 1, 2, has.tasks)
    # deals: the open one is Maria's (and she left its team), the won one stays Ivan's
    assert (await Deal.get(id=open_deal.id)).owner_id == maria.id
    assert (await Deal.get(id=won.id)).owner_id == ivan.id
    assert not await DealMember.exists(deal_id=open_deal.id, user_id=maria.id)
    logged = await AuditLog.get(entity="deal", object_id=open_deal.id, field="owner_id")
    assert (logged.old_value, logged.new_value, logged.source, logged.user_id) == (
        str(ivan.id), str(maria.id), "bot", admin.id)
    assert await svc.to_hand_over(ivan.id) == svc.Handable(0, 0, 0)
    # tasks: open ones Maria's (once where she already was), done and cancelled kept
    assert await _assignees(mine.id) == {maria.id}
    assert await _assignees(shared.id) == {maria.id}
    assert await _assignees(done.id) == {ivan.id}
    assert await _assignees(cancelled.id) == {ivan.id}
    history = await AuditLog.get(entity="activity", object_id=shared.id, field="assignees",
                                 source="bot")
    assert (history.old_value, history.new_value) == (f"{ivan.id},{maria.id}", str(maria.id))
    # reminders follow: Ivan's pending ones are Maria's, none twice on the shared task
    pending = Reminder.filter(state=ReminderState.PENDING)
    assert not await pending.filter(user_id=ivan.id, activity_id__in=[mine.id, shared.id]
                                    ).exists()
    assert sorted(await pending.filter(activity_id=mine.id).values_list(
        "user_id", "lead_minutes")) == [(maria.id, 15), (maria.id, 60)]
    assert await pending.filter(activity_id=shared.id, user_id=maria.id).count() == 2
    # calendars: Ivan's events to be deleted, Maria's made and to be pushed
    ivans = await CalendarEvent.get(activity_id=mine.id, user_id=ivan.id)
    assert not ivans.wanted and ivans.dirty
    marias = await CalendarEvent.get(activity_id=mine.id, user_id=maria.id)
    assert marias.wanted and marias.dirty
    assert await CalendarEvent.get(activity_id=shared.id, user_id=maria.id)
    assert not await CalendarEvent.exists(activity_id=cancelled.id, user_id=maria.id)


async def test_clients_only_and_no_notice_to_oneself(staff_world):
    head, ivan, maria = (staff_world[k] for k in ("head_msk", "ivan", "maria"))
    _client, open_deal, _won, mine, *_rest = await _work(ivan, maria)
    result = await svc.do_hand_over(head, ivan.id, maria.id, with_work=False)
    assert (result.count, result.deals, result.tasks) == (1, 0, 0)
    assert (await Deal.get(id=open_deal.id)).owner_id == ivan.id
    assert await _assignees(mine.id) == {ivan.id}
    # the rest, taken over by the head themselves: nobody else to tell (the front end
    # shows the result; a Telegram notice would only repeat it)
    result = await svc.do_hand_over(head, ivan.id, head.id)
    assert (result.count, result.deals) == (0, 2) and result.tasks >= 1
    assert result.notices == []
    assert (await Deal.get(id=open_deal.id)).owner_id == head.id
    assert await _assignees(mine.id) == {head.id}
    assert await ActivityAssignee.filter(user_id=ivan.id, activity__state__in=[
        str(s) for s in OPEN_STATES]).count() == 0


async def test_a_head_may_not_hand_work_outside_their_departments(staff_world):
    head, ivan, maria, olena = (staff_world[k] for k in ("head_msk", "ivan", "maria",
                                                          "olena"))
    _client, open_deal, _won, mine, *_rest = await _work(ivan, maria)
    with pytest.raises(ValidationFailed, match="outside your departments"):
        await svc.do_hand_over(head, ivan.id, olena.id)  # Olena is in Kyiv
    assert (await Deal.get(id=open_deal.id)).owner_id == ivan.id  # nothing moved
    assert await _assignees(mine.id) == {ivan.id}
    assert await Reminder.filter(activity_id=mine.id, user_id=ivan.id).count() == 2


async def _ivan_with_work(make_staff, head_role=Role.HEAD):
    from models import Department

    dept = await Department.create(name="Sales")
    head = await make_staff(head_role, language="en", name="Hanna Head", department=dept)
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Old", department=dept)
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka"})).client
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id,
                                                 "title": "Supply"})).deal
    task = (await acts.do_create_activity(ivan, {
        "title": "Call", "type": "task", "client_id": client.id, "starts_at": soon()})
    ).activity
    return head, ivan, deal, task


async def test_bot_offers_the_choice_and_tells_a_head_once(service, emulator, make_staff):
    """A-5 in the bot: the confirmation counts the open deals and tasks and offers them
    (✅ Yes, with deals and tasks / ✅ Clients only / ◀️ Back); a head taking the work
    over themselves sees the result on the card and gets no second message saying it."""
    from tests.conftest import say
    from tests.test_bot_deals import buttons, current, plain, press

    head, ivan, deal, task = await _ivan_with_work(make_staff)
    tasks = (await svc.to_hand_over(ivan.id)).tasks
    chat = head.telegram_id
    listing = await say(emulator, chat, "/staff")
    await press(emulator, chat, listing, "Ivan Old")
    await press(emulator, chat, current(emulator, chat, listing), "🔁 Hand over clients")
    await press(emulator, chat, current(emulator, chat, listing), "Hanna Head")
    asked = current(emulator, chat, listing)
    assert plain(asked["text"]) == (
        "Hand over the clients of Ivan Old to Hanna Head? Clients: 1.\n"
        f"Open deals: 1, open tasks: {tasks}.")
    assert set(buttons(asked)) == {"✅ Yes, with deals and tasks", "✅ Clients only",
                                   "◀️ Back"}
    answer, new = await press(emulator, chat, asked, "✅ Yes, with deals and tasks")
    assert answer is not None
    assert new is None  # one notice: the card's, no Telegram message repeating it
    done = current(emulator, chat, listing)
    assert (f"Handed over: clients — 1, open deals — 1, open tasks — {tasks}."
            in plain(done["text"]))
    assert "🔁 Hand over clients" not in buttons(done)
    assert (await Deal.get(id=deal.id)).owner_id == head.id
    assert await _assignees(task.id) == {head.id}


async def test_bot_clients_only_leaves_the_work(service, emulator, make_staff):
    from tests.conftest import say
    from tests.test_bot_deals import buttons, current, press

    head, ivan, deal, task = await _ivan_with_work(make_staff)
    chat = head.telegram_id
    listing = await say(emulator, chat, "/staff")
    await press(emulator, chat, listing, "Ivan Old")
    await press(emulator, chat, current(emulator, chat, listing), "🔁 Hand over clients")
    await press(emulator, chat, current(emulator, chat, listing), "Hanna Head")
    await press(emulator, chat, current(emulator, chat, listing), "✅ Clients only")
    done = current(emulator, chat, listing)
    assert "Handed over: clients — 1, open deals — 0, open tasks — 0." in done["text"]
    assert "🔁 Hand over clients" in buttons(done)  # the deal and task are still his
    assert (await Deal.get(id=deal.id)).owner_id == ivan.id
    assert await _assignees(task.id) == {ivan.id}


async def test_api_with_work_false_and_counts(service, emulator, make_staff):
    from tests.test_web import signed_in

    admin, ivan, deal, task = await _ivan_with_work(make_staff, Role.ADMIN)
    maria = await make_staff(Role.MANAGER, language="en", name="Maria New")
    await emulator.send_message(maria.telegram_id, "/menu")
    await emulator.wait_for_bot_message(maria.telegram_id)
    await signed_in(service, emulator, admin)
    c = service.client
    resp = await c.post(f"/api/v1/staff/{ivan.id}/hand-over",
                        json={"to_user_id": maria.id, "with_work": False})
    assert (await resp.json()) == {"moved": 1, "deals": 0, "tasks": 0}
    assert (await Deal.get(id=deal.id)).owner_id == ivan.id
    tasks = (await svc.to_hand_over(ivan.id)).tasks
    resp = await c.post(f"/api/v1/staff/{ivan.id}/hand-over", json={"to_user_id": maria.id})
    assert (await resp.json()) == {"moved": 0, "deals": 1, "tasks": tasks}
    assert (await Deal.get(id=deal.id)).owner_id == maria.id
    told = await emulator.wait_for_bot_message(
        maria.telegram_id, predicate=lambda m: "open deals — 1" in m.get("text", ""))
    assert f"clients — 0, open deals — 1, open tasks — {tasks}" in told["text"]
