"""Activities (S-12..S-21, A-6..A-9): create with validation, every state transition,
rescheduling history (S-13), verification (S-21), access to colleagues' calendars
(S-20), recurrence with an exception (A-8), reminders rebuilt with changes (K-15),
time zones and daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import (
    Activity,
    ActivityState,
    AuditLog,
    Department,
    Reminder,
    ReminderState,
    Role,
    User,
)
from services import activities as svc
from services import clients as client_svc
from services import managers as managers_svc
from services.clock import utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.timeline import client_history


@pytest.fixture
async def org(database_url):
    sales = await Department.create(name="Sales")
    kyiv = await Department.create(name="Kyiv")
    people = {
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "head": await User.create(full_name="Head", telegram_id=2, role=Role.HEAD,
                                  department=sales),
        "ivan": await User.create(full_name="Ivan", telegram_id=3, department=sales,
                                  timezone="Europe/Moscow"),
        "petr": await User.create(full_name="Petr", telegram_id=4, department=sales),
        "olena": await User.create(full_name="Olena", telegram_id=5, department=kyiv,
                                   timezone="Europe/Kyiv"),
    }
    return people


def soon(hours: float = 2) -> datetime:
    return (utcnow() + timedelta(hours=hours)).replace(microsecond=0)


async def test_create_validates_and_makes_reminders(org):
    ivan, petr = org["ivan"], org["petr"]
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    start = soon()
    result = await svc.do_create_activity(ivan, {
        "title": "Позвонить в Ромашку", "type": "call", "client_id": client.id,
        "starts_at": start, "priority": "high", "assignees": [ivan.id, petr.id],
        "reminders": [15, 60], "goal": "договориться о встрече"})
    a = result.activity
    assert a.kind == "event" and a.ends_at == start + timedelta(minutes=15)  # call: 15 min
    assert sorted(await svc.assignee_ids(a.id)) == sorted([ivan.id, petr.id])
    rows = await Reminder.filter(activity_id=a.id).order_by("user_id", "lead_minutes")
    assert [(r.user_id, r.lead_minutes) for r in rows] == [
        (ivan.id, 15), (ivan.id, 60), (petr.id, 15), (petr.id, 60)]
    assert rows[0].due_at == start - timedelta(minutes=15)
    # S-18: the other assignee is told, not the author
    assert [(n.user_id, n.kind) for n in result.notices] == [(petr.id, "assigned")]
    # the client's timeline (S-7) has it
    assert await AuditLog.filter(client_id=client.id, entity="activity").exists()


@pytest.mark.parametrize(("data", "field"), [
    ({"title": ""}, "title"),
    ({"title": "x", "type": "teleport"}, "type"),
    ({"title": "x", "starts_at": "2026-13-01T10:00"}, "starts_at"),
    ({"title": "x", "starts_at": "2026-12-01T10:00"}, "starts_at"),  # no time zone
    ({"title": "x", "starts_at": "2026-12-01T10:00+03:00",
      "ends_at": "2026-12-01T09:00+03:00"}, "ends_at"),
    ({"title": "x", "priority": "urgent"}, "priority"),
    ({"title": "x", "percent": 140}, "percent"),
    ({"title": "x", "reminders": [-5]}, "reminders"),
    ({"title": "x", "starts_at": "2026-12-01T10:00+03:00", "rrule": "FREQ=SOMETIMES"},
     "rrule"),
    ({"title": "x", "client_id": 999999}, "client"),
])
async def test_bad_input_names_the_field_and_saves_nothing(org, data, field):
    with pytest.raises(ValidationFailed) as exc:
        await svc.do_create_activity(org["ivan"], data)
    assert exc.value.field == field
    assert await Activity.all().count() == 0


async def test_state_transitions_and_overdue(org):
    ivan = org["ivan"]
    a = (await svc.do_create_activity(ivan, {"title": "КП", "starts_at": soon(-1)})).activity
    assert svc.is_overdue(a)  # S-15: derived from time
    assert [x.id for x in await svc.overdue(ivan)] == [a.id]
    a = (await svc.do_set_state(ivan, a.id, "postponed")).activity
    assert a.state == ActivityState.POSTPONED and svc.is_overdue(a)
    a = (await svc.do_complete(ivan, a.id, "отправил КП")).activity
    assert (a.state, a.result, a.percent) == (ActivityState.DONE, "отправил КП", 100)
    assert not svc.is_overdue(a) and await svc.overdue(ivan) == []
    with pytest.raises(ValidationFailed):
        await svc.do_complete(ivan, a.id, "again")
    a = (await svc.do_set_state(ivan, a.id, "planned")).activity  # reopened
    assert a.state == ActivityState.PLANNED and a.done_at is None
    a = (await svc.do_set_state(ivan, a.id, "cancelled")).activity
    assert a.state == ActivityState.CANCELLED
    assert not await Reminder.filter(activity_id=a.id, state=ReminderState.PENDING).exists()
    states = [(r.old_value, r.new_value) for r in await AuditLog.filter(
        entity="activity", object_id=a.id, field="state").order_by("id")]
    assert states == [("planned", "postponed"), ("postponed", "done"), ("done", "planned"),
                      ("planned", "cancelled")]


async def test_reschedule_keeps_history_and_moves_reminders(org):
    ivan, head = org["ivan"], org["head"]
    first = soon(3)
    a = (await svc.do_create_activity(ivan, {"title": "Встреча", "type": "meeting",
                                             "starts_at": first})).activity
    second = first + timedelta(days=1)
    moved = await svc.do_reschedule(head, a.id, second, source="bot")
    a = moved.activity
    assert a.starts_at == second and a.ends_at == second + timedelta(minutes=60)
    assert a.state == ActivityState.RESCHEDULED
    log = await svc.history(ivan, a.id)
    moves = [r for r in log if r.field == "starts_at"]
    assert [(r.user_id, r.source, r.action) for r in moves] == [(head.id, "bot", "reschedule")]
    assert datetime.fromisoformat(moves[0].old_value) == first
    due = await Reminder.filter(activity_id=a.id, state=ReminderState.PENDING).values_list(
        "due_at", flat=True)
    assert due == [second - timedelta(minutes=15)]
    assert [(n.user_id, n.kind) for n in moved.notices] == [(ivan.id, "rescheduled")]


async def test_verification_by_the_head_only(org):
    ivan, petr, head, olena = org["ivan"], org["petr"], org["head"], org["olena"]
    a = (await svc.do_create_activity(ivan, {"title": "Звонок", "type": "call",
                                             "starts_at": soon(-2)})).activity
    with pytest.raises(ValidationFailed):
        await svc.do_verify(head, a.id)  # not done yet
    await svc.do_complete(ivan, a.id, "ok")
    for outsider in (petr, olena):  # a colleague, another department: not even seen
        with pytest.raises(NotFound):
            await svc.do_verify(outsider, a.id)
    with pytest.raises(PermissionDenied):
        await svc.do_verify(ivan, a.id)  # not one's own work
    checked = await svc.do_verify(head, a.id)
    assert checked.activity.verified_by_id == head.id and checked.activity.verified_at
    assert [(n.user_id, n.kind) for n in checked.notices] == [(ivan.id, "verified")]


async def test_who_sees_whose_calendar(org):
    """S-20: one's own; a head, the department's; an admin, all; else refused."""
    ivan, petr, head, olena, admin = (org[k] for k in ("ivan", "petr", "head", "olena",
                                                       "admin"))
    start = soon(1)
    await svc.do_create_activity(ivan, {"title": "Ivan's", "starts_at": start})
    day = svc.day_bounds(start, "UTC", 2)
    assert [i.activity.title for i in await svc.agenda(ivan, *day)] == ["Ivan's"]
    assert [i.activity.title for i in await svc.agenda(head, *day, person_id=ivan.id)] == [
        "Ivan's"]
    assert [i.activity.title for i in await svc.agenda(admin, *day, person_id=ivan.id)] == [
        "Ivan's"]
    for outsider in (petr, olena):
        with pytest.raises(PermissionDenied):
            await svc.agenda(outsider, *day, person_id=ivan.id)
    assert await svc.agenda(olena, *day) == []


async def test_manager_assigns_only_within_the_department(org):
    with pytest.raises(PermissionDenied):
        await svc.do_create_activity(org["ivan"], {"title": "x",
                                                   "assignees": [org["olena"].id]})
    a = (await svc.do_create_activity(org["ivan"], {"title": "x",
                                                    "assignees": [org["petr"].id]})).activity
    assert await svc.assignee_ids(a.id) == [org["petr"].id]
    # the new assignee may change it; the colleague from Kyiv cannot see it
    await svc.do_update_activity(org["petr"], a.id, {"priority": "critical"})
    with pytest.raises(NotFound):
        await svc.do_update_activity(org["olena"], a.id, {"priority": "low"})


async def test_recurrence_with_an_exception_across_daylight_saving(org):
    """A-8: weekly on Mondays at 10:00 Berlin time, expanded lazily; one Monday left
    out; 10:00 stays 10:00 local when the clocks change (UTC moves by an hour)."""
    ivan = org["ivan"]
    ivan.timezone = "Europe/Berlin"
    await ivan.save()
    start = datetime(2026, 10, 19, 8, 0, tzinfo=UTC)  # Mon 10:00 CEST
    a = (await svc.do_create_activity(ivan, {
        "title": "Планёрка", "type": "meeting", "starts_at": start,
        "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=5"})).activity
    skipped = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    a.exdates = [skipped.isoformat()]
    await a.save()
    got = svc.occurrences(a, start, start + timedelta(days=60))
    assert got == [datetime(2026, 10, 19, 8, 0, tzinfo=UTC),
                   datetime(2026, 10, 26, 9, 0, tzinfo=UTC),  # CET after 25 Oct
                   datetime(2026, 11, 9, 9, 0, tzinfo=UTC),
                   datetime(2026, 11, 16, 9, 0, tzinfo=UTC)]
    # the agenda of that week shows the instance of that week
    week = (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC))
    items = await svc.agenda(ivan, *week)
    assert [(i.activity.id, i.start) for i in items] == [(a.id, got[2])]


async def test_day_bounds_follow_the_persons_time_zone():
    # 23:30 UTC on 25 Nov is already 26 Nov in Moscow and in Kyiv (01:30)
    at = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert svc.day_bounds(at, "Europe/Moscow") == (
        datetime(2026, 11, 25, 21, 0, tzinfo=UTC), datetime(2026, 11, 26, 21, 0, tzinfo=UTC))
    assert svc.day_bounds(at, "Europe/Kyiv") == (
        datetime(2026, 11, 25, 22, 0, tzinfo=UTC), datetime(2026, 11, 26, 22, 0, tzinfo=UTC))
    # the day the clocks go back in Kyiv has 25 hours
    start, end = svc.day_bounds(datetime(2026, 10, 25, 12, tzinfo=UTC), "Europe/Kyiv")
    assert end - start == timedelta(hours=25)


async def test_snooze(org):
    ivan = org["ivan"]
    a = (await svc.do_create_activity(ivan, {"title": "x", "starts_at": soon(0.1),
                                             "reminders": [0]})).activity
    reminder = await Reminder.get(activity_id=a.id)
    again = await svc.do_snooze(ivan, reminder.id, "1h")
    assert abs((again.due_at - utcnow()) - timedelta(hours=1)) < timedelta(seconds=5)
    tomorrow = await svc.do_snooze(ivan, reminder.id, "tomorrow")
    local = tomorrow.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Moscow"))
    assert (local.hour, local.minute) == (9, 0)
    with pytest.raises(NotFound):
        await svc.do_snooze(org["petr"], reminder.id, "15m")  # not theirs
    with pytest.raises(ValidationFailed):
        await svc.do_snooze(ivan, reminder.id, "forever")


async def test_playbook_makes_the_chain_of_tasks(org):
    """M-4: three steps applied to a client: tasks on their days at 10:00 local,
    each following the previous, assigned by the rule; managers cannot write one."""
    from zoneinfo import ZoneInfo

    from services import playbooks

    ivan, head, admin = org["ivan"], org["head"], org["admin"]
    ivan.supervisor = head
    await ivan.save()
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    with pytest.raises(PermissionDenied):
        await playbooks.do_create_playbook(ivan, "Новый клиент", [{"title": "x"}])
    with pytest.raises(ValidationFailed) as exc:
        await playbooks.do_create_playbook(admin, "Новый клиент", [
            {"title": "Звонок", "offset_days": -1}])
    assert exc.value.field == "steps.1.offset_days"
    book = await playbooks.do_create_playbook(admin, "Новый клиент", [
        {"title": "Приветственный звонок", "type": "call", "offset_days": 0},
        {"title": "Отправить КП", "type": "email", "offset_days": 2},
        {"title": "Проверить, что КП получено", "offset_days": 5, "assignee": "head"},
    ])
    now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    tasks, notices = await playbooks.do_apply_playbook(ivan, book.id, client.id, now=now)
    msk = ZoneInfo("Europe/Moscow")
    assert [(t.title, t.starts_at.astimezone(msk).strftime("%d.%m %H:%M")) for t in tasks] == [
        ("Приветственный звонок", "26.11 10:00"), ("Отправить КП", "28.11 10:00"),
        ("Проверить, что КП получено", "01.12 10:00")]
    assert [t.parent_id for t in tasks] == [None, tasks[0].id, tasks[1].id]
    assert await svc.assignee_ids(tasks[2].id) == [head.id]
    assert [(n.user_id, n.kind) for n in notices] == [(head.id, "assigned")]
    assert all(t.client_id == client.id for t in tasks)


async def test_meeting_decisions_become_tasks(org):
    """K-11: agenda and minutes on a meeting; its decisions become tasks in one step."""
    from services import playbooks

    ivan, petr = org["ivan"], org["petr"]
    client = (await client_svc.do_create_client(ivan, {"name": "Лютик"})).client
    meeting = (await svc.do_create_activity(ivan, {
        "title": "Встреча с Лютиком", "type": "meeting", "client_id": client.id,
        "starts_at": soon(-1), "agenda": "1. Цены 2. Сроки"})).activity
    with pytest.raises(ValidationFailed) as exc:
        await playbooks.do_record_decisions(ivan, meeting.id, [{"title": ""}])
    assert exc.value.field == "decisions.1.title"
    tasks, notices = await playbooks.do_record_decisions(ivan, meeting.id, [
        {"title": "Прислать прайс", "due": soon(24)},
        {"title": "Согласовать сроки", "assignee_id": petr.id, "due": soon(48)}])
    assert [t.parent_id for t in tasks] == [meeting.id, meeting.id]
    assert await svc.assignee_ids(tasks[1].id) == [petr.id]
    meeting = await Activity.get(id=meeting.id)
    assert "Прислать прайс" in meeting.minutes and meeting.agenda.startswith("1.")
    assert [(n.user_id, n.kind) for n in notices] == [(petr.id, "assigned")]


async def test_custom_fields_on_activities(org):
    """S-16: admins define activity fields; values follow the activity's access."""
    from services import customfields

    admin, ivan, olena = org["admin"], org["ivan"], org["olena"]
    await customfields.do_create_field(admin, "activity", "budget", "Бюджет", "money")
    a = (await svc.do_create_activity(ivan, {"title": "Тендер"})).activity
    values = await customfields.do_set_values(ivan, "activity", a.id, {"budget": "150000.50"})
    assert str(values["budget"]) == "150000.50"
    with pytest.raises(ValidationFailed):
        await customfields.do_set_values(ivan, "activity", a.id, {"budget": "много"})
    with pytest.raises(NotFound):
        await customfields.values_for(olena, "activity", a.id)


async def test_moving_one_occurrence_of_a_series(org):
    """A-8: one Monday moved to Tuesday: the series leaves it out, the moved one is an
    activity of its own pointing to the series, with the same assignees."""
    ivan = org["ivan"]
    start = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Mon 10:00 Moscow
    series = (await svc.do_create_activity(ivan, {
        "title": "Планёрка", "type": "meeting", "starts_at": start, "duration_min": 30,
        "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=3"})).activity
    second = start + timedelta(days=7)
    with pytest.raises(ValidationFailed) as exc:
        await svc.do_move_occurrence(ivan, series.id, second + timedelta(hours=1), second)
    assert exc.value.field == "original_start"
    moved = (await svc.do_move_occurrence(ivan, series.id, second,
                                          second + timedelta(days=1))).activity
    assert (moved.series_id, moved.original_start) == (series.id, second)
    assert moved.ends_at - moved.starts_at == timedelta(minutes=30)
    assert await svc.assignee_ids(moved.id) == [ivan.id]
    series = await Activity.get(id=series.id)
    assert svc.occurrences(series, start, start + timedelta(days=30)) == [
        start, start + timedelta(days=14)]
    week = (second, second + timedelta(days=7))
    assert [(i.activity.id, i.start) for i in await svc.agenda(ivan, *week)] == [
        (moved.id, second + timedelta(days=1))]


async def test_rrule_limits_and_until_in_utc(org):
    """A-8: UNTIL in UTC works; sub-daily rules are refused (they would flood)."""
    ivan = org["ivan"]
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    a = (await svc.do_create_activity(ivan, {
        "title": "Ежедневный звонок", "starts_at": start,
        "rrule": "FREQ=DAILY;UNTIL=20261203T235959Z"})).activity
    assert len(svc.occurrences(a, start, start + timedelta(days=30))) == 3
    for rule in ("FREQ=MINUTELY", "FREQ=HOURLY;COUNT=5", "FREQ=DAILY;UNTIL=20261203"):
        with pytest.raises(ValidationFailed) as exc:
            await svc.do_create_activity(ivan, {"title": "x", "starts_at": start,
                                                "rrule": rule})
        assert exc.value.field == "rrule"


async def test_recurring_reminders_follow_each_occurrence(org):
    """K-15 + A-8: a sent reminder of a series makes the next occurrence's; Done on a
    series completes one occurrence and the series goes on."""
    ivan = org["ivan"]
    start = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    series = (await svc.do_create_activity(ivan, {
        "title": "Утренний звонок", "starts_at": start, "rrule": "FREQ=DAILY;COUNT=5",
        "reminders": [10]})).activity
    first = await Reminder.get(activity_id=series.id)
    assert first.occurrence_start == start
    await Reminder.filter(id=first.id).update(state=ReminderState.SENT, sent_at=utcnow())
    await svc.schedule_next_occurrence(series.id, start)
    nxt = await Reminder.get(activity_id=series.id, state=ReminderState.PENDING)
    assert nxt.occurrence_start == start + timedelta(days=1) and nxt.lead_minutes == 10
    done = (await svc.do_complete(ivan, series.id, "дозвонился")).activity
    assert (done.series_id, done.state, done.original_start) == (series.id, "done", start)
    series = await Activity.get(id=series.id)
    assert series.state == ActivityState.PLANNED
    assert svc.occurrences(series, start, start + timedelta(days=10))[0] == \
        start + timedelta(days=1)


async def test_reminder_settings_survive_edits_and_snoozes(org):
    """Lead times are kept on the activity: a snooze or an edit does not change them;
    "no reminders" stays so; a row being sent is never rebuilt (no second message)."""
    ivan = org["ivan"]
    quiet = (await svc.do_create_activity(ivan, {"title": "Тихая", "starts_at": soon(5),
                                                 "reminders": []})).activity
    await svc.do_update_activity(ivan, quiet.id, {"title": "Тихая задача"})
    assert not await Reminder.filter(activity_id=quiet.id).exists()
    a = (await svc.do_create_activity(ivan, {"title": "Встреча", "starts_at": soon(5),
                                             "reminders": [30]})).activity
    row = await Reminder.get(activity_id=a.id)
    await svc.do_snooze(ivan, row.id, "15m")
    await Reminder.filter(id=row.id).update(state=ReminderState.SENDING,
                                            claimed_by="other", claimed_until=soon(0.1))
    await svc.do_update_activity(ivan, a.id, {"title": "Встреча с клиентом"})
    rows = await Reminder.filter(activity_id=a.id).order_by("id")
    assert [(r.lead_minutes, r.snoozed, r.state) for r in rows] == [
        (30, False, ReminderState.SENDING), (0, True, ReminderState.PENDING)]


async def test_client_history_hides_activities_one_may_not_see(org):
    """A-3: a co-manager of the client sees the client's history, not the activities
    of a colleague they may not see (nor the activity's files)."""
    ivan, olena, admin = org["ivan"], org["olena"], org["admin"]
    client = (await client_svc.do_create_client(ivan, {"name": "Общий клиент"})).client
    await managers_svc.do_assign_manager(admin, client.id, olena.id)
    secret = (await svc.do_create_activity(ivan, {"title": "Скидка 30%",
                                                  "client_id": client.id})).activity
    seen = [r.new_value for r in await client_history(ivan, client.id)]
    assert "Скидка 30%" in seen
    hidden = [r.new_value for r in await client_history(olena, client.id)]
    assert "Скидка 30%" not in hidden and "Общий клиент" in hidden
    assert secret.id
