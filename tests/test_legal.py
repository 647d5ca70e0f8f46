"""Legal entities (S-1) changed, made primary and deleted; consent and do-not-contact
(K-16) changed on the card; who may. Bad codes are refused naming the field."""

from __future__ import annotations

import pytest

from models import AuditLog, Client, LegalEntity, Role
from services import client_search
from services import clients as client_svc
from services import legal as svc
from services.errors import NotFound, ValidationFailed
from tests.test_web import signed_in

INN = "7707083893"
INN2 = "7736050003"


async def _client(owner):
    return (await client_svc.do_create_client(owner, {
        "name": "Ромашка", "legal": {"name": "ООО «Ромашка»", "inn": INN}})).client


async def test_change_make_primary_delete(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    first = await LegalEntity.get(client_id=client.id)
    second = await client_svc.do_add_legal_entity(ivan, client.id, {
        "name": "ООО «Ромашка-Трейд»", "inn": INN2})
    assert first.is_primary and not second.is_primary
    await svc.do_update_legal_entity(ivan, second.id, {"kpp": "773601001",
                                                       "bank_name": "Сбербанк"})
    fields = set(await AuditLog.filter(entity="legal_entity", object_id=second.id,
                                       action="update").values_list("field", flat=True))
    assert fields == {"kpp", "bank_name"}
    await svc.do_make_primary(ivan, second.id)
    assert [e.id for e in await svc.list_legal_entities(ivan, client.id)] == [second.id,
                                                                              first.id]
    await svc.do_delete_legal_entity(ivan, second.id)
    [left] = await svc.list_legal_entities(ivan, client.id)
    assert left.id == first.id and left.is_primary  # the primary passes on
    # the deleted INN no longer finds the client; the kept one does
    assert await client_search.search_clients(ivan, INN2) == []
    assert [c.id for c in await client_search.search_clients(ivan, INN)] == [client.id]


@pytest.mark.parametrize(("changes", "field"), [
    ({"inn": "7707083890"}, "legal.inn"),  # a wrong check digit
    ({"kpp": "12"}, "legal.kpp"),
    ({"name": ""}, "legal.name"),
    ({"iban": "UA00"}, "legal.iban"),
])
async def test_bad_codes_refused_nothing_changed(database_url, make_staff, changes, field):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    entity = await LegalEntity.get(client_id=client.id)
    with pytest.raises(ValidationFailed) as err:
        await svc.do_update_legal_entity(ivan, entity.id, changes)
    assert err.value.field == field
    again = await LegalEntity.get(id=entity.id)
    assert (again.name, again.inn, again.kpp) == ("ООО «Ромашка»", INN, None)


async def test_a_colleagues_legal_entity_is_not_found(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    olga = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    entity = await LegalEntity.get(client_id=client.id)
    for attempt in (svc.do_update_legal_entity(olga, entity.id, {"name": "X"}),
                    svc.do_make_primary(olga, entity.id),
                    svc.do_delete_legal_entity(olga, entity.id),
                    svc.list_legal_entities(olga, client.id)):
        with pytest.raises(NotFound):
            await attempt
    assert await LegalEntity.filter(id=entity.id).exists()


async def test_api_legal_and_consent(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    client = await _client(ivan)
    entity = await LegalEntity.get(client_id=client.id)
    await signed_in(service, emulator, ivan)
    http = service.client
    resp = await http.patch(f"/api/v1/legal-entities/{entity.id}", json={"kpp": "773601001"})
    assert resp.status == 200 and (await resp.json())["kpp"] == "773601001"
    resp = await http.patch(f"/api/v1/legal-entities/{entity.id}", json={"inn": "123"})
    assert resp.status == 422
    assert (await http.delete(f"/api/v1/legal-entities/{entity.id}")).status == 200
    assert not await LegalEntity.filter(id=entity.id).exists()
    # consent: false saved and in the history; null is refused naming the field
    resp = await http.patch(f"/api/v1/clients/{client.id}", json={"sms_consent": False,
                                                                  "do_not_contact": True})
    assert resp.status == 200, await resp.text()
    again = await Client.get(id=client.id)
    assert (again.email_consent, again.sms_consent, again.do_not_contact) == (True, False,
                                                                              True)
    resp = await http.patch(f"/api/v1/clients/{client.id}", json={"email_consent": None})
    assert resp.status == 422
    assert await AuditLog.filter(entity="client", field="do_not_contact").exists()


async def test_files_deleted_by_who_uploaded_them_or_a_head(database_url, make_staff, tmp_path):
    """S-2: a file is deleted by its uploader, a head or an admin; a colleague who may see
    it cannot; the bytes go unless another document holds them; not while an email
    waiting to go carries it."""
    from models import Department, Document, OutboundMessage
    from services import documents
    from services.clock import utcnow
    from services.errors import PermissionDenied
    from services.storage import LocalFileStore

    store = LocalFileStore(tmp_path)
    sales = await Department.create(name="Продажи")
    ivan = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER, department=sales)
    head = await make_staff(Role.HEAD, department=sales)
    client = await _client(ivan)
    from services import managers

    await managers.do_assign_manager(head, client.id, olga.id)
    doc = await documents.do_attach(ivan, client.id, filename="offer.pdf", content=b"%PDF-1",
                                    mime_type="application/pdf", store=store)
    twin = await documents.do_attach(ivan, client.id, filename="copy.pdf", content=b"%PDF-1",
                                     mime_type="application/pdf", store=store)
    with pytest.raises(PermissionDenied):
        await documents.do_delete_document(olga, doc.id, store)
    waiting = await OutboundMessage.create(channel="email", to_address="a@b.ru", subject="x",
                                           body="x", client_id=client.id,
                                           attachments=[doc.id], next_attempt_at=utcnow())
    with pytest.raises(ValidationFailed):
        await documents.do_delete_document(ivan, doc.id, store)
    await waiting.delete()
    await documents.do_delete_document(ivan, doc.id, store)
    assert not await Document.filter(id=doc.id).exists()
    assert await store.exists(twin.storage_path)  # the same bytes are still the twin's
    await documents.do_delete_document(head, twin.id, store)
    assert not await store.exists(twin.storage_path)
