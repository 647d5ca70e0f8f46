"""What the catalogue stands on (issue 13, section 7; K-4): the product category tree,
product kinds, warehouses and our own legal entities. Admins create, change, archive
and restore them; everyone reads them.

* Categories form a tree: a category moves under another parent, never under itself
  or one of its own subcategories (no cycles). Their names are unique among their
  siblings. A path reads "Paper / Office paper" (:data:`PATH_SEP`).
* One warehouse and one legal entity is the default: making one the default takes the
  mark from the others; an archived one is no longer the default.
* A legal entity's requisites are checked by :mod:`services.requisites` (INN, KPP,
  OGRN, BIK and the accounts for Russia; EDRPOU, IPN, MFO and IBAN for Ukraine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import OwnEntity, ProductCategory, ProductKind, User, Warehouse
from services import requisites
from services.catalogue import _admin, _name
from services.errors import N_, NotFound, ValidationFailed

PATH_SEP = " / "
MAX_DEPTH = 20


# ---- categories ---------------------------------------------------------------------------

@dataclass
class CategoryNode:
    category: ProductCategory
    depth: int
    path: str


async def category_tree(*, include_archived: bool = False) -> list[CategoryNode]:
    """Every category depth-first (parents before their children, by sort order and
    name), with its depth and path; an archived category hides its branch unless asked."""
    qs = ProductCategory.all() if include_archived else ProductCategory.filter(archived=False)
    rows = await qs.order_by("sort_order", "name", "id")
    ids = {c.id for c in rows}
    children: dict[int | None, list[ProductCategory]] = {}
    for c in rows:
        parent = c.parent_id if c.parent_id in ids else None
        children.setdefault(parent, []).append(c)
    out: list[CategoryNode] = []

    def walk(parent: int | None, depth: int, prefix: str) -> None:
        for c in children.get(parent, []):
            path = f"{prefix}{PATH_SEP}{c.name}" if prefix else c.name
            out.append(CategoryNode(c, depth, path))
            if depth < MAX_DEPTH:
                walk(c.id, depth + 1, path)

    walk(None, 0, "")
    return out


async def category_paths() -> dict[int, str]:
    """Every category's path by id (archived ones too: a product may keep one)."""
    return {n.category.id: n.path for n in await category_tree(include_archived=True)}


async def branch_ids(category_id: int) -> list[int]:
    """The category and all its subcategories (for a filter)."""
    pairs = await ProductCategory.all().values_list("id", "parent_id")
    kids: dict[int, list[int]] = {}
    for cid, parent in pairs:
        kids.setdefault(parent, []).append(cid)
    out, todo = [], [category_id]
    while todo and len(out) < 100_000:
        cid = todo.pop()
        if cid in out:
            continue
        out.append(cid)
        todo.extend(kids.get(cid, []))
    return out


async def _parent(raw: Any, row: ProductCategory | None) -> int | None:
    if raw in (None, "", 0):
        return None
    try:
        parent_id = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed("parent_id", N_("choose a category from the list")) from None
    parent = await ProductCategory.get_or_none(id=parent_id)
    if parent is None:
        raise ValidationFailed("parent_id", N_("choose a category from the list"))
    if row is not None and parent_id in await branch_ids(row.id):
        raise ValidationFailed("parent_id", N_("a category cannot go under itself or "
                                               "its own subcategory"))
    return parent_id


async def _free_name(name: str, parent_id: int | None, row_id: int | None) -> None:
    qs = ProductCategory.filter(name=name, parent_id=parent_id, archived=False)
    if row_id is not None:
        qs = qs.exclude(id=row_id)
    if await qs.exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)


async def do_create_category(actor: User, data: dict[str, Any]) -> ProductCategory:
    _admin(actor, "the catalogue")
    name = _name(data.get("name"), 200)
    parent_id = await _parent(data.get("parent_id"), None)
    await _free_name(name, parent_id, None)
    return await ProductCategory.create(name=name, parent_id=parent_id)


async def do_update_category(actor: User, category_id: int,
                             data: dict[str, Any]) -> ProductCategory:
    """Rename, move under another parent (``parent_id``; none: to the top), archive or
    restore (``archived``)."""
    _admin(actor, "the catalogue")
    row = await ProductCategory.get_or_none(id=category_id)
    if row is None:
        raise NotFound("category")
    if "parent_id" in data:
        row.parent_id = await _parent(data["parent_id"], row)
    if "name" in data:
        row.name = _name(data["name"], 200)
    if "name" in data or "parent_id" in data:
        await _free_name(row.name, row.parent_id, row.id)
    if "archived" in data:
        row.archived = bool(data["archived"])
    await row.save()
    return row


async def category_by_path(path: str, *, create: bool,
                           cache: dict[str, int | None] | None = None) -> int | None:
    """The category at "A / B" (names compared case-blind), its missing parts created
    when ``create``; None when it is not there and not to be made."""
    parts = [" ".join(p.split()) for p in str(path or "").split("/")]
    parts = [p for p in parts if p]
    if not parts:
        return None
    key = PATH_SEP.join(p.casefold() for p in parts)
    if cache is not None and key in cache:
        return cache[key]
    parent: int | None = None
    for part in parts[:MAX_DEPTH]:
        if len(part) > 200:
            raise ValidationFailed("category", N_("one to {limit} characters"), limit=200)
        found = None
        for c in await ProductCategory.filter(parent_id=parent).order_by("archived", "id"):
            if c.name.casefold() == part.casefold():
                found = c
                break
        if found is None:
            if not create:
                parent = None
                break
            found = await ProductCategory.create(name=part, parent_id=parent)
        parent = found.id
    if cache is not None:
        cache[key] = parent
    return parent


# ---- product kinds ------------------------------------------------------------------------

async def list_kinds(*, include_archived: bool = False) -> list[ProductKind]:
    qs = ProductKind.all() if include_archived else ProductKind.filter(archived=False)
    return await qs.order_by("archived", "name")


async def _kind_name(raw: Any, row_id: int | None) -> str:
    name = _name(raw, 100)
    qs = ProductKind.filter(name=name)
    if row_id is not None:
        qs = qs.exclude(id=row_id)
    if await qs.exists():
        raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
    return name


async def do_create_kind(actor: User, data: dict[str, Any]) -> ProductKind:
    _admin(actor, "the catalogue")
    return await ProductKind.create(name=await _kind_name(data.get("name"), None))


async def do_update_kind(actor: User, kind_id: int, data: dict[str, Any]) -> ProductKind:
    _admin(actor, "the catalogue")
    row = await ProductKind.get_or_none(id=kind_id)
    if row is None:
        raise NotFound("kind")
    if "name" in data:
        row.name = await _kind_name(data["name"], row.id)
    if "archived" in data:
        row.archived = bool(data["archived"])
    await row.save()
    return row


# ---- warehouses -----------------------------------------------------------------------------

async def list_warehouses(*, include_archived: bool = False) -> list[Warehouse]:
    qs = Warehouse.all() if include_archived else Warehouse.filter(archived=False)
    return await qs.order_by("archived", "-is_default", "name")


async def _one_default(model: Any, row: Any) -> None:
    if row.is_default:
        await model.filter(is_default=True).exclude(id=row.id).update(is_default=False)


async def _warehouse_fields(row: Warehouse, data: dict[str, Any]) -> None:
    if "name" in data:
        name = _name(data["name"], 100)
        qs = Warehouse.filter(name=name)
        if row.id is not None:
            qs = qs.exclude(id=row.id)
        if await qs.exists():
            raise ValidationFailed("name", N_("«{name}» is already in the list"), name=name)
        row.name = name
    for flag in ("allow_backorder", "is_default", "archived"):
        if flag in data:
            setattr(row, flag, bool(data[flag]))
    if row.archived:
        row.is_default = False


async def do_create_warehouse(actor: User, data: dict[str, Any]) -> Warehouse:
    _admin(actor, "the warehouses")
    row = Warehouse(name="")
    await _warehouse_fields(row, {"name": data.get("name"), **data})
    if not await Warehouse.filter(archived=False).exists():
        row.is_default = True
    await row.save()
    await _one_default(Warehouse, row)
    return row


async def do_update_warehouse(actor: User, warehouse_id: int,
                              data: dict[str, Any]) -> Warehouse:
    _admin(actor, "the warehouses")
    row = await Warehouse.get_or_none(id=warehouse_id)
    if row is None:
        raise NotFound("warehouse")
    await _warehouse_fields(row, data)
    await row.save()
    await _one_default(Warehouse, row)
    return row


# ---- our legal entities --------------------------------------------------------------------

ENTITY_TEXT = {"name": 300, "legal_address": 400, "phone": 40, "bank_name": 200,
               "director": 200, "accountant": 200}
ENTITY_CODES = {"inn": requisites.check_inn, "kpp": requisites.check_kpp,
                "ogrn": requisites.check_ogrn, "bik": requisites.check_bik,
                "account": requisites.check_account,
                "corr_account": lambda v, f: requisites.check_account(v, f),
                "edrpou": requisites.check_edrpou, "ipn": requisites.check_ipn,
                "mfo": requisites.check_mfo, "iban": requisites.check_iban}
ENTITY_FIELDS = (*ENTITY_TEXT, "country", *ENTITY_CODES, "vat_payer", "is_default",
                 "archived")


async def list_own_entities(*, include_archived: bool = False) -> list[OwnEntity]:
    qs = OwnEntity.all() if include_archived else OwnEntity.filter(archived=False)
    return await qs.order_by("archived", "-is_default", "name")


def _entity_fields(row: OwnEntity, data: dict[str, Any]) -> None:
    if "country" in data:
        country = str(data["country"] or "").strip().upper()
        if country not in ("RU", "UA"):
            raise ValidationFailed("country", N_("RU or UA"))
        row.country = country
    for key, limit in ENTITY_TEXT.items():
        if key not in data:
            continue
        if key == "name":
            row.name = _name(data["name"], limit)
            continue
        text = " ".join(str(data[key] or "").split())
        if len(text) > limit:
            raise ValidationFailed(key, N_("at most {limit} characters"), limit=limit)
        setattr(row, key, text or None)
    for key, check in ENTITY_CODES.items():
        if key in data:
            raw = str(data[key] or "").strip()
            setattr(row, key, check(raw, key) if raw else None)
    for flag in ("vat_payer", "is_default", "archived"):
        if flag in data:
            setattr(row, flag, bool(data[flag]))
    if row.archived:
        row.is_default = False


async def do_create_own_entity(actor: User, data: dict[str, Any]) -> OwnEntity:
    _admin(actor, "our legal entities")
    row = OwnEntity(name="")
    _entity_fields(row, {"name": data.get("name"), **data})
    if not await OwnEntity.filter(archived=False).exists():
        row.is_default = True
    await row.save()
    await _one_default(OwnEntity, row)
    return row


async def do_update_own_entity(actor: User, entity_id: int, data: dict[str, Any]) -> OwnEntity:
    _admin(actor, "our legal entities")
    row = await OwnEntity.get_or_none(id=entity_id)
    if row is None:
        raise NotFound("own_entity")
    _entity_fields(row, data)
    await row.save()
    await _one_default(OwnEntity, row)
    return row
