"""Deals and sales processes (section 6 of FEATURES.md: U-1, U-2, U-4..U-8).

* :class:`ProcessType` (U-1): a kind of sale ("new client", "repeat order", "tender",
  a claim, a partner relationship) with its ordered :class:`Stage` s. Every type has a
  won and a lost stage. *Managed* types create a stage's tasks on entering it (from the
  stage's playbook, services.playbooks) and enforce its requirements; *simple* ones
  are moved by hand.
* :class:`Deal` (U-2): a sale in progress: client, type, stage, owner and team
  (:class:`DealMember`), amount (Decimal) and currency, expected close, source. Its
  activities point at it (``Activity.deal``).
* :class:`DealEvent`: every stage change (who, when, from where). Time in a stage is
  computed from these rows, never stored twice; ``seq`` equals the deal's ``version``
  after the move, and ``(deal, seq)`` is unique, so two replicas or a double tap
  cannot record (and make the tasks of) one move twice.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class ProcessMode(StrEnum):
    MANAGED = "managed"  # tasks made on entering a stage, requirements enforced
    SIMPLE = "simple"  # stages moved by hand, no automatic tasks


class ProcessKind(StrEnum):
    SALE = "sale"
    CLAIM = "claim"  # U-7: complaints as their own process
    PARTNER = "partner"  # U-8: a strategy applied to a partner relationship
    EXECUTION = "execution"  # U-7: what follows a won sale (payment, delivery, papers)


class PartyRole(StrEnum):
    """U-4: who someone is around a deal."""

    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    COMPETITOR = "competitor"
    SUBCONTRACTOR = "subcontractor"
    PARTNER = "partner"
    DEALER = "dealer"  # M-7: the dealer the deal came through (one per deal)


class Stance(StrEnum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"
    UNKNOWN = "unknown"


class PartyLinkKind(StrEnum):
    INFLUENCES = "influences"
    REPORTS_TO = "reports_to"
    WORKS_WITH = "works_with"
    COMPETES_WITH = "competes_with"


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ProcessType(TimestampedModel):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, null=True, unique=True)  # seeded ones
    name = fields.CharField(max_length=100, unique=True)
    kind = fields.CharEnumField(ProcessKind, max_length=12, default=ProcessKind.SALE)
    mode = fields.CharEnumField(ProcessMode, max_length=8, default=ProcessMode.SIMPLE)
    regulation = fields.TextField(null=True)  # U-1: the written rules of the process
    # U-7: a won deal continues as a new deal of this type (a sale's execution)
    next_process: fields.ForeignKeyNullableRelation[ProcessType] = fields.ForeignKeyField(
        "kontakt.ProcessType", related_name="previous", null=True, on_delete=fields.SET_NULL)
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "process_type"


class Stage(Model):
    id = fields.IntField(primary_key=True)
    process: fields.ForeignKeyRelation[ProcessType] = fields.ForeignKeyField(
        "kontakt.ProcessType", related_name="stages", on_delete=fields.CASCADE)
    code = fields.CharField(max_length=32, null=True)  # seeded ones, for translation
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(StageKind, max_length=4, default=StageKind.OPEN)
    position = fields.IntField(default=0)
    probability = fields.IntField(default=0)  # the admin's estimate, percent
    # what a deal needs before it may enter this stage: amount, expected_close, contact,
    # tasks_done (the open tasks of the stage it leaves), in a managed process
    requires = fields.JSONField(default=list)
    # may a manager jump over this stage (a head or an admin always may)
    skippable = fields.BooleanField(default=True)
    instructions = fields.TextField(null=True)  # U-1: what to do at this stage
    playbook: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Playbook", related_name="stages", null=True, on_delete=fields.SET_NULL)
    days_limit = fields.IntField(null=True)  # U-7: past this, the deal is overdue here
    # U-1, a trigger: in a managed process, once the deal's open tasks are all done, it
    # moves on to the next open stage by itself
    advance_when_done = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "deal_stage"
        ordering = ["position", "id"]


class Deal(TimestampedModel):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    client: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="deals", on_delete=fields.RESTRICT)
    contact: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ContactPerson", related_name="deals", null=True, on_delete=fields.SET_NULL)
    process: fields.ForeignKeyRelation[ProcessType] = fields.ForeignKeyField(
        "kontakt.ProcessType", related_name="deals", on_delete=fields.RESTRICT)
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "kontakt.Stage", related_name="deals", on_delete=fields.RESTRICT)
    owner: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="deals", on_delete=fields.RESTRICT)
    amount = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    currency = fields.CharField(max_length=3, default="RUB")
    expected_close = fields.DateField(null=True)
    source: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="deals_from_source", null=True,
        on_delete=fields.SET_NULL)
    notes = fields.TextField(null=True)
    lost_reason: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.DictionaryItem", related_name="deals_lost", null=True,
        on_delete=fields.SET_NULL)
    competitor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="deals_won_against_us", null=True,
        on_delete=fields.SET_NULL)
    # U-7: the deal a claim is about, or the sale an execution follows
    parent: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "kontakt.Deal", related_name="children", null=True, on_delete=fields.SET_NULL)
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Product", related_name="deals", null=True, on_delete=fields.SET_NULL)
    resolution = fields.TextField(null=True)  # U-7: how a claim was settled
    our_fault = fields.BooleanField(null=True)  # U-7: was the claim's cause ours
    escalated_seq = fields.IntField(null=True)  # U-7: the stage entry told as overdue
    probability_override = fields.IntField(null=True)  # a manager's own figure
    # U-5: the model's estimate (services.deal_stats), recomputed on change and nightly;
    # basis: model (naive Bayes), stages (stage-to-stage conversion), default (the
    # stage's own figure); factors: the strongest reasons, [[feature, value, ratio]]
    probability = fields.IntField(null=True)
    probability_basis = fields.CharField(max_length=8, null=True)
    probability_factors = fields.JSONField(default=list)
    closed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)  # the seq of the last DealEvent
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deal"
        indexes = [Index(fields=["owner_id", "stage_id"]), Index(fields=["stage_id", "id"]),
                   Index(fields=["process_id", "closed_at"]),
                   # the few archived deals, which reports leave out as one set
                   Index(fields=["archived_at"])]


class DealMember(Model):
    """The deal's team besides its owner: they see it and its tasks (U-2)."""

    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField(
        "kontakt.Deal", related_name="members", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="deal_memberships", on_delete=fields.CASCADE)

    class Meta:
        table = "deal_member"
        unique_together = (("deal", "user"),)


class DealEvent(Model):
    id = fields.BigIntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField(
        "kontakt.Deal", related_name="events", on_delete=fields.CASCADE)
    seq = fields.IntField()
    from_stage: fields.ForeignKeyNullableRelation[Stage] = fields.ForeignKeyField(
        "kontakt.Stage", related_name="events_from", null=True, on_delete=fields.RESTRICT)
    to_stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField(
        "kontakt.Stage", related_name="events_to", on_delete=fields.RESTRICT)
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="deal_events", null=True, on_delete=fields.SET_NULL)
    at = fields.DatetimeField()
    source = fields.CharField(max_length=16, default="web")  # bot, miniapp, web, api, trigger
    # whose the deal was when it entered the stage, and where: a cohort is counted for
    # the owner and department of that moment (a later hand-over does not move it);
    # with the process, so a quarter of one department is one index range
    process_id = fields.IntField()
    owner_id = fields.IntField(null=True)
    department_id = fields.IntField(null=True)

    class Meta:
        table = "deal_event"
        unique_together = (("deal", "seq"),)
        # covering the funnel's reads: a cohort's entries, and the next event of each
        indexes = [Index(fields=["process_id", "department_id", "at", "to_stage_id",
                                 "deal_id", "seq"]),
                   Index(fields=["owner_id", "at", "process_id", "to_stage_id", "deal_id",
                                 "seq"]),
                   Index(fields=["deal_id", "seq", "at", "to_stage_id"])]


class DealParty(Model):
    """U-4: a person or a company around a deal — from the client base (a client, e.g.
    a competitor or a subcontractor; a contact person) or only named — with a role and
    a stance."""

    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField(
        "kontakt.Deal", related_name="parties", on_delete=fields.CASCADE)
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="deal_parties", null=True, on_delete=fields.CASCADE)
    contact: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ContactPerson", related_name="deal_parties", null=True,
        on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(PartyRole, max_length=16)
    stance = fields.CharEnumField(Stance, max_length=10, default=Stance.UNKNOWN)
    note = fields.TextField(null=True)

    class Meta:
        table = "deal_party"


class DealPartyLink(Model):
    """U-4: how two parties of a deal are tied (who influences whom)."""

    id = fields.IntField(primary_key=True)
    source: fields.ForeignKeyRelation[DealParty] = fields.ForeignKeyField(
        "kontakt.DealParty", related_name="links_out", on_delete=fields.CASCADE)
    target: fields.ForeignKeyRelation[DealParty] = fields.ForeignKeyField(
        "kontakt.DealParty", related_name="links_in", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(PartyLinkKind, max_length=16)

    class Meta:
        table = "deal_party_link"
        unique_together = (("source", "target", "kind"),)
