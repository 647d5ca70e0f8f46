"""Customisation without programmers (K-3): custom fields (S-5), classifier (S-9/M-1),
segments (K-14/A-19), card layouts (A-2), settings such as completeness weights (S-10)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel


class CustomEntity(StrEnum):
    CLIENT = "client"
    CONTACT = "contact"
    ACTIVITY = "activity"   # section 2
    STAFF = "staff"         # S-24 custom characteristics


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    BOOL = "bool"
    CHOICE = "choice"        # one value from the field's dictionary
    MULTICHOICE = "multichoice"


class CustomField(TimestampedModel):
    id = fields.IntField(primary_key=True)
    entity = fields.CharEnumField(CustomEntity, max_length=16)
    code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    type = fields.CharEnumField(FieldType, max_length=16)
    dictionary: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Dictionary", related_name="custom_fields", null=True,
        on_delete=fields.RESTRICT)
    required = fields.BooleanField(default=False)
    confidential = fields.BooleanField(default=False)
    # empty = every department sees it
    departments: fields.ManyToManyRelation = fields.ManyToManyField(
        "kontakt.Department", related_name="custom_fields", through="custom_field_department")
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "custom_field"
        unique_together = (("entity", "code"),)
        ordering = ["sort_order", "id"]


class CustomValue(Model):
    """One value of a custom field of one record, typed so SQL can filter and sort.

    A subquery on the field and the typed value column finds or orders records.
    A multi-choice field has one row per chosen item.
    """

    id = fields.BigIntField(primary_key=True)
    field: fields.ForeignKeyRelation[CustomField] = fields.ForeignKeyField(
        "kontakt.CustomField", related_name="values", on_delete=fields.CASCADE)
    entity = fields.CharEnumField(CustomEntity, max_length=16)
    object_id = fields.IntField()
    value_text = fields.CharField(max_length=1000, null=True, db_index=True)
    value_number = fields.DecimalField(max_digits=20, decimal_places=4, null=True,
                                       db_index=True)
    value_date = fields.DateField(null=True, db_index=True)
    value_bool = fields.BooleanField(null=True)
    item: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="custom_values", null=True,
        on_delete=fields.RESTRICT)

    class Meta:
        table = "custom_value"
        indexes = (("entity", "object_id"), ("field_id", "object_id"))


class ClassifierKind(StrEnum):
    MANUAL = "manual"      # user-defined: people put clients into the node
    BY_FIELD = "by_field"  # automatic: a rule over client attributes / custom fields
    BY_MANAGER = "by_manager"  # automatic: clients of the node's manager(s)


class ClassifierEntity(StrEnum):
    CLIENT = "client"  # S-9 / M-1: groups of clients
    STAFF = "staff"    # S-24 / S-25 (issue 15): groups of staff, manual only


class ClassifierNode(TimestampedModel):
    """S-9 / M-1: a tree. One client can sit in several branches. A tree is of clients
    or of staff (``entity``); a node's parent is of the same entity."""

    id = fields.IntField(primary_key=True)
    entity = fields.CharEnumField(ClassifierEntity, max_length=16,
                                  default=ClassifierEntity.CLIENT, db_index=True)
    parent: fields.ForeignKeyNullableRelation[ClassifierNode] = fields.ForeignKeyField(
        "kontakt.ClassifierNode", related_name="children", null=True,
        on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(ClassifierKind, max_length=16, default=ClassifierKind.MANUAL)
    rule = fields.JSONField(null=True)  # BY_FIELD: a segment-style filter; BY_MANAGER: ids
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "classifier_node"
        ordering = ["sort_order", "name"]


class ClientClassification(Model):
    id = fields.IntField(primary_key=True)
    node: fields.ForeignKeyRelation[ClassifierNode] = fields.ForeignKeyField(
        "kontakt.ClassifierNode", related_name="memberships", on_delete=fields.CASCADE)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="classifications", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "client_classification"
        unique_together = (("node", "client"),)


class StaffClassification(Model):
    """S-25 (issue 15): a staff member placed in a staff group by hand."""

    id = fields.IntField(primary_key=True)
    node: fields.ForeignKeyRelation[ClassifierNode] = fields.ForeignKeyField(
        "kontakt.ClassifierNode", related_name="staff_memberships", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="staff_classifications", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_classification"
        unique_together = (("node", "user"),)


class Segment(TimestampedModel):
    """K-14 / A-19: a saved filter. Members are computed in SQL when asked."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    rules = fields.JSONField()  # see services.segments for the format
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="segments", null=True, on_delete=fields.SET_NULL)
    shared = fields.BooleanField(default=True)

    class Meta:
        table = "segment"
        ordering = ["name"]


class CardLayout(TimestampedModel):
    """A-2: which blocks and fields a client card shows, per department or person."""

    id = fields.IntField(primary_key=True)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="card_layouts", null=True,
        on_delete=fields.CASCADE)
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="card_layouts", null=True, on_delete=fields.CASCADE)
    layout = fields.JSONField()

    class Meta:
        table = "card_layout"


class Setting(Model):
    """Company-wide settings edited in the admin pages (completeness weights, the
    minimum completeness, escalation delays...)."""

    key = fields.CharField(max_length=100, primary_key=True)
    value = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "setting"
