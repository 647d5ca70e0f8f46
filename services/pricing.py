"""A client's price of a product (issue 13: K-5, M-5, A-14), with its trace.

The rules, in the order they apply:

1. **The list.** The client's price list is the one on its terms (:class:`ClientTerms`),
   else the list of its category (:class:`ListForCategory`, the first by priority among
   the classifier nodes the client sits in, a node counting for its whole branch), else
   the default list. A list outside its dates or archived is passed over.
2. **The list price.** The list's own price of the product, else its base list's (and
   that list's base, up to five deep, same currency only). No price: not for sale here.
3. **The list's rules**, in ``position`` order; a rule applies when its scope (the
   product; a category, with its subcategories; or everything), its minimum quantity,
   its dates and its client conditions (a classifier node's branch, a status) all
   match. Each works on the price the earlier ones left: a fixed price, or a markup or
   discount in percent on a base (the price so far, another list's price, the cost
   price), then a surcharge, then rounding to a multiple. **Volume steps**: of rules
   alike but for their minimum quantity, only those with the largest minimum the
   quantity reaches apply (two alike with the same minimum both do). A rule marked
   final stops the rules after it.
4. **Discounts** (A-14): the client's discount group's percent for the product's kind
   (or the group's percent for any other kind), the client's individual discount and
   the best promo of the day for the line. The group says how they combine: the best
   of them, or one after another; a client without a group gets the best of its own.
5. **The minimum margin**: the highest ``min_margin`` among the rules that matched the
   product (whether or not a volume step passed them over) is a floor, the cost price
   plus that percent. Rules and client discounts never take the price below it — it is
   raised back to the floor, and the trace says so. A promo may (an admin set it; a
   100 % promo is a gift line); a price typed by hand below it needs an override
   (services.orders), recorded with who and why.
6. The price is rounded to kopecks (half up).

Each step is written into the trace (``list``, ``base_list``, ``rule``, ``group``,
``individual``, ``promo``, ``min_margin``; services.orders adds ``override``) with the
price after it, so an order line says why its price is what it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from tortoise import connections
from tortoise.expressions import Q

from models import (
    Client,
    ClientTerms,
    CombineMode,
    DiscountRate,
    ListForCategory,
    ListPrice,
    PriceList,
    PriceRule,
    Product,
    Promo,
    RuleBase,
    RuleMethod,
)
from services.errors import N_, NotFound, ValidationFailed

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_BASE_DEPTH = 5
MAX_LINES = 500


@dataclass
class Priced:
    product: Product
    quantity: Decimal
    list_price: Decimal  # before the rules
    price: Decimal  # the final unit price
    discount: Decimal  # percent from the list price to the price
    trace: list[dict[str, Any]] = field(default_factory=list)
    promo_id: int | None = None
    floor: Decimal | None = None  # the minimum-margin price, if there is one

    @property
    def amount(self) -> Decimal:
        return (self.price * self.quantity).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Context:
    """Everything about the client and the day that prices depend on; made once for
    an order (:func:`context_for`) and used for each of its lines."""

    client: Client
    on: date
    price_list: PriceList
    terms: ClientTerms | None
    nodes: set[int]  # the classifier nodes (rule and list conditions) the client is in
    group_rates: dict[int | None, Decimal]  # product kind -> percent (None: any other)
    combine: CombineMode


def _step(step: str, price: Decimal, **about: Any) -> dict[str, Any]:
    return {"step": step, "price": str(price.quantize(CENT, ROUND_HALF_UP)),
            **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in about.items()}}


def _valid(obj: Any, on: date) -> bool:
    return (obj.valid_from is None or obj.valid_from <= on) and (
        obj.valid_to is None or on <= obj.valid_to)


# ---- the client's list and conditions ------------------------------------------------------

async def _member_nodes(client_id: int, candidates: set[int]) -> set[int]:
    """Which of the ``candidates`` (classifier nodes) the client sits in, a node
    counting for its whole branch (one query per candidate; there are a few)."""
    from services.rules import node_q

    found: set[int] = set()
    for node_id in sorted(candidates):
        try:
            q = await node_q(node_id, descendants=True)
        except (ValidationFailed, NotFound):  # a broken automatic rule: not a member
            continue
        if await Client.filter(id=client_id).filter(q).exists():
            found.add(node_id)
    return found


async def context_for(client: Client | int, on: date) -> Context:
    """The client's list, terms, conditions and discount group on ``on``."""
    if not isinstance(client, Client):
        found = await Client.get_or_none(id=client)
        if found is None:
            raise NotFound("client")
        client = found
    terms = await ClientTerms.filter(client_id=client.id).select_related(
        "price_list", "discount_group").first()
    chosen: PriceList | None = None
    if terms is not None and terms.price_list is not None and \
            not terms.price_list.archived and _valid(terms.price_list, on):
        chosen = terms.price_list
    # the client's categories: those the rules name, and (no list of its own) the lists'
    by_category = [] if chosen is not None else await ListForCategory.filter(
        price_list__archived=False).order_by("priority", "id").select_related("price_list")
    rule_nodes = set(await PriceRule.filter(archived=False, client_node_id__not_isnull=True)
                     .distinct().values_list("client_node_id", flat=True))
    nodes = await _member_nodes(client.id, rule_nodes | {
        a.client_node_id for a in by_category})
    if chosen is None:
        chosen = next((a.price_list for a in by_category
                       if a.client_node_id in nodes and _valid(a.price_list, on)), None)
    if chosen is None:
        chosen = next((p for p in await PriceList.filter(is_default=True, archived=False)
                       if _valid(p, on)), None)
    if chosen is None:
        raise ValidationFailed("price_list", N_("the client has no price list, and there is "
                                                "no default one valid today"))
    rates: dict[int | None, Decimal] = {}
    combine = CombineMode.BEST
    group = terms.discount_group if terms is not None else None
    if group is not None and not group.archived:
        combine = group.combine
        rates = {r.kind_id: r.percent for r in await DiscountRate.filter(group_id=group.id)}
    return Context(client, on, chosen, terms, nodes, rates, combine)


# ---- list prices -----------------------------------------------------------------------------

async def list_chain(first: PriceList) -> list[PriceList]:
    """The list and its base lists: same currency, not archived, five deep at most."""
    chain, seen = [first], {first.id}
    current = first
    while current.base_list_id and len(chain) <= MAX_BASE_DEPTH:
        base = await PriceList.get_or_none(id=current.base_list_id)
        if base is None or base.id in seen or base.archived or base.currency != first.currency:
            break
        chain.append(base)
        seen.add(base.id)
        current = base
    return chain


async def list_prices(list_ids: list[int], product_ids: list[int]
                      ) -> dict[tuple[int, int], Decimal]:
    """The lists' own prices of the products: (list id, product id) -> price."""
    rows = await ListPrice.filter(price_list_id__in=list_ids, product_id__in=product_ids
                                  ).values_list("price_list_id", "product_id", "price")
    return {(lid, pid): Decimal(price) for lid, pid, price in rows}


async def _ancestors(group_ids: set[int]) -> dict[int, set[int]]:
    """Each category with its ancestors (itself included), in one recursive query."""
    if not group_ids:
        return {}
    conn = connections.get("default")
    ids = ",".join(str(int(g)) for g in sorted(group_ids))
    _, rows = await conn.execute_query(f"""
        WITH RECURSIVE up(start, id, parent_id, depth) AS (
          SELECT id, id, parent_id, 0 FROM product_category WHERE id IN ({ids})
          UNION ALL
          SELECT up.start, c.id, c.parent_id, up.depth + 1
          FROM product_category c JOIN up ON c.id = up.parent_id WHERE up.depth < 50)
        SELECT start, id FROM up""")
    found: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        found[int(row["start"])].add(int(row["id"]))
    return found


# ---- rules -------------------------------------------------------------------------------------

def _matches(rule: PriceRule, product: Product, qty: Decimal, cats: set[int],
             ctx: Context) -> bool:
    if rule.product_id is not None and rule.product_id != product.id:
        return False
    if rule.category_id is not None and rule.category_id not in cats:
        return False
    if rule.min_qty is not None and qty < rule.min_qty:
        return False
    if not _valid(rule, ctx.on):
        return False
    if rule.client_node_id is not None and rule.client_node_id not in ctx.nodes:
        return False
    return not (rule.client_status is not None
                and rule.client_status != str(ctx.client.list_type))


def _slot(rule: PriceRule) -> tuple:
    """Rules alike but for their minimum quantity are one ladder of volume steps."""
    return (rule.product_id, rule.category_id, rule.client_node_id, rule.client_status,
            rule.method, rule.base, rule.base_list_id, rule.valid_from, rule.valid_to)


def _steps_only(rules: list[PriceRule]) -> list[PriceRule]:
    """Of each ladder, the rules at the largest minimum quantity reached; rules alike
    with the same minimum (two without one, say) all apply, in their order."""
    top: dict[tuple, Decimal] = {}
    for rule in rules:
        slot = _slot(rule)
        top[slot] = max(top.get(slot, Decimal(0)), rule.min_qty or Decimal(0))
    return [r for r in rules if (r.min_qty or Decimal(0)) == top[_slot(r)]]


def _apply(rule: PriceRule, base: Decimal) -> Decimal:
    value = Decimal(rule.value)
    if rule.method == RuleMethod.FIXED:
        price = value
    elif rule.method == RuleMethod.MARKUP:
        price = base * (HUNDRED + value) / HUNDRED
    else:
        price = base * (HUNDRED - value) / HUNDRED
    if rule.surcharge:
        price += rule.surcharge
    if rule.rounding and rule.rounding > 0:
        price = (price / rule.rounding).quantize(Decimal(1), ROUND_HALF_UP) * rule.rounding
    return max(price, Decimal(0))


def _percent_off(price: Decimal, percent: Decimal) -> Decimal:
    return price * (HUNDRED - percent) / HUNDRED


# ---- the whole of it ---------------------------------------------------------------------------

async def price_lines(ctx: Context, wanted: list[tuple[int, Decimal]]) -> list[Priced]:
    """Price each (product id, quantity) for the context's client; a product without a
    price in the list is refused naming it."""
    if len(wanted) > MAX_LINES:
        raise ValidationFailed("lines", N_("at most {max} lines"), max=MAX_LINES)
    ids = sorted({pid for pid, _qty in wanted})
    products = {p.id: p for p in await Product.filter(id__in=ids)}
    chain = await list_chain(ctx.price_list)
    cats = await _ancestors({p.group_id for p in products.values() if p.group_id})
    all_cats = set().union(*cats.values()) if cats else set()
    # the list's rules for these products, their categories (and ancestors) or everything
    scope = Q(product_id__in=ids or [-1]) | Q(product_id=None, category_id__in=sorted(
        all_cats) or [-1]) | Q(product_id=None, category_id=None)
    rules = await PriceRule.filter(scope, price_list_id=ctx.price_list.id, archived=False)
    rules.sort(key=lambda r: (r.position, r.id))
    other_lists = {r.base_list_id for r in rules if r.base == RuleBase.OTHER_LIST
                   and r.base_list_id}
    prices = await list_prices([pl.id for pl in chain] + sorted(other_lists), ids)
    promos = await Promo.filter(archived=False, starts__lte=ctx.on, ends__gte=ctx.on)
    out: list[Priced] = []
    for pid, qty in wanted:
        product = products.get(pid)
        if product is None:
            raise NotFound("product")
        out.append(_price_one(ctx, product, qty, chain, prices, cats.get(
            product.group_id, set()), rules, promos))
    return out


def _price_one(ctx: Context, product: Product, qty: Decimal, chain: list[PriceList],
               prices: dict[tuple[int, int], Decimal], cats: set[int],
               rules: list[PriceRule], promos: list[Promo]) -> Priced:
    trace: list[dict[str, Any]] = []
    price: Decimal | None = None
    for n, pl in enumerate(chain):
        if (pl.id, product.id) in prices:
            price = prices[(pl.id, product.id)]
            trace.append(_step("list" if n == 0 else "base_list", price, list=pl.name))
            break
    matched = [r for r in rules if _matches(r, product, qty, cats, ctx)]
    floors = [r.min_margin for r in matched if r.min_margin is not None]
    cost = product.cost_price
    floor = None
    if floors and cost is not None:
        floor = (cost * (HUNDRED + max(floors)) / HUNDRED).quantize(CENT, ROUND_CEILING)
    for rule in _steps_only(matched):
        if rule.base == RuleBase.COST:
            base = cost
        elif rule.base == RuleBase.OTHER_LIST:
            base = prices.get((rule.base_list_id, product.id))
        else:
            base = price
        if base is None and rule.method != RuleMethod.FIXED:
            trace.append(_step("rule_skipped", price or Decimal(0), rule=rule.name or "",
                               rule_id=rule.id, why="no_base"))
            continue
        price = _apply(rule, base if base is not None else Decimal(0))
        trace.append(_step("rule", price, rule=rule.name or "", rule_id=rule.id,
                           method=str(rule.method), value=Decimal(rule.value)))
        if rule.final:
            break
    if price is None:
        raise ValidationFailed("product_id", N_("«{name}» has no price in the list "
                                                "«{list}»"),
                               name=product.name, list=ctx.price_list.name)
    list_price = price.quantize(CENT, ROUND_HALF_UP)
    price = _discounts(ctx, product, qty, list_price, cats, promos, trace, floor)
    discount = Decimal(0) if not list_price else (
        (list_price - price) * HUNDRED / list_price).quantize(CENT, ROUND_HALF_UP)
    promo_id = next((s["promo_id"] for s in trace if s["step"] == "promo"), None)
    return Priced(product, qty, list_price, price, discount, trace, promo_id, floor)


def _discounts(ctx: Context, product: Product, qty: Decimal, price: Decimal, cats: set[int],
               promos: list[Promo], trace: list[dict[str, Any]],
               floor: Decimal | None) -> Decimal:
    offered: list[tuple[str, Decimal, dict[str, Any]]] = []
    rate = ctx.group_rates.get(product.kind_id, ctx.group_rates.get(None))
    if rate:
        offered.append(("group", Decimal(rate), {"group": ctx.terms.discount_group.name}))
    own = ctx.terms.discount if ctx.terms is not None else None
    if own:
        offered.append(("individual", Decimal(own), {}))
    promo = _best_promo(product, qty, cats, promos)
    if promo is not None:
        offered.append(("promo", Decimal(promo.percent), {"promo": promo.name,
                                                          "promo_id": promo.id}))
    if ctx.combine == CombineMode.CHAIN or not offered:
        chosen = offered
    else:
        chosen = [max(offered, key=lambda o: o[1])]
    # the rules and the client's discounts, then the floor, then a promo (which may go
    # below the floor: an admin set it)
    for step, percent, about in [o for o in chosen if o[0] != "promo"]:
        price = _percent_off(price, percent)
        trace.append(_step(step, price, value=percent, combine=str(ctx.combine), **about))
    price = price.quantize(CENT, ROUND_HALF_UP)
    if floor is not None and price < floor:
        price = floor
        trace.append(_step("min_margin", price))
    for step, percent, about in [o for o in chosen if o[0] == "promo"]:
        price = _percent_off(price, percent).quantize(CENT, ROUND_HALF_UP)
        trace.append(_step(step, price, value=percent, combine=str(ctx.combine), **about))
    return price


def _best_promo(product: Product, qty: Decimal, cats: set[int],
                promos: list[Promo]) -> Promo | None:
    best = None
    for promo in promos:
        if promo.product_id is not None and promo.product_id != product.id:
            continue
        if promo.kind_id is not None and promo.kind_id != product.kind_id:
            continue
        if promo.category_id is not None and promo.category_id not in cats:
            continue
        if promo.min_qty is not None and qty < promo.min_qty:
            continue
        if best is None or promo.percent > best.percent:
            best = promo
    return best


async def price_of(client_id: int, product_id: int, quantity: Decimal, on: date) -> Priced:
    """One product's price for one client (``/price`` in the bot)."""
    ctx = await context_for(client_id, on)
    return (await price_lines(ctx, [(product_id, quantity)]))[0]
