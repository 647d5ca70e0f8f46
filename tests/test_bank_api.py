"""The JSON API of bank statements (K-6) and currency rates (A-15): a statement uploaded
(multipart "file"), the queue with reasons in the person's language, assign, ignore,
restore; rates uploaded, listed, set, deleted and converted; managers refused."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import FormData

from models import BankLine, Client, LegalEntity, OwnEntity, Role
from services import bank_import, ledger_batch
from tests.test_web import signed_in

DATA = Path(__file__).parent / "data"
OURS = "40702810900000012345"


async def _post(client, url: str, content: bytes, name: str):
    form = FormData()
    form.add_field("file", content, filename=name, content_type="application/octet-stream")
    return await client.post(url, data=form)


@pytest.fixture
def recorded(monkeypatch):
    calls: list[int] = []

    async def fake(actor, line):
        calls.append(line.id)

    async def fake_chunk(actor, lines):
        calls.extend(line.id for line in lines)
        return dict.fromkeys((line.id for line in lines), None)
    monkeypatch.setattr(bank_import, "_record", fake)
    monkeypatch.setattr(ledger_batch, "record_lines", fake_chunk)
    return calls


async def test_k6_statement_upload_queue_assign_ignore(service, emulator, make_staff,
                                                       recorded):
    """K-6: upload, then the queue in Russian; assign one line, ignore another, put it
    back; a bad file is a 422 naming the line; a manager is refused."""
    await OwnEntity.create(name='ООО "Контакт"', account=OURS)
    romashka = await Client.create(name='ООО "Ромашка"')
    await LegalEntity.create(client=romashka, name='ООО "Ромашка"', inn="7736207543")
    head = await make_staff(Role.HEAD, language="ru")
    await signed_in(service, emulator, head)
    c = service.client
    resp = await _post(c, "/api/v1/bank/statements",
                       (DATA / "bank" / "statement-windows.txt").read_bytes(), "kl_to_1c.txt")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["new"], body["known"], body["matched"], body["outgoing"]) == (3, 0, 2, 1)
    (reason,) = body["reasons"]
    assert (reason["code"], reason["count"]) == ("no_client", 1) and reason["text"]
    assert len(recorded) == 2
    again = await (await _post(c, "/api/v1/bank/statements",
                               (DATA / "bank" / "statement-dos.txt").read_bytes(), "d.txt")
                   ).json()
    assert (again["new"], again["known"]) == (0, 3)

    resp = await c.get("/api/v1/bank/lines")
    (line,) = (await resp.json())["items"]
    assert (line["number"], line["amount"], line["currency"]) == ("77", "12500.50", "RUB")
    assert line["reason"] == "no_client" and line["invoice_ref"] == "000015"
    assert line["reason_text"]
    matched = (await (await c.get("/api/v1/bank/lines?state=matched")).json())["items"]
    assert {m["client_name"] for m in matched} == {'ООО "Ромашка"'}

    resp = await c.post(f"/api/v1/bank/lines/{line['id']}/ignore", json={"reason": " "})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "reason"]
    resp = await c.post(f"/api/v1/bank/lines/{line['id']}/ignore",
                        json={"reason": "возврат займа"})
    assert resp.status == 200 and (await resp.json())["state"] == "ignored"
    resp = await c.post(f"/api/v1/bank/lines/{line['id']}/restore")
    assert (await resp.json())["state"] == "unmatched"
    # a head assigns to a client they see: theirs is not here, so "not found"
    resp = await c.post(f"/api/v1/bank/lines/{line['id']}/assign",
                        json={"client_id": romashka.id})
    assert resp.status == 404

    resp = await _post(c, "/api/v1/bank/statements",
                       (DATA / "bank" / "broken.txt").read_bytes(), "broken.txt")
    assert resp.status == 422
    detail = (await resp.json())["detail"][0]
    assert detail["loc"] == ["body", "file"]
    assert "57" in detail["msg"] and "«Сумма»" in detail["msg"]

    c.session.cookie_jar.clear()
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    resp = await c.post(f"/api/v1/bank/lines/{line['id']}/assign",
                        json={"client_id": romashka.id, "invoice_number": "12"})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert (out["state"], out["invoice_ref"], out["client_id"]) == (
        "matched", "000012", romashka.id)
    assert (await BankLine.get(id=line["id"])).decided_by_id == admin.id
    assert len(recorded) == 3

    c.session.cookie_jar.clear()
    manager = await make_staff(Role.MANAGER, language="ru")
    await signed_in(service, emulator, manager)
    resp = await _post(c, "/api/v1/bank/statements", b"1CClientBankExchange", "x.txt")
    assert resp.status == 403
    assert (await resp.json())["detail"] == "у вас нет права это делать"
    assert (await c.get("/api/v1/bank/lines")).status == 403
    c.session.cookie_jar.clear()
    assert (await _post(c, "/api/v1/bank/statements", b"x", "x.txt")).status == 401


async def test_a15_rates_api(service, emulator, make_staff):
    """A-15: an admin uploads the CBR file, sets and deletes a manual rate; anyone on the
    staff lists and converts; a missing rate is a 422 naming the currency and day."""
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    c = service.client
    resp = await _post(c, "/api/v1/rates/upload",
                       (DATA / "rates" / "cbr-2026-06-05.xml").read_bytes(), "XML_daily.asp")
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["source"], body["created"], body["dated"]) == ("cbr", 9, "2026-06-05")
    resp = await c.get("/api/v1/rates?currency=HKD")
    (hkd,) = (await resp.json())["items"]
    assert (hkd["rate"], hkd["base"], hkd["source"]) == ("10.15731", "RUB", "cbr")
    resp = await c.get("/api/v1/rates/convert?amount=100&from=USD&to=EUR&on=2026-06-07")
    assert await resp.json() == {"amount": "88.16", "currency": "EUR", "rate": "0.881622",
                                 "on": "2026-06-07"}
    resp = await c.get("/api/v1/rates/convert?amount=100&from=USD&to=RUB&on=2026-06-01")
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["msg"] == (
        "there is no rate of USD on 01.06.2026 or before: load the central bank's rates "
        "or enter one")
    resp = await c.put("/api/v1/rates", json={"currency": "USD", "dated": "2026-06-01",
                                              "rate": "78,5"})
    assert resp.status == 200, await resp.text()
    manual = await resp.json()
    assert (manual["rate"], manual["source"]) == ("78.5", "manual")
    resp = await c.get("/api/v1/rates/convert?amount=2&from=USD&to=RUB&on=2026-06-01")
    assert (await resp.json())["amount"] == "157.00"
    resp = await c.put("/api/v1/rates", json={"currency": "USD", "dated": "2026-06-01",
                                              "rate": "-1"})
    assert resp.status == 422
    resp = await _post(c, "/api/v1/rates/upload", b"<rates/>", "x.xml")
    assert resp.status == 422

    c.session.cookie_jar.clear()
    manager = await make_staff(Role.MANAGER, language="ru")
    await signed_in(service, emulator, manager)
    assert (await c.get("/api/v1/rates")).status == 200
    assert (await c.delete(f"/api/v1/rates/{manual['id']}")).status == 403
    resp = await _post(c, "/api/v1/rates/upload",
                       (DATA / "rates" / "nbu-2026-06-05.xml").read_bytes(), "x.xml")
    assert resp.status == 403
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    assert (await c.delete(f"/api/v1/rates/{manual['id']}")).status == 204
    assert (await c.delete(f"/api/v1/rates/{manual['id']}")).status == 404
    assert Decimal(hkd["rate"]) == Decimal("10.15731")
