"""The permission service: "may user X do Y to record Z".

Both front ends ask :func:`can` (or :func:`require`); handlers hold no rules.

Rules for staff (S-24):

* a dismissed or unknown person may do nothing;
* every active staff member may see the staff directory of active colleagues
  (name, position, department, contacts) and their own profile;
* dismissed staff are listed only for admins and heads;
* an admin may invite with any role, change anybody's role, department and
  supervisor, and dismiss anybody but themselves;
* a head may invite managers into their own department or its sub-departments
  and may set the supervisor of managers there; no role changes, no dismissals;
* a manager may only change their own language and time zone;
* a profile (S-24: name, position, phone, email, photo, time zone) is changed by its
  owner, by an admin, or by a head for the managers of their departments;
* mailings (K-16) are made and watched by admins and heads, each head their own;
  the settings (K-3) are changed by admins;
* done activities are verified by admins and heads (S-21; which ones a head may
  verify, :func:`services.activities.may_verify` says);
* payments, credit notes, adjustments, voids and payment terms (K-6, M-6) are recorded
  by admins and heads, for the clients they see;
* credit limits (A-15) are set by admins and heads, for the clients they see;
* a client is archived by whoever sees it (A-3: a manager their own clients, a head
  their departments', an admin any) and restored by admins and heads, for the clients
  they see (services.client_archive says why);
* all current clients of a person are handed over to another (A-5) by admins (anyone's)
  and heads (of the people of their departments, to people of their departments);
* marketing campaigns (K-10, K-12) are seen by all staff and managed (made, changed,
  archived, deleted, their variants, costs and mailings) by admins and heads.

A menu or a button shown by role alone (before any target is known) asks
:func:`role_may`; the action itself is still checked with :func:`can`.
"""

from __future__ import annotations

from enum import StrEnum

from models import Department, Role, User
from services.errors import PermissionDenied


class Action(StrEnum):
    VIEW_STAFF = "view_staff"
    VIEW_DISMISSED = "view_dismissed"
    INVITE = "invite"
    CHANGE_ROLE = "change_role"
    CHANGE_DEPARTMENT = "change_department"
    CHANGE_SUPERVISOR = "change_supervisor"
    DISMISS = "dismiss"
    EDIT_OWN_PROFILE = "edit_own_profile"
    MANAGE_DEPARTMENTS = "manage_departments"
    SEND_MAILINGS = "send_mailings"  # K-16: admins and heads
    EDIT_PROFILE = "edit_profile"  # S-24: one's own; an admin anyone's; a head their managers'
    CHANGE_SETTINGS = "change_settings"  # K-3: admins
    VERIFY_ACTIVITIES = "verify_activities"  # S-21: admins and heads (a head, their people's)
    RECORD_PAYMENTS = "record_payments"  # K-6, M-6: payments, credit notes, adjustments,
    # voids, bank statements and a client's payment terms: admins and heads (for clients they see)
    SET_CREDIT_LIMITS = "set_credit_limits"  # admins and heads (for clients they see)
    ARCHIVE_CLIENT = "archive_client"  # everyone, for the clients they see
    RESTORE_CLIENT = "restore_client"  # admins and heads, for the clients they see
    HAND_OVER_CLIENTS = "hand_over_clients"  # A-5: admins anyone's; heads their departments'
    MANAGE_CAMPAIGNS = "manage_campaigns"  # K-10, K-12: admins and heads


# the roles for whom a menu or button of an action is shown at all
_ROLES_THAT_MAY: dict[Action, frozenset[Role]] = {
    Action.INVITE: frozenset({Role.ADMIN, Role.HEAD}),
    Action.VERIFY_ACTIVITIES: frozenset({Role.ADMIN, Role.HEAD}),
    Action.RECORD_PAYMENTS: frozenset({Role.ADMIN, Role.HEAD}),
    Action.SET_CREDIT_LIMITS: frozenset({Role.ADMIN, Role.HEAD}),
    Action.ARCHIVE_CLIENT: frozenset({Role.ADMIN, Role.HEAD, Role.MANAGER}),
    Action.RESTORE_CLIENT: frozenset({Role.ADMIN, Role.HEAD}),
    Action.HAND_OVER_CLIENTS: frozenset({Role.ADMIN, Role.HEAD}),
    Action.MANAGE_CAMPAIGNS: frozenset({Role.ADMIN, Role.HEAD}),
}


def role_may(role: Role | str, action: Action) -> bool:
    """Whether someone of ``role`` may do ``action`` to some target: the bot's menu and
    buttons, shown by role (and cached per role); :func:`can` decides each case."""
    return Role(role) in _ROLES_THAT_MAY.get(action, frozenset())


async def department_subtree_ids(root_id: int) -> set[int]:
    """Ids of a department and every department under it (one query per level)."""
    ids = {root_id}
    frontier = [root_id]
    while frontier:
        children = await Department.filter(parent_id__in=frontier).values_list("id", flat=True)
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


async def _in_heads_scope(head: User, department_id: int | None) -> bool:
    if head.department_id is None or department_id is None:
        return False
    return department_id in await department_subtree_ids(head.department_id)


async def can(actor: User | None, action: Action, target: object = None) -> bool:
    """May ``actor`` do ``action`` (to ``target``, where the action has one)?

    Targets: a :class:`User` for staff actions; for INVITE a tuple
    ``(role, department_id)``; for VIEW_STAFF a User or None (the directory).
    """
    if actor is None or not actor.is_active:
        return False
    if action in (Action.VIEW_STAFF,):
        if isinstance(target, User) and not target.is_active:
            return actor.role in (Role.ADMIN, Role.HEAD)
        return True
    if action == Action.EDIT_OWN_PROFILE:
        return target is None or (isinstance(target, User) and target.id == actor.id)
    if action == Action.EDIT_PROFILE and isinstance(target, User) and target.id == actor.id:
        return True
    if action == Action.VIEW_DISMISSED:
        return actor.role in (Role.ADMIN, Role.HEAD)
    if action == Action.ARCHIVE_CLIENT:  # which clients: those one sees (the service)
        return True
    if actor.role == Role.ADMIN:
        if action == Action.DISMISS and isinstance(target, User) and target.id == actor.id:
            return False
        if action == Action.CHANGE_ROLE and isinstance(target, User) and target.id == actor.id:
            return False  # an admin cannot demote themselves and lock the company out
        return True
    if actor.role == Role.HEAD:
        if action in (Action.SEND_MAILINGS, Action.VERIFY_ACTIVITIES, Action.RECORD_PAYMENTS,
                      Action.SET_CREDIT_LIMITS, Action.RESTORE_CLIENT,
                      Action.MANAGE_CAMPAIGNS):
            return True
        if action == Action.HAND_OVER_CLIENTS and isinstance(target, User):
            return await _in_heads_scope(actor, target.department_id)
        if action == Action.EDIT_PROFILE and isinstance(target, User):
            return target.role == Role.MANAGER and await _in_heads_scope(
                actor, target.department_id)
        if action == Action.INVITE:
            role, department_id = target if isinstance(target, tuple) else (None, None)
            return role == Role.MANAGER and await _in_heads_scope(actor, department_id)
        if action == Action.CHANGE_SUPERVISOR and isinstance(target, User):
            return target.role == Role.MANAGER and await _in_heads_scope(
                actor, target.department_id)
        return False
    return False


async def may_name_supervisor(actor: User, boss: User) -> bool:
    """Whom ``actor`` may name as someone's supervisor (both people of a change are
    checked: the person by CHANGE_SUPERVISOR, the new supervisor here): an admin
    anyone; a head themselves or someone of their departments."""
    if actor.role == Role.ADMIN:
        return True
    return boss.id == actor.id or await _in_heads_scope(actor, boss.department_id)


async def require(actor: User | None, action: Action, target: object = None) -> None:
    if not await can(actor, action, target):
        raise PermissionDenied(f"{action} not allowed", action=str(action))


def require_staff(actor: User | None) -> User:
    """The actor is active staff, or PermissionDenied."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    return actor


def is_admin(actor: User | None) -> bool:
    """Whether :func:`require_admin` lets ``actor`` through (what a page offers admins:
    settings, program, grades)."""
    return actor is not None and actor.is_active and actor.role == Role.ADMIN


def is_admin_or_head(actor: User | None) -> bool:
    """An active admin or head of department: who may do what a section keeps from
    managers (ranking and loyalty runs, dealers, suppliers, client terms, promo effects)."""
    return actor is not None and actor.is_active and actor.role in (Role.ADMIN, Role.HEAD)


def require_admin(actor: User | None) -> User:
    """The actor is an active admin, or PermissionDenied."""
    require_staff(actor)
    if actor.role != Role.ADMIN:
        raise PermissionDenied("admins only")
    return actor
