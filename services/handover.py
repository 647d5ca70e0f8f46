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

With ``with_work`` (the default) the person's open work goes too, in the same
transaction, by the rules of a single reassignment done in bulk (batches of
:data:`CHUNK`, a few statements each, never one per record):

* **open deals** they own (not won, lost or archived) get the successor as owner (the
  successor may own them: active, and for a head within their departments — the rule of
  :func:`services.deals._new_owner`); each deal's history gets "owner" old → new; the
  successor leaves the deal's team if they were on it; the probabilities are recomputed
  after the commit (:func:`services.deal_stats.recompute_all`);
* **open tasks** (planned, postponed, rescheduled activities; done and cancelled ones
  stay as they were) they are an assignee of: the successor takes their place (where
  the successor is already an assignee, the person only leaves); each activity's
  history gets "assignees" old → new; the person's pending reminders become the
  successor's (snoozes end); connected calendars follow
  (:func:`services.calendar.follow_handover`: their events marked for deletion, the
  successor's made, the worker pushes them after the commit).

The successor hears one summary (clients, deals, tasks), not a notice per record — and
none when they handed the work over to themselves (the front end shows the result).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (
    OPEN_STATES,
    Activity,
    ActivityAssignee,
    AuditLog,
    ClientManager,
    Deal,
    DealMember,
    Reminder,
    ReminderState,
    Role,
    StaffStatus,
    User,
)
from services.clients import _audit
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import Action, department_subtree_ids, require

CHUNK = 500  # records moved per statement
_OPEN = [str(s) for s in OPEN_STATES]


@dataclass
class HandoverNotice:
    """Tell ``user_id`` after the commit: ``count`` clients, ``deals`` deals and
    ``tasks`` tasks of ``from_name`` are theirs."""

    user_id: int
    count: int
    from_name: str
    by_user_id: int | None
    deals: int = 0
    tasks: int = 0


@dataclass
class HandoverResult:
    count: int
    notices: list[HandoverNotice] = field(default_factory=list)
    deals: int = 0
    tasks: int = 0


@dataclass
class Handable:
    """What a person has to hand over: clients, open deals, open tasks."""

    clients: int
    deals: int
    tasks: int

    def __bool__(self) -> bool:
        return bool(self.clients or self.deals or self.tasks)


async def clients_to_hand_over(user_id: int) -> int:
    """How many clients (archived ones too) a person is a current manager of."""
    return await ClientManager.filter(user_id=user_id, unassigned_at=None).count()


def _open_deals(user_id: int):
    return Deal.filter(owner_id=user_id, archived_at=None, closed_at=None)


def _open_tasks(user_id: int):
    return ActivityAssignee.filter(user_id=user_id, activity__state__in=_OPEN)


async def to_hand_over(user_id: int) -> Handable:
    """How many clients, open deals and open tasks a person has (three counts)."""
    return Handable(await clients_to_hand_over(user_id), await _open_deals(user_id).count(),
                    await _open_tasks(user_id).count())


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
                       with_work: bool = True, source: str = "web") -> HandoverResult:
    """Move every current client of ``from_user_id`` to ``to_user_id`` and, with
    ``with_work``, their open deals and tasks (see the module docstring); how many of
    each were handed over, and the notice for the successor."""
    person = await check_hand_over(actor, from_user_id)
    target = await _check_successor(actor, person, to_user_id)
    async with in_transaction():
        count = await _move_clients(actor, person, target, source)
        deals = await _move_deals(actor, person, target, source) if with_work else []
        tasks = await _move_tasks(actor, person, target, source) if with_work else 0
    if deals:  # a deal's probability depends on its owner (U-8)
        from services.deal_stats import recompute_all

        for i in range(0, len(deals), CHUNK):
            await recompute_all(deal_ids=deals[i:i + CHUNK])
    told = (count or deals or tasks) and target.id != actor.id
    return HandoverResult(count, [HandoverNotice(
        target.id, count, person.full_name, actor.id, len(deals), tasks)] if told else [],
        len(deals), tasks)


async def _move_clients(actor: User, person: User, target: User, source: str) -> int:
    rows = await ClientManager.filter(user_id=person.id, unassigned_at=None
                                      ).select_for_update().order_by("id")
    if not rows:
        return 0
    client_ids = [r.client_id for r in rows]
    theirs = {r.client_id: r for r in await ClientManager.filter(
        user_id=target.id, unassigned_at=None, client_id__in=client_ids
    ).select_for_update()}
    await ClientManager.filter(id__in=[r.id for r in rows]).update(
        unassigned_at=utcnow(), unassigned_by_id=actor.id)
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
    return len(rows)


def _log(actor: User, source: str, entity: str, object_id: int, client_id: int | None,
         field_name: str, old: str, new: str) -> AuditLog:
    return AuditLog(user_id=actor.id, source=source, entity=entity, object_id=object_id,
                    client_id=client_id, action="update", field=field_name,
                    old_value=old, new_value=new)


async def _move_deals(actor: User, person: User, target: User, source: str) -> list[int]:
    """The person's open deals become the successor's; their ids."""
    moved: list[int] = []
    while rows := await _open_deals(person.id).select_for_update().order_by("id").limit(
            CHUNK).values_list("id", "client_id"):
        ids = [deal_id for deal_id, _client in rows]
        await Deal.filter(id__in=ids).update(owner_id=target.id)
        await DealMember.filter(deal_id__in=ids, user_id=target.id).delete()  # owner now
        await AuditLog.bulk_create([_log(actor, source, "deal", deal_id, client_id,
                                         "owner_id", str(person.id), str(target.id))
                                    for deal_id, client_id in rows])
        moved += ids
    return moved


async def _move_tasks(actor: User, person: User, target: User, source: str) -> int:
    """The successor takes the person's place on their open activities; how many."""
    from services.calendar import follow_handover

    moved = 0
    while ids := await _open_tasks(person.id).order_by("activity_id").limit(
            CHUNK).values_list("activity_id", flat=True):
        ids = list(dict.fromkeys(ids))
        people: dict[int, list[int]] = defaultdict(list)
        for activity_id, user_id in await ActivityAssignee.filter(
                activity_id__in=ids).order_by("id").values_list("activity_id", "user_id"):
            people[activity_id].append(user_id)
        both = [a for a in ids if target.id in people[a]]
        rest = [a for a in ids if target.id not in people[a]]
        await ActivityAssignee.filter(activity_id__in=both, user_id=person.id).delete()
        await ActivityAssignee.filter(activity_id__in=rest, user_id=person.id).update(
            user_id=target.id)
        # reminders follow, as services.activities.reminders rebuilds them
        pending = Reminder.filter(activity_id__in=ids, user_id=person.id,
                                  state=ReminderState.PENDING)
        await pending.filter(Q(snoozed=True) | Q(activity_id__in=both or [0])).delete()
        await pending.filter(activity_id__in=rest or [0]).update(user_id=target.id)
        activities = await Activity.filter(id__in=ids)
        await AuditLog.bulk_create([_log(
            actor, source, "activity", a.id, a.client_id, "assignees",
            ",".join(map(str, people[a.id])), ",".join(map(str, dict.fromkeys(
                target.id if u == person.id else u for u in people[a.id]))))
            for a in activities])
        await follow_handover(activities, person.id, target.id)
        moved += len(ids)
    return moved


async def hand_over_choices(actor: User, person: User) -> tuple[Handable, list[User]] | None:
    """For a page: what ``person`` has to hand over and whom ``actor`` may hand it to;
    None where ``actor`` may not hand it over or there is nothing to hand over."""
    from services.permissions import can

    if not await can(actor, Action.HAND_OVER_CLIENTS, person):
        return None
    counts = await to_hand_over(person.id)
    if not counts:
        return None
    return counts, await successors(actor, person.id)
