"""Organisation structure and staff (S-24)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TimestampedModel


class Role(StrEnum):
    ADMIN = "admin"
    HEAD = "head"
    MANAGER = "manager"


class Language(StrEnum):
    RU = "ru"
    UK = "uk"
    EN = "en"


class StaffStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


class Department(TimestampedModel):
    """A node of the organisation tree."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "kontakt.Department", related_name="children", null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "department"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Position(TimestampedModel):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)

    class Meta:
        table = "position"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(TimestampedModel):
    """A staff member. Only rows here with status ``active`` may use the product."""

    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True, null=True)
    telegram_username = fields.CharField(max_length=64, null=True)
    full_name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=32, null=True)  # E.164
    email = fields.CharField(max_length=254, null=True)
    photo_file_id = fields.CharField(max_length=255, null=True)
    position: fields.ForeignKeyNullableRelation[Position] = fields.ForeignKeyField(
        "kontakt.Position", related_name="users", null=True, on_delete=fields.SET_NULL
    )
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "kontakt.Department", related_name="users", null=True, on_delete=fields.SET_NULL
    )
    supervisor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "kontakt.User", related_name="subordinates", null=True, on_delete=fields.SET_NULL
    )
    role = fields.CharEnumField(Role, max_length=16, default=Role.MANAGER)
    language = fields.CharEnumField(Language, max_length=2, default=Language.RU)
    timezone = fields.CharField(max_length=64, default="Europe/Moscow")
    status = fields.CharEnumField(StaffStatus, max_length=16, default=StaffStatus.ACTIVE,
                                  db_index=True)
    dismissed_at = fields.DatetimeField(null=True)
    # casefolded name, username, phone and email: SQLite's LIKE folds ASCII only
    search_text = fields.CharField(max_length=700, default="")

    class Meta:
        table = "staff_user"
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def is_active(self) -> bool:
        return self.status == StaffStatus.ACTIVE

    async def save(self, *args, **kwargs) -> None:
        self.search_text = staff_search_text(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "search_text" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "search_text"]
        await super().save(*args, **kwargs)


def fold(text: str | None) -> str:
    """Lower-case for search in any script (ё and е are the same letter here)."""
    return (text or "").casefold().replace("ё", "е")


def staff_search_text(user: User) -> str:
    parts = (user.full_name, user.telegram_username, user.phone, user.email)
    return fold(" ".join(p for p in parts if p))[:700]
