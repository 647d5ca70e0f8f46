"""Email and SMS to clients (A-18, K-16): templates, and a persistent outbox every
message goes through (queued → sending → sent or failed with the reason)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by one process until claimed_until
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MessageTemplate(TimestampedModel):
    """A Jinja2 template per channel and language. Variables: client, contact, sender,
    activity (rendered in a sandbox, a missing one is an error)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    channel = fields.CharEnumField(Channel, max_length=8)
    language = fields.CharField(max_length=2, default="ru")
    subject = fields.CharField(max_length=300, default="")  # email only
    body = fields.TextField()  # plain text (email and SMS)
    html = fields.TextField(null=True)  # email only, optional
    archived = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="templates", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "message_template"
        unique_together = (("name", "channel", "language"),)


class OutboundMessage(Model):
    """One message to one address. Claimed once by a sending process (a conditional
    UPDATE with a per-round token), retried with backoff, failed with the reason."""

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharEnumField(Channel, max_length=8)
    to_address = fields.CharField(max_length=254)  # email, or E.164 phone
    subject = fields.CharField(max_length=300, default="")
    body = fields.TextField()
    html = fields.TextField(null=True)
    reply_to = fields.CharField(max_length=254, null=True)
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="messages", null=True, on_delete=fields.SET_NULL)
    contact: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.ContactPerson", related_name="messages", null=True,
        on_delete=fields.SET_NULL)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="messages", null=True, on_delete=fields.SET_NULL)
    template: fields.ForeignKeyNullableRelation[MessageTemplate] = fields.ForeignKeyField(
        "kontakt.MessageTemplate", related_name="messages", null=True,
        on_delete=fields.SET_NULL)
    mailing_id = fields.IntField(null=True)  # K-16 mailings (a later step)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="messages_sent", null=True, on_delete=fields.SET_NULL)
    state = fields.CharEnumField(OutboxState, max_length=10, default=OutboxState.QUEUED)
    next_attempt_at = fields.DatetimeField()
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    provider_id = fields.CharField(max_length=200, null=True)  # the SMTP Message-ID
    attachments = fields.JSONField(default=list)  # ids of documents sent with an email
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbound_message"
        indexes = [Index(fields=["state", "next_attempt_at"]),
                   Index(fields=["client_id", "created_at"])]


class MailingState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class Mailing(TimestampedModel):
    """K-16: one template to a list (a segment's members or chosen clients), sent at a
    rate, skipping people without consent, unsubscribed or not to be contacted."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    channel = fields.CharEnumField(Channel, max_length=8)
    template: fields.ForeignKeyRelation[MessageTemplate] = fields.ForeignKeyField(
        "kontakt.MessageTemplate", related_name="mailings", on_delete=fields.RESTRICT)
    segment_id = fields.IntField(null=True)  # the list it was made from (kept as made)
    per_minute = fields.IntField(default=60)
    state = fields.CharEnumField(MailingState, max_length=10, default=MailingState.DRAFT)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="mailings", null=True, on_delete=fields.SET_NULL)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # the bot message that shows the progress, edited as it goes, and the end summary
    progress_chat_id = fields.BigIntField(null=True)
    progress_message_id = fields.BigIntField(null=True)
    summary_sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mailing"


class MailingRecipient(Model):
    """One person of a mailing and what became of them (the per-recipient log)."""

    id = fields.BigIntField(primary_key=True)
    mailing: fields.ForeignKeyRelation[Mailing] = fields.ForeignKeyField(
        "kontakt.Mailing", related_name="recipients", on_delete=fields.CASCADE)
    client: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Client", related_name="mailing_rows", null=True, on_delete=fields.SET_NULL)
    address = fields.CharField(max_length=254, null=True)
    state = fields.CharField(max_length=10, default="pending")  # pending|queued|skipped
    reason = fields.CharField(max_length=100, null=True)  # why skipped
    message: fields.ForeignKeyNullableRelation[OutboundMessage] = fields.ForeignKeyField(
        "kontakt.OutboundMessage", related_name="mailing_rows", null=True,
        on_delete=fields.SET_NULL)

    class Meta:
        table = "mailing_recipient"
        unique_together = (("mailing", "client"),)
        indexes = [Index(fields=["mailing_id", "state"])]


class Unsubscribe(Model):
    """An address that asked for no more mailings (the link in an email, STOP by SMS)."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharEnumField(Channel, max_length=8)
    address = fields.CharField(max_length=254)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "unsubscribe"
        unique_together = (("channel", "address"),)
