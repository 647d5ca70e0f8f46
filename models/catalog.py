"""Products, prices, discounts, matrices and stock (issue 13: K-4, K-5, M-5, A-14, S-22).

The product itself is :class:`models.activities.Product` (the catalogue the activities
issue began); this module adds what sells it. Money is ``Decimal`` (``DecimalField``),
quantities too (a product may be sold by the metre or the kilogram).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel

MONEY = {"max_digits": 16, "decimal_places": 2}
QTY = {"max_digits": 16, "decimal_places": 3}
PERCENT = {"max_digits": 7, "decimal_places": 2}


class ProductCategory(TimestampedModel):
    """The category tree of the catalogue (1C's «Группы»)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    parent: fields.ForeignKeyNullableRelation[ProductCategory] = fields.ForeignKeyField(
        "kontakt.ProductCategory", related_name="children", null=True,
        on_delete=fields.CASCADE)
    external_id = fields.CharField(max_length=80, null=True, unique=True)  # CommerceML «Ид»
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "product_category"


class ProductKind(TimestampedModel):
    """A kind of product for discount coefficients (A-14): «Трубы», «Фитинги»..."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "product_kind"


# ---- prices (K-5, M-5) ---------------------------------------------------------------------

class PriceList(TimestampedModel):
    """A price list in one currency, valid between two dates (either open). Its own
    prices are :class:`ListPrice` rows; its rules (:class:`PriceRule`) change them or
    make prices from another list or the cost price."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    currency = fields.CharField(max_length=3, default="RUB")
    valid_from = fields.DateField(null=True)
    valid_to = fields.DateField(null=True)
    # where a product without its own price here takes one from (before the rules)
    base_list: fields.ForeignKeyNullableRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="derived", null=True, on_delete=fields.SET_NULL)
    vat_included = fields.BooleanField(default=True)  # «цена включает НДС»
    is_default = fields.BooleanField(default=False)  # a client with no list of its own
    external_id = fields.CharField(max_length=80, null=True, unique=True)  # «ТипЦены»
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "price_list"


class ListPrice(Model):
    id = fields.BigIntField(primary_key=True)
    price_list: fields.ForeignKeyRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="prices", on_delete=fields.CASCADE)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="list_prices", on_delete=fields.CASCADE)
    price = fields.DecimalField(**MONEY)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "list_price"
        unique_together = (("price_list", "product"),)
        indexes = [Index(fields=["product_id", "price_list_id", "price"])]


class RuleMethod(StrEnum):
    FIXED = "fixed"        # the price is ``value``
    MARKUP = "markup"      # the base plus ``value`` percent
    DISCOUNT = "discount"  # the base less ``value`` percent


class RuleBase(StrEnum):
    LIST = "list"            # the price as it stands (the list's own, or its base list's)
    OTHER_LIST = "other"     # another list's price (``base_list``)
    COST = "cost"            # the product's cost price


class PriceRule(TimestampedModel):
    """One rule of a price list. Rules apply in ``position`` order, each one that
    matches (scope, quantity, dates, the client's category and status) to the price the
    earlier ones left; ``final`` stops the rules after it."""

    id = fields.IntField(primary_key=True)
    price_list: fields.ForeignKeyRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="rules", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    name = fields.CharField(max_length=200, null=True)
    # the scope: a product, a category (with its subcategories), or everything
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="price_rules", null=True, on_delete=fields.CASCADE)
    category: fields.ForeignKeyNullableRelation[ProductCategory] = fields.ForeignKeyField(
        "kontakt.ProductCategory", related_name="price_rules", null=True,
        on_delete=fields.CASCADE)
    min_qty = fields.DecimalField(**QTY, null=True)  # the batch volume from which it applies
    valid_from = fields.DateField(null=True)
    valid_to = fields.DateField(null=True)
    # the client: a category (a classifier node, with its subnodes) and a status
    client_node: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ClassifierNode", related_name="price_rules", null=True,
        on_delete=fields.CASCADE)
    client_status = fields.CharField(max_length=16, null=True)  # models.ClientList
    method = fields.CharEnumField(RuleMethod, max_length=8, default=RuleMethod.DISCOUNT)
    base = fields.CharEnumField(RuleBase, max_length=8, default=RuleBase.LIST)
    base_list: fields.ForeignKeyNullableRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="rules_based_on", null=True,
        on_delete=fields.CASCADE)
    value = fields.DecimalField(max_digits=16, decimal_places=4, default=0)
    surcharge = fields.DecimalField(**MONEY, null=True)  # added after the percent
    rounding = fields.DecimalField(**MONEY, null=True)  # to a multiple of (0.10, 1, 10)
    min_margin = fields.DecimalField(**PERCENT, null=True)  # percent over the cost price
    final = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "price_rule"
        indexes = [Index(fields=["price_list_id", "archived", "position"])]


class ListForCategory(Model):
    """Which list the clients of a category (classifier node) get when their card names
    none; the first by ``priority`` among the client's nodes."""

    id = fields.IntField(primary_key=True)
    client_node: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.ClassifierNode", related_name="price_lists", on_delete=fields.CASCADE)
    price_list: fields.ForeignKeyRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="for_categories", on_delete=fields.CASCADE)
    priority = fields.IntField(default=0)

    class Meta:
        table = "list_for_category"
        unique_together = (("client_node", "price_list"),)


# ---- discounts (A-14) ----------------------------------------------------------------------

class CombineMode(StrEnum):
    BEST = "best"    # the largest of the discounts that apply
    CHAIN = "chain"  # one after another: 10 % then 5 % is 14.5 %


class DiscountGroup(TimestampedModel):
    """A discount type: a percent per product kind (and one for any other kind)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    combine = fields.CharEnumField(CombineMode, max_length=8, default=CombineMode.BEST)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "discount_group"


class DiscountRate(Model):
    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[DiscountGroup] = fields.ForeignKeyField(
        "kontakt.DiscountGroup", related_name="rates", on_delete=fields.CASCADE)
    kind: fields.ForeignKeyNullableRelation[ProductKind] = fields.ForeignKeyField(
        "kontakt.ProductKind", related_name="rates", null=True, on_delete=fields.CASCADE)
    percent = fields.DecimalField(**PERCENT)

    class Meta:
        table = "discount_rate"
        unique_together = (("group", "kind"),)


class ClientTerms(TimestampedModel):
    """A client's price list, discount group and individual discount (any may be
    unset: the category's list, no group, no discount)."""

    id = fields.IntField(primary_key=True)
    client: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.Client", related_name="terms", on_delete=fields.CASCADE)
    price_list: fields.ForeignKeyNullableRelation[PriceList] = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="clients", null=True, on_delete=fields.SET_NULL)
    discount_group: fields.ForeignKeyNullableRelation[DiscountGroup] = fields.ForeignKeyField(
        "kontakt.DiscountGroup", related_name="clients", null=True,
        on_delete=fields.SET_NULL)
    discount = fields.DecimalField(**PERCENT, null=True)

    class Meta:
        table = "client_terms"


class Promo(TimestampedModel):
    """A promo discount for a period, up to 100 % (a gift line), on a product, a
    category or a product kind (or everything), from a quantity."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    percent = fields.DecimalField(**PERCENT)
    starts = fields.DateField()
    ends = fields.DateField()
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="promos", null=True, on_delete=fields.CASCADE)
    category: fields.ForeignKeyNullableRelation[ProductCategory] = fields.ForeignKeyField(
        "kontakt.ProductCategory", related_name="promos", null=True,
        on_delete=fields.CASCADE)
    kind: fields.ForeignKeyNullableRelation[ProductKind] = fields.ForeignKeyField(
        "kontakt.ProductKind", related_name="promos", null=True, on_delete=fields.CASCADE)
    min_qty = fields.DecimalField(**QTY, null=True)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "promo"
        indexes = [Index(fields=["archived", "starts", "ends"])]


# ---- product matrices (S-22) ----------------------------------------------------------------

class MatrixEntry(Model):
    """The organisation's matrix: a product offered to a business sphere."""

    id = fields.IntField(primary_key=True)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="matrix", on_delete=fields.CASCADE)
    sphere: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="matrix", on_delete=fields.CASCADE)

    class Meta:
        table = "matrix_entry"
        unique_together = (("product", "sphere"),)
        indexes = [Index(fields=["sphere_id", "product_id"])]


class TrackedProduct(Model):
    """A manager's own matrix: the products they track."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="tracked_products", on_delete=fields.CASCADE)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="trackers", on_delete=fields.CASCADE)

    class Meta:
        table = "tracked_product"
        unique_together = (("user", "product"),)


# ---- stock (K-4) ------------------------------------------------------------------------------

class Warehouse(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    external_id = fields.CharField(max_length=80, null=True, unique=True)  # «Склад Ид»
    allow_backorder = fields.BooleanField(default=False)  # ship more than is free
    is_default = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "warehouse"


class StockLevel(Model):
    """On hand and reserved of a product in a warehouse (free is on hand less reserved).
    Changed only by a conditional UPDATE (services.stock), so two orders never reserve
    the same unit."""

    id = fields.BigIntField(primary_key=True)
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "kontakt.Warehouse", related_name="levels", on_delete=fields.CASCADE)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="stock", on_delete=fields.CASCADE)
    on_hand = fields.DecimalField(**QTY, default=0)
    reserved = fields.DecimalField(**QTY, default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stock_level"
        unique_together = (("warehouse", "product"),)
        indexes = [Index(fields=["product_id", "warehouse_id", "on_hand", "reserved"])]


class StockMoveKind(StrEnum):
    RESERVE = "reserve"    # an order posted
    RELEASE = "release"    # an order cancelled or its reservation given back
    SHIP = "ship"          # written off by a shipment
    SET = "set"            # on hand set by an upload (CommerceML, XLSX) or by hand


class StockMove(Model):
    """Every change of a stock level, for the history of a product's stock."""

    id = fields.BigIntField(primary_key=True)
    warehouse: fields.ForeignKeyRelation[Warehouse] = fields.ForeignKeyField(
        "kontakt.Warehouse", related_name="moves", on_delete=fields.CASCADE)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="stock_moves", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(StockMoveKind, max_length=8)
    quantity = fields.DecimalField(**QTY)
    order_id = fields.IntField(null=True, db_index=True)
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="stock_moves", null=True, on_delete=fields.SET_NULL)
    source = fields.CharField(max_length=16, default="web")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stock_move"
        indexes = [Index(fields=["product_id", "at"])]
