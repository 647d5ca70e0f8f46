"""Quick log (M-3): one free-text message in Russian, Ukrainian or English becomes a
proposal — the client and contact person, what was done, the follow-up and its date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from models import Client, ContactPerson, Role, User
from services import clients as svc
from services.quicklog import propose

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
    petrov = await svc.do_add_contact(admin, romashka.id,
                                      {"first_name": "Иван", "last_name": "Петров"})
    petrenko = await svc.do_add_contact(admin, romashka.id,
                                        {"first_name": "Олег", "last_name": "Петренко"})
    other = (await svc.do_create_client(admin, {"name": "Лютик"})).client
    await svc.do_add_contact(admin, other.id, {"first_name": "Анна", "last_name": "Сидорова"})
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
    ("ru", "Ромашка, договорились прислать КП до 27.11", utc(2026, 11, 27, 7, 0), "task"),
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
    """M-3: a follow-up that is not a call or a meeting is a task named by its words."""
    p = await propose(crm.admin, "Звонил в Ромашку. Договорились прислать КП завтра",
                      language="ru", timezone=MOSCOW, now=NOW)
    assert p.follow_up.type_code == "task"
    assert p.follow_up.title == "Прислать КП"
    assert p.follow_up.date_text == "завтра"
