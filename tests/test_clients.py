"""The client dossier's core: validation (S-1, S-3), access (A-3), managers with
history (S-6, A-5, S-25), audit, completeness (S-10), search (S-11)."""

from __future__ import annotations

import pytest

from models import AuditLog, ClientManager, Department, Role, Setting, User
from services import client_search
from services import clients as svc
from services import contacts as contacts_svc
from services import managers as managers_svc
from services import staff as staff_service
from services.errors import NotFound, PermissionDenied, ValidationFailed


@pytest.fixture
async def org(database_url):
    hq = await Department.create(name="HQ")
    msk = await Department.create(name="Moscow", parent=hq)
    kyiv = await Department.create(name="Kyiv", parent=hq)
    people = {
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "head_msk": await User.create(full_name="Head M", telegram_id=2, role=Role.HEAD,
                                      department=msk),
        "ivan": await User.create(full_name="Ivan", telegram_id=3, department=msk),
        "olena": await User.create(full_name="Olena", telegram_id=4, department=kyiv),
    }
    return people


async def test_create_validates_and_normalises(org):
    ivan = org["ivan"]
    result = await svc.do_create_client(ivan, {
        "name": "ООО «Ромашка»", "phone": "8 (916) 123-45-67", "email": " Info@Romashka.RU ",
        "legal": {"name": "ООО Ромашка", "inn": "7707083893", "kpp": "773601001"},
    }, source="bot")
    client = result.client
    assert client.phone == "+79161234567"
    assert client.email.lower() == "info@romashka.ru" and client.email.endswith("@romashka.ru")
    assert [m.id for m in await managers_svc.current_managers(client.id)] == [ivan.id]
    assert await AuditLog.filter(client_id=client.id, action="create", source="bot").exists()
    assert 0 < client.completeness < 100


@pytest.mark.parametrize(("data", "field"), [
    ({"name": ""}, "name"),
    ({"name": "X", "phone": "12"}, "phone"),
    ({"name": "X", "email": "not-an-email"}, "email"),
    ({"name": "X", "legal": {"name": "X", "inn": "7707083894"}}, "legal.inn"),
    ({"name": "X", "legal": {"name": "X", "edrpou": "14360571"}}, "legal.edrpou"),
])
async def test_bad_input_names_the_field_and_saves_nothing(org, data, field):
    from models import Client

    with pytest.raises(ValidationFailed) as info:
        await svc.do_create_client(org["ivan"], data)
    assert info.value.field == field
    assert await Client.all().count() == 0


async def test_access_by_role(org):
    ivans = (await svc.do_create_client(org["ivan"], {"name": "Ivan's client"})).client
    olenas = (await svc.do_create_client(org["olena"], {"name": "Olena's client"})).client
    seen = {
        who: {c.name for c in await (await svc.visible_clients(org[who]))}
        for who in ("admin", "head_msk", "ivan", "olena")
    }
    assert seen["admin"] == {"Ivan's client", "Olena's client"}
    assert seen["head_msk"] == {"Ivan's client"}
    assert seen["ivan"] == {"Ivan's client"}
    with pytest.raises(NotFound):
        await svc.get_client(org["ivan"], olenas.id)
    with pytest.raises(NotFound):
        await svc.do_update_client(org["olena"], ivans.id, {"name": "stolen"})
    await staff_service.do_dismiss(org["admin"], org["ivan"].id)
    with pytest.raises(PermissionDenied):
        await svc.visible_clients(await User.get(id=org["ivan"].id))


async def test_managers_history_survives_dismissal(org):
    client = (await svc.do_create_client(org["ivan"], {"name": "Kept"})).client
    result = await managers_svc.do_assign_manager(org["admin"], client.id, org["olena"].id)
    assert [(n.user_id, n.kind) for n in result.notices] == [(org["olena"].id, "assigned")]
    await staff_service.do_dismiss(org["admin"], org["ivan"].id)
    await managers_svc.do_unassign_manager(org["admin"], client.id, org["ivan"].id)
    history = await managers_svc.manager_history(org["admin"], client.id)
    assert [(h.user.full_name, h.unassigned_at is None) for h in history] == [
        ("Ivan", False), ("Olena", True)]
    assert await managers_svc.count_assigned(org["olena"].id) == 1
    with pytest.raises(PermissionDenied):
        await managers_svc.do_assign_manager(org["olena"], client.id, org["admin"].id)
    assert await ClientManager.filter(client_id=client.id).count() == 2


async def test_update_is_audited_field_by_field(org):
    client = (await svc.do_create_client(org["ivan"], {"name": "Old"})).client
    await svc.do_update_client(org["ivan"], client.id, {"name": "New", "phone": "+380501234567"},
                               source="web")
    rows = await AuditLog.filter(client_id=client.id, action="update").order_by("field")
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("name", "Old", "New"), ("phone", None, "+380501234567")]


async def test_minimum_completeness_refuses_saving_with_a_reason(org):
    await Setting.create(key="completeness.minimum", value=50)
    with pytest.raises(ValidationFailed) as info:
        await svc.do_create_client(org["ivan"], {"name": "Bare"})
    assert info.value.field == "completeness" and "50%" in info.value.message
    ok = await svc.do_create_client(org["ivan"], {
        "name": "Full", "phone": "+79161234567", "email": "a@b.ru",
        "legal": {"name": "Full LLC", "inn": "7707083893"}})
    assert ok.client.completeness >= 50


async def test_search_by_name_phone_inn_contact_translit_and_typo(org):
    ivan = org["ivan"]
    romashka = (await svc.do_create_client(ivan, {
        "name": "Ромашка", "phone": "+79161234567",
        "legal": {"name": "ООО Ромашка", "inn": "7707083893"}})).client
    await contacts_svc.do_add_contact(ivan, romashka.id, {
        "first_name": "Пётр", "last_name": "Петров", "phones": ["+79031112233"]})
    await svc.do_create_client(ivan, {"name": "Василёк"})
    await svc.do_create_client(org["olena"], {"name": "Ромашка Киев"})  # not Ivan's

    async def names(q):
        return [c.name for c in await client_search.search_clients(ivan, q)]

    assert await names("ромаш") == ["Ромашка"]
    assert await names("РОМАШКА") == ["Ромашка"]
    assert await names("romashka") == ["Ромашка"]
    assert await names("8 916 123-45-67") == ["Ромашка"]
    assert await names("7707083893") == ["Ромашка"]
    assert await names("петров") == ["Ромашка"]
    assert await names("+7 903 111 22 33") == ["Ромашка"]
    assert await names("ромашко") == ["Ромашка"]  # a typo
    assert await names("василек") == ["Василёк"]  # ё typed as е
    assert await names("zzzz") == []


async def test_clients_without_search_tokens_are_indexed_by_migrate(org):
    """S-11: cards from before the token index (migration 0003) are found after
    ``kontakt migrate`` has indexed them; a card with no word is not looked at twice."""
    from models import Client, ClientSearchToken

    ivan = org["ivan"]
    old = (await svc.do_create_client(ivan, {"name": "Ромашка", "phone": "+79161234567"})).client
    # a card with no word (made before names had to have one)
    blank = await Client.create(name="!!!", created_by=ivan)
    await ClientSearchToken.filter(client_id=old.id).delete()  # as before migration 0003
    assert await client_search.search_clients(ivan, "ромаш") == []
    assert await svc.do_reindex_missing(batch=1) == 2  # "!!!" has no word: no token
    assert [c.id for c in await client_search.search_clients(ivan, "ромаш")] == [old.id]
    assert [c.id for c in await client_search.search_clients(ivan, "romash")] == [old.id]
    assert [c.id for c in await client_search.search_clients(ivan, "916 123")] == [old.id]
    assert not await ClientSearchToken.exists(client_id=blank.id)
    assert await Client.filter(id=old.id).exists()
