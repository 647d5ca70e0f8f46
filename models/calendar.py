"""Calendar sync (K-1): each person's Google Calendar connection, the events Kontakt
keeps there (one per activity and assignee, which is also the outbox that pushes them),
and the read-only ICS feed.

Secrets (the refresh token, a service account key) are stored encrypted (see
``services.crypto``); the feed token and the channel token are random and compared in
constant time.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class LinkState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # access revoked or refused: nothing is pushed until reconnected
    REMOVING = "removing"  # disconnecting: our events are being deleted first


class CalendarLink(TimestampedModel):
    """K-1 one person and their Google calendar and the state of the sync"""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.User", related_name="calendar_link", on_delete=fields.CASCADE)
    mode = fields.CharField(max_length=8, default="oauth")  # oauth | service
    account = fields.CharField(max_length=254, null=True)  # the Google account
    token = fields.TextField(null=True)  # encrypted refresh token (oauth mode)
    calendar_id = fields.CharField(max_length=255, null=True)
    calendar_name = fields.CharField(max_length=255, default="Kontakt")
    calendar_ours = fields.BooleanField(default=False)  # made by Kontakt
    state = fields.CharEnumField(LinkState, max_length=10, default=LinkState.ACTIVE)
    remove_events = fields.BooleanField(default=True)  # on disconnect: delete ours there
    paused_reason = fields.CharField(max_length=300, null=True)
    sync_token = fields.CharField(max_length=1000, null=True)
    # push notifications (events.watch)
    channel_id = fields.CharField(max_length=64, null=True, unique=True)
    channel_token = fields.CharField(max_length=64, null=True)
    channel_resource_id = fields.CharField(max_length=255, null=True)
    channel_expires_at = fields.DatetimeField(null=True)
    pull_wanted_at = fields.DatetimeField(null=True)  # a notification came: pull
    last_pull_at = fields.DatetimeField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)  # after an error, not before
    last_error = fields.CharField(max_length=500, null=True)
    # one worker per person at a time, across replicas
    locked_by = fields.CharField(max_length=64, null=True)
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "calendar_link"


class CalendarEvent(Model):
    """K-1 one activity in one person calendar and the outbox row that pushes it"""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.Activity", related_name="calendar_events", null=True,
        on_delete=fields.SET_NULL)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="calendar_events", on_delete=fields.CASCADE)
    event_id = fields.CharField(max_length=64)  # ours, base32hex: a retried insert is a 409
    calendar_id = fields.CharField(max_length=255, null=True)  # where it was put
    etag = fields.CharField(max_length=64, null=True)  # of our last write or read
    in_google = fields.BooleanField(default=False)  # inserted in Google
    wanted = fields.BooleanField(default=True)  # False: to be deleted there
    snapshot = fields.JSONField(default=dict)  # the fields as last agreed with Google
    body_hash = fields.CharField(max_length=64, null=True)  # of the body last written
    dirty = fields.BooleanField(default=True)
    next_attempt_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    synced_at = fields.DatetimeField(null=True)

    class Meta:
        table = "calendar_event"
        unique_together = (("user", "event_id"), ("activity", "user"))
        indexes = [Index(fields=["dirty", "user_id"])]


class IcsFeed(Model):
    """K-1 a secret address of a person read-only ICS feed, revocable"""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation = fields.OneToOneField(
        "kontakt.User", related_name="ics_feed", on_delete=fields.CASCADE)
    token = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ics_feed"


class CompanyGoogle(TimestampedModel):
    """K-1 a Google Workspace service account with domain-wide delegation set by an admin"""

    id = fields.IntField(primary_key=True)
    key = fields.TextField()  # the service account JSON key, encrypted
    client_email = fields.CharField(max_length=254)
    set_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "kontakt.User", related_name="google_keys_set", null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "company_google"
