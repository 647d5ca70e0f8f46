"""Who may do what to whom (S-24), asked of the permission service directly.

One row per rule, each "may" next to its "may not": managers, heads and admins,
active and dismissed, in the same department, a sub-department, the department
above, another one or none. ``can`` answers a real bool (True or False, never
something merely falsy), so rows compare with ``is``.

The organisation every row runs in::

    HQ ── Sales ── East ── Retail          Other ── Other sub
    admin, mgr_hq   head, head2, mgr,      admin2, head_other,
    gone_admin      gone_head, gone_mgr    mgr_other, gone_other
                    mgr_east (East), mgr_retail (Retail)
    no department: head_nodept, mgr_nodept
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from models import Department, Role, StaffStatus, User
from services.errors import PermissionDenied
from services.permissions import (
    Action,
    can,
    department_subtree_ids,
    may_name_supervisor,
    require,
    require_admin,
    require_staff,
    role_may,
)

DEPARTMENTS = {  # name → parent
    "hq": None, "sales": "hq", "east": "sales", "retail": "east",
    "other": None, "other_sub": "other",
}
STAFF = {  # name → role, department, active
    "admin": (Role.ADMIN, "hq", True),
    "admin2": (Role.ADMIN, "other", True),
    "head": (Role.HEAD, "sales", True),
    "head2": (Role.HEAD, "sales", True),
    "head_other": (Role.HEAD, "other", True),
    "head_nodept": (Role.HEAD, None, True),
    "mgr": (Role.MANAGER, "sales", True),
    "mgr2": (Role.MANAGER, "sales", True),
    "mgr_east": (Role.MANAGER, "east", True),
    "mgr_retail": (Role.MANAGER, "retail", True),
    "mgr_hq": (Role.MANAGER, "hq", True),
    "mgr_other": (Role.MANAGER, "other", True),
    "mgr_nodept": (Role.MANAGER, None, True),
    "gone_admin": (Role.ADMIN, "hq", False),
    "gone_head": (Role.HEAD, "sales", False),
    "gone_mgr": (Role.MANAGER, "sales", False),
    "gone_other": (Role.MANAGER, "other", False),
}


@dataclass
class Org:
    depts: dict[str, Department]
    staff: dict[str, User]

    def target(self, spec):
        """A row's target: a staff name, ``Invite(role, department name)``, ``Raw``."""
        if isinstance(spec, str):
            return self.staff[spec]
        if isinstance(spec, Invite):
            return (spec.role, self.depts[spec.dept].id if spec.dept else None)
        if isinstance(spec, Raw):
            return spec.value
        return spec


@dataclass(frozen=True)
class Invite:
    role: Role
    dept: str | None

    def __str__(self) -> str:
        return f"({self.role}, {self.dept})"


@dataclass(frozen=True)
class Raw:
    """A target passed as it is (a wrong kind of target)."""
    value: object

    def __str__(self) -> str:
        return repr(self.value)


@pytest.fixture
async def org(database_url) -> Org:
    depts: dict[str, Department] = {}
    for name, parent in DEPARTMENTS.items():
        depts[name] = await Department.create(name=name, parent=depts.get(parent))
    staff: dict[str, User] = {}
    for i, (name, (role, dept, active)) in enumerate(STAFF.items(), start=1):
        staff[name] = await User.create(
            full_name=name, telegram_id=1000 + i, role=role,
            department=depts[dept] if dept else None,
            status=StaffStatus.ACTIVE if active else StaffStatus.DISMISSED,
            dismissed_at=None if active else datetime(2026, 1, 1, tzinfo=UTC))
    # as the front ends get them: read back from the database
    return Org(depts, {n: await User.get(id=u.id) for n, u in staff.items()})


def rows(*table):
    """(actor, action, target, allowed) → pytest params with readable ids."""
    return [pytest.param(actor, action, target, allowed,
                         id=f"{actor} {'may' if allowed else 'may not'} {action} {target}")
            for actor, action, target, allowed in table]


MAY, MAY_NOT = True, False

RULES = rows(
    # --- the staff directory and a colleague's card -----------------------------------
    ("mgr", Action.VIEW_STAFF, None, MAY),  # the directory
    ("head", Action.VIEW_STAFF, None, MAY),
    ("admin", Action.VIEW_STAFF, None, MAY),
    ("mgr", Action.VIEW_STAFF, "mgr", MAY),  # their own card
    ("mgr", Action.VIEW_STAFF, "mgr2", MAY),  # same department
    ("mgr", Action.VIEW_STAFF, "mgr_other", MAY),  # another department
    ("mgr", Action.VIEW_STAFF, "admin", MAY),
    ("mgr_nodept", Action.VIEW_STAFF, "head", MAY),
    ("head", Action.VIEW_STAFF, "mgr_other", MAY),
    ("mgr", Action.VIEW_STAFF, Raw(42), MAY),  # not a person: the directory
    # dismissed staff: admins and heads only
    ("mgr", Action.VIEW_STAFF, "gone_mgr", MAY_NOT),
    ("mgr_other", Action.VIEW_STAFF, "gone_other", MAY_NOT),
    ("mgr", Action.VIEW_STAFF, "gone_admin", MAY_NOT),
    ("head", Action.VIEW_STAFF, "gone_mgr", MAY),
    ("head", Action.VIEW_STAFF, "gone_other", MAY),  # dismissed: any department
    ("head_nodept", Action.VIEW_STAFF, "gone_mgr", MAY),
    ("admin", Action.VIEW_STAFF, "gone_mgr", MAY),
    ("admin", Action.VIEW_STAFF, "gone_admin", MAY),
    ("mgr", Action.VIEW_DISMISSED, None, MAY_NOT),
    ("mgr_nodept", Action.VIEW_DISMISSED, None, MAY_NOT),
    ("head", Action.VIEW_DISMISSED, None, MAY),
    ("head_nodept", Action.VIEW_DISMISSED, None, MAY),
    ("admin", Action.VIEW_DISMISSED, None, MAY),
    # --- one's own language and time zone --------------------------------------------
    ("mgr", Action.EDIT_OWN_PROFILE, None, MAY),
    ("mgr", Action.EDIT_OWN_PROFILE, "mgr", MAY),
    ("head", Action.EDIT_OWN_PROFILE, "head", MAY),
    ("admin", Action.EDIT_OWN_PROFILE, "admin", MAY),
    ("mgr", Action.EDIT_OWN_PROFILE, "mgr2", MAY_NOT),
    ("head", Action.EDIT_OWN_PROFILE, "mgr", MAY_NOT),  # not even their own manager's
    ("admin", Action.EDIT_OWN_PROFILE, "mgr", MAY_NOT),  # nor an admin someone else's
    ("mgr", Action.EDIT_OWN_PROFILE, Raw(1), MAY_NOT),  # an id is not the person
    # --- inviting: (role, department) -------------------------------------------------
    ("admin", Action.INVITE, Invite(Role.MANAGER, "sales"), MAY),
    ("admin", Action.INVITE, Invite(Role.HEAD, "other"), MAY),
    ("admin", Action.INVITE, Invite(Role.ADMIN, None), MAY),
    ("admin2", Action.INVITE, Invite(Role.MANAGER, "retail"), MAY),
    ("head", Action.INVITE, Invite(Role.MANAGER, "sales"), MAY),  # own department
    ("head", Action.INVITE, Invite(Role.MANAGER, "east"), MAY),  # a sub-department
    ("head", Action.INVITE, Invite(Role.MANAGER, "retail"), MAY),  # two levels down
    ("head_other", Action.INVITE, Invite(Role.MANAGER, "other_sub"), MAY),
    ("head", Action.INVITE, Invite(Role.MANAGER, "hq"), MAY_NOT),  # the one above
    ("head", Action.INVITE, Invite(Role.MANAGER, "other"), MAY_NOT),
    ("head", Action.INVITE, Invite(Role.MANAGER, "other_sub"), MAY_NOT),
    ("head", Action.INVITE, Invite(Role.MANAGER, None), MAY_NOT),  # into no department
    ("head_other", Action.INVITE, Invite(Role.MANAGER, "sales"), MAY_NOT),
    ("head", Action.INVITE, Invite(Role.HEAD, "sales"), MAY_NOT),  # managers only
    ("head", Action.INVITE, Invite(Role.HEAD, "east"), MAY_NOT),
    ("head", Action.INVITE, Invite(Role.ADMIN, "sales"), MAY_NOT),
    ("head", Action.INVITE, None, MAY_NOT),  # no (role, department) given
    ("head", Action.INVITE, Raw(Role.MANAGER), MAY_NOT),
    # a head without a department invites nobody anywhere
    ("head_nodept", Action.INVITE, Invite(Role.MANAGER, "sales"), MAY_NOT),
    ("head_nodept", Action.INVITE, Invite(Role.MANAGER, "hq"), MAY_NOT),
    ("head_nodept", Action.INVITE, Invite(Role.MANAGER, "other"), MAY_NOT),
    ("head_nodept", Action.INVITE, Invite(Role.MANAGER, None), MAY_NOT),
    ("mgr", Action.INVITE, Invite(Role.MANAGER, "sales"), MAY_NOT),
    ("mgr_nodept", Action.INVITE, Invite(Role.MANAGER, None), MAY_NOT),
    # --- roles ------------------------------------------------------------------------
    ("admin", Action.CHANGE_ROLE, "mgr", MAY),
    ("admin", Action.CHANGE_ROLE, "head", MAY),
    ("admin", Action.CHANGE_ROLE, "admin2", MAY),  # another admin
    ("admin", Action.CHANGE_ROLE, "gone_mgr", MAY),
    ("admin", Action.CHANGE_ROLE, "admin", MAY_NOT),  # not themselves: lock-out
    ("head", Action.CHANGE_ROLE, "mgr", MAY_NOT),  # not even in their department
    ("head", Action.CHANGE_ROLE, "head", MAY_NOT),
    ("mgr", Action.CHANGE_ROLE, "mgr", MAY_NOT),
    ("mgr", Action.CHANGE_ROLE, "mgr2", MAY_NOT),
    # --- departments of people --------------------------------------------------------
    ("admin", Action.CHANGE_DEPARTMENT, "mgr", MAY),
    ("admin", Action.CHANGE_DEPARTMENT, "head", MAY),
    ("admin", Action.CHANGE_DEPARTMENT, "admin", MAY),  # their own too
    ("head", Action.CHANGE_DEPARTMENT, "mgr", MAY_NOT),
    ("head", Action.CHANGE_DEPARTMENT, "mgr_east", MAY_NOT),
    ("head", Action.CHANGE_DEPARTMENT, "head", MAY_NOT),
    ("mgr", Action.CHANGE_DEPARTMENT, "mgr", MAY_NOT),
    # --- supervisors ------------------------------------------------------------------
    ("admin", Action.CHANGE_SUPERVISOR, "mgr", MAY),
    ("admin", Action.CHANGE_SUPERVISOR, "head", MAY),
    ("admin", Action.CHANGE_SUPERVISOR, "admin", MAY),
    ("head", Action.CHANGE_SUPERVISOR, "mgr", MAY),  # a manager of their department
    ("head", Action.CHANGE_SUPERVISOR, "mgr_east", MAY),  # of a sub-department
    ("head", Action.CHANGE_SUPERVISOR, "mgr_retail", MAY),  # two levels down
    ("head_other", Action.CHANGE_SUPERVISOR, "mgr_other", MAY),
    ("head", Action.CHANGE_SUPERVISOR, "mgr_hq", MAY_NOT),  # the department above
    ("head", Action.CHANGE_SUPERVISOR, "mgr_other", MAY_NOT),
    ("head", Action.CHANGE_SUPERVISOR, "mgr_nodept", MAY_NOT),
    ("head_other", Action.CHANGE_SUPERVISOR, "mgr", MAY_NOT),
    ("head", Action.CHANGE_SUPERVISOR, "head2", MAY_NOT),  # managers only
    ("head", Action.CHANGE_SUPERVISOR, "head", MAY_NOT),
    ("head", Action.CHANGE_SUPERVISOR, "admin", MAY_NOT),
    ("head", Action.CHANGE_SUPERVISOR, Raw(1), MAY_NOT),  # an id is not the person
    ("head", Action.CHANGE_SUPERVISOR, None, MAY_NOT),
    ("head_nodept", Action.CHANGE_SUPERVISOR, "mgr", MAY_NOT),
    ("head_nodept", Action.CHANGE_SUPERVISOR, "mgr_nodept", MAY_NOT),
    ("mgr", Action.CHANGE_SUPERVISOR, "mgr2", MAY_NOT),
    ("mgr", Action.CHANGE_SUPERVISOR, "mgr", MAY_NOT),
    # --- dismissal --------------------------------------------------------------------
    ("admin", Action.DISMISS, "mgr", MAY),
    ("admin", Action.DISMISS, "head", MAY),
    ("admin", Action.DISMISS, "admin2", MAY),
    ("admin", Action.DISMISS, "admin", MAY_NOT),  # not themselves
    ("head", Action.DISMISS, "mgr", MAY_NOT),  # not even their own manager
    ("head", Action.DISMISS, "mgr_east", MAY_NOT),
    ("head", Action.DISMISS, "head", MAY_NOT),
    ("mgr", Action.DISMISS, "mgr2", MAY_NOT),
    ("mgr", Action.DISMISS, "mgr", MAY_NOT),
    # --- the department tree ----------------------------------------------------------
    ("admin", Action.MANAGE_DEPARTMENTS, None, MAY),
    ("admin2", Action.MANAGE_DEPARTMENTS, None, MAY),
    ("head", Action.MANAGE_DEPARTMENTS, None, MAY_NOT),
    ("head_nodept", Action.MANAGE_DEPARTMENTS, None, MAY_NOT),
    ("mgr", Action.MANAGE_DEPARTMENTS, None, MAY_NOT),
    # --- verifying done activities (S-21; which ones: services.activities) -------------
    ("admin", Action.VERIFY_ACTIVITIES, None, MAY),
    ("head", Action.VERIFY_ACTIVITIES, None, MAY),
    ("head_nodept", Action.VERIFY_ACTIVITIES, None, MAY),
    ("mgr", Action.VERIFY_ACTIVITIES, None, MAY_NOT),
    ("gone_head", Action.VERIFY_ACTIVITIES, None, MAY_NOT),
)


@pytest.mark.parametrize(("actor", "action", "target", "allowed"), RULES)
async def test_rule(org, actor, action, target, allowed):
    assert await can(org.staff[actor], action, org.target(target)) is allowed


@pytest.mark.parametrize(("role", "action", "allowed"), [
    (Role.ADMIN, Action.INVITE, MAY), (Role.HEAD, Action.INVITE, MAY),
    (Role.MANAGER, Action.INVITE, MAY_NOT), ("head", Action.INVITE, MAY),
    (Role.ADMIN, Action.VERIFY_ACTIVITIES, MAY), (Role.HEAD, Action.VERIFY_ACTIVITIES, MAY),
    (Role.MANAGER, Action.VERIFY_ACTIVITIES, MAY_NOT),
    (Role.ADMIN, Action.DISMISS, MAY_NOT),  # not a menu shown by role
])
def test_role_may_shows_menus_by_role(role, action, allowed):
    """What the bot shows by role alone (the menu's Invite, a card's Verify)."""
    assert role_may(role, action) is allowed


# Whom one may name as a supervisor (the person given one is checked by
# CHANGE_SUPERVISOR above): an admin anyone, a head themselves or someone of their
# departments, whatever their role.
@pytest.mark.parametrize(("actor", "boss", "allowed"), [
    pytest.param(actor, boss, allowed,
                 id=f"{actor} {'may' if allowed else 'may not'} name {boss}")
    for actor, boss, allowed in [
        ("admin", "mgr_other", MAY),
        ("admin", "admin2", MAY),
        ("admin", "admin", MAY),
        ("admin2", "mgr_nodept", MAY),
        ("head", "head", MAY),  # themselves
        ("head", "mgr", MAY),
        ("head", "head2", MAY),  # a head of their department
        ("head", "mgr_east", MAY),  # a sub-department
        ("head", "mgr_retail", MAY),
        ("head_nodept", "head_nodept", MAY),  # themselves, even with no department
        ("head", "mgr_hq", MAY_NOT),  # the department above
        ("head", "admin", MAY_NOT),
        ("head", "mgr_other", MAY_NOT),
        ("head", "head_other", MAY_NOT),
        ("head", "mgr_nodept", MAY_NOT),
        ("head_other", "mgr", MAY_NOT),
        ("head_nodept", "mgr", MAY_NOT),
        ("head_nodept", "mgr_nodept", MAY_NOT),
    ]])
async def test_may_name_supervisor(org, actor, boss, allowed):
    assert await may_name_supervisor(org.staff[actor], org.staff[boss]) is allowed


# What an active admin may do, with a target for each action: none of it is left to
# a dismissed person (an admin's rights end with the dismissal) or to nobody.
ANYTHING = [pytest.param(action, target, id=f"{action} {target}") for action, target in [
    (Action.VIEW_STAFF, None),
    (Action.VIEW_STAFF, "mgr"),
    (Action.VIEW_DISMISSED, None),
    (Action.EDIT_OWN_PROFILE, None),
    (Action.INVITE, Invite(Role.MANAGER, "sales")),
    (Action.CHANGE_ROLE, "mgr"),
    (Action.CHANGE_DEPARTMENT, "mgr"),
    (Action.CHANGE_SUPERVISOR, "mgr"),
    (Action.DISMISS, "mgr"),
    (Action.MANAGE_DEPARTMENTS, None),
]]


@pytest.mark.parametrize(("action", "target"), ANYTHING)
async def test_the_dismissed_and_nobody_may_do_nothing(org, action, target):
    target = org.target(target)
    assert await can(org.staff["admin"], action, target) is True
    for gone in ("gone_admin", "gone_head", "gone_mgr"):
        assert await can(org.staff[gone], action, target) is False, gone
    assert await can(None, action, target) is False


async def test_dismissed_person_may_not_even_edit_their_own_profile(org):
    gone = org.staff["gone_mgr"]
    assert await can(gone, Action.EDIT_OWN_PROFILE, gone) is False
    assert await can(gone, Action.VIEW_STAFF, gone) is False


async def test_require_raises_only_when_can_says_no(org):
    assert await require(org.staff["head"], Action.INVITE, (Role.MANAGER,
                                                            org.depts["east"].id)) is None
    assert await require(org.staff["admin"], Action.DISMISS, org.staff["mgr"]) is None
    with pytest.raises(PermissionDenied) as denied:
        await require(org.staff["head"], Action.DISMISS, org.staff["mgr"])
    assert denied.value.params == {"action": "dismiss"}
    with pytest.raises(PermissionDenied):
        await require(org.staff["gone_admin"], Action.DISMISS, org.staff["mgr"])
    with pytest.raises(PermissionDenied):
        await require(None, Action.VIEW_STAFF)


@pytest.mark.parametrize("who", ["admin", "head", "mgr", "mgr_nodept"])
async def test_require_staff_lets_active_staff_through(org, who):
    assert require_staff(org.staff[who]) is org.staff[who]


@pytest.mark.parametrize("who", [None, "gone_admin", "gone_head", "gone_mgr"])
async def test_require_staff_refuses_nobody_and_the_dismissed(org, who):
    with pytest.raises(PermissionDenied):
        require_staff(org.staff[who] if who else None)


@pytest.mark.parametrize("who", ["admin", "admin2"])
async def test_require_admin_lets_active_admins_through(org, who):
    assert require_admin(org.staff[who]) is org.staff[who]


@pytest.mark.parametrize("who", [None, "gone_admin", "head", "head_nodept", "mgr",
                                 "gone_head"])
async def test_admin_only_services_refuse_everyone_else(org, who):
    """A dismissed admin is no admin: admin-only services refuse them like a manager."""
    with pytest.raises(PermissionDenied):
        require_admin(org.staff[who] if who else None)


@pytest.mark.parametrize(("root", "expected"), [
    ("hq", {"hq", "sales", "east", "retail"}),  # every level down, nothing beside
    ("sales", {"sales", "east", "retail"}),  # not the department above
    ("east", {"east", "retail"}),
    ("retail", {"retail"}),  # a leaf: itself
    ("other", {"other", "other_sub"}),
])
async def test_department_subtree(org, root, expected):
    got = await department_subtree_ids(org.depts[root].id)
    assert got == {org.depts[name].id for name in expected}


async def test_department_subtree_survives_a_cycle(org):
    """A parent loop (bad data) does not hang the walk."""
    hq, retail = org.depts["hq"], org.depts["retail"]
    await Department.filter(id=hq.id).update(parent_id=retail.id)
    got = await department_subtree_ids(org.depts["sales"].id)
    assert got == {org.depts[n].id for n in ("hq", "sales", "east", "retail")}
