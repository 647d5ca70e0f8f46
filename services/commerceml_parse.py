"""Reading CommerceML 2 files from 1C (issue 13: K-4, K-5): the streaming parser behind
:mod:`services.commerceml`. CPU work without the database, run in a thread.

* The file is read with ``defusedxml``'s ``iterparse`` (no DTD, no entities, no external
  references): element by element, never as a whole tree. Each record (a group, a
  product, a price type, a warehouse, an offer, a property, a unit) is read when its
  closing tag arrives and then dropped from memory; elements outside the records (the
  owner's requisites, documents) are dropped as they end. What stays is the parsed
  records themselves: some hundred bytes per product or offer.
* Names are matched without their namespace, so a file with the default namespace
  ``urn:1C.ru:commerceml_2`` (or ``commerceml_205``, ``commerceml_210``, 1C's
  ``http://v8.1c.ru/8.3/commerceml``) and a file with none read the same.
* Limits: :data:`MAX_FILE_BYTES`, :data:`MAX_ELEMENTS` and :data:`MAX_DEPTH`. A file
  over them, one that is not XML, not CommerceML or has neither a catalogue nor an offers
  package is refused with :class:`ValidationFailed` on the field ``file``, naming the
  problem and, for XML errors, the line and column the parser stopped at.
* Numbers are read in either notation: ``1 234,50`` and ``1234.50``.
* A record that cannot be used (a product without Ид and without a name, a price that is
  not a number) is left out and listed in :attr:`Parsed.skipped` with its reason, a
  translatable :class:`Text`.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import errors as expat_errors

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from services.errors import N_, Text, ValidationFailed

MAX_FILE_BYTES = 200 * 2**20  # 200 MB
MAX_ELEMENTS = 10_000_000  # some 300 000 products with their prices and stock
MAX_DEPTH = 64  # the group tree nests two levels per group
ROOT = "КоммерческаяИнформация"
CATALOGUE_SECTIONS = ("Классификатор", "Каталог")
OFFER_SECTIONS = ("ПакетПредложений", "ИзмененияПакетаПредложений")
UNSET: Any = object()  # a value the file does not give (the row keeps its own)

# common ОКЕИ codes, for a base unit given by its code only
OKEI = {"796": "шт", "006": "м", "166": "кг", "163": "г", "168": "т", "112": "л",
        "111": "мл", "055": "м2", "113": "м3", "778": "упак", "704": "набор",
        "715": "пар", "356": "ч", "018": "пог. м", "839": "компл"}
_VAT_NAMES = ("ндс", "пдв", "vat", "")
_KIND_KEYS = ("видноменклатуры", "типноменклатуры")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_RATE = re.compile(r"\d+(?:[.,]\d+)?")

_XML_PROBLEMS = {  # by expat's error code
    expat_errors.XML_ERROR_NO_ELEMENTS: N_("the file is empty or ends too early "
                                           "(line {line}, column {column})"),
    expat_errors.XML_ERROR_TAG_MISMATCH: N_("a closing tag does not match the opening one "
                                            "(line {line}, column {column})"),
    expat_errors.XML_ERROR_UNCLOSED_TOKEN: N_("the file ends inside a tag "
                                              "(line {line}, column {column})"),
    expat_errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT: N_(
        "there is something after the end of the document (line {line}, column {column})"),
    expat_errors.XML_ERROR_UNDEFINED_ENTITY: N_("an unknown entity such as &name; "
                                                "(line {line}, column {column})"),
    expat_errors.XML_ERROR_INCORRECT_ENCODING: N_("the text does not match the file's "
                                                  "encoding (line {line}, column {column})"),
    expat_errors.XML_ERROR_UNKNOWN_ENCODING: N_("the file's encoding is unknown "
                                                "(line {line}, column {column})"),
}
NOT_XML = N_("the file is not well-formed XML (line {line}, column {column})")


@dataclass(slots=True)
class Skipped:
    """A record left out: ``what`` it is (group, product, offer, price, stock, price_type,
    warehouse), which one (``item``: its Ид, article or name) and why."""

    what: str
    item: str
    reason: Text


@dataclass(slots=True)
class GroupRec:
    external_id: str = ""
    name: str = ""
    deleted: bool = False
    order: int = 0
    parent: GroupRec | None = None

    @property
    def parent_id(self) -> str | None:
        return self.parent.external_id if self.parent is not None else None


@dataclass(slots=True)
class ProductRec:
    external_id: str
    name: str
    code: str
    barcode: str
    unit: str
    group: str
    vat: Any  # Decimal, None (no VAT) or UNSET
    service: bool | None
    kind: str
    deleted: bool


@dataclass(slots=True)
class PriceTypeRec:
    external_id: str
    name: str
    currency: str
    vat_included: bool


@dataclass(slots=True)
class WarehouseRec:
    external_id: str
    name: str


@dataclass(slots=True)
class OfferRec:
    product_id: str  # the product's Ид (the part before '#')
    characteristic: bool  # "product#characteristic"
    code: str
    prices: list[tuple[str, Decimal, str]]  # (price type Ид, price, currency)
    quantity: Decimal | None  # the total, «Количество»
    stock: dict[str, Decimal]  # warehouse Ид → quantity


@dataclass
class Parsed:
    schema_version: str | None = None
    generated: str | None = None
    has_catalogue: bool = False
    has_offers: bool = False
    has_groups: bool = False
    has_products: bool = False
    partial: bool = False
    groups: list[GroupRec] = field(default_factory=list)
    products: list[ProductRec] = field(default_factory=list)
    price_types: list[PriceTypeRec] = field(default_factory=list)
    warehouses: list[WarehouseRec] = field(default_factory=list)
    offers: list[OfferRec] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``import`` (a catalogue), ``offers`` (an offers package) or ``both``."""
        if self.has_catalogue and self.has_offers:
            return "both"
        return "import" if self.has_catalogue else "offers"


# --- small readers ----------------------------------------------------------------------
def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _children(elem: Element | None, name: str) -> Iterator[Element]:
    if elem is None:
        return
    for child in elem:
        if _local(child.tag) == name:
            yield child


def _child(elem: Element | None, name: str) -> Element | None:
    return next(_children(elem, name), None)


def _text(elem: Element | None, name: str) -> str:
    child = _child(elem, name)
    return _clean(child.text) if child is not None else ""


def _attr(elem: Element, name: str) -> str:
    for key, value in elem.attrib.items():
        if _local(key) == name:
            return _clean(value)
    return ""


def _true(value: str) -> bool:
    return value.strip().casefold() in ("true", "1", "да", "yes")


def _key(text: str) -> str:
    return "".join(text.casefold().split()).replace("ё", "е")


def decimal_of(raw: str | None) -> Decimal | None:
    """``1 234,50``, ``1234.50``, ``1.234,50`` → ``Decimal('1234.50')``; None if it is
    not a plain number (no exponents, no infinities)."""
    text = _SPACES.sub("", raw or "")
    if "," in text and "." in text:  # the later one separates the fraction
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def vat_of(raw: str) -> Any:
    """«20», «20%», «18/118», «0» → the rate; «Без налога», «Без НДС» → None (no VAT);
    nothing readable → UNSET."""
    text = raw.casefold()
    if not text:
        return UNSET
    if "без" in text or "не облага" in text or "не оподатков" in text:
        return None
    found = _RATE.search(text)
    return Decimal(found.group().replace(",", ".")) if found else UNSET


# --- the parser ---------------------------------------------------------------------------
class _Reader:
    def __init__(self) -> None:
        self.out = Parsed()
        self.names: list[str] = []
        self.elems: list[Element] = []
        self.kinds: list[str | None] = []
        self.open_records = 0
        self.count = 0
        self.groups_open: list[GroupRec] = []
        self.groups_seen = 0
        self.units: dict[str, str] = {}  # a unit's Ид or code → its short name
        self.properties: dict[str, tuple[str, dict[str, str]]] = {}  # Ид → name, values

    def skip(self, what: str, item: str, template: str, **params: Any) -> None:
        self.out.skipped.append(Skipped(what, item or "—", Text(template, **params)))

    def read(self, stream: IO[bytes]) -> Parsed:
        try:
            for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
                if event == "start":
                    self.start(elem)
                else:
                    self.end(elem)
        except ParseError as exc:
            line, column = exc.position
            template = _XML_PROBLEMS.get(expat_errors.messages.get(exc.code, ""), NOT_XML)
            raise ValidationFailed("file", template, line=line, column=column) from None
        except DefusedXmlException:
            raise ValidationFailed("file", N_("the file declares a document type or "
                                              "entities, which are not accepted")) from None
        if not (self.out.has_catalogue or self.out.has_offers):
            raise ValidationFailed("file", N_(
                "the file has neither a catalogue (Каталог, Классификатор) nor an offers "
                "package (ПакетПредложений)"))
        return self.out

    def start(self, elem: Element) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise ValidationFailed("file", N_("the file has more than {limit} elements"),
                                   limit=MAX_ELEMENTS)
        depth = len(self.names)
        if depth >= MAX_DEPTH:
            raise ValidationFailed("file", N_("the file nests elements deeper than {limit} "
                                              "levels"), limit=MAX_DEPTH)
        name = _local(elem.tag)
        self.names.append(name)
        self.elems.append(elem)
        kind = self.record_kind(name)
        self.kinds.append(kind)
        if kind is not None:
            self.open_records += 1
            if kind == "group":
                parent = self.groups_open[-1] if self.groups_open else None
                self.groups_seen += 1
                self.groups_open.append(GroupRec(parent=parent, order=self.groups_seen))
        if depth == 0:
            if name != ROOT:
                raise ValidationFailed("file", N_("this is not a CommerceML file: its root "
                                                  "element is «{root}»"), root=name[:60])
            self.out.schema_version = _attr(elem, "ВерсияСхемы") or None
            self.out.generated = _attr(elem, "ДатаФормирования") or None
        elif depth == 1:
            if name in CATALOGUE_SECTIONS:
                self.out.has_catalogue = True
            elif name in OFFER_SECTIONS:
                self.out.has_offers = True
            if name in CATALOGUE_SECTIONS + OFFER_SECTIONS and (
                    _true(_attr(elem, "СодержитТолькоИзменения"))
                    or name == "ИзмененияПакетаПредложений"):
                self.out.partial = True
        elif depth == 2 and self.names[1] == "Классификатор" and name == "Группы":
            self.out.has_groups = True
        elif depth == 2 and self.names[1] == "Каталог" and name == "Товары":
            self.out.has_products = True

    def record_kind(self, name: str) -> str | None:
        """Which record an element that just opened is, by where it stands."""
        names = self.names
        if len(names) < 4:
            return None
        section, container = names[1], names[-2]
        if name == "Группа":
            return "group" if container == "Группы" and section == "Классификатор" \
                and names[2] == "Группы" else None
        if len(names) != 4:
            return None
        return {
            ("Каталог", "Товары", "Товар"): "product",
            ("Классификатор", "Свойства", "Свойство"): "property",
            ("Классификатор", "ЕдиницыИзмерения", "ЕдиницаИзмерения"): "unit",
            ("Классификатор", "ТипыЦен", "ТипЦены"): "price_type",
            ("Классификатор", "Склады", "Склад"): "warehouse",
        }.get((section, container, name)) or (
            {("Предложения", "Предложение"): "offer", ("ТипыЦен", "ТипЦены"): "price_type",
             ("Склады", "Склад"): "warehouse"}.get((container, name))
            if section in OFFER_SECTIONS else None)

    def end(self, elem: Element) -> None:
        self.names.pop()
        self.elems.pop()
        kind = self.kinds.pop()
        if kind is not None:
            self.open_records -= 1
            getattr(self, "read_" + kind)(elem)
        if kind is not None or self.open_records == 0:  # read (or not wanted): let it go
            elem.clear()
            if self.elems:
                self.elems[-1].remove(elem)

    # --- records ------------------------------------------------------------------------
    def read_group(self, elem: Element) -> None:
        rec = self.groups_open.pop()
        rec.external_id = _text(elem, "Ид")[:80]
        rec.name = _text(elem, "Наименование")
        rec.deleted = _true(_text(elem, "ПометкаУдаления"))
        if not rec.external_id:
            self.skip("group", rec.name, N_("a group without Ид"))
            return
        self.out.groups.append(rec)

    def read_unit(self, elem: Element) -> None:
        short = _text(elem, "НаименованиеКраткое") or _text(elem, "НаименованиеПолное")
        for key in (_text(elem, "Ид"), _text(elem, "Код")):
            if key and short:
                self.units[key] = short

    def read_property(self, elem: Element) -> None:
        ext = _text(elem, "Ид")
        if not ext:
            return
        name = _text(elem, "Наименование")
        values: dict[str, str] = {}
        if _key(name) in _KIND_KEYS:  # the values of other properties are not kept
            for book in _children(_child(elem, "ВариантыЗначений"), "Справочник"):
                values[_text(book, "ИдЗначения")] = _text(book, "Значение")
        self.properties[ext] = (name, values)

    def unit_of(self, elem: Element | None) -> str:
        """The short name (the element's text), else the name the code stands for, else
        the full name."""
        if elem is None:
            return ""
        text, code = _clean(elem.text), _attr(elem, "Код")
        if text and not text.isdigit():
            return text[:16]
        for key in (text, code):
            if key and (key in self.units or key.zfill(3) in OKEI):
                return self.units.get(key, OKEI.get(key.zfill(3), ""))[:16]
        return _attr(elem, "НаименованиеПолное")[:16]

    def kinds_of(self, elem: Element) -> list[tuple[str, str]]:
        """(видноменклатуры | типноменклатуры, value) of a product: as requisites, as
        elements of their own or as values of properties of that name."""
        found = [("видноменклатуры", _text(elem, "ВидНоменклатуры")),
                 ("типноменклатуры", _text(elem, "ТипНоменклатуры"))]
        for req in _children(_child(elem, "ЗначенияРеквизитов"), "ЗначениеРеквизита"):
            found.append((_key(_text(req, "Наименование")), _text(req, "Значение")))
        for value in _children(_child(elem, "ЗначенияСвойств"), "ЗначенияСвойства"):
            name, values = self.properties.get(_text(value, "Ид"), ("", {}))
            raw = _text(value, "Значение")
            found.append((_key(name), values.get(raw, raw)))
        return [(k, v) for k, v in found if k in _KIND_KEYS and v]

    def read_product(self, elem: Element) -> None:
        ext = _text(elem, "Ид").partition("#")[0].strip()
        name = _text(elem, "Наименование") or _text(elem, "ПолноеНаименование")
        code = _text(elem, "Артикул")
        if not ext and not name:
            self.skip("product", code, N_("a product without Ид and without a name"))
            return
        vat = UNSET
        for rate in _children(_child(elem, "СтавкиНалогов"), "СтавкаНалога"):
            if _key(_text(rate, "Наименование")) in _VAT_NAMES:
                vat = vat_of(_text(rate, "Ставка"))
        kinds = self.kinds_of(elem)
        status = _key(_attr(elem, "Статус") or _text(elem, "Статус"))
        barcodes = re.split(r"[,;\s]+", _text(elem, "Штрихкод"))
        self.out.products.append(ProductRec(
            external_id=ext[:80], name=name[:300], code=code, barcode=barcodes[0][:32],
            unit=sys.intern(self.unit_of(_child(elem, "БазоваяЕдиница"))),
            group=sys.intern(_text(_child(elem, "Группы"), "Ид")[:80]), vat=vat,
            service=any(_key(v) == "услуга" for _, v in kinds) if kinds else None,
            kind=next((sys.intern(v) for k, v in kinds if k == "видноменклатуры"), ""),
            deleted=_true(_text(elem, "ПометкаУдаления")) or status in ("удален", "удалено")))

    def read_price_type(self, elem: Element) -> None:
        ext, name = _text(elem, "Ид"), _text(elem, "Наименование")
        if not ext:
            self.skip("price_type", name, N_("a price type without Ид"))
            return
        tax = _child(elem, "Налог")
        self.out.price_types.append(PriceTypeRec(
            external_id=ext[:80], name=name or ext, currency=_text(elem, "Валюта"),
            vat_included=_true(_text(tax, "УчтеноВСумме")) if tax is not None else True))

    def read_warehouse(self, elem: Element) -> None:
        ext, name = _text(elem, "Ид"), _text(elem, "Наименование")
        if not ext:
            self.skip("warehouse", name, N_("a warehouse without Ид"))
            return
        self.out.warehouses.append(WarehouseRec(external_id=ext[:80], name=name or ext))

    def number(self, what: str, item: str, raw: str) -> Decimal | None:
        value = decimal_of(raw)
        if value is None and raw:
            self.skip(what, item, N_("«{value}» is not a number"), value=raw[:40])
        return value

    def read_offer(self, elem: Element) -> None:
        raw_id = _text(elem, "Ид")
        product_id = raw_id.partition("#")[0].strip()
        code, name = _text(elem, "Артикул"), _text(elem, "Наименование")
        item = raw_id or code or name
        if not product_id and not code:
            self.skip("offer", name, N_("an offer without Ид"))
            return
        prices = []
        for price in _children(_child(elem, "Цены"), "Цена"):
            value = self.number("price", item, _text(price, "ЦенаЗаЕдиницу"))
            if value is not None:
                prices.append((sys.intern(_text(price, "ИдТипаЦены")), value,
                               sys.intern(_text(price, "Валюта"))))
        stock: dict[str, Decimal] = {}
        quantity = self.number("stock", item, _text(elem, "Количество"))
        for rest in _children(_child(elem, "Остатки"), "Остаток"):  # CommerceML 2.08+
            store = _child(rest, "Склад")
            if store is None:  # a total without a warehouse
                quantity = self.number("stock", item, _text(rest, "Количество"))
            elif (qty := self.number("stock", item, _text(store, "Количество"))) is not None:
                stock[sys.intern(_text(store, "Ид"))] = qty
        for store in _children(elem, "Склад"):  # as 1C-Bitrix writes it, in attributes
            qty = self.number("stock", item, _attr(store, "КоличествоНаСкладе"))
            if qty is not None:
                stock[sys.intern(_attr(store, "ИдСклада"))] = qty
        stock.pop("", None)
        self.out.offers.append(OfferRec(
            product_id=product_id[:80], characteristic="#" in raw_id, code=code,
            prices=prices, quantity=quantity, stock=stock))


def parse(source: str | os.PathLike[str] | bytes) -> Parsed:
    """Read a CommerceML file (a path or its bytes). CPU work: call it in a thread."""
    if isinstance(source, bytes | bytearray):
        size = len(source)
        stream: IO[bytes] = io.BytesIO(source)
    else:
        size = os.path.getsize(source)
        stream = open(source, "rb")  # noqa: SIM115 - closed below
    with stream:
        if size > MAX_FILE_BYTES:
            raise ValidationFailed("file", N_("the file is larger than {mb} MB"),
                                   mb=MAX_FILE_BYTES // 2**20)
        return _Reader().read(stream)
