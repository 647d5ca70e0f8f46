"""The catalogue from 1C in CommerceML 2 (issue 13: K-4 stock, K-5 prices): an admin
uploads ``import.xml`` (the classifier's group tree and the catalogue's products) or
``offers.xml`` (price types, warehouses, and each product's prices and stock); the kind
is told by the file's content, a file with both is read as both.

Rules:

* Admins only (:func:`services.permissions.require_admin`).
* The file is read by :mod:`services.commerceml_parse` (streamed, with limits on size,
  element count and depth) in a thread (``asyncio.to_thread``): a file that cannot be
  read is refused with :class:`ValidationFailed` naming the problem, before anything is
  written. The records are then written in bulk in **one transaction**: a failure
  leaves the database as it was.
* Matching: groups, price types and warehouses by their Ид (``external_id``); price
  lists and warehouses not yet linked to 1C are taken over by their name. Products by
  Ид, then by article (``code``) among products with no Ид yet (the Ид is stored then),
  and a product without Ид by its article or its exact name. A product whose article
  another product already has is left out (its offers still match it by Ид).
* What a file does not give is kept: a product without «Штрихкод», «БазоваяЕдиница»,
  «Группы» or «СтавкиНалогов» keeps its barcode, unit, group or VAT rate. «Без налога»
  means no VAT (``vat_rate`` None), «18/118» is 18 %. «ВидНоменклатуры» or
  «ТипНоменклатуры» «Услуга» marks a service; a «ВидНоменклатуры» that names an
  existing product kind (A-14) sets the product's kind (kinds are not created here:
  they carry discount rates an admin sets). The unit is the base unit's short name
  (the element's text: «шт», «м»), else the name its code stands for, else its full name.
* Archiving: «ПометкаУдаления» or ``Статус="Удален"`` archives a group or a product; a
  product in the file without it is restored. A **full** import.xml
  (``СодержитТолькоИзменения`` absent or false) also archives the groups and products
  that came from 1C before — **only those with an external_id** — and are missing from
  the file; products and groups made in Kontakt by hand are never touched. A partial
  file (``СодержитТолькоИзменения="true"``) changes only what it lists;
  ``archive_missing=False`` turns the archiving off for a full file too. Offers files
  never archive: they set the prices and stock they list and leave the rest.
* Prices: a price type is a :class:`PriceList` (its currency, «УчтеноВСумме» is
  ``vat_included``); each price is that list's :class:`ListPrice` for the product. An
  offer «product#characteristic» prices its product: the product's own offer wins,
  else its first characteristic's. A price of an unknown price type, in another currency
  than its list, negative or not a number is left out with the reason.
* Stock: per warehouse («Остатки/Остаток/Склад» with Ид and Количество, or
  ``<Склад ИдСклада=… КоличествоНаСкладе=…/>`` as 1C-Bitrix writes it); characteristics'
  stock is summed per product. An offer that gives only the total («Количество») puts it
  into the default warehouse (or the only one). An upload **sets** ``on_hand`` and
  leaves ``reserved`` alone; each level it changes gets a :class:`StockMove` of kind
  ``set`` (the new level) with source ``commerceml``. Services have no stock: theirs is
  ignored.
* The report (:class:`CommerceMLReport`) counts what was created, updated, left as it
  was and archived, and lists the records left out with a translatable reason
  (:class:`services.errors.Text`; the first :data:`MAX_SKIPPED`, with the total).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    ListPrice,
    PriceList,
    Product,
    ProductCategory,
    ProductKind,
    StockLevel,
    StockMove,
    StockMoveKind,
    User,
    Warehouse,
)
from models.staff import fold
from services.clock import utcnow
from services.commerceml_parse import (
    MAX_FILE_BYTES,
    UNSET,
    Parsed,
    Skipped,
    parse,
)
from services.errors import N_, Text, ValidationFailed
from services.permissions import require_admin
from services.text import search_blob

__all__ = ["MAX_FILE_BYTES", "CommerceMLReport", "Skipped", "Tally", "WHAT",
           "do_import_commerceml", "parse"]

SOURCE = "commerceml"
CHUNK = 500  # rows per query: well under SQLite's and PostgreSQL's parameter limits
MAX_SKIPPED = 1000
MAX_MONEY = Decimal(10) ** 14  # DecimalField(16, 2)
MAX_QTY = Decimal(10) ** 13  # DecimalField(16, 3)
CENT, MILLI = Decimal("0.01"), Decimal("0.001")
# what a left-out record is, as a person reads it
WHAT = {"group": N_("group"), "product": N_("product"), "offer": N_("offer"),
        "price": N_("price"), "stock": N_("stock"), "price_type": N_("price type"),
        "warehouse": N_("warehouse")}
_CURRENCIES = {"руб": "RUB", "руб.": "RUB", "rur": "RUB", "643": "RUB", "₽": "RUB",
               "грн": "UAH", "грн.": "UAH", "980": "UAH", "₴": "UAH", "840": "USD",
               "$": "USD", "978": "EUR", "€": "EUR", "933": "BYN", "byr": "BYN",
               "398": "KZT", "тенге": "KZT"}


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0


@dataclass
class CommerceMLReport:
    kind: str  # import | offers | both
    partial: bool
    schema_version: str | None = None
    generated: str | None = None  # «ДатаФормирования» as the file gives it
    categories: Tally = field(default_factory=Tally)
    products: Tally = field(default_factory=Tally)
    price_lists: Tally = field(default_factory=Tally)
    prices: Tally = field(default_factory=Tally)
    warehouses: Tally = field(default_factory=Tally)
    stock_levels: Tally = field(default_factory=Tally)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_total: int = 0

    def skip(self, what: str, item: str, template: str, **params: Any) -> None:
        self.skipped_total += 1
        if len(self.skipped) < MAX_SKIPPED:
            self.skipped.append(Skipped(what, item or "—", Text(template, **params)))


def currency_of(raw: str) -> str | None:
    """«RUB», «руб.», «643» → ``RUB``; None if it says nothing readable."""
    text = raw.strip().casefold()
    if text in _CURRENCIES:
        return _CURRENCIES[text]
    return text.upper() if re.fullmatch(r"[a-z]{3}", text) else None


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


async def do_import_commerceml(actor: User, source: str | os.PathLike[str] | bytes, *,
                               archive_missing: bool = True) -> CommerceMLReport:
    """Import one CommerceML file (a path or its bytes); see the module's rules."""
    require_admin(actor)
    parsed = await asyncio.to_thread(parse, source)
    report = CommerceMLReport(kind=parsed.kind, partial=parsed.partial,
                              schema_version=parsed.schema_version, generated=parsed.generated)
    for s in parsed.skipped:
        report.skip(s.what, s.item, s.reason.template, **s.reason.params)
    try:
        async with in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                # the reads by a chunk of ids run hundreds of times: a plan cached while a
                # table was nearly empty would scan it whole on each of them
                await conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
            writer = _Writer(conn, actor, parsed, report,
                             archive_missing and not parsed.partial)
            await writer.categories()
            await writer.products()
            await writer.price_lists()
            await writer.warehouses()
            await writer.prices()
            await writer.stock()
    except IntegrityError:  # another import at the same time, or a clash within the file
        raise ValidationFailed("file", N_(
            "the catalogue changed while the file was being imported, or the file gives "
            "one Ид or article to two products; nothing was imported")) from None
    return report


class _Writer:
    def __init__(self, conn: Any, actor: User, parsed: Parsed, report: CommerceMLReport,
                 archive: bool) -> None:
        self.conn, self.actor, self.p, self.r, self.archive = conn, actor, parsed, report, archive
        self.now = utcnow()
        self.category_ids: dict[str, int] = {}
        self.product_ids: dict[str, int] = {}  # external id → id
        self.service_ids: set[int] = set()
        self.lists: dict[str, PriceList] = {}  # price type Ид → list
        self.warehouse_ids: dict[str, int] = {}
        self.offer_products: dict[int, int] = {}  # an offer's index → its product's id

    async def _by_external(self, model: Any, ids: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for part in _chunks(set(ids)):
            for row in await model.filter(external_id__in=part).using_db(self.conn):
                found[row.external_id] = row
        return found

    async def _note_products(self, ids: Iterable[str]) -> None:
        """Remember the ids (and which are services) of the products of these Ид."""
        for part in _chunks(set(ids)):
            for pk, ext, service in await Product.filter(external_id__in=part).using_db(
                    self.conn).values_list("id", "external_id", "is_service"):
                self.product_ids[ext] = pk
                if service:
                    self.service_ids.add(pk)

    async def _archive_missing(self, model: Any, present: set[str], tally: Tally) -> None:
        rows = await model.filter(archived=False, external_id__isnull=False).using_db(
            self.conn).values_list("id", "external_id")
        gone = [pk for pk, ext in rows if ext not in present]
        for part in _chunks(gone):
            await model.filter(id__in=part).using_db(self.conn).update(
                archived=True, updated_at=self.now)
        tally.archived += len(gone)

    # --- groups -------------------------------------------------------------------------
    async def categories(self) -> None:
        groups, tally = self.p.groups, self.r.categories
        found = await self._by_external(ProductCategory, (g.external_id for g in groups))
        new = {g.external_id: ProductCategory(
            name=(g.name or g.external_id)[:200], external_id=g.external_id,
            archived=g.deleted, sort_order=g.order, created_at=self.now,
            updated_at=self.now) for g in groups if g.external_id not in found}
        await ProductCategory.bulk_create(list(new.values()), batch_size=CHUNK,
                                          using_db=self.conn)
        tally.created = len(new)
        found.update(await self._by_external(ProductCategory, new))
        changed = []
        for g in groups:
            row = found[g.external_id]
            parent = found.get(g.parent_id) if g.parent_id else None
            values = {"parent_id": parent.id if parent else None, "sort_order": g.order,
                      "name": (g.name or row.name)[:200], "archived": g.deleted}
            diff = {k: v for k, v in values.items() if getattr(row, k) != v}
            if diff:
                if g.external_id not in new:
                    if diff.get("archived"):
                        tally.archived += 1
                    else:
                        tally.updated += 1
                for k, v in diff.items():
                    setattr(row, k, v)
                row.updated_at = self.now
                changed.append(row)
            elif g.external_id not in new:
                tally.unchanged += 1
        if changed:
            await ProductCategory.bulk_update(
                changed, ["parent_id", "sort_order", "name", "archived", "updated_at"],
                batch_size=CHUNK, using_db=self.conn)
        self.category_ids = {ext: row.id for ext, row in found.items()}
        if self.archive and self.p.has_groups:
            await self._archive_missing(ProductCategory, set(found), tally)

    # --- products -----------------------------------------------------------------------
    async def products(self) -> None:
        recs = list({(r.external_id or f"\0{i}"): r
                     for i, r in enumerate(self.p.products)}.values())
        if not recs:
            return
        wanted_groups = {r.group for r in recs if r.group} - set(self.category_ids)
        for ext, row in (await self._by_external(ProductCategory, wanted_groups)).items():
            self.category_ids[ext] = row.id
        kinds = {fold(k.name): k.id for k in await ProductKind.all().using_db(self.conn)}
        claimed: dict[str, int] = {}  # article → the record (its index) that took it
        for part in _chunks(enumerate(recs)):  # a chunk's rows at a time: memory stays low
            await self._product_chunk(part, kinds, claimed)
        if self.archive and self.p.has_products:
            await self._archive_missing(Product, {r.external_id for r in recs},
                                        self.r.products)

    async def _product_chunk(self, part: list[tuple[int, Any]], kinds: dict[str, int],
                             claimed: dict[str, int]) -> None:
        tally = self.r.products
        by_ext = await self._by_external(Product, (r.external_id for _, r in part
                                                   if r.external_id))
        by_code: dict[str, Product] = {}
        for row in await Product.filter(code__in={r.code for _, r in part if r.code}
                                        ).using_db(self.conn):
            by_code[row.code] = row
        new: list[Product] = []
        changed: list[Product] = []
        for index, rec in part:
            item = rec.external_id or rec.code or rec.name
            if len(rec.code) > 64:
                self.r.skip("product", item, N_("the article is longer than 64 characters"))
                continue
            row = by_ext.get(rec.external_id) if rec.external_id else None
            if row is None and rec.code and (cand := by_code.get(rec.code)) is not None \
                    and not cand.external_id:
                row = cand
            if row is None and not rec.external_id and not rec.code:
                row = await Product.filter(name=rec.name, external_id=None).using_db(
                    self.conn).order_by("id").first()
            code = rec.code or (row.code if row else None)
            owner = by_code.get(code) if code else None
            if code and ((owner is not None and (row is None or owner.id != row.id))
                         or claimed.setdefault(code, index) != index):
                self.r.skip("product", item, N_("the article «{code}» belongs to another "
                                                "product"), code=code)
                continue
            if row is None and not rec.name:
                self.r.skip("product", item, N_("a new product without a name"))
                continue
            values = self._product_values(rec, row, code, kinds)
            if row is None:
                new.append(Product(**values, created_at=self.now, updated_at=self.now))
                continue
            diff = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not diff:
                tally.unchanged += 1
            else:
                if diff.get("archived"):
                    tally.archived += 1
                else:
                    tally.updated += 1
                for k, v in diff.items():
                    setattr(row, k, v)
                row.updated_at = self.now
                changed.append(row)
            if row.external_id:
                self.product_ids[row.external_id] = row.id
            if row.is_service:
                self.service_ids.add(row.id)
        await self._write_products(new, changed)

    def _product_values(self, rec: Any, row: Product | None, code: str | None,
                        kinds: dict[str, int]) -> dict[str, Any]:
        name = rec.name or row.name
        barcode = rec.barcode or (row.barcode if row else None)
        group_id = self.category_ids.get(rec.group) if rec.group else None
        return {
            "name": name, "code": code, "barcode": barcode,
            "unit": rec.unit or (row.unit if row else "шт"),
            "group_id": group_id or (row.group_id if row else None),
            "kind_id": kinds.get(fold(rec.kind)) or (row.kind_id if row else None),
            "is_service": rec.service if rec.service is not None else
            (row.is_service if row else False),
            "vat_rate": rec.vat if rec.vat is not UNSET else (row.vat_rate if row else None),
            "archived": rec.deleted,
            "external_id": rec.external_id or (row.external_id if row else None),
            "search_text": search_blob(name, code, barcode),
        }

    async def _write_products(self, new: list[Product], changed: list[Product]) -> None:
        with_ext = [p for p in new if p.external_id]
        await Product.bulk_create(with_ext, batch_size=CHUNK, using_db=self.conn)
        for p in new:
            if not p.external_id:  # rare: a product 1C gave no Ид
                await p.save(using_db=self.conn)
        self.r.products.created += len(new)
        await self._note_products(p.external_id for p in with_ext)
        if changed:
            await Product.bulk_update(changed, [
                "name", "code", "barcode", "unit", "group_id", "kind_id", "is_service",
                "vat_rate", "archived", "external_id", "search_text", "updated_at"],
                batch_size=CHUNK, using_db=self.conn)

    # --- price lists and warehouses -----------------------------------------------------
    async def _free_name(self, model: Any, row: Any, name: str, ext: str) -> str:
        """``name``, or with the Ид's start added when another row has it."""
        name, limit = name[:100], 100
        others = model.filter(name=name).using_db(self.conn)
        if not await (others.exclude(id=row.id) if row is not None else others).exists():
            return name
        suffix = f" ({ext[:12]})"
        return name[:limit - len(suffix)] + suffix

    async def _linked(self, model: Any, ext: str, name: str) -> Any:
        row = await model.filter(external_id=ext).using_db(self.conn).first()
        if row is None:  # made in Kontakt before 1C: taken over by its name
            row = await model.filter(name=name[:100], external_id=None).using_db(
                self.conn).first()
        return row

    async def price_lists(self) -> None:
        tally = self.r.price_lists
        for t in self.p.price_types:
            row = await self._linked(PriceList, t.external_id, t.name)
            currency = currency_of(t.currency) or (row.currency if row else "RUB")
            name = await self._free_name(PriceList, row, t.name, t.external_id)
            if row is None:
                row = await PriceList.create(name=name, currency=currency,
                                             vat_included=t.vat_included,
                                             external_id=t.external_id, using_db=self.conn)
                tally.created += 1
            else:
                values = {"name": name, "currency": currency,
                          "vat_included": t.vat_included, "external_id": t.external_id}
                if any(getattr(row, k) != v for k, v in values.items()):
                    row.update_from_dict(values)
                    await row.save(using_db=self.conn)
                    tally.updated += 1
                else:
                    tally.unchanged += 1
            self.lists[t.external_id] = row

    async def warehouses(self) -> None:
        tally = self.r.warehouses
        for w in self.p.warehouses:
            row = await self._linked(Warehouse, w.external_id, w.name)
            name = await self._free_name(Warehouse, row, w.name, w.external_id)
            if row is None:
                row = await Warehouse.create(name=name, external_id=w.external_id,
                                             using_db=self.conn)
                tally.created += 1
            elif (row.name, row.external_id) != (name, w.external_id):
                row.name, row.external_id = name, w.external_id
                await row.save(using_db=self.conn)
                tally.updated += 1
            else:
                tally.unchanged += 1
            self.warehouse_ids[w.external_id] = row.id

    # --- offers: prices and stock -------------------------------------------------------
    async def _offer_products(self) -> dict[int, int]:
        """Each offer (by its index) → its product's id; unknown products are reported."""
        offers = self.p.offers
        await self._note_products({o.product_id for o in offers if o.product_id}
                                  - set(self.product_ids))
        codes = {o.code for o in offers if o.product_id not in self.product_ids and o.code}
        by_code: dict[str, Product] = {}
        for part in _chunks(codes):
            for row in await Product.filter(code__in=part).using_db(self.conn):
                by_code[row.code] = row
        out: dict[int, int] = {}
        unknown: set[str] = set()
        for i, o in enumerate(offers):
            pid = self.product_ids.get(o.product_id) if o.product_id else None
            row = by_code.get(o.code) if pid is None and o.code else None
            if row is not None and row.external_id in (None, o.product_id or None):
                pid = row.id
                if row.is_service:
                    self.service_ids.add(row.id)
            if pid is None:
                key = o.product_id or o.code
                if key not in unknown:
                    unknown.add(key)
                    self.r.skip("offer", key, N_("an offer for an unknown product"))
                continue
            out[i] = pid
        return out

    async def prices(self) -> None:
        offers = self.p.offers
        if not offers:
            return
        self.offer_products = await self._offer_products()
        wanted_types = {t for o in offers for t, _, _ in o.prices} - set(self.lists)
        self.lists.update(await self._by_external(PriceList, wanted_types))
        wanted: dict[tuple[int, int], tuple[Decimal, bool]] = {}  # → price, from a char.
        reported: set[str] = set()
        for i, o in enumerate(offers):
            pid = self.offer_products.get(i)
            if pid is None:
                continue
            for type_id, value, cur in o.prices:
                price_list = self.lists.get(type_id)
                item = f"{o.product_id or o.code} · {type_id or '—'}"
                if price_list is None:
                    if type_id not in reported:
                        reported.add(type_id)
                        self.r.skip("price", item, N_("a price of an unknown price type "
                                                      "«{type}»"), type=type_id or "—")
                    continue
                currency = currency_of(cur)
                if currency and currency != price_list.currency:
                    self.r.skip("price", item, N_(
                        "the price is in {currency}, the price list «{list}» is in "
                        "{list_currency}"), currency=currency, list=price_list.name,
                        list_currency=price_list.currency)
                    continue
                if value < 0 or value >= MAX_MONEY:
                    self.r.skip("price", item, N_("the price {value} is out of range"),
                                value=str(value))
                    continue
                key = (price_list.id, pid)
                if key not in wanted or (wanted[key][1] and not o.characteristic):
                    wanted[key] = (value.quantize(CENT, ROUND_HALF_UP), o.characteristic)
        await self._write_prices({k: v for k, (v, _) in wanted.items()})

    async def _existing(self, model: Any, other: str, wanted: dict[tuple[int, int], Decimal],
                        column: str, tally: Tally) -> list[tuple[int, int, int, Decimal]]:
        """Read the rows there are for ``wanted`` ((other id, product id) → value), all of
        them before anything is written (PostgreSQL would otherwise plan the reads of a
        table growing within the transaction as scans): the ones that already hold their
        value leave ``wanted`` (unchanged); those to change are returned as
        (row id, other id, product id, value), the rest of ``wanted`` is new."""
        others = sorted({o for o, _ in wanted})
        changes = []
        for part in _chunks({pid for _, pid in wanted}):
            for pk, o, pid, old in await model.filter(
                    product_id__in=part, **{f"{other}_id__in": others}).using_db(
                    self.conn).values_list("id", f"{other}_id", "product_id", column):
                value = wanted.pop((o, pid), None)
                if value is None:
                    continue
                if Decimal(old) == value:
                    tally.unchanged += 1
                else:
                    changes.append((pk, o, pid, value))
        return changes

    async def _write_prices(self, wanted: dict[tuple[int, int], Decimal]) -> None:
        tally = self.r.prices
        changes = await self._existing(ListPrice, "price_list", wanted, "price", tally)
        for part in _chunks(changes):
            await ListPrice.bulk_update(
                [ListPrice(id=pk, price_list_id=o, product_id=pid, price=v, updated_at=self.now)
                 for pk, o, pid, v in part], ["price", "updated_at"], using_db=self.conn)
        for part in _chunks(wanted.items()):
            await ListPrice.bulk_create(
                [ListPrice(price_list_id=o, product_id=pid, price=v, updated_at=self.now)
                 for (o, pid), v in part], using_db=self.conn)
        tally.created, tally.updated = len(wanted), len(changes)

    async def _default_warehouse(self) -> int | None:
        rows = await Warehouse.filter(archived=False).using_db(self.conn).order_by(
            "-is_default", "id").limit(2).values_list("id", "is_default")
        if rows and (rows[0][1] or len(rows) == 1):
            return rows[0][0]
        return None

    async def stock(self) -> None:
        offers = self.p.offers
        if not offers:
            return
        wanted_wh = {w for o in offers for w in o.stock} - set(self.warehouse_ids)
        for ext, row in (await self._by_external(Warehouse, wanted_wh)).items():
            self.warehouse_ids[ext] = row.id
        default = await self._default_warehouse() \
            if any(o.quantity is not None and not o.stock for o in offers) else None
        own: dict[tuple[int, int], Decimal] = {}
        chars: dict[tuple[int, int], Decimal] = {}
        reported: set[str] = set()
        totals_lost = 0
        for i, o in enumerate(offers):
            pid = self.offer_products.get(i)
            if pid is None or pid in self.service_ids:
                continue
            levels = dict(o.stock)
            if not levels and o.quantity is not None:
                if default is None:
                    totals_lost += 1
                    continue
                levels = {"": o.quantity}
            target = chars if o.characteristic else own
            for wh_ext, qty in levels.items():
                wh = default if wh_ext == "" else self.warehouse_ids.get(wh_ext)
                if wh is None:
                    if wh_ext not in reported:
                        reported.add(wh_ext)
                        self.r.skip("stock", wh_ext, N_("stock in an unknown warehouse "
                                                        "«{warehouse}»"), warehouse=wh_ext)
                    continue
                if abs(qty) >= MAX_QTY:
                    self.r.skip("stock", o.product_id or o.code,
                                N_("the quantity {value} is out of range"), value=str(qty))
                    continue
                target[(wh, pid)] = target.get((wh, pid), Decimal(0)) + qty
        if totals_lost:
            self.r.skip("stock", str(totals_lost), N_(
                "offers with only a total quantity and no default warehouse to put it in: "
                "{count}"), count=totals_lost)
        await self._write_stock({**chars, **own})

    async def _write_stock(self, wanted: dict[tuple[int, int], Decimal]) -> None:
        tally = self.r.stock_levels
        wanted = {k: v.quantize(MILLI, ROUND_HALF_UP) for k, v in wanted.items()}
        changes = await self._existing(StockLevel, "warehouse", wanted, "on_hand", tally)
        for part in _chunks(changes):  # on_hand only: reservations made meanwhile stay
            await StockLevel.bulk_update(
                [StockLevel(id=pk, warehouse_id=wh, product_id=pid, on_hand=v,
                            updated_at=self.now) for pk, wh, pid, v in part],
                ["on_hand", "updated_at"], using_db=self.conn)
        for part in _chunks(wanted.items()):
            await StockLevel.bulk_create(
                [StockLevel(warehouse_id=wh, product_id=pid, on_hand=v, reserved=Decimal(0),
                            updated_at=self.now) for (wh, pid), v in part], using_db=self.conn)
        moves = [(wh, pid, v) for _, wh, pid, v in changes] + [
            (wh, pid, v) for (wh, pid), v in wanted.items()]
        for part in _chunks(moves):
            await StockMove.bulk_create(
                [StockMove(warehouse_id=wh, product_id=pid, kind=StockMoveKind.SET, quantity=v,
                           user_id=self.actor.id, source=SOURCE, at=self.now)
                 for wh, pid, v in part], using_db=self.conn)
        tally.created, tally.updated = len(wanted), len(changes)
