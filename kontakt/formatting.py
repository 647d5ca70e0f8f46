"""Dates and times as people in RU/UA read them: 24-hour clock, day before month,
in the person's time zone and language (Babel's CLDR data)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime


def local(dt: datetime, tz: str) -> datetime:
    return dt.astimezone(ZoneInfo(tz))


def when_text(dt: datetime | None, tz: str, lang: str, *, now: datetime | None = None) -> str:
    """"пт, 27 нояб., 15:00"; the year only when it is not this year's."""
    if dt is None:
        return "—"
    here = local(dt, tz)
    this_year = local(now, tz).year if now else here.year
    pattern = "EEE, d MMM, HH:mm" if here.year == this_year else "EEE, d MMM y, HH:mm"
    return format_datetime(here, pattern, tzinfo=ZoneInfo(tz), locale=_locale(lang))


def time_text(dt: datetime, tz: str) -> str:
    return local(dt, tz).strftime("%H:%M")


def date_text(dt: datetime, tz: str) -> str:
    return local(dt, tz).strftime("%d.%m.%Y")


def _locale(lang: str) -> str:
    return {"uk": "uk_UA", "ru": "ru_RU"}.get(lang, "en_GB")


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
