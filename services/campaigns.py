"""Marketing campaigns (K-10, K-12): campaigns, their variants, cost items and the
mailings they sent. The figures (plan vs fact, contacts, deals, ROI) are in
:mod:`services.campaign_figures`.

Rules:

* **Who**: every active staff member sees the campaigns (read only); admins and heads
  make, change, archive, restore and delete them, their variants, costs and mailing
  links (``Action.MANAGE_CAMPAIGNS``).
* **A campaign**: a name (up to 200 characters), a start date, an end date not before
  it (or none: open-ended), a budget ≥ 0 in its currency (one of services.deals
  CURRENCIES), a state (planned, running, finished), optionally the segment it targets
  and a description. Archived campaigns are hidden from the list unless asked and may be
  restored. A campaign is **deleted** only when nothing (client, lead, deal) is
  attributed to it; otherwise the answer is to archive it.
* **A variant**: a name, a channel (:class:`models.VariantChannel`), the creative, a
  region and an ad source (items of the ``region`` and ``ad_source`` dictionaries), a
  promo code (letters, digits, ``-`` and ``_``; upper-cased; unique among all the
  variants), a landing URL (http or https with a host), a budget ≥ 0. Each variant gets a
  tracked-link token (``secrets.token_urlsafe``) when made. A variant is archived (or
  restored), and deleted only when nothing is attributed to it.
* **A cost item**: a name, planned ≥ 0, actual ≥ 0 or empty (not spent yet), the date
  spent, a variant of the same campaign, a supplier (a client in the marketing supplier
  role — any client while no client has that role), one of the supplier's services,
  quantity ≥ 0, the supplier's invoice number and date (a service chosen without a
  supplier names its supplier).
* **A mailing** (K-16) is linked to a campaign (and one of its variants) once.
* Every wrong value is a :class:`ValidationFailed` naming its field.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (
    Attribution,
    Campaign,
    CampaignCost,
    CampaignMailing,
    CampaignState,
    CampaignVariant,
    Client,
    DictionaryItem,
    Mailing,
    PartnerKind,
    PartnerRole,
    Segment,
    SupplierService,
    User,
    VariantChannel,
)
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import Action, can, require_staff

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999")
CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")  # services.deals.CURRENCIES
PROMO_RE = re.compile(r"^[A-Z0-9_-]{2,40}$")
MAX_ID = 2**31 - 1


# --- who ---------------------------------------------------------------------------
async def may_manage(actor: User | None) -> bool:
    return await can(actor, Action.MANAGE_CAMPAIGNS)


async def require_manage(actor: User | None) -> User:
    require_staff(actor)
    if not await may_manage(actor):
        raise PermissionDenied("only admins and heads manage campaigns",
                               action=str(Action.MANAGE_CAMPAIGNS))
    return actor


# --- values --------------------------------------------------------------------------
def text(raw: Any, name: str, limit: int, *, required: bool = False) -> str | None:
    value = " ".join(str(raw or "").split()) if limit <= 500 else str(raw or "").strip()
    if not value:
        if required:
            raise ValidationFailed(name, N_("is empty"))
        return None
    if len(value) > limit:
        raise ValidationFailed(name, N_("is longer than {max} characters"), max=limit)
    return value


def amount(raw: Any, name: str, *, required: bool = True) -> Decimal | None:
    """A sum ≥ 0 as typed ("1 500,50"), to kopecks; empty is None (or 0 if required)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal(0) if required else None
    try:
        if isinstance(raw, bool):
            raise InvalidOperation
        value = Decimal(str(raw).strip().replace(" ", "").replace("\u00a0", "")
                        .replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(name, N_("«{value}» is not a number"),
                               value=str(raw)[:20]) from None
    if not value.is_finite() or value < 0 or value > MAX_MONEY:
        raise ValidationFailed(name, N_("from {low} to {high}"), low="0", high=str(MAX_MONEY))
    return value.quantize(CENT)


def day(raw: Any, name: str, *, required: bool = False) -> date | None:
    """A date as ISO (an input of type date) or as people write it (dd.mm.yyyy)."""
    if raw is None or raw == "":
        if required:
            raise ValidationFailed(name, N_("is empty"))
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    s = str(raw).strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", s):
            d, m, y = (int(x) for x in s.split("."))
            return date(y, m, d)
        return date.fromisoformat(s)
    except ValueError:
        raise ValidationFailed(name, N_("«{value}» is not a date"), value=s[:40]) from None


def ident(raw: Any, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed(name, N_("choose a value from the list")) from None
    if not 1 <= value <= MAX_ID:
        raise ValidationFailed(name, N_("choose a value from the list"))
    return value


def _choice(raw: Any, name: str, enum: type) -> Any:
    try:
        return enum(str(raw))
    except ValueError:
        raise ValidationFailed(name, N_("choose a value from the list")) from None


def running_in(year: int) -> Q:
    """A campaign runs during ``year``: it starts by its end and has not ended before
    its start (no end date: runs on)."""
    return Q(starts_on__lte=date(year, 12, 31)) & (
        Q(ends_on__isnull=True) | Q(ends_on__gte=date(year, 1, 1)))


# --- campaigns ---------------------------------------------------------------------
async def get_campaign(actor: User, campaign_id: int) -> Campaign:
    require_staff(actor)
    found = await Campaign.get_or_none(id=campaign_id).prefetch_related("segment")
    if found is None:
        raise NotFound("campaign")
    return found


async def list_campaigns(actor: User, *, year: int | None = None, state: str | None = None,
                         archived: bool = False) -> list[Campaign]:
    """The campaigns running at some time of ``year`` (any year when None), newest
    start first; archived ones only when ``archived``."""
    require_staff(actor)
    qs = Campaign.filter(archived_at__isnull=not archived)
    if year is not None:
        qs = qs.filter(running_in(year))
    if state:
        qs = qs.filter(state=_choice(state, "state", CampaignState))
    return await qs.order_by("-starts_on", "name", "id")


async def _campaign_values(actor: User, data: dict[str, Any], current: Campaign | None
                           ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = text(data.get("name"), "name", 200, required=True)
    if "description" in data:
        out["description"] = text(data.get("description"), "description", 5000)
    if "starts_on" in data or current is None:
        out["starts_on"] = day(data.get("starts_on"), "starts_on", required=True)
    if "ends_on" in data:
        out["ends_on"] = day(data.get("ends_on"), "ends_on")
    if "budget" in data:
        out["budget"] = amount(data.get("budget"), "budget")
    if "currency" in data and data["currency"] not in (None, ""):
        currency = str(data["currency"]).upper()
        if currency not in CURRENCIES:
            raise ValidationFailed("currency", N_("choose one of: {choices}"),
                                   choices=", ".join(CURRENCIES))
        out["currency"] = currency
    if "state" in data and data["state"] not in (None, ""):
        out["state"] = _choice(data["state"], "state", CampaignState)
    if "segment_id" in data:
        sid = ident(data.get("segment_id"), "segment_id")
        if sid is not None and not await Segment.exists(id=sid):
            raise ValidationFailed("segment_id", N_("choose a value from the list"))
        out["segment_id"] = sid
    starts = out.get("starts_on", current.starts_on if current else None)
    ends = out.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        raise ValidationFailed("ends_on", N_("is before the start"))
    return out


async def do_create_campaign(actor: User, data: dict[str, Any]) -> Campaign:
    await require_manage(actor)
    values = await _campaign_values(actor, data, None)
    return await Campaign.create(owner_id=actor.id, department_id=actor.department_id,
                                 **values)


async def do_update_campaign(actor: User, campaign_id: int, data: dict[str, Any]) -> Campaign:
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    values = await _campaign_values(actor, data, campaign)
    if values:
        await Campaign.filter(id=campaign.id).update(**values)
    return await get_campaign(actor, campaign_id)


async def do_archive_campaign(actor: User, campaign_id: int, archived: bool = True
                              ) -> Campaign:
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    campaign.archived_at = utcnow() if archived else None
    await campaign.save(update_fields=["archived_at", "updated_at"])
    return campaign


async def attributed_count(*, campaign_id: int | None = None,
                           variant_id: int | None = None) -> int:
    qs = Attribution.filter(campaign_id=campaign_id) if campaign_id is not None \
        else Attribution.filter(variant_id=variant_id)
    return await qs.count()


async def do_delete_campaign(actor: User, campaign_id: int) -> None:
    """Deletes a campaign with nothing attributed to it (its variants, costs and
    mailing links go with it); otherwise says to archive it."""
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    if await attributed_count(campaign_id=campaign.id):
        raise ValidationFailed("campaign", N_("clients, leads or deals are attributed to "
                                              "it: archive it instead"))
    await campaign.delete()


# --- variants ----------------------------------------------------------------------
async def get_variant(actor: User, campaign_id: int, variant_id: int) -> CampaignVariant:
    require_staff(actor)
    found = await CampaignVariant.get_or_none(id=variant_id, campaign_id=campaign_id)
    if found is None:
        raise NotFound("campaign variant")
    return found


async def _dictionary_item(raw: Any, name: str, code: str) -> int | None:
    item_id = ident(raw, name)
    if item_id is not None and not await DictionaryItem.exists(
            id=item_id, dictionary__code=code):
        raise ValidationFailed(name, N_("choose a value from the list"))
    return item_id


def landing(raw: Any) -> str | None:
    url = text(raw, "landing_url", 500)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise ValidationFailed("landing_url", N_("is not a web address (http:// or "
                                                 "https://)"))
    return url


async def _variant_values(data: dict[str, Any], current: CampaignVariant | None
                          ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        out["name"] = text(data.get("name"), "name", 200, required=True)
    if "channel" in data and data["channel"] not in (None, ""):
        out["channel"] = _choice(data["channel"], "channel", VariantChannel)
    if "creative" in data:
        out["creative"] = text(data.get("creative"), "creative", 5000)
    if "region_id" in data:
        out["region_id"] = await _dictionary_item(data.get("region_id"), "region_id", "region")
    if "ad_source_id" in data:
        out["ad_source_id"] = await _dictionary_item(data.get("ad_source_id"),
                                                     "ad_source_id", "ad_source")
    if "promo_code" in data:
        code = "".join(str(data.get("promo_code") or "").split()).upper() or None
        if code is not None:
            if not PROMO_RE.fullmatch(code):
                raise ValidationFailed("promo_code", N_("2 to 40 letters, digits, - or _"))
            clash = CampaignVariant.filter(promo_code=code)
            if current is not None:
                clash = clash.exclude(id=current.id)
            if await clash.exists():
                raise ValidationFailed("promo_code", N_("another variant has this promo "
                                                        "code"))
        out["promo_code"] = code
    if "landing_url" in data:
        out["landing_url"] = landing(data.get("landing_url"))
    if "budget" in data:
        out["budget"] = amount(data.get("budget"), "budget")
    return out


async def do_create_variant(actor: User, campaign_id: int, data: dict[str, Any]
                            ) -> CampaignVariant:
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    values = await _variant_values(data, None)
    for _ in range(5):
        try:
            return await CampaignVariant.create(campaign=campaign,
                                                link_token=secrets.token_urlsafe(12),
                                                **values)
        except IntegrityError:
            if values.get("promo_code") and await CampaignVariant.exists(
                    promo_code=values["promo_code"]):
                raise ValidationFailed("promo_code", N_("another variant has this promo "
                                                        "code")) from None
    raise RuntimeError("no free link token")  # pragma: no cover


async def do_update_variant(actor: User, campaign_id: int, variant_id: int,
                            data: dict[str, Any]) -> CampaignVariant:
    await require_manage(actor)
    variant = await get_variant(actor, campaign_id, variant_id)
    values = await _variant_values(data, variant)
    if "archived" in data:
        values["archived"] = bool(data["archived"])
    if values:
        try:
            await CampaignVariant.filter(id=variant.id).update(**values)
        except IntegrityError:
            raise ValidationFailed("promo_code", N_("another variant has this promo "
                                                    "code")) from None
    return await get_variant(actor, campaign_id, variant_id)


async def do_archive_variant(actor: User, campaign_id: int, variant_id: int,
                             archived: bool = True) -> CampaignVariant:
    return await do_update_variant(actor, campaign_id, variant_id, {"archived": archived})


async def do_delete_variant(actor: User, campaign_id: int, variant_id: int) -> None:
    await require_manage(actor)
    variant = await get_variant(actor, campaign_id, variant_id)
    if await attributed_count(variant_id=variant.id):
        raise ValidationFailed("variant", N_("clients, leads or deals are attributed to "
                                             "it: archive it instead"))
    await variant.delete()


async def variants(campaign_id: int, *, archived: bool | None = None
                   ) -> list[CampaignVariant]:
    qs = CampaignVariant.filter(campaign_id=campaign_id)
    if archived is not None:
        qs = qs.filter(archived=archived)
    return await qs.prefetch_related("region", "ad_source").order_by("id")


# --- costs -------------------------------------------------------------------------
async def supplier_choices() -> list[Client]:
    """The clients in the marketing supplier role (not archived): the cost form's
    picker. Empty when there are none (then any client may be named by id)."""
    return await Client.filter(
        partner_roles__kind=PartnerKind.MARKETING_SUPPLIER,
        partner_roles__archived_at__isnull=True).distinct().order_by("name", "id")


async def service_choices() -> list[dict[str, Any]]:
    """The suppliers' services (not archived) for the cost form: id, name, supplier."""
    return await SupplierService.filter(archived=False).order_by(
        "supplier__name", "name").limit(300).values("id", "name", "supplier_id",
                                                    supplier="supplier__name")


async def _cost_values(campaign: Campaign, data: dict[str, Any], current: CampaignCost | None
                       ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "item" in data or current is None:
        out["item"] = text(data.get("item"), "item", 200, required=True)
    if "planned" in data:
        out["planned"] = amount(data.get("planned"), "planned")
    if "actual" in data:
        out["actual"] = amount(data.get("actual"), "actual", required=False)
    if "spent_on" in data:
        out["spent_on"] = day(data.get("spent_on"), "spent_on")
    if "variant_id" in data:
        vid = ident(data.get("variant_id"), "variant_id")
        if vid is not None and not await CampaignVariant.exists(id=vid,
                                                                campaign_id=campaign.id):
            raise ValidationFailed("variant_id", N_("choose a value from the list"))
        out["variant_id"] = vid
    if "supplier_id" in data:
        sid = ident(data.get("supplier_id"), "supplier_id")
        if sid is not None:
            if not await Client.exists(id=sid):
                raise ValidationFailed("supplier_id", N_("choose a value from the list"))
            roles = PartnerRole.filter(kind=PartnerKind.MARKETING_SUPPLIER)
            if await roles.exists() and not await roles.filter(client_id=sid).exists():
                raise ValidationFailed("supplier_id", N_("is not a marketing services "
                                                         "supplier"))
        out["supplier_id"] = sid
    if "service_id" in data:
        svc_id = ident(data.get("service_id"), "service_id")
        supplier = out.get("supplier_id", current.supplier_id if current else None)
        if svc_id is not None:
            service = await SupplierService.get_or_none(id=svc_id)
            if service is None:
                raise ValidationFailed("service_id", N_("choose a value from the list"))
            if supplier is None:  # the service names its supplier
                out["supplier_id"] = supplier = service.supplier_id
            if service.supplier_id != supplier:
                raise ValidationFailed("service_id", N_("is not a service of that supplier"))
        out["service_id"] = svc_id
    if "quantity" in data:
        q = amount(data.get("quantity"), "quantity", required=False)
        out["quantity"] = q
    if "invoice_number" in data:
        out["invoice_number"] = text(data.get("invoice_number"), "invoice_number", 40)
    if "invoice_date" in data:
        out["invoice_date"] = day(data.get("invoice_date"), "invoice_date")
    if "note" in data:
        out["note"] = text(data.get("note"), "note", 2000)
    return out


async def get_cost(actor: User, campaign_id: int, cost_id: int) -> CampaignCost:
    require_staff(actor)
    found = await CampaignCost.get_or_none(id=cost_id, campaign_id=campaign_id)
    if found is None:
        raise NotFound("campaign cost")
    return found


async def costs(campaign_id: int) -> list[CampaignCost]:
    return await CampaignCost.filter(campaign_id=campaign_id).prefetch_related(
        "variant", "supplier", "service").order_by("spent_on", "id")


async def do_create_cost(actor: User, campaign_id: int, data: dict[str, Any]) -> CampaignCost:
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    values = await _cost_values(campaign, data, None)
    return await CampaignCost.create(campaign=campaign, **values)


async def do_update_cost(actor: User, campaign_id: int, cost_id: int, data: dict[str, Any]
                         ) -> CampaignCost:
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    cost = await get_cost(actor, campaign_id, cost_id)
    values = await _cost_values(campaign, data, cost)
    if values:
        await CampaignCost.filter(id=cost.id).update(**values)
    return await get_cost(actor, campaign_id, cost_id)


async def do_delete_cost(actor: User, campaign_id: int, cost_id: int) -> None:
    await require_manage(actor)
    cost = await get_cost(actor, campaign_id, cost_id)
    await cost.delete()


# --- mailings ----------------------------------------------------------------------
async def mailings(campaign_id: int) -> list[CampaignMailing]:
    return await CampaignMailing.filter(campaign_id=campaign_id).prefetch_related(
        "mailing", "variant").order_by("id")


async def mailing_choices() -> list[Mailing]:
    return await Mailing.all().order_by("-id").limit(100)


async def do_link_mailing(actor: User, campaign_id: int, data: dict[str, Any]
                          ) -> CampaignMailing:
    """Link a mailing (K-16) to the campaign; the link comes back with its mailing."""
    await require_manage(actor)
    campaign = await get_campaign(actor, campaign_id)
    mid = ident(data.get("mailing_id"), "mailing_id")
    if mid is None or not await Mailing.exists(id=mid):
        raise ValidationFailed("mailing_id", N_("choose a value from the list"))
    vid = ident(data.get("variant_id"), "variant_id")
    if vid is not None and not await CampaignVariant.exists(id=vid, campaign_id=campaign.id):
        raise ValidationFailed("variant_id", N_("choose a value from the list"))
    async with in_transaction():
        if await CampaignMailing.exists(campaign_id=campaign.id, mailing_id=mid):
            raise ValidationFailed("mailing_id", N_("is already linked to this campaign"))
        link = await CampaignMailing.create(campaign=campaign, mailing_id=mid, variant_id=vid)
    await link.fetch_related("mailing")
    return link


async def do_unlink_mailing(actor: User, campaign_id: int, link_id: int) -> None:
    await require_manage(actor)
    deleted = await CampaignMailing.filter(id=link_id, campaign_id=campaign_id).delete()
    if not deleted:
        raise NotFound("campaign mailing")
