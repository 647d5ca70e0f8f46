"""A person's profile in the staff directory (S-24): name, position, phone, email,
photo and time zone.

Who may (services.permissions, Action.EDIT_PROFILE): the person themselves, an admin,
or a head for the managers of their departments. The person's own language is set in
the bot (/lang) as before. A position is named, not picked by code: a new name makes a
new position, a known one is reused. The photo is a JPEG, PNG or WebP of at most 5 MB,
kept in the file store (the data folder or the bucket) under ``photos/``; a new photo
replaces the old one, and removing it deletes the file.
"""

from __future__ import annotations

import hashlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import AuditLog, Position, User
from services.clients import normalize_email, normalize_phone
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import Action, can
from services.storage import FileStore

PHOTO_MAX = 5 * 1024 * 1024
PHOTO_PREFIX = "store:"  # photo_file_id holds "store:<key>" for a photo in the file store
_IMAGE_KINDS = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", "png")}


def _clean(value: Any, limit: int, field: str) -> str | None:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise ValidationFailed(field, N_("at most {limit} characters"), limit=limit)
    return text or None


async def _target(actor: User, user_id: int) -> User:
    target = await User.get_or_none(id=user_id)
    if target is None or not await can(actor, Action.VIEW_STAFF, target):
        raise NotFound("person")
    if not await can(actor, Action.EDIT_PROFILE, target):
        raise PermissionDenied("edit_profile not allowed", action=str(Action.EDIT_PROFILE))
    return target


async def may_edit(actor: User, target: User) -> bool:
    return await can(actor, Action.EDIT_PROFILE, target)


async def do_update_profile(actor: User, user_id: int, changes: dict[str, Any], *,
                            region: str = "RU", source: str = "web") -> User:
    """Change the fields in ``changes`` (full_name, position, phone, email, timezone);
    everything is checked before anything is written."""
    target = await _target(actor, user_id)
    unknown = set(changes) - {"full_name", "position", "phone", "email", "timezone"}
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], N_("cannot be changed here"))
    values: dict[str, Any] = {}
    if "full_name" in changes:
        name = _clean(changes["full_name"], 200, "full_name")
        if not name or not any(ch.isalpha() for ch in name):
            raise ValidationFailed("full_name", N_("is empty"))
        values["full_name"] = name
    if "phone" in changes:
        raw = _clean(changes["phone"], 40, "phone")
        values["phone"] = normalize_phone(raw, region) if raw else None
    if "email" in changes:
        raw = _clean(changes["email"], 254, "email")
        values["email"] = normalize_email(raw) if raw else None
    if "timezone" in changes:
        zone = str(changes["timezone"] or "").strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed("timezone", N_("not a time zone such as Europe/Kyiv")) from None
        values["timezone"] = zone
    position_name = _clean(changes.get("position"), 200, "position") if "position" in \
        changes else None
    async with in_transaction():
        if "position" in changes:
            position = None
            if position_name:
                position = await _position(position_name)
            values["position_id"] = position.id if position else None
        for key, new in values.items():
            old = getattr(target, key)
            if old != new:
                setattr(target, key, new)
                await AuditLog.create(user_id=actor.id, source=source, entity="staff",
                                      object_id=target.id, action="update",
                                      field=key.removesuffix("_id"),
                                      old_value=None if old is None else str(old),
                                      new_value=position_name if key == "position_id"
                                      else None if new is None else str(new))
        await target.save()
    return target


async def _position(name: str) -> Position:
    """The position of this name in any letter case (SQLite folds only Latin letters in
    SQL, so the few candidates sharing the first letter are compared here), or a new
    one."""
    first = name[0]
    for p in await Position.filter(Q(name__startswith=first.upper())
                                   | Q(name__startswith=first.lower())).limit(500):
        if p.name.casefold() == name.casefold():
            return p
    return await Position.create(name=name)


def _image(content: bytes) -> tuple[str, str]:
    for magic, kind in _IMAGE_KINDS.items():
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    raise ValidationFailed("photo", N_("a JPEG, PNG or WebP picture"))


async def do_set_photo(actor: User, user_id: int, content: bytes, store: FileStore, *,
                       source: str = "web") -> User:
    target = await _target(actor, user_id)
    if not content:
        raise ValidationFailed("photo", N_("is empty"))
    if len(content) > PHOTO_MAX:
        raise ValidationFailed("photo", N_("at most 5 MB"))
    _mime, ext = _image(content)
    key = f"photos/user-{target.id}-{hashlib.sha256(content).hexdigest()[:12]}.{ext}"
    old = photo_key(target)
    await store.put(key, content)
    target.photo_file_id = PHOTO_PREFIX + key
    await target.save(update_fields=["photo_file_id", "updated_at"])
    await AuditLog.create(user_id=actor.id, source=source, entity="staff",
                          object_id=target.id, action="update", field="photo")
    if old and old != key:
        await store.delete(old)
    return target


async def do_remove_photo(actor: User, user_id: int, store: FileStore, *,
                          source: str = "web") -> User:
    target = await _target(actor, user_id)
    old = photo_key(target)
    if old is None:
        return target
    target.photo_file_id = None
    await target.save(update_fields=["photo_file_id", "updated_at"])
    await AuditLog.create(user_id=actor.id, source=source, entity="staff",
                          object_id=target.id, action="update", field="photo")
    await store.delete(old)
    return target


def photo_key(user: User) -> str | None:
    value = user.photo_file_id or ""
    return value.removeprefix(PHOTO_PREFIX) if value.startswith(PHOTO_PREFIX) else None


async def photo_of(actor: User, user_id: int) -> tuple[str, str] | None:
    """(store key, mime type) of a colleague's photo one may see, or None."""
    target = await User.get_or_none(id=user_id)
    if target is None or not await can(actor, Action.VIEW_STAFF, target):
        raise NotFound("person")
    key = photo_key(target)
    if key is None:
        return None
    ext = key.rsplit(".", 1)[-1]
    return key, {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[ext]


async def positions() -> list[str]:
    """The names of the positions in use, for a picker."""
    return await Position.all().order_by("name").values_list("name", flat=True)
