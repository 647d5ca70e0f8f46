"""Staff onboarding by invite (S-24, P-1, P-5): valid, expired, reused codes."""

from __future__ import annotations

from datetime import timedelta

from models import Invite, Role, StaffStatus, User
from services import staff as staff_service
from services.clock import utcnow
from tests.conftest import keyboard_labels, say


async def _invite(role=Role.MANAGER, **kw) -> str:
    return (await staff_service.do_create_invite(None, role=role, **kw)).code


async def test_valid_invite_registers_with_role_and_language(service, emulator, new_tg_user):
    code = await _invite(Role.HEAD)
    tid = new_tg_user(language="uk", name="Олена Коваль")
    reply = await say(emulator, tid, f"/start {code}")
    user = await User.get(telegram_id=tid)
    assert user.role == Role.HEAD and user.language == "uk"
    assert user.full_name == "Олена Коваль"
    assert "Ласкаво просимо" in reply["text"]  # answered in Ukrainian
    labels = keyboard_labels(reply)
    assert any("Співробітники" in t for t in labels)
    invite = await Invite.get(code_hash=staff_service.invite_hash(code))
    assert invite.used_at is not None and invite.used_by_id == user.id


async def test_reused_invite_is_refused(service, emulator, new_tg_user):
    code = await _invite()
    first, second = new_tg_user(), new_tg_user(language="en")
    await say(emulator, first, f"/start {code}")
    reply = await say(emulator, second, f"/start {code}")
    assert "already been used" in reply["text"]
    assert not await User.exists(telegram_id=second)


async def test_expired_invite_is_refused(service, emulator, new_tg_user):
    result = await staff_service.do_create_invite(None, role=Role.MANAGER)
    await Invite.filter(id=result.invite.id).update(expires_at=utcnow() - timedelta(minutes=1))
    tid = new_tg_user(language="ru")
    reply = await say(emulator, tid, f"/start {result.code}")
    assert "истек" in reply["text"].lower() or "истёк" in reply["text"].lower()
    assert not await User.exists(telegram_id=tid)


async def test_unknown_code_is_refused(service, emulator, new_tg_user):
    tid = new_tg_user(language="en")
    reply = await say(emulator, tid, "/start inv_doesnotexist")
    assert "not valid" in reply["text"]


async def test_dismissed_person_invited_again_is_reactivated(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    person = await make_staff(Role.HEAD, language="en")
    await staff_service.do_dismiss(admin, person.id)
    code = await _invite(Role.MANAGER)
    reply = await say(emulator, person.telegram_id, f"/start {code}")
    assert "Welcome" in reply["text"]
    person = await User.get(id=person.id)
    assert person.status == StaffStatus.ACTIVE and person.role == Role.MANAGER


async def test_invite_race_has_one_winner(database_url):
    import asyncio

    code = await _invite()

    async def accept(tid):
        try:
            await staff_service.do_accept_invite(code, telegram_id=tid, full_name=str(tid),
                                                username=None, language_code="ru")
            return True
        except Exception:  # noqa: BLE001
            return False

    results = await asyncio.gather(*(accept(9000 + i) for i in range(5)))
    assert results.count(True) == 1
    assert await User.all().count() == 1


async def test_admin_invites_from_the_bot(service, emulator, make_staff, new_tg_user):
    admin = await make_staff(Role.ADMIN, language="en")
    from models import Department

    dept = await Department.create(name="Field sales")
    msg = await say(emulator, admin.telegram_id, "/invite")
    buttons = {b["text"]: b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"]
               for b in row}
    assert set(buttons) == {"administrator", "head of department", "manager"}
    await emulator.press_button(admin.telegram_id, admin.telegram_id, msg["message_id"],
                                buttons["manager"])
    await emulator.wait_for_call("editMessageText")
    msg = emulator.history(admin.telegram_id)[-1]
    depts = {b["text"]: b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"]
             for b in row}
    await emulator.press_button(admin.telegram_id, admin.telegram_id, msg["message_id"],
                                depts["Field sales"])
    await emulator.wait_for_call("editMessageText",
                                 predicate=lambda p: "t.me/" in p.get("text", ""))
    text = emulator.history(admin.telegram_id)[-1]["text"]
    link = next(w for w in text.split() if "t.me/" in w)
    code = link.split("start=")[1]
    tid = new_tg_user(language="en")
    reply = await say(emulator, tid, f"/start {code}")
    assert "manager" in reply["text"]
    newcomer = await User.get(telegram_id=tid)
    assert newcomer.department_id == dept.id


async def test_manager_cannot_invite(service, emulator, make_staff):
    manager = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, manager.telegram_id, "/invite")
    assert "Only administrators and heads" in reply["text"]


async def test_invite_codes_are_stored_hashed(database_url):
    code = await _invite()
    assert not await Invite.filter(code_hash=code).exists()
    assert await Invite.filter(code_hash=staff_service.invite_hash(code)).exists()


async def test_dismissal_revokes_the_invites_a_person_made(service, emulator, make_staff,
                                                          new_tg_user):
    admin = await make_staff(Role.ADMIN)
    head = await make_staff(Role.ADMIN, language="en")
    made = await staff_service.do_create_invite(head, role=Role.ADMIN)
    await staff_service.do_dismiss(admin, head.id)
    # neither a stranger nor the dismissed person can use it
    for tid in (new_tg_user(language="en"), head.telegram_id):
        reply = await say(emulator, tid, f"/start {made.code}")
        assert "cancelled" in reply["text"]
    assert not (await User.get(id=head.id)).is_active


async def test_an_invite_older_than_the_dismissal_cannot_reactivate(database_url):
    admin = await User.create(full_name="A", telegram_id=1, role=Role.ADMIN)
    person = await User.create(full_name="P", telegram_id=2)
    old = await _invite(Role.ADMIN)
    await staff_service.do_dismiss(admin, person.id)
    import pytest

    from services.errors import InviteInvalid

    with pytest.raises(InviteInvalid):
        await staff_service.do_accept_invite(old, telegram_id=2, full_name="P", username=None,
                                            language_code="ru")
