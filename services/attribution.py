"""K-10 attribution: which campaign and variant brought a client, a lead (an inbound
request) or a deal — the first touch and the last touch, each its own row.

Rules:

* :func:`record_touch` touches the client always, and the lead activity and the deal
  when given. For each subject the FIRST touch is created when there is none (and kept
  for ever after, unless a person changes it by hand); the LAST touch is set or
  replaced. The pair (subject, touch) is unique: a concurrent insert of the same pair
  is caught (in a savepoint, so a PostgreSQL transaction goes on) and turned into an
  update — safe on SQLite and PostgreSQL alike.
* Sources: an ad source (a client or deal made with an ad source that a variant of a
  campaign running that day carries), a tracked link token (/go/<token>), a promo code
  (any case), a web lead form, or by hand.
* By hand: the client's manager, heads (of the clients they see) and admins set or
  clear the first or last touch of a client, a lead or a deal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import Activity, Client, ClientManager, Role, User
from models.deals import Deal
from models.marketing import (
    Attribution,
    Campaign,
    CampaignState,
    CampaignVariant,
    Touch,
    TouchVia,
)
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed


def subject_key(kind: str, object_id: int) -> str:
    """``c:12`` (a client), ``a:40`` (a lead, an activity), ``d:7`` (a deal)."""
    if kind not in ("c", "a", "d"):
        raise ValueError(kind)
    return f"{kind}:{int(object_id)}"


async def _first(key: str, values: dict[str, Any]) -> bool:
    """Create the first touch of ``key`` unless there is one; True when created."""
    if await Attribution.filter(subject=key, touch=Touch.FIRST).exists():
        return False
    try:
        async with in_transaction():
            await Attribution.create(subject=key, touch=Touch.FIRST, **values)
        return True
    except IntegrityError:  # a concurrent first touch won: it stays the first
        return False


async def _last(key: str, values: dict[str, Any]) -> None:
    """Set or replace the last touch of ``key``."""
    for attempt in range(2):
        if await Attribution.filter(subject=key, touch=Touch.LAST).update(**values):
            return
        try:
            async with in_transaction():
                await Attribution.create(subject=key, touch=Touch.LAST, **values)
            return
        except IntegrityError:  # made concurrently: replace it on the next round
            if attempt:
                raise


async def record_touch(client: Client | int, *, campaign: Campaign | int,
                       variant: CampaignVariant | int | None, via: TouchVia | str,
                       at: datetime | None = None, deal: Deal | int | None = None,
                       activity: Activity | int | None = None, by: User | None = None
                       ) -> list[str]:
    """Record a touch of the campaign (and variant) on the client, and on the lead
    activity and the deal if given. Returns the subject keys touched."""
    client_id = client if isinstance(client, int) else client.id
    campaign_id = campaign if isinstance(campaign, int) else campaign.id
    variant_id = variant if isinstance(variant, int) or variant is None else variant.id
    deal_id = deal if isinstance(deal, int) or deal is None else deal.id
    activity_id = activity if isinstance(activity, int) or activity is None else activity.id
    base = dict(client_id=client_id, campaign_id=campaign_id, variant_id=variant_id,
                via=TouchVia(via), at=at or utcnow(), by_id=by.id if by else None)
    subjects = [(subject_key("c", client_id), {})]
    if activity_id is not None:
        subjects.append((subject_key("a", activity_id), {"activity_id": activity_id}))
    if deal_id is not None:
        subjects.append((subject_key("d", deal_id), {"deal_id": deal_id}))
    async with in_transaction():
        for key, extra in subjects:
            values = {**base, **extra}
            await _first(key, values)
            await _last(key, values)
    return [key for key, _ in subjects]


# --- resolvers -----------------------------------------------------------------------
def _running_on(day: date) -> Q:
    return (Q(campaign__starts_on__lte=day)
            & (Q(campaign__ends_on__isnull=True) | Q(campaign__ends_on__gte=day))
            & Q(campaign__archived_at__isnull=True)
            & ~Q(campaign__state=CampaignState.PLANNED))


async def variant_for_ad_source(source_id: int | None, day: date) -> CampaignVariant | None:
    """The variant carrying this ad source of a campaign running on ``day`` (the one of
    the latest-starting campaign when several do), or None."""
    if not source_id:
        return None
    return await CampaignVariant.filter(_running_on(day), ad_source_id=source_id,
                                        archived=False).order_by(
        "-campaign__starts_on", "-id").first()


async def variant_for_link(token: str | None) -> CampaignVariant | None:
    token = (token or "").strip()
    if not token or len(token) > 24:
        return None
    return await CampaignVariant.get_or_none(link_token=token, archived=False)


def normalize_promo(code: str | None) -> str:
    return " ".join((code or "").split()).upper()


async def variant_for_promo(code: str | None) -> CampaignVariant | None:
    code = normalize_promo(code)
    if not code or len(code) > 40:
        return None
    return await CampaignVariant.get_or_none(promo_code=code, archived=False)


async def touch_from_ad_source(client: Client | None = None, deal: Deal | None = None,
                               *, at: datetime | None = None) -> bool:
    """Hooked where clients and deals are made (after their commit): a client with an
    ad source, or a deal with a source, that a variant of a running campaign carries
    gets that variant as a touch. Never raises: attribution must not break a save."""
    try:
        at = at or utcnow()
        if deal is not None:
            variant = await variant_for_ad_source(deal.source_id, at.date())
            if variant is None:
                return False
            await record_touch(deal.client_id, campaign=variant.campaign_id, variant=variant,
                               via=TouchVia.AD_SOURCE, at=at, deal=deal)
            return True
        if client is not None:
            variant = await variant_for_ad_source(client.ad_source_id, at.date())
            if variant is None:
                return False
            await record_touch(client, campaign=variant.campaign_id, variant=variant,
                               via=TouchVia.AD_SOURCE, at=at)
            return True
    except Exception:  # noqa: BLE001 - a nicety after the commit; logged
        import logging

        logging.getLogger("kontakt.attribution").exception("ad source attribution")
    return False


# --- reading -------------------------------------------------------------------------
@dataclass
class TouchView:
    touch: str
    campaign_id: int
    campaign: str
    variant_id: int | None
    variant: str | None
    via: str
    at: datetime
    by: str | None


async def touches(kind: str, object_id: int) -> dict[str, TouchView | None]:
    """{"first": ..., "last": ...} of a client (``c``), a lead (``a``) or a deal (``d``)."""
    rows = await Attribution.filter(subject=subject_key(kind, object_id)).select_related(
        "campaign", "variant", "by")
    out: dict[str, TouchView | None] = {"first": None, "last": None}
    for r in rows:
        out[str(r.touch.value if hasattr(r.touch, "value") else r.touch)] = TouchView(
            touch=str(r.touch), campaign_id=r.campaign_id, campaign=r.campaign.name,
            variant_id=r.variant_id, variant=r.variant.name if r.variant else None,
            via=str(r.via.value if hasattr(r.via, "value") else r.via), at=r.at,
            by=r.by.full_name if r.by else None)
    return out


# --- by hand -------------------------------------------------------------------------
async def _subject_client(actor: User, kind: str, object_id: int) -> Client:
    """The client behind a subject, if ``actor`` sees it (services' own visibility)."""
    from services.clients import get_client

    if kind == "c":
        return await get_client(actor, object_id)
    if kind == "d":
        deal = await Deal.get_or_none(id=object_id)
        if deal is None:
            raise NotFound("deal")
        return await get_client(actor, deal.client_id)
    if kind == "a":
        act = await Activity.get_or_none(id=object_id)
        if act is None or act.client_id is None:
            raise NotFound("activity")
        return await get_client(actor, act.client_id)
    raise ValidationFailed("subject", N_("choose a client, a lead or a deal"))


async def may_set_by_hand(actor: User, client: Client) -> bool:
    if actor is None or not actor.is_active:
        return False
    if actor.role in (Role.ADMIN, Role.HEAD):
        return True
    return await ClientManager.filter(client_id=client.id, user_id=actor.id,
                                      unassigned_at=None).exists()


async def do_set_touch(actor: User, kind: str, object_id: int, touch: str,
                       variant_id: int | None) -> dict[str, TouchView | None]:
    """Set (``variant_id``) or clear (None) the first or last touch by hand."""
    if touch not in ("first", "last"):
        raise ValidationFailed("touch", N_("choose the first or the last touch"))
    client = await _subject_client(actor, kind, object_id)
    if not await may_set_by_hand(actor, client):
        raise PermissionDenied("attribution by hand")
    key = subject_key(kind, object_id)
    if variant_id is None:
        await Attribution.filter(subject=key, touch=touch).delete()
        return await touches(kind, object_id)
    variant = await CampaignVariant.get_or_none(id=variant_id)
    if variant is None:
        raise ValidationFailed("variant", N_("choose a campaign variant from the list"))
    values = dict(client_id=client.id, campaign_id=variant.campaign_id, variant_id=variant.id,
                  via=TouchVia.MANUAL, at=utcnow(), by_id=actor.id,
                  deal_id=object_id if kind == "d" else None,
                  activity_id=object_id if kind == "a" else None)
    async with in_transaction():
        if touch == "last":
            await _last(key, values)
        else:
            if not await Attribution.filter(subject=key, touch=Touch.FIRST).update(**values):
                await _first(key, values)
    return await touches(kind, object_id)


async def variant_choices() -> list[tuple[int, str]]:
    """(variant id, "campaign — variant") of the campaigns not archived, for pickers."""
    rows = await CampaignVariant.filter(archived=False, campaign__archived_at__isnull=True
                                        ).order_by("-campaign__starts_on", "id").limit(
        300).values_list("id", "campaign__name", "name")
    return [(vid, f"{cname} — {vname}") for vid, cname, vname in rows]
