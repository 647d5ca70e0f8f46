"""Reading a bank statement (issue 14: K-6) into plain records, before anything is stored.

Two kinds of file:

* **1CClientBankExchange** — the text file Russian and Ukrainian client-banks export for
  1C (1C's published "standard of exchange with client-bank systems", version 1.03):
  the first line ``1CClientBankExchange``; ``Key=Value`` lines; ``Кодировка=Windows``
  (cp1251) or ``DOS`` (cp866); the account sections ``СекцияРасчСчет`` …
  ``КонецРасчСчет``; each document ``СекцияДокумент=<kind>`` … ``КонецДокумента``
  (Номер, Дата, Сумма, ПлательщикСчет / ПлательщикРасчСчет, ПлательщикИНН (or the
  Ukrainian ПлательщикОКПО / ПлательщикЕДРПОУ), Плательщик / Плательщик1,
  ПолучательСчет / ПолучательРасчСчет, ДатаСписано, ДатаПоступило, НазначениеПлатежа);
  the last line ``КонецФайла``. Dates are dd.mm.yyyy, sums ``1500.00`` (a comma is
  taken too).
* **XLSX** — a bank's spreadsheet: the columns are found by their header names in
  Russian, Ukrainian or English (date, number, amount or credit/debit, payer, payer's
  INN/EDRPOU, payer's account, purpose, currency) in the first rows; read with
  openpyxl in read-only mode through :mod:`services.tabular` (its size, row, column
  and cell limits).

Only incoming payments are kept: a document whose recipient's account is one of ours
(our legal entities' accounts, or the statement's own ``РасчСчет``). One paid from
our account is outgoing and only counted; one where neither account is ours is kept
with ``direction="unknown"`` (the importer queues it as "not incoming") unless its
dates say it came in (``ДатаПоступило`` without ``ДатаСписано``).

A file that cannot be read is a :class:`ValidationFailed` on ``file`` naming the line
(or row) and the field — never a traceback. CPU work: callers run :func:`parse` in a
thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from services.commerceml_parse import decimal_of
from services.errors import N_, ValidationFailed

MAX_FILE_BYTES = 20 * 2**20
MAX_DOCUMENTS = 50_000
MAX_LINE = 10_000
HEADER = "1CClientBankExchange"
ENCODINGS = {"windows": "cp1251", "dos": "cp866", "utf-8": "utf-8", "utf8": "utf-8"}

# the digits 6-8 of a Russian account (20 digits) are the currency's numeric code
ACCOUNT_CURRENCY = {"810": "RUB", "643": "RUB", "840": "USD", "978": "EUR", "156": "CNY",
                    "826": "GBP", "756": "CHF", "398": "KZT", "933": "BYN", "980": "UAH"}
CURRENCY_WORDS = {"rub": "RUB", "rur": "RUB", "руб": "RUB", "р": "RUB", "₽": "RUB",
                  "uah": "UAH", "грн": "UAH", "₴": "UAH", "usd": "USD", "$": "USD",
                  "eur": "EUR", "€": "EUR", "cny": "CNY", "gbp": "GBP", "kzt": "KZT",
                  "byn": "BYN", "chf": "CHF", "pln": "PLN"}


@dataclass(slots=True)
class Payment:
    """One document of a statement."""

    line: int                      # where it starts: the line (1C) or the row (XLSX)
    number: str | None
    dated: date                    # the day the money came (else the document's date)
    amount: Decimal
    payer_name: str | None = None
    payer_code: str | None = None  # INN (RU) or EDRPOU / IPN (UA)
    payer_account: str | None = None
    account: str | None = None     # ours: where the money came
    purpose: str | None = None
    direction: str = "in"          # in | unknown (outgoing ones are only counted)
    currency: str | None = None    # ISO code, or None when the file does not say
    currency_raw: str | None = None  # what the file said, when it is not a known code


@dataclass(slots=True)
class Statement:
    kind: str                      # 1c | xlsx
    account: str | None = None     # the statement's own account (1C: РасчСчет)
    date_from: date | None = None
    date_to: date | None = None
    payments: list[Payment] = field(default_factory=list)
    outgoing: int = 0              # documents paid from our account: left out


def currency_of_account(account: str | None) -> str | None:
    """RUB, USD… from a Russian 20-digit account; UAH for a Ukrainian IBAN."""
    acc = (account or "").replace(" ", "").upper()
    if len(acc) == 20 and acc.isdigit():
        return ACCOUNT_CURRENCY.get(acc[5:8])
    if acc.startswith("UA") and len(acc) == 29:
        return "UAH"
    return None


def currency_of_word(raw: str | None) -> tuple[str | None, str | None]:
    """(code, None) for a known currency word, (None, raw) for an unknown one."""
    text = (raw or "").strip()
    if not text:
        return None, None
    word = text.casefold().rstrip(".")
    if re.fullmatch(r"[a-z]{3}", word) and word.upper() in ACCOUNT_CURRENCY.values():
        return word.upper(), None
    if word in CURRENCY_WORDS:
        return CURRENCY_WORDS[word], None
    return None, text[:16]


def _clean_account(raw: str | None) -> str | None:
    acc = re.sub(r"\s+", "", raw or "").upper()
    return acc[:34] or None


def _clean_code(raw: str | None) -> str | None:
    code = re.sub(r"\D", "", raw or "")
    return code[:12] or None


def _date(raw: str) -> date | None:
    text = raw.strip()
    for fmt in ("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    try:  # an XLSX cell's date, as services.tabular gives it
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


# --- 1CClientBankExchange ---------------------------------------------------------------


def _decode(data: bytes) -> str:
    """The text in the encoding the file is in: its «Кодировка» key is looked for in
    each of UTF-8, cp1251 and cp866 (the key's own bytes tell which one it is)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:8192]
    for encoding in ("utf-8", "cp1251", "cp866"):
        text = head.decode(encoding, errors="replace")
        match = re.search(r"^Кодировка=(.*)$", text, re.M)
        if match:
            declared = match.group(1).strip().casefold()
            if declared not in ENCODINGS:
                raise ValidationFailed("file", N_("«Кодировка» must be Windows or DOS, "
                                                  "not «{value}»"), value=declared[:20])
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                line = data[:exc.start].count(b"\n") + 1
                raise ValidationFailed("file", N_("line {line}: the text is not in the "
                                                  "encoding the file declares"),
                                       line=line) from None
    raise ValidationFailed("file", N_("the statement has no «Кодировка» line (Windows "
                                      "or DOS)"))


def _number(line: int, key: str, raw: str) -> Decimal:
    value = decimal_of(raw)
    if value is None:
        raise ValidationFailed("file", N_("line {line}: «{key}» is not a number"),
                               line=line, key=key)
    return value


def _day(line: int, key: str, raw: str) -> date:
    value = _date(raw)
    if value is None:
        raise ValidationFailed("file", N_("line {line}: «{key}» is not a date "
                                          "(dd.mm.yyyy)"), line=line, key=key)
    return value


def _payer_name(doc: dict[str, str]) -> str | None:
    name = doc.get("Плательщик1") or doc.get("Плательщик") or ""
    name = re.sub(r"^ИНН\s*\d+\s*", "", name.strip())  # «ИНН 7707083893 ООО Ромашка»
    return name[:400] or None


def _purpose(doc: dict[str, str]) -> str | None:
    text = doc.get("НазначениеПлатежа") or " ".join(
        doc[k] for k in (f"НазначениеПлатежа{i}" for i in range(1, 7)) if doc.get(k))
    return text.strip() or None


def _document(start: int, doc: dict[str, str], lines_of: dict[str, int],
              ours: set[str]) -> Payment | None:
    def line_of(key: str) -> int:
        return lines_of.get(key, start)

    for key in ("Номер", "Дата", "Сумма"):
        if not doc.get(key):
            raise ValidationFailed("file", N_("line {line}: the document has no «{key}»"),
                                   line=start, key=key)
    amount = _number(line_of("Сумма"), "Сумма", doc["Сумма"])
    if amount <= 0:
        raise ValidationFailed("file", N_("line {line}: «{key}» must be more than 0"),
                               line=line_of("Сумма"), key="Сумма")
    dated = _day(line_of("Дата"), "Дата", doc["Дата"])
    arrived = _day(line_of("ДатаПоступило"), "ДатаПоступило", doc["ДатаПоступило"]) \
        if doc.get("ДатаПоступило") else None
    paid_out = bool(doc.get("ДатаСписано"))
    to = [a for a in (_clean_account(doc.get("ПолучательСчет")),
                      _clean_account(doc.get("ПолучательРасчСчет"))) if a]
    frm = [a for a in (_clean_account(doc.get("ПлательщикСчет")),
                       _clean_account(doc.get("ПлательщикРасчСчет"))) if a]
    ours_to = next((a for a in to if a in ours), None)
    if ours_to:
        direction = "in"
    elif any(a in ours for a in frm):
        return None  # outgoing
    elif arrived and not paid_out:
        direction = "in"
    elif paid_out and not arrived:
        return None
    else:
        direction = "unknown"
    account = ours_to or (to[0] if to else None)
    code = _clean_code(doc.get("ПлательщикИНН") or doc.get("ПлательщикОКПО")
                       or doc.get("ПлательщикЕДРПОУ"))
    return Payment(line=start, number=doc["Номер"][:32], dated=arrived or dated,
                   amount=amount, payer_name=_payer_name(doc), payer_code=code,
                   payer_account=_clean_account(doc.get("ПлательщикРасчСчет")
                                                or doc.get("ПлательщикСчет")),
                   account=account, purpose=_purpose(doc), direction=direction,
                   currency=currency_of_account(account))


def parse_1c(data: bytes, own_accounts: set[str] | frozenset[str] = frozenset()) -> Statement:
    text = _decode(data)
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != HEADER:
        raise ValidationFailed("file", N_("line 1 must be «1CClientBankExchange»"))
    out = Statement(kind="1c")
    ours = {_clean_account(a) for a in own_accounts if a}
    section: str | None = None   # None (the header), "account" or "document"
    doc: dict[str, str] = {}
    lines_of: dict[str, int] = {}
    start = 0
    docs: list[tuple[int, dict[str, str], dict[str, int]]] = []
    ended = False
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            raise ValidationFailed("file", N_("line {line} is longer than {limit} "
                                              "characters"), line=number, limit=MAX_LINE)
        line = raw.strip()
        if not line or number == 1:
            continue
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if ended:
            raise ValidationFailed("file", N_("line {line}: there is text after "
                                              "«КонецФайла»"), line=number)
        if key == "СекцияДокумент":
            if section is not None:
                raise ValidationFailed("file", N_("line {line}: a new section starts before "
                                                  "the one above ends"), line=number)
            section, doc, lines_of, start = "document", {}, {}, number
            if len(docs) >= MAX_DOCUMENTS:
                raise ValidationFailed("file", N_("the statement has more than {limit} "
                                                  "documents"), limit=MAX_DOCUMENTS)
        elif key == "КонецДокумента":
            if section != "document":
                raise ValidationFailed("file", N_("line {line}: «КонецДокумента» without "
                                                  "«СекцияДокумент»"), line=number)
            docs.append((start, doc, lines_of))
            section = None
        elif key == "СекцияРасчСчет":
            if section is not None:
                raise ValidationFailed("file", N_("line {line}: a new section starts before "
                                                  "the one above ends"), line=number)
            section = "account"
        elif key == "КонецРасчСчет":
            if section != "account":
                raise ValidationFailed("file", N_("line {line}: «КонецРасчСчет» without "
                                                  "«СекцияРасчСчет»"), line=number)
            section = None
        elif key == "КонецФайла":
            if section is not None:
                raise ValidationFailed("file", N_("line {line}: the file ends inside a "
                                                  "section"), line=number)
            ended = True
        elif not eq:
            raise ValidationFailed("file", N_("line {line}: «{text}» is not a "
                                              "Key=Value line"), line=number, text=line[:40])
        elif section == "document":
            doc[key] = value
            lines_of[key] = number
        else:  # the header or an account section
            if key == "РасчСчет" and value:
                acc = _clean_account(value)
                ours.add(acc)
                out.account = out.account or acc
            elif key in ("ДатаНачала", "ДатаКонца") and value:
                day = _day(number, key, value)
                if key == "ДатаНачала":
                    out.date_from = min(out.date_from or day, day)
                else:
                    out.date_to = max(out.date_to or day, day)
    if not ended:
        raise ValidationFailed("file", N_("the file ends before «КонецФайла»: it may be "
                                          "cut short"))
    for start, doc, lines_of in docs:
        payment = _document(start, doc, lines_of, ours)
        if payment is None:
            out.outgoing += 1
        else:
            out.payments.append(payment)
    return out


# --- XLSX --------------------------------------------------------------------------------

# header names (folded: lower case, ё→е, punctuation to spaces) per column
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("дата", "дата операции", "дата платежа", "дата проводки", "дата документа",
             "дата поступления", "дата операції", "дата платежу", "дата документу",
             "дата валютування", "date", "value date", "posting date",
             "transaction date", "booking date"),
    "number": ("номер", "№", "номер документа", "№ документа", "№ док", "номер док",
               "номер документу", "№ документу", "number", "document number", "doc no",
               "no", "document no"),
    "amount": ("сумма", "сума", "amount", "sum", "сумма операции", "сума операції"),
    "credit": ("кредит", "поступление", "поступления", "зачисление", "приход",
               "сумма поступления", "сумма по кредиту", "оборот кредит", "надходження",
               "сума надходження", "зарахування", "credit", "incoming", "credit amount"),
    "debit": ("дебет", "списание", "расход", "сумма списания", "сумма по дебету",
              "оборот дебет", "списання", "видаток", "debit", "outgoing", "debit amount"),
    "payer": ("плательщик", "наименование плательщика", "контрагент", "корреспондент",
              "платник", "назва платника", "кореспондент", "payer", "payer name",
              "counterparty", "sender"),
    "payer_code": ("инн", "инн плательщика", "инн контрагента", "окпо", "єдрпоу",
                   "едрпоу", "код єдрпоу", "код едрпоу", "єдрпоу платника",
                   "код платника", "іпн", "ідентифікаційний код", "код контрагента",
                   "inn", "edrpou", "tax id", "payer inn", "payer edrpou", "payer tax id"),
    "payer_account": ("счет плательщика", "счет контрагента", "счет", "р с плательщика",
                      "рахунок платника", "рахунок контрагента", "рахунок", "iban",
                      "account", "payer account", "counterparty account", "payer iban"),
    "purpose": ("назначение платежа", "назначение", "призначення платежу",
                "призначення", "purpose", "payment purpose", "description", "details",
                "payment details"),
    "currency": ("валюта", "currency", "ccy"),
}
HEADER_ROWS = 30
_FOLD = re.compile(r"[^\w№]+")


def _fold(text: str | None) -> str:
    return _FOLD.sub(" ", (text or "").casefold().replace("ё", "е")).strip()


_ALIASES = {_fold(name): column for column, names in COLUMNS.items() for name in names}


def _header(row: list[str | None]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        column = _ALIASES.get(_fold(cell))
        if column and column not in found:
            found[column] = index
    return found


def parse_xlsx(data: bytes, filename: str = "statement.xlsx") -> Statement:
    from services.tabular import Table

    out = Statement(kind="xlsx")
    columns: dict[str, int] | None = None
    names: list[str | None] = []
    with Table(data, filename or "statement.xlsx") as table:
        for number, row in enumerate(table.rows(), start=1):
            if columns is None:
                found = _header(row)
                if "date" in found and ({"amount", "credit"} & found.keys()):
                    columns, names = found, row
                elif number >= HEADER_ROWS:
                    break
                continue
            if not any(c for c in row):
                continue
            payment = _xlsx_row(number, row, columns, names)
            if payment is None:
                out.outgoing += 1
            elif payment is not _SKIP:
                out.payments.append(payment)
                if len(out.payments) > MAX_DOCUMENTS:
                    raise ValidationFailed("file", N_("the statement has more than "
                                                      "{limit} documents"),
                                           limit=MAX_DOCUMENTS)
    if columns is None:
        raise ValidationFailed("file", N_("no header row with a date column («Дата», "
                                          "«Date») and an amount column («Сумма», "
                                          "«Кредит», «Amount») in the first {rows} rows"),
                               rows=HEADER_ROWS)
    days = [p.dated for p in out.payments]
    out.date_from, out.date_to = (min(days), max(days)) if days else (None, None)
    return out


_SKIP = Payment(line=0, number=None, dated=date.min, amount=Decimal(0))


def _xlsx_row(number: int, row: list[str | None], columns: dict[str, int],
              names: list[str | None]) -> Payment | None:
    def cell(column: str) -> str:
        index = columns.get(column)
        return (row[index] or "").strip() if index is not None and index < len(row) else ""

    def amount_of(column: str) -> Decimal | None:
        raw = cell(column)
        if not raw:
            return None
        value = decimal_of(raw)
        if value is None:
            raise ValidationFailed("file", N_("row {row}: «{column}» is not a number"),
                                   row=number, column=(names[columns[column]] or "")[:40])
        return value

    raw_date = cell("date")
    if not raw_date:  # a totals row ("Итого", "Обороты") has no date
        return _SKIP
    day = _date(raw_date)
    if day is None:
        if not re.search(r"\d", raw_date):
            return _SKIP
        raise ValidationFailed("file", N_("row {row}: «{column}» is not a date"),
                               row=number, column=(names[columns["date"]] or "")[:40])
    if "credit" in columns:
        credit = amount_of("credit")
        debit = amount_of("debit") if "debit" in columns else None
        if not credit:
            return None if debit else _SKIP
        amount = credit
    else:
        amount = amount_of("amount")
        if amount is None or amount == 0:
            return _SKIP
        if amount < 0:
            return None
    code, raw = currency_of_word(cell("currency"))
    return Payment(line=number, number=cell("number")[:32] or None, dated=day,
                   amount=abs(amount), payer_name=cell("payer")[:400] or None,
                   payer_code=_clean_code(cell("payer_code")),
                   payer_account=_clean_account(cell("payer_account")),
                   purpose=cell("purpose") or None, currency=code, currency_raw=raw)


# --- either -------------------------------------------------------------------------------


def parse(data: bytes, filename: str = "",
          own_accounts: set[str] | frozenset[str] = frozenset()) -> Statement:
    """A statement from its bytes: 1CClientBankExchange or XLSX, told by the content."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed("file", N_("the file is larger than {mb} MB"),
                               mb=MAX_FILE_BYTES // 2**20)
    if not data.strip():
        raise ValidationFailed("file", N_("the file is empty"))
    if HEADER.encode() in data[:64]:
        return parse_1c(data, own_accounts)
    if data[:2] == b"PK":
        try:
            return parse_xlsx(data, filename if filename.lower().endswith(
                (".xlsx", ".xlsm")) else "statement.xlsx")
        except ValidationFailed:
            raise
        except Exception:  # noqa: BLE001 - a zip that is not a workbook, a broken sheet
            raise ValidationFailed("file", N_("the spreadsheet cannot be read; save it "
                                              "again as .xlsx")) from None
    raise ValidationFailed("file", N_("this is neither a 1CClientBankExchange statement "
                                      "(a .txt from the client-bank) nor an .xlsx file"))
