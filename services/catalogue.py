"""Settings an admin keeps (issue 17): activity types, activity categories and
products are changed and archived (restored) here — adding them is in
:mod:`services.activities.choices`; an archived entry leaves the choice lists, records that
use it keep it — and the card completeness weights and minimum (S-10)."""

from __future__ import annotations

import re
from typing import Any

from models import ActivityCategory, ActivityKind, ActivityType, Product, Setting, User
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin


def _admin(actor: User, what: str) -> None:
    """Only admins change the catalogue, the stock, the price lists and rules, and see
    cost prices (the margins are the admins'): :func:`services.permissions.is_admin`."""
    if not is_admin(actor):
        raise PermissionDenied(f"only admins edit {what}")


def _name(raw: Any, limit: int) -> str:
    name = " ".join(str(raw or "").split())
    if not name or len(name) > limit:
        raise ValidationFailed("name", N_("one to {limit} characters"), limit=limit)
    return name


async def _unique_name(model: Any, row: Any, raw: Any, limit: int) -> str:
    """A new name for ``row``: one to ``limit`` characters, not another row's."""
    name = _name(raw, limit)
    if await model.filter(name=name).exclude(id=row.id).exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return name


async def do_update_type(actor: User, type_id: int, data: dict[str, Any]) -> ActivityType:
    """Rename, change the kind or icon, archive (``archived``) or restore a type."""
    _admin(actor, "the activity types")
    row = await ActivityType.get_or_none(id=type_id)
    if row is None:
        raise NotFound("activity_type")
    if "name" in data:
        row.name = await _unique_name(ActivityType, row, data["name"], 100)
    if "kind" in data:
        if data["kind"] not in ActivityKind.__members__.values():
            raise ValidationFailed("kind", N_("must be event or task"))
        row.kind = ActivityKind(data["kind"])
    if "icon" in data:
        row.icon = str(data["icon"] or "")[:8]
    if "archived" in data:
        if data["archived"] and not await ActivityType.filter(archived=False).exclude(
                id=row.id).exists():
            raise ValidationFailed("archived", N_("at least one type must stay"))
        row.archived = bool(data["archived"])
    await row.save()
    return row


async def do_update_category(actor: User, category_id: int,
                             data: dict[str, Any]) -> ActivityCategory:
    _admin(actor, "the categories")
    row = await ActivityCategory.get_or_none(id=category_id)
    if row is None:
        raise NotFound("activity_category")
    if "name" in data:
        row.name = await _unique_name(ActivityCategory, row, data["name"], 100)
    if "colour" in data:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", str(data["colour"] or "")):
            raise ValidationFailed("colour", N_("use #rrggbb"))
        row.colour = str(data["colour"]).lower()
    if "archived" in data:
        row.archived = bool(data["archived"])
    await row.save()
    return row


async def do_update_product(actor: User, product_id: int, data: dict[str, Any]) -> Product:
    """S-12: change a product of the catalogue, archive or restore it."""
    _admin(actor, "the product catalogue")
    row = await Product.get_or_none(id=product_id)
    if row is None:
        raise NotFound("product")
    if "name" in data:
        row.name = _name(data["name"], 300)
    if "code" in data:
        code = str(data["code"] or "").strip() or None
        if code and len(code) > 64:
            raise ValidationFailed("code", N_("at most 64 characters"))
        if code and await Product.filter(code=code).exclude(id=row.id).exists():
            raise ValidationFailed("code", N_("«{code}» is already used"), code=code)
        row.code = code
    if "category" in data:
        row.category = str(data["category"] or "").strip()[:100] or None
    if "unit" in data:
        unit = str(data["unit"] or "").strip()
        if not unit or len(unit) > 16:
            raise ValidationFailed("unit", N_("one to 16 characters"))
        row.unit = unit
    if "archived" in data:
        row.archived = bool(data["archived"])
    from services.products import search_text_of

    row.search_text = search_text_of(row.name, row.code, row.barcode)
    await row.save()
    return row


async def archived_lists() -> dict[str, list[Any]]:
    """What an admin may restore: archived types, categories and products."""
    return {
        "types": await ActivityType.filter(archived=True).order_by("name"),
        "categories": await ActivityCategory.filter(archived=True).order_by("name"),
        "products": await Product.filter(archived=True).order_by("name").limit(500),
    }


async def list_categories() -> list[ActivityCategory]:
    return await ActivityCategory.filter(archived=False).order_by("name")


COMPLETENESS_PARTS = ("name", "phone", "email", "address", "requisites", "contact")


async def completeness_settings() -> tuple[dict[str, int], int]:
    """The completeness weights (S-10) and the minimum to save a card."""
    from services.clients import DEFAULT_WEIGHTS

    weights = await Setting.get_or_none(key="completeness.weights")
    minimum = await Setting.get_or_none(key="completeness.minimum")
    return (dict(weights.value) if weights else dict(DEFAULT_WEIGHTS),
            int(minimum.value) if minimum else 0)


async def do_save_completeness(actor: User, weights: dict[str, int],
                               minimum: int = 0) -> tuple[dict[str, int], int]:
    """Admins set how much each part of a card counts (0..100) and the minimum."""
    _admin(actor, "the completeness settings")
    if not weights:
        raise ValidationFailed("weights", N_("give at least one weight"))
    for key, w in weights.items():
        if key not in COMPLETENESS_PARTS:
            raise ValidationFailed("weights", N_("«{key}» is not a part of the card"), key=key)
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 100:
            raise ValidationFailed("weights", N_("each weight is 0 to 100"))
    if isinstance(minimum, bool) or not isinstance(minimum, int) or not 0 <= minimum <= 100:
        raise ValidationFailed("minimum", N_("0 to 100"))
    await Setting.update_or_create(key="completeness.weights", defaults={"value": dict(weights)})
    await Setting.update_or_create(key="completeness.minimum", defaults={"value": minimum})
    return dict(weights), minimum
