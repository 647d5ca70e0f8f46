"""Dates and times in a quick-log message (M-3) or typed alone, in Russian, Ukrainian or
English, read in the person's time zone.

``dateparser`` reads relative words ("завтра", "через 2 дня", "in 2 days") and dates
with a month name; weekdays, "next week", numeric dates (27.11, 01.02.2020) and times
of day are read here, because dateparser is unreliable with them (Ukrainian
apostrophes, "в 15 часов", "до 27.11", midnight for a date without a time). Patterns
run on :func:`_normalise`'s text, the same length as the message, so the positions
found point into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateparser.search import search_dates

LANGUAGES = ("ru", "uk", "en")
DEFAULT_TIME = time(10, 0)  # a follow-up date given without a time of day


# Patterns run on _normalise(text): lower case, ё → е, one kind of apostrophe, with
# the same length as the text, so positions found point into the original message.
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})\b")


# and their short forms ("в пт", "у чт", "on thu"); not "sat", "sun", "вс": words too
_WEEKDAY_NAMES = (
    r"понедельник\w*|понеділ(?:ок|ка|ку)|monday|mon|пн",
    r"вторник\w*|вівтор(?:ок|ка|ку)|tuesday|tues?|вт",
    r"сред(?:а|у|ы|е|ой)|серед(?:а|у|и|і|ою)|wednesday|wed|ср",
    r"четверг(?:а|у|ом|е)?|четвер(?:а|у|ом)?|thursday|thu(?:rs?)?|чт",
    r"п'?ятниц\w*|friday|fri|пт",
    r"суббот\w*|субот\w*|saturday|сб",
    r"воскресен\w*|неділ(?:я|ю|і|ею)|sunday|нд",
)
_NEXT = r"следующ\w*|след\.?|наступн\w*|next"
WEEKDAY = re.compile(
    r"\b(?:(?:в|во|у|on|на)\s+)?(?:(?P<next>" + _NEXT + r")\s+)?(?:(?:this|эту|этот|цю|цей)\s+)?"
    + "(?:" + "|".join(f"(?P<d{i}>{p})" for i, p in enumerate(_WEEKDAY_NAMES)) + r")\b")
NEXT_WEEK = _rx(r"(?:на\s+)?(?:(?:следующ\w*|след\.?)\s*недел[еюи]|наступн\w*\s+тиж(?:ня|ні|день)|"
                r"next\s+week)")
# days said in words read here: "послезавтра", "tmrw", "до конца недели" (its Friday)
_DAYS_AHEAD = (
    (2, r"(?:the\s+)?day\s+after\s+tomorrow|послезавтра|післязавтра"),
    (1, r"завтра|tomorrow|tmrw|tmr|2moro|tomorow|tommorow"),
    (0, r"сегодня|сьогодні|today|tonight|eod|asap|срочно|терміново|"
        r"(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?day"),
    (None, r"(?:до|к|в)\s+конц[ау]\s+недел[иь]|(?:до|в)\s+кін(?:ця|ці)\s+тижня|"
           r"наприкінці\s+тижня|(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?week|eow"),
)
DAYS_AHEAD = re.compile(r"\b(?:" + "|".join(
    f"(?P<a{i}>{p})" for i, (_, p) in enumerate(_DAYS_AHEAD)) + r")\b")
# a day of this month (the next one once it has passed): "on the 15th", "15-го"
DAY_OF_MONTH = re.compile(r"\b(?:on\s+)?(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th|-?го)\b")
NUMERIC_DATE = re.compile(
    r"(?<![\d.:/])(?P<d>\d{1,2})[./](?P<m>\d{1,2})(?:[./](?P<y>\d{4}|\d{2}))?(?![\d:/]|\.\d)"
    r"|\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b")
MONTH = _rx(r"январ[ьяею]|феврал[ьяею]|март[аеу]?|апрел[ьяею]|ма[йяею]|июн[ьяею]|"
            r"июл[ьяею]|август[аеу]?|сентябр[ьяею]|октябр[ьяею]|ноябр[ьяею]|декабр[ьяею]|"
            r"(?:січ|берез|квіт|трав|черв|лип|серп|верес|жовт|груд)(?:ень|ня|ні)|"
            r"лют(?:ий|ого|ому)|листопад[аі]?|january|february|march|april|may|june|july|"
            r"august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|"
            r"sept?|oct|nov|dec")


# What a dateparser match must contain to be believed (it finds dates in "из", "may")
RELATIVE = _rx(r"завтра|послезавтра|сегодня|сьогодні|післязавтра|через|tomorrow|today|"
               r"tonight|in\s+(?:\d+|an?|one|two|three|four|five|six|seven|ten|half)|"
               r"day\s+after")


# "через 2 часа", "in an hour": the time of day is part of the date
_EXACT_TIME = re.compile(r"\b(?:через|in)\s+(?:\S+\s+)?(?:пол)?(?:час|годин|hour|минут|хвилин|min)")


# Words about time that are never a client's name
TIME_WORDS = _rx(r"вчера|вчора|учора|позавчера|yesterday|утр(?:о|а|ом)|вечер(?:ом|а|у)?|"
                 r"ранк(?:у|ом)|вечор(?:а|ом|і)|ночи|ночі|дня|днів|дней|дні|день|днем|"
                 r"недел[июяе]|тиж(?:день|ня|ні|нів)|месяц(?:а|ев)?|місяц(?:ь|я|і|ів)|"
                 r"час(?:а|ов|у)?|годин\w*|минут\w*|хвилин\w*|weeks?|months?|days?|hours?|"
                 r"minutes?|morning|evening|afternoon|числа")


# (?!\w) after a day part, not \b: after the dot of "p.m." \b fails at a space or the end
_DAY_PART = r"утра|утром|дня|вечера|ночи|ранку|вечора|ночі|am|pm|a\.m\.|p\.m\."
TIME_COLON = re.compile(rf"(?<![\d:.])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?![\d:])"
                        rf"(?:\s*(?P<part>{_DAY_PART})(?!\w))?")
TIME_AMPM = re.compile(r"\b(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<part>am|pm|a\.m\.|p\.m\.)")


# "в 15", "о 9.30", "в 3 часа дня", "о 15 годині", "at 3": a bare hour needs a hint
TIME_PREP = re.compile(
    rf"\b(?:в|во|о|об|at|к|до|by|после|після|after)\s+(?P<h>\d{{1,2}})(?:[.:](?P<m>\d{{2}}))?(?!\d)"
    rf"(?P<word>\s*(?:час(?:а|ов)?|годин[аиуі]?|год\.?|h|o'clock)\b)?"
    rf"(?:\s*(?P<part>{_DAY_PART})(?!\w))?")
TIME_HOURS = re.compile(r"(?<!через )(?<!на )(?<!in )(?<!for )(?<!за )"
                        r"\b(?P<h>\d{1,2})\s*(?P<word>часов|часа|час|годин[аиуі]?)\b"
                        rf"(?:\s*(?P<part>{_DAY_PART})(?!\w))?")
# "после обеда": early afternoon
AFTER_LUNCH = _rx(r"после\s+обеда|після\s+обіду|after\s+lunch|в\s+обед|в\s+обід")
_ENDS_PHRASE = re.compile(r"\s*(?:$|[^\w\s']|(?:и|і|й|та|and|в|у|on|по|at|с|з)\b)")


# phone numbers: their digits must not be read as dates or times
PHONE = re.compile(r"(?<![\w.:/])\+?\(?\d[\d\s()\-]{5,}\d(?![\w.:/])")


_APOSTROPHES = str.maketrans({c: "'" for c in "’‘ʼ`´′"})


def _normalise(text: str) -> str:
    """Lower case, ё → е, one apostrophe; the same length as ``text``."""
    low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    return low.replace("ё", "е").translate(_APOSTROPHES)


def _mask_phones(norm: str) -> str:
    """Phone numbers blanked out (same length): dateparser reads dates in their digits."""
    def blank(m: re.Match[str]) -> str:
        if (sum(ch.isdigit() for ch in m.group()) < 7
                or re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.group())):  # or an ISO date
            return m.group()
        return " " * len(m.group())
    return PHONE.sub(blank, norm)


@dataclass
class _When:
    start: int
    end: int
    day: date | None = None  # a date whose time of day is yet to be found
    exact: datetime | None = None  # "через 2 часа": the time is part of it
    weekday: bool = False  # a weekday passed today moves to next week


def _weekday_dates(norm: str, today: date) -> list[_When]:
    found = []
    for m in WEEKDAY.finditer(norm):
        wd = next(i for i in range(7) if m.group(f"d{i}"))
        if m.group("next"):  # "в следующую пятницу": that day of next week
            day = today - timedelta(days=today.weekday()) + timedelta(days=7 + wd)
            found.append(_When(m.start(), m.end(), day=day))
        else:
            day = today + timedelta(days=(wd - today.weekday()) % 7)
            found.append(_When(m.start(), m.end(), day=day, weekday=True))
    for m in NEXT_WEEK.finditer(norm):  # next Monday
        day = today - timedelta(days=today.weekday()) + timedelta(days=7)
        found.append(_When(m.start(), m.end(), day=day))
    for m in DAYS_AHEAD.finditer(norm):
        ahead = next(n for i, (n, _) in enumerate(_DAYS_AHEAD) if m.group(f"a{i}"))
        days = (4 - today.weekday()) % 7 if ahead is None else ahead  # None: Friday
        found.append(_When(m.start(), m.end(), day=today + timedelta(days=days)))
    for m in DAY_OF_MONTH.finditer(norm):
        try:
            day = today.replace(day=int(m.group("d")))
        except ValueError:
            continue
        if day < today:  # "on the 3rd" on the 7th: next month's
            month = today.replace(day=1) + timedelta(days=32)
            try:
                day = month.replace(day=day.day)
            except ValueError:
                continue
        found.append(_When(m.start(), m.end(), day=day))
    return found


def _numeric_dates(norm: str, today: date) -> list[_When]:
    found = []
    for m in NUMERIC_DATE.finditer(norm):
        if m.group("iy"):
            y, mo, d = int(m.group("iy")), int(m.group("im")), int(m.group("id"))
        else:
            d, mo = int(m.group("d")), int(m.group("m"))
            y = int(m.group("y")) if m.group("y") else today.year
            y += 2000 if y < 100 else 0
        try:
            day = date(y, mo, d)
        except ValueError:
            continue  # "15.00" is a time, not a date
        if not m.group("y") and not m.group("iy") and day < today:
            day = day.replace(year=day.year + 1)  # "27.11" in December: next year's
        found.append(_When(m.start(), m.end(), day=day))
    return found


# dateparser does not know "через тиждень" or "через місяць" without a number; the
# Russian words of the same length are understood (lengths kept for the positions)
_UK_RELATIVE = re.compile(r"\bчерез\s+(тиждень|місяць|годину)\b")
_UK_RELATIVE_RU = {"тиждень": "неделю ", "місяць": "месяц ", "годину": "час   "}


def _dateparser_dates(norm: str, language: str, timezone: str,
                      local_now: datetime) -> list[_When]:
    text = _UK_RELATIVE.sub(
        lambda m: m.group()[: m.start(1) - m.start()] + _UK_RELATIVE_RU[m.group(1)], norm)
    settings = {
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": timezone,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "DATE_ORDER": "DMY",
    }
    languages = [language] + [lang for lang in LANGUAGES if lang != language]
    try:
        matches = search_dates(text, languages=languages, settings=settings) or []
    except Exception:  # dateparser fails on odd input now and then: no date, then
        return []
    found, pos = [], 0
    for phrase, when in matches:
        start = text.find(phrase, pos)
        if start < 0:
            continue
        pos = end = start + len(phrase)
        while end < len(norm) and norm[end].isalpha():  # "через місяць" was changed
            end += 1
        believable = RELATIVE.search(phrase) or (
            MONTH.search(phrase) and any(ch.isdigit() for ch in phrase))
        if not believable or re.search(r"\b(?:вчера|вчора|учора|yesterday)\b", phrase):
            continue
        local = when.astimezone(ZoneInfo(timezone))
        if _EXACT_TIME.search(phrase):
            found.append(_When(start, end, exact=local))
        else:
            found.append(_When(start, end, day=local.date()))
    return found


def _hour(m: re.Match[str]) -> tuple[int, int] | None:
    h, mi = int(m.group("h")), int(m.groupdict().get("m") or 0)
    part = (m.groupdict().get("part") or "").replace(".", "")
    if not part and not m.groupdict().get("m") and 1 <= h <= 7:
        h += 12  # "перезвонить в 3", "call at 4": working hours, the afternoon
    elif part in ("am", "утра", "утром", "ранку", "ночи", "ночі") and h == 12:
        h = 0
    elif part in ("pm", "дня", "вечера", "вечора") and h < 12:
        h += 12
    if h > 23 or mi > 59:
        return None
    return h, mi


def _next_to(norm: str, start: int, end: int, dates: list[tuple[int, int]]) -> bool:
    """Only spaces and commas between [start, end) and one of ``dates``."""
    return any(not norm[e:start].strip(" ,") if e <= start else
               not norm[end:s].strip(" ,") if s >= end else False for s, e in dates)


def _find_times(norm: str, taken: list[tuple[int, int]],
                dates: list[tuple[int, int]] = ()) -> list[tuple[int, int, int, int]]:
    """The times of day in ``norm`` (start, end, hour, minute), first first; a bare
    hour ("в 11") only at the end of a phrase or next to a date ("завтра в 11 встреча")."""
    found = []
    for rx in (TIME_COLON, TIME_AMPM, TIME_PREP, TIME_HOURS):
        for m in rx.finditer(norm):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue  # the digits of a date
            if rx is TIME_PREP and not (m.group("m") or m.group("word") or m.group("part")
                                        or _ENDS_PHRASE.match(norm, m.end())
                                        or _next_to(norm, m.start(), m.end(), dates)):
                continue  # "в 3 офиса"
            hm = _hour(m)
            if hm:
                found.append((m.start(), m.end(), *hm))
    if not found:  # "после обеда" when no hour is said
        found = [(m.start(), m.end(), 14, 0) for m in AFTER_LUNCH.finditer(norm)]
    return sorted(found)


@dataclass
class _Parsed:
    starts_at: datetime  # aware UTC
    spans: list[tuple[int, int]]  # in the message: the date, the time of day


def _parse_when(norm: str, offset: int, language: str, timezone: str,
                now: datetime) -> _Parsed | None:
    """The date and time in ``norm`` (a part of the message from ``offset`` on)."""
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    today = local_now.date()
    numeric = _numeric_dates(norm, today)
    ours = _weekday_dates(norm, today) + numeric
    clocks = _find_times(norm, [(w.start, w.end) for w in numeric],
                         [(w.start, w.end) for w in ours])
    clock = clocks[0] if clocks else None
    # dateparser reads "завтра в 15 часов" as 03:00 the day after: it gets no times
    blanked = list(norm)
    for s, e, *_ in clocks:
        blanked[s:e] = " " * (e - s)
    dates = sorted(ours + _dateparser_dates("".join(blanked), language, timezone, local_now),
                   key=lambda w: w.start)  # sorted() is stable: ours first on a tie
    when = dates[0] if dates else None
    if (when and when.weekday and len(dates) > 1 and dates[1].start >= when.end
            and not norm[when.end:dates[1].start].strip(" ,")):
        when = dates[1]  # "on tue 15.12": the date says more than its weekday
    spans = []
    if when:
        spans.append((offset + when.start, offset + when.end))
    if clock:
        spans.append((offset + clock[0], offset + clock[1]))
    if when and when.exact:
        return _Parsed(when.exact.astimezone(UTC), spans)
    if when:
        at = datetime.combine(when.day, time(*clock[2:]) if clock else DEFAULT_TIME, tz)
        if when.weekday and (at < local_now or not clock and when.day == today):
            # "в среду" said on a Wednesday afternoon, or without a time on a Wednesday
            # (today would be "сегодня"): next week's; "в среду в 15:00" said on a
            # Wednesday morning is today's
            at += timedelta(days=7)
        elif not clock and when.day == today and at < local_now:
            # "сегодня" after 10:00: the next full hour
            at = (local_now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    elif clock:  # a time alone: today, or tomorrow when it has passed
        at = datetime.combine(today, time(*clock[2:]), tz)
        if at < local_now:
            at += timedelta(days=1)
    else:
        return None
    return _Parsed(at.astimezone(UTC), spans)


def _date_text(text: str, spans: list[tuple[int, int]]) -> str | None:
    if not spans:
        return None
    spans = sorted(spans)
    between = text[spans[0][1]:spans[-1][0]] if len(spans) == 2 else ""
    if len(between.strip(" ,")) > 3:  # other words between the date and the time
        return " ".join(text[s:e].strip() for s, e in spans)
    return text[spans[0][0]:max(e for _, e in spans)].strip()
