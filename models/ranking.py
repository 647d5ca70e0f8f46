"""K-8: the latest ranking of each client (ABC, XYZ, RFM), written by services.ranking.

One row per client that bought something in the ranking's period; a run replaces the
rows (a client with nothing in the period loses its row). ``abc`` is also what the
next run compares with to see a client drop out of A.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.catalog import MONEY


class ClientRank(Model):
    id = fields.IntField(primary_key=True)
    client: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.Client", related_name="rank", on_delete=fields.CASCADE)
    abc = fields.CharField(max_length=1)              # A | B | C
    xyz = fields.CharField(max_length=1)              # X | Y | Z
    recency = fields.SmallIntField()                  # R, 1..5
    frequency = fields.SmallIntField()                # F, 1..5
    monetary = fields.SmallIntField()                 # M, 1..5
    segment = fields.CharField(max_length=20)         # services.ranking.SEGMENTS
    revenue = fields.DecimalField(**MONEY)            # in the company currency
    margin = fields.DecimalField(**MONEY)
    share = fields.DecimalField(max_digits=7, decimal_places=2)  # cumulative %, ABC
    cv = fields.DecimalField(max_digits=9, decimal_places=2, null=True)  # %, XYZ
    orders = fields.IntField()
    last_order_at = fields.DatetimeField()
    computed_at = fields.DatetimeField()

    class Meta:
        table = "client_rank"
        indexes = [Index(fields=["abc", "xyz"]), Index(fields=["segment"])]
