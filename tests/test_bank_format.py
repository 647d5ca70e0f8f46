"""Reading bank statements (K-6): 1CClientBankExchange in cp1251 and cp866, a Ukrainian
one with ПлательщикОКПО, an XLSX with Russian, Ukrainian or English headers, and
broken files refused with the line and the field. The sample files in tests/data/bank
follow 1C's published description of the format (version 1.03): the header, the
account section, payment documents, КонецФайла."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.bank_format import currency_of_account, parse
from services.errors import ValidationFailed

DATA = Path(__file__).parent / "data" / "bank"
OURS = "40702810900000012345"


def test_k6_windows_and_dos_read_alike():
    """K-6: the same statement in cp1251 (Кодировка=Windows) and cp866 (DOS): three
    incoming payments, our own outgoing one counted and left out."""
    win = parse((DATA / "statement-windows.txt").read_bytes(), "kl_to_1c.txt")
    dos = parse((DATA / "statement-dos.txt").read_bytes(), "kl_to_1c.txt")
    assert win.payments == dos.payments
    assert (win.kind, win.account, win.outgoing) == ("1c", OURS, 1)
    assert (win.date_from, win.date_to) == (date(2026, 6, 1), date(2026, 6, 4))
    first, second, third = win.payments
    assert first.number == "518" and first.amount == Decimal("15000.00")
    assert first.dated == date(2026, 6, 3)  # ДатаПоступило, not the document's date
    assert first.payer_name == 'ООО "Ромашка"' and first.payer_code == "7736207543"
    assert first.payer_account == "40702810400000000001" and first.account == OURS
    assert first.currency == "RUB" and first.direction == "in"
    assert first.purpose.startswith("Оплата по счету № 000012")
    # НазначениеПлатежа1..6 joined; «ИНН … name» in Плательщик without Плательщик1
    assert second.purpose == "Предоплата по сч. 15 от 02.06.2026 Без налога (НДС)"
    assert second.payer_name == 'АО "Неизвестный покупатель"'
    assert third.amount == Decimal("1200")


def test_k6_ukrainian_statement_with_okpo():
    statement = parse((DATA / "statement-ua.txt").read_bytes())
    (payment,) = statement.payments
    assert payment.payer_code == "32855961" and payment.currency == "UAH"
    assert payment.payer_account == "UA903052990000026002000000001"
    assert "рахунку №12" in payment.purpose


def test_k6_our_accounts_decide_what_is_incoming():
    """Without the statement's РасчСчет, our legal entities' accounts decide."""
    text = (DATA / "statement-windows.txt").read_bytes().replace(
        "\r\nРасчСчет=40702810900000012345\r\n".encode("cp1251"), b"\r\n")
    assert parse(text, own_accounts={OURS}).outgoing == 1
    # nobody's account is known: the dates still tell incoming from outgoing
    unknown = parse(text)
    assert len(unknown.payments) == 3 and unknown.outgoing == 1


@pytest.mark.parametrize(("change", "message"), [
    (("Сумма=12500.50", "Сумма=12 500,5О"), "line 57: «Сумма» is not a number"),
    (("Дата=03.06.2026\r\nСумма=12500.50", "Дата=31.02.2026\r\nСумма=12500.50"),
     "line 56: «Дата» is not a date (dd.mm.yyyy)"),
    (("КонецФайла\r\n", ""), "the file ends before «КонецФайла»: it may be cut short"),
    (("Кодировка=Windows", "Кодировка=KOI8"), "«Кодировка» must be Windows or DOS, "
                                              "not «koi8»"),
    (("Номер=77\r\n", ""), "line 54: the document has no «Номер»"),
    (("Сумма=1200\r\nПлательщикСчет=40702810400000000001\r\nПлательщик=ООО",
      "Сумма=-1200\r\nПлательщикСчет=40702810400000000001\r\nПлательщик=ООО"),
     "line 93: «Сумма» must be more than 0"),
])
def test_k6_a_broken_statement_names_the_line(change, message):
    """K-6: a bad file is refused with the line and the field, not a traceback."""
    text = (DATA / "statement-windows.txt").read_bytes().decode("cp1251")
    assert change[0] in text
    broken = text.replace(change[0], change[1], 1).encode("cp1251")
    with pytest.raises(ValidationFailed) as err:
        parse(broken)
    assert err.value.field == "file" and err.value.message == message


def test_k6_the_broken_sample_and_other_files():
    with pytest.raises(ValidationFailed) as err:
        parse((DATA / "broken.txt").read_bytes())
    assert err.value.message == "line 57: «Сумма» is not a number"
    assert err.value.template == "line {line}: «{key}» is not a number"
    for data in (b"", b"hello", b"PK\x03\x04 not really a zip"):
        with pytest.raises(ValidationFailed):
            parse(data, "x.xlsx")


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_k6_xlsx_with_ukrainian_headers_credit_and_debit():
    data = _xlsx([
        ["Виписка по рахунку UA213223130000026007233566001"], [],
        ["Дата операції", "№ документу", "Платник", "Код ЄДРПОУ", "Рахунок платника",
         "Надходження", "Списання", "Призначення платежу", "Валюта"],
        [date(2026, 6, 3), "305", 'ТОВ "Вишня"', 32855961,
         "UA903052990000026002000000001", 4200, None, "Оплата згідно рахунку №12", "грн"],
        ["03.06.2026", "306", "Постачальник", "21560766", None, None, "800,00",
         "Оплата за послуги", "UAH"],
        [None, None, "Разом", None, None, 4200, 800],
    ])
    statement = parse(data, "vypyska.xlsx")
    assert statement.kind == "xlsx" and statement.outgoing == 1
    (p,) = statement.payments
    assert (p.number, p.dated, p.amount, p.payer_code, p.currency) == (
        "305", date(2026, 6, 3), Decimal(4200), "32855961", "UAH")


def test_k6_xlsx_english_signed_amounts_and_errors():
    rows = [["Date", "Number", "Payer", "Payer INN", "Amount", "Purpose", "Currency"],
            ["04.06.2026", "9", "Romashka LLC", "7736207543", "1 200,50", "inv. 12", "RUB"],
            ["04.06.2026", "10", "Us", "7728168971", -300, "rent", "RUB"],
            ["04.06.2026", "11", "Someone", "", 10, "?", "doubloons"]]
    statement = parse(_xlsx(rows), "statement.xlsx")
    assert statement.outgoing == 1
    first, odd = statement.payments
    assert first.amount == Decimal("1200.50") and first.currency == "RUB"
    assert odd.currency is None and odd.currency_raw == "doubloons"
    rows[1][4] = "twelve"
    with pytest.raises(ValidationFailed) as err:
        parse(_xlsx(rows), "statement.xlsx")
    assert err.value.message == "row 2: «Amount» is not a number"
    with pytest.raises(ValidationFailed) as err:
        parse(_xlsx([["Payer", "Purpose"], ["x", "y"]]), "statement.xlsx")
    assert "no header row with a date column" in err.value.message


def test_currency_of_an_account():
    assert currency_of_account("40702810900000012345") == "RUB"
    assert currency_of_account("40702840900000012345") == "USD"
    assert currency_of_account("UA213223130000026007233566001") == "UAH"
    assert currency_of_account("123") is None
