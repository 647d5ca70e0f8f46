"""The organisation chart (S-24): departments as a tree, each with its heads and its
people, and who reports to whom.

Rules:

* everyone who may see the staff directory may see the chart (it shows no more than
  the directory does: names, positions, roles, departments);
* only active people are shown; a department's count covers it and every
  department under it;
* a department's heads are its people with the head role; a person's supervisor is
  shown beside them when they have one;
* people without a department are listed apart, last;
* four queries whatever the size (departments, people, their positions and their
  supervisors); the tree
  is put together in Python from those rows, which are as many as the company has
  departments and staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.expressions import Q

from models import Department, Role, StaffStatus, User
from services.permissions import Action, can, department_subtree_ids, require


@dataclass
class OrgUnit:
    department: Department | None
    heads: list[User] = field(default_factory=list)
    people: list[User] = field(default_factory=list)
    children: list[OrgUnit] = field(default_factory=list)
    total: int = 0  # active people here and in every department below


@dataclass
class OrgChart:
    roots: list[OrgUnit]
    unassigned: OrgUnit
    total: int


async def org_chart(actor: User) -> OrgChart:
    """The whole chart, departments by name, people by name within each."""
    await require(actor, Action.VIEW_STAFF)
    departments = await Department.all().order_by("name", "id")
    people = await User.filter(status=StaffStatus.ACTIVE).prefetch_related(
        "position", "supervisor").order_by("full_name", "id")
    units = {d.id: OrgUnit(department=d) for d in departments}
    unassigned = OrgUnit(department=None)
    for p in people:
        unit = units.get(p.department_id, unassigned)
        (unit.heads if p.role == Role.HEAD else unit.people).append(p)
    roots: list[OrgUnit] = []
    for d in departments:
        parent = units.get(d.parent_id) if d.parent_id is not None else None
        (parent.children if parent is not None else roots).append(units[d.id])

    def count(unit: OrgUnit, path: frozenset[int]) -> int:
        # a cycle in the parents would be a data error: each unit is counted once
        unit.total = len(unit.heads) + len(unit.people) + sum(
            count(c, path | {id(c)}) for c in unit.children if id(c) not in path)
        return unit.total

    for root in roots:
        count(root, frozenset({id(root)}))
    unassigned.total = len(unassigned.heads) + len(unassigned.people)
    return OrgChart(roots=roots, unassigned=unassigned, total=len(people))


@dataclass
class PlaceChoices:
    """What ``actor`` may change of a person's place in the organisation, with the
    choices offered; a field ``actor`` may not change is None."""

    roles: list[Role] | None
    departments: list[Department] | None
    supervisors: list[User] | None

    @property
    def any(self) -> bool:
        return any(x is not None for x in (self.roles, self.departments, self.supervisors))


MAX_SUPERVISOR_CHOICES = 500


async def place_choices(actor: User, person: User) -> PlaceChoices:
    """Roles, departments and supervisors ``actor`` may give ``person`` (S-24): the
    same checks as :func:`services.staff.do_update_staff`, so the page offers only
    what will be accepted. Supervisors: active people ``actor`` may name, the person
    and those who report to them (directly or not) left out, since that would be a
    cycle."""
    roles = departments = supervisors = None
    if await can(actor, Action.CHANGE_ROLE, person):
        roles = list(Role)
    if await can(actor, Action.CHANGE_DEPARTMENT, person):
        departments = await Department.all().order_by("name", "id")
        if actor.role != Role.ADMIN:
            reach = (await department_subtree_ids(actor.department_id)
                     if actor.department_id is not None else set())
            departments = [d for d in departments if d.id in reach]
    if await can(actor, Action.CHANGE_SUPERVISOR, person):
        below = {person.id}
        frontier = [person.id]
        while frontier:  # one query per level of the reporting lines under the person
            frontier = [i for i in await User.filter(supervisor_id__in=frontier)
                        .values_list("id", flat=True) if i not in below]
            below.update(frontier)
        qs = User.filter(status=StaffStatus.ACTIVE).exclude(id__in=below)
        if actor.role != Role.ADMIN:
            reach = (await department_subtree_ids(actor.department_id)
                     if actor.department_id is not None else set())
            qs = qs.filter(Q(id=actor.id) | Q(department_id__in=reach))
        supervisors = await qs.order_by("full_name", "id").limit(MAX_SUPERVISOR_CHOICES)
        # the current one is always offered, so the form shows it (and keeps it)
        if person.supervisor_id and all(p.id != person.supervisor_id for p in supervisors):
            current = await User.get_or_none(id=person.supervisor_id)
            if current is not None:
                supervisors.insert(0, current)
    if departments is not None and person.department_id and all(
            d.id != person.department_id for d in departments):
        current_dept = await Department.get_or_none(id=person.department_id)
        if current_dept is not None:
            departments.insert(0, current_dept)
    return PlaceChoices(roles=roles, departments=departments, supervisors=supervisors)
