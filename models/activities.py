"""Contacts log, tasks and reminders (sections 2 and 3 of FEATURES.md: S-12..S-21,
M-3, A-6..A-9, K-15).

One model for events (a call made, a meeting held) and tasks (something to do):
``Activity``. Its history (reschedules with who moved them, state changes, results,
verification) is in ``audit_log`` with entity ``activity`` (client_id set when the
activity has a client, so the client's timeline shows it, S-7). An activity of a deal
(section 6, U-2) has ``deal`` set.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class ActivityKind(StrEnum):
    EVENT = "event"  # something that happened or will happen at a time (call, meeting)
    TASK = "task"  # something to do by a time


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class ActivityState(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"


OPEN_STATES = (ActivityState.PLANNED, ActivityState.POSTPONED, ActivityState.RESCHEDULED)


class ActivityType(TimestampedModel):
    """A-7: the editable dictionary of activity types (call, meeting, email...). System
    types have a ``code``; ``fields`` lists which detail fields the form shows (A-10)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, null=True, unique=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(ActivityKind, max_length=8, default=ActivityKind.TASK)
    icon = fields.CharField(max_length=8, default="")
    form_fields = fields.JSONField(default=list)
    default_duration_min = fields.IntField(null=True)
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "activity_type"


class ActivityCategory(TimestampedModel):
    """A-7: a category with a colour, for the calendar."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    colour = fields.CharField(max_length=7, default="#4a90d9")  # #rrggbb
    sort_order = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)

    class Meta:
        table = "activity_category"


class Product(TimestampedModel):
    """S-12: the basic product catalogue activities refer to (prices come later)."""
    # issue 13 sells it (prices, discounts, stock: models.catalog). ``archived`` is the
    # active flag: an archived product leaves the choice lists, orders keep it.

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=300)
    code = fields.CharField(max_length=64, null=True, unique=True)  # the article
    category = fields.CharField(max_length=100, null=True)  # a free label (S-12)
    unit = fields.CharField(max_length=16, default="шт")
    archived = fields.BooleanField(default=False)
    # issue 13: the category tree, the kind for discount coefficients, VAT and cost
    group: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ProductCategory", related_name="products", null=True,
        on_delete=fields.SET_NULL)
    kind: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ProductKind", related_name="products", null=True, on_delete=fields.SET_NULL)
    is_service = fields.BooleanField(default=False)  # no stock
    vat_rate = fields.DecimalField(max_digits=7, decimal_places=2, null=True)  # None: no VAT
    cost_price = fields.DecimalField(max_digits=16, decimal_places=2, null=True)
    barcode = fields.CharField(max_length=32, null=True, db_index=True)
    external_id = fields.CharField(max_length=80, null=True, unique=True)  # CommerceML «Ид»
    search_text = fields.TextField(default="")  # folded name, code and barcode

    class Meta:
        table = "product"


class Activity(TimestampedModel):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ActivityKind, max_length=8, default=ActivityKind.TASK)
    type: fields.ForeignKeyRelation[ActivityType] = fields.ForeignKeyField(
        "kontakt.ActivityType", related_name="activities", on_delete=fields.RESTRICT)
    category: fields.ForeignKeyNullableRelation[ActivityCategory] = fields.ForeignKeyField(
        "kontakt.ActivityCategory", related_name="activities", null=True,
        on_delete=fields.SET_NULL)
    title = fields.CharField(max_length=300)
    goal = fields.TextField(null=True)  # S-13
    result = fields.TextField(null=True)  # S-13
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="activities", null=True, on_delete=fields.SET_NULL)
    deal: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Deal", related_name="activities", null=True, on_delete=fields.SET_NULL)
    contact: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ContactPerson", related_name="activities", null=True,
        on_delete=fields.SET_NULL)
    product: fields.ForeignKeyNullableRelation[Product] = fields.ForeignKeyField(
        "kontakt.Product", related_name="activities", null=True, on_delete=fields.SET_NULL)
    # S-17: the order it is about (the call after a posting), marked when it ships
    order: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Order", related_name="activities", null=True, on_delete=fields.SET_NULL)
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="activities_authored", null=True,
        on_delete=fields.SET_NULL)
    priority = fields.CharEnumField(Priority, max_length=8, default=Priority.NORMAL)
    state = fields.CharEnumField(ActivityState, max_length=12, default=ActivityState.PLANNED,
                                 db_index=True)
    # when; a task without ends_at is due at starts_at
    starts_at = fields.DatetimeField(null=True, db_index=True)
    ends_at = fields.DatetimeField(null=True)
    all_day = fields.BooleanField(default=False)
    duration_min = fields.IntField(null=True)  # estimated
    timezone = fields.CharField(max_length=64, default="Europe/Moscow")  # of the recurrence
    percent = fields.IntField(default=0)
    location = fields.CharField(max_length=400, null=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    # RFC 5545 recurrence, expanded lazily; moved or changed instances are own rows
    rrule = fields.CharField(max_length=500, null=True)
    exdates = fields.JSONField(default=list)  # ISO starts of instances left out
    reminder_leads = fields.JSONField(default=list)  # minutes before the start (K-15)
    series: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "kontakt.Activity", related_name="exceptions", null=True, on_delete=fields.CASCADE)
    original_start = fields.DatetimeField(null=True)  # of a moved instance
    # K-11 meetings: agenda and minutes; decisions are follow-up tasks (parent)
    agenda = fields.TextField(null=True)
    minutes = fields.TextField(null=True)
    parent: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "kontakt.Activity", related_name="follow_ups", null=True, on_delete=fields.SET_NULL)
    escalated_at = fields.DatetimeField(null=True)  # overdue told to the supervisor
    # the client is told N hours before (a template of email or SMS), once
    client_notice_hours = fields.IntField(null=True)
    client_notice_template: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.MessageTemplate", related_name="activities", null=True,
        on_delete=fields.SET_NULL)
    client_notified_at = fields.DatetimeField(null=True)
    done_at = fields.DatetimeField(null=True)
    done_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="activities_done", null=True, on_delete=fields.SET_NULL)
    # S-21 supervisor verification
    verified_at = fields.DatetimeField(null=True)
    verified_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="activities_verified", null=True,
        on_delete=fields.SET_NULL)
    source = fields.CharField(max_length=16, default="web")  # bot | web | api | calendar

    class Meta:
        table = "activity"
        indexes = [Index(fields=["client_id", "starts_at"]), Index(fields=["deal_id", "state"])]

    @property
    def due_at(self):
        return self.ends_at if self.kind == ActivityKind.TASK and self.ends_at else \
            self.starts_at


class ActivityAssignee(Model):
    """S-14, A-6: who does an activity (one or more). Per person, so calendar sync
    (K-1) can keep each assignee's own event here later."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "kontakt.Activity", related_name="assignments", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="assignments", on_delete=fields.CASCADE)
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "activity_assignee"
        unique_together = (("activity", "user"),)
        indexes = [Index(fields=["user_id", "activity_id"])]


class ReminderState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one process until claimed_until
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reminder(Model):
    """K-15: one reminder of one person about one activity (or one occurrence of a
    recurring one). The database is the source of truth: a process claims due rows
    (``state`` pending → sending with a lease) and marks them sent; a lease that runs
    out (the process died) makes the row due again."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "kontakt.Activity", related_name="reminders", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="reminders", on_delete=fields.CASCADE)
    lead_minutes = fields.IntField(default=15)
    occurrence_start = fields.DatetimeField()  # the start it reminds of
    due_at = fields.DatetimeField()  # occurrence_start - lead (or a snooze)
    next_attempt_at = fields.DatetimeField()  # due_at, later after a 429 or an error
    state = fields.CharEnumField(ReminderState, max_length=10, default=ReminderState.PENDING)
    claimed_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    attempts = fields.IntField(default=0)
    sent_at = fields.DatetimeField(null=True)
    late = fields.BooleanField(default=False)
    snoozed = fields.BooleanField(default=False)
    last_error = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reminder"
        indexes = [Index(fields=["state", "next_attempt_at"]),
                   Index(fields=["activity_id", "user_id"])]


class ActivityComment(Model):
    """A comment on an activity: from the bot, the web, or a discussion topic (K-2)."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "kontakt.Activity", related_name="comments", on_delete=fields.CASCADE)
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="comments", null=True, on_delete=fields.SET_NULL)
    author_name = fields.CharField(max_length=200)
    text = fields.TextField()
    kind = fields.CharField(max_length=16, default="text")  # text|photo|document|voice|location
    file_id = fields.CharField(max_length=255, null=True)  # Telegram's, for a photo or file
    source = fields.CharField(max_length=16, default="web")
    telegram_chat_id = fields.BigIntField(null=True)
    telegram_message_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "activity_comment"
        unique_together = (("telegram_chat_id", "telegram_message_id"),)


class AssigneeRule(StrEnum):
    """Who a playbook step's task goes to when the playbook is applied."""

    APPLIER = "applier"  # the person applying the playbook
    MANAGER = "manager"  # the client's primary manager
    HEAD = "head"  # the applier's supervisor (or department head)


class Playbook(TimestampedModel):
    """M-4: a named chain of steps. Applying it to a client creates the tasks."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description = fields.TextField(null=True)
    archived = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="playbooks", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "playbook"


class PlaybookStep(Model):
    id = fields.IntField(primary_key=True)
    playbook: fields.ForeignKeyRelation[Playbook] = fields.ForeignKeyField(
        "kontakt.Playbook", related_name="steps", on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    type: fields.ForeignKeyRelation[ActivityType] = fields.ForeignKeyField(
        "kontakt.ActivityType", related_name="playbook_steps", on_delete=fields.RESTRICT)
    offset_days = fields.IntField(default=0)  # after the day the playbook is applied
    title = fields.CharField(max_length=300)
    text = fields.TextField(null=True)
    assignee = fields.CharEnumField(AssigneeRule, max_length=8, default=AssigneeRule.APPLIER)

    class Meta:
        table = "playbook_step"


class WorkPlan(TimestampedModel):
    """M-14: how many activities of a type a person should do in a day or a month.
    The fact is counted from done activities when asked."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="work_plans", on_delete=fields.CASCADE)
    period = fields.CharField(max_length=5)  # "month" | "day"
    period_start = fields.DateField()  # the first day of the month, or the day
    type: fields.ForeignKeyRelation[ActivityType] = fields.ForeignKeyField(
        "kontakt.ActivityType", related_name="work_plans", on_delete=fields.CASCADE)
    target = fields.IntField()
    set_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="work_plans_set", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "work_plan"
        unique_together = (("user", "period", "period_start", "type"),)


class NotificationLog(Model):
    """A once-only message (a morning digest per person and day, an escalation per
    activity and supervisor): the unique key is the claim, so of several replicas
    only the one whose insert succeeds sends it."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # digest | escalation
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="notification_log", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=64)  # the day, or the activity id
    sent_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification_log"
        unique_together = (("kind", "user", "key"),)


class TeamGroup(TimestampedModel):
    """K-2: a forum supergroup of a team where each task gets a topic. One per department
    (``department`` None: the company's). ``missing_rights`` lists what the bot lacks."""

    id = fields.IntField(primary_key=True)
    chat_id = fields.BigIntField(unique=True)
    title = fields.CharField(max_length=255)
    department: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Department", related_name="team_groups", null=True,
        on_delete=fields.SET_NULL)
    missing_rights = fields.JSONField(default=list)
    set_up_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="team_groups_set_up", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "team_group"


class Discussion(TimestampedModel):
    """K-2: the conversation of one activity: a topic of a team group, or (without a
    forum group) the relay through each participant's private chat."""

    id = fields.IntField(primary_key=True)
    activity: fields.OneToOneRelation[Activity] = fields.OneToOneField(
        "kontakt.Activity", related_name="discussion", on_delete=fields.CASCADE)
    group: fields.ForeignKeyNullableRelation[TeamGroup] = fields.ForeignKeyField(
        "kontakt.TeamGroup", related_name="discussions", null=True,
        on_delete=fields.SET_NULL)
    thread_id = fields.BigIntField(null=True)  # None while the topic is being made
    topic_name = fields.CharField(max_length=128, default="")
    card_message_id = fields.BigIntField(null=True)
    closed = fields.BooleanField(default=False)

    class Meta:
        table = "discussion"
