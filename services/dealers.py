"""Dealers (M-7): clients in the dealer role and the deals that came through them.

Rules:

* A dealer is a client with a :class:`~models.PartnerRole` of kind ``dealer``; the role
  is *active* while not archived. Every active staff member sees the dealers list and a
  dealer's scorecard (the dealers are the company's partners); only admins and heads
  manage the role (mark, create a client as a dealer, archive, restore, edit the date
  since, the note and the grade). A head or an admin marks a client they see.
* A deal came through a dealer when it has a party in the role ``dealer`` (PartyRole);
  at most one per deal, and its client must be an active dealer. Whoever may change
  the deal sets or clears its dealer (a manager need not see the dealer's own card:
  any active dealer may be chosen). The orders of such a deal came through the dealer.
* Archiving the role keeps the deals' dealer parties (the history stays); an archived
  dealer cannot be chosen for a deal again until restored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    Client,
    DealParty,
    PartnerKind,
    PartnerRole,
    PartyRole,
    User,
)
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head, require_staff

GRADES = ("A", "B", "C")
MAX_NOTE = 2000


def may_manage(actor: User | None) -> bool:
    """Heads and admins manage dealers; every active staff member sees them."""
    return is_admin_or_head(actor)


def require_manager(actor: User | None) -> User:
    require_staff(actor)
    if not may_manage(actor):
        raise PermissionDenied("dealers are managed by heads and admins")
    return actor


async def dealer_role(client_id: int, *, active_only: bool = False) -> PartnerRole | None:
    qs = PartnerRole.filter(client_id=client_id, kind=PartnerKind.DEALER)
    if active_only:
        qs = qs.filter(archived_at=None)
    return await qs.first()


async def get_dealer(actor: User, client_id: int) -> PartnerRole:
    """A dealer's role with its client (archived ones too), for any staff member."""
    require_staff(actor)
    role = await PartnerRole.filter(client_id=client_id, kind=PartnerKind.DEALER,
                                    client__archived_at=None).select_related("client").first()
    if role is None:
        raise NotFound("dealer")
    return role


async def active_dealers(actor: User, query: str = "", *, limit: int = 50
                         ) -> list[PartnerRole]:
    """The dealers a deal may be given (a picker), by name."""
    require_staff(actor)
    qs = PartnerRole.filter(kind=PartnerKind.DEALER, archived_at=None,
                            client__archived_at=None)
    if query.strip():
        qs = qs.filter(client__name__icontains=query.strip())
    return await qs.select_related("client").order_by("client__name").limit(limit)


def day_of(raw: Any, name: str) -> date | None:
    """A date as an input of type date sends it (ISO) or as people write it
    (31.12.2025); empty: None."""
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    try:
        if "." in text:
            day, month, year = (int(x) for x in text.split("."))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(name, N_("a date like 31.12.2025")) from None


def _since(raw: Any) -> date | None:
    return day_of(raw, "since")


def _note(raw: Any) -> str | None:
    note = str(raw or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise ValidationFailed("note", N_("is longer than {max} characters"), max=MAX_NOTE)
    return note


async def _audit(actor: User, source: str, client_id: int, action: str, field: str,
                 new: Any = None, old: Any = None) -> None:
    await AuditLog.create(user_id=actor.id, source=source, entity="dealer",
                          object_id=client_id, client_id=client_id, action=action,
                          field=field, old_value=None if old is None else str(old),
                          new_value=None if new is None else str(new))


async def do_mark_dealer(actor: User, client_id: int, data: dict[str, Any] | None = None, *,
                         source: str = "web") -> PartnerRole:
    """The client becomes a dealer (an archived role is restored). Idempotent."""
    from services.clients import get_client

    require_manager(actor)
    data = data or {}
    client = await get_client(actor, client_id)
    since = _since(data.get("since")) if "since" in data else None
    note = _note(data.get("note")) if "note" in data else None
    role = await dealer_role(client.id)
    if role is None:
        try:
            role = await PartnerRole.create(client_id=client.id, kind=PartnerKind.DEALER,
                                            since=since or utcnow().date(), note=note)
        except IntegrityError:  # marked meanwhile
            role = await dealer_role(client.id)
        await _audit(actor, source, client.id, "create", "dealer", new=client.name)
    elif role.archived_at is not None:
        role.archived_at = None
        await role.save(update_fields=["archived_at", "updated_at"])
        await _audit(actor, source, client.id, "restore", "dealer", new=client.name)
    return role


async def do_create_dealer(actor: User, data: dict[str, Any], *, source: str = "web",
                           region: str = "RU") -> PartnerRole:
    """A new client, made a dealer at once (the client's own fields as in
    services.clients.do_create_client, plus ``since`` and ``note``)."""
    from services.clients import do_create_client

    require_manager(actor)
    extra = {k: data[k] for k in ("since", "note") if k in data}
    for key, check in (("since", _since), ("note", _note)):
        if key in extra:
            check(extra[key])  # refused before the client is made
    client_data = {k: v for k, v in data.items() if k not in ("since", "note")}
    async with in_transaction():
        result = await do_create_client(actor, client_data, source=source, region=region)
        return await do_mark_dealer(actor, result.client.id, extra, source=source)


async def do_archive_dealer(actor: User, client_id: int, archived: bool = True, *,
                            source: str = "web") -> PartnerRole:
    require_manager(actor)
    role = await get_dealer(actor, client_id)
    if archived and role.archived_at is None:
        role.archived_at = utcnow()
    elif not archived:
        role.archived_at = None
    else:
        return role
    await role.save(update_fields=["archived_at", "updated_at"])
    await _audit(actor, source, client_id, "archive" if archived else "restore", "dealer")
    return role


async def do_update_dealer(actor: User, client_id: int, data: dict[str, Any], *,
                           source: str = "web") -> PartnerRole:
    """``since``, ``note``; ``grade`` one of A, B, C sets it by hand (it stays until
    reset), ``grade`` None or "auto" hands it back to the numbers (computed at once)."""
    require_manager(actor)
    role = await get_dealer(actor, client_id)
    fields_changed: list[str] = []
    if "since" in data:
        role.since = _since(data["since"])
        fields_changed.append("since")
    if "note" in data:
        role.note = _note(data["note"])
        fields_changed.append("note")
    regrade = False
    if "grade" in data:
        grade = data["grade"]
        if grade in (None, "", "auto"):
            role.grade_manual = False
            regrade = True
        elif grade in GRADES:
            old = role.grade
            role.grade, role.grade_manual, role.graded_at = grade, True, utcnow()
            await _audit(actor, source, client_id, "update", "grade", new=grade, old=old)
        else:
            raise ValidationFailed("grade", N_("choose a value from the list"))
        fields_changed += ["grade", "grade_manual", "graded_at"]
    if fields_changed:
        await role.save(update_fields=[*dict.fromkeys(fields_changed), "updated_at"])
    if regrade:
        from services.dealer_grades import grade_dealers

        await grade_dealers(client_ids=[client_id])
        await role.refresh_from_db()
    return role


# ---- a deal's dealer ------------------------------------------------------------------

async def check_dealer_party(deal_id: int, client_id: Any, party_id: int | None = None
                             ) -> None:
    """A dealer party of a deal: an active dealer's client, one per deal
    (services.deal_parties asks this for the role ``dealer``)."""
    if client_id is None or not await PartnerRole.filter(
            client_id=int(client_id), kind=PartnerKind.DEALER, archived_at=None,
            client__archived_at=None).exists():
        raise ValidationFailed("client_id", N_("choose a dealer from the list"))
    other = DealParty.filter(deal_id=deal_id, role=PartyRole.DEALER)
    if party_id is not None:
        other = other.exclude(id=party_id)
    if await other.exists():
        raise ValidationFailed("role", N_("a deal has at most one dealer"))


async def deal_dealer(deal_id: int) -> DealParty | None:
    return await DealParty.filter(deal_id=deal_id, role=PartyRole.DEALER).select_related(
        "client").first()


async def deal_dealers(deal_ids: list[int]) -> dict[int, Client]:
    """Each deal's dealer client, for a list (one query)."""
    if not deal_ids:
        return {}
    parties = await DealParty.filter(deal_id__in=list(deal_ids), role=PartyRole.DEALER
                                     ).select_related("client")
    return {p.deal_id: p.client for p in parties if p.client is not None}


async def do_set_deal_dealer(actor: User, deal_id: int, client_id: int | None, *,
                             source: str = "web") -> DealParty | None:
    """The deal's dealer becomes ``client_id`` (an active dealer), or none (None)."""
    from services.deal_parties import _audit as party_audit
    from services.deals import get_deal

    deal = await get_deal(actor, deal_id)
    current = await DealParty.filter(deal_id=deal.id, role=PartyRole.DEALER).first()
    if client_id is None:
        if current is not None:
            await current.delete()
            await party_audit(actor, source, deal, "delete", PartyRole.DEALER,
                              f"client:{current.client_id}")
        return None
    if int(client_id) == deal.client_id:
        raise ValidationFailed("client_id", N_("the deal's own client is not a party "
                                               "around it"))
    await check_dealer_party(deal.id, client_id, current.id if current else None)
    if current is not None:
        if current.client_id == int(client_id):
            return current
        current.client_id = int(client_id)
        await current.save(update_fields=["client_id"])
        await party_audit(actor, source, deal, "update", PartyRole.DEALER,
                          f"client:{client_id}")
        return current
    party = await DealParty.create(deal_id=deal.id, client_id=int(client_id),
                                   role=PartyRole.DEALER)
    await party_audit(actor, source, deal, "create", PartyRole.DEALER, f"client:{client_id}")
    return party
