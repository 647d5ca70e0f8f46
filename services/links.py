"""U-3: typed relations between clients (group member, division, dealer of,
competitor of, partner of, supplier of). Both ends must be clients the person may see."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from models import AuditLog, ClientLink, ClientLinkKind, User
from services.clients import get_client, visible_filter
from services.errors import N_, NotFound, ValidationFailed


@dataclass
class LinkView:
    id: int
    kind: str
    direction: str  # "out": this client → other, "in": other → this client
    other_id: int
    other_name: str
    note: str | None


async def do_link(actor: User, client_id: int, other_id: int, kind: str, *,
                  note: str | None = None, source: str = "web") -> ClientLink:
    if kind not in {k.value for k in ClientLinkKind}:
        raise ValidationFailed("kind", N_("unknown kind of relation"))
    if client_id == other_id:
        raise ValidationFailed("other", N_("a client cannot be related to itself"))
    client = await get_client(actor, client_id)
    try:
        other = await get_client(actor, other_id)
    except NotFound:
        raise ValidationFailed("other", N_("no such client")) from None
    async with in_transaction():
        link, created = await ClientLink.get_or_create(
            client=client, other=other, kind=ClientLinkKind(kind),
            defaults={"note": (note or "").strip()[:300] or None})
        if created:
            for c, text in ((client, f"{kind} → {other.name}"), (other, f"{client.name} → {kind}")):
                await AuditLog.create(user=actor, source=source, entity="link",
                                      object_id=link.id, client=c, action="create",
                                      field="link", new_value=text)
    return link


async def do_unlink(actor: User, link_id: int, *, source: str = "web") -> None:
    link = await ClientLink.get_or_none(id=link_id).prefetch_related("client", "other")
    if link is None:
        raise NotFound("link")
    try:  # both ends, as to make it: a relation to a hidden client is not there for them
        await get_client(actor, link.client_id)
        await get_client(actor, link.other_id)
    except NotFound:
        raise NotFound("link") from None
    async with in_transaction():
        for client_id, text in ((link.client_id, f"{link.kind} → {link.other.name}"),
                                (link.other_id, f"{link.client.name} → {link.kind}")):
            await AuditLog.create(user=actor, source=source, entity="link",
                                  object_id=link.id, client_id=client_id, action="delete",
                                  field="link", old_value=text)
        await link.delete()


async def links_of(actor: User, client_id: int) -> list[LinkView]:
    """Relations of a client with the clients the person may see."""
    client = await get_client(actor, client_id)
    out = [LinkView(li.id, str(li.kind), "out", li.other_id, li.other.name, li.note)
           for li in await ClientLink.filter(await visible_filter(actor, "other"),
                                              client_id=client.id).prefetch_related("other")]
    out += [LinkView(li.id, str(li.kind), "in", li.client_id, li.client.name, li.note)
            for li in await ClientLink.filter(await visible_filter(actor),
                                              other_id=client.id).prefetch_related("client")]
    return out
