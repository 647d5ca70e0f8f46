"""S-26: sales plans per person and month — revenue, margin, deals won, and the
quantity or sum of a product or a product category; documents prepared and payments
collected (K-9, for bonus schemes). Activity-count plans are
:class:`models.activities.WorkPlan` (M-14)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TimestampedModel


class PlanMetric(StrEnum):
    REVENUE = "revenue"        # the sold lines' amounts, in the plan's currency
    MARGIN = "margin"          # revenue less the lines' cost
    DEALS_WON = "deals_won"    # deals the person owns that were won in the month
    QUANTITY = "quantity"      # of a product or a category (with its subcategories)
    SUM = "sum"                # the sold amount of a product or a category
    DOCUMENTS = "documents"    # K-9: orders the person posted (each with its invoice)
    PAYMENTS = "payments"      # K-9: payments on the ledgers of the person's clients


class SalesPlan(TimestampedModel):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="sales_plans", on_delete=fields.CASCADE)
    month = fields.DateField()  # the first day of the month
    metric = fields.CharEnumField(PlanMetric, max_length=10)
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="sales_plans", null=True, on_delete=fields.CASCADE)
    category: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ProductCategory", related_name="sales_plans", null=True,
        on_delete=fields.CASCADE)
    currency = fields.CharField(max_length=3, null=True)  # money metrics only
    target = fields.DecimalField(max_digits=16, decimal_places=2)
    # one plan per person, month, metric and subject: (product, category, currency)
    # folded into one string, since NULLs never clash in a unique index
    subject = fields.CharField(max_length=40, default="")
    set_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="sales_plans_set", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "sales_plan"
        unique_together = (("user", "month", "metric", "subject"),)
        indexes = (("month", "user_id"),)
