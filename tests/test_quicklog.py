"""Quick log (M-3): one free-text message in Russian, Ukrainian or English becomes a
proposal — the client and contact person, what was done, the follow-up and its date."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from models import Client, ContactPerson, Language, Role, User
from services import clients as svc
from services import contacts as contacts_svc
from services import quicklog, quicklog_dates
from services.quicklog import contact_in, looks_like_log, parse_when, propose

MOSCOW = "Europe/Moscow"
KYIV = "Europe/Kyiv"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo(MOSCOW))  # a Wednesday


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Crm:
    admin: User
    romashka: Client
    petrov: ContactPerson
    petrenko: ContactPerson


@pytest.fixture
async def crm(database_url) -> Crm:
    admin = await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN)
    romashka = (await svc.do_create_client(admin, {"name": "Ромашка"})).client
    petrov = await contacts_svc.do_add_contact(admin, romashka.id,
                                      {"first_name": "Иван", "last_name": "Петров"})
    petrenko = await contacts_svc.do_add_contact(admin, romashka.id,
                                        {"first_name": "Олег", "last_name": "Петренко"})
    other = (await svc.do_create_client(admin, {"name": "Лютик"})).client
    await contacts_svc.do_add_contact(admin, other.id,
                                      {"first_name": "Анна", "last_name": "Сидорова"})
    return Crm(admin, romashka, petrov, petrenko)


@pytest.mark.parametrize(("language", "text", "contact"), [
    ("ru", "звонил Петрову из Ромашки, договорились о встрече в пятницу в 15:00", "petrov"),
    ("uk", "дзвонив Петренку з Ромашки, домовились про зустріч у п'ятницю о 15:00",
     "petrenko"),
    ("en", "called Petrov at Romashka, agreed to meet on Friday at 3pm", "petrov"),
])
async def test_the_example_messages(crm, language, text, contact):
    """M-3: the call is logged, the meeting on Friday 15:00 Moscow is proposed."""
    p = await propose(crm.admin, text, language=language, timezone=MOSCOW, now=NOW)
    assert p.text == text and p.result == text
    assert [c.id for c in p.clients] == [crm.romashka.id]
    assert p.client.id == crm.romashka.id
    assert p.contact.id == getattr(crm, contact).id
    assert p.type_code == "call"
    assert p.follow_up.type_code == "meeting"
    assert p.follow_up.title == {"ru": "Встреча", "uk": "Зустріч", "en": "Meeting"}[language]
    assert p.follow_up.starts_at == utc(2026, 11, 27, 12, 0)  # 15:00 in Moscow
    assert "15" in p.follow_up.date_text or "3pm" in p.follow_up.date_text
    assert p.problems == []


async def test_two_clients_match(crm):
    """M-3: "Ромашку" fits "Ромашка" and "Ромашка-Юг": both are offered."""
    south = (await svc.do_create_client(crm.admin, {"name": "Ромашка-Юг"})).client
    p = await propose(crm.admin, "звонил в Ромашку, договорились перезвонить завтра",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert {c.id for c in p.clients} == {crm.romashka.id, south.id}
    assert p.client is None and p.contact is None
    assert p.problems == ["several_clients"]
    assert p.follow_up.type_code == "call"
    assert p.follow_up.starts_at == utc(2026, 11, 26, 7, 0)  # tomorrow 10:00 Moscow

    p = await propose(crm.admin, "был у Ромашки-Юг, продали 5 станков",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.client.id == south.id and p.type_code == "visit"
    assert p.follow_up is None and p.problems == []


async def test_follow_up_without_a_date(crm):
    """M-3: a next step asked for without a date: proposed with no date."""
    p = await propose(crm.admin, "Петров из Ромашки просил перезвонить",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.client.id == crm.romashka.id and p.contact.id == crm.petrov.id
    assert p.follow_up.type_code == "call"
    assert p.follow_up.starts_at is None and p.follow_up.date_text is None
    assert p.problems == ["no_date"]


async def test_nothing_to_follow_and_no_client(crm):
    """M-3: no next step → no follow-up; no client found → said so."""
    p = await propose(crm.admin, "отправил письмо в Ромашку", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.type_code == "email" and p.client.id == crm.romashka.id
    assert p.follow_up is None and p.problems == []

    p = await propose(crm.admin, "  встретились с Зингером, обсудили цены  ", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.type_code == "meeting" and p.result == "встретились с Зингером, обсудили цены"
    assert p.clients == [] and p.client is None
    assert p.problems == ["no_client"]


async def test_explicit_past_date(crm):
    """M-3: a date already gone is kept, and flagged."""
    p = await propose(crm.admin, "Ромашка: договорились о встрече 01.02.2020",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.starts_at == utc(2020, 2, 1, 7, 0)  # 10:00 Moscow, day first
    assert p.follow_up.date_text == "01.02.2020"
    assert p.problems == ["past_date"]


async def test_kyiv_time(crm):
    """M-3: the time is the person's local time (Kyiv is UTC+2 in November); the
    typographic apostrophe of "п’ятницю" is read too."""
    p = await propose(crm.admin, "дзвонив Петренку з Ромашки, домовились про зустріч "
                      "у п’ятницю о 15:00", language="uk", timezone=KYIV, now=NOW)
    assert p.contact.id == crm.petrenko.id
    assert p.follow_up.starts_at == utc(2026, 11, 27, 13, 0)
    assert p.follow_up.date_text == "у п’ятницю о 15:00"
    assert p.problems == []


async def test_phone_number_is_not_a_date(crm):
    """M-3: the digits of a phone number are not read as a date or a time."""
    p = await propose(crm.admin, "звонил в Ромашку, новый телефон Петрова 8 (916) 123-45-67",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.client.id == crm.romashka.id and p.type_code == "call"
    assert p.follow_up is None and p.problems == []

    p = await propose(crm.admin, "Petrov of Romashka: call back on +44 20 7946 0958",
                      language="en", timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "call" and p.follow_up.starts_at is None
    assert p.problems == ["no_date"]


@pytest.mark.parametrize(("language", "text", "expected", "type_code"), [
    ("ru", "Ромашка, перезвонить Петрову через 2 дня", utc(2026, 11, 27, 7, 0), "call"),
    ("en", "Romashka: call Petrov back in 2 days", utc(2026, 11, 27, 7, 0), "call"),
    ("ru", "Ромашка, встреча с Петровым завтра в 15 часов", utc(2026, 11, 26, 12, 0),
     "meeting"),
    ("uk", "Ромашка, передзвонити Петренку через тиждень", utc(2026, 12, 2, 7, 0), "call"),
    ("ru", "Ромашка, на следующей неделе презентация", utc(2026, 11, 30, 7, 0),
     "presentation"),
    ("ru", "Ромашка, договорились в среду в 10:00 встретиться", utc(2026, 12, 2, 7, 0),
     "meeting"),
    ("ru", "Ромашка, договорились прислать КП до 27.11", utc(2026, 11, 27, 7, 0), "email"),
    ("ru", "Ромашка, перезвонить в 16:30", utc(2026, 11, 25, 13, 30), "call"),
])
async def test_dates(crm, language, text, expected, type_code):
    """M-3: relative days, weeks, weekdays, numeric dates and times of day."""
    p = await propose(crm.admin, text, language=language, timezone=MOSCOW, now=NOW)
    assert p.client.id == crm.romashka.id
    assert p.follow_up.starts_at == expected
    assert p.follow_up.type_code == type_code
    assert p.problems == []


async def test_task_title(crm):
    """M-3: the follow-up keeps what was asked: sending an offer is an email titled
    "Прислать КП", not "Письмо"; words that name no activity make a task."""
    p = await propose(crm.admin, "Звонил в Ромашку. Договорились прислать КП завтра",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "email"
    assert p.follow_up.title == "Прислать КП"
    p = await propose(crm.admin, "Звонил в Ромашку. Договорились проверить оплату завтра",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "task"
    assert p.follow_up.title == "Проверить оплату"
    assert p.follow_up.date_text == "завтра"


# --- dates and times typed alone (parse_when: no database) ---------------------------
def local(text: str, zone: str = MOSCOW) -> datetime:
    """'2026-11-27 15:00' in ``zone`` as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# "now" is NOW: Wednesday 2026-11-25 12:00 in Moscow
@pytest.mark.parametrize(("language", "text", "expected"), [
    # times of day: am/pm, утра/вечера, ранку/вечора, a bare hour after a preposition
    ("en", "tomorrow at 11am", "2026-11-26 11:00"),
    ("en", "tomorrow at 3 pm", "2026-11-26 15:00"),
    ("en", "tomorrow 12am", "2026-11-26 00:00"),  # midnight
    ("en", "tomorrow 12pm", "2026-11-26 12:00"),  # noon
    ("en", "tomorrow 11pm", "2026-11-26 23:00"),
    ("en", "tomorrow 9:30 p.m.", "2026-11-26 21:30"),
    ("en", "tomorrow at 9 a.m.", "2026-11-26 09:00"),
    ("en", "tomorrow at 12 a.m.", "2026-11-26 00:00"),
    ("ru", "завтра в 7 утра", "2026-11-26 07:00"),
    ("ru", "завтра в 8 вечера", "2026-11-26 20:00"),
    ("ru", "завтра в 9:30 вечера", "2026-11-26 21:30"),
    ("ru", "завтра в 3 часа дня", "2026-11-26 15:00"),
    ("ru", "завтра в 12 дня", "2026-11-26 12:00"),
    ("ru", "завтра в 12 ночи", "2026-11-26 00:00"),
    ("ru", "завтра 5 часов вечера", "2026-11-26 17:00"),
    ("uk", "завтра о 9 ранку", "2026-11-26 09:00"),
    ("uk", "завтра о 7 вечора", "2026-11-26 19:00"),
    ("uk", "завтра о 15 годині", "2026-11-26 15:00"),
    ("ru", "завтра в 11", "2026-11-26 11:00"),
    ("ru", "завтра к 11", "2026-11-26 11:00"),
    ("ru", "завтра в 9.30", "2026-11-26 09:30"),
    ("ru", "завтра в 23:59", "2026-11-26 23:59"),
    ("ru", "завтра в 24:00", "2026-11-26 10:00"),  # no such time: the date alone
    ("ru", "завтра в 9:60", "2026-11-26 10:00"),
    ("ru", "в 3 филиала, потом завтра в 11", "2026-11-26 11:00"),  # "в 3 филиала": no time
    # a time alone: today, or tomorrow when it has passed
    ("ru", "в 16:30", "2026-11-25 16:30"),
    ("ru", "в 11", "2026-11-26 11:00"),
    ("ru", "в 9:00", "2026-11-26 09:00"),
    ("ru", "в 12:00", "2026-11-25 12:00"),  # now is not yet past
    ("ru", "15 часов", "2026-11-25 15:00"),
    ("en", "3pm", "2026-11-25 15:00"),
    # "через 2 часа": the time of day is part of it
    ("ru", "через 2 часа", "2026-11-25 14:00"),
    ("ru", "через час", "2026-11-25 13:00"),
    ("ru", "через 30 минут", "2026-11-25 12:30"),
    ("uk", "через 2 години", "2026-11-25 14:00"),
    ("uk", "через годину", "2026-11-25 13:00"),
    ("uk", "через 15 хвилин", "2026-11-25 12:15"),
    ("en", "in 2 hours", "2026-11-25 14:00"),
    ("en", "in an hour", "2026-11-25 13:00"),
    # relative days, a date without a time at 10:00; today after 10:00: the next hour
    ("ru", "завтра", "2026-11-26 10:00"),
    ("ru", "послезавтра", "2026-11-27 10:00"),
    ("uk", "післязавтра", "2026-11-27 10:00"),
    ("en", "in 3 days", "2026-11-28 10:00"),
    ("uk", "через тиждень", "2026-12-02 10:00"),
    ("uk", "через місяць", "2026-12-25 10:00"),
    ("ru", "сегодня", "2026-11-25 13:00"),
    ("ru", "сегодня в 11:30", "2026-11-25 11:30"),  # said so: kept, though past
    # weekdays: this week's, or next week's once passed
    ("ru", "в пятницу", "2026-11-27 10:00"),
    ("ru", "в понедельник в 9:00", "2026-11-30 09:00"),
    ("uk", "у понеділок о 9:00", "2026-11-30 09:00"),
    ("ru", "в воскресенье", "2026-11-29 10:00"),
    ("uk", "у неділю", "2026-11-29 10:00"),
    ("en", "on Sunday", "2026-11-29 10:00"),
    ("ru", "в среду", "2026-12-02 10:00"),  # today, 10:00 is gone: next Wednesday
    ("ru", "в среду в 11:00", "2026-12-02 11:00"),
    ("ru", "в среду в 15:00", "2026-11-25 15:00"),  # today, still to come
    ("ru", "в среду в 12:00", "2026-11-25 12:00"),  # today, now: not yet gone
    ("ru", "в следующую пятницу", "2026-12-04 10:00"),
    ("uk", "у наступну п'ятницю", "2026-12-04 10:00"),
    ("en", "next Friday", "2026-12-04 10:00"),
    ("ru", "на следующей неделе", "2026-11-30 10:00"),
    ("ru", "на следующей неделе в 15:00", "2026-11-30 15:00"),
    ("uk", "наступного тижня", "2026-11-30 10:00"),
    ("en", "next week", "2026-11-30 10:00"),
    # numeric dates: this year's unless gone, day first; ISO; a month by name
    ("ru", "28.11", "2026-11-28 10:00"),
    ("ru", "28/11", "2026-11-28 10:00"),
    ("ru", "25.11", "2026-11-25 13:00"),  # today
    ("ru", "20.11", "2027-11-20 10:00"),  # gone this year: next year's
    ("ru", "28.11.2027", "2027-11-28 10:00"),
    ("ru", "01.02.20", "2020-02-01 10:00"),  # a past date said in full stays past
    ("ru", "28.11.26", "2026-11-28 10:00"),
    ("ru", "встреча 2026-12-01", "2026-12-01 10:00"),
    ("ru", "28.11 в 16:45", "2026-11-28 16:45"),
    ("ru", "в 16.45 28.11", "2026-11-28 16:45"),  # "16.45" is no date: the next one is
    ("ru", "31.11 нет такого, значит 01.12", "2026-12-01 10:00"),
    ("ru", "15 мая", "2027-05-15 10:00"),
    ("uk", "15 травня", "2027-05-15 10:00"),
    ("en", "on 15 May", "2027-05-15 10:00"),
    ("en", "they may order more, call back tomorrow", "2026-11-26 10:00"),  # "may": no date
    # the message's words in another of the three languages are read too
    ("ru", "tomorrow at 11am", "2026-11-26 11:00"),
    ("en", "завтра в 15:00", "2026-11-26 15:00"),
    ("uk", "next Friday", "2026-12-04 10:00"),
])
def test_parse_when(language, text, expected):
    assert parse_when(text, language=language, timezone=MOSCOW, now=NOW) == local(expected)


@pytest.mark.parametrize("text", [
    "", "позвонить", "в 3 офиса", "вчера", "call back soon",
    "позвонить в 8 (916) 123-45-67",  # a phone number: no 8 o'clock
    "звонить по номеру +7 916 123 45 67",
    "в мае",  # a month without a day is no date
])
def test_parse_when_finds_nothing(text):
    assert parse_when(text, language="ru", timezone=MOSCOW, now=NOW) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("в 12.12", "2026-12-12 10:00"),  # a date, not 12:12
    ("в 12.12 в 15.30", "2026-12-12 15:30"),  # a date, then a time
])
def test_a_date_after_a_preposition_is_not_a_time(text, expected):
    assert parse_when(text, language="ru", timezone=MOSCOW, now=NOW) == local(expected)


def test_dateparser_failing_is_no_date(monkeypatch):
    """dateparser raises on odd input now and then: what the module reads itself stays."""
    def fail(*args, **kwargs):
        raise ValueError("odd input")

    monkeypatch.setattr(quicklog_dates, "search_dates", fail)
    assert parse_when("в пятницу в 15:00", language="ru", timezone=MOSCOW, now=NOW) == local(
        "2026-11-27 15:00")
    assert parse_when("завтра", language="ru", timezone=MOSCOW, now=NOW) == local(
        "2026-11-26 10:00")  # read here too
    assert parse_when("через 2 дня", language="ru", timezone=MOSCOW, now=NOW) is None


def test_today_at_ten_sharp_is_still_ten():
    """"сегодня" without a time is 10:00, and the next full hour once 10:00 has gone."""
    ten = NOW.replace(hour=10)
    assert parse_when("сегодня", language="ru", timezone=MOSCOW, now=ten) == local(
        "2026-11-25 10:00")
    assert parse_when("сегодня", language="ru", timezone=MOSCOW,
                      now=ten.replace(minute=1)) == local("2026-11-25 11:00")


def test_parse_when_in_the_persons_time_zone():
    """The same words are a different instant in Kyiv, New York and Tokyo."""
    assert parse_when("завтра в 15:00", language="ru", timezone=KYIV, now=NOW) == utc(
        2026, 11, 26, 13, 0)
    assert parse_when("tomorrow at 9am", language="en", timezone="America/New_York",
                      now=NOW) == utc(2026, 11, 26, 14, 0)
    # in Tokyo it is already 18:00: 16:30 has passed, so tomorrow
    assert parse_when("в 16:30", language="ru", timezone="Asia/Tokyo", now=NOW) == utc(
        2026, 11, 26, 7, 30)
    # in New York it is 04:00, still Wednesday: "on Wednesday" without a time, said on
    # a Wednesday, is next week's (today would be "today"); with a time to come, today's
    assert parse_when("on Wednesday", language="en", timezone="America/New_York",
                      now=NOW) == utc(2026, 12, 2, 15, 0)
    assert parse_when("on Wednesday at 11am", language="en", timezone="America/New_York",
                      now=NOW) == utc(2026, 11, 25, 16, 0)
    assert parse_when("on Tuesday", language="en", timezone="America/New_York",
                      now=NOW) == utc(2026, 12, 1, 15, 0)


def test_parse_when_falls_back_to_russian_for_an_unknown_language():
    """A person's language the reader does not know is read as Russian (and the other
    two); a Language value is its code."""
    for language in ("de", "xx", "", Language.UK):
        assert parse_when("послезавтра в 10", language=language, timezone=MOSCOW,
                          now=NOW) == local("2026-11-27 10:00"), language


def test_parse_when_now_defaults_to_the_clock(monkeypatch):
    monkeypatch.setattr(quicklog, "utcnow", lambda: NOW.astimezone(UTC))
    assert parse_when("через 2 часа", language="ru", timezone=MOSCOW) == local(
        "2026-11-25 14:00")
    assert parse_when("в 11", language="ru", timezone=MOSCOW) == local("2026-11-26 11:00")


@pytest.fixture
def server_zone(monkeypatch):
    """Run with the process in another time zone than UTC (the server's must not
    matter); put back afterwards."""
    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_parse_when_ignores_the_servers_time_zone(server_zone, zone):
    server_zone(zone)
    assert parse_when("через 2 часа", language="ru", timezone=MOSCOW, now=NOW) == local(
        "2026-11-25 14:00")
    assert parse_when("in 3 days", language="en", timezone=MOSCOW, now=NOW) == local(
        "2026-11-28 10:00")
    assert parse_when("завтра в 15:00", language="ru", timezone=MOSCOW, now=NOW) == local(
        "2026-11-26 15:00")


# --- is it a log at all? ----------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("звонил в Ромашку", True),
    ("ЗВОНИЛ В РОМАШКУ", True),
    ("дзвонив до Соняшника вчора", True),
    ("met John at Northwind", True),
    ("нужно отправить счёт", True),  # an agreement word, no activity
    ("домовились про знижку", True),
    ("need to send the invoice", True),
    ("звонил Петрову", False),  # two words are not a log
    ("called", False),
    ("привет, как дела?", False),  # three words, nothing done or agreed
    ("what is the price", False),
    ("", False),
    (None, False),
])
def test_looks_like_log(text, expected):
    assert looks_like_log(text) is expected


# --- the follow-up's time and the words read as it ------------------------------------
@pytest.mark.parametrize(("language", "text", "expected", "date_text"), [
    ("en", "Romashka: call Petrov back tomorrow at 11am", "2026-11-26 11:00",
     "tomorrow at 11am"),
    ("en", "Romashka: call back tomorrow 9:30 p.m.", "2026-11-26 21:30", "tomorrow 9:30 p.m."),
    ("ru", "Ромашка, перезвонить Петрову завтра в 7 вечера", "2026-11-26 19:00",
     "завтра в 7 вечера"),
    ("ru", "Ромашка, перезвонить завтра в 8 утра", "2026-11-26 08:00", "завтра в 8 утра"),
    ("uk", "Ромашка, передзвонити Петренку завтра о 9 ранку", "2026-11-26 09:00",
     "завтра о 9 ранку"),
    ("ru", "Ромашка, перезвонить через 2 часа", "2026-11-25 14:00", "через 2 часа"),
    ("uk", "Ромашка, передзвонити через годину", "2026-11-25 13:00", "через годину"),
    ("en", "Romashka: call back in 2 hours", "2026-11-25 14:00", "in 2 hours"),
    ("ru", "Ромашка, перезвонить в 11", "2026-11-26 11:00", "в 11"),  # 11:00 has passed
    ("uk", "Ромашка, передзвонити о 17", "2026-11-25 17:00", "о 17"),
    ("ru", "Ромашка, перезвонить в пятницу где-то в 15:00", "2026-11-27 15:00",
     "в пятницу в 15:00"),  # words between the date and the time left out
    ("en", "Romashka: call back on Friday, say, at 3pm", "2026-11-27 15:00",
     "on Friday, say, at 3pm"),  # a short word between: kept
    ("uk", "Ромашка, передзвонити у п'ятницю, десь о 15:00", "2026-11-27 15:00",
     "у п'ятницю о 15:00"),
    ("uk", "Ромашка, передзвонити через місяць", "2026-12-25 10:00", "через місяць"),
    ("uk", "Ромашка, передзвонити через місяць, після свят", "2026-12-25 10:00",
     "через місяць"),
    ("ru", "Ромашка, перезвонить в 15:00 завтра", "2026-11-26 15:00", "в 15:00 завтра"),
    ("ru", "Ромашка, перезвонить в 12:00", "2026-11-25 12:00", "в 12:00"),  # now: not past
])
async def test_follow_up_time_and_its_words(crm, language, text, expected, date_text):
    p = await propose(crm.admin, text, language=language, timezone=MOSCOW, now=NOW)
    assert p.client.id == crm.romashka.id
    assert p.follow_up.type_code == "call"
    assert p.follow_up.starts_at == local(expected)
    assert p.follow_up.date_text == date_text
    assert p.problems == []


async def test_phone_masking_keeps_positions(crm):
    """A phone number before the date is blanked out, not cut out: the date's words
    are still found where they are in the message."""
    text = "Ромашка, новый номер Петрова +7 (916) 123-45-67, перезвонить завтра в 15:00"
    p = await propose(crm.admin, text, language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.starts_at == local("2026-11-26 15:00")
    assert p.follow_up.date_text == "завтра в 15:00"
    assert p.contact.id == crm.petrov.id

    # a seven-digit local number is a phone too: no 2 o'clock in "в 2-12-85-06"
    p = await propose(crm.admin, "Ромашка: договорились, что позвоню в 2-12-85-06",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.starts_at is None and p.problems == ["no_date"]

    # an ISO date has the digits of a phone number, and is a date
    p = await propose(crm.admin, "Ромашка: договорились о встрече 2026-12-01 в 11:00",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.starts_at == local("2026-12-01 11:00")
    assert p.follow_up.date_text == "2026-12-01 в 11:00"


async def test_task_title_leaves_out_the_date_and_the_little_words(crm):
    p = await propose(crm.admin, "Звонил в Ромашку, договорились, что пришлю КП завтра "
                      "в 15:00 обязательно", language="ru", timezone=MOSCOW, now=NOW)
    assert p.type_code == "call"
    assert p.follow_up.type_code == "task"
    assert p.follow_up.title == "Пришлю КП обязательно"
    assert p.follow_up.starts_at == local("2026-11-26 15:00")

    p = await propose(crm.admin, "Дзвонив у Ромашку, домовились що надішлю рахунок",
                      language="uk", timezone=MOSCOW, now=NOW)
    assert p.follow_up.title == "Надішлю рахунок"
    assert p.problems == ["no_date"]

    # only the little words in front go: "что" inside the task stays
    p = await propose(crm.admin, "Ромашка: договорились проверить, что отгрузили",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.title == "Проверить что отгрузили"

    # a long task is named by its first 80 characters
    words = "подготовить подробное коммерческое предложение по всем позициям прайса " \
            "со скидками для оптовых покупателей"
    p = await propose(crm.admin, f"Ромашка: договорились {words}", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.follow_up.title == words[:80].capitalize().strip()
    assert len(words) > 80 and len(p.follow_up.title) == 80

    # nothing left to name the task with: the word for a task
    for language, title in (("ru", "Задача"), ("uk", "Завдання"), ("en", "Task")):
        p = await propose(crm.admin, "Ромашка: договорились на завтра", language=language,
                          timezone=MOSCOW, now=NOW)
        assert p.follow_up.type_code == "task" and p.follow_up.title == title


async def test_what_was_done_and_what_is_next(crm):
    """The activity word before the agreement is what was done; the one after it,
    nearest the date, is the next step."""
    p = await propose(crm.admin, "Ромашка: была встреча, договорились созвониться "
                      "завтра и прислать письмо в пятницу", language="ru", timezone=MOSCOW,
                      now=NOW)
    assert p.type_code == "meeting"
    assert p.follow_up.type_code == "call"  # "созвониться завтра": the first date
    assert p.follow_up.starts_at == local("2026-11-26 10:00")
    p = await propose(crm.admin, "Ромашка: была встреча, договорились отправить письмо, "
                      "а созвониться завтра", language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "call"  # nearer "завтра" than the letter is

    # no activity word at all: a task, done and next
    p = await propose(crm.admin, "Ромашка: нужно уточнить цены до 27.11", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.type_code == "task" and p.follow_up.type_code == "task"
    assert p.follow_up.starts_at == local("2026-11-27 10:00")

    # a plan with no agreement word: its activity is the next step
    p = await propose(crm.admin, "Ромашка, в пятницу встреча", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "meeting"
    assert p.follow_up.starts_at == local("2026-11-27 10:00")
    assert p.follow_up.title == "Встреча"

    # the date first, no agreement word: the plan is all there is
    p = await propose(crm.admin, "Завтра созвон с Ромашкой", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "call" and p.follow_up.date_text == "Завтра"
    assert p.follow_up.starts_at == local("2026-11-26 10:00")
    p = await propose(crm.admin, "Послезавтра в 9:30 созвон с Ромашкой", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert p.follow_up.date_text == "Послезавтра в 9:30"
    assert p.follow_up.starts_at == local("2026-11-27 09:30")

    # done and next told apart without an agreement word: the one nearest the date
    p = await propose(crm.admin, "Called Romashka, meeting on Friday", language="en",
                      timezone=MOSCOW, now=NOW)
    assert p.type_code == "call" and p.follow_up.type_code == "meeting"
    assert p.follow_up.title == "Meeting"


async def test_language_and_clock_defaults(crm, monkeypatch):
    """An unknown language reads as Russian; "now" is the clock's, and a naive "now"
    is UTC."""
    p = await propose(crm.admin, "Ромашка, договорились о встрече в пятницу",
                      language="de", timezone=MOSCOW, now=NOW)
    assert p.follow_up.title == "Встреча"
    assert p.follow_up.starts_at == local("2026-11-27 10:00")

    monkeypatch.setattr(quicklog, "utcnow", lambda: NOW.astimezone(UTC))
    p = await propose(crm.admin, "Ромашка, перезвонить через 2 часа", language="ru",
                      timezone=MOSCOW)
    assert p.follow_up.starts_at == local("2026-11-25 14:00")

    naive = datetime(2026, 11, 25, 9, 0)  # 12:00 in Moscow
    p = await propose(crm.admin, "Ромашка, перезвонить через 2 часа", language="ru",
                      timezone=MOSCOW, now=naive)
    assert p.follow_up.starts_at == local("2026-11-25 14:00")
    p = await propose(crm.admin, "Ромашка, перезвонить в 11", language="ru",
                      timezone=MOSCOW, now=naive)
    assert p.follow_up.starts_at == local("2026-11-26 11:00")
    assert p.problems == []


# --- choosing a client and a contact person ---------------------------------------------
async def test_a_capitalised_name_wins_over_a_common_word(crm):
    """"ромашки" in lower case is a flower; "Лютик" written as a name is the client."""
    p = await propose(crm.admin, "Звонил в Лютик, им нужны ромашки", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert [c.name for c in p.clients] == ["Лютик"]
    assert p.client.name == "Лютик" and p.problems == []


async def test_a_client_named_by_more_words_wins(crm):
    """"Петрову" finds both the client "Петров и партнёры" and Ромашка (its contact);
    "Ромашки" finds Ромашка again."""
    await svc.do_create_client(crm.admin, {"name": "Петров и партнёры"})
    p = await propose(crm.admin, "Звонил Петрову из Ромашки", language="ru",
                      timezone=MOSCOW, now=NOW)
    assert [c.id for c in p.clients] == [crm.romashka.id]
    assert p.contact.id == crm.petrov.id

    p = await propose(crm.admin, "Звонил Петрову", language="ru", timezone=MOSCOW, now=NOW)
    assert len(p.clients) == 2 and p.problems == ["several_clients"]


async def test_short_words_and_little_words_find_no_client(crm):
    """"Ок" is too short to be a name, "для" is a little word, "Звонил" the word of
    what was done: none of them finds a client, capitalised or not."""
    await svc.do_create_client(crm.admin, {"name": "Океан"})
    await svc.do_create_client(crm.admin, {"name": "Для Дома"})
    await svc.do_create_client(crm.admin, {"name": "Звонилка"})
    for text in ("Ок, звонил для Ромашки", "Для Ромашки: звонил, всё Ок",
                 "Звонил Ромашке"):
        p = await propose(crm.admin, text, language="ru", timezone=MOSCOW, now=NOW)
        assert [c.id for c in p.clients] == [crm.romashka.id], text


async def test_at_most_ten_clients_are_offered(crm):
    for i in range(11):
        await svc.do_create_client(crm.admin, {"name": f"Ромашка {i:02d}"})
    p = await propose(crm.admin, "звонил в Ромашку", language="ru", timezone=MOSCOW, now=NOW)
    assert len(p.clients) == 10 and p.problems == ["several_clients"]


@pytest.mark.parametrize(("name", "text"), [
    ("Альфа", "Звонил в Альфу"),  # a five-letter word, its ending cut
    ("Сбербанк", "Были у Сбера"),  # "Сбер..."
    ("МТС", "Звонил в МТС"),  # three letters are enough
    ("Бриз", "Звонил в Бриз"),  # four letters are not cut: not "Бристоль"
    ("Вега", "Встретился с Вегой"),  # two letters of the ending cut
    ("Ромашка-Юг", "Был у Ромашки-Юг"),
])
async def test_client_names_are_found_inflected(crm, name, text):
    client = (await svc.do_create_client(crm.admin, {"name": name})).client
    await svc.do_create_client(crm.admin, {"name": "Бристоль"})
    p = await propose(crm.admin, text, language="ru", timezone=MOSCOW, now=NOW)
    assert [c.id for c in p.clients] == [client.id]


async def test_choosing_between_contacts(crm):
    """The contact whose name fits a word of the message best; two equally good
    (two Ivans) are left for the person to choose; a Latin spelling fits too."""
    sidorov = await contacts_svc.do_add_contact(crm.admin, crm.romashka.id,
                                       {"first_name": "Иван", "last_name": "Сидоров"})

    async def contact(text, language="ru"):
        p = await propose(crm.admin, text, language=language, timezone=MOSCOW, now=NOW)
        assert p.client.id == crm.romashka.id
        return p.contact.id if p.contact else None

    assert await contact("Звонил Ивану из Ромашки") is None  # two Ivans
    assert await contact("Звонил Ивану Сидорову из Ромашки") == sidorov.id
    assert await contact("Звонил Ивану Петрову из Ромашки") == crm.petrov.id
    assert await contact("Звонил Олегу из Ромашки") == crm.petrenko.id  # a first name
    assert await contact("Звонил в Ромашку") is None
    assert await contact("Called Petrenko at Romashka", "en") == crm.petrenko.id
    assert await contact("Called Sidorov at Romashka", "en") == sidorov.id
    assert await contact("Зателефонував Петренку з Ромашки", "uk") == crm.petrenko.id


async def test_contact_name_stems(crm):
    """A name's stem is all but its last two letters (four at least); a name shorter
    than four letters must be the whole word."""
    kravets = await contacts_svc.do_add_contact(crm.admin, crm.romashka.id,
                                       {"first_name": "Ян", "last_name": "Кравец"})
    kovalenko = await contacts_svc.do_add_contact(crm.admin, crm.romashka.id,
                                         {"first_name": "Ли", "last_name": "Коваленко"})

    async def contact(text):
        return await contact_in(crm.romashka.id, text)

    assert await contact("звонил Кравцу") == kravets.id  # "Крав..." with another ending
    assert await contact("звонил Ян") == kravets.id
    assert await contact("звонил Янине") is None  # "Ян" is not the start of "Янина"
    assert await contact("звонил Коваленку") == kovalenko.id
    assert await contact("звонил Ковалёву") is None  # another surname
    assert await contact("звонил Лидии") is None
    assert await contact("звонил Олегу") == crm.petrenko.id
    assert await contact("звонил Олесе") is None  # "Олег" is "Олег...", not "Оле..."


async def test_a_contact_without_a_surname(crm):
    anna = await contacts_svc.do_add_contact(crm.admin, crm.romashka.id, {"first_name": "Анна"})
    assert await contact_in(crm.romashka.id, "Анна просила перезвонить") == anna.id
    assert await contact_in(crm.romashka.id, "говорил с Петровым") == crm.petrov.id


async def test_contact_in(crm):
    """The bot asks which contact of a known client a message names."""
    assert await contact_in(crm.romashka.id, "говорил с Петровым") == crm.petrov.id
    assert await contact_in(crm.romashka.id, "spoke to Petrenko, tel +380 44 123 45 67") == \
        crm.petrenko.id
    assert await contact_in(crm.romashka.id, "говорил с Сидоровой") is None  # other client's
    assert await contact_in(crm.romashka.id, "говорил с бухгалтерией") is None
    assert await contact_in(999_999, "говорил с Петровым") is None  # no such client
    # an archived contact person is no longer chosen
    await ContactPerson.filter(id=crm.petrov.id).update(archived_at=NOW)
    assert await contact_in(crm.romashka.id, "говорил с Петровым") is None


@pytest.mark.parametrize(("language", "text", "done", "code", "at", "title"), [
    # weekday shorthand; a plan only
    ("ru", "перезв. Петрову в пт", None, "call", utc(2026, 11, 27, 7, 0), None),
    # an action to do without a date: the plan, its title keeps the action
    ("ru", "отправить кп Ромашке", None, "email", None, "Отправить кп"),
    # a bare hour from 1 to 7 is the afternoon
    ("ru", "звонил в Ромашку, перезвонить в 3", "call", "call", utc(2026, 11, 25, 12, 0), None),
    # "недели" is no past verb: a plan
    ("ru", "встреча с Ромашкой через 2 недели", None, "meeting", utc(2026, 12, 9, 7, 0), None),
    # "next tue" is a date, not a next step of its own; a bare hour next to a date
    ("en", "called Romashka, f/u next tue", "call", "task", utc(2026, 12, 1, 7, 0), None),
    ("uk", "завтра о 11 зустріч з Ромашкою", None, "meeting", utc(2026, 11, 26, 8, 0), None),
])
async def test_field_shorthand(crm, language, text, done, code, at, title):
    """M-3: notes as written in the field: abbreviations, no punctuation, no date."""
    p = await propose(crm.admin, text, language=language, timezone=MOSCOW, now=NOW)
    assert p.client.id == crm.romashka.id
    assert (p.type_code if p.done else None) == done
    assert p.follow_up.type_code == code and p.follow_up.starts_at == at
    if title:
        assert p.follow_up.title.startswith(title)


async def test_an_agreement_without_a_next_step_plans_nothing(crm):
    """M-3: «домовились про знижку» says what was agreed: no follow-up without a date,
    an activity or an action after it."""
    p = await propose(crm.admin, "був у Ромашці, домовились про знижку 3%", language="uk",
                      timezone=MOSCOW, now=NOW)
    assert p.done and p.type_code == "visit" and p.follow_up is None


async def test_the_longer_match_wins_over_a_stem(crm):
    """M-3: "Peter" names Acme's contact; "Pet…" of Petrov is a weaker match."""
    acme = (await svc.do_create_client(crm.admin, {"name": "Acme Corp"})).client
    await contacts_svc.do_add_contact(crm.admin, acme.id,
                                      {"first_name": "Peter", "last_name": "Gibbons"})
    p = await propose(crm.admin, "call peter at 4", language="en", timezone=MOSCOW, now=NOW)
    assert p.client.id == acme.id
    assert p.follow_up.starts_at == utc(2026, 11, 25, 13, 0)  # 16:00 Moscow
