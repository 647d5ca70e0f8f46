"""S-17: the invoice PDF — amounts in words, the RU and UA layouts read back from the
PDF with pypdf, a long invoice over several pages, the limits, and the invoice of a
real order. Every date is given explicitly; none depends on today."""

from __future__ import annotations

import io
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.amount_words import amount_in_words, number_words, plural_index
from services.errors import NotFound, ValidationFailed
from services.invoice_pdf import (
    MAX_LINES,
    FontMissing,
    Invoice,
    Line,
    Party,
    Totals,
    date_words,
    invoice_pdf,
    money_text,
    quantity_text,
    render_invoice,
)
from tests.conftest import TEST_NOW

D = Decimal
NBSP = "\u00a0"


# --- amounts in words ------------------------------------------------------------------
@pytest.mark.parametrize(("amount", "currency", "language", "words"), [
    ("1234.50", "RUB", "ru", "Одна тысяча двести тридцать четыре рубля 50 копеек"),
    ("1234.50", "UAH", "uk", "Одна тисяча двісті тридцять чотири гривні 50 копійок"),
    ("1234.50", "RUB", "en", "One thousand two hundred thirty-four roubles 50 kopecks"),
    # 11-19 take the "many" form whatever the last digit
    ("11", "RUB", "ru", "Одиннадцать рублей 00 копеек"),
    ("12", "UAH", "uk", "Дванадцять гривень 00 копійок"),
    ("14", "UAH", "ru", "Четырнадцать гривен 00 копеек"),
    ("19", "RUB", "uk", "Дев'ятнадцять рублів 00 копійок"),
    ("111", "RUB", "ru", "Сто одиннадцать рублей 00 копеек"),
    ("3.11", "RUB", "ru", "Три рубля 11 копеек"),
    # 21, 101: the "one" form, in the noun's gender
    ("21", "RUB", "ru", "Двадцать один рубль 00 копеек"),
    ("21", "UAH", "ru", "Двадцать одна гривна 00 копеек"),
    ("21", "UAH", "uk", "Двадцять одна гривня 00 копійок"),
    ("101", "RUB", "ru", "Сто один рубль 00 копеек"),
    ("101", "UAH", "uk", "Сто одна гривня 00 копійок"),
    ("101", "USD", "en", "One hundred one US dollars 00 cents"),
    ("1", "RUB", "ru", "Один рубль 00 копеек"),
    ("1", "UAH", "ru", "Одна гривна 00 копеек"),
    ("1", "USD", "en", "One US dollar 00 cents"),
    ("2", "UAH", "uk", "Дві гривні 00 копійок"),
    ("2", "RUB", "uk", "Два рублі 00 копійок"),
    ("5", "RUB", "uk", "П'ять рублів 00 копійок"),
    # thousands are feminine, millions masculine
    ("1000", "RUB", "ru", "Одна тысяча рублей 00 копеек"),
    ("1000", "UAH", "uk", "Одна тисяча гривень 00 копійок"),
    ("2000", "RUB", "ru", "Две тысячи рублей 00 копеек"),
    ("2000", "UAH", "uk", "Дві тисячі гривень 00 копійок"),
    ("5000", "RUB", "ru", "Пять тысяч рублей 00 копеек"),
    ("5000", "UAH", "uk", "П'ять тисяч гривень 00 копійок"),
    ("11000", "RUB", "ru", "Одиннадцать тысяч рублей 00 копеек"),
    ("21000", "RUB", "ru", "Двадцать одна тысяча рублей 00 копеек"),
    ("1000000", "RUB", "ru", "Один миллион рублей 00 копеек"),
    ("1000000", "UAH", "uk", "Один мільйон гривень 00 копійок"),
    ("1000000", "EUR", "en", "One million euros 00 cents"),
    ("2002002", "UAH", "uk",
     "Два мільйони дві тисячі дві гривні 00 копійок"),
    ("5000000000", "RUB", "ru", "Пять миллиардов рублей 00 копеек"),
    ("999999999999.99", "RUB", "ru",
     "Девятьсот девяносто девять миллиардов девятьсот девяносто девять миллионов "
     "девятьсот девяносто девять тысяч девятьсот девяносто девять рублей 99 копеек"),
    # kopecks: two digits, the noun agreeing with them
    ("0", "RUB", "ru", "Ноль рублей 00 копеек"),
    ("0", "UAH", "uk", "Нуль гривень 00 копійок"),
    ("0", "USD", "en", "Zero US dollars 00 cents"),
    ("0.01", "RUB", "ru", "Ноль рублей 01 копейка"),
    ("10.02", "UAH", "uk", "Десять гривень 02 копійки"),
    ("7.5", "RUB", "ru", "Семь рублей 50 копеек"),
    ("7.500", "RUB", "ru", "Семь рублей 50 копеек"),
    ("1.21", "USD", "en", "One US dollar 21 cents"),
    ("1.01", "EUR", "en", "One euro 01 cent"),
    # the other currencies
    ("2", "USD", "ru", "Два доллара США 00 центов"),
    ("21.22", "USD", "uk", "Двадцять один долар США 22 центи"),
    ("3", "EUR", "ru", "Три евро 00 евроцентов"),
    ("1.01", "EUR", "uk", "Один євро 01 євроцент"),
    ("25.03", "KZT", "ru", "Двадцать пять тенге 03 тиына"),
    ("1", "KZT", "en", "One tenge 00 tiyn"),
    ("2", "BYN", "ru", "Два белорусских рубля 00 копеек"),
    ("1", "BYN", "ru", "Один белорусский рубль 00 копеек"),
    ("2", "BYN", "uk", "Два білоруські рублі 00 копійок"),
    ("5", "BYN", "en", "Five Belarusian roubles 00 kopecks"),
    ("2", "UAH", "en", "Two hryvnias 00 kopiykas"),
])
def test_s17_amount_in_words(amount, currency, language, words):
    assert amount_in_words(D(amount), currency, language) == words


def test_s17_plural_forms_and_genders():
    assert [plural_index(n, "ru") for n in (1, 2, 4, 5, 11, 14, 21, 22, 25, 101, 111, 112)] \
        == [0, 1, 1, 2, 2, 2, 0, 1, 2, 0, 2, 2]
    assert [plural_index(n, "en") for n in (0, 1, 2, 21)] == [2, 0, 2, 2]
    assert number_words(2, "ru", "f") == "две"
    assert number_words(2, "uk", "f") == "дві"
    assert number_words(1_001_001, "ru") == "один миллион одна тысяча один"
    assert number_words(40, "en") == "forty"


@pytest.mark.parametrize(("amount", "field"), [
    (D("-0.01"), "amount"), (D("1000000000000"), "amount"), (D("1.005"), "amount"),
    (D("NaN"), "amount"), (D("Infinity"), "amount"),
])
def test_s17_amounts_that_are_no_amount_are_refused(amount, field):
    with pytest.raises(ValidationFailed) as info:
        amount_in_words(amount)
    assert info.value.field == field


def test_s17_float_and_unknown_currency_or_language_are_refused():
    with pytest.raises(TypeError):
        amount_in_words(12.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as info:
        amount_in_words(D(1), "GBP")
    assert info.value.field == "currency" and "GBP" in info.value.message
    with pytest.raises(ValidationFailed) as info:
        amount_in_words(D(1), "RUB", "de")
    assert info.value.field == "language"


def test_s17_figures_and_dates_as_each_language_writes_them():
    assert money_text(D("1234.5"), "ru") == f"1{NBSP}234,50"
    assert money_text(D("1234567.891").quantize(D("0.01")), "uk") == f"1{NBSP}234{NBSP}567,89"
    assert money_text(D("1234.5"), "en") == "1,234.50"
    assert [quantity_text(D(q)) for q in ("2.000", "1.500", "1000", "0.125", "10")] == \
        ["2", "1,5", f"1{NBSP}000", "0,125", "10"]
    assert date_words(date(2026, 12, 6), "ru") == "6 декабря 2026 г."
    assert date_words(date(2026, 3, 1), "uk") == "1 березня 2026 р."
    assert date_words(date(2026, 5, 31), "en") == "31 May 2026"


# --- invoices built by hand --------------------------------------------------------------
RU_SELLER = Party(
    name="ООО «Ромашка»", country="RU", inn="7707083893", kpp="773601001",
    legal_address="123456, г. Москва, ул. Ленина, д. 1", phone="+7 495 123-45-67",
    bank_name="ПАО Сбербанк", bik="044525225", account="40702810938000000001",
    corr_account="30101810400000000225", director="Иванов И. И.", accountant="Петрова А. С.")
RU_BUYER = Party(name="АО «Василёк»", inn="500100732259", kpp="500101001",
                 legal_address="141000, г. Мытищи, ул. Мира, 5")
UA_SELLER = Party(
    name="ТОВ «Калина»", country="UA", edrpou="14360570", ipn="143605726543",
    vat_payer=False, legal_address="01001, м. Київ, вул. Хрещатик, 1",
    phone="+380 44 123 45 67", bank_name="АТ КБ «ПриватБанк»", mfo="305299",
    iban="UA213223130000026007233566001", director="Шевченко Т. Г.")
UA_BUYER = Party(name="ФОП Коваленко О. П.", country="UA", ipn="3184710691",
                 legal_address="м. Львів, вул. Січових Стрільців, 3")


def line(name: str, quantity: str, price: str, rate: str | None = "20",
         unit: str = "шт", vat_included: bool = True) -> Line:
    amount = (D(quantity) * D(price)).quantize(D("0.01"))
    vat = D(0)
    if rate is not None:
        base = 100 + D(rate) if vat_included else 100
        vat = (amount * D(rate) / base).quantize(D("0.01"), ROUND_HALF_UP)
    return Line(name, unit, D(quantity), D(price), amount,
                None if rate is None else D(rate), vat)


def make_invoice(lines, *, seller=RU_SELLER, buyer=RU_BUYER, language="ru",
                 currency="RUB", vat_included=True, number="17",
                 day=date(2026, 12, 6)) -> Invoice:
    lines = tuple(lines)
    return Invoice(number=number, date=day, currency=currency, vat_included=vat_included,
                   lines=lines, totals=Totals.of(lines, vat_included), seller=seller,
                   buyer=buyer, language=language)


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, no-break spaces as plain ones and lines joined: what a person
    reads, wherever the PDF broke a cell's text."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return [" ".join(page.extract_text().replace(NBSP, " ").split()) for page in reader.pages]


LONG_NAME = ("Труба стальная электросварная 57×3,5 мм ГОСТ 10704-91, оцинкованная, "
             "длина 6 м, с резьбой на обоих концах и муфтой")


async def test_s17_ru_invoice_with_vat_reads_back():
    inv = make_invoice([line(LONG_NAME, "12", "1234.50"),
                        line("Отвод 90° Ду 50", "2.5", "99.90", unit="кг"),
                        line("Доставка", "1", "1500", rate="10", unit="усл")])
    assert inv.totals == Totals(D("16563.75"), D("2646.99"), D("16563.75"))
    (text,) = pdf_pages(await render_invoice(inv))
    # the bank block and the seller's requisites
    for part in ("ПАО Сбербанк", "БИК 044525225", "Сч. № 30101810400000000225",
                 "ИНН 7707083893", "КПП 773601001", "Сч. № 40702810938000000001",
                 "Банк получателя", "Получатель"):
        assert part in text, part
    assert "Счёт на оплату № 17 от 6 декабря 2026 г." in text
    assert ("ООО «Ромашка», ИНН 7707083893, КПП 773601001, 123456, г. Москва, ул. Ленина, "
            "д. 1, тел. +7 495 123-45-67") in text
    assert "АО «Василёк», ИНН 500100732259, КПП 500101001, 141000, г. Мытищи" in text
    assert "№ Товары (работы, услуги) Кол-во Ед. Цена Сумма" in text
    assert f"1 {LONG_NAME} 12 шт 1 234,50 14 814,00" in text  # wrapped, read back whole
    assert "2 Отвод 90° Ду 50 2,5 кг 99,90 249,75" in text
    assert "3 Доставка 1 усл 1 500,00 1 500,00" in text
    assert "Итого: 16 563,75" in text
    assert "В том числе НДС 20 %: 2 510,63" in text
    assert "В том числе НДС 10 %: 136,36" in text
    assert "Всего к оплате: 16 563,75" in text
    assert "Всего наименований 3, на сумму 16 563,75 руб." in text
    assert "Шестнадцать тысяч пятьсот шестьдесят три рубля 75 копеек" in text
    assert "Руководитель /Иванов И. И./ Бухгалтер /Петрова А. С./" in text
    assert "Без налога" not in text


def test_s17_ru_prices_without_vat_add_it_on_top():
    inv = make_invoice([line("Кабель", "10", "100", vat_included=False)],
                       vat_included=False)
    assert inv.totals.total == D("1200.00")
    (text,) = pdf_pages(invoice_pdf(inv))
    assert "Итого: 1 000,00" in text and "НДС 20 %: 200,00" in text
    assert "В том числе" not in text
    assert "Всего к оплате: 1 200,00" in text
    assert "Одна тысяча двести рублей 00 копеек" in text


async def test_s17_ua_invoice_without_vat_reads_back():
    inv = make_invoice([line("Монтаж обладнання", "3", "1250.00", rate=None, unit="год"),
                        line("Консультація", "1", "400", rate=None, unit="послуга")],
                       seller=UA_SELLER, buyer=UA_BUYER, language="uk", currency="UAH",
                       number="UA-5", day=date(2026, 3, 1))
    (text,) = pdf_pages(await render_invoice(inv))
    assert "Рахунок на оплату № UA-5 від 1 березня 2026 р." in text
    assert "БИК" not in text and "Банк одержувача" not in text  # no Russian bank block
    for part in ("Постачальник: ТОВ «Калина»", "ЄДРПОУ 14360570, ІПН 143605726543",
                 "IBAN UA213223130000026007233566001, у банку АТ КБ «ПриватБанк», МФО 305299",
                 "адреса 01001, м. Київ, вул. Хрещатик, 1, тел. +380 44 123 45 67",
                 "Не є платником ПДВ", "Покупець: ФОП Коваленко О. П.", "ІПН 3184710691"):
        assert part in text, part
    assert "№ Товари (роботи, послуги) Кільк. Од. Ціна Сума" in text
    assert "1 Монтаж обладнання 3 год 1 250,00 3 750,00" in text
    assert "2 Консультація 1 послуга 400,00 400,00" in text
    assert "Разом: 4 150,00" in text
    assert "Без ПДВ" in text and "У тому числі ПДВ" not in text
    assert "Всього до сплати: 4 150,00" in text
    assert "Всього найменувань 2, на суму 4 150,00 грн." in text
    assert "Чотири тисячі сто п'ятдесят гривень 00 копійок" in text
    assert "Керівник /Шевченко Т. Г./ Бухгалтер" in text


def test_s17_language_is_independent_of_the_sellers_country():
    """An English invoice from a Russian seller keeps the bank block, in English."""
    inv = make_invoice([line("Pipe", "1234", "1.5")], language="en", day=date(2026, 5, 31))
    (text,) = pdf_pages(invoice_pdf(inv))
    assert "Invoice No. 17 dated 31 May 2026" in text
    assert "BIC 044525225" in text and "Beneficiary's bank" in text
    assert "Supplier: ООО «Ромашка», INN 7707083893" in text
    assert "1 Pipe 1,234 шт 1.50 1,851.00" in text
    assert "Including VAT 20 %: 308.50" in text
    assert "One thousand eight hundred fifty-one roubles 00 kopecks" in text
    inv = make_invoice([line("Послуга", "1", "100", rate=None)], seller=UA_SELLER,
                       buyer=UA_BUYER, language="ru", currency="UAH")
    (text,) = pdf_pages(invoice_pdf(inv))
    assert "Счёт на оплату № 17 от 6 декабря 2026 г." in text
    assert "ЕГРПОУ 14360570" in text and "Не является плательщиком НДС" in text
    assert "Без налога (НДС)" in text and "Сто гривен 00 копеек" in text


async def test_s17_a_120_line_invoice_spans_pages_with_the_header_on_each():
    lines = [line(f"Товар {n}" + (" с длинным названием, которое не уместится в одну "
                                  "строку ячейки таблицы и перенесётся" if n % 9 == 0 else ""),
                  str(n), "10.10") for n in range(1, 121)]
    pages = pdf_pages(await render_invoice(make_invoice(lines)))
    assert len(pages) >= 3
    header = "№ Товары (работы, услуги) Кол-во Ед. Цена Сумма"
    for number, text in enumerate(pages, 1):
        assert text.count(header) == 1, number
        assert f"Счёт № 17 от 06.12.2026, страница {number} из {len(pages)}" in text
    everything = " ".join(pages)
    for n in range(1, 121):
        assert f"{n} Товар {n}" in everything, n
    assert "120 Товар 120 120 шт 10,10 1 212,00" in pages[-1]
    assert "Всего наименований 120, на сумму 73 326,00 руб." in pages[-1]
    assert "Семьдесят три тысячи триста двадцать шесть рублей 00 копеек" in pages[-1]


async def test_s17_too_many_lines_are_refused_before_any_work():
    lines = [line(f"Товар {n}", "1", "1") for n in range(MAX_LINES + 1)]
    with pytest.raises(ValidationFailed) as info:
        await render_invoice(make_invoice(lines))
    assert info.value.field == "lines"
    assert info.value.params == {"limit": MAX_LINES, "count": MAX_LINES + 1}
    with pytest.raises(ValidationFailed):
        await render_invoice(make_invoice([]))


def test_s17_an_invoice_that_does_not_add_up_is_refused():
    inv = make_invoice([line("Кабель", "1", "100")])
    wrong = replace(inv, totals=Totals(D(100), D("16.67"), D(99)))
    with pytest.raises(ValidationFailed) as info:
        invoice_pdf(wrong)
    assert info.value.field == "totals"
    with pytest.raises(ValidationFailed) as info:  # a seller without VAT charging VAT
        invoice_pdf(make_invoice([line("Кабель", "1", "100")], seller=UA_SELLER))
    assert info.value.field == "vat"
    with pytest.raises(ValidationFailed) as info:
        invoice_pdf(make_invoice([line("Кабель", "1", "100")], currency="XYZ"))
    assert info.value.field == "currency"
    with pytest.raises(ValidationFailed) as info:  # VAT on a line without a rate
        invoice_pdf(make_invoice([Line("Кабель", "м", D(1), D(100), D(100), None, D(5))]))
    assert info.value.field == "vat"
    with pytest.raises(ValidationFailed) as info:  # a refund is no invoice
        invoice_pdf(make_invoice([line("Возврат", "-1", "100")]))
    assert info.value.field == "amount"
    with pytest.raises(TypeError):
        Line("Кабель", "м", D(1), 100.0, D(100))  # type: ignore[arg-type]


def test_s17_zero_rate_braces_in_the_number_and_a_name_of_one_long_word():
    inv = make_invoice([line("Экспорт", "1", "100", rate="0"),
                        line("Ы" * 120, "1", "1", rate="0")], number="{A}-1")
    pages = pdf_pages(invoice_pdf(inv))
    text = " ".join(pages)
    assert "Счёт на оплату № {A}-1 от 6 декабря 2026 г." in text
    assert "Счёт № {A}-1 от 06.12.2026, страница 1 из" in text
    assert "В том числе НДС 0 %: 0,00" in text and "Без налога" not in text
    assert text.replace(" ", "").count("Ы" * 120) == 1  # broken inside its cell, all there


def test_s17_a_missing_font_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(FontMissing) as info:
        invoice_pdf(make_invoice([line("Кабель", "1", "100")]), font_dir=tmp_path)
    assert str(tmp_path / "DejaVuSans.ttf") in str(info.value)
    assert "fonts-dejavu-core" in str(info.value)


# --- the invoice of a real order ---------------------------------------------------------
async def _order_rows(make_staff):
    """An order of two lines (one without VAT) from our Russian entity to a client with
    two legal entities, the second primary; the order names none of them."""
    from models import Client, LegalEntity, Order, OrderLine, OwnEntity, Product, Role

    owner = await make_staff(Role.MANAGER)
    own = await OwnEntity.create(**asdict(RU_SELLER))
    client = await Client.create(name="Василёк", country="RU")
    await LegalEntity.create(client=client, name="ООО «Старый Василёк»", inn="7707083893")
    entity = await LegalEntity.create(client=client, name="АО «Василёк»",
                                      inn="500100732259", kpp="500101001",
                                      legal_address="141000, г. Мытищи, ул. Мира, 5",
                                      is_primary=True)
    pipe = await Product.create(name="Труба", code="T-1", vat_rate=D(20))
    service = await Product.create(name="Доставка", code="S-1", is_service=True)
    order = await Order.create(
        number="ЗК-0042", client=client, own_entity=own, owner=owner, currency="RUB",
        vat_included=True, subtotal=D("2600"), discount_total=D("100"),
        vat_total=D("400.00"), total=D("2500.00"),
        posted_at=datetime(2026, 12, 5, 22, 30, tzinfo=UTC))  # 6 December in Moscow
    await OrderLine.create(order=order, position=2, product=service, name="Доставка",
                           unit="усл", quantity=D(1), list_price=D(100), price=D(100),
                           discount=D(0), vat_rate=None, amount=D(100), vat_amount=D(0))
    await OrderLine.create(order=order, position=1, product=pipe, name="Труба 57×3,5",
                           unit="м", quantity=D("12.000"), list_price=D(225),
                           price=D(200), discount=D("11.11"), vat_rate=D(20),
                           amount=D(2400), vat_amount=D(400))
    return order, client, entity


async def test_s17_invoice_from_order_reads_real_rows(database_url, make_staff):
    from services.invoice_data import invoice_from_order

    order, _client, _entity = await _order_rows(make_staff)
    inv = await invoice_from_order(order.id)
    assert (inv.number, inv.date, inv.currency, inv.language) == \
        ("ЗК-0042", date(2026, 12, 6), "RUB", "ru")
    assert [(li.name, li.unit, li.quantity, li.price, li.vat_rate) for li in inv.lines] == [
        ("Труба 57×3,5", "м", D(12), D(200), D(20)), ("Доставка", "усл", D(1), D(100), None)]
    assert inv.totals == Totals(D(2500), D(400), D(2500))
    assert inv.seller.inn == "7707083893" and inv.seller.bik == "044525225"
    assert inv.buyer.name == "АО «Василёк»" and inv.buyer.kpp == "500101001"
    (text,) = pdf_pages(await render_invoice(inv))
    assert "Счёт на оплату № ЗК-0042 от 6 декабря 2026 г." in text
    assert "1 Труба 57×3,5 12 м 200,00 2 400,00" in text
    assert "2 Доставка 1 усл 100,00 100,00" in text
    assert "В том числе НДС 20 %: 400,00" in text
    assert "Две тысячи пятьсот рублей 00 копеек" in text
    assert "АО «Василёк», ИНН 500100732259, КПП 500101001" in text

    en = await invoice_from_order(order.id, language="en", tz="America/New_York")
    assert en.date == date(2026, 12, 5) and en.language == "en"
    assert (await invoice_from_order(order.id, on=date(2026, 12, 31))).date == \
        date(2026, 12, 31)


async def test_s17_invoice_buyer_falls_back_to_the_primary_entity_then_the_name(
        database_url, make_staff):
    from models import LegalEntity, Order, OwnEntity
    from services.invoice_data import invoice_from_order

    order, client, entity = await _order_rows(make_staff)
    assert order.legal_entity_id is None
    assert (await invoice_from_order(order.id)).buyer.name == "АО «Василёк»"
    other = await LegalEntity.create(client=client, name="ООО «Василёк-Юг»", inn="7707083893")
    await Order.filter(id=order.id).update(legal_entity_id=other.id)
    assert (await invoice_from_order(order.id)).buyer.name == "ООО «Василёк-Юг»"
    await Order.filter(id=order.id).update(legal_entity_id=None)
    await LegalEntity.filter(client_id=client.id).delete()
    buyer = (await invoice_from_order(order.id)).buyer
    assert buyer.name == "Василёк" and buyer.inn is None
    # no own entity on the order: our default one sells; none at all is refused
    await Order.filter(id=order.id).update(own_entity_id=None, posted_at=None)
    with pytest.raises(ValidationFailed) as info:
        await invoice_from_order(order.id)
    assert info.value.field == "own_entity"
    await OwnEntity.all().update(is_default=True)
    inv = await invoice_from_order(order.id)
    assert inv.seller.name == "ООО «Ромашка»"
    assert inv.date == TEST_NOW.astimezone(ZoneInfo("Europe/Moscow")).date()  # created
    with pytest.raises(NotFound):
        await invoice_from_order(order.id + 1000)


async def test_s17_an_order_whose_total_disagrees_with_its_lines_is_not_printed(
        database_url, make_staff):
    from models import Order
    from services.invoice_data import invoice_from_order

    order, _client, _entity = await _order_rows(make_staff)
    await Order.filter(id=order.id).update(total=D("2600.00"))
    inv = await invoice_from_order(order.id)
    with pytest.raises(ValidationFailed) as info:
        await render_invoice(inv)
    assert info.value.field == "totals"
