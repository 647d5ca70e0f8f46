"""Who manages a client (S-6, A-5, S-25): the current managers, the history of
assignments, and assigning or unassigning — by heads (for people of their departments)
and admins; the person assigned or unassigned is told after the commit (a Notice).
Several managers at once are allowed; unassigning keeps the row with its end."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models import Client, ClientManager, Role, StaffStatus, User
from services.clients import ClientResult, Notice, _audit, get_client
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids, is_admin_or_head


async def current_managers(client_id: int) -> list[User]:
    rows = await ClientManager.filter(client_id=client_id, unassigned_at=None).prefetch_related(
        "user").order_by("-is_primary", "assigned_at")
    return [r.user for r in rows]


async def manager_history(actor: User, client_id: int) -> list[ClientManager]:
    await get_client(actor, client_id)
    return await ClientManager.filter(client_id=client_id).prefetch_related(
        "user", "assigned_by", "unassigned_by").order_by("assigned_at")


async def _may_reassign(actor: User, client: Client) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.HEAD:
        return  # get_client already limited heads to their departments' clients
    raise PermissionDenied("only heads and admins assign managers")


async def do_assign_manager(actor: User, client_id: int, user_id: int, *,
                            source: str = "web") -> ClientResult:
    client = await get_client(actor, client_id)
    await _may_reassign(actor, client)
    user = await User.get_or_none(id=user_id, status=StaffStatus.ACTIVE)
    if user is None:
        raise ValidationFailed("manager", N_("no such active staff member"))
    if actor.role == Role.HEAD and actor.department_id is not None and (
            user.department_id not in await department_subtree_ids(actor.department_id)):
        raise PermissionDenied("that person is outside your departments")
    if await ClientManager.exists(client_id=client.id, user_id=user.id, unassigned_at=None):
        return ClientResult(client)
    async with in_transaction():
        await ClientManager.create(client=client, user=user, assigned_by=actor)
        await _audit(actor, source, "manager", user.id, client.id, "assign", "manager",
                     None, user.full_name)
    return ClientResult(client, [Notice(user.id, "assigned", client.id, client.name,
                                        actor.id)])


async def do_unassign_manager(actor: User, client_id: int, user_id: int, *,
                              source: str = "web") -> ClientResult:
    client = await get_client(actor, client_id)
    await _may_reassign(actor, client)
    async with in_transaction():
        n = await ClientManager.filter(client_id=client.id, user_id=user_id,
                                       unassigned_at=None).update(
            unassigned_at=utcnow(), unassigned_by_id=actor.id)
        if not n:
            raise NotFound("assignment")
        user = await User.get(id=user_id)
        await _audit(actor, source, "manager", user_id, client.id, "unassign", "manager",
                     user.full_name, None)
    return ClientResult(client, [Notice(user_id, "unassigned", client.id, client.name,
                                        actor.id)])


async def count_assigned(user_id: int) -> int:
    """S-25: how many clients a person is responsible for now."""
    return await ClientManager.filter(user_id=user_id, unassigned_at=None,
                                      client__archived_at=None).count()


def may_reassign(actor: User) -> bool:
    """Heads and admins assign managers (a head only within the clients they see)."""
    return is_admin_or_head(actor)


async def manager_candidates(actor: User) -> list[User]:
    """Whom ``actor`` may assign: an admin anyone active; a head the active people of
    their departments; others nobody."""
    if not may_reassign(actor):
        return []
    qs = User.filter(status=StaffStatus.ACTIVE)
    if actor.role == Role.HEAD:
        if actor.department_id is None:
            return [actor]
        qs = qs.filter(department_id__in=list(await department_subtree_ids(
            actor.department_id)))
    return await qs.order_by("full_name")
