"""The client dossier (section 1 of FEATURES.md).

Later sections hang off :class:`Client` without changing it: deals (U-2),
price lists and discounts (K-5, A-14), settlements and credit limits (K-6, A-15),
marketing campaigns (K-10) each get their own tables with a ``client`` foreign key.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class ClientKind(StrEnum):
    COMPANY = "company"        # S-1 / M-2: a legal entity (or a group of them)
    INDIVIDUAL = "individual"  # a natural person


class ClientList(StrEnum):
    """U-3: formal counterparties (for accounting) vs business partners."""

    COUNTERPARTY = "counterparty"
    PARTNER = "partner"


class Client(TimestampedModel):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ClientKind, max_length=16, default=ClientKind.COMPANY)
    list_type = fields.CharEnumField(ClientList, max_length=16, default=ClientList.PARTNER)
    is_group = fields.BooleanField(default=False)  # a company group (U-3)
    name = fields.CharField(max_length=300)
    short_name = fields.CharField(max_length=120, null=True)
    # individuals
    last_name = fields.CharField(max_length=100, null=True)
    first_name = fields.CharField(max_length=100, null=True)
    middle_name = fields.CharField(max_length=100, null=True)
    birthday = fields.DateField(null=True)
    sex = fields.CharField(max_length=1, null=True)  # "m" | "f"
    # contacts of the client itself
    phone = fields.CharField(max_length=32, null=True)  # E.164
    phone_digits = fields.CharField(max_length=20, null=True, db_index=True)
    email = fields.CharField(max_length=254, null=True, db_index=True)
    website = fields.CharField(max_length=300, null=True)
    # S-4 structured address
    country = fields.CharField(max_length=2, null=True)  # ISO 3166-1 alpha-2
    region: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="clients_in_region", null=True,
        on_delete=fields.SET_NULL)
    city: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="clients_in_city", null=True,
        on_delete=fields.SET_NULL)
    district: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="clients_in_district", null=True,
        on_delete=fields.SET_NULL)
    street = fields.CharField(max_length=200, null=True)
    building = fields.CharField(max_length=40, null=True)
    office = fields.CharField(max_length=40, null=True)
    postal_code = fields.CharField(max_length=16, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    # S-8, A-17
    spheres: fields.ManyToManyRelation = fields.ManyToManyField(
        "kontakt.DictionaryItem", related_name="clients_in_sphere", through="client_sphere")
    ad_source: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="clients_from_source", null=True,
        on_delete=fields.SET_NULL)
    notes = fields.TextField(null=True)
    # K-16: mailings skip a client without consent for the channel or not to be contacted
    email_consent = fields.BooleanField(default=True)
    sms_consent = fields.BooleanField(default=True)
    do_not_contact = fields.BooleanField(default=False)
    completeness = fields.IntField(default=0)  # S-10, percent
    # lower-cased, ё→е, with a Latin transliteration: what search looks in (S-11)
    search_text = fields.TextField(default="")
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="clients_created", null=True, on_delete=fields.SET_NULL)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "client"
        ordering = ["name"]
        # no index on (name, id): with one, PostgreSQL walked a million clients by name
        # probing each for a common word's token (8 s, the matches all far down the
        # alphabet) instead of sorting the matches; search by name is the token index's
        # (token, client_name, client_id) work (S-11, issue 19)

    def __str__(self) -> str:
        return self.name


class LegalEntity(TimestampedModel):
    """S-1: one of several legal entities of a company, with requisites."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="legal_entities", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=300)
    country = fields.CharField(max_length=2, default="RU")
    inn = fields.CharField(max_length=12, null=True, db_index=True)      # RU
    kpp = fields.CharField(max_length=9, null=True)                      # RU
    ogrn = fields.CharField(max_length=15, null=True)                    # RU, OGRN/OGRNIP
    edrpou = fields.CharField(max_length=8, null=True, db_index=True)    # UA
    ipn = fields.CharField(max_length=12, null=True, db_index=True)      # UA
    legal_address = fields.CharField(max_length=400, null=True)
    bank_name = fields.CharField(max_length=200, null=True)
    bik = fields.CharField(max_length=9, null=True)                      # RU
    account = fields.CharField(max_length=34, null=True)                 # RU 20 digits / IBAN
    corr_account = fields.CharField(max_length=20, null=True)            # RU
    mfo = fields.CharField(max_length=6, null=True)                      # UA
    iban = fields.CharField(max_length=34, null=True)
    is_primary = fields.BooleanField(default=False)

    class Meta:
        table = "legal_entity"


class ClientLinkKind(StrEnum):
    GROUP_MEMBER = "group_member"   # this client belongs to the group `other`
    DIVISION = "division"           # an independent division of `other`
    DEALER_OF = "dealer_of"
    COMPETITOR_OF = "competitor_of"
    PARTNER_OF = "partner_of"
    SUPPLIER_OF = "supplier_of"


class ClientLink(Model):
    """U-3: typed relations between clients."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="links_out", on_delete=fields.CASCADE)
    other: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="links_in", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(ClientLinkKind, max_length=24)
    note = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "client_link"
        unique_together = (("client", "other", "kind"),)


class ContactPerson(TimestampedModel):
    """S-3: a person at a company, with unlimited extra parameters (custom fields)."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="contacts", on_delete=fields.CASCADE)
    last_name = fields.CharField(max_length=100, null=True)
    first_name = fields.CharField(max_length=100)
    middle_name = fields.CharField(max_length=100, null=True)
    position = fields.CharField(max_length=200, null=True)
    phones = fields.JSONField(default=list)      # ["+79161234567", ...] E.164
    phone_digits = fields.CharField(max_length=200, default="", db_index=True)
    emails = fields.JSONField(default=list)
    messengers = fields.JSONField(default=dict)  # {"telegram": "@x", "whatsapp": "+7..."}
    telegram_id = fields.BigIntField(null=True, db_index=True)
    birthday = fields.DateField(null=True)
    notes = fields.TextField(null=True)
    search_text = fields.TextField(default="")
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "contact_person"
        ordering = ["last_name", "first_name"]


class ClientManager(Model):
    """S-6 / A-5 / S-25: who is responsible for a client, with history.

    A row is never deleted: ending an assignment sets ``unassigned_at``; dismissed
    staff keep their rows, so the company sees who worked with whom.
    """

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="manager_rows", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="client_rows", on_delete=fields.RESTRICT)
    is_primary = fields.BooleanField(default=False)
    assigned_at = fields.DatetimeField(auto_now_add=True)
    assigned_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="assignments_made", null=True, on_delete=fields.SET_NULL)
    unassigned_at = fields.DatetimeField(null=True, db_index=True)
    unassigned_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="unassignments_made", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "client_manager"
        # whose clients (visibility, reports) and a client's managers (the card, the
        # main manager of reports): both by the current rows
        indexes = [Index(fields=["user_id", "unassigned_at"]),
                   Index(fields=["client_id", "unassigned_at"])]


class Document(Model):
    """S-2, S-16: a file attached to a client (or one of its contacts) or to an
    activity (then ``client`` is the activity's client, if it has one), on disk."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="documents", null=True, on_delete=fields.CASCADE)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="documents", null=True, on_delete=fields.CASCADE)
    contact: fields.ForeignKeyNullableRelation[ContactPerson] = fields.ForeignKeyField(
        "kontakt.ContactPerson", related_name="documents", null=True,
        on_delete=fields.SET_NULL)
    filename = fields.CharField(max_length=255)
    storage_path = fields.CharField(max_length=400)  # relative to the data folder
    size = fields.BigIntField()
    mime_type = fields.CharField(max_length=120, default="application/octet-stream")
    sha256 = fields.CharField(max_length=64)
    uploaded_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="documents_uploaded", null=True,
        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "document"


class AuditLog(Model):
    """Every change of a client, contact or assignment: who, when, from where,
    old and new value (viewable on the card)."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="audit_rows", null=True, on_delete=fields.SET_NULL)
    source = fields.CharField(max_length=16)  # bot | web | api | import | system
    entity = fields.CharField(max_length=32)  # client | contact | legal_entity | manager ...
    object_id = fields.IntField()
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "kontakt.Client", related_name="audit_rows", null=True, on_delete=fields.CASCADE)
    action = fields.CharField(max_length=16)  # create | update | delete | assign | unassign
    field = fields.CharField(max_length=64, null=True)
    old_value = fields.TextField(null=True)
    new_value = fields.TextField(null=True)

    class Meta:
        table = "audit_log"
        indexes = [Index(fields=["entity", "object_id"])]
