"""Orders and invoices (issue 13: S-17, K-4, K-5, A-14) and our own legal entities.

An order's lines keep the price as it was worked out (``trace``: the list price, each
rule and discount applied, the final price), so a later change of a list or a group
never changes what was sold. Money is ``Decimal``; quantities too.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel
from models.catalog import MONEY, PERCENT, QTY


class OwnEntity(TimestampedModel):
    """A legal entity of our company: the seller on orders and invoices, with the
    requisites an invoice prints (Russian or Ukrainian)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=300)
    country = fields.CharField(max_length=2, default="RU")
    inn = fields.CharField(max_length=12, null=True)        # RU
    kpp = fields.CharField(max_length=9, null=True)         # RU
    ogrn = fields.CharField(max_length=15, null=True)       # RU
    edrpou = fields.CharField(max_length=10, null=True)     # UA
    ipn = fields.CharField(max_length=12, null=True)        # UA
    vat_payer = fields.BooleanField(default=True)
    legal_address = fields.CharField(max_length=400, null=True)
    phone = fields.CharField(max_length=40, null=True)
    bank_name = fields.CharField(max_length=200, null=True)
    bik = fields.CharField(max_length=9, null=True)         # RU
    account = fields.CharField(max_length=34, null=True)    # RU 20 digits
    corr_account = fields.CharField(max_length=20, null=True)  # RU
    mfo = fields.CharField(max_length=6, null=True)         # UA
    iban = fields.CharField(max_length=34, null=True)       # UA
    director = fields.CharField(max_length=200, null=True)
    accountant = fields.CharField(max_length=200, null=True)
    is_default = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "own_entity"


class OrderState(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"        # stock reserved, invoice can be sent
    SHIPPED = "shipped"      # stock written off
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Order(TimestampedModel):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="orders", on_delete=fields.RESTRICT)
    legal_entity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.LegalEntity", related_name="orders", null=True, on_delete=fields.SET_NULL)
    own_entity: fields.ForeignKeyNullableRelation[OwnEntity] = fields.ForeignKeyField(
        "kontakt.OwnEntity", related_name="orders", null=True, on_delete=fields.RESTRICT)
    deal: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Deal", related_name="orders", null=True, on_delete=fields.SET_NULL)
    price_list: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.PriceList", related_name="orders", null=True, on_delete=fields.SET_NULL)
    warehouse: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Warehouse", related_name="orders", null=True, on_delete=fields.RESTRICT)
    owner: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="orders", on_delete=fields.RESTRICT)
    state = fields.CharEnumField(OrderState, max_length=10, default=OrderState.DRAFT)
    currency = fields.CharField(max_length=3, default="RUB")
    vat_included = fields.BooleanField(default=True)
    subtotal = fields.DecimalField(**MONEY, default=0)     # at list prices
    discount_total = fields.DecimalField(**MONEY, default=0)
    vat_total = fields.DecimalField(**MONEY, default=0)
    total = fields.DecimalField(**MONEY, default=0)        # what the client pays
    comment = fields.TextField(null=True)
    posted_at = fields.DatetimeField(null=True)
    shipped_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)
    invoice: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Document", related_name="invoice_of", null=True, on_delete=fields.SET_NULL)
    version = fields.IntField(default=0)  # a change or a state move checks it

    class Meta:
        table = "sales_order"
        indexes = [Index(fields=["client_id", "state"]), Index(fields=["owner_id", "state"]),
                   Index(fields=["deal_id"]),
                   # covering for the ranking and reports (issue 15): no table read on SQLite
                   Index(fields=["state", "posted_at", "client_id", "currency"])]


class OrderLine(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "kontakt.Order", related_name="lines", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="order_lines", on_delete=fields.RESTRICT)
    name = fields.CharField(max_length=300)  # the product's name when it was sold
    unit = fields.CharField(max_length=16, default="шт")
    quantity = fields.DecimalField(**QTY)
    list_price = fields.DecimalField(**MONEY)  # before rules and discounts
    price = fields.DecimalField(**MONEY)       # the final unit price
    discount = fields.DecimalField(**PERCENT, default=0)  # from list price to price
    vat_rate = fields.DecimalField(**PERCENT, null=True)  # None: without VAT
    amount = fields.DecimalField(**MONEY)      # price × quantity
    vat_amount = fields.DecimalField(**MONEY, default=0)
    cost = fields.DecimalField(**MONEY, null=True)  # cost price × quantity, for margins
    trace = fields.JSONField(default=list)     # the steps from list price to price
    promo: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Promo", related_name="lines", null=True, on_delete=fields.SET_NULL)
    off_matrix = fields.BooleanField(default=False)  # confirmed outside the client's matrix
    # a price set by hand below the minimum margin: who allowed it and why
    override_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="price_overrides", null=True, on_delete=fields.SET_NULL)
    override_reason = fields.CharField(max_length=300, null=True)

    class Meta:
        table = "order_line"
        indexes = [Index(fields=["order_id", "position"]), Index(fields=["product_id"]),
                   # covering for the sums of the ranking and reports (issue 15)
                   Index(fields=["order_id", "amount", "cost"])]
