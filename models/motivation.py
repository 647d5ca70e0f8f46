"""K-9 motivation: bonus and penalty schemes on a plan's metric, with steps, and the
monthly statement per person that a supervisor approves.

The rules (which bound of a step is inclusive, what a statement holds) are in
:mod:`services.motivation`.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel
from models.catalog import MONEY


class SchemeMetric(StrEnum):
    REVENUE = "revenue"          # S-26 plan: revenue
    MARGIN = "margin"            # S-26 plan: margin
    DEALS_WON = "deals_won"      # S-26 plan: deals won
    ACTIVITIES = "activities"    # M-14 work plans: done activities (of one type, or all)
    DOCUMENTS = "documents"      # S-26 plan: documents prepared (orders posted)
    PAYMENTS = "payments"        # S-26 plan: payments collected on one's clients' ledgers


class SchemeKind(StrEnum):
    BONUS = "bonus"
    PENALTY = "penalty"


class SchemeBase(StrEnum):
    PERCENT = "percent"  # a step's value is a percent of the metric's fact
    FIXED = "fixed"      # a step's value is a sum of money


class SchemeReach(StrEnum):
    EVERYONE = "everyone"
    DEPARTMENT = "department"  # the department and every department under it
    PEOPLE = "people"          # the people named in ``people``


class BonusScheme(TimestampedModel):
    """A bonus or a penalty on one metric of a person's monthly plan (K-9)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    metric = fields.CharEnumField(SchemeMetric, max_length=12)
    activity_type: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ActivityType", related_name="bonus_schemes", null=True,
        on_delete=fields.RESTRICT)
    kind = fields.CharEnumField(SchemeKind, max_length=8, default=SchemeKind.BONUS)
    base = fields.CharEnumField(SchemeBase, max_length=8, default=SchemeBase.PERCENT)
    currency = fields.CharField(max_length=3)  # the plan's (money metrics) and the payout's
    reach = fields.CharEnumField(SchemeReach, max_length=12, default=SchemeReach.EVERYONE)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="bonus_schemes", null=True,
        on_delete=fields.RESTRICT)
    people = fields.JSONField(default=list)  # user ids when reach is "people"
    active_from = fields.DateField()             # the first day of a month
    active_to = fields.DateField(null=True)      # the first day of the last month, or open
    archived = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="bonus_schemes_made", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "bonus_scheme"
        indexes = (("archived", "active_from"),)


class SchemeStep(Model):
    """One row of a bonus scheme's scale.

    From ``lower`` (exclusive, but the first row's is inclusive) to ``upper``
    (inclusive, None: no end) percent over plan (a bonus) or short of it (a penalty),
    the scheme pays ``value`` (a percent or a sum)."""

    id = fields.IntField(primary_key=True)
    scheme: fields.ForeignKeyRelation[BonusScheme] = fields.ForeignKeyField(
        "kontakt.BonusScheme", related_name="steps", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    lower = fields.DecimalField(max_digits=9, decimal_places=2)
    upper = fields.DecimalField(max_digits=9, decimal_places=2, null=True)
    value = fields.DecimalField(**MONEY)

    class Meta:
        table = "bonus_scheme_step"
        indexes = (("scheme_id", "position"),)


class StatementState(StrEnum):
    DRAFT = "draft"        # computed anew on every view
    APPROVED = "approved"  # frozen: the stored lines are what was approved


class BonusStatement(TimestampedModel):
    """A person's statement of a month once someone approved it (or reopened it).

    A draft has no stored lines."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="bonus_statements", on_delete=fields.CASCADE)
    month = fields.DateField()
    state = fields.CharEnumField(StatementState, max_length=10, default=StatementState.DRAFT)
    totals = fields.JSONField(default=dict)  # {currency: "amount"} when approved
    approved_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="bonus_approvals", null=True, on_delete=fields.SET_NULL)
    approved_at = fields.DatetimeField(null=True)
    reopened_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="bonus_reopenings", null=True,
        on_delete=fields.SET_NULL)
    reopened_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bonus_statement"
        unique_together = (("user", "month"),)
        indexes = (("month", "state"),)


class BonusLine(Model):
    """One scheme's line of an approved statement, as it was approved.

    ``sources``: the records its fact came from ([{kind, id, label, amount, at}])."""

    id = fields.BigIntField(primary_key=True)
    statement: fields.ForeignKeyRelation[BonusStatement] = fields.ForeignKeyField(
        "kontakt.BonusStatement", related_name="lines", on_delete=fields.CASCADE)
    scheme: fields.ForeignKeyNullableRelation[BonusScheme] = fields.ForeignKeyField(
        "kontakt.BonusScheme", related_name="lines", null=True, on_delete=fields.SET_NULL)
    position = fields.IntField(default=0)
    scheme_name = fields.CharField(max_length=200)
    metric = fields.CharField(max_length=12)
    kind = fields.CharField(max_length=8)
    base = fields.CharField(max_length=8)
    currency = fields.CharField(max_length=3)
    plan_currency = fields.CharField(max_length=3, null=True)
    plan = fields.DecimalField(**MONEY)
    fact = fields.DecimalField(**MONEY)
    achievement = fields.DecimalField(max_digits=12, decimal_places=2)  # fact / plan, %
    step = fields.IntField(null=True)  # the row of the scale applied (1-based), or none
    rate = fields.DecimalField(**MONEY, null=True)  # that row's value
    amount = fields.DecimalField(**MONEY)  # a penalty's is negative
    sources = fields.JSONField(default=list)

    class Meta:
        table = "bonus_line"
        indexes = (("statement_id", "position"),)
