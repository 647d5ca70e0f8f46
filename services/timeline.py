"""The client card's history (S-7): the audit of the card and of what is done with the
client, as the person may see it (A-3). Its own module because it reads three
services: the client's (services.clients), the activities one sees
(services.activities) and the custom fields hidden from one (services.customfields)."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import AuditLog, User
from services.activities import visible_activities
from services.clients import get_client
from services.customfields import hidden_codes


async def client_history(actor: User, client_id: int, *, limit: int = 100, offset: int = 0
                         ) -> list[AuditLog]:
    """S-7 for now: the audit of the card, newest first, without the values of custom
    fields the person may not see (A-3: confidential means hidden, also here); a page
    of ``limit`` entries from ``offset``. An archived client's history is read too."""
    qs = await _history(actor, client_id)
    return await qs.prefetch_related("user").order_by("-at", "-id").offset(
        max(offset, 0)).limit(limit)


async def client_history_page(actor: User, client_id: int, *, limit: int, offset: int = 0
                              ) -> tuple[list[AuditLog], int]:
    """A page of :func:`client_history` and how many entries there are in all."""
    qs = await _history(actor, client_id)
    rows = await qs.prefetch_related("user").order_by("-at", "-id").offset(
        max(offset, 0)).limit(limit)
    return rows, await qs.count()


async def _history(actor: User, client_id: int) -> QuerySet[AuditLog]:
    client = await get_client(actor, client_id, with_archived=True)
    hidden = [f"cf:{code}" for code in await hidden_codes(actor, "client")]
    # activities of the client one may not see are not in its history either
    seen = Subquery((await visible_activities(actor)).filter(client_id=client.id).values("id"))
    qs = AuditLog.filter(client_id=client.id).filter(
        ~Q(entity="activity") | Q(object_id__in=seen))
    if hidden:
        qs = qs.filter(Q(field=None) | ~Q(field__in=hidden))
    return qs
