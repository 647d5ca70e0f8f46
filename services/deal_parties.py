"""The deal's environment (U-4): the people and companies around a deal, their role
(decision maker, influencer, user, competitor, subcontractor, partner, dealer) and
stance, and who influences whom.

* A party is a client from the base (competitors, subcontractors and partners are
  companies: they must be), a contact person of the deal's client, or only a name.
* Whoever may change the deal changes its environment; a client named as a party must
  be one the person sees. Every change is in the deal's history.
* The dealer (M-7) is an active dealer's client, at most one per deal
  (services.dealers); any active dealer may be named, seen or not.
* Links join two parties of the same deal, one kind at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import (
    AuditLog,
    ContactPerson,
    DealParty,
    DealPartyLink,
    PartyLinkKind,
    PartyRole,
    Stance,
    User,
)
from services.deals import get_deal
from services.errors import N_, NotFound, ValidationFailed

COMPANY_ROLES = (PartyRole.COMPETITOR, PartyRole.SUBCONTRACTOR, PartyRole.PARTNER)
MAX_PARTIES = 100


@dataclass
class Environment:
    parties: list[DealParty]
    links: list[DealPartyLink]


async def environment(actor: User, deal_id: int) -> Environment:
    deal = await get_deal(actor, deal_id)
    parties = await DealParty.filter(deal_id=deal.id).order_by("role", "id").prefetch_related(
        "client", "contact")
    links = await DealPartyLink.filter(source__deal_id=deal.id).order_by("id")
    return Environment(list(parties), list(links))


async def _values(actor: User, deal, data: dict[str, Any], party: DealParty | None
                  ) -> dict[str, Any]:
    from services.clients import get_client

    out: dict[str, Any] = {}
    role = data.get("role", party.role if party else None)
    if role not in PartyRole.__members__.values():
        raise ValidationFailed("role", N_("choose a value from the list"))
    out["role"] = PartyRole(role)
    stance = data.get("stance", party.stance if party else Stance.UNKNOWN)
    if stance not in Stance.__members__.values():
        raise ValidationFailed("stance", N_("choose a value from the list"))
    out["stance"] = Stance(stance)
    client_id = data.get("client_id", party.client_id if party else None)
    contact_id = data.get("contact_id", party.contact_id if party else None)
    name = " ".join(str(data.get("name", party.name if party else "") or "").split()) or None
    if name and len(name) > 200:
        raise ValidationFailed("name", N_("is longer than {max} characters"), max=200)
    if client_id is not None:
        if client_id == deal.client_id:
            raise ValidationFailed("client_id", N_("the deal's own client is not a party "
                                                   "around it"))
        if out["role"] != PartyRole.DEALER:  # M-7: any active dealer may be chosen
            await get_client(actor, int(client_id))
    if out["role"] == PartyRole.DEALER:
        from services.dealers import check_dealer_party

        await check_dealer_party(deal.id, client_id, party.id if party else None)
    if contact_id is not None and not await ContactPerson.filter(
            id=contact_id, client_id=deal.client_id, archived_at=None).exists():
        raise ValidationFailed("contact_id", N_("not a contact person of this client"))
    if out["role"] in COMPANY_ROLES and client_id is None:
        raise ValidationFailed("client_id", N_("choose the company from your clients"))
    if client_id is None and contact_id is None and not name:
        raise ValidationFailed("name", N_("choose a client or a contact person, or type a "
                                          "name"))
    note = str(data.get("note", party.note if party else "") or "").strip() or None
    if note and len(note) > 2000:
        raise ValidationFailed("note", N_("is longer than {max} characters"), max=2000)
    out.update(client_id=client_id, contact_id=contact_id, name=name, note=note)
    return out


async def do_add_party(actor: User, deal_id: int, data: dict[str, Any], *,
                       source: str = "web") -> DealParty:
    deal = await get_deal(actor, deal_id)
    if await DealParty.filter(deal_id=deal.id).count() >= MAX_PARTIES:
        raise ValidationFailed("parties", N_("at most {max} people"), max=MAX_PARTIES)
    values = await _values(actor, deal, data, None)
    party = await DealParty.create(deal_id=deal.id, **values)
    await _audit(actor, source, deal, "create", values["role"], _who(values))
    return party


async def _party(actor: User, party_id: int, deal_id: int | None = None
                 ) -> tuple[Any, DealParty]:
    """The party and its deal; "not found" when the person does not see the deal, or
    (``deal_id`` given) the party is around another deal."""
    party = await DealParty.get_or_none(id=party_id)
    if party is None or (deal_id is not None and party.deal_id != deal_id):
        raise NotFound("party")
    try:
        deal = await get_deal(actor, party.deal_id)
    except NotFound:
        raise NotFound("party") from None
    return deal, party


async def do_update_party(actor: User, party_id: int, data: dict[str, Any], *,
                          source: str = "web", deal_id: int | None = None) -> DealParty:
    deal, party = await _party(actor, party_id, deal_id)
    values = await _values(actor, deal, data, party)
    await DealParty.filter(id=party.id).update(**values)
    await _audit(actor, source, deal, "update", values["role"], _who(values))
    return await DealParty.get(id=party.id)


async def do_remove_party(actor: User, party_id: int, *, source: str = "web",
                          deal_id: int | None = None) -> None:
    deal, party = await _party(actor, party_id, deal_id)
    await party.delete()
    await _audit(actor, source, deal, "delete", party.role, _who(
        {"client_id": party.client_id, "contact_id": party.contact_id, "name": party.name}))


async def do_link(actor: User, source_id: int, target_id: int, kind: str, *,
                  source: str = "web", deal_id: int | None = None) -> DealPartyLink:
    """``deal_id`` given (the API's deal): that deal must be seen ("not found"), and
    both parties around it, else the field is refused."""
    if deal_id is not None:
        await get_deal(actor, deal_id)
    ends = []
    for field_name, party_id in (("source_id", source_id), ("target_id", target_id)):
        try:
            ends.append(await _party(actor, party_id, deal_id))
        except NotFound:
            if deal_id is None:
                raise
            raise ValidationFailed(field_name, N_("choose someone around this deal")) \
                from None
    (deal, one), (_, other) = ends
    if one.deal_id != other.deal_id:
        raise ValidationFailed("target_id", N_("both must be around the same deal"))
    if one.id == other.id:
        raise ValidationFailed("target_id", N_("choose someone else"))
    if kind not in PartyLinkKind.__members__.values():
        raise ValidationFailed("kind", N_("choose a value from the list"))
    link, _ = await DealPartyLink.get_or_create(source_id=one.id, target_id=other.id,
                                                kind=PartyLinkKind(kind))
    return link


async def do_unlink(actor: User, link_id: int, *, deal_id: int | None = None) -> None:
    link = await DealPartyLink.get_or_none(id=link_id)
    if link is None:
        raise NotFound("link")
    try:
        await _party(actor, link.source_id, deal_id)
    except NotFound:
        raise NotFound("link") from None
    await link.delete()


def _who(values: dict[str, Any]) -> str:
    if values.get("name"):
        return str(values["name"])
    if values.get("client_id"):
        return f"client:{values['client_id']}"
    return f"contact:{values.get('contact_id')}"


async def _audit(actor: User, source: str, deal, action: str, role: str, who: str) -> None:
    await AuditLog.create(user_id=actor.id, source=source, entity="deal_party",
                          object_id=deal.id, client_id=deal.client_id, action=action,
                          field=str(role), new_value=who)
