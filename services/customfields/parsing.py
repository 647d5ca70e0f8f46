"""A raw value as a field's type stores it: text, numbers and money, dates, yes/no,
items of the field's list (what :func:`services.customfields.do_set_values`
accepts, in the package's docstring), and the stored row read back."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from models import CustomField, Dictionary, DictionaryItem, FieldType
from services import dictionaries
from services.errors import N_, ValidationFailed

MAX_TEXT = 1000
MAX_ABS = Decimal(10) ** 16  # DECIMAL(20, 4)


CHOICE_TYPES = (FieldType.CHOICE, FieldType.MULTICHOICE)


COLUMN = {
    FieldType.TEXT: "value_text", FieldType.NUMBER: "value_number",
    FieldType.MONEY: "value_number", FieldType.DATE: "value_date",
    FieldType.BOOL: "value_bool", FieldType.CHOICE: "item_id",
    FieldType.MULTICHOICE: "item_id",
}
_TRUE = {"1", "true", "yes", "y", "on", "да", "д", "так", "+", "✓", "✅"}
_FALSE = {"0", "false", "no", "n", "off", "нет", "н", "ні", "-", "✗", "❌"}
_CURRENCY = re.compile(r"(₽|руб\.?|р\.|грн\.?|₴|\$|€|usd|eur|rub|uah)", re.IGNORECASE)
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def _decimal(field: CustomField, raw: Any) -> Decimal:
    code = field.code
    if isinstance(raw, bool):
        raise ValidationFailed(code, N_("must be a number"))
    try:
        if isinstance(raw, Decimal):
            value = raw
        elif isinstance(raw, int):
            value = Decimal(raw)
        elif isinstance(raw, float):
            value = Decimal(repr(raw))
        elif isinstance(raw, str):
            text = raw.strip()
            if field.type == FieldType.MONEY:
                text = _CURRENCY.sub("", text)
            text = re.sub(r"[\s\u00a0\u202f_']", "", text)
            if "," in text and "." in text:
                text = text.replace(",", "")
            else:
                text = text.replace(",", ".")
            value = Decimal(text)
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise ValidationFailed(code, N_("«{raw}» is not a number"), raw=raw)
    if not value.is_finite():
        raise ValidationFailed(code, N_("«{raw}» is not a number"), raw=raw)
    if abs(value) >= MAX_ABS:
        raise ValidationFailed(code, N_("is too large"))
    places = Decimal("0.01") if field.type == FieldType.MONEY else Decimal("0.0001")
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _date(field: CustomField, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip() if isinstance(raw, str) else None
    if text:
        match = _DMY.match(text)
        try:
            if match:
                day, month, year = (int(g) for g in match.groups())
                return date(year, month, day)
            if len(text) >= 10 and text[4] == "-":
                return date.fromisoformat(text[:10])
        except ValueError:
            raise ValidationFailed(field.code, N_("«{raw}» is not a date"), raw=raw)
    raise ValidationFailed(field.code, N_("«{raw}» is not a date: use YYYY-MM-DD or DD.MM.YYYY"),
                           raw=raw)


def _bool(code: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValidationFailed(code, N_("«{raw}» is not yes or no"), raw=raw)


def _is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (
        isinstance(raw, (list, tuple, set)) and not raw)


async def _dictionary(field: CustomField) -> Dictionary:
    if field.dictionary_id is None:
        raise ValidationFailed(field.code, N_("the field has no list of values"))
    dictionary = field.dictionary if isinstance(field.dictionary, Dictionary) else None
    return dictionary or await Dictionary.get(id=field.dictionary_id)


async def _items(field: CustomField, raw: Any) -> list[DictionaryItem]:
    dictionary = await _dictionary(field)
    if isinstance(raw, (list, tuple, set)):
        parts = list(raw)
    elif field.type == FieldType.MULTICHOICE and isinstance(raw, str):
        try:
            return [await dictionaries.find_item(dictionary, raw, field=field.code)]
        except ValidationFailed:
            parts = [p for p in re.split(r"[,;\n]", raw) if p.strip()]
    else:
        parts = [raw]
    if field.type == FieldType.CHOICE and len(parts) != 1:
        raise ValidationFailed(field.code, N_("choose one value"))
    found: dict[int, DictionaryItem] = {}
    for part in parts:
        item = await dictionaries.find_item(dictionary, part, field=field.code)
        found[item.id] = item
    return list(found.values())


async def scalar(field: CustomField, raw: Any) -> Any:
    """One raw value of ``field`` as stored in its column (an item id for choices)."""
    if field.type == FieldType.TEXT:
        text = str(raw).strip()
        if len(text) > MAX_TEXT:
            raise ValidationFailed(field.code, N_("is longer than {max_text} characters"),
                                   max_text=MAX_TEXT)
        return text
    if field.type in (FieldType.NUMBER, FieldType.MONEY):
        return _decimal(field, raw)
    if field.type == FieldType.DATE:
        return _date(field, raw)
    if field.type == FieldType.BOOL:
        return _bool(field.code, raw)
    dictionary = await _dictionary(field)
    return (await dictionaries.find_item(dictionary, raw, field=field.code,
                                         allow_archived=True)).id


async def _parse(field: CustomField, raw: Any) -> tuple[list[dict[str, Any]], Any]:
    """(rows for custom_value, the python value :func:`values_for` would give)."""
    if _is_empty(raw):
        return [], ([] if field.type == FieldType.MULTICHOICE else None)
    if field.type in CHOICE_TYPES:
        items = await _items(field, raw)
        items.sort(key=lambda i: (i.sort_order, i.name))
        rows = [{"item_id": i.id} for i in items]
        names = [i.name for i in items]
        return rows, (names if field.type == FieldType.MULTICHOICE else names[0])
    if isinstance(raw, (list, tuple, set, dict)):
        raise ValidationFailed(field.code, N_("give one value"))
    value = await scalar(field, raw)
    if field.type == FieldType.TEXT and not value:
        return [], None
    return [{COLUMN[field.type]: value}], value


def _python(field: CustomField, row: dict[str, Any], item_ids: bool) -> Any:
    if field.type in CHOICE_TYPES:
        return row["item_id"] if item_ids else row["item__name"]
    value = row[COLUMN[field.type]]
    if value is None:
        return None
    if field.type in (FieldType.NUMBER, FieldType.MONEY):
        places = Decimal("0.01") if field.type == FieldType.MONEY else Decimal("0.0001")
        return Decimal(str(value)).quantize(places)
    if field.type == FieldType.DATE and isinstance(value, str):
        return date.fromisoformat(value[:10])
    if field.type == FieldType.BOOL:
        return bool(value)
    return value
