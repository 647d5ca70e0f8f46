"""Handing over a person's clients (A-5): an admin, or a head for people of their
departments, moves every current client assignment of one person to another in one
step — typically before or after a dismissal, so the company keeps its contacts.

Rules:

* every current :class:`ClientManager` row of the person handed over from ends (the
  row stays, with ``unassigned_at``/``unassigned_by``: the history shows who had the
  client), and the successor gets a row of their own, primary if the ended row was;
* where the successor already manages the client, only the old row ends (the
  successor's row is kept, and made primary if the ended one was);
* archived clients are handed over too (a restored client has its manager);
* each client's history (audit) gets an "unassign" and, where a row was made, an
  "assign", like :mod:`services.managers`;
* all in one transaction; the successor is told after the commit (a
  :class:`HandoverNotice` for the front end to deliver);
* refused: handing over to oneself (the same person), to a dismissed or unknown
  person, and — for a head — to someone outside their departments.

Not moved: open deals owned by the person and activities assigned to them. Changing a
deal's owner or an activity's assignee goes through the full validation, notices and
reminders of :mod:`services.deals` and :mod:`services.activities`, one record at a
time; they are left to be reassigned there (a dismissed person's deals and tasks stay
visible to admins and heads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.transactions import in_transaction

from models import ClientManager, Role, StaffStatus, User
from services.clients import _audit
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import Action, department_subtree_ids, require


@dataclass
class HandoverNotice:
    """Tell ``user_id`` after the commit: ``count`` clients of ``from_name`` are theirs."""

    user_id: int
    count: int
    from_name: str
    by_user_id: int | None


@dataclass
class HandoverResult:
    count: int
    notices: list[HandoverNotice] = field(default_factory=list)


async def clients_to_hand_over(user_id: int) -> int:
    """How many clients (archived ones too) a person is a current manager of."""
    return await ClientManager.filter(user_id=user_id, unassigned_at=None).count()


async def _person(user_id: int) -> User:
    person = await User.get_or_none(id=user_id)
    if person is None:
        raise NotFound("user")
    return person


async def check_hand_over(actor: User, from_user_id: int) -> User:
    """The person whose clients ``actor`` may hand over, or PermissionDenied/NotFound."""
    person = await _person(from_user_id)
    await require(actor, Action.HAND_OVER_CLIENTS, person)
    return person


async def successors(actor: User, from_user_id: int) -> list[User]:
    """Whom ``actor`` may hand ``from_user_id``'s clients to: active people (an admin
    anyone, a head those of their departments), not the person themselves."""
    await check_hand_over(actor, from_user_id)
    qs = User.filter(status=StaffStatus.ACTIVE).exclude(id=from_user_id)
    if actor.role != Role.ADMIN:
        if actor.department_id is None:
            return []
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    return await qs.order_by("full_name", "id")


async def _check_successor(actor: User, person: User, to_user_id: int) -> User:
    if to_user_id == person.id:
        raise ValidationFailed("to_user_id", N_("choose someone else: that is the same person"))
    target = await User.get_or_none(id=to_user_id, status=StaffStatus.ACTIVE)
    if target is None:
        raise ValidationFailed("to_user_id", N_("no such active staff member"))
    if actor.role != Role.ADMIN and (
            actor.department_id is None or target.department_id not in
            await department_subtree_ids(actor.department_id)):
        raise ValidationFailed("to_user_id", N_("that person is outside your departments"))
    return target


async def do_hand_over(actor: User, from_user_id: int, to_user_id: int, *,
                       source: str = "web") -> HandoverResult:
    """Move every current client of ``from_user_id`` to ``to_user_id`` (see the module
    docstring); the number of clients handed over, and the notice for the successor."""
    person = await check_hand_over(actor, from_user_id)
    target = await _check_successor(actor, person, to_user_id)
    now = utcnow()
    async with in_transaction():
        rows = await ClientManager.filter(user_id=person.id, unassigned_at=None
                                          ).select_for_update().order_by("id")
        if not rows:
            return HandoverResult(0)
        client_ids = [r.client_id for r in rows]
        theirs = {r.client_id: r for r in await ClientManager.filter(
            user_id=target.id, unassigned_at=None, client_id__in=client_ids
        ).select_for_update()}
        await ClientManager.filter(id__in=[r.id for r in rows]).update(
            unassigned_at=now, unassigned_by_id=actor.id)
        for row in rows:
            await _audit(actor, source, "manager", person.id, row.client_id, "unassign",
                         "manager", person.full_name, None)
            kept = theirs.get(row.client_id)
            if kept is None:
                await ClientManager.create(client_id=row.client_id, user_id=target.id,
                                           assigned_by_id=actor.id, is_primary=row.is_primary)
                await _audit(actor, source, "manager", target.id, row.client_id, "assign",
                             "manager", None, target.full_name)
            elif row.is_primary and not kept.is_primary:
                kept.is_primary = True
                await kept.save(update_fields=["is_primary"])
    return HandoverResult(len(rows), [HandoverNotice(target.id, len(rows), person.full_name,
                                                     actor.id)])


async def hand_over_choices(actor: User, person: User) -> tuple[int, list[User]] | None:
    """For a page: how many clients ``person`` has and whom ``actor`` may hand them to;
    None where ``actor`` may not hand them over or there is nothing to hand over."""
    from services.permissions import can

    if not await can(actor, Action.HAND_OVER_CLIENTS, person):
        return None
    count = await clients_to_hand_over(person.id)
    if not count:
        return None
    return count, await successors(actor, person.id)
