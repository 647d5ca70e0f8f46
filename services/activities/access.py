"""Who sees and changes an activity (A-3, S-20, S-21), whose calendars one opens,
whom one assigns; an activity's custom values follow the same rule (S-16)."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import Activity, ActivityAssignee, ActivityState, CustomEntity, Role, StaffStatus, User
from services.customfields import register_object_check
from services.errors import NotFound, PermissionDenied
from services.permissions import department_subtree_ids


async def visible_activities(actor: User) -> QuerySet[Activity]:
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    if actor.role == Role.ADMIN:
        return Activity.all()
    if actor.role == Role.HEAD and actor.department_id is not None:
        depts = list(await department_subtree_ids(actor.department_id))
        people = Subquery(User.filter(department_id__in=depts).values("id"))
        assigned = ActivityAssignee.filter(user_id__in=people)
        return Activity.filter(Q(author_id__in=people)
                               | Q(id__in=Subquery(assigned.values("activity_id"))))
    assigned = ActivityAssignee.filter(user_id=actor.id)
    return Activity.filter(Q(author_id=actor.id)
                           | Q(id__in=Subquery(assigned.values("activity_id"))))


async def get_activity(actor: User, activity_id: int) -> Activity:
    found = await (await visible_activities(actor)).get_or_none(id=activity_id)
    if found is None:
        raise NotFound("activity")
    return found


async def find_activity(activity_id: int) -> Activity | None:
    """An activity by id without an access check: for what follows a change the person
    was allowed to make (the task's topic announcing it)."""
    return await Activity.get_or_none(id=activity_id)


async def assignee_ids(activity_id: int) -> list[int]:
    return list(await ActivityAssignee.filter(activity_id=activity_id).order_by(
        "id").values_list("user_id", flat=True))


async def assignees(activity_id: int) -> list[User]:
    """The assignees as people."""
    return await User.filter(id__in=await assignee_ids(activity_id))


async def _is_head_over(actor: User, user_ids: Iterable[int]) -> bool:
    if actor.role != Role.HEAD or actor.department_id is None:
        return False
    depts = await department_subtree_ids(actor.department_id)
    return await User.filter(id__in=list(user_ids), department_id__in=list(depts)).exists()


async def _may_change(actor: User, activity: Activity, people: list[int]) -> None:
    if actor.role == Role.ADMIN or actor.id == activity.author_id or actor.id in people:
        return
    if await _is_head_over(actor, [*people, activity.author_id or 0]):
        return
    raise PermissionDenied("only the author, the assignees, their head or an admin")


async def may_see_calendar_of(actor: User, person_id: int) -> bool:
    """S-20: one's own calendar; a head, their departments' people; an admin, all."""
    if actor.id == person_id or actor.role == Role.ADMIN:
        return True
    return await _is_head_over(actor, [person_id])


async def calendar_people(actor: User) -> list[tuple[int, str]]:
    """S-20: (id, name) of the active people whose calendars ``actor`` may open, by name,
    themselves always among them: a head (of a department), their departments' people;
    an admin, everyone; anybody else, themselves."""
    qs = User.filter(status=StaffStatus.ACTIVE)
    if actor.role == Role.HEAD and actor.department_id:
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    elif actor.role != Role.ADMIN:
        qs = qs.filter(id=actor.id)
    rows = await qs.order_by("full_name").values_list("id", "full_name")
    if actor.id not in {i for i, _n in rows}:
        rows = [(actor.id, actor.full_name), *rows]
    return rows


async def _verifies(actor: User, people: list[int]) -> bool:
    """S-21: an admin, or a head over one of ``people`` (the assignees)."""
    return actor.role == Role.ADMIN or await _is_head_over(actor, people)


async def may_verify(actor: User, activity: Activity, people: list[int]) -> bool:
    """Whether the card offers ``actor`` to verify the activity (``people``: its
    assignees): done, not verified yet, done by someone else, and :func:`do_verify`
    would let them."""
    return (str(activity.state) == ActivityState.DONE and activity.verified_at is None
            and activity.done_by_id != actor.id and await _verifies(actor, people))


async def assignable_people(actor: User) -> list[User]:
    """Whom ``actor`` may make an assignee: a manager, their department; a head, their
    departments; an admin, anyone active."""
    qs = User.filter(status=StaffStatus.ACTIVE)
    if actor.role == Role.ADMIN:
        pass
    elif actor.department_id is None:
        qs = qs.filter(id=actor.id)
    elif actor.role == Role.HEAD:
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    else:
        qs = qs.filter(department_id=actor.department_id)
    return await qs.order_by("full_name")


async def _activity_check(actor: User, object_id: int, write: bool) -> int | None:
    """Who may read and write an activity's custom values: whoever sees it; whoever may
    change it. Returns the client id for the audit log (the client's timeline)."""
    activity = await get_activity(actor, object_id)
    if write:
        await _may_change(actor, activity, await assignee_ids(activity.id))
    return activity.client_id


register_object_check(CustomEntity.ACTIVITY, _activity_check)
