"""Invites, one-time web login links and web sessions.

Secrets (invite codes aside, which travel in a deep link) are stored only as
SHA-256 hashes, so a database dump does not open anybody's session.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.staff import Department, Role, User


class Invite(Model):
    """A single-use invite. Only the SHA-256 of its code is kept: the code itself
    lives in the deep link given to the person."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "kontakt.Department", related_name="invites", null=True, on_delete=fields.SET_NULL
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "kontakt.User", related_name="invites_created", null=True, on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "kontakt.User", related_name="invite_used", null=True, on_delete=fields.SET_NULL
    )
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invite"


class LoginToken(Model):
    """A one-time link that signs a desktop browser in (sent by the bot's /web)."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "kontakt.User", related_name="login_tokens", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "login_token"


class WebSession(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "kontakt.User", related_name="web_sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    via = fields.CharField(max_length=16)  # "webapp" | "link"

    class Meta:
        table = "web_session"
