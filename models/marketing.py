"""Marketing campaigns, lead forms, suppliers and dealers (section 10 of FEATURES.md:
K-10, K-12, M-7, M-8).

* A :class:`Campaign` has variants (channel, creative, region), a budget, cost items
  planned and actual (typed, or from a supplier's invoice), dates, the segment it targets
  and the mailings it sent (:class:`CampaignMailing`).
* :class:`Attribution` ties a client, a lead (an inbound request, an activity) or a deal
  to a campaign and variant, the first touch and the last touch each its own row. The
  ``subject`` key (``c:12``, ``a:40``, ``d:7``) and ``touch`` are unique together.
* :class:`LeadForm` is a public page per variant; each accepted submission is a
  :class:`LeadSubmission` that made (or found) a client and an inbound request.
* :class:`CampaignStep` is a scenario step (prepare, launch, follow up, measure) that
  becomes a task once; :class:`ScenarioTemplate` holds reusable step lists.
* :class:`PartnerRole` marks a client as a dealer or a marketing service supplier;
  :class:`SupplierService` is what a supplier sells at the price agreed. A deal that came
  through a dealer has that dealer as a party in the role ``dealer`` (models.deals
  PartyRole.DEALER), and the orders of such a deal came through it too.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel
from models.catalog import MONEY


class CampaignState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    FINISHED = "finished"


class VariantChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    SOCIAL = "social"
    SEARCH = "search"      # search ads
    DISPLAY = "display"    # banners, contextual ads
    PRINT = "print"
    OUTDOOR = "outdoor"
    EVENT = "event"        # exhibitions, seminars
    REFERRAL = "referral"
    WEB = "web"            # the company's own site
    OTHER = "other"


class Campaign(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(null=True)
    state = fields.CharEnumField(CampaignState, max_length=10, default=CampaignState.PLANNED)
    starts_on = fields.DateField()
    ends_on = fields.DateField(null=True)
    budget = fields.DecimalField(**MONEY, default=0)
    currency = fields.CharField(max_length=3, default="RUB")
    segment: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Segment", related_name="campaigns", null=True, on_delete=fields.SET_NULL)
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="campaigns", null=True, on_delete=fields.SET_NULL)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="campaigns", null=True, on_delete=fields.SET_NULL)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign"
        ordering = ["-starts_on", "name"]
        indexes = [Index(fields=["starts_on", "ends_on"])]

    def __str__(self) -> str:
        return self.name


class CampaignVariant(TimestampedModel):
    """K-12: one arm of a campaign, compared with the others side by side."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "kontakt.Campaign", related_name="variants", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    channel = fields.CharEnumField(VariantChannel, max_length=10, default=VariantChannel.OTHER)
    creative = fields.TextField(null=True)  # the text or a description of the creative
    region: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="campaign_variants_in_region", null=True,
        on_delete=fields.SET_NULL)
    # a client or deal with this ad source, made while the campaign runs, is attributed
    ad_source: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="campaign_variants_from_source", null=True,
        on_delete=fields.SET_NULL)
    promo_code = fields.CharField(max_length=40, null=True, unique=True)  # upper-cased
    link_token = fields.CharField(max_length=24, unique=True)  # the tracked link /go/<token>
    landing_url = fields.CharField(max_length=500, null=True)  # where the link leads
    budget = fields.DecimalField(**MONEY, default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "campaign_variant"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class CampaignCost(TimestampedModel):
    """K-10: a cost item, planned and actual (which may come from a supplier invoice)."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "kontakt.Campaign", related_name="costs", on_delete=fields.CASCADE)
    variant: fields.ForeignKeyNullableRelation[CampaignVariant] = fields.ForeignKeyField(
        "kontakt.CampaignVariant", related_name="costs", null=True, on_delete=fields.SET_NULL)
    item = fields.CharField(max_length=200)
    planned = fields.DecimalField(**MONEY, default=0)
    actual = fields.DecimalField(**MONEY, null=True)
    spent_on = fields.DateField(null=True)
    supplier: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="campaign_costs", null=True, on_delete=fields.SET_NULL)
    service: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.SupplierService", related_name="campaign_costs", null=True,
        on_delete=fields.SET_NULL)
    quantity = fields.DecimalField(max_digits=14, decimal_places=3, null=True)
    invoice_number = fields.CharField(max_length=40, null=True)  # the supplier's invoice
    invoice_date = fields.DateField(null=True)
    note = fields.TextField(null=True)

    class Meta:
        table = "campaign_cost"


class CampaignMailing(Model):
    """K-10: a mailing the campaign sent (its recipients count as contacts reached)."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "kontakt.Campaign", related_name="mailings", on_delete=fields.CASCADE)
    variant: fields.ForeignKeyNullableRelation[CampaignVariant] = fields.ForeignKeyField(
        "kontakt.CampaignVariant", related_name="mailings", null=True,
        on_delete=fields.SET_NULL)
    mailing: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Mailing", related_name="campaign_links", on_delete=fields.CASCADE)

    class Meta:
        table = "campaign_mailing"
        unique_together = (("campaign", "mailing"),)


class Touch(StrEnum):
    FIRST = "first"
    LAST = "last"


class TouchVia(StrEnum):
    AD_SOURCE = "ad_source"
    LINK = "link"        # a tracked link
    FORM = "form"        # a web lead form
    PROMO = "promo"      # a promo code
    MANUAL = "manual"    # set by hand
    MAILING = "mailing"


class Attribution(Model):
    """K-10: which campaign and variant brought a client, a lead or a deal. ``subject``
    is ``c:<client id>``, ``a:<activity id>`` (a lead) or ``d:<deal id>``."""

    id = fields.IntField(primary_key=True)
    subject = fields.CharField(max_length=24)
    touch = fields.CharEnumField(Touch, max_length=5)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="attributions", on_delete=fields.CASCADE)
    deal: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Deal", related_name="attributions", null=True, on_delete=fields.CASCADE)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="attributions", null=True, on_delete=fields.CASCADE)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "kontakt.Campaign", related_name="attributions", on_delete=fields.CASCADE)
    variant: fields.ForeignKeyNullableRelation[CampaignVariant] = fields.ForeignKeyField(
        "kontakt.CampaignVariant", related_name="attributions", null=True,
        on_delete=fields.SET_NULL)
    via = fields.CharEnumField(TouchVia, max_length=10)
    at = fields.DatetimeField()
    by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="attributions_set", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "attribution"
        unique_together = (("subject", "touch"),)
        indexes = [Index(fields=["campaign_id", "touch", "variant_id"]),
                   Index(fields=["deal_id"]), Index(fields=["client_id"])]


class AssignMode(StrEnum):
    ROUND_ROBIN = "round_robin"  # among the active people of a department
    REGION = "region"            # by the region the visitor chose, else round robin
    PERSON = "person"            # always one person


class LeadForm(TimestampedModel):
    """K-10: a public page that turns a visitor into an inbound request."""

    id = fields.IntField(primary_key=True)
    variant: fields.ForeignKeyRelation[CampaignVariant] = fields.ForeignKeyField(
        "kontakt.CampaignVariant", related_name="lead_forms", on_delete=fields.CASCADE)
    token = fields.CharField(max_length=24, unique=True)  # the public URL /f/<token>
    title = fields.CharField(max_length=200)
    intro = fields.TextField(null=True)
    thanks = fields.TextField(null=True)
    language = fields.CharField(max_length=2, default="ru")
    # which fields the page asks: [{"name": "phone", "required": true}, ...] in page order;
    # the names come from services.lead_forms.FIELDS, set by the designer's checkboxes
    fields_spec = fields.JSONField(default=list)
    assign_mode = fields.CharEnumField(AssignMode, max_length=12, default=AssignMode.ROUND_ROBIN)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="lead_forms", null=True, on_delete=fields.SET_NULL)
    person: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="lead_forms_to", null=True, on_delete=fields.SET_NULL)
    last_assigned_id = fields.IntField(null=True)  # the round robin's cursor
    active = fields.BooleanField(default=True)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lead_form"


class LeadRoute(Model):
    """K-10: in region mode, who gets the leads from a region."""

    id = fields.IntField(primary_key=True)
    form: fields.ForeignKeyRelation[LeadForm] = fields.ForeignKeyField(
        "kontakt.LeadForm", related_name="routes", on_delete=fields.CASCADE)
    region: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="lead_routes", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="lead_routes", on_delete=fields.CASCADE)

    class Meta:
        table = "lead_route"
        unique_together = (("form", "region"),)


class LeadSubmission(Model):
    id = fields.BigIntField(primary_key=True)
    form: fields.ForeignKeyRelation[LeadForm] = fields.ForeignKeyField(
        "kontakt.LeadForm", related_name="submissions", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="lead_submissions", null=True, on_delete=fields.SET_NULL)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="lead_submissions", null=True,
        on_delete=fields.SET_NULL)
    assigned: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="leads_assigned", null=True, on_delete=fields.SET_NULL)
    data = fields.JSONField(default=dict)  # what the visitor typed, as typed
    remote_hash = fields.CharField(max_length=16, null=True)  # a keyed hash of the address

    class Meta:
        table = "lead_submission"
        indexes = [Index(fields=["form_id", "at"])]


class StepKind(StrEnum):
    PREPARE = "prepare"
    LAUNCH = "launch"
    FOLLOW_UP = "follow_up"
    MEASURE = "measure"
    OTHER = "other"


class ScenarioTemplate(TimestampedModel):
    """M-8: a reusable list of campaign steps, days counted from the campaign's start."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description = fields.TextField(null=True)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "scenario_template"


class ScenarioTemplateStep(Model):
    id = fields.IntField(primary_key=True)
    template: fields.ForeignKeyRelation[ScenarioTemplate] = fields.ForeignKeyField(
        "kontakt.ScenarioTemplate", related_name="steps", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    kind = fields.CharEnumField(StepKind, max_length=10, default=StepKind.OTHER)
    title = fields.CharField(max_length=300)
    offset_days = fields.IntField(default=0)  # from the campaign's start; may be negative
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="scenario_steps", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "scenario_template_step"


class CampaignStep(TimestampedModel):
    """M-8: a step of a campaign's scenario, routed to a person or a department (its
    head), that becomes one task (``activity``) once."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "kontakt.Campaign", related_name="steps", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    kind = fields.CharEnumField(StepKind, max_length=10, default=StepKind.OTHER)
    title = fields.CharField(max_length=300)
    due_on = fields.DateField()
    executor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="campaign_steps", null=True, on_delete=fields.SET_NULL)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="campaign_steps", null=True,
        on_delete=fields.SET_NULL)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="campaign_steps", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "campaign_step"
        ordering = ["due_on", "position", "id"]


class PartnerKind(StrEnum):
    DEALER = "dealer"                  # M-7
    MARKETING_SUPPLIER = "supplier"    # M-8: a supplier of marketing services


class PartnerRole(TimestampedModel):
    """M-7 / M-8: a client in the dealer or marketing supplier role. A dealer's grade is
    set from its numbers (services.dealers) unless set by hand."""

    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="partner_roles", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(PartnerKind, max_length=10)
    since = fields.DateField(null=True)
    grade = fields.CharField(max_length=2, null=True)  # A, B, C...
    grade_manual = fields.BooleanField(default=False)
    graded_at = fields.DatetimeField(null=True)
    note = fields.TextField(null=True)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "partner_role"
        unique_together = (("client", "kind"),)


class SupplierService(TimestampedModel):
    """M-8: a service a marketing supplier sells, at the price agreed."""

    id = fields.IntField(primary_key=True)
    supplier: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="supplier_services", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    unit = fields.CharField(max_length=40, null=True)
    price = fields.DecimalField(**MONEY, null=True)
    currency = fields.CharField(max_length=3, default="RUB")
    agreed_on = fields.DateField(null=True)
    valid_until = fields.DateField(null=True)
    note = fields.TextField(null=True)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "supplier_service"
        ordering = ["name"]
