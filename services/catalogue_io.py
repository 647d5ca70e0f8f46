"""The catalogue and its stock as XLSX or CSV files (issue 13, section 7; K-4), as the
clients' import and export do it (services.tabular, services.exporter).

* **Catalogue export**: article, name, category path ("A / B"), unit, VAT, kind, cost
  price, barcode, service?, archived — the headers in the person's language.
* **Catalogue import** (admins): the columns are found by their headers (this export's
  in ru, uk or en, or the field codes); a row is matched to a product by its article,
  else it is created; a category path's missing parts and an unknown kind are created.
  A row with a bad value is reported by its row and column and left out; the good rows
  go in; an empty cell of a known column leaves the product's value as it was.
* **Stock**: the export lists on hand, reserved and free per warehouse; an upload
  (warehouse, article, on hand — for when another system keeps the warehouse) sets on
  hand, a row without a warehouse going to the default one.

The file is read in a thread, a batch at a time, within services.tabular's limits
(size, rows, columns, cell length); rows are numbered as a spreadsheet shows them (the
header is row 1).
"""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any, Literal

from models import Product, ProductKind, StockLevel, User, Warehouse
from services import catalogue_admin as cat
from services.catalogue import _admin
from services.catalogue_setup import category_by_path, category_paths
from services.errors import N_, Text, ValidationFailed
from services.exporter import _safe
from services.tabular import Source, Table

BATCH = 200
CHUNK = 1000

CATALOGUE_COLUMNS = ("code", "name", "category", "unit", "vat_rate", "kind", "cost_price",
                     "barcode", "is_service", "archived")
STOCK_COLUMNS = ("warehouse", "code", "name", "on_hand", "reserved", "free")
LABELS = {
    "code": N_("Article"), "name": N_("Name"), "category": N_("Category"),
    "unit": N_("Unit"), "vat_rate": N_("VAT, %"), "kind": N_("Product kind"),
    "cost_price": N_("Cost price"), "barcode": N_("Barcode"), "is_service": N_("Service"),
    "archived": N_("Archived"), "warehouse": N_("Warehouse"), "on_hand": N_("On hand"),
    "reserved": N_("Reserved"), "free": N_("Free"),
}
# other spellings people have in their files (lower-cased, without spaces and dots)
_GUESSES = {
    "артикул": "code", "код": "code", "sku": "code", "article": "code",
    "наименование": "name", "название": "name", "назва": "name", "товар": "name",
    "категория": "category", "группа": "category", "категорія": "category",
    "група": "category", "group": "category", "ед": "unit", "единица": "unit",
    "едизм": "unit", "од": "unit", "одиниця": "unit", "ндс": "vat_rate", "пдв": "vat_rate",
    "vat": "vat_rate", "ставкандс": "vat_rate", "ставкапдв": "vat_rate",
    "вид": "kind", "видтовара": "kind", "kind": "kind", "себестоимость": "cost_price",
    "собівартість": "cost_price", "cost": "cost_price", "штрихкод": "barcode",
    "штрихкод(ean)": "barcode", "ean": "barcode", "услуга": "is_service",
    "послуга": "is_service", "вархиве": "archived", "архів": "archived",
    "архив": "archived", "склад": "warehouse", "остаток": "on_hand",
    "вналичии": "on_hand", "залишок": "on_hand", "наявність": "on_hand", "qty": "on_hand",
    "quantity": "on_hand", "количество": "on_hand", "кількість": "on_hand",
}


def _key(text: str | None) -> str:
    return "".join(ch for ch in (text or "").casefold() if ch not in " ._-\t:,%").replace(
        "ё", "е")


def _header_map() -> dict[str, str]:
    from kontakt.i18n import translator

    out = {_key(c): c for c in (*CATALOGUE_COLUMNS, *STOCK_COLUMNS)}
    out.update(_GUESSES)
    for lang in ("ru", "uk", "en"):
        gettext = translator(lang)
        for code, label in LABELS.items():
            out.setdefault(_key(gettext(label)), code)
    return out


def columns_of(headers: Iterable[str | None], wanted: tuple[str, ...]) -> dict[str, int]:
    known = _header_map()
    out: dict[str, int] = {}
    for i, h in enumerate(headers):
        target = known.get(_key(h))
        if target in wanted and target not in out:
            out[target] = i
    return out


@dataclass
class IOReport:
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str, Text]] = field(default_factory=list)  # row, field, why

    @property
    def bad_rows(self) -> int:
        return len({row for row, _f, _m in self.errors})


Progress = Callable[[int, int], Awaitable[Any] | None] | None


async def _progress(progress: Progress, done: int, total: int) -> None:
    if progress is not None:
        result = progress(done, total)
        if inspect.isawaitable(result):
            await result


async def _batches(source: Source, filename: str, wanted: tuple[str, ...],
                   need: tuple[str, ...], progress: Progress):
    """(columns, [(row number, cells)]) a batch at a time, read in a thread."""
    table = await asyncio.to_thread(Table, source, filename)
    with table:
        it = table.rows()
        headers = await asyncio.to_thread(next, it, [])
        columns = columns_of(headers, wanted)
        missing = [c for c in need if c not in columns]
        if missing:
            raise ValidationFailed("file", N_("no column «{column}» in the first row"),
                                   column=Text(LABELS[missing[0]]))
        lines = 0
        while chunk := await asyncio.to_thread(lambda: list(islice(it, BATCH))):
            batch = []
            for cells in chunk:
                lines += 1
                if any(cells):
                    batch.append((lines + 1, cells))
            if batch:
                yield columns, batch
            await _progress(progress, lines, max(table.total_estimate, lines))


def _get(cells: list[str | None], columns: dict[str, int], name: str) -> str | None:
    i = columns.get(name)
    return cells[i] if i is not None and i < len(cells) else None


# ---- the catalogue ---------------------------------------------------------------------

async def import_catalogue(actor: User, source: Source, filename: str, *,
                           progress: Progress = None) -> IOReport:
    _admin(actor, "the product catalogue")
    report = IOReport()
    categories: dict[str, int | None] = {}
    kinds = {k.name.casefold(): k.id for k in await ProductKind.all()}
    async for columns, batch in _batches(source, filename, CATALOGUE_COLUMNS, ("name",),
                                         progress):
        codes = [c for _n, cells in batch if (c := (_get(cells, columns, "code") or "")
                                               .strip())]
        known = {p.code: p for p in await Product.filter(code__in=codes)} if codes else {}
        for number, cells in batch:
            report.rows_total += 1
            data: dict[str, Any] = {}
            for name in CATALOGUE_COLUMNS:
                value = _get(cells, columns, name)
                if name in columns and (value not in (None, "") or name == "vat_rate"):
                    data[name] = value
            code = " ".join((data.get("code") or "").split())
            row = known.get(code) if code else None
            if row is None and "vat_rate" in data and data["vat_rate"] in (None, ""):
                data.pop("vat_rate")  # a new product without a rate: none, as the form
            elif row is not None and data.get("vat_rate") in (None, ""):
                data.pop("vat_rate", None)  # an empty cell leaves the rate as it was
            try:
                if "category" in data:
                    data["group_id"] = await category_by_path(data.pop("category"),
                                                              create=True, cache=categories)
                if "kind" in data:
                    kind = " ".join(str(data.pop("kind")).split())[:100]
                    if kind.casefold() not in kinds:
                        kinds[kind.casefold()] = (await ProductKind.create(name=kind)).id
                    data["kind_id"] = kinds[kind.casefold()]
                fresh = row is None
                product = await cat.apply_product(row or Product(name="", unit="шт"), data)
                await product.save()
            except ValidationFailed as exc:
                report.errors.append((number, exc.field, exc.as_text()))
                if row is not None:
                    await row.refresh_from_db()
                continue
            if fresh:
                report.created += 1
                if product.code:
                    known[product.code] = product
            else:
                report.updated += 1
    return report


def _yes_no(value: bool, gettext: Callable[[str], str]) -> str:
    return gettext(N_("yes")) if value else gettext(N_("no"))


async def _catalogue_rows(gettext: Callable[[str], str]):
    paths = await category_paths()
    kinds = {k.id: k.name for k in await ProductKind.all()}
    last = 0
    while True:
        chunk = await Product.filter(id__gt=last).order_by("id").limit(CHUNK)
        if not chunk:
            return
        for p in chunk:
            yield [p.code, p.name, paths.get(p.group_id), p.unit,
                   gettext(N_("no VAT")) if p.vat_rate is None else cat.vat_text(p.vat_rate),
                   kinds.get(p.kind_id),
                   None if p.cost_price is None else f"{p.cost_price:.2f}", p.barcode,
                   _yes_no(p.is_service, gettext), _yes_no(p.archived, gettext)]
        last = chunk[-1].id


async def _write(headers: list[str], rows, fmt: Literal["csv", "xlsx"], sheet: str) -> bytes:
    batch: list[list[Any]] = []
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(headers)

        def append(rows: list[list[Any]]) -> None:
            writer.writerows(["" if v is None else _safe(v) for v in r] for r in rows)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet)
        ws.append(headers)

        def append(rows: list[list[Any]]) -> None:
            for r in rows:
                ws.append([_safe(v) for v in r])
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    async for row in rows:
        batch.append(row)
        if len(batch) >= 500:
            await asyncio.to_thread(append, batch)
            batch = []
    await asyncio.to_thread(append, batch)
    if fmt == "csv":
        return ("\ufeff" + out.getvalue()).encode()

    def pack() -> bytes:
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    return await asyncio.to_thread(pack)


async def export_catalogue(actor: User, *, fmt: Literal["csv", "xlsx"] = "xlsx",
                           gettext: Callable[[str], str] = lambda s: s) -> bytes:
    """Every product, archived ones too (marked), an import's round trip."""
    from services.permissions import require_staff

    require_staff(actor)
    return await _write([gettext(LABELS[c]) for c in CATALOGUE_COLUMNS],
                        _catalogue_rows(gettext), fmt, "catalogue")


# ---- stock ------------------------------------------------------------------------------

def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def _stock_rows(warehouse_id: int | None):
    qs = StockLevel.filter(warehouse__archived=False, product__archived=False)
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    last = 0
    while True:
        chunk = await qs.filter(id__gt=last).order_by("id").limit(CHUNK).values(
            "id", "warehouse__name", "product__code", "product__name", "on_hand",
            "reserved")
        if not chunk:
            return
        for r in chunk:
            on_hand, reserved = Decimal(r["on_hand"]), Decimal(r["reserved"])
            yield [r["warehouse__name"], r["product__code"], r["product__name"],
                   _qty(on_hand), _qty(reserved), _qty(on_hand - reserved)]
        last = chunk[-1]["id"]


async def export_stock(actor: User, *, warehouse_id: int | None = None,
                       fmt: Literal["csv", "xlsx"] = "xlsx",
                       gettext: Callable[[str], str] = lambda s: s) -> bytes:
    from services.permissions import require_staff

    require_staff(actor)
    return await _write([gettext(LABELS[c]) for c in STOCK_COLUMNS],
                        _stock_rows(warehouse_id), fmt, "stock")


async def import_stock(actor: User, source: Source, filename: str, *,
                       progress: Progress = None) -> IOReport:
    """Set on hand from a file (warehouse, article, on hand); ``updated`` counts them."""
    _admin(actor, "the stock")
    report = IOReport()
    warehouses = {w.name.casefold(): w for w in await Warehouse.filter(archived=False)}
    default = await Warehouse.filter(archived=False).order_by("-is_default", "id").first()
    async for columns, batch in _batches(source, filename, ("warehouse", "code", "on_hand"),
                                         ("code", "on_hand"), progress):
        codes = [c.strip() for _n, cells in batch if (c := _get(cells, columns, "code"))]
        known = {p.code: p for p in await Product.filter(code__in=codes)} if codes else {}
        for number, cells in batch:
            report.rows_total += 1
            try:
                name = " ".join((_get(cells, columns, "warehouse") or "").split())
                store = warehouses.get(name.casefold()) if name else default
                if store is None:
                    raise ValidationFailed("warehouse", N_("no warehouse «{name}»"),
                                           name=name or "—")
                code = " ".join((_get(cells, columns, "code") or "").split())
                product = known.get(code)
                if product is None:
                    raise ValidationFailed("code", N_("no product with the article "
                                                      "«{code}»"), code=code or "—")
                await cat.do_set_on_hand(actor, store.id, product.id,
                                         _get(cells, columns, "on_hand"), source="import")
            except ValidationFailed as exc:
                report.errors.append((number, exc.field, exc.as_text()))
                continue
            report.updated += 1
    return report
