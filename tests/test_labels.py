"""Seeded names in the reader's language (issue 17): the starter dictionary items and
the activity types show in ru, uk or en, unless an admin renamed them."""

from __future__ import annotations

import pytest

from models import DictionaryItem, Role
from services import client_search, dictionaries
from services import clients as client_svc
from tests.test_web import signed_in


@pytest.mark.parametrize(("language", "trade", "call"), [
    ("en", "Trade", "Call"), ("uk", "Торгівля", "Дзвінок"), ("ru", "Торговля", "Звонок")])
async def test_seeded_names_in_the_readers_language(service, emulator, make_staff, language,
                                                    trade, call):
    person = await make_staff(Role.ADMIN, language=language)
    client = (await client_svc.do_create_client(person, {"name": "Fresh Market"})).client
    await dictionaries.ensure_system_dictionaries()
    await signed_in(service, emulator, person)
    page = await (await service.client.get(f"/app/clients/{client.id}")).text()
    assert f">{trade}</option>" in page
    types = (await (await service.client.get("/api/v1/activity-types")).json())["types"]
    assert call in [t["name"] for t in types]


async def test_a_renamed_starter_item_keeps_its_new_name(service, emulator, make_staff):
    maria = await make_staff(Role.ADMIN, language="en")
    client = (await client_svc.do_create_client(maria, {"name": "Fresh Market"})).client
    await dictionaries.ensure_system_dictionaries()
    trade = await DictionaryItem.get(code="trade")
    trade.name = "Торговля и ритейл"
    await trade.save()
    await signed_in(service, emulator, maria)
    page = await (await service.client.get(f"/app/clients/{client.id}")).text()
    assert ">Торговля и ритейл</option>" in page and ">Trade</option>" not in page


async def test_mailing_skip_reasons_are_words_not_codes(service, emulator, make_staff):
    from services import mailings, messaging

    anna = await make_staff(Role.ADMIN, language="ru")
    refused = (await client_svc.do_create_client(anna, {"name": "Тюльпан",
                                                        "email": "t@tulip.ru"})).client
    await client_svc.do_update_client(anna, refused.id, {"email_consent": False})
    await client_svc.do_create_client(anna, {"name": "Лютик"})  # no address
    template = await messaging.do_save_template(anna, {"name": "Новости", "channel": "email",
                                                       "subject": "Новости",
                                                       "body": "Здравствуйте"})
    await mailings.do_create_mailing(anna, name="Декабрь", template_id=template.id,
                                     client_ids=[refused.id, (await client_search.search_clients(
                                         anna, "Лютик"))[0].id])
    await signed_in(service, emulator, anna)
    page = await (await service.client.get("/app/mailings")).text()
    assert "(нет согласия: 1)" in page and "(нет адреса: 1)" in page
    assert "no_consent" not in page and "no_address" not in page
