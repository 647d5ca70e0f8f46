"""The registry of marketing service suppliers (M-8).

* A supplier is a client in the role ``supplier`` (models.PartnerRole): its dossier is
  the client's card (contacts, documents, requisites). A client one sees is marked a
  supplier, or a new client is made one; removing the role archives it (marking again
  brings it back).
* A supplier's services (models.SupplierService) carry the price agreed (Decimal, a
  currency, agreed on, valid until); they are added, edited and archived.
* Figures, in SQL: the supplier's cost items per campaign (planned and actual) and how
  those campaigns did — contacts gained (distinct clients whose FIRST touch names the
  campaign) and the cost per contact (the campaign's actual costs, all suppliers', over
  its contacts).
* Who: every staff member reads the suppliers among the clients they see; admins and
  heads mark, unmark and edit the services, for the clients they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from models import (
    Attribution,
    Campaign,
    CampaignCost,
    Client,
    PartnerKind,
    PartnerRole,
    SupplierService,
    Touch,
    User,
)
from services.client_search import search_filter
from services.clients import do_create_client, get_client, visible_clients
from services.clock import utcnow
from services.deal_money import parse_amount
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head, require_staff
from services.price_admin import date_of

KIND = PartnerKind.MARKETING_SUPPLIER
CENT = Decimal("0.01")
CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")


async def candidates(actor: User, limit: int = 200) -> list[dict[str, Any]]:
    """The clients ``actor`` sees that are not suppliers now: whom to mark one."""
    qs = await visible_clients(actor)
    return await qs.exclude(id__in=Subquery(PartnerRole.filter(
        kind=KIND, archived_at=None).values("client_id"))).order_by("name").limit(
        limit).values("id", "name")


def may_manage(actor: User | None) -> bool:
    return is_admin_or_head(actor)


def _require_manager(actor: User) -> None:
    require_staff(actor)
    if not may_manage(actor):
        raise PermissionDenied("admins and heads keep the suppliers' registry")


# ---- the role -------------------------------------------------------------------------

async def role_of(client_id: int) -> PartnerRole | None:
    return await PartnerRole.get_or_none(client_id=client_id, kind=KIND)


async def do_mark_supplier(actor: User, client_id: int, note: str | None = None
                           ) -> PartnerRole:
    """The client becomes a supplier (again, if its role was archived)."""
    _require_manager(actor)
    client = await get_client(actor, client_id)
    note = (note or "").strip() or None
    if note and len(note) > 2000:
        raise ValidationFailed("note", N_("is too long"))
    async with in_transaction():
        role = await PartnerRole.filter(client_id=client.id, kind=KIND
                                        ).select_for_update().first()
        if role is None:
            role = await PartnerRole.create(client_id=client.id, kind=KIND,
                                            since=utcnow().date(), note=note)
        else:
            role.archived_at = None
            if note is not None:
                role.note = note
            await role.save()
    return role


async def do_create_supplier(actor: User, data: dict[str, Any], *, source: str = "web"
                             ) -> PartnerRole:
    """A new client (the usual client form's rules) made a supplier at once."""
    _require_manager(actor)
    async with in_transaction():
        result = await do_create_client(actor, data, source=source)
        role = await PartnerRole.create(client_id=result.client.id, kind=KIND,
                                        since=utcnow().date())
    return role


async def do_unmark_supplier(actor: User, client_id: int) -> PartnerRole:
    """Remove the role: archived, the services and figures stay for history."""
    _require_manager(actor)
    client = await get_client(actor, client_id, with_archived=True)
    role = await role_of(client.id)
    if role is None:
        raise NotFound("supplier")
    if role.archived_at is None:
        role.archived_at = utcnow()
        await role.save(update_fields=["archived_at", "updated_at"])
    return role


async def get_supplier(actor: User, client_id: int) -> tuple[Client, PartnerRole]:
    """A supplier ``actor`` sees (its client card may be archived: still readable)."""
    client = await get_client(actor, client_id, with_archived=True)
    role = await role_of(client.id)
    if role is None:
        raise NotFound("supplier")
    return client, role


@dataclass
class SupplierRow:
    client: Client
    role: PartnerRole
    services: int


async def list_suppliers(actor: User, *, q: str = "", archived: bool = False,
                         offset: int = 0, limit: int = 30) -> tuple[list[SupplierRow], int]:
    """The suppliers among the clients one sees, by name; ``archived``: those whose role
    was removed instead."""
    clients = await visible_clients(actor, archived=None)
    roles = PartnerRole.filter(kind=KIND, archived_at__isnull=not archived)
    qs = clients.filter(id__in=Subquery(roles.values("client_id")))
    q = " ".join((q or "").split())[:100]
    if q:
        found = search_filter(qs, q)
        qs = found if found is not None else qs.filter(name__icontains=q)
    total = await qs.count()
    page = await qs.order_by("name", "id").offset(max(0, offset)).limit(
        max(1, min(limit, 100)))
    ids = [c.id for c in page]
    role_by = {r.client_id: r for r in await PartnerRole.filter(kind=KIND, client_id__in=ids)}
    counts = dict(await SupplierService.filter(supplier_id__in=ids, archived=False).annotate(
        n=Count("id")).group_by("supplier_id").values_list("supplier_id", "n"))
    return [SupplierRow(c, role_by[c.id], int(counts.get(c.id, 0))) for c in page], total


# ---- services -------------------------------------------------------------------------

def _text(raw: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    text = " ".join(str(raw or "").split()) if limit <= 300 else str(raw or "").strip()
    if not text:
        if required:
            raise ValidationFailed(name, N_("is empty"))
        return None
    if len(text) > limit:
        raise ValidationFailed(name, N_("is longer than {max} characters"), max=limit)
    return text


def _clean_service(data: dict[str, Any], current: SupplierService | None = None
                   ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = _text(data.get("name"), "name", 200, required=True)
    if "unit" in data:
        out["unit"] = _text(data.get("unit"), "unit", 40)
    if "price" in data:
        try:
            out["price"] = parse_amount(data.get("price"))
        except ValidationFailed as exc:
            raise ValidationFailed("price", exc.template, **exc.params) from None
    if "currency" in data or current is None:
        currency = str(data.get("currency") or "RUB").strip().upper()
        if currency not in CURRENCIES:
            raise ValidationFailed("currency", N_("one of {codes}"),
                                   codes=", ".join(CURRENCIES))
        out["currency"] = currency
    for key in ("agreed_on", "valid_until"):
        if key in data:
            out[key] = date_of(data.get(key), key)
    if "note" in data:
        out["note"] = _text(data.get("note"), "note", 2000)
    agreed = out.get("agreed_on", current.agreed_on if current else None)
    until = out.get("valid_until", current.valid_until if current else None)
    if agreed and until and until < agreed:
        raise ValidationFailed("valid_until", N_("the end is before the start"))
    if "archived" in data:
        if not isinstance(data["archived"], bool):
            raise ValidationFailed("archived", N_("yes or no"))
        out["archived"] = data["archived"]
    return out


async def services_of(actor: User, client_id: int, *, archived: bool | None = None
                      ) -> list[SupplierService]:
    client, _role = await get_supplier(actor, client_id)
    qs = SupplierService.filter(supplier_id=client.id)
    if archived is not None:
        qs = qs.filter(archived=archived)
    return await qs.order_by("archived", "name", "id")


async def do_add_service(actor: User, client_id: int, data: dict[str, Any]
                         ) -> SupplierService:
    _require_manager(actor)
    client, role = await get_supplier(actor, client_id)
    if role.archived_at is not None:
        raise ValidationFailed("supplier", N_("the supplier is archived"))
    values = _clean_service(data)
    return await SupplierService.create(supplier_id=client.id, **values)


async def _service(actor: User, service_id: int) -> SupplierService:
    service = await SupplierService.get_or_none(id=service_id) \
        if 0 < service_id < 2**31 else None
    if service is None:
        raise NotFound("supplier service")
    await get_supplier(actor, service.supplier_id)  # one sees the supplier
    return service


async def get_service(actor: User, service_id: int) -> SupplierService:
    require_staff(actor)
    return await _service(actor, service_id)


async def do_update_service(actor: User, service_id: int, data: dict[str, Any]
                            ) -> SupplierService:
    _require_manager(actor)
    service = await _service(actor, service_id)
    for key, value in _clean_service(data, service).items():
        setattr(service, key, value)
    await service.save()
    return service


async def do_archive_service(actor: User, service_id: int, archived: bool = True
                             ) -> SupplierService:
    return await do_update_service(actor, service_id, {"archived": bool(archived)})


# ---- figures --------------------------------------------------------------------------

def _money(raw: Any) -> Decimal:
    return Decimal(str(raw or 0)).quantize(CENT)


@dataclass
class CampaignFigures:
    campaign_id: int
    name: str
    currency: str
    starts_on: date
    planned: Decimal          # this supplier's cost items, planned
    actual: Decimal           # this supplier's cost items, actual (none entered: 0)
    campaign_actual: Decimal  # every cost item of the campaign, actual
    contacts: int             # distinct clients whose first touch is this campaign
    per_contact: Decimal | None  # campaign_actual / contacts


@dataclass
class SupplierFigures:
    campaigns: list[CampaignFigures]
    planned: dict[str, Decimal]  # by currency
    actual: dict[str, Decimal]


async def figures(actor: User, client_id: int) -> SupplierFigures:
    """The supplier's costs per campaign and how those campaigns did (SQL sums)."""
    client, _role = await get_supplier(actor, client_id)
    own = await CampaignCost.filter(supplier_id=client.id).annotate(
        p=Sum("planned"), a=Sum("actual")).group_by("campaign_id").values(
        "campaign_id", "p", "a")
    ids = [r["campaign_id"] for r in own]
    totals = dict(await CampaignCost.filter(campaign_id__in=ids).annotate(
        a=Sum("actual")).group_by("campaign_id").values_list("campaign_id", "a")) \
        if ids else {}
    contacts = dict(await Attribution.filter(campaign_id__in=ids, touch=Touch.FIRST).annotate(
        n=Count("client_id", distinct=True)).group_by("campaign_id").values_list(
        "campaign_id", "n")) if ids else {}
    campaigns = {c["id"]: c for c in await Campaign.filter(id__in=ids).values(
        "id", "name", "currency", "starts_on")} if ids else {}
    rows = []
    planned: dict[str, Decimal] = {}
    actual: dict[str, Decimal] = {}
    for r in own:
        c = campaigns[r["campaign_id"]]
        total = _money(totals.get(c["id"]))
        n = int(contacts.get(c["id"], 0))
        row = CampaignFigures(c["id"], c["name"], c["currency"], c["starts_on"],
                              _money(r["p"]), _money(r["a"]), total, n,
                              (total / n).quantize(CENT) if n else None)
        rows.append(row)
        planned[row.currency] = planned.get(row.currency, Decimal(0)) + row.planned
        actual[row.currency] = actual.get(row.currency, Decimal(0)) + row.actual
    rows.sort(key=lambda x: (x.starts_on, x.campaign_id), reverse=True)
    return SupplierFigures(rows, planned, actual)
