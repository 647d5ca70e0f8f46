"""The lists an activity chooses from (A-7, S-12): its types (the system ones
created when missing), categories and products; admins extend them here and
change or archive them in :mod:`services.catalogue`."""

from __future__ import annotations

from typing import Any

from models import ActivityCategory, ActivityKind, ActivityType, Product, Role, User
from services.errors import N_, PermissionDenied, ValidationFailed

# code, Russian name, kind, icon, detail fields of the form, default minutes
SYSTEM_TYPES: list[tuple[str, str, ActivityKind, str, list[str], int | None]] = [
    ("call", "Звонок", ActivityKind.EVENT, "📞", ["contact", "result"], 15),
    ("meeting", "Встреча", ActivityKind.EVENT, "🤝",
     ["contact", "location", "agenda", "minutes", "result"], 60),
    ("visit", "Визит", ActivityKind.EVENT, "🚗", ["contact", "location", "result"], 60),
    ("email", "Письмо", ActivityKind.EVENT, "✉️", ["contact", "result"], None),
    ("presentation", "Презентация", ActivityKind.EVENT, "📊",
     ["contact", "product", "location", "result"], 60),
    ("sale", "Продажа", ActivityKind.EVENT, "💰", ["contact", "product", "result"], None),
    ("inbound_request", "Входящий запрос", ActivityKind.EVENT, "📥", ["contact", "result"],
     None),
    ("data_processing", "Обработка данных", ActivityKind.TASK, "🗂", ["percent"], None),
    ("task", "Задача", ActivityKind.TASK, "✅", ["percent", "result"], None),
]


async def ensure_activity_types() -> None:
    """Create the system types if missing (idempotent; an admin's renames are kept)."""
    existing = set(await ActivityType.exclude(code=None).values_list("code", flat=True))
    for order, (code, name, kind, icon, form, minutes) in enumerate(SYSTEM_TYPES):
        if code not in existing:
            await ActivityType.get_or_create(code=code, defaults=dict(
                name=name, kind=kind, icon=icon, form_fields=form,
                default_duration_min=minutes, sort_order=order))


async def list_types() -> list[ActivityType]:
    await ensure_activity_types()
    return await ActivityType.filter(archived=False).order_by("sort_order", "name")


async def get_type(code_or_id: str | int) -> ActivityType:
    await ensure_activity_types()
    if isinstance(code_or_id, str) and code_or_id.isdigit() and len(code_or_id) < 10:
        code_or_id = int(code_or_id)  # a type an admin added has no code: its id
    if isinstance(code_or_id, int) and not isinstance(code_or_id, bool):
        found = await ActivityType.get_or_none(id=code_or_id, archived=False)
    else:
        found = await ActivityType.get_or_none(code=str(code_or_id), archived=False)
    if found is None:
        raise ValidationFailed("type", N_("choose an activity type from the list"))
    return found


async def do_add_type(actor: User, name: str, kind: str = "task", icon: str = "") -> ActivityType:
    """A-7: admins extend the list of types."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the activity types")
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed("name", N_("is empty or longer than 100 characters"))
    if kind not in ActivityKind.__members__.values():
        raise ValidationFailed("kind", N_("must be event or task"))
    if await ActivityType.filter(name=name).exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return await ActivityType.create(name=name, kind=kind, icon=icon[:8], sort_order=100)


async def do_add_category(actor: User, name: str, colour: str) -> ActivityCategory:
    import re

    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the categories")
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed("name", N_("is empty or longer than 100 characters"))
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        raise ValidationFailed("colour", N_("use #rrggbb"))
    if await ActivityCategory.filter(name=name).exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return await ActivityCategory.create(name=name, colour=colour.lower())


async def list_categories() -> list[ActivityCategory]:
    """The categories in use, in their order (the organizer's choice list)."""
    return await ActivityCategory.filter(archived=False).order_by("sort_order", "name")


async def list_products() -> list[Product]:
    return await Product.filter(archived=False).order_by("name").limit(2000)


async def do_add_product(actor: User, data: dict[str, Any]) -> Product:
    """S-12: the basic catalogue (name, code, category, unit); admins keep it."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit the product catalogue")
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 300:
        raise ValidationFailed("name", N_("one to 300 characters"))
    code = str(data.get("code") or "").strip() or None
    if code and await Product.filter(code=code).exists():
        raise ValidationFailed("code", N_("«{code}» is already used"), code=code)
    unit = str(data.get("unit") or "шт").strip()[:16] or "шт"
    category = str(data.get("category") or "").strip()[:100] or None
    from services.products import search_text_of

    return await Product.create(name=name, code=code, unit=unit, category=category,
                                search_text=search_text_of(name, code))
