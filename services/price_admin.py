"""Price lists, their prices and rules, and which list a client category gets, as an
admin edits them (issue 13: K-5, M-5); how they price is :mod:`services.pricing`.

* **Who**: admins change; everyone with access reads (the lists, prices and rules are
  what a manager quotes from).
* **A list**: a name (unique), a currency (three letters), dates (from ≤ to, either
  open), a base list (same currency, no cycle, a chain of at most five), VAT included
  or not, the default (exactly one: making another the default moves the mark; the
  default is neither unmarked nor archived), archived and restored.
* **Prices**: a product's own price in a list is set (≥ 0) or cleared; the list page
  pages through the products (search in SQL) with their own price and, when there is
  none, the base list's.
* **Rules** are checked field by field (each refusal names its field): the method
  (fixed, markup, discount), the base (the price so far, another list — then named —,
  the cost price — warned when no product in the scope has one), the value (a
  discount 0..100, a markup ≥ 0, a fixed price ≥ 0), the minimum quantity ≥ 0, dates
  from ≤ to, the scope (a product, or a category, or everything — never both), the
  client's classifier node and status, the surcharge, rounding > 0, the minimum margin
  (0..1000 %) and "final". New rules go last; up and down swap with the neighbour.
* **Try a price**: a client, a product, a quantity (and, optionally, the list being
  edited instead of the client's) → the price with its trace, to check the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models import (
    ClassifierNode,
    ClientList,
    ListForCategory,
    ListPrice,
    PriceList,
    PriceRule,
    Product,
    ProductCategory,
    RuleBase,
    RuleMethod,
    User,
)
from services.catalogue import _admin
from services.errors import N_, NotFound, Text, ValidationFailed

MAX_CHAIN = 5
MAX_MONEY = Decimal("99999999999999")
MAX_PAGE = 50


# ---- reading values --------------------------------------------------------------------------

def decimal_of(raw: Any, where: str, *, lo: Decimal | None = Decimal(0),
               hi: Decimal | None = None, places: int = 2) -> Decimal | None:
    """A number as typed ("12,5", "1 000"), None when empty; refused naming ``where``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValidationFailed(where, N_("«{value}» is not a number"), value=str(raw))
    text = str(raw).replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(where, N_("«{value}» is not a number"),
                               value=str(raw)[:40]) from None
    if not value.is_finite() or abs(value) > MAX_MONEY:
        raise ValidationFailed(where, N_("«{value}» is not a number"), value=str(raw)[:40])
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise ValidationFailed(where, N_("from {lo} to {hi}"), lo=lo, hi=hi)
    if lo is not None and value < lo:
        raise ValidationFailed(where, N_("at least {lo}"), lo=lo)
    if hi is not None and value > hi:
        raise ValidationFailed(where, N_("at most {hi}"), hi=hi)
    return value.quantize(Decimal(1).scaleb(-places))


def date_of(raw: Any, where: str) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed(where, N_("«{value}» is not a date"),
                               value=str(raw)[:40]) from None


def period_of(start: date | None, end: date | None, where: str = "valid_to") -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed(where, N_("the end is before the start"))


def _id(raw: Any, where: str) -> int | None:
    if raw in (None, "", 0, "0"):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(where, N_("choose a value from the list")) from None
    if not 0 < value < 2**31:
        raise ValidationFailed(where, N_("choose a value from the list"))
    return value


# ---- lists -----------------------------------------------------------------------------------

async def list_price_lists(*, archived: bool = False) -> list[PriceList]:
    qs = PriceList.all() if archived else PriceList.filter(archived=False)
    return await qs.order_by("sort_order", "name", "id").select_related("base_list")


async def get_price_list(list_id: int) -> PriceList:
    found = await PriceList.get_or_none(id=list_id).select_related("base_list")
    if found is None:
        raise NotFound("price_list")
    return found


async def _check_base(row: PriceList, base_id: int | None) -> PriceList | None:
    if base_id is None:
        return None
    base = await PriceList.get_or_none(id=base_id)
    if base is None or base.archived:
        raise ValidationFailed("base_list_id", N_("choose a value from the list"))
    if base.currency != row.currency:
        raise ValidationFailed("base_list_id", N_("the base list is in {currency}: choose "
                                                  "one in the list's own currency"),
                               currency=base.currency)
    chain, current = [base.id], base
    while current.base_list_id:
        if current.base_list_id == row.id or current.base_list_id in chain:
            raise ValidationFailed("base_list_id", N_("a list cannot be based on itself, "
                                                      "even through other lists"))
        chain.append(current.base_list_id)
        if len(chain) > MAX_CHAIN - 1:
            break
        current = await PriceList.get(id=current.base_list_id)
    if base.id == row.id:
        raise ValidationFailed("base_list_id", N_("a list cannot be based on itself, "
                                                  "even through other lists"))
    # the whole chain from this list (and from any list based on it) stays ≤ five
    below = await _depth_below(row.id) if row.id else 0
    if len(chain) + 1 + below > MAX_CHAIN:
        raise ValidationFailed("base_list_id", N_("at most {max} lists one on another"),
                               max=MAX_CHAIN)
    return base


async def _depth_below(list_id: int) -> int:
    """How many lists stand on this one, at most (the longest chain down)."""
    depth, frontier = 0, [list_id]
    while frontier and depth <= MAX_CHAIN:
        frontier = list(await PriceList.filter(base_list_id__in=frontier)
                        .values_list("id", flat=True))
        if frontier:
            depth += 1
    return depth


async def do_save_list(actor: User, list_id: int | None, data: dict[str, Any]) -> PriceList:
    """Create (``list_id`` None) or change a list; ``archived`` archives or restores."""
    _admin(actor, "the price lists")
    if list_id is None:
        row = PriceList(name="", currency="RUB")
        data = {"currency": "RUB", **data}
        if "name" not in data:
            raise ValidationFailed("name", N_("is required"))
    else:
        row = await get_price_list(list_id)
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if not name or len(name) > 100:
            raise ValidationFailed("name", N_("one to {limit} characters"), limit=100)
        if await PriceList.filter(name=name).exclude(id=row.id or 0).exists():
            raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
        row.name = name
    if "currency" in data:
        currency = str(data["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
            raise ValidationFailed("currency", N_("three Latin letters: RUB, UAH, USD"))
        if row.id and currency != row.currency and await PriceList.filter(
                base_list_id=row.id, archived=False).exists():
            raise ValidationFailed("currency", N_("other lists are based on this one in "
                                                  "{currency}"), currency=row.currency)
        row.currency = currency
    for key in ("valid_from", "valid_to"):
        if key in data:
            setattr(row, key, date_of(data[key], key))
    period_of(row.valid_from, row.valid_to)
    if "base_list_id" in data or "currency" in data:
        base_id = _id(data.get("base_list_id", row.base_list_id), "base_list_id")
        row.base_list = await _check_base(row, base_id)
    if "vat_included" in data:
        row.vat_included = bool(data["vat_included"])
    if "sort_order" in data:
        row.sort_order = int(decimal_of(data["sort_order"], "sort_order", lo=Decimal(-9999),
                                        hi=Decimal(9999), places=0) or 0)
    make_default = None
    if "is_default" in data:
        if data["is_default"]:
            make_default = True
        elif row.is_default:
            raise ValidationFailed("is_default", N_("one list is always the default: make "
                                                    "another list the default instead"))
    if "archived" in data:
        if data["archived"] and (row.is_default or make_default):
            raise ValidationFailed("archived", N_("the default list cannot be archived: "
                                                  "make another list the default first"))
        row.archived = bool(data["archived"])
    if make_default and row.archived:
        raise ValidationFailed("is_default", N_("an archived list cannot be the default"))
    if not row.id and not await PriceList.filter(is_default=True, archived=False).exists():
        make_default = True  # the first list is the default
    async with in_transaction():
        if make_default:
            await PriceList.filter(is_default=True).exclude(id=row.id or 0).update(
                is_default=False)
            row.is_default = True
        await row.save()
    return await get_price_list(row.id)


# ---- prices ----------------------------------------------------------------------------------

@dataclass
class PriceRow:
    product: Product
    price: Decimal | None  # the list's own
    inherited: Decimal | None = None  # the base lists', when it has none
    from_list: str | None = None


def product_search(q: str | None) -> Any:
    """Products not archived whose folded search text has every word of ``q`` (SQL)."""
    from services.text import words as split_words

    qs = Product.filter(archived=False)
    for w in split_words(" ".join((q or "").split())[:200])[:6]:
        qs = qs.filter(search_text__contains=w)
    return qs


async def list_prices(list_id: int, *, q: str | None = None, only_priced: bool = False,
                      page: int = 1, per_page: int = 20) -> tuple[list[PriceRow], bool]:
    """A page of products with the list's price (their own, else the base lists'), and
    whether there are more."""
    from services.pricing import list_chain

    pl = await get_price_list(list_id)
    per_page = max(1, min(per_page, MAX_PAGE))
    page = max(1, min(page, 10_000))
    if q:
        from services.products import _fill_missing

        await _fill_missing()
    qs = product_search(q)
    if only_priced:
        qs = qs.filter(id__in=Subquery(ListPrice.filter(price_list_id=pl.id)
                                       .values("product_id")))
    products = await qs.order_by("name", "id").offset((page - 1) * per_page).limit(
        per_page + 1)
    more = len(products) > per_page
    products = products[:per_page]
    chain = await list_chain(pl)
    names = {p.id: p.name for p in chain}
    rows = await ListPrice.filter(price_list_id__in=list(names), product_id__in=[
        p.id for p in products]).values_list("price_list_id", "product_id", "price")
    prices = {(lid, pid): Decimal(v) for lid, pid, v in rows}
    out = []
    for p in products:
        own = prices.get((pl.id, p.id))
        row = PriceRow(p, own)
        if own is None:
            for base in chain[1:]:
                if (base.id, p.id) in prices:
                    row.inherited, row.from_list = prices[(base.id, p.id)], base.name
                    break
        out.append(row)
    return out, more


async def price_row(list_id: int, product_id: int) -> PriceRow:
    """One product's row of a list (its own price, else the base lists')."""
    from services.pricing import list_chain

    pl = await get_price_list(list_id)
    product = await Product.get_or_none(id=product_id)
    if product is None:
        raise NotFound("product")
    chain = await list_chain(pl)
    prices = dict(await ListPrice.filter(price_list_id__in=[c.id for c in chain],
                                         product_id=product.id
                                         ).values_list("price_list_id", "price"))
    row = PriceRow(product, prices.get(pl.id))
    if row.price is None:
        base = next((c for c in chain[1:] if c.id in prices), None)
        if base is not None:
            row.inherited, row.from_list = prices[base.id], base.name
    return row


async def do_set_price(actor: User, list_id: int, product_id: int, raw: Any) -> Decimal | None:
    """Set a product's own price in a list (≥ 0); empty clears it."""
    _admin(actor, "the price lists")
    pl = await get_price_list(list_id)
    if not await Product.filter(id=product_id).exists():
        raise NotFound("product")
    price = decimal_of(raw, "price")
    if price is None:
        await ListPrice.filter(price_list_id=pl.id, product_id=product_id).delete()
        return None
    updated = await ListPrice.filter(price_list_id=pl.id, product_id=product_id).update(
        price=price)
    if not updated:
        await ListPrice.create(price_list_id=pl.id, product_id=product_id, price=price)
    return price


# ---- rules -----------------------------------------------------------------------------------

@dataclass
class RuleResult:
    rule: PriceRule
    warnings: list[Text] = field(default_factory=list)


async def list_rules(list_id: int, *, archived: bool = False) -> list[PriceRule]:
    await get_price_list(list_id)
    qs = PriceRule.filter(price_list_id=list_id)
    if not archived:
        qs = qs.filter(archived=False)
    return await qs.order_by("archived", "position", "id").select_related(
        "product", "category", "client_node", "base_list")


async def get_rule(rule_id: int) -> PriceRule:
    """A rule with what its card names (product, category, client category, base list)."""
    rule = await PriceRule.get_or_none(id=rule_id).select_related(
        "product", "category", "client_node", "base_list")
    if rule is None:
        raise NotFound("rule")
    return rule


async def active_categories() -> list[Any]:
    """The product categories not archived, by name (the rule and promo forms' choice)."""
    from models import ProductCategory

    return await ProductCategory.filter(archived=False).order_by("name")


RULE_FIELDS = ("name", "method", "base", "base_list_id", "value", "min_qty", "valid_from",
               "valid_to", "scope", "product_id", "category_id", "client_node_id",
               "client_status", "surcharge", "rounding", "min_margin", "final", "archived")


async def _rule_values(row: PriceRule, data: dict[str, Any]) -> list[Text]:
    """Check ``data`` over ``row`` field by field and set it; the warnings."""
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], N_("is not expected here"))
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if len(name) > 200:
            raise ValidationFailed("name", N_("at most {limit} characters"), limit=200)
        row.name = name or None
    if "method" in data:
        if data["method"] not in RuleMethod.__members__.values():
            raise ValidationFailed("method", N_("choose a value from the list"))
        row.method = RuleMethod(data["method"])
    if "base" in data:
        if data["base"] not in RuleBase.__members__.values():
            raise ValidationFailed("base", N_("choose a value from the list"))
        row.base = RuleBase(data["base"])
    if "base_list_id" in data:
        row.base_list_id = _id(data["base_list_id"], "base_list_id")
    if row.base == RuleBase.OTHER_LIST and row.method != RuleMethod.FIXED:
        if row.base_list_id is None:
            raise ValidationFailed("base_list_id", N_("choose the list the price is taken "
                                                      "from"))
        other = await PriceList.get_or_none(id=row.base_list_id, archived=False)
        if other is None:
            raise ValidationFailed("base_list_id", N_("choose a value from the list"))
        if other.id == row.price_list_id:
            raise ValidationFailed("base_list_id", N_("choose another list than this one"))
    else:
        row.base_list_id = None
    if "value" in data:
        value = decimal_of(data["value"], "value", lo=None, places=4)
        if value is None:
            raise ValidationFailed("value", N_("is required"))
        row.value = value
    value = Decimal(row.value or 0)
    if row.method == RuleMethod.DISCOUNT and not 0 <= value <= 100:
        raise ValidationFailed("value", N_("a discount is from 0 to 100 percent"))
    if row.method == RuleMethod.MARKUP and not 0 <= value <= 10000:
        raise ValidationFailed("value", N_("a markup is from 0 to 10000 percent"))
    if row.method == RuleMethod.FIXED and value < 0:
        raise ValidationFailed("value", N_("a price is zero or more"))
    if "min_qty" in data:
        row.min_qty = decimal_of(data["min_qty"], "min_qty", places=3)
    for key in ("valid_from", "valid_to"):
        if key in data:
            setattr(row, key, date_of(data[key], key))
    period_of(row.valid_from, row.valid_to)
    await _rule_scope(row, data)
    if "client_node_id" in data:
        node = _id(data["client_node_id"], "client_node_id")
        if node is not None and not await ClassifierNode.filter(id=node, entity="client").exists():
            raise ValidationFailed("client_node_id", N_("choose a value from the list"))
        row.client_node_id = node
    if "client_status" in data:
        status = data["client_status"] or None
        if status is not None and status not in ClientList.__members__.values():
            raise ValidationFailed("client_status", N_("choose a value from the list"))
        row.client_status = status
    if "surcharge" in data:
        row.surcharge = decimal_of(data["surcharge"], "surcharge", lo=None)
    if "rounding" in data:
        rounding = decimal_of(data["rounding"], "rounding", lo=None)
        if rounding is not None and rounding <= 0:
            raise ValidationFailed("rounding", N_("a multiple above zero: 0,10, 1, 10"))
        row.rounding = rounding
    if "min_margin" in data:
        row.min_margin = decimal_of(data["min_margin"], "min_margin", hi=Decimal(1000))
    if "final" in data:
        row.final = bool(data["final"])
    if "archived" in data:
        row.archived = bool(data["archived"])
    return await _rule_warnings(row)


async def _rule_scope(row: PriceRule, data: dict[str, Any]) -> None:
    scope = data.get("scope")
    if scope is None and ("product_id" in data or "category_id" in data):
        scope = "product" if data.get("product_id") else (
            "category" if data.get("category_id") else "all")
    if scope is None:
        return
    if scope not in ("product", "category", "all"):
        raise ValidationFailed("scope", N_("choose a value from the list"))
    product_id = _id(data.get("product_id"), "product_id")
    category_id = _id(data.get("category_id"), "category_id")
    if scope == "product":
        if product_id is None:
            raise ValidationFailed("product_id", N_("choose a product"))
        if category_id is not None:
            raise ValidationFailed("category_id", N_("a rule is for a product or for a "
                                                     "category, not both"))
        if not await Product.filter(id=product_id).exists():
            raise ValidationFailed("product_id", N_("choose a product"))
    elif scope == "category":
        if category_id is None:
            raise ValidationFailed("category_id", N_("choose a category"))
        if product_id is not None:
            raise ValidationFailed("product_id", N_("a rule is for a product or for a "
                                                    "category, not both"))
        if not await ProductCategory.filter(id=category_id).exists():
            raise ValidationFailed("category_id", N_("choose a category"))
    row.product_id = product_id if scope == "product" else None
    row.category_id = category_id if scope == "category" else None


async def _rule_warnings(row: PriceRule) -> list[Text]:
    out: list[Text] = []
    uses_cost = (row.base == RuleBase.COST and row.method != RuleMethod.FIXED) or \
        row.min_margin is not None
    if not uses_cost:
        return out
    qs = Product.filter(archived=False, cost_price__not_isnull=True)
    if row.product_id:
        qs = qs.filter(id=row.product_id)
    elif row.category_id:
        # the category and every category under it
        ids = {row.category_id}
        frontier = [row.category_id]
        while frontier and len(ids) < 5000:
            frontier = [c for c in await ProductCategory.filter(parent_id__in=frontier)
                        .values_list("id", flat=True) if c not in ids]
            ids.update(frontier)
        qs = qs.filter(group_id__in=sorted(ids))
    if not await qs.exists():
        out.append(Text(N_("no product this rule is for has a cost price: it will not "
                           "change their price")))
    return out


async def _rule(rule_id: int) -> PriceRule:
    found = await PriceRule.get_or_none(id=rule_id)
    if found is None:
        raise NotFound("rule")
    return found


async def do_create_rule(actor: User, list_id: int, data: dict[str, Any]) -> RuleResult:
    _admin(actor, "the price rules")
    pl = await get_price_list(list_id)
    row = PriceRule(price_list_id=pl.id, method=RuleMethod.DISCOUNT, base=RuleBase.LIST,
                    value=Decimal(0))
    if "method" not in data:
        raise ValidationFailed("method", N_("is required"))
    if "value" not in data:
        raise ValidationFailed("value", N_("is required"))
    warnings = await _rule_values(row, dict(data))
    last = await PriceRule.filter(price_list_id=pl.id).order_by("-position").first()
    row.position = (last.position + 1) if last else 0
    await row.save()
    return RuleResult(row, warnings)


async def do_update_rule(actor: User, rule_id: int, data: dict[str, Any]) -> RuleResult:
    _admin(actor, "the price rules")
    row = await _rule(rule_id)
    warnings = await _rule_values(row, dict(data))
    await row.save()
    return RuleResult(row, warnings)


async def do_move_rule(actor: User, rule_id: int, direction: str) -> list[PriceRule]:
    """Swap a rule with the one before (``up``) or after (``down``) it; the list's rules
    are numbered 0, 1, 2… afresh."""
    _admin(actor, "the price rules")
    if direction not in ("up", "down"):
        raise ValidationFailed("direction", N_("choose a value from the list"))
    row = await _rule(rule_id)
    rules = await PriceRule.filter(price_list_id=row.price_list_id, archived=False
                                   ).order_by("position", "id")
    ids = [r.id for r in rules]
    if row.id in ids:
        i = ids.index(row.id)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(ids):
            rules[i], rules[j] = rules[j], rules[i]
    async with in_transaction():
        for n, r in enumerate(rules):
            if r.position != n:
                r.position = n
                await PriceRule.filter(id=r.id).update(position=n)
    return await list_rules(row.price_list_id)


# ---- which list a client category gets ----------------------------------------------------

async def category_lists() -> list[ListForCategory]:
    return await ListForCategory.all().order_by("priority", "id").select_related(
        "client_node", "price_list")


async def do_set_category_list(actor: User, data: dict[str, Any]) -> ListForCategory:
    """The clients of a classifier node (and its branch) get a list; ``priority`` orders
    them when a client sits in several. The row is returned with its node and list."""
    _admin(actor, "the price lists")
    node_id = _id(data.get("client_node_id"), "client_node_id")
    if node_id is None or not await ClassifierNode.filter(id=node_id,
                                                         entity="client").exists():
        raise ValidationFailed("client_node_id", N_("choose a value from the list"))
    list_id = _id(data.get("price_list_id"), "price_list_id")
    if list_id is None or not await PriceList.filter(id=list_id, archived=False).exists():
        raise ValidationFailed("price_list_id", N_("choose a value from the list"))
    priority = int(decimal_of(data.get("priority") or 0, "priority", lo=Decimal(0),
                              hi=Decimal(9999), places=0) or 0)
    row, _ = await ListForCategory.update_or_create(
        client_node_id=node_id, price_list_id=list_id, defaults={"priority": priority})
    await row.fetch_related("client_node", "price_list")
    return row


async def do_remove_category_list(actor: User, row_id: int) -> None:
    _admin(actor, "the price lists")
    if not await ListForCategory.filter(id=row_id).delete():
        raise NotFound("price_list")


# ---- try a price -------------------------------------------------------------------------------

async def try_price(actor: User, client_id: int, product_id: int, quantity: Any, on: date,
                    *, list_id: int | None = None):
    """A client's price (services.pricing) with its trace; with ``list_id``, as if the
    client bought from that list (to check its rules while editing them)."""
    from services import pricing
    from services.clients import get_client
    from services.orders import parse_quantity

    client = await get_client(actor, client_id)
    qty = parse_quantity(quantity, "quantity")
    if not await Product.filter(id=product_id).exists():
        raise ValidationFailed("product_id", N_("choose a product"))
    ctx = await pricing.context_for(client, on)
    if list_id is not None:
        ctx.price_list = await get_price_list(list_id)
    return (await pricing.price_lines(ctx, [(product_id, qty)]))[0], ctx.price_list
