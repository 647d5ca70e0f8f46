"""Currency rates (A-15, K-6): the Bank of Russia's daily XML (windows-1251, decimal
commas, Nominal 10 and 100) and the National Bank of Ukraine's, saved in tests/data/rates
as their published descriptions give them; loading twice adds nothing and a changed
rate is updated; manual rates by admins; conversion through the base and across two
rates; a missing rate named with its currency and day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from models import CurrencyRate, Role, User
from services import rates
from services.errors import NotFound, PermissionDenied, ValidationFailed

DATA = Path(__file__).parent / "data" / "rates"
CBR = (DATA / "cbr-2026-06-05.xml").read_bytes()
NBU = (DATA / "nbu-2026-06-05.xml").read_bytes()
FRI, SAT, MON = date(2026, 6, 5), date(2026, 6, 6), date(2026, 6, 8)


async def _admin() -> User:
    return await User.create(full_name="Ada Admin", telegram_id=1, role=Role.ADMIN)


async def test_a15_cbr_daily_file_with_nominals(database_url):
    """A-15: a CBR file: one rate per currency per unit (Nominal 10 and 100 divided)."""
    admin = await _admin()
    report = await rates.do_load_rates(admin, CBR)
    assert (report.source, report.base, report.dated) == ("cbr", "RUB", FRI)
    assert (report.created, report.updated, report.unchanged) == (9, 0, 0)
    got = {r.currency: r.rate for r in await CurrencyRate.filter(base="RUB")}
    assert got["USD"] == Decimal("79.4532")
    assert got["HKD"] == Decimal("10.15731")   # 101,5731 for 10
    assert got["AMD"] == Decimal("0.204915")   # 20,4915 for 100
    assert got["JPY"] == Decimal("0.550731")
    assert {r.source for r in await CurrencyRate.all()} == {"cbr"}

    again = await rates.do_load_rates(admin, CBR)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
    changed = CBR.replace(b"<Value>79,4532</Value>", b"<Value>80,0000</Value>")
    report = await rates.do_load_rates(admin, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 8)
    assert (await CurrencyRate.get(currency="USD")).rate == Decimal("80")
    assert await CurrencyRate.all().count() == 9


async def test_a15_conversion_through_the_base_and_across(database_url):
    """A-15: RUB↔USD through the base; USD→EUR across two RUB rates; a weekend uses
    Friday's rate; the same currency is the same amount."""
    admin = await _admin()
    await rates.do_load_rates(admin, CBR)
    assert await rates.convert(Decimal(100), "USD", "RUB", SAT) == Decimal("7945.32")
    assert await rates.convert(Decimal("7945.32"), "RUB", "USD", MON) == Decimal("100.00")
    # 100 USD = 7945.32 RUB = 88.16 EUR (79.4532 / 90.1216)
    assert await rates.convert(Decimal(100), "USD", "EUR", FRI) == Decimal("88.16")
    assert await rates.convert(Decimal(1000), "JPY", "RUB", FRI) == Decimal("550.73")
    assert await rates.convert(Decimal(5), "EUR", "EUR", date(2000, 1, 1)) == Decimal(5)
    assert await rates.rate("usd", "rub", FRI) == Decimal("79.4532")


async def test_a15_a_missing_rate_names_the_currency_and_day(database_url):
    admin = await _admin()
    await rates.do_load_rates(admin, CBR)
    with pytest.raises(ValidationFailed) as err:
        await rates.convert(Decimal(1), "USD", "RUB", date(2026, 6, 4))
    assert err.value.field == "currency"
    assert err.value.message == ("there is no rate of USD on 04.06.2026 or before: load the "
                                 "central bank's rates or enter one")
    with pytest.raises(ValidationFailed) as err:
        await rates.convert(Decimal(1), "USD", "PLN", FRI)
    assert err.value.params["currency"] == "PLN"
    with pytest.raises(ValidationFailed):
        await rates.convert(Decimal(1), "US", "RUB", FRI)


async def test_a15_nbu_file_and_two_bases(database_url):
    """A-15: the NBU's file (base UAH); a conversion finds the base that has both."""
    admin = await _admin()
    report = await rates.do_load_rates(admin, NBU)
    assert (report.source, report.base, report.created) == ("nbu", "UAH", 3)
    assert await rates.convert(Decimal(100), "USD", "UAH", FRI) == Decimal("4143.12")
    assert await rates.convert(Decimal(100), "PLN", "USD", FRI) == Decimal("26.52")
    await rates.do_load_rates(admin, CBR)
    # USD→EUR: through RUB first (both there)
    assert await rates.convert(Decimal(100), "USD", "EUR", FRI) == Decimal("88.16")


async def test_a15_manual_rates_by_admins(database_url):
    admin = await _admin()
    manager = await User.create(full_name="Max", telegram_id=2, role=Role.MANAGER)
    row = await rates.do_set_rate(admin, "usd", "81,25", MON)
    assert (row.currency, row.base, row.rate, row.source) == ("USD", "RUB",
                                                              Decimal("81.25"), "manual")
    again = await rates.do_set_rate(admin, "USD", Decimal("81.5"), MON)
    assert again.id == row.id and await CurrencyRate.all().count() == 1
    assert await rates.convert(Decimal(2), "USD", "RUB", MON) == Decimal("163.00")
    for value, message in (("abc", "«abc» is not a number"),
                           ("0", "a rate is more than 0 and less than 1 000 000 000"),
                           ("1.1234567", "at most 6 decimal places")):
        with pytest.raises(ValidationFailed) as err:
            await rates.do_set_rate(admin, "USD", value, MON)
        assert err.value.message == message
    with pytest.raises(ValidationFailed) as err:
        await rates.do_set_rate(admin, "RUB", "1", MON)
    assert err.value.field == "currency"
    with pytest.raises(ValidationFailed):
        await rates.do_set_rate(admin, "dollar", "1", MON)
    with pytest.raises(PermissionDenied):
        await rates.do_set_rate(manager, "USD", "1", MON)
    with pytest.raises(PermissionDenied):
        await rates.do_load_rates(manager, CBR)
    with pytest.raises(PermissionDenied):
        await rates.do_delete_rate(manager, row.id)
    assert [r.id for r in await rates.list_rates(manager, currency="USD")] == [row.id]
    await rates.do_delete_rate(admin, row.id)
    with pytest.raises(NotFound):
        await rates.do_delete_rate(admin, row.id)


@pytest.mark.parametrize(("data", "message"), [
    (b"<ValCurs Date='05.06.2026'><Valute><CharCode>USD</CharCode>",
     "the file is not well-formed XML (line 1, column 59)"),
    (b"<rates/>", "this is neither the Bank of Russia's daily rates (ValCurs) nor the "
                  "National Bank of Ukraine's (exchange): its root element is «rates»"),
    (b"<ValCurs Date='2026-06-05'/>", "ValCurs Date: «2026-06-05» is not a date "
                                      "(dd.mm.yyyy)"),
    (b"<ValCurs Date='05.06.2026'><Valute><CharCode>USD</CharCode><Nominal>1</Nominal>"
     b"<Value>n/a</Value></Valute></ValCurs>", "USD: «Value» or «Nominal» is not a number"),
    (b"<ValCurs Date='05.06.2026'></ValCurs>", "the file has no rates"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><exchange>&a;</exchange>',
     "the file declares a document type or entities, which are not accepted"),
])
def test_a15_a_bad_rates_file_is_refused(data, message):
    with pytest.raises(ValidationFailed) as err:
        rates.parse_rates(data)
    assert err.value.field == "file" and err.value.message == message
