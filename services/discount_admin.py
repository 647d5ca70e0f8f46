"""Discount groups, clients' terms and promos as people edit them, and a promo's effect
(issue 13: A-14); how they price is :mod:`services.pricing`.

* **Discount groups** (admins): a name (unique), how the discounts combine (the best
  of them, or one after another), a percent 0..100 per product kind and one for "any
  other kind"; archived and restored.
* **A client's terms** — its price list, discount group and individual discount
  0..100 — are changed by whoever may change the client (A-3), from its card.
* **Promos** (admins): a name, a percent 0..100 (100: a gift line), a period (from ≤
  to), a scope (a product, a category with its subcategories, a product kind, or
  everything), a minimum quantity; archived and restored.
* **The effect** of a promo (admins and heads): over a period, the posted, shipped
  and closed orders (by the day they were posted) with a line under the promo against
  the orders of the same period without any promo line — the number of orders, the
  revenue (the lines' amounts), the margin (revenue less the lines' cost), the average
  order and the margin percent — per currency, summed in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from models import (
    ClientTerms,
    CombineMode,
    DiscountGroup,
    DiscountRate,
    Order,
    OrderLine,
    OrderState,
    PriceList,
    Product,
    ProductCategory,
    ProductKind,
    Promo,
    User,
)
from services.catalogue import _admin
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head
from services.price_admin import _id, date_of, decimal_of, period_of

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
SOLD = (OrderState.POSTED, OrderState.SHIPPED, OrderState.CLOSED)


def _percent(raw: Any, where: str, *, required: bool = True) -> Decimal | None:
    value = decimal_of(raw, where, lo=Decimal(0), hi=HUNDRED)
    if value is None and required:
        raise ValidationFailed(where, N_("is required"))
    return value


def _name(raw: Any, limit: int) -> str:
    name = " ".join(str(raw or "").split())
    if not name or len(name) > limit:
        raise ValidationFailed("name", N_("one to {limit} characters"), limit=limit)
    return name


# ---- discount groups -------------------------------------------------------------------------

async def list_kinds() -> list[ProductKind]:
    return await ProductKind.filter(archived=False).order_by("name")


async def list_groups(*, archived: bool = True) -> list[tuple[DiscountGroup, dict]]:
    """Each group with its rates (kind id, None for any other kind → percent)."""
    qs = DiscountGroup.all() if archived else DiscountGroup.filter(archived=False)
    groups = await qs.order_by("archived", "name")
    rates: dict[int, dict[int | None, Decimal]] = {g.id: {} for g in groups}
    for r in await DiscountRate.filter(group_id__in=list(rates)):
        rates[r.group_id][r.kind_id] = r.percent
    return [(g, rates[g.id]) for g in groups]


async def do_save_group(actor: User, group_id: int | None, data: dict[str, Any]
                        ) -> DiscountGroup:
    """Create or change a group; ``rates`` (a list of ``{"kind_id", "percent"}``,
    ``kind_id`` null for any other kind) replaces its rates; ``archived``."""
    _admin(actor, "the discount groups")
    if group_id is None:
        row = DiscountGroup(combine=CombineMode.BEST)
        if "name" not in data:
            raise ValidationFailed("name", N_("is required"))
    else:
        row = await DiscountGroup.get_or_none(id=group_id)
        if row is None:
            raise NotFound("discount_group")
    if "name" in data:
        name = _name(data["name"], 100)
        if await DiscountGroup.filter(name=name).exclude(id=row.id or 0).exists():
            raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
        row.name = name
    if "combine" in data:
        if data["combine"] not in CombineMode.__members__.values():
            raise ValidationFailed("combine", N_("choose a value from the list"))
        row.combine = CombineMode(data["combine"])
    if "archived" in data:
        row.archived = bool(data["archived"])
    rates: dict[int | None, Decimal] | None = None
    if "rates" in data:
        if not isinstance(data["rates"], list) or len(data["rates"]) > 500:
            raise ValidationFailed("rates", N_("choose a value from the list"))
        kinds = set(await ProductKind.all().values_list("id", flat=True))
        rates = {}
        for n, item in enumerate(data["rates"]):
            kind = _id(item.get("kind_id"), f"rates.{n}.kind_id")
            if kind is not None and kind not in kinds:
                raise ValidationFailed(f"rates.{n}.kind_id", N_("choose a value from the list"))
            percent = _percent(item.get("percent"), f"rates.{n}.percent", required=False)
            if percent is not None:
                rates[kind] = percent
    async with in_transaction():
        await row.save()
        if rates is not None:
            await DiscountRate.filter(group_id=row.id).delete()
            if rates:
                await DiscountRate.bulk_create([DiscountRate(group_id=row.id, kind_id=k,
                                                             percent=v)
                                                for k, v in rates.items()])
    return row


# ---- a client's terms ------------------------------------------------------------------------

async def client_terms(actor: User, client_id: int) -> ClientTerms | None:
    from services.clients import get_client

    await get_client(actor, client_id)
    return await ClientTerms.filter(client_id=client_id).select_related(
        "price_list", "discount_group").first()


def may_set_terms(actor: User) -> bool:
    return is_admin_or_head(actor)


async def do_set_terms(actor: User, client_id: int, data: dict[str, Any]) -> ClientTerms:
    """The client's list (None: its category's or the default), discount group and
    individual discount — by a head or an admin who sees the client (a manager would
    otherwise give his own client any discount; he sees the terms and asks)."""
    from services.clients import get_client

    client = await get_client(actor, client_id)
    if not may_set_terms(actor):
        raise PermissionDenied("only a head or an admin sets a client's prices and discounts")
    row = await ClientTerms.get_or_none(client_id=client.id) or ClientTerms(
        client_id=client.id)
    if "price_list_id" in data:
        list_id = _id(data["price_list_id"], "price_list_id")
        if list_id is not None and not await PriceList.filter(id=list_id,
                                                              archived=False).exists():
            raise ValidationFailed("price_list_id", N_("choose a value from the list"))
        row.price_list_id = list_id
    if "discount_group_id" in data:
        group_id = _id(data["discount_group_id"], "discount_group_id")
        if group_id is not None and not await DiscountGroup.filter(
                id=group_id, archived=False).exists():
            raise ValidationFailed("discount_group_id", N_("choose a value from the list"))
        row.discount_group_id = group_id
    if "discount" in data:
        row.discount = _percent(data["discount"], "discount", required=False)
    await row.save()
    return await client_terms(actor, client.id)


# ---- promos ----------------------------------------------------------------------------------

async def list_promos(*, archived: bool = True) -> list[Promo]:
    qs = Promo.all() if archived else Promo.filter(archived=False)
    return await qs.order_by("archived", "-starts", "id").select_related(
        "product", "category", "kind")


async def get_promo(promo_id: int) -> Promo:
    found = await Promo.get_or_none(id=promo_id).select_related("product", "category", "kind")
    if found is None:
        raise NotFound("promo")
    return found


async def do_save_promo(actor: User, promo_id: int | None, data: dict[str, Any]) -> Promo:
    _admin(actor, "the promos")
    if promo_id is None:
        for key in ("name", "percent", "starts", "ends"):
            if data.get(key) in (None, ""):
                raise ValidationFailed(key, N_("is required"))
        row = Promo()
    else:
        row = await get_promo(promo_id)
    if "name" in data:
        row.name = _name(data["name"], 200)
    if "percent" in data:
        row.percent = _percent(data["percent"], "percent")
    for key in ("starts", "ends"):
        if key in data:
            value = date_of(data[key], key)
            if value is None:
                raise ValidationFailed(key, N_("is required"))
            setattr(row, key, value)
    period_of(row.starts, row.ends, "ends")
    if "min_qty" in data:
        row.min_qty = decimal_of(data["min_qty"], "min_qty", places=3)
    if "scope" in data:
        scope = data["scope"]
        if scope not in ("all", "product", "category", "kind"):
            raise ValidationFailed("scope", N_("choose a value from the list"))
        row.product_id = row.category_id = row.kind_id = None
        model, key, msg = {"product": (Product, "product_id", N_("choose a product")),
                           "category": (ProductCategory, "category_id",
                                        N_("choose a category")),
                           "kind": (ProductKind, "kind_id", N_("choose a kind of product")),
                           }.get(scope, (None, None, None))
        if model is not None:
            ref = _id(data.get(key), key)
            if ref is None or not await model.filter(id=ref).exists():
                raise ValidationFailed(key, msg)
            setattr(row, key, ref)
    if "archived" in data:
        row.archived = bool(data["archived"])
    await row.save()
    return await get_promo(row.id)


# ---- a promo's effect ------------------------------------------------------------------------

@dataclass
class Effect:
    currency: str
    orders: int
    revenue: Decimal
    margin: Decimal

    @property
    def average(self) -> Decimal:
        return (self.revenue / self.orders).quantize(CENT, ROUND_HALF_UP) \
            if self.orders else Decimal(0)

    @property
    def margin_percent(self) -> Decimal | None:
        return (self.margin * HUNDRED / self.revenue).quantize(CENT, ROUND_HALF_UP) \
            if self.revenue else None


@dataclass
class PromoEffect:
    promo: Promo
    start: date
    end: date
    with_promo: list[Effect]
    without: list[Effect]


async def _sums(orders) -> list[Effect]:
    rows = await OrderLine.filter(order_id__in=Subquery(orders.values("id"))).annotate(
        revenue=Sum("amount"), cost=Sum("cost"), orders=Count("order_id", distinct=True)
    ).group_by("order__currency").values("order__currency", "revenue", "cost", "orders")
    out = []
    for r in sorted(rows, key=lambda r: r["order__currency"]):
        revenue = Decimal(r["revenue"] or 0).quantize(CENT)
        cost = Decimal(r["cost"] or 0).quantize(CENT)
        out.append(Effect(r["order__currency"], int(r["orders"]), revenue, revenue - cost))
    return out


def may_see_effect(actor: User | None) -> bool:
    """Whether ``actor`` sees a promo's effect on orders (:func:`promo_effect`)."""
    return is_admin_or_head(actor)


async def promo_effect(actor: User, promo_id: int, start: date | None = None,
                       end: date | None = None) -> PromoEffect:
    """The orders posted from ``start`` to ``end`` (the promo's period unless given,
    days in the person's time zone) with a line under the promo against those without
    any promo line."""
    if not may_see_effect(actor):
        raise PermissionDenied("only admins and heads see the promos' effect")
    promo = await get_promo(promo_id)
    start, end = start or promo.starts, end or promo.ends
    period_of(start, end, "end")
    if (end - start).days > 3660:
        raise ValidationFailed("end", N_("at most ten years"))
    tz = ZoneInfo(actor.timezone or "UTC")
    since = datetime.combine(start, time(0), tz)
    until = datetime.combine(end + timedelta(days=1), time(0), tz)
    sold = Order.filter(state__in=SOLD, posted_at__gte=since, posted_at__lt=until)
    with_promo = sold.filter(id__in=Subquery(OrderLine.filter(promo_id=promo.id)
                                             .values("order_id")))
    without = sold.exclude(id__in=Subquery(OrderLine.filter(promo_id__not_isnull=True)
                                           .values("order_id")))
    return PromoEffect(promo, start, end, await _sums(with_promo), await _sums(without))
