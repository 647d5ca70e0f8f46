"""The product catalogue and its stock for the Mini App (issue 13, section 7; K-4).

* **Admins** create and change products with every field — article (``code``, unique),
  name, category (the tree of :mod:`services.catalogue_setup`), unit, VAT rate (one of
  :data:`VAT_RATES`, or none), kind, service or goods, cost price, barcode — and archive
  or restore them (``archived``: an archived product leaves the choice lists, orders
  keep it). Every save refills the product's search text. Admins set on hand.
* **Everyone** reads: the list (search as :mod:`services.products` does — every word
  in the name, article or barcode, an article typed whole first, a typo forgiven when
  nothing else is found —, a category with its subcategories, paged in SQL) with each
  product's price in the default list and its free stock; a product's card with its
  price in each active list and its stock in each warehouse; the stock of a warehouse
  (on hand, reserved, free; "short" shows what has nothing free).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.expressions import F, Q, Subquery

from models import PriceList, Product, ProductCategory, ProductKind, StockLevel, User, Warehouse
from services import products as product_search
from services import stock as stock_svc
from services.catalogue import _admin, _name
from services.catalogue_setup import branch_ids, category_paths
from services.deal_money import parse_amount
from services.errors import N_, NotFound, ValidationFailed
from services.text import words as split_words

VAT_RATES = tuple(Decimal(r) for r in ("0", "5", "7", "10", "14", "20"))
NO_VAT = {"", "none", "no", "novat", "no vat", "-", "—", "без ндс", "без пдв", "без",
          "нет", "ні", "безндс", "безпдв"}
YES = {"1", "yes", "y", "true", "да", "так", "+", "x", "✓"}
NO = {"0", "no", "n", "false", "нет", "ні", "-", ""}
PAGE = 30
MAX_PAGE = 200
MAX_QTY = Decimal("9999999999999.999")


def vat_text(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{rate.normalize():f}"


def parse_vat(raw: Any) -> Decimal | None:
    """"20", "20%", "20,0" → 20; "", "без НДС", "none" → None (no VAT); any other
    rate is refused naming the allowed ones."""
    if raw is None:
        return None
    text = " ".join(str(raw).split()).casefold().rstrip("%").strip()
    if text in NO_VAT or text.replace(" ", "") in NO_VAT:
        return None
    try:
        rate = Decimal(text.replace(",", "."))
    except ArithmeticError:
        rate = None
    if rate is None or not rate.is_finite() or rate not in VAT_RATES:
        raise ValidationFailed("vat_rate", N_("«{value}» is not a VAT rate; choose one of "
                                              "{rates} or none"),
                               value=str(raw)[:20],
                               rates=", ".join(vat_text(r) for r in VAT_RATES))
    return next(r for r in VAT_RATES if r == rate)


def parse_flag(raw: Any, where: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw if raw is not None else "").strip().casefold()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValidationFailed(where, N_("«{value}» is neither yes nor no"), value=str(raw)[:20])


def parse_on_hand(raw: Any) -> Decimal:
    """On hand as typed ("12", "2,5", "0"): zero or more, three places."""
    text = "".join(str(raw if raw is not None else "").split()).replace(",", ".")
    try:
        qty = Decimal(text)
    except ArithmeticError:
        raise ValidationFailed("on_hand", N_("«{value}» is not a number"),
                               value=str(raw)[:40]) from None
    if not qty.is_finite() or qty < 0 or qty > MAX_QTY:
        raise ValidationFailed("on_hand", N_("zero or more"))
    return qty.quantize(Decimal("0.001"))


async def _ref(model: Any, raw: Any, where: str) -> int | None:
    if raw in (None, "", 0):
        return None
    try:
        ref = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(where, N_("choose one from the list")) from None
    if ref <= 0 or ref > 2**31 - 1 or not await model.exists(id=ref):
        raise ValidationFailed(where, N_("choose one from the list"))
    return ref


async def apply_product(row: Product, data: dict[str, Any]) -> Product:
    """Check ``data`` and put it into ``row`` (not saved); a bad value raises naming its
    field, ``row`` then half-changed (callers drop it)."""
    if "name" in data or row.id is None:
        row.name = _name(data.get("name"), 300)
    if "code" in data:
        code = " ".join(str(data["code"] or "").split()) or None
        if code and len(code) > 64:
            raise ValidationFailed("code", N_("at most {limit} characters"), limit=64)
        qs = Product.filter(code=code)
        if row.id is not None:
            qs = qs.exclude(id=row.id)
        if code and await qs.exists():
            raise ValidationFailed("code", N_("«{code}» is already used"), code=code)
        row.code = code
    if "unit" in data:
        unit = " ".join(str(data["unit"] or "").split())
        if not unit or len(unit) > 16:
            raise ValidationFailed("unit", N_("one to {limit} characters"), limit=16)
        row.unit = unit
    if "group_id" in data:
        row.group_id = await _ref(ProductCategory, data["group_id"], "group_id")
    if "kind_id" in data:
        row.kind_id = await _ref(ProductKind, data["kind_id"], "kind_id")
    if "vat_rate" in data:
        row.vat_rate = parse_vat(data["vat_rate"])
    if "cost_price" in data:
        try:
            row.cost_price = parse_amount(data["cost_price"])
        except ValidationFailed as exc:
            raise ValidationFailed("cost_price", exc.template, **exc.params) from None
    if "barcode" in data:
        barcode = "".join(str(data["barcode"] or "").split()) or None
        if barcode and len(barcode) > 32:
            raise ValidationFailed("barcode", N_("at most {limit} characters"), limit=32)
        row.barcode = barcode
    for flag in ("is_service", "archived"):
        if flag in data:
            setattr(row, flag, parse_flag(data[flag], flag))
    row.search_text = product_search.search_text_of(row.name, row.code, row.barcode) or " "
    return row


async def do_create_product(actor: User, data: dict[str, Any]) -> Product:
    _admin(actor, "the product catalogue")
    row = await apply_product(Product(name=""), {"unit": "шт", **data})
    await row.save()
    return row


async def do_update_product(actor: User, product_id: int, data: dict[str, Any]) -> Product:
    """Change any field; ``archived`` archives or restores."""
    _admin(actor, "the product catalogue")
    row = await Product.get_or_none(id=product_id)
    if row is None:
        raise NotFound("product")
    await apply_product(row, data)
    await row.save()
    return row


# ---- prices ---------------------------------------------------------------------------

async def default_list() -> PriceList | None:
    return await PriceList.filter(archived=False).order_by("-is_default", "sort_order",
                                                           "id").first()


async def list_prices(price_list: PriceList, product_ids: list[int]
                      ) -> dict[int, tuple[Decimal, bool]]:
    """Each product's price in the list: (price, from a base list?) — the list's own,
    else the first base list's that has one (services.pricing's chain)."""
    from services.pricing import list_chain, list_prices

    if not product_ids:
        return {}
    chain = await list_chain(price_list)
    found = await list_prices([pl.id for pl in chain], product_ids)
    out: dict[int, tuple[Decimal, bool]] = {}
    for pid in product_ids:
        for depth, pl in enumerate(chain):
            if (pl.id, pid) in found:
                out[pid] = (found[(pl.id, pid)], depth > 0)
                break
    return out


# ---- the list -------------------------------------------------------------------------

@dataclass
class ProductRow:
    product: Product
    category: str | None
    price: Decimal | None
    free: Decimal | None  # None: a service


@dataclass
class ProductPage:
    rows: list[ProductRow]
    has_more: bool
    price_list: PriceList | None
    currency: str = "RUB"


async def _searched(qs: Any, q: str) -> Any:
    text = " ".join((q or "").split())[:200]
    words = split_words(text)[:6]
    if not words:
        return qs, False
    await product_search._fill_missing()
    cond = Q(code=text) | Q(barcode=text)
    for_words = Q()
    for w in words:
        for_words &= Q(search_text__contains=w)
    return qs.filter(cond | for_words), True


async def list_products(*, q: str = "", category_id: int | None = None,
                        archived: bool = False, offset: int = 0,
                        limit: int = PAGE) -> ProductPage:
    """A page of the catalogue (archived products instead, asked), by name."""
    limit = max(1, min(limit, MAX_PAGE))
    qs = Product.filter(archived=archived)
    if category_id is not None:
        qs = qs.filter(group_id__in=await branch_ids(category_id))
    qs, searching = await _searched(qs, q)
    found = await qs.order_by("name", "id").offset(max(0, offset)).limit(limit + 1)
    if searching and not found and offset == 0 and not archived:
        typo = await product_search.search_products(q, limit=limit)  # a typo forgiven
        allowed = set(await branch_ids(category_id)) if category_id is not None else None
        found = [p for p in typo if allowed is None or p.group_id in allowed]
    has_more = len(found) > limit
    found = found[:limit]
    ids = [p.id for p in found]
    price_list = await default_list()
    prices = await list_prices(price_list, ids) if price_list else {}
    free = await stock_svc.free_stock([p.id for p in found if not p.is_service])
    paths = await category_paths()
    rows = [ProductRow(p, paths.get(p.group_id), prices.get(p.id, (None, False))[0],
                       None if p.is_service else free.get(p.id, Decimal(0))) for p in found]
    return ProductPage(rows, has_more, price_list,
                       price_list.currency if price_list else "RUB")


# ---- a product's card -------------------------------------------------------------------

@dataclass
class StockIn:
    warehouse: Warehouse
    on_hand: Decimal
    reserved: Decimal

    @property
    def free(self) -> Decimal:
        return self.on_hand - self.reserved


@dataclass
class ProductCard:
    product: Product
    category: str | None
    kind: str | None
    prices: list[tuple[PriceList, Decimal | None, bool]] = field(default_factory=list)
    stock: list[StockIn] = field(default_factory=list)


async def product_card(product_id: int) -> ProductCard:
    product = await Product.get_or_none(id=product_id)
    if product is None:
        raise NotFound("product")
    paths = await category_paths()
    kind = await ProductKind.get_or_none(id=product.kind_id) if product.kind_id else None
    card = ProductCard(product, paths.get(product.group_id), kind.name if kind else None)
    for pl in await PriceList.filter(archived=False).order_by("-is_default", "sort_order",
                                                               "id"):
        price, inherited = (await list_prices(pl, [product.id])).get(product.id, (None, False))
        card.prices.append((pl, price, inherited))
    if not product.is_service:
        levels = {lv.warehouse_id: lv for lv in await StockLevel.filter(product_id=product.id)}
        for w in await Warehouse.filter(archived=False).order_by("-is_default", "name"):
            lv = levels.get(w.id)
            card.stock.append(StockIn(w, Decimal(lv.on_hand) if lv else Decimal(0),
                                      Decimal(lv.reserved) if lv else Decimal(0)))
    return card


# ---- stock ----------------------------------------------------------------------------

@dataclass
class StockRow:
    product: Product
    on_hand: Decimal
    reserved: Decimal

    @property
    def free(self) -> Decimal:
        return self.on_hand - self.reserved


async def stock_page(warehouse_id: int, *, q: str = "", short: bool = False,
                     offset: int = 0, limit: int = PAGE) -> tuple[list[StockRow], bool]:
    """The goods (not services, not archived) of a warehouse with their stock, by name;
    ``short``: only those with nothing free (none, or all reserved)."""
    if not await Warehouse.exists(id=warehouse_id):
        raise NotFound("warehouse")
    limit = max(1, min(limit, MAX_PAGE))
    qs = Product.filter(archived=False, is_service=False)
    if short:
        with_free = StockLevel.filter(warehouse_id=warehouse_id,
                                      on_hand__gt=F("reserved")).values("product_id")
        qs = qs.exclude(id__in=Subquery(with_free))
    qs, _ = await _searched(qs, q)
    found = await qs.order_by("name", "id").offset(max(0, offset)).limit(limit + 1)
    has_more = len(found) > limit
    found = found[:limit]
    levels = {lv.product_id: lv for lv in await StockLevel.filter(
        warehouse_id=warehouse_id, product_id__in=[p.id for p in found])}
    rows = []
    for p in found:
        lv = levels.get(p.id)
        rows.append(StockRow(p, Decimal(lv.on_hand) if lv else Decimal(0),
                             Decimal(lv.reserved) if lv else Decimal(0)))
    return rows, has_more


async def do_set_on_hand(actor: User, warehouse_id: int, product_id: int, raw: Any, *,
                         source: str = "web") -> StockRow:
    """K-4: an admin sets what is on hand (the reservation stays)."""
    _admin(actor, "the stock")
    on_hand = parse_on_hand(raw)
    product = await Product.get_or_none(id=product_id)
    if product is None:
        raise NotFound("product")
    if product.is_service:
        raise ValidationFailed("on_hand", N_("a service has no stock"))
    level = await stock_svc.set_on_hand(actor, warehouse_id, product_id, on_hand,
                                        source=source)
    fresh = await StockLevel.get(id=level.id)
    return StockRow(product, Decimal(fresh.on_hand), Decimal(fresh.reserved))
