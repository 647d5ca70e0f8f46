"""Who may do what (issue 18): every ``do_*`` action of the services that a person
starts, with the "may not" cases the other test files do not already cover. Each case
is refused (PermissionDenied, or NotFound where even the record's existence is not
theirs to learn) and nothing changes.

The rules (the services' own docstrings say the same), as "may" → "may not":

* activity types, categories, products, organizer settings, custom fields,
  departments → admins; heads and managers may not;
* a person's role or department → admins (not their own role); heads, managers not;
* a legal entity, contact, file, email or SMS of a client → whoever sees the client
  (A-3); a colleague of another department may not (NotFound: not even that it is);
* comment, reschedule, state, occurrences, decisions, remind later → who sees the
  activity (to change it: its author, assignees or their head); others get NotFound;
* a logged activity with a follow-up → on clients one sees; another's client is
  "no such client among yours";
* segments → the author or an admin changes or deletes; shared ones are only seen;
* mailings → admins and heads (a head their own); managers may not, nor a head
  another's mailing;
* card layout → admins any; anyone their own; a manager not a department's or
  another person's;
* profile and photo → oneself, admins, a head for their managers; a colleague not;
* calendar link → each person their own (no actor/target split);
* system actions (inbound SMS, reindex, Telegram topics, invites, sign-in) → the
  service itself after its own checks (tests/test_onboarding.py, tests/test_web.py,
  tests/test_discussions.py, tests/test_sms.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import (
    Activity,
    ActivityCategory,
    ActivityType,
    CardLayout,
    ContactPerson,
    CustomField,
    Department,
    Document,
    LegalEntity,
    OutboundMessage,
    Product,
    Role,
    Segment,
    User,
)
from services import (
    activities,
    contacts,
    customfields,
    documents,
    layouts,
    mailings,
    messaging,
    playbooks,
    profile,
    segments,
    staff,
)
from services import clients as client_svc
from services.clock import utcnow
from services.errors import NotFound, PermissionDenied, ValidationFailed
from services.storage import LocalFileStore

REFUSED = (PermissionDenied, NotFound)


@pytest.fixture
async def org(database_url, make_staff):
    north = await Department.create(name="Север")
    south = await Department.create(name="Юг")
    people = {
        "admin": await make_staff(Role.ADMIN),
        "head": await make_staff(Role.HEAD, department=north),
        "ivan": await make_staff(Role.MANAGER, department=north),
        "olga": await make_staff(Role.MANAGER, department=south),
    }
    client = (await client_svc.do_create_client(people["ivan"], {"name": "Ромашка",
                                                                 "email": "r@r.ru",
                                                                 "phone": "+79161112233"})
              ).client
    task = (await activities.do_create_activity(people["ivan"], {
        "title": "Позвонить", "type": "call", "client_id": client.id,
        "starts_at": utcnow() + timedelta(days=1)})).activity
    series = (await activities.do_create_activity(people["ivan"], {
        "title": "Планёрка", "type": "meeting", "rrule": "FREQ=WEEKLY",
        "starts_at": utcnow() + timedelta(days=1)})).activity
    return {**people, "client": client, "task": task, "series": series, "north": north}


@pytest.mark.parametrize("who", ["head", "ivan"])
async def test_only_admins_keep_the_settings(org, who):
    person = org[who]
    before = (await ActivityType.all().count(), await ActivityCategory.all().count(),
              await Product.all().count(), await CustomField.all().count(),
              await Department.all().count())
    attempts = [
        activities.do_add_type(person, "Тендер"),
        activities.do_add_category(person, "Важное", "#ff0000"),
        activities.do_add_product(person, {"name": "Кирпич"}),
        activities.do_set_organizer_settings(person, 9, 24),
        customfields.do_create_field(person, "client", "vip", "VIP", "bool"),
        staff.do_create_department(person, "Восток"),
        staff.do_change_role(person, org["olga"].id, Role.HEAD),
        staff.do_change_department(person, org["olga"].id, org["north"].id),
    ]
    for attempt in attempts:
        with pytest.raises(REFUSED):
            await attempt
    after = (await ActivityType.all().count(), await ActivityCategory.all().count(),
             await Product.all().count(), await CustomField.all().count(),
             await Department.all().count())
    assert after == before
    olga = await User.get(id=org["olga"].id)
    assert (olga.role, olga.department_id) == (Role.MANAGER, (await Department.get(
        name="Юг")).id)


async def test_a_custom_field_is_changed_by_admins_only(org):
    field = await customfields.do_create_field(org["admin"], "client", "vip", "VIP", "bool")
    for who in ("head", "ivan"):
        with pytest.raises(REFUSED):
            await customfields.do_update_field(org[who], field.id, name="Важный")
    assert (await CustomField.get(id=field.id)).name == "VIP"


async def test_a_client_of_another_department_is_not_theirs(org, tmp_path):
    olga, client = org["olga"], org["client"]
    store = LocalFileStore(tmp_path)
    attempts = [
        client_svc.do_add_legal_entity(olga, client.id, {"name": "ООО «Ромашка»"}),
        contacts.do_add_contact(olga, client.id, {"first_name": "Пётр"}),
        documents.do_attach(olga, client.id, filename="x.pdf", content=b"x",
                            mime_type=None, store=store),
        messaging.do_send_email(olga, client.id, subject="Привет", body="Текст"),
        messaging.do_send_sms(olga, client.id, body="Текст"),
    ]
    for attempt in attempts:
        with pytest.raises(REFUSED):
            await attempt
    # an activity names only clients one sees: "no such client among yours"
    with pytest.raises(ValidationFailed) as err:
        await activities.do_log_with_follow_up(olga, {"title": "Звонок", "type": "call",
                                                      "client_id": client.id}, None)
    assert err.value.field == "client"
    assert not await LegalEntity.filter(client_id=client.id).exists()
    assert not await ContactPerson.filter(client_id=client.id).exists()
    assert not await Document.filter(client_id=client.id).exists()
    assert not await OutboundMessage.filter(client_id=client.id).exists()
    assert await Activity.filter(client_id=client.id).count() == 1


async def test_an_activity_one_does_not_see_is_not_theirs(org, tmp_path):
    olga, task, series = org["olga"], org["task"], org["series"]
    start = series.starts_at
    attempts = [
        activities.do_comment(olga, task.id, "Я тоже"),
        activities.do_reschedule(olga, task.id, utcnow() + timedelta(days=3)),
        activities.do_set_state(olga, task.id, "cancelled"),
        activities.do_remind_later(olga, task.id, "1h"),
        activities.do_move_occurrence(olga, series.id, start, start + timedelta(hours=1)),
        activities.do_skip_occurrence(olga, series.id, start),
        playbooks.do_record_decisions(olga, series.id, [{"title": "Сделать"}]),
        documents.do_attach_to_activity(olga, task.id, filename="a.pdf", content=b"x",
                                        mime_type=None, store=LocalFileStore(tmp_path)),
    ]
    for attempt in attempts:
        with pytest.raises(REFUSED):
            await attempt
    again = await Activity.get(id=task.id)
    assert (str(again.state), again.starts_at) == ("planned", task.starts_at)
    assert (await Activity.get(id=series.id)).exdates == series.exdates
    assert await Activity.all().count() == 2


async def test_segments_mailings_layouts_profiles(org, tmp_path):
    ivan, olga, head = org["ivan"], org["olga"], org["head"]
    seg = await segments.do_save_segment(ivan, "Мои", {"match": "all", "conditions": [
        {"field": "completeness", "op": "ge", "value": 0}]}, shared=True)
    with pytest.raises(REFUSED):
        await segments.do_delete_segment(olga, seg.id)
    assert await Segment.filter(id=seg.id).exists()
    template = await messaging.do_save_template(org["admin"], {
        "name": "Новости", "channel": "email", "subject": "Новости", "body": "Текст"})
    mailing = await mailings.do_create_mailing(org["admin"], name="Декабрь",
                                               template_id=template.id,
                                               client_ids=[org["client"].id])
    for who in ("ivan", "head"):
        for attempt in (mailings.do_mailing_action(org[who], mailing.id, "start"),
                        mailings.do_track_progress(org[who], mailing.id, 1, 1)):
            with pytest.raises(REFUSED):
                await attempt
    with pytest.raises(REFUSED):
        await layouts.do_save_layout(ivan, ["contacts"], department_id=org["north"].id)
    with pytest.raises(REFUSED):
        await layouts.do_save_layout(ivan, ["contacts"], user_id=olga.id)
    assert not await CardLayout.exists()
    store = LocalFileStore(tmp_path)
    for actor, target in ((ivan, olga), (head, olga)):
        with pytest.raises(REFUSED):
            await profile.do_set_photo(actor, target.id, b"\x89PNG\r\n\x1a\n", store)
        with pytest.raises(REFUSED):
            await profile.do_remove_photo(actor, target.id, store)
    assert (await User.get(id=olga.id)).photo_file_id is None
