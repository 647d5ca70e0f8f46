"""U-9: loyalty cards, the tiers of the loyalty program and the ledger of points.

The program's numbers (a point's value, the share of an order points may pay, the
months points live) are a setting (``loyalty``); its tiers are rows. A card's balance
is the sum of its moves — never kept as a second copy. The rules are in
:mod:`services.loyalty`.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel
from models.catalog import MONEY, PERCENT


class LoyaltyTier(TimestampedModel):
    """A tier: reached by spend over the last 12 months (in the company currency). An
    order of a card in it accrues ``accrual`` % of its total as points, and its
    discount group, if any, becomes the client's."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60)
    threshold = fields.DecimalField(**MONEY)
    accrual = fields.DecimalField(**PERCENT)
    discount_group: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DiscountGroup", related_name="loyalty_tiers", null=True,
        on_delete=fields.SET_NULL)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "loyalty_tier"


class LoyaltyCard(TimestampedModel):
    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=20, unique=True)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="loyalty_cards", on_delete=fields.CASCADE)
    tier: fields.ForeignKeyNullableRelation[LoyaltyTier] = fields.ForeignKeyField(
        "kontakt.LoyaltyTier", related_name="cards", null=True, on_delete=fields.SET_NULL)
    spend = fields.DecimalField(**MONEY, default=0)  # the last recalculation's 12 months
    issued_at = fields.DatetimeField()
    issued_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="loyalty_cards_issued", null=True,
        on_delete=fields.SET_NULL)
    blocked = fields.BooleanField(default=False)   # no accrual, no redemption
    archived = fields.BooleanField(default=False)  # gone; the client may get a new one

    class Meta:
        table = "loyalty_card"
        indexes = [Index(fields=["client_id", "archived"])]


class MoveKind(StrEnum):
    ACCRUAL = "accrual"          # + for a posted order
    REDEMPTION = "redemption"    # − against an open order
    ADJUSTMENT = "adjustment"    # ± by hand, with a reason
    EXPIRY = "expiry"            # − points that lived their months
    REVERSAL = "reversal"        # ∓ an order cancelled: its accrual or redemption undone


class LoyaltyMove(Model):
    id = fields.BigIntField(primary_key=True)
    card: fields.ForeignKeyRelation[LoyaltyCard] = fields.ForeignKeyField(
        "kontakt.LoyaltyCard", related_name="moves", on_delete=fields.CASCADE)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="loyalty_moves", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(MoveKind, max_length=12)
    points = fields.IntField()                     # signed
    order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Order", related_name="loyalty_moves", null=True, on_delete=fields.SET_NULL)
    amount = fields.DecimalField(**MONEY, null=True)  # money: an order's base or a credit
    reason = fields.CharField(max_length=300, null=True)
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="loyalty_moves", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)   # accruals, when points expire
    expired = fields.BooleanField(default=False)   # its expiry was written
    ledger_entry: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.LedgerEntry", related_name="loyalty_moves", null=True,
        on_delete=fields.SET_NULL)                 # a redemption's credit note
    key = fields.CharField(max_length=64, null=True, unique=True)  # once per order

    class Meta:
        table = "loyalty_move"
        indexes = [Index(fields=["card_id", "created_at"]), Index(fields=["order_id"]),
                   Index(fields=["expires_at", "expired"])]
