"""Archiving a client over the JSON API and in the Mini App (services.client_archive):
archive with a reason, refusals (409 naming what is open, already archived, unknown id,
a manager restoring), the "Archived" filter of the list and the archived card's banner
with Restore."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from kontakt.formatting import date_text
from models import Client, Department, EntryKind, LedgerEntry, Role
from services import clients as client_svc
from tests.conftest import TEST_NOW
from tests.test_web import signed_in


async def test_api_archive_refusals_list_and_restore(service, emulator, make_staff):
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field", department=dept)
    head = await make_staff(Role.HEAD, language="en", name="Hanna Head", department=dept)
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka"})).client
    today = TEST_NOW.date()
    invoice = await LedgerEntry.create(
        client_id=client.id, currency="RUB", kind=EntryKind.INVOICE, dated=today,
        due=today + timedelta(days=10), amount=Decimal("15830.40"), number="A-1")
    await signed_in(service, emulator, ivan)
    c = service.client
    resp = await c.post(f"/api/v1/clients/{client.id}/archive", json={"reason": "closed"})
    assert resp.status == 409
    assert (await resp.json())["detail"] == (
        "Not archived: the client still has an unpaid balance of 15\u00a0830,40\u00a0₽. "
        "Close or settle these first.")
    await LedgerEntry.filter(id=invoice.id).update(void=True)
    # bad input: an unknown id, a reason too long, no JSON body
    assert (await c.post("/api/v1/clients/999999/archive", json={})).status == 404
    resp = await c.post(f"/api/v1/clients/{client.id}/archive", json={"reason": "x" * 501})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == ["body", "reason"]
    assert (await c.post(f"/api/v1/clients/{client.id}/archive")).status == 415
    resp = await c.post(f"/api/v1/clients/{client.id}/archive", json={"reason": "closed"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["archived_by"], body["reason"]) == ("Ivan Field", "closed")
    resp = await c.post(f"/api/v1/clients/{client.id}/archive", json={})
    day = date_text((await Client.get(id=client.id)).archived_at, ivan.timezone)
    assert resp.status == 409 and (await resp.json())["detail"] == (
        f"The client is already archived (on {day} by Ivan Field).")
    # out of the list and search, in the archived list, its state and history readable
    assert (await (await c.get("/api/v1/clients")).json())["total"] == 0
    assert (await (await c.get("/api/v1/clients?q=romash")).json())["items"] == []
    listed = await (await c.get("/api/v1/clients?archived=true&q=romash")).json()
    assert [i["name"] for i in listed["items"]] == ["Romashka"]
    assert listed["items"][0]["archived_at"] is not None
    state = await (await c.get(f"/api/v1/clients/{client.id}/archive")).json()
    assert state["archived_by"] == "Ivan Field"
    history = await (await c.get(f"/api/v1/clients/{client.id}/history")).json()
    assert [(i["action"], i["new_value"], i["source"]) for i in history["items"]][0] == (
        "archive", "closed", "miniapp")
    # a manager may not restore; their head does
    assert (await c.post(f"/api/v1/clients/{client.id}/restore")).status == 403
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, head)
    resp = await c.post(f"/api/v1/clients/{client.id}/restore")
    assert resp.status == 200 and (await resp.json())["archived_at"] is None
    resp = await c.post(f"/api/v1/clients/{client.id}/restore")
    assert resp.status == 409 and (await resp.json())["detail"] == "The client is not archived."
    doc = await (await c.get("/api/v1/openapi.json")).json()
    archive = doc["paths"]["/api/v1/clients/{client_id}/archive"]["post"]
    assert "409" in archive["responses"] and "requestBody" in archive


async def test_mini_app_card_archive_filter_banner_and_restore(service, emulator, make_staff):
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field", department=dept)
    head = await make_staff(Role.HEAD, language="en", name="Hanna Head", department=dept)
    client = (await client_svc.do_create_client(ivan, {"name": "Vasilek & Co"})).client
    await signed_in(service, emulator, ivan)
    c = service.client
    page = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="client-archive"' in page and "Archive “Vasilek &amp; Co”?" in page
    resp = await c.post(f"/api/v1/clients/{client.id}/archive", json={"reason": "<b>gone</b>"})
    assert resp.status == 200
    listing = await (await c.get("/app/clients")).text()
    assert "Vasilek" not in listing
    listing = await (await c.get("/app/clients?archived=1")).text()
    assert f'href="/app/clients/{client.id}"' in listing and "🗄 archived" in listing
    assert 'value="1" selected' in listing and "archived=1" in listing  # export keeps it
    exported = await (await c.get("/api/v1/clients/export?format=csv&archived=1")).text()
    assert "Vasilek" in exported
    assert "Vasilek" not in await (await c.get("/api/v1/clients/export?format=csv")).text()
    card = await c.get(f"/app/clients/{client.id}")
    assert card.status == 200
    text = await card.text()
    day = date_text((await Client.get(id=client.id)).archived_at, ivan.timezone)
    assert f"Archived on {day} by Ivan Field" in text
    assert "Reason: &lt;b&gt;gone&lt;/b&gt;" in text  # escaped
    assert 'data-testid="client-restore"' not in text and "ask your head" in text
    assert "archived" in text.split('data-testid="timeline"')[1]  # the history has it
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, head)
    text = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="client-restore"' in text
    assert (await c.post(f"/api/v1/clients/{client.id}/restore")).status == 200
    text = await (await c.get(f"/app/clients/{client.id}")).text()
    assert 'data-testid="archived-banner"' not in text and 'data-testid="client-archive"' in text
    assert (await c.get("/app/clients/99999999")).status == 404
