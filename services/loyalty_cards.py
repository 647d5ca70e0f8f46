"""Loyalty cards (U-9): issuing, editing, blocking and archiving a card, finding
cards, a card with its balance. The rules are in :mod:`services.loyalty`; the points
in :mod:`services.loyalty_points`.

* **A number** is typed (4..20 letters, digits and dashes; kept in capitals; unique
  among all cards, archived ones too) or, left empty, made from the card's id: eight
  digits ("00000042"), with a suffix if someone typed that number before.
* **One current card per client**: a second is refused until the first is archived.
* A card's tier is worked out when it is issued (the client's spend, as in the nightly
  recalculation).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from models import AuditLog, LoyaltyCard, LoyaltyMove, User
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed

NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,18}[A-Z0-9]$")
MAX_PAGE = 100


@dataclass
class CardView:
    card: LoyaltyCard
    balance: int


def clean_number(raw: Any) -> str | None:
    text = "".join(str(raw or "").split()).upper()
    if not text:
        return None
    if not NUMBER.match(text):
        raise ValidationFailed("number", N_("4 to 20 letters, digits and dashes"))
    return text


async def _number_free(number: str, but: int | None = None) -> None:
    qs = LoyaltyCard.filter(number=number)
    if but is not None:
        qs = qs.exclude(id=but)
    if await qs.exists():
        raise ValidationFailed("number", N_("a card with the number {number} exists "
                                            "already"), number=number)


async def balance(card_id: int) -> int:
    row = await LoyaltyMove.filter(card_id=card_id).annotate(s=Sum("points")).first(
        ).values("s")
    return int((row or {}).get("s") or 0)


async def balances(card_ids: list[int]) -> dict[int, int]:
    if not card_ids:
        return {}
    rows = await LoyaltyMove.filter(card_id__in=card_ids).annotate(s=Sum("points")).group_by(
        "card_id").values("card_id", "s")
    out = dict.fromkeys(card_ids, 0)
    out.update({r["card_id"]: int(r["s"] or 0) for r in rows})
    return out


async def get_card(actor: User, card_id: int, *, archived: bool = True) -> LoyaltyCard:
    """A card of a client ``actor`` sees (A-3)."""
    from services.clients import visible_filter

    qs = LoyaltyCard.filter(await visible_filter(actor), id=card_id)
    if not archived:
        qs = qs.filter(archived=False)
    card = await qs.select_related("client", "tier").first()
    if card is None:
        raise NotFound("loyalty card")
    return card


async def card_view(actor: User, card_id: int) -> CardView:
    card = await get_card(actor, card_id)
    return CardView(card, await balance(card.id))


async def client_card(actor: User, client_id: int) -> CardView | None:
    """The client's current card with its balance, if it has one (the client's card
    pages show it)."""
    from services.clients import get_client

    await get_client(actor, client_id, with_archived=True)
    card = await LoyaltyCard.filter(client_id=client_id, archived=False).select_related(
        "tier").first()
    return None if card is None else CardView(card, await balance(card.id))


async def list_cards(actor: User, *, q: str | None = None, archived: bool = False,
                     offset: int = 0, limit: int = 30) -> tuple[list[CardView], int]:
    """The cards of the clients ``actor`` sees, newest first; ``q`` finds a part of the
    number or the client's name."""
    from services.clients import visible_filter

    limit = max(1, min(int(limit), MAX_PAGE))
    qs = LoyaltyCard.filter(await visible_filter(actor), archived=archived)
    text = " ".join(str(q or "").split())[:100]
    if text:
        qs = qs.filter(Q(number__icontains=text) | Q(client__name__icontains=text))
    total = await qs.count()
    cards = await qs.order_by("-id").offset(max(0, int(offset))).limit(limit).select_related(
        "client", "tier")
    sums = await balances([c.id for c in cards])
    return [CardView(c, sums[c.id]) for c in cards], total


def audit(actor: User | None, card: LoyaltyCard, field: str, old: Any, new: Any, *,
          source: str, action: str = "update") -> AuditLog:
    return AuditLog(user_id=actor.id if actor else None, source=source[:16],
                    entity="loyalty_card", object_id=card.id, client_id=card.client_id,
                    action=action, field=field,
                    old_value=None if old is None else str(old),
                    new_value=None if new is None else str(new))


async def do_issue(actor: User, data: dict[str, Any], *, source: str = "web") -> LoyaltyCard:
    """A new card for ``client_id`` (a ``number`` typed, or made)."""
    from services import loyalty_run
    from services.clients import get_client

    if not data.get("client_id"):
        raise ValidationFailed("client_id", N_("is required"))
    try:
        client_id = int(data["client_id"])
    except (TypeError, ValueError):
        raise ValidationFailed("client_id", N_("choose a value from the list")) from None
    client = await get_client(actor, client_id)
    number = clean_number(data.get("number"))
    if await LoyaltyCard.exists(client_id=client.id, archived=False):
        raise ValidationFailed("client_id", N_("the client has a loyalty card already"))
    if number is not None:
        await _number_free(number)
    try:
        async with in_transaction():
            card = await LoyaltyCard.create(number=number or secrets.token_hex(8),
                                            client_id=client.id, issued_at=utcnow(),
                                            issued_by_id=actor.id)
            if number is None:
                made = f"{card.id:08d}"
                if await LoyaltyCard.exists(number=made):
                    made = f"{made}-{secrets.randbelow(1000):03d}"
                card.number = made
                await LoyaltyCard.filter(id=card.id).update(number=made)
            await audit(actor, card, "loyalty_card", None, card.number, source=source,
                        action="create").save()
    except IntegrityError:
        raise ValidationFailed("number", N_("a card with the number {number} exists "
                                            "already"), number=number or "") from None
    await loyalty_run.recalculate(None, source=source, card_ids=[card.id])
    return await get_card(actor, card.id)


async def do_update(actor: User, card_id: int, data: dict[str, Any], *,
                    source: str = "web") -> LoyaltyCard:
    """Change a card's ``number`` and/or ``blocked``."""
    card = await get_card(actor, card_id, archived=False)
    rows: list[AuditLog] = []
    changes: dict[str, Any] = {}
    if "number" in data:
        number = clean_number(data.get("number"))
        if number is None:
            raise ValidationFailed("number", N_("is required"))
        if number != card.number:
            await _number_free(number, but=card.id)
            changes["number"] = number
            rows.append(audit(actor, card, "loyalty_card", card.number, number,
                              source=source))
    if "blocked" in data and data["blocked"] is not None and \
            bool(data["blocked"]) != card.blocked:
        changes["blocked"] = bool(data["blocked"])
        rows.append(audit(actor, card, "loyalty_blocked", card.blocked, changes["blocked"],
                          source=source))
    if changes:
        try:
            async with in_transaction():
                await LoyaltyCard.filter(id=card.id).update(updated_at=utcnow(), **changes)
                await AuditLog.bulk_create(rows)
        except IntegrityError:
            raise ValidationFailed("number", N_("a card with the number {number} exists "
                                                "already"), number=changes.get("number", ""))
    return await get_card(actor, card.id)


async def do_archive(actor: User, card_id: int, *, source: str = "web") -> LoyaltyCard:
    """Archive a card (its points stay in its ledger; the client may get a new card)."""
    card = await get_card(actor, card_id)
    if not card.archived:
        async with in_transaction():
            await LoyaltyCard.filter(id=card.id).update(archived=True, updated_at=utcnow())
            await audit(actor, card, "loyalty_card", card.number, None, source=source,
                        action="delete").save()
    return await get_card(actor, card.id)
