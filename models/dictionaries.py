"""User-extendable dictionaries (A-16 regions/cities/districts, S-8 business spheres,
A-17 advertising sources, value lists of custom fields)."""

from __future__ import annotations

from tortoise import fields

from models.base import TimestampedModel


class Dictionary(TimestampedModel):
    """A named list. System ones have fixed codes: region, city, district, sphere,
    ad_source; custom fields get their own (``cf_<code>``)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    system = fields.BooleanField(default=False)
    # users other than admins may add items (A-16: "extendable by users")
    user_extendable = fields.BooleanField(default=True)

    class Meta:
        table = "dictionary"


class DictionaryItem(TimestampedModel):
    id = fields.IntField(primary_key=True)
    dictionary: fields.ForeignKeyRelation[Dictionary] = fields.ForeignKeyField(
        "kontakt.Dictionary", related_name="items", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    # a city's region, a district's city
    parent: fields.ForeignKeyNullableRelation[DictionaryItem] = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="children", null=True,
        on_delete=fields.RESTRICT)
    code = fields.CharField(max_length=64, null=True)
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "dictionary_item"
        unique_together = (("dictionary", "parent", "name"),)
        ordering = ["sort_order", "name"]
