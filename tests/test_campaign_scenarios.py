"""M-8 campaign scenarios: templates, applying one to a campaign, steps routed to a
person or a department's head, steps that become tasks once (a double press, two at
once), a step's edit followed by its task, a deleted step's task cancelled."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from models import (
    Activity,
    ActivityAssignee,
    ActivityKind,
    ActivityState,
    Campaign,
    CampaignStep,
    Department,
    Role,
    ScenarioTemplate,
    User,
)
from services import campaign_steps as steps_svc
from services import scenarios as tpl_svc
from services.errors import PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW

START = TEST_NOW.date() + timedelta(days=20)


@pytest.fixture
async def org(staff_world):
    marketing = await Department.create(name="Marketing")
    staff_world["head_mkt"] = await User.create(
        full_name="Head Marketing", telegram_id=7, role=Role.HEAD, department=marketing,
        timezone="Asia/Yekaterinburg")
    staff_world["marketing"] = marketing
    staff_world["campaign"] = await Campaign.create(
        name="Spring sale", starts_on=START, owner=staff_world["ivan"])
    return staff_world


async def _template(org, name="Launch") -> ScenarioTemplate:
    return await tpl_svc.do_create_template(org["admin"], name, [
        {"kind": "prepare", "title": "Brief", "offset_days": -7,
         "department_id": org["marketing"].id},
        {"kind": "launch", "title": "Go live", "offset_days": 0},
        {"kind": "measure", "title": "Count contacts", "offset_days": "14"}])


async def test_m8_template_crud_validation_and_rights(org):
    """M-8: admins and heads write templates; bad rows are named; archive and delete."""
    t = await _template(org)
    steps = await tpl_svc.template_steps(t.id)
    assert [(str(s.kind), s.offset_days) for s in steps] == [
        ("prepare", -7), ("launch", 0), ("measure", 14)]
    with pytest.raises(PermissionDenied):
        await tpl_svc.do_create_template(org["ivan"], "Mine", [{"title": "x"}])
    for bad, field in [([], "steps"), ([{"title": ""}], "steps.1.title"),
                       ([{"title": "a", "kind": "party"}], "steps.1.kind"),
                       ([{"title": "a", "offset_days": "abc"}], "steps.1.offset_days"),
                       ([{"title": "a", "offset_days": 9999}], "steps.1.offset_days"),
                       ([{"title": "a", "department_id": 99999}], "steps.1.department_id")]:
        with pytest.raises(ValidationFailed) as exc:
            await tpl_svc.do_create_template(org["admin"], "Other", bad)
        assert exc.value.field == field
    with pytest.raises(ValidationFailed) as exc:
        await tpl_svc.do_create_template(org["head_msk"], "Launch", [{"title": "a"}])
    assert exc.value.field == "name"
    await tpl_svc.do_update_template(org["head_msk"], t.id, "Launch 2",
                                     [{"kind": "launch", "title": "Only", "offset_days": 1}])
    assert [s.title for s in await tpl_svc.template_steps(t.id)] == ["Only"]
    await tpl_svc.do_archive_template(org["admin"], t.id)
    assert [x.id for x in await tpl_svc.list_templates(org["ivan"], archived=True)] == [t.id]
    assert await tpl_svc.list_templates(org["ivan"]) == []
    await tpl_svc.do_delete_template(org["admin"], t.id)
    assert not await ScenarioTemplate.exists()
    made = await tpl_svc.ensure_default_templates("uk")
    again = await tpl_svc.ensure_default_templates("uk")
    assert [m.id for m in made] == [a.id for a in again]
    assert await ScenarioTemplate.filter(name="Запуск кампанії").count() == 1


async def test_m8_apply_template_twice_copies_once(org):
    """M-8: due = start + offset; applying the same template again adds nothing."""
    t = await _template(org)
    campaign = org["campaign"]
    first = await steps_svc.do_apply_template(org["ivan"], campaign.id, t.id)
    assert [(s.title, s.due_on) for s in first] == [
        ("Brief", START - timedelta(days=7)), ("Go live", START),
        ("Count contacts", START + timedelta(days=14))]
    assert first[0].department_id == org["marketing"].id
    again = await steps_svc.do_apply_template(org["ivan"], campaign.id, t.id)
    assert again == []
    await asyncio.gather(*[steps_svc.do_apply_template(org["admin"], campaign.id, t.id)
                           for _ in range(3)])
    assert await CampaignStep.filter(campaign_id=campaign.id).count() == 3
    with pytest.raises(PermissionDenied):  # not the owner, not a head
        await steps_svc.do_apply_template(org["maria"], campaign.id, t.id)


async def test_m8_steps_become_tasks_once_routed_to_person_or_head(org):
    """M-8: each step one task — to its executor, or to its department's head; due at
    10:00 of its day in the assignee's zone; no client; the presser is the author; a
    second press and two presses at once make no more tasks."""
    campaign = org["campaign"]
    by_dept = await steps_svc.do_add_step(org["ivan"], campaign.id, {
        "kind": "prepare", "title": "Creatives", "due_on": str(START - timedelta(days=3)),
        "department_id": org["marketing"].id})
    by_person = await steps_svc.do_add_step(org["ivan"], campaign.id, {
        "kind": "follow_up", "title": "Call leads", "due_on": START + timedelta(days=2),
        "executor_id": org["maria"].id})
    tasks, notices = await steps_svc.do_make_tasks(org["ivan"], campaign.id)
    assert len(tasks) == 2
    by_dept, by_person = [await CampaignStep.get(id=s.id) for s in (by_dept, by_person)]
    t1 = await Activity.get(id=by_dept.activity_id)
    t2 = await Activity.get(id=by_person.activity_id)
    assert t1.title == "Spring sale: Creatives" and t1.kind == ActivityKind.TASK
    assert t1.client_id is None and t1.author_id == org["ivan"].id
    assert await ActivityAssignee.filter(activity_id=t1.id).values_list(
        "user_id", flat=True) == [org["head_mkt"].id]
    local = t1.starts_at.astimezone(ZoneInfo("Asia/Yekaterinburg"))
    assert (local.date(), local.hour) == (START - timedelta(days=3), 10)
    assert await ActivityAssignee.filter(activity_id=t2.id).values_list(
        "user_id", flat=True) == [org["maria"].id]
    assert {n.user_id for n in notices if n.kind == "assigned"} == {
        org["head_mkt"].id, org["maria"].id}
    # a second press, then three at once: nothing new
    assert (await steps_svc.do_make_tasks(org["ivan"], campaign.id))[0] == []
    await steps_svc.do_add_step(org["admin"], campaign.id, {
        "title": "Report", "due_on": START + timedelta(days=30)})
    results = await asyncio.gather(*[steps_svc.do_make_tasks(u, campaign.id) for u in (
        org["ivan"], org["admin"], org["head_msk"])])
    assert sum(len(r[0]) for r in results) == 1
    assert await Activity.filter(title__startswith="Spring sale:").count() == 3
    last = await CampaignStep.get(title="Report")
    # no executor, no department: the campaign's owner
    assert await ActivityAssignee.filter(activity_id=last.activity_id).values_list(
        "user_id", flat=True) == [org["ivan"].id]


async def test_m8_department_without_a_head_goes_up(org):
    """M-8: a department with no head: the head of the department above."""
    hq = await Department.get(name="HQ")
    sub = await Department.create(name="SMM", parent=org["marketing"])
    assert (await steps_svc.department_head(sub.id)).id == org["head_mkt"].id
    boss = await User.create(full_name="Head HQ", telegram_id=8, role=Role.HEAD,
                             department=hq)
    lonely = await Department.create(name="Lonely", parent=hq)
    assert (await steps_svc.department_head(lonely.id)).id == boss.id


async def test_m8_editing_a_step_updates_its_task_and_delete_cancels(org):
    """M-8: an edited step moves its open task (title, due, assignee); a deleted step
    cancels it; bad input names the field."""
    campaign = org["campaign"]
    step = await steps_svc.do_add_step(org["ivan"], campaign.id, {
        "title": "Banner", "due_on": START, "executor_id": org["maria"].id})
    for bad, field in [({"title": " "}, "title"), ({"due_on": "31.02.2026"}, "due_on"),
                       ({"executor_id": 99999}, "executor_id"), ({"kind": "x"}, "kind")]:
        with pytest.raises(ValidationFailed) as exc:
            await steps_svc.do_update_step(org["ivan"], step.id, bad)
        assert exc.value.field == field
    await steps_svc.do_make_tasks(org["ivan"], campaign.id)
    step = await CampaignStep.get(id=step.id)
    _step, notices = await steps_svc.do_update_step(org["ivan"], step.id, {
        "title": "Banner v2", "due_on": START + timedelta(days=5),
        "executor_id": org["ivan"].id})
    task = await Activity.get(id=step.activity_id)
    assert task.title == "Spring sale: Banner v2"
    assert task.starts_at.astimezone(ZoneInfo("Europe/Moscow")).date() == \
        START + timedelta(days=5)
    assert await ActivityAssignee.filter(activity_id=task.id).values_list(
        "user_id", flat=True) == [org["ivan"].id]
    assert any(n.kind == "unassigned" and n.user_id == org["maria"].id for n in notices)
    assert await Activity.filter(title__startswith="Spring sale").count() == 1
    with pytest.raises(PermissionDenied):
        await steps_svc.do_delete_step(org["olena"], step.id)
    await steps_svc.do_delete_step(org["ivan"], step.id)
    assert (await Activity.get(id=task.id)).state == ActivityState.CANCELLED
    assert not await CampaignStep.filter(id=step.id).exists()


async def test_m8_reorder_steps(org):
    """M-8: the order within a day is set by the list of ids, all of them once."""
    campaign = org["campaign"]
    a = await steps_svc.do_add_step(org["ivan"], campaign.id, {"title": "A", "due_on": START})
    b = await steps_svc.do_add_step(org["ivan"], campaign.id, {"title": "B", "due_on": START})
    await steps_svc.do_reorder_steps(org["ivan"], campaign.id, [b.id, a.id])
    assert [s.title for s in await steps_svc.steps_of(org["ivan"], campaign.id)] == ["B", "A"]
    with pytest.raises(ValidationFailed):
        await steps_svc.do_reorder_steps(org["ivan"], campaign.id, [b.id])
