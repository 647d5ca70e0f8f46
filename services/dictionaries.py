"""User-extendable dictionaries (A-16 regions/cities/districts, S-8 business spheres,
A-17 advertising sources) and the value lists of custom fields (``cf_<code>``).

Rules:

* :func:`ensure_system_dictionaries` creates the five system lists (idempotent; safe to
  run at every start): ``region``, ``city``, ``district`` and ``sphere`` are extendable by
  any active staff member, ``ad_source`` by admins only (marketing counts by it, so the
  list stays clean). Spheres and advertising sources get a starter set of items, each
  with a stable ``code``; an admin may rename or archive them.
* Any active staff member may add an item to a ``user_extendable`` dictionary; admins
  to every dictionary. Renaming and archiving are for admins.
* Within one dictionary the same name under the same parent is refused (case and ё/е
  do not matter), archived items included (an admin restores those instead).
* A city's parent, if given, must be a region item; a district must have a city item
  as its parent. Items of other dictionaries may nest within the same dictionary.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import AuditLog, Dictionary, DictionaryItem, Role, User
from models.staff import fold
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import require_admin, require_staff

REGION, CITY, DISTRICT, SPHERE, AD_SOURCE = "region", "city", "district", "sphere", "ad_source"
LOST_REASON = "lost_reason"  # U-6: why a deal was lost
CLAIM_REJECTION = "claim_rejection"  # U-7: why a claim was rejected

# code -> (Russian name, user_extendable)
SYSTEM_DICTIONARIES: dict[str, tuple[str, bool]] = {
    REGION: ("Регионы", True),
    CITY: ("Города", True),
    DISTRICT: ("Районы", True),
    SPHERE: ("Сферы деятельности", True),
    AD_SOURCE: ("Источники рекламы", False),
    LOST_REASON: ("Причины проигрыша", False),
    CLAIM_REJECTION: ("Причины отклонения претензий", False),
}

# dictionary code -> (parent dictionary code, parent required)
PARENT_RULES: dict[str, tuple[str, bool]] = {
    CITY: (REGION, False),
    DISTRICT: (CITY, True),
}

STARTER_ITEMS: dict[str, list[tuple[str, str]]] = {
    SPHERE: [
        ("trade", "Торговля"), ("wholesale", "Оптовая торговля"),
        ("manufacturing", "Производство"), ("construction", "Строительство"),
        ("it", "IT и связь"), ("services", "Услуги"), ("logistics", "Транспорт и логистика"),
        ("finance", "Финансы"), ("agriculture", "Сельское хозяйство"),
        ("public", "Государственный сектор"), ("other", "Другое"),
    ],
    AD_SOURCE: [
        ("referral", "Рекомендация"), ("website", "Сайт"), ("search", "Поисковая реклама"),
        ("social", "Социальные сети"), ("exhibition", "Выставка"),
        ("cold_call", "Холодный звонок"), ("email", "Email-рассылка"),
        ("print", "Печатная реклама"), ("other", "Другое"),
    ],
    LOST_REASON: [
        ("price", "Дорого"), ("competitor", "Выбрали конкурента"),
        ("no_budget", "Нет бюджета"), ("no_need", "Нет потребности"),
        ("no_answer", "Клиент пропал"), ("postponed", "Отложили покупку"),
        ("other", "Другое"),
    ],
    CLAIM_REJECTION: [
        ("claim_unconfirmed", "Не подтвердилась"),
        ("claim_warranty_over", "Истёк срок гарантии"),
        ("claim_misuse", "Нарушены условия эксплуатации"),
        ("claim_not_ours", "Товар или работа не наши"),
        ("claim_withdrawn", "Клиент отозвал претензию"),
        ("other", "Другое"),
    ],
}

# item code -> the name it was seeded with (a name still equal to it was not renamed)
SEEDED_ITEM_NAMES: dict[str, str] = {code: name for items in STARTER_ITEMS.values()
                                     for code, name in items}

MAX_NAME = 200


# --- helpers -----------------------------------------------------------------------
def _clean_name(name: Any, field: str = "name") -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise ValidationFailed(field, N_("is empty"))
    if len(text) > MAX_NAME:
        raise ValidationFailed(field, N_("is longer than {max_name} characters"), max_name=MAX_NAME)
    return text


def case_variants(text: str) -> list[str]:
    """SQLite folds only ASCII in LIKE: look for the usual spellings of a word."""
    return list(dict.fromkeys((text, text.lower(), text.upper(), text.capitalize(),
                               text.title())))


def icontains_q(field: str, text: str) -> Q:
    """Case-insensitive "contains" that also works for Cyrillic on SQLite (ILIKE on
    PostgreSQL handles any script; on SQLite the common spellings are tried)."""
    cond = Q()
    for variant in case_variants(text):
        cond |= Q(**{f"{field}__icontains": variant})
    return cond


async def _audit(actor: User | None, source: str, object_id: int, action: str,
                 field: str | None = None, old: Any = None, new: Any = None) -> None:
    await AuditLog.create(
        user_id=actor.id if actor else None, source=source, entity="dictionary_item",
        object_id=object_id, client_id=None, action=action, field=field,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new))


# --- dictionaries ------------------------------------------------------------------
class _Seeded:
    """Whether this process has seeded the database it is connected to (kontakt.db's
    init_db forgets it when it connects, a test's fresh database included)."""

    done = False


def forget_seeded() -> None:
    _Seeded.done = False


async def ensure_system_dictionaries() -> dict[str, Dictionary]:
    """Create the system dictionaries and their starter items if missing (idempotent;
    existing names, flags and items changed by an admin are left as they are).

    Pages call it on every view: after the first full run in a process it only reads
    the system dictionaries (one query) and runs in full again only if one is missing
    (a database emptied since, a run rolled back with the transaction it was in)."""
    if _Seeded.done:
        found = {d.code: d for d in await Dictionary.filter(code__in=list(SYSTEM_DICTIONARIES))}
        if len(found) == len(SYSTEM_DICTIONARIES):
            return {code: found[code] for code in SYSTEM_DICTIONARIES}
    result: dict[str, Dictionary] = {}
    for code, (name, extendable) in SYSTEM_DICTIONARIES.items():
        dictionary = await Dictionary.get_or_none(code=code)
        if dictionary is None:
            try:
                dictionary = await Dictionary.create(code=code, name=name, system=True,
                                                     user_extendable=extendable)
            except IntegrityError:  # created meanwhile by another process
                dictionary = await Dictionary.get(code=code)
        result[code] = dictionary
        starters = STARTER_ITEMS.get(code, [])
        if not starters:
            continue
        existing = set(await DictionaryItem.filter(dictionary_id=dictionary.id)
                       .exclude(code=None).values_list("code", flat=True))
        names = {fold(n) for n in await DictionaryItem.filter(
            dictionary_id=dictionary.id, parent_id=None).values_list("name", flat=True)}
        for order, (item_code, item_name) in enumerate(starters):
            if item_code in existing or fold(item_name) in names:
                continue
            try:
                await DictionaryItem.create(dictionary=dictionary, name=item_name,
                                            code=item_code, sort_order=order)
            except IntegrityError:
                pass
    _Seeded.done = True
    return result


async def get_dictionary(code: str) -> Dictionary:
    dictionary = await Dictionary.get_or_none(code=code)
    if dictionary is None and code in SYSTEM_DICTIONARIES:
        dictionary = (await ensure_system_dictionaries())[code]
    if dictionary is None:
        raise NotFound("dictionary", code=code)
    return dictionary


async def list_dictionaries() -> list[Dictionary]:
    await ensure_system_dictionaries()
    return await Dictionary.all().order_by("-system", "name")


async def create_dictionary(code: str, name: str, *, user_extendable: bool = False) -> Dictionary:
    """A non-system list (the custom fields service makes ``cf_<code>`` ones)."""
    if await Dictionary.exists(code=code):
        raise ValidationFailed("dictionary_code", N_("a dictionary «{code}» already exists"),
                               code=code)
    return await Dictionary.create(code=code, name=_clean_name(name), system=False,
                                   user_extendable=user_extendable)


# --- items -------------------------------------------------------------------------
async def list_items(code: str, parent_id: int | None = None, query: str | None = None, *,
                     include_archived: bool = False, limit: int | None = None
                     ) -> list[DictionaryItem]:
    """Items of a dictionary, optionally only the children of ``parent_id`` (the cities
    of a region...) and those whose name contains ``query``."""
    dictionary = await get_dictionary(code)
    qs = DictionaryItem.filter(dictionary_id=dictionary.id)
    if not include_archived:
        qs = qs.filter(archived=False)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    text = " ".join((query or "").split())
    if text:
        qs = qs.filter(icontains_q("name", text))
    qs = qs.order_by("sort_order", "name", "id")
    if limit:
        qs = qs.limit(limit)
    return await qs


async def items_of(dicts: list[Dictionary]) -> dict[str, list[DictionaryItem]]:
    """Every item of each of ``dicts``, archived ones included, by dictionary code, each
    list in its order: one query for them all (the settings page edits them all, so
    none is left out)."""
    out: dict[str, list[DictionaryItem]] = {d.code: [] for d in dicts}
    codes = {d.id: d.code for d in dicts}
    if codes:
        for item in await DictionaryItem.filter(dictionary_id__in=list(codes)).order_by(
                "sort_order", "name", "id"):
            out[codes[item.dictionary_id]].append(item)
    return out


async def items_in_use(dictionary_id: int) -> list[DictionaryItem]:
    """A dictionary's items not archived, in their order (a choice field's choices)."""
    return await DictionaryItem.filter(dictionary_id=dictionary_id, archived=False).order_by(
        "sort_order", "name")


async def card_choices(limit: int = 2000) -> dict[str, list[DictionaryItem]]:
    """The items the client card's edit form chooses from (S-4/A-16, S-8, A-17): of each
    system dictionary, those not archived, in their order."""
    await ensure_system_dictionaries()
    out: dict[str, list[DictionaryItem]] = {}
    for code in (REGION, CITY, DISTRICT, SPHERE, AD_SOURCE):
        out[code] = await DictionaryItem.filter(
            dictionary__code=code, archived=False).order_by("sort_order", "name").limit(limit)
    return out


async def get_item(item_id: int, code: str | None = None) -> DictionaryItem:
    item = await DictionaryItem.get_or_none(id=item_id).prefetch_related("dictionary")
    if item is None or (code is not None and item.dictionary.code != code):
        raise NotFound("dictionary_item")
    return item


async def find_item(dictionary: Dictionary, raw: Any, *, field: str = "item",
                    allow_archived: bool = False) -> DictionaryItem:
    """An item of ``dictionary`` by its id (int or digits) or its name (case and ё/е
    do not matter), else ValidationFailed naming ``field``."""
    qs = DictionaryItem.filter(dictionary_id=dictionary.id)
    if not allow_archived:
        qs = qs.filter(archived=False)
    if isinstance(raw, DictionaryItem):
        raw = raw.id
    if isinstance(raw, bool) or raw is None:
        raise ValidationFailed(field, N_("choose a value from the list"))
    if isinstance(raw, int):
        item = await qs.get_or_none(id=raw)
        if item is None:
            raise ValidationFailed(field, N_("{raw} is not in the list «{dictionary}»"),
                                   raw=raw, dictionary=dictionary.name)
        return item
    text = " ".join(str(raw).split())
    if not text:
        raise ValidationFailed(field, N_("choose a value from the list"))
    exact = await qs.filter(name=text).order_by("id").first()
    if exact is not None:
        return exact
    wanted = fold(text)
    for item in await qs.filter(icontains_q("name", text)).order_by("id"):
        if fold(item.name) == wanted:
            return item
    if text.isdigit():
        item = await qs.get_or_none(id=int(text))
        if item is not None:
            return item
    raise ValidationFailed(field, N_("«{text}» is not in the list «{dictionary}»"),
                           text=text, dictionary=dictionary.name)


async def _check_parent(dictionary: Dictionary, parent_id: int | None) -> DictionaryItem | None:
    rule = PARENT_RULES.get(dictionary.code)
    if parent_id is None:
        if rule and rule[1]:
            raise ValidationFailed("parent", N_("choose the {kind} this item belongs to"),
                                   kind=rule[0])
        return None
    parent = await DictionaryItem.get_or_none(id=parent_id).prefetch_related("dictionary")
    if parent is None:
        raise ValidationFailed("parent", N_("no such item"))
    expected = rule[0] if rule else dictionary.code
    if parent.dictionary.code != expected:
        raise ValidationFailed("parent", N_("the parent must be an item of «{expected}», not of "
                                            "«{actual}»"),
                               expected=expected, actual=parent.dictionary.code)
    if parent.archived:
        raise ValidationFailed("parent", N_("«{parent}» is archived"), parent=parent.name)
    return parent


async def _check_unique(dictionary_id: int, parent_id: int | None, name: str,
                        exclude_id: int | None = None) -> None:
    siblings = DictionaryItem.filter(dictionary_id=dictionary_id, parent_id=parent_id)
    if exclude_id is not None:
        siblings = siblings.exclude(id=exclude_id)
    wanted = fold(name)
    for other in await siblings.values("name", "archived"):
        if fold(other["name"]) == wanted:
            if other["archived"]:
                raise ValidationFailed("name", N_("«{name}» is already in this list "
                                                  "(archived: an admin can restore it)"),
                                       name=other["name"])
            raise ValidationFailed("name", N_("«{name}» is already in this list"),
                                   name=other["name"])


async def may_add_item(actor: User, code: str) -> bool:
    """Whether ``actor`` may add to dictionary ``code`` (for showing the button)."""
    if actor is None or not actor.is_active:
        return False
    dictionary = await Dictionary.get_or_none(code=code)
    return dictionary is not None and (dictionary.user_extendable or actor.role == Role.ADMIN)


async def do_add_item(actor: User, code: str, name: str, parent_id: int | None = None, *,
                      item_code: str | None = None, source: str = "web") -> DictionaryItem:
    """Add ``name`` to dictionary ``code`` (any active staff member for user-extendable
    dictionaries, admins for all)."""
    require_staff(actor)
    dictionary = await get_dictionary(code)
    if not dictionary.user_extendable and actor.role != Role.ADMIN:
        raise PermissionDenied("only admins add to this list", dictionary=code)
    name = _clean_name(name)
    parent = await _check_parent(dictionary, parent_id)
    async with in_transaction():
        await _check_unique(dictionary.id, parent.id if parent else None, name)
        last = await DictionaryItem.filter(dictionary_id=dictionary.id).order_by(
            "-sort_order").first()
        try:
            item = await DictionaryItem.create(
                dictionary=dictionary, name=name, parent=parent,
                code=(item_code or None), sort_order=(last.sort_order + 1) if last else 0)
        except IntegrityError:
            raise ValidationFailed("name", N_("«{name}» is already in this list"), name=name)
        await _audit(actor, source, item.id, "create", new=f"{code}: {name}")
    return item


async def do_rename_item(actor: User, item_id: int, name: str, *,
                         source: str = "web") -> DictionaryItem:
    require_admin(actor)
    item = await get_item(item_id)
    name = _clean_name(name)
    if name == item.name:
        return item
    async with in_transaction():
        await _check_unique(item.dictionary_id, item.parent_id, name, exclude_id=item.id)
        old = item.name
        item.name = name
        try:
            await item.save(update_fields=["name", "updated_at"])
        except IntegrityError:
            raise ValidationFailed("name", N_("«{name}» is already in this list"), name=name)
        await _audit(actor, source, item.id, "update", "name", old, name)
    return item


async def do_move_item(actor: User, item_id: int, parent_id: int | None, *,
                       source: str = "web") -> DictionaryItem:
    """Put an item under another parent (a city into another region...) or to the top;
    the parent follows the dictionary's rule and an item never goes under itself."""
    require_admin(actor)
    item = await get_item(item_id)
    if parent_id == item.parent_id:
        return item
    dictionary = await Dictionary.get(id=item.dictionary_id)
    parent = await _check_parent(dictionary, parent_id)
    if parent is not None and parent.dictionary_id == item.dictionary_id:
        seen, up = set(), parent
        while up is not None and up.id not in seen:
            if up.id == item.id:
                raise ValidationFailed("parent", N_("an item cannot go inside itself"))
            seen.add(up.id)
            up = await DictionaryItem.get_or_none(id=up.parent_id) if up.parent_id else None
    async with in_transaction():
        await _check_unique(item.dictionary_id, parent_id, item.name, exclude_id=item.id)
        old = item.parent_id
        item.parent_id = parent_id
        await item.save(update_fields=["parent_id", "updated_at"])
        await _audit(actor, source, item.id, "move", "parent", old, parent_id)
    return item


async def do_archive_item(actor: User, item_id: int, archived: bool = True, *,
                          source: str = "web") -> DictionaryItem:
    """Hide an item from choice lists (records that use it keep it); ``archived=False``
    restores it. Items are never deleted: clients and custom values point at them."""
    require_admin(actor)
    item = await get_item(item_id)
    if item.archived == archived:
        return item
    async with in_transaction():
        item.archived = archived
        await item.save(update_fields=["archived", "updated_at"])
        await _audit(actor, source, item.id, "archive" if archived else "restore",
                     "archived", not archived, archived)
    return item


async def check_address(region_id: int | None, city_id: int | None,
                        district_id: int | None) -> None:
    """S-4 / A-16: the address parts of a client fit together (for the clients service):
    each is an item of its dictionary, the city lies in the region, the district in the
    city. Raises ValidationFailed naming the part that does not fit."""
    items: dict[str, DictionaryItem | None] = {}
    for code, item_id in ((REGION, region_id), (CITY, city_id), (DISTRICT, district_id)):
        if item_id is None:
            items[code] = None
            continue
        item = await DictionaryItem.get_or_none(id=item_id).prefetch_related("dictionary")
        if item is None or item.dictionary.code != code:
            raise ValidationFailed(code, N_("choose a {code} from the list"), code=code)
        items[code] = item
    city, district, region = items[CITY], items[DISTRICT], items[REGION]
    if city and region and city.parent_id not in (None, region.id):
        raise ValidationFailed(CITY, N_("«{city}» is not in «{region}»"),
                               city=city.name, region=region.name)
    if district and city and district.parent_id != city.id:
        raise ValidationFailed(DISTRICT, N_("«{district}» is not in «{city}»"),
                               district=district.name, city=city.name)
