"""Dates and times as people in RU/UA read them: 24-hour clock, day before month,
in the person's time zone and language (Babel's CLDR data)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def when_text(dt: datetime | None, tz: str, lang: str, *, now: datetime | None = None) -> str:
    """"пт, 27 нояб., 15:00"; the year only when it is not this year's."""
    if dt is None:
        return "—"
    here = local(dt, tz)
    this_year = local(now, tz).year if now else here.year
    return _when_text(dt, tz, lang, here.year != this_year)


@lru_cache(maxsize=4096)
def _when_text(dt: datetime, tz: str, lang: str, with_year: bool) -> str:
    """The text of one moment: a burst of reminders (the 9:00 digest) shares a handful
    of them, and Babel's formatting costs some 60 µs each (issue 19)."""
    pattern = "EEE, d MMM y, HH:mm" if with_year else "EEE, d MMM, HH:mm"
    return format_datetime(local(dt, tz), pattern, tzinfo=ZoneInfo(tz),
                           locale=_babel_locale(lang))


def time_text(dt: datetime, tz: str) -> str:
    return local(dt, tz).strftime("%H:%M")


def date_text(dt: datetime, tz: str) -> str:
    return local(dt, tz).strftime("%d.%m.%Y")


def _locale(lang: str) -> str:
    return {"uk": "uk_UA", "ru": "ru_RU"}.get(lang, "en_GB")


@lru_cache(maxsize=16)
def _babel_locale(lang: str) -> Locale:
    """Babel's locale, parsed once per language (``format_datetime`` given a name parses
    it again on every call: some 30 µs)."""
    return Locale.parse(_locale(lang))


CURRENCY_SIGNS = {"RUB": "₽", "UAH": "₴", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br"}


def qty_text(value) -> str:
    """A quantity or a percent as people write it: "2,5", "10", "0,125" (no trailing
    zeros, a decimal comma)."""
    return f"{value.normalize():f}".replace(".", ",")


def money_text(amount, currency: str) -> str:
    """A sum as people in RU/UA write it: "150 000,50 ₽", "2 500 ₴" (no-break spaces;
    kopecks only when there are some); any other currency by its code."""
    if amount is None:
        return "—"
    number = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")
    if number.endswith(",00"):
        number = number[:-3]
    return f"{number}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"
