"""A-2: the client card's layout per department or per person: which sections it shows
and in which order. A person's own layout wins, then their department's, then the
nearest parent department's, then the default."""

from __future__ import annotations

from models import CardLayout, Department, Role, User
from services.errors import N_, PermissionDenied, ValidationFailed

SECTIONS = ("requisites", "activities", "messages", "custom", "classifier", "links",
            "contacts", "files", "edit", "history")


async def layout_for(user: User) -> list[str]:
    own = await CardLayout.get_or_none(user_id=user.id)
    if own is not None:
        return list(own.layout["sections"])
    department_id = user.department_id
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        row = await CardLayout.get_or_none(department_id=department_id, user_id=None)
        if row is not None:
            return list(row.layout["sections"])
        department = await Department.get_or_none(id=department_id)
        department_id = department.parent_id if department else None
    return list(SECTIONS)


async def do_save_layout(actor: User, sections: list[str], *, department_id: int | None = None,
                         user_id: int | None = None) -> CardLayout:
    """Admins set any layout; anyone may set their own (``user_id`` = themselves)."""
    if user_id is not None and user_id != actor.id and actor.role != Role.ADMIN:
        raise PermissionDenied("only admins set others' layouts")
    if user_id is None and actor.role != Role.ADMIN:
        raise PermissionDenied("only admins set department layouts")
    if (department_id is None) == (user_id is None):
        raise ValidationFailed("layout", N_("give either a department or a person"))
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValidationFailed("sections", N_("unknown sections: {sections}"),
                               sections=", ".join(unknown))
    if not sections:
        raise ValidationFailed("sections", N_("choose at least one section"))
    if department_id is not None and not await Department.exists(id=department_id):
        raise ValidationFailed("department", N_("no such department"))
    layout = {"sections": list(dict.fromkeys(sections))}
    row, _ = await CardLayout.update_or_create(
        department_id=department_id, user_id=user_id, defaults={"layout": layout})
    return row


async def department_layouts() -> dict[int, list[str]]:
    """The layouts set per department (department id → sections), for the settings
    page to start from what is saved."""
    rows = await CardLayout.filter(user_id=None).exclude(department_id=None)
    return {r.department_id: list(r.layout["sections"]) for r in rows}


async def own_layout(user: User) -> list[str] | None:
    """The person's own layout, or None when they follow their department's."""
    row = await CardLayout.get_or_none(user_id=user.id)
    return list(row.layout["sections"]) if row else None


async def do_reset_own_layout(actor: User) -> None:
    """Back to the department's layout."""
    await CardLayout.filter(user_id=actor.id).delete()


async def person_layouts() -> dict[int, list[str]]:
    """The layouts people set for themselves (user id → sections)."""
    rows = await CardLayout.exclude(user_id=None)
    return {r.user_id: list(r.layout["sections"]) for r in rows}
