"""The invoice PDF (S-17): «Счёт на оплату», «Рахунок на оплату» or "Invoice", made with
fpdf2 from plain data (:class:`Invoice`; :mod:`services.invoice_data` builds one from an
order).

Rules:

* The document's language (ru, uk, en) is a parameter of the invoice, independent of
  the seller's country; the labels below are per-language constants (the document is
  in its own language, not in the reader's). The layout follows the seller's country:
  a Russian seller gets the bank block at the top (bank, БИК, корр. счёт, ИНН/КПП,
  расчётный счёт, получатель) as banks expect; any other seller gets the Ukrainian
  layout (Постачальник with ЄДРПОУ, ІПН, IBAN, bank, МФО).
* Money and quantities are ``Decimal`` (a float anywhere is a TypeError). Figures are
  written as in the document's language: ``1 234,50`` with a no-break space for ru and
  uk, ``1,234.50`` for en; dates in figures are DD.MM.YYYY, the title's in words with
  the month in the genitive («6 декабря 2026 г.»).
* The invoice must add up: the lines' amounts make the subtotal, their VAT the VAT
  total, and the total is the subtotal (prices with VAT) or the subtotal plus VAT. A
  seller who pays no VAT cannot charge it. Anything else is refused, never printed.
* VAT is shown per rate («В том числе НДС 20 %», «НДС 10 %» when prices exclude it),
  or «Без налога (НДС)» when the seller pays no VAT or no line carries it.
* Long names wrap inside their cell; a table that runs past the page goes on to the
  next with its header repeated; each page's footer names the invoice and the page.
* At most ``MAX_LINES`` lines: a bigger invoice is ValidationFailed. Rendering is CPU
  work (some milliseconds a line): :func:`render_invoice` runs it in a thread.
* The font is DejaVu Sans (Cyrillic, «№», no-break spaces), from ``font_dir``, else
  ``KONTAKT_PDF_FONT_DIR``, else Debian's fonts-dejavu-core folder; a missing font is
  :class:`FontMissing`, naming the file and the fix.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import CellBordersLayout, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from services.amount_words import amount_in_words, currency_words, split_amount
from services.errors import N_, ValidationFailed

MAX_LINES = 2000
LANGUAGES = ("ru", "uk", "en")
DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_DIR_ENV = "KONTAKT_PDF_FONT_DIR"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_CENT = Decimal("0.01")
_NBSP = "\u00a0"


class FontMissing(RuntimeError):
    """The server has no font for the invoice: an installation problem, not a person's
    mistake (the message is for the operator)."""


# --- the data ----------------------------------------------------------------------
def _decimals(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, Decimal):
            raise TypeError(f"{type(obj).__name__}.{name} must be a Decimal, "
                            f"not {type(value).__name__}")


@dataclass(frozen=True)
class Party:
    """A seller or a buyer with the requisites an invoice prints; the names are those of
    ``OwnEntity`` and ``LegalEntity`` (RU: inn, kpp, bik, account, corr_account; UA:
    edrpou, ipn, iban, mfo)."""

    name: str
    country: str = "RU"
    inn: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    edrpou: str | None = None
    ipn: str | None = None
    vat_payer: bool = True
    legal_address: str | None = None
    phone: str | None = None
    bank_name: str | None = None
    bik: str | None = None
    account: str | None = None
    corr_account: str | None = None
    mfo: str | None = None
    iban: str | None = None
    director: str | None = None
    accountant: str | None = None

    @classmethod
    def of(cls, entity: object, **overrides: object) -> Party:
        """A Party from any object with (some of) these attributes, e.g. an OwnEntity."""
        values = {f.name: getattr(entity, f.name) for f in fields(cls)
                  if hasattr(entity, f.name)}
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class Line:
    name: str
    unit: str
    quantity: Decimal
    price: Decimal
    amount: Decimal                  # price × quantity
    vat_rate: Decimal | None = None  # percent; None: without VAT
    vat_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _decimals(self, "quantity", "price", "amount", "vat_rate", "vat_amount")


@dataclass(frozen=True)
class Totals:
    amount: Decimal  # the lines' amounts added up («Итого»)
    vat: Decimal     # their VAT
    total: Decimal   # what the buyer pays («Всего к оплате»)

    def __post_init__(self) -> None:
        _decimals(self, "amount", "vat", "total")

    @classmethod
    def of(cls, lines: tuple[Line, ...] | list[Line], vat_included: bool) -> Totals:
        amount = sum((line.amount for line in lines), Decimal(0))
        vat = sum((line.vat_amount for line in lines), Decimal(0))
        return cls(amount, vat, amount if vat_included else amount + vat)


@dataclass(frozen=True)
class Invoice:
    number: str
    date: date
    currency: str
    vat_included: bool  # the prices include VAT (VAT is «в том числе»)
    lines: tuple[Line, ...]
    totals: Totals
    seller: Party
    buyer: Party
    language: str = "ru"


# --- the words of the document ---------------------------------------------------------
MONTHS = {
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
           "сентября", "октября", "ноября", "декабря"),
    "uk": ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
           "вересня", "жовтня", "листопада", "грудня"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
DATE_WORDS = {"ru": "{day} {month} {year} г.", "uk": "{day} {month} {year} р.",
              "en": "{day} {month} {year}"}

LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "doc": "Счёт", "title": "Счёт на оплату № {number} от {date}",
        "footer": "Счёт № {number} от {date}, страница {page} из {pages}",
        "payee_bank": "Банк получателя", "payee": "Получатель", "acc_no": "Сч. №",
        "seller": "Поставщик\n(Исполнитель):", "buyer": "Покупатель\n(Заказчик):",
        "inn": "ИНН", "kpp": "КПП", "ogrn": "ОГРН", "edrpou": "ЕГРПОУ", "ipn": "ИПН",
        "bik": "БИК", "account": "р/с", "corr_account": "к/с", "iban": "IBAN",
        "bank": "в банке", "mfo": "МФО", "address": "адрес", "phone": "тел.",
        "no_vat_payer": "Не является плательщиком НДС",
        "columns": "№|Товары (работы, услуги)|Кол-во|Ед.|Цена|Сумма",
        "subtotal": "Итого:", "vat_in": "В том числе НДС {rate} %:",
        "vat_on": "НДС {rate} %:", "no_vat": "Без налога (НДС)",
        "total": "Всего к оплате:",
        "count": "Всего наименований {count}, на сумму {amount} {currency}",
        "director": "Руководитель", "accountant": "Бухгалтер",
    },
    "uk": {
        "doc": "Рахунок", "title": "Рахунок на оплату № {number} від {date}",
        "footer": "Рахунок № {number} від {date}, сторінка {page} з {pages}",
        "payee_bank": "Банк одержувача", "payee": "Одержувач", "acc_no": "Рах. №",
        "seller": "Постачальник:", "buyer": "Покупець:",
        "inn": "ІНН", "kpp": "КПП", "ogrn": "ОДРН", "edrpou": "ЄДРПОУ", "ipn": "ІПН",
        "bik": "БІК", "account": "р/р", "corr_account": "к/р", "iban": "IBAN",
        "bank": "у банку", "mfo": "МФО", "address": "адреса", "phone": "тел.",
        "no_vat_payer": "Не є платником ПДВ",
        "columns": "№|Товари (роботи, послуги)|Кільк.|Од.|Ціна|Сума",
        "subtotal": "Разом:", "vat_in": "У тому числі ПДВ {rate} %:",
        "vat_on": "ПДВ {rate} %:", "no_vat": "Без ПДВ",
        "total": "Всього до сплати:",
        "count": "Всього найменувань {count}, на суму {amount} {currency}",
        "director": "Керівник", "accountant": "Бухгалтер",
    },
    "en": {
        "doc": "Invoice", "title": "Invoice No. {number} dated {date}",
        "footer": "Invoice No. {number} dated {date}, page {page} of {pages}",
        "payee_bank": "Beneficiary's bank", "payee": "Beneficiary", "acc_no": "Acc. No.",
        "seller": "Supplier:", "buyer": "Buyer:",
        "inn": "INN", "kpp": "KPP", "ogrn": "OGRN", "edrpou": "EDRPOU", "ipn": "IPN",
        "bik": "BIC", "account": "account", "corr_account": "corr. account",
        "iban": "IBAN", "bank": "bank", "mfo": "MFO", "address": "address",
        "phone": "tel.", "no_vat_payer": "Not a VAT payer",
        "columns": "No.|Goods (works, services)|Qty|Unit|Price|Amount",
        "subtotal": "Subtotal:", "vat_in": "Including VAT {rate} %:",
        "vat_on": "VAT {rate} %:", "no_vat": "Without VAT",
        "total": "Total payable:",
        "count": "Total items {count}, amount {amount} {currency}",
        "director": "Director", "accountant": "Accountant",
    },
}


# --- figures and dates ---------------------------------------------------------------
def _grouped(value: Decimal, spec: str, language: str) -> str:
    text = format(value, spec)
    if language == "en":
        return text
    return text.replace(",", _NBSP).replace(".", ",")


def money_text(value: Decimal, language: str = "ru") -> str:
    """``Decimal("1234.5")`` as «1 234,50» (ru, uk; a no-break space) or "1,234.50"."""
    return _grouped(value.quantize(_CENT), ",.2f", language)


def quantity_text(value: Decimal, language: str = "ru") -> str:
    """A quantity without trailing zeros: «2», «1,5», «1 000», «0,125»."""
    value = value.normalize()
    return _grouped(value if value.as_tuple().exponent < 0 else value.quantize(1), ",f",
                    language)


def rate_text(rate: Decimal, language: str = "ru") -> str:
    return quantity_text(rate, language)


def date_words(day: date, language: str = "ru") -> str:
    """«6 декабря 2026 г.», «6 грудня 2026 р.», "6 December 2026"."""
    return DATE_WORDS[language].format(day=day.day, month=MONTHS[language][day.month - 1],
                                       year=day.year)


def date_figures(day: date) -> str:
    return day.strftime("%d.%m.%Y")


# --- checks --------------------------------------------------------------------------
def check_invoice(invoice: Invoice) -> None:
    """Refuse an invoice that cannot be printed as it is (see the module's rules)."""
    if invoice.language not in LANGUAGES:
        raise ValidationFailed("language", N_("the language must be ru, uk or en"))
    currency_words(invoice.currency, invoice.language)  # a currency it can name
    count = len(invoice.lines)
    if count == 0:
        raise ValidationFailed("lines", N_("an invoice needs at least one line"))
    if count > MAX_LINES:
        raise ValidationFailed("lines", N_("an invoice holds at most {limit} lines; this "
                                           "one has {count}"), limit=MAX_LINES, count=count)
    if any(line.vat_rate is None and line.vat_amount for line in invoice.lines):
        raise ValidationFailed("vat", N_("a line without a VAT rate carries VAT"))
    expected = Totals.of(invoice.lines, invoice.vat_included)
    if invoice.totals != expected:
        raise ValidationFailed("totals", N_("the invoice's totals do not match its lines "
                                            "({total} against {expected})"),
                               total=str(invoice.totals.total), expected=str(expected.total))
    if not invoice.seller.vat_payer and expected.vat:
        raise ValidationFailed("vat", N_("the seller pays no VAT, yet the lines carry VAT"))
    split_amount(invoice.totals.total)  # an amount it can say in words


def vat_by_rate(invoice: Invoice) -> list[tuple[Decimal, Decimal]]:
    """(rate, VAT) for each rate the lines carry (0 % too), the highest rate first; empty
    when the invoice is «без НДС»: the seller pays no VAT or no line has a rate."""
    if not invoice.seller.vat_payer:
        return []
    sums: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        if line.vat_rate is not None:
            sums[line.vat_rate.normalize()] += line.vat_amount
    return sorted(sums.items(), reverse=True)


# --- drawing ---------------------------------------------------------------------------
FONT = "DejaVu"
PAGE_W = 190.0  # A4 less 10 mm margins on each side
BOLD = FontFace(emphasis="BOLD")
SMALL = FontFace(size_pt=7)
HEADING = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
_OPEN_BOTTOM = CellBordersLayout.LEFT | CellBordersLayout.RIGHT | CellBordersLayout.TOP
_OPEN_TOP = CellBordersLayout.LEFT | CellBordersLayout.RIGHT | CellBordersLayout.BOTTOM
COLUMNS_W = (10, 84, 20, 18, 28, 30)
COLUMNS_ALIGN = ("CENTER", "LEFT", "RIGHT", "CENTER", "RIGHT", "RIGHT")


def font_paths(font_dir: Path | str | None = None) -> dict[str, Path]:
    """The regular and bold font files, which must exist."""
    folder = Path(font_dir or os.environ.get(FONT_DIR_ENV) or DEFAULT_FONT_DIR)
    paths = {style: folder / name for style, name in FONT_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            raise FontMissing(f"the invoice font {path} is missing: install the Debian "
                              f"package fonts-dejavu-core, or set {FONT_DIR_ENV} to a folder "
                              f"with {' and '.join(FONT_FILES.values())}")
    return paths


class _Document(FPDF):
    def __init__(self, footer: str, number: str, day: date) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer, self._number, self._day = footer, number, date_figures(day)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(110)
        self.cell(0, 5, self._footer.format(number=self._number, date=self._day,
                                            page=self.page_no(), pages="{nb}"), align="R")
        self.set_text_color(0)


class _Writer:
    def __init__(self, invoice: Invoice, font_dir: Path | str | None) -> None:
        self.inv = invoice
        self.lang = invoice.language
        self.t = LABELS[self.lang]
        number, day = invoice.number, invoice.date
        self.pdf = pdf = _Document(self.t["footer"], number, day)
        for style, path in font_paths(font_dir).items():
            pdf.add_font(FONT, style, str(path))
        pdf.set_margins(10, 10, 10)
        pdf.set_auto_page_break(True, margin=16)
        pdf.set_title(self.t["title"].format(number=number, date=date_figures(day)))
        pdf.set_lang(self.lang)
        pdf.set_creator("Kontakt")
        pdf.set_draw_color(0)
        pdf.add_page()

    # the blocks, top to bottom
    def bank_block(self) -> None:
        """The Russian bank block: what a payment order needs, where a bank looks."""
        s, t = self.inv.seller, self.t
        pdf = self.pdf
        pdf.set_font(FONT, "", 9)
        top, bottom = _OPEN_BOTTOM, _OPEN_TOP
        with pdf.table(col_widths=(45, 50, 20, 75), first_row_as_headings=False,
                       text_align="LEFT", v_align="TOP", line_height=4.5,
                       padding=(1, 1.5)) as table:
            row = table.row()
            row.cell(s.bank_name or "", colspan=2, border=top)
            row.cell(t["bik"])
            row.cell(s.bik or "")
            row = table.row()
            row.cell(t["payee_bank"], colspan=2, style=SMALL, border=bottom)
            row.cell(t["acc_no"])
            row.cell(s.corr_account or "")
            row = table.row()
            row.cell(f"{t['inn']} {s.inn or ''}")
            row.cell(f"{t['kpp']} {s.kpp or ''}")
            row.cell(t["acc_no"], rowspan=3)
            row.cell(s.account or "", rowspan=3)
            table.row().cell(s.name, colspan=2, border=top)
            table.row().cell(t["payee"], colspan=2, style=SMALL, border=bottom)
        pdf.ln(4)

    def title(self) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, "B", 14)
        pdf.multi_cell(0, 7, self.t["title"].format(
            number=self.inv.number, date=date_words(self.inv.date, self.lang)),
            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.rule(0.6)
        pdf.ln(2)

    def rule(self, width: float = 0.3) -> None:
        pdf = self.pdf
        pdf.set_line_width(width)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + PAGE_W, pdf.get_y())
        pdf.set_line_width(0.2)

    def requisites(self, party: Party, *, bank: bool, phone: bool) -> list[list[str]]:
        """«ИНН 7707083893», «р/р UA21…» … of ``party`` in the document's words, in
        groups: the codes, the bank account, the address and phone."""
        t = self.t

        def named(*names: str) -> list[str]:
            return [f"{t[name]} {getattr(party, name)}" for name in names
                    if getattr(party, name)]

        groups = [named("inn", "kpp", "edrpou", "ipn")]
        if bank:
            account = named("iban") or named("account")
            if party.bank_name:
                account.append(f"{t['bank']} {party.bank_name}")
            groups.append(account + named("mfo", "bik", "corr_account"))
        if party.legal_address:
            groups.append([f"{t['address']} {party.legal_address}" if bank
                           else party.legal_address])
        else:
            groups.append([])
        if phone and party.phone:
            groups[-1].append(f"{t['phone']} {party.phone}")
        return [group for group in groups if group]

    def parties(self, *, russian: bool) -> None:
        """Seller and buyer: one bold paragraph each under the Russian bank block; the
        name in bold and the requisites below it, a group a line, otherwise."""
        inv, t, pdf = self.inv, self.t, self.pdf
        pdf.set_font(FONT, "", 9)
        with pdf.table(col_widths=(34, 156), first_row_as_headings=False,
                       borders_layout=TableBordersLayout.NONE, text_align="LEFT",
                       v_align="TOP", line_height=4.5, padding=(1, 0)) as table:
            for key, party in (("seller", inv.seller), ("buyer", inv.buyer)):
                seller = key == "seller"
                groups = self.requisites(party, bank=not russian, phone=seller)
                row = table.row()
                if russian:
                    row.cell(t[key])
                    row.cell(", ".join([party.name, *sum(groups, [])]), style=BOLD)
                    continue
                if seller and not party.vat_payer:
                    groups.append([t["no_vat_payer"]])
                row.cell(t[key], rowspan=2)
                row.cell(party.name, style=BOLD)
                table.row().cell("\n".join(", ".join(group) for group in groups))
        pdf.ln(2)

    def lines_table(self) -> None:
        lang, pdf = self.lang, self.pdf
        pdf.set_font(FONT, "", 8.5)
        with pdf.table(col_widths=COLUMNS_W, text_align=COLUMNS_ALIGN, v_align="TOP",
                       headings_style=HEADING, line_height=4.2, padding=(0.8, 1.2),
                       repeat_headings=1) as table:
            heading = table.row()
            for text in self.t["columns"].split("|"):
                heading.cell(text, align="CENTER")
            for number, line in enumerate(self.inv.lines, 1):
                table.row((str(number), line.name, quantity_text(line.quantity, lang),
                           line.unit, money_text(line.price, lang),
                           money_text(line.amount, lang)))

    def totals(self) -> None:
        inv, t, lang, pdf = self.inv, self.t, self.lang, self.pdf
        rows = [(t["subtotal"], money_text(inv.totals.amount, lang))]
        by_rate = vat_by_rate(inv)
        label = t["vat_in"] if inv.vat_included else t["vat_on"]
        rows += [(label.format(rate=rate_text(rate, lang)), money_text(vat, lang))
                 for rate, vat in by_rate]
        if not by_rate:
            rows.append((t["no_vat"], "—"))
        rows.append((t["total"], money_text(inv.totals.total, lang)))
        pdf.ln(1)
        if pdf.will_page_break(5 * len(rows) + 12):  # the totals stay together
            pdf.add_page()
        pdf.set_font(FONT, "B", 9)
        for label_text, value in rows:
            pdf.cell(PAGE_W - COLUMNS_W[-1], 5, label_text, align="R")
            pdf.cell(COLUMNS_W[-1], 5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)

    def in_words(self) -> None:
        inv, lang, pdf = self.inv, self.lang, self.pdf
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5, self.t["count"].format(
            count=len(inv.lines), amount=money_text(inv.totals.total, lang),
            currency=currency_words(inv.currency, lang).short),
            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(0, 5, amount_in_words(inv.totals.total, inv.currency, lang),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        self.rule(0.6)

    def signatures(self) -> None:
        """«Руководитель ________ /Иванов И. И./», the same for the accountant."""
        s, t, pdf = self.inv.seller, self.t, self.pdf
        if pdf.will_page_break(16):
            pdf.add_page()
        pdf.ln(10)
        y = pdf.get_y()
        for x, role, person in ((10, t["director"], s.director),
                                (105, t["accountant"], s.accountant)):
            pdf.set_xy(x, y)
            pdf.set_font(FONT, "B", 9)
            pdf.cell(29, 5, role)
            pdf.cell(28, 5, "", border="B")
            pdf.set_font(FONT, "", 9)
            pdf.cell(38, 5, f" /{person}/" if person else "")
        pdf.ln(6)

    def write(self) -> bytes:
        russian = self.inv.seller.country.upper() == "RU"
        if russian:
            self.bank_block()
        self.title()
        self.parties(russian=russian)
        self.lines_table()
        self.totals()
        self.in_words()
        self.signatures()
        return bytes(self.pdf.output())


def invoice_pdf(invoice: Invoice, *, font_dir: Path | str | None = None) -> bytes:
    """The invoice's PDF (blocking CPU work: see :func:`render_invoice`)."""
    check_invoice(invoice)
    return _Writer(invoice, font_dir).write()


async def render_invoice(invoice: Invoice, *, font_dir: Path | str | None = None) -> bytes:
    """The invoice's PDF, made in a worker thread so the event loop goes on; an invoice
    that cannot be printed (too many lines, totals that do not add up) is refused
    before any work."""
    check_invoice(invoice)
    return await asyncio.to_thread(invoice_pdf, invoice, font_dir=font_dir)
