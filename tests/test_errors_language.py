"""Issue 17, "Language, time and wording": every refused value is told in the person's
language (ru, uk, en) — the service's own reasons, pydantic's and the libraries' — and
names the field as the person reads it; in the JSON API, the Mini App and the bot."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import BaseModel, FutureDate, ValidationError

from kontakt.errors import PYDANTIC, error_message, field_label, pydantic_message
from kontakt.i18n import translator
from models import Role
from services import clients as client_svc
from services.errors import Text, ValidationFailed
from tests.conftest import say
from tests.test_bot_clients import press
from tests.test_web import signed_in

# (request, the field's name, words of the message) per language
CLIENT = "/api/v1/clients"
EXAMPLES = {
    "email": ({"name": "Лютик", "email": "bad"}, {
        "ru": ("email", "«bad» — не адрес электронной почты: в нём нет @"),
        "uk": ("email", "«bad» — не адреса електронної пошти: у ній немає @"),
        "en": ("email", "«bad» is not an email address: it has no @")}),
    "phone": ({"name": "Лютик", "phone": "12"}, {
        "ru": ("телефон", "«12» — не"),
        "uk": ("телефон", "«12» — не"),
        "en": ("phone", "«12» is not a")}),
    "name": ({"name": "Л" * 301}, {
        "ru": ("название", "длиннее 300 символов"),
        "uk": ("назва", "довше за 300 символів"),
        "en": ("name", "is longer than 300 characters")}),
    "kind": ({"name": "Лютик", "kind": "zzz"}, {
        "ru": ("вид", "выберите одно из: компания, физлицо"),
        "uk": ("вид", "виберіть одне з: компанія, фізособа"),
        "en": ("kind", "choose one of: company, individual")}),
}
EMPTY_TITLE = {"ru": ("название", "не заполнено"), "uk": ("назва", "не заповнено"),
               "en": ("title", "is empty")}
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,}){2,}")


def _one(detail: list[dict]) -> dict:
    assert isinstance(detail, list) and len(detail) == 1, detail
    return detail[0]


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_the_api_refuses_in_the_persons_language_naming_the_field(
        service, emulator, make_staff, lang):
    person = await make_staff(Role.MANAGER, language=lang)
    await signed_in(service, emulator, person)
    c = service.client
    for code, (body, expected) in EXAMPLES.items():
        resp = await c.post(CLIENT, json=body)
        assert resp.status == 422, (code, await resp.text())
        item = _one((await resp.json())["detail"])
        label, words = expected[lang]
        assert item["loc"] == ["body", code], item  # loc and type stay codes
        assert item["field"] == label and words in item["msg"], (lang, item)
    resp = await c.post("/api/v1/activities", json={"title": ""})
    item = _one((await resp.json())["detail"])
    assert (item["loc"], item["type"]) == (["body", "title"], "string_too_short")
    assert (item["field"], item["msg"]) == EMPTY_TITLE[lang]
    # a path id that is not a number
    resp = await c.get("/api/v1/clients/abc")
    item = _one((await resp.json())["detail"])
    assert item["msg"] == {"ru": "должно быть числом", "uk": "має бути числом",
                           "en": "must be a number"}[lang]
    assert await client_svc.my_clients(person) == ([], 0)  # nothing was saved
    # what is not there, and what one may not do, are said in the same language
    resp = await c.get("/api/v1/clients/999999")
    assert (resp.status, (await resp.json())["detail"]) == (404, {
        "ru": "не найдено: клиент", "uk": "не знайдено: клієнт", "en": "client not found"}[lang])
    resp = await c.post("/api/v1/invites", json={"role": "admin"})  # a manager may not
    assert resp.status == 403 and (await resp.json())["detail"] == {
        "ru": "у вас нет права это делать", "uk": "у вас немає права це робити",
        "en": "you do not have the right to do that"}[lang]


async def test_no_english_reaches_a_russian_person(service, emulator, make_staff):
    """Neither pydantic's nor email_validator's nor phonenumbers' own sentences (such as
    "must have an @-sign"): every msg of every example is Russian."""
    anna = await make_staff(Role.MANAGER, language="ru")
    await signed_in(service, emulator, anna)
    bodies = [body for body, _ in EXAMPLES.values()] + [
        {"name": "Лютик", "email": "a@b"}, {"name": "Лютик", "email": "a@@b.ru"},
        {"name": "Лютик", "phone": "+7 999"}, {"name": "Лютик", "phone": "abc"},
        {"name": "Лютик", "legal": {"name": "ООО Лютик", "inn": "7707083894"}},
        {"name": "Лютик", "legal": {"name": "ООО Лютик", "kpp": "12"}},
        {"name": "Лютик", "nonsense": 1}, {"name": 5}, {"name": "Лютик", "phone": ["1"]}]
    seen = []
    for body in bodies:
        resp = await service.client.post(CLIENT, json=body)
        assert resp.status == 422, (body, await resp.text())
        for item in (await resp.json())["detail"]:
            seen.append(item["msg"])
            assert not ENGLISH_SENTENCE.search(item["msg"]), item
            assert re.search("[а-яё]", item["msg"] + item["field"], re.I), item
    assert len(seen) >= len(bodies)


async def test_before_sign_in_the_browsers_language_or_the_default(service):
    c = service.client
    resp = await c.post("/api/v1/auth/webapp", json={"init_data": 5},
                        headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"})
    item = _one((await resp.json())["detail"])
    assert item["loc"] == ["body", "init_data"] and item["type"] == "string_type"
    assert (item["field"], item["msg"]) == ("вхід через Telegram", "має бути текстом")
    resp = await c.post("/api/v1/auth/webapp", json={"init_data": 5},
                        headers={"Accept-Language": "de-DE"})
    default = service.settings.default_language
    assert _one((await resp.json())["detail"])["msg"] == translator(default)(
        "must be text")
    resp = await c.post("/api/v1/auth/webapp", data="{", headers={
        "Content-Type": "application/json", "Accept-Language": "ru"})
    assert _one((await resp.json())["detail"])["msg"] == "тело запроса — некорректный JSON"


async def test_refusals_that_are_not_about_a_field_are_in_the_persons_language(
        service, emulator, make_staff):
    """A bad sign-in, a stranger, a wrong content type, a missing thing, a request from
    another site, an unreadable or too large body: one sentence, never English, for a
    Russian person (Accept-Language before sign-in, the profile's language after)."""
    c = service.client
    ru = {"Accept-Language": "ru-RU,ru;q=0.9"}
    resp = await c.post("/api/v1/auth/webapp", json={"init_data": "user=1&hash=x"},
                        headers=ru)
    assert (resp.status, (await resp.json())["detail"]) == (
        401, "вход через Telegram недействителен или устарел; откройте приложение из бота "
             "заново")
    olga = await make_staff(Role.MANAGER, language="ru")
    await signed_in(service, emulator, olga)
    client = (await client_svc.do_create_client(olga, {"name": "Лютик"})).client
    answers = [
        await c.post(f"/api/v1/clients/{client.id}/documents", data=b"x",
                     headers={"Content-Type": "text/plain"}),
        await c.post(f"/api/v1/clients/{client.id}/documents", data=b"x",
                     headers={"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}),
        await c.post("/api/v1/staff/abc/photo", data=b"x",
                     headers={"Content-Type": "text/plain"}),
        await c.get("/api/v1/staff/999999/photo"),
        await c.get("/api/v1/activities/999999"),
        await c.post(f"/api/v1/clients/{client.id}/documents",
                     data=b"--b\r\nContent-Disposition: form-data; name=\"file\"\x00\r\n",
                     headers={"Content-Type": "multipart/form-data; boundary=b"}),
    ]
    said = [(r.status, (await r.json())["detail"]) for r in answers]
    assert said[:5] == [
        (415, 'отправьте файл как multipart/form-data, поле "file"'),
        (403, "запрос пришёл с другого сайта и отклонён; откройте приложение заново"),
        (404, "не найдено: сотрудник"),
        (404, "не найдено: фото"),
        (404, "не найдено: дело"),
    ], said
    assert said[5][0] in (400, 422) and not ENGLISH_SENTENCE.search(str(said[5][1])), said


async def test_the_document_describes_the_items_it_answers(service):
    doc = await (await service.client.get("/api/v1/openapi.json")).json()
    item = doc["components"]["schemas"]["ErrorItem"]
    assert set(item["required"]) == {"loc", "msg", "type"}
    assert "field" in item["properties"]


async def test_a_custom_field_is_named_as_the_admin_named_it(service, emulator, make_staff):
    from services import customfields

    admin = await make_staff(Role.ADMIN, language="uk")
    await customfields.do_create_field(admin, "client", "staff_count", "Кількість людей",
                                       "number")
    client = (await client_svc.do_create_client(admin, {"name": "Лютик"})).client
    await signed_in(service, emulator, admin)
    resp = await service.client.put(f"/api/v1/clients/{client.id}/custom",
                                    json={"values": {"staff_count": "багато"}})
    item = _one((await resp.json())["detail"])
    assert item["loc"] == ["body", "staff_count"]  # the code stays where it was
    assert (item["field"], item["msg"]) == ("Кількість людей", "«багато» — не число")


def test_a_pydantic_type_the_table_lacks_is_still_in_the_persons_language():
    class Visit(BaseModel):
        day: FutureDate

    with pytest.raises(ValidationError) as info:
        Visit(day=date(2000, 1, 1))
    error = info.value.errors()[0]
    assert error["type"] not in PYDANTIC
    assert pydantic_message(error, "ru") == "недопустимое значение"
    assert pydantic_message(error, "uk") == "неприпустиме значення"
    assert pydantic_message(error, "en") == "invalid value"
    # one the table has, with its ctx
    error = {"type": "greater_than_equal", "loc": ("n",), "ctx": {"ge": 5}}
    assert pydantic_message(error, "uk") == "має бути не менше за 5"


def test_a_service_message_is_translated_before_it_is_filled():
    exc = ValidationFailed("legal.inn", "«{raw}» is not a valid phone number", raw="{x}")
    assert exc.message == "«{x}» is not a valid phone number"  # English for the logs
    assert str(exc) == "legal.inn: «{x}» is not a valid phone number"
    assert error_message(exc, "ru") == "«{x}» — недействительный номер телефона"
    assert field_label(exc.field, "ru") == "ИНН" and field_label("steps.2.title", "uk") == \
        "назва"
    assert field_label("cf_colour", "ru") == "cf_colour"  # a code without a label stays
    # a reason inside a reason (a segment's condition) is translated too
    inner = Text("«{value}» is not a date", value="вчера")
    outer = ValidationFailed("conditions[0]", "{name}: {reason}", name="created_at",
                             reason=inner)
    assert error_message(outer, "uk") == "created_at: «вчера» — не дата"
    # the state of an activity is a word, not its code
    done = ValidationFailed("state", "the activity is already {state}", state="done")
    assert error_message(done, "ru") == "активность уже в состоянии «выполнено»"


def test_every_template_keeps_its_placeholders_in_each_language():
    """A translation that lost or renamed a {name} would be told in English instead."""
    from babel.messages.pofile import read_po

    from kontakt.i18n import LOCALES_DIR

    names = re.compile(r"(?<!\{)\{(\w+)[^{}]*\}(?!\})")
    for lang in ("ru", "uk"):
        with (LOCALES_DIR / lang / "LC_MESSAGES" / "kontakt.po").open("rb") as f:
            catalog = read_po(f)
        for m in catalog:
            if m.id and m.string and isinstance(m.id, str):
                assert set(names.findall(m.id)) == set(names.findall(m.string)), (
                    lang, m.id, m.string)


@pytest.mark.parametrize(("lang", "words"), [
    ("ru", {"company": "Компания", "phone": "телефон", "bad_phone": "«12345» — не",
            "email": "«not-an-email» — не адрес электронной почты",
            "inn": "ИНН", "bad_inn": "контрольная цифра", "again": "Попробуйте"}),
    ("uk", {"company": "Компанія", "phone": "телефон", "bad_phone": "«12345» — не",
            "email": "«not-an-email» — не адреса електронної пошти",
            "inn": "ІПН", "bad_inn": "контрольна цифра", "again": "Спробуйте"}),
])
async def test_the_bot_names_the_field_and_the_reason_in_the_persons_language(
        service, emulator, make_staff, lang, words):
    person = await make_staff(Role.MANAGER, language=lang)
    chat = person.telegram_id
    msg = await say(emulator, chat, "/newclient")
    before = await press(emulator, chat, msg, words["company"])
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    await say(emulator, chat, "Василёк")
    reply = await say(emulator, chat, "12345")
    assert f"⚠️ {words['phone']}: {words['bad_phone']}" in reply["text"], reply["text"]
    assert words["again"] in reply["text"]
    await say(emulator, chat, "+7 916 765-43-21")
    reply = await say(emulator, chat, "not-an-email")
    assert f"⚠️ email: {words['email']}" in reply["text"], reply["text"]
    await say(emulator, chat, "sales@vasilek.ru")
    reply = await say(emulator, chat, "7707083894")
    assert f"⚠️ {words['inn']}: " in reply["text"] and words["bad_inn"] in reply["text"], \
        reply["text"]
    assert not ENGLISH_SENTENCE.search(reply["text"]), reply["text"]


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_the_bots_task_with_an_empty_title(service, emulator, make_staff, lang):
    person = await make_staff(Role.MANAGER, language=lang)
    await say(emulator, person.telegram_id, "/task")
    reply = await say(emulator, person.telegram_id, "   ")
    label, words = EMPTY_TITLE[lang]
    assert reply["text"] == f"⚠️ {label}: {words}"


def test_the_bot_no_longer_shows_a_field_code():
    """The activities' error text said "⚠️ client_notice_hours: ..." — now the name."""
    from aiogram.utils.i18n import I18n

    from bot.routers.activity_card import error_text
    from kontakt.i18n import ensure_compiled

    i18n = I18n(path=ensure_compiled(), default_locale="ru", domain="kontakt")
    with i18n.context(), i18n.use_locale("uk"):
        text = error_text(ValidationFailed("client_notice_hours", "hours from 1 to 168"))
    assert text == "⚠️ сповіщення клієнту: годин від 1 до 168"

