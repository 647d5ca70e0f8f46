"""A client's legal entities (S-1): the first one added is the primary; any can be
changed (every code checked as when added: INN, KPP, OGRN, EDRPOU, IPN, BIK, MFO, IBAN,
accounts), made the primary, or deleted — deleting the primary makes the oldest
remaining one the primary. Whoever may see the client may do this (A-3); each change
is audited field by field; the client's search tokens follow (an INN finds it)."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models import LegalEntity, User
from services.clients import (
    LEGAL_FIELDS,
    _audit,
    _refresh_derived,
    _validated_legal,
    get_client,
)
from services.errors import NotFound


async def get_legal_entity(actor: User, entity_id: int) -> LegalEntity:
    entity = await LegalEntity.get_or_none(id=entity_id)
    if entity is None:
        raise NotFound("legal_entity")
    try:
        await get_client(actor, entity.client_id)
    except NotFound:
        raise NotFound("legal_entity") from None
    return entity


async def list_legal_entities(actor: User, client_id: int) -> list[LegalEntity]:
    """The client's legal entities, the primary first."""
    client = await get_client(actor, client_id)
    return await _entities_of(client.id)


CARD_ENTITIES = 10  # a bot card lists this many legal entities, then "…and N more"


async def card_entities(client_id: int) -> tuple[list[LegalEntity], int]:
    """For a card already shown: the client's legal entities, the primary first, at most
    :data:`CARD_ENTITIES`, and how many there are in all."""
    shown = await _entities_of(client_id).limit(CARD_ENTITIES + 1)
    total = len(shown) if len(shown) <= CARD_ENTITIES else await LegalEntity.filter(
        client_id=client_id).count()
    return shown[:CARD_ENTITIES], total


def _entities_of(client_id: int):
    return LegalEntity.filter(client_id=client_id).order_by("-is_primary", "id")


async def do_update_legal_entity(actor: User, entity_id: int, changes: dict[str, Any], *,
                                 source: str = "web") -> LegalEntity:
    entity = await get_legal_entity(actor, entity_id)
    current = {k: getattr(entity, k) for k in LEGAL_FIELDS}
    values = _validated_legal({**current, **{k: v for k, v in changes.items()
                                             if k in LEGAL_FIELDS}})
    changed = {k: v for k, v in values.items() if k in changes and current.get(k) != v}
    if not changed:
        return entity
    async with in_transaction():
        for key, new in changed.items():
            await _audit(actor, source, "legal_entity", entity.id, entity.client_id,
                         "update", key, current.get(key), new)
            setattr(entity, key, new)
        await entity.save()
        client = await entity.client
        await _refresh_derived(client)
        await client.save()
    return entity


async def do_make_primary(actor: User, entity_id: int, *, source: str = "web"
                          ) -> LegalEntity:
    entity = await get_legal_entity(actor, entity_id)
    if entity.is_primary:
        return entity
    async with in_transaction():
        await LegalEntity.filter(client_id=entity.client_id).update(is_primary=False)
        entity.is_primary = True
        await entity.save(update_fields=["is_primary"])
        await _audit(actor, source, "legal_entity", entity.id, entity.client_id, "update",
                     "primary", None, entity.name)
    return entity


async def do_delete_legal_entity(actor: User, entity_id: int, *, source: str = "web"
                                 ) -> None:
    entity = await get_legal_entity(actor, entity_id)
    async with in_transaction():
        client_id, was_primary, name = entity.client_id, entity.is_primary, entity.name
        await entity.delete()
        if was_primary:
            oldest = await LegalEntity.filter(client_id=client_id).order_by("id").first()
            if oldest is not None:
                oldest.is_primary = True
                await oldest.save(update_fields=["is_primary"])
        await _audit(actor, source, "legal_entity", entity_id, client_id, "delete",
                     old=name)
        client = await get_client(actor, client_id)
        await _refresh_derived(client)
        await client.save()
