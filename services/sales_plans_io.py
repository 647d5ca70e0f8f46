"""Sales plans in an XLSX file (S-26): the template a head fills and the upload.

The sheet has a header row and a plan a row. Columns, found by their header in any of
ru/uk/en (their order does not matter): *Person* (full name, email, @username or the
id), *Metric* (revenue, margin, deals won, quantity, sum — in words of any of the
three languages, or the codes), *Product* (name or code), *Category* (name),
*Currency* and *Plan*. An empty plan removes the plan. Each bad cell is named by its
row and column; nothing is written unless every row is right
(:func:`services.sales_plans.do_set_plans`).

Reading the workbook is CPU work: :func:`read_rows` runs in a thread
(``asyncio.to_thread``) with a row limit; the rest resolves names in a few queries.
"""

from __future__ import annotations

import asyncio
import io
from datetime import date
from typing import Any

from tortoise.expressions import Q

from models import Product, ProductCategory, User
from services.analytics import plannable_people
from services.errors import N_, ValidationFailed
from services.sales_plans import MAX_CELLS, Cell, CellErrors, do_set_plans, month_of

MAX_BYTES = 5 * 2**20
HEADERS = {
    "person": {"person", "staff", "сотрудник", "співробітник", "менеджер", "manager"},
    "metric": {"metric", "показатель", "показник"},
    "product": {"product", "товар"},
    "category": {"category", "категория", "категорія"},
    "currency": {"currency", "валюта"},
    "target": {"plan", "target", "план"},
}
METRIC_WORDS = {
    "revenue": {"revenue", "выручка", "виручка"},
    "margin": {"margin", "маржа"},
    "deals_won": {"deals won", "deals_won", "выиграно сделок", "виграно угод",
                  "выигранные сделки", "виграні угоди"},
    "quantity": {"quantity", "количество", "кількість"},
    "sum": {"sum", "сумма", "сума"},
    "documents": {"documents", "documents prepared", "документы", "документи",
                  "подготовлено документов", "підготовлено документів"},
    "payments": {"payments", "payments collected", "оплаты", "оплати", "собрано оплат",
                 "зібрано оплат"},
}
TEMPLATE_HEADERS = {
    "ru": ["Сотрудник", "Показатель", "Товар", "Категория", "Валюта", "План"],
    "uk": ["Співробітник", "Показник", "Товар", "Категорія", "Валюта", "План"],
    "en": ["Person", "Metric", "Product", "Category", "Currency", "Plan"],
}
METRIC_NAMES = {
    "ru": {"revenue": "выручка", "margin": "маржа", "deals_won": "выиграно сделок",
           "quantity": "количество", "sum": "сумма", "documents": "документы",
           "payments": "оплаты"},
    "uk": {"revenue": "виручка", "margin": "маржа", "deals_won": "виграно угод",
           "quantity": "кількість", "sum": "сума", "documents": "документи",
           "payments": "оплати"},
    "en": {"revenue": "revenue", "margin": "margin", "deals_won": "deals won",
           "quantity": "quantity", "sum": "sum", "documents": "documents",
           "payments": "payments"},
}


def _fold(value: Any) -> str:
    return " ".join(str(value or "").casefold().replace("ё", "е").split())


MAX_ROWS_READ = 50_000  # empty rows too: a small zipped sheet can hold millions


def read_rows(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {column key: value}) of each filled row; CPU work for a thread."""
    from openpyxl import load_workbook

    not_xlsx = ValidationFailed("file", N_("this is not an XLSX file"))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same answer
        raise not_xlsx from None
    try:
        if not book.worksheets:
            raise not_xlsx
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None) or ()
        columns: dict[int, str] = {}
        for i, title in enumerate(header):
            for key, words in HEADERS.items():
                if _fold(title) in words:
                    columns[i] = key
        if {"person", "metric", "target"} - set(columns.values()):
            raise ValidationFailed("file", N_("the first row must name the columns: Person, "
                                              "Metric, Product, Category, Currency, Plan"))
        out = []
        for number, row in enumerate(rows, start=2):
            if number > MAX_ROWS_READ:
                raise ValidationFailed("file", N_("at most {n} plans at once"), n=MAX_CELLS)
            cells = {key: row[i] if i < len(row) else None for i, key in columns.items()}
            if cells.get("person") in (None, "") and cells.get("target") in (None, ""):
                continue  # an empty row, or the template's example left as it was
            if len(out) >= MAX_CELLS:
                raise ValidationFailed("file", N_("at most {n} plans at once"), n=MAX_CELLS)
            out.append((number, cells))
        return out
    except ValidationFailed:
        raise
    except Exception:  # noqa: BLE001 - a broken sheet is found while reading it lazily
        raise not_xlsx from None
    finally:
        book.close()


async def do_upload(actor: User, month: date | str, data: bytes) -> int:
    """Read the file and write its plans (all or nothing); how many were written."""
    month = month_of(month)
    if len(data) > MAX_BYTES:
        raise ValidationFailed("file", N_("the request is larger than {mb} MB"), mb=5)
    rows = await asyncio.to_thread(read_rows, data)
    ambiguous: set[str] = set()

    def index(pairs) -> dict[str, int]:
        """name → id; a name two records share is ambiguous (not guessed)."""
        out: dict[str, int] = {}
        for key, rid in pairs:
            key = _fold(key)
            if key in out and out[key] != rid:
                ambiguous.add(key)
            out[key] = rid
        return out

    people = index((key, p.id) for p in await plannable_people(actor)
                   for key in (p.full_name, p.email,
                               p.telegram_username and "@" + p.telegram_username, str(p.id))
                   if key)
    names = sorted({_fold(r.get("product")) for _n, r in rows if r.get("product")})
    products: dict[str, int] = {}
    if names:  # only the products the file names: by their code, or their name
        found = await Product.filter(archived=False).filter(
            Q(code__in=[str(r.get("product")).strip() for _n, r in rows if r.get("product")])
            | Q(name__in=[str(r.get("product")).strip() for _n, r in rows
                          if r.get("product")])).values_list("id", "name", "code")
        products = index([(name, pid) for pid, name, _code in found]
                         + [(code, pid) for pid, _name, code in found if code])
    categories = index((name, cid) for cid, name in
                       await ProductCategory.all().values_list("id", "name"))
    metrics = {word: code for code, words in METRIC_WORDS.items() for word in words}
    cells: list[Cell] = []
    errors: list[tuple[str, ValidationFailed]] = []
    for number, r in rows:
        where = f"{number}"
        if _fold(r.get("person")) in ambiguous:
            errors.append((where, ValidationFailed(
                "person", N_("«{text}» is ambiguous: give the email or the @username"),
                text=str(r.get("person") or "")[:60])))
            continue
        person = people.get(_fold(r.get("person")))
        if person is None:
            errors.append((where, ValidationFailed(
                "person", N_("«{text}» is none of your people"),
                text=str(r.get("person") or "")[:60])))
            continue
        metric = metrics.get(_fold(r.get("metric")))
        if metric is None:
            errors.append((where, ValidationFailed(
                "metric", N_("«{text}» is not a metric: revenue, margin, deals won, quantity "
                             "or sum"), text=str(r.get("metric") or "")[:60])))
            continue
        product_id = category_id = None
        for key in ("product", "category"):
            if r.get(key) and _fold(r[key]) in ambiguous:
                errors.append((where, ValidationFailed(
                    key, N_("«{text}» is ambiguous: two have that name"),
                    text=str(r[key])[:60])))
                break
        else:
            key = None
        if key is not None:
            continue
        if r.get("product"):
            product_id = products.get(_fold(r["product"]))
            if product_id is None:
                errors.append((where, ValidationFailed(
                    "product", N_("no product «{text}»"), text=str(r["product"])[:60])))
                continue
        if r.get("category"):
            category_id = categories.get(_fold(r["category"]))
            if category_id is None:
                errors.append((where, ValidationFailed(
                    "category", N_("no category «{text}»"), text=str(r["category"])[:60])))
                continue
        cells.append(Cell(person, metric, r.get("target"), product_id=product_id,
                          category_id=category_id,
                          currency=str(r["currency"]).strip() if r.get("currency") else None,
                          where=where))
    if errors:
        raise CellErrors(errors)
    return await do_set_plans(actor, month, cells)


def template_xlsx(language: str) -> bytes:
    """An empty sheet with the headers in ``language`` and one example row per metric;
    CPU work for a thread."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(TEMPLATE_HEADERS.get(language, TEMPLATE_HEADERS["en"]))
    names = METRIC_NAMES.get(language, METRIC_NAMES["en"])
    for metric in ("revenue", "margin", "deals_won", "quantity", "sum"):
        sheet.append([None, names[metric], None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
