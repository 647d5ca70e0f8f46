"""SMS to clients (A-18) through each provider, each faked over HTTP after its public
API: a generic gateway (URL, method, body template), SMS.ru's /sms/send, Twilio's
Messages.json. Segments counted (Cyrillic costs more), a provider's refusal fails the
message with the provider's reason, a 503 is retried."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from models import OutboundMessage, OutboxState, Role
from services import clients as client_svc
from services.sms import segments
from tests.conftest import wait_until
from tests.test_web import signed_in


def test_segments_gsm7_and_ucs2():
    assert (segments("Hello").encoding, segments("Hello").parts) == ("GSM-7", 1)
    assert segments("a" * 160).parts == 1 and segments("a" * 161).parts == 2
    assert segments("€" * 81).characters == 162  # the extension table counts twice
    assert segments("Привет" * 11).encoding == "UCS-2"
    assert segments("я" * 70).parts == 1 and segments("я" * 71).parts == 2
    assert segments("я" * 134).parts == 2 and segments("я" * 135).parts == 3


class Fake:
    """One provider's endpoint; ``answer`` decides the response."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.requests: list[dict] = []
        self.answer = None

    def app(self) -> web.Application:
        app = web.Application()
        if self.kind == "generic":
            app.router.add_post("/send", self.generic)
        elif self.kind == "smsru":
            app.router.add_get("/sms/send", self.smsru)
        else:
            app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio)
        return app

    async def generic(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        self.requests.append({"auth": request.headers.get("Authorization"), **body})
        if self.answer:
            return self.answer
        return web.json_response({"id": f"g-{len(self.requests)}"})

    async def smsru(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.requests.append(q)
        if q.get("api_id") != "key-1":
            return web.json_response({"status": "ERROR", "status_code": 200,
                                      "status_text": "Неправильный api_id"})
        return web.json_response({"status": "OK", "status_code": 100, "sms": {
            q["to"]: {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}}})

    async def twilio(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append({"auth": request.headers.get("Authorization"),
                              "sid": request.match_info["sid"], **form})
        if self.answer:
            return self.answer
        if not form.get("To", "").startswith("+"):
            return web.json_response({"code": 21211, "message": "Invalid 'To' Phone Number",
                                      "status": 400}, status=400)
        return web.json_response({"sid": "SM" + "0" * 32, "status": "queued"}, status=201)


@pytest.fixture
async def sms_service(request, settings_factory):
    from kontakt.runtime import build_runtime, start, stop

    fake = Fake(request.param)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    extra = {
        "generic": {"sms_url": f"{base}/send", "sms_token": "gw-token"},
        "smsru": {"sms_url": base, "sms_login": "key-1"},
        "twilio": {"sms_url": base, "sms_login": "AC123", "sms_token": "tw-token",
                   "sms_sender": "+15005550006"},
    }[request.param]
    rt = await build_runtime(settings_factory(sms_provider=request.param, **extra))
    await start(rt, serve_http=False)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client, rt.fake = client, fake
    yield rt
    await client.close()
    await stop(rt)
    await server.close()


@pytest.mark.parametrize("sms_service", ["generic", "smsru", "twilio"], indirect=True)
async def test_sms_from_the_card_through_the_provider(sms_service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="ru")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка",
                                                       "phone": "8 916 123-45-67"})).client
    await signed_in(sms_service, emulator, ivan)
    c = sms_service.client
    text = "Здравствуйте! Встреча завтра в 15:00. " + "{{ sender.full_name }}"
    resp = await c.post(f"/api/v1/clients/{client.id}/sms/preview", json={"body": text})
    preview = await resp.json()
    assert preview["to"] == "+79161234567" and preview["encoding"] == "UCS-2"
    assert preview["text"].endswith(ivan.full_name)
    resp = await c.post(f"/api/v1/clients/{client.id}/sms", json={"body": text})
    assert resp.status == 201, await resp.text()

    async def sent():
        m = await OutboundMessage.get(client_id=client.id)
        return m if m.state == OutboxState.SENT else None

    message = await wait_until(sent, timeout=10)
    [req] = sms_service.fake.requests
    if sms_service.fake.kind == "generic":
        assert (req["to"], req["auth"]) == ("+79161234567", "Bearer gw-token")
        assert req["text"] == preview["text"] and message.provider_id == "g-1"
    elif sms_service.fake.kind == "smsru":
        assert (req["to"], req["msg"]) == ("79161234567", preview["text"])
        assert message.provider_id == "000000-10000000"
    else:
        assert (req["To"], req["From"], req["Body"]) == ("+79161234567", "+15005550006",
                                                          preview["text"])
        assert req["auth"].startswith("Basic ") and message.provider_id.startswith("SM")
    history = await (await c.get(f"/api/v1/clients/{client.id}/history")).json()
    assert any(h["entity"] == "message" and h["action"] == "sms" for h in history["items"])


@pytest.mark.parametrize("sms_service", ["twilio"], indirect=True)
async def test_provider_refusal_fails_and_503_is_retried(sms_service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "phone": "+79161112233"})).client
    nophone = (await client_svc.do_create_client(ivan, {"name": "Silent"})).client
    await signed_in(sms_service, emulator, ivan)
    c = sms_service.client
    resp = await c.post(f"/api/v1/clients/{nophone.id}/sms", json={"body": "x"})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "phone"]
    resp = await c.post(f"/api/v1/clients/{client.id}/sms", json={"body": "x" * 2000})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "body"]  # over 10 SMS
    sms_service.fake.answer = web.json_response({"code": 20003, "message": "Authenticate"},
                                                status=401)
    await c.post(f"/api/v1/clients/{client.id}/sms", json={"body": "Offer"})

    async def failed():
        m = await OutboundMessage.get_or_none(client_id=client.id, state=OutboxState.FAILED)
        return m

    message = await wait_until(failed, timeout=10)
    assert "20003" in message.last_error and "Authenticate" in message.last_error
    sms_service.fake.answer = web.Response(status=503, text="busy")
    await c.post(f"/api/v1/clients/{client.id}/sms", json={"body": "Again"})

    async def retried():
        return await OutboundMessage.get_or_none(client_id=client.id, state=OutboxState.QUEUED,
                                                 attempts=1)

    again = await wait_until(retried, timeout=10)
    assert "503" in again.last_error


@pytest.mark.parametrize("sms_service", ["twilio"], indirect=True)
async def test_stop_reply_unsubscribes_the_number(sms_service, emulator, make_staff):
    """K-16: a STOP reply (the provider's inbound webhook, a secret URL) unsubscribes the
    number; the next SMS mailing skips it, saying why."""
    from models import Unsubscribe
    from services import mailings

    admin = await make_staff(Role.ADMIN, language="ru")
    client = (await client_svc.do_create_client(admin, {"name": "Ромашка",
                                                       "phone": "+79161234567"})).client
    secret = sms_service.settings.secret_key.get_secret_value()
    c = sms_service.client
    assert (await c.post("/webhooks/sms/wrong", data={"From": "+79161234567",
                                                      "Body": "STOP"})).status == 404
    url = f"/webhooks/sms/{mailings.inbound_token(secret)}"
    resp = await c.post(url, data={"From": "+79161234567", "Body": "hello"})
    assert resp.status == 200 and not await Unsubscribe.exists()
    resp = await c.post(url, data={"From": "8 916 123-45-67", "Body": " Стоп! "})
    assert "<Response/>" in await resp.text()
    assert await Unsubscribe.filter(channel="sms", address="+79161234567").exists()
    await signed_in(sms_service, emulator, admin)
    tpl = await (await c.post("/api/v1/templates", json={
        "name": "Promo", "channel": "sms", "body": "Скидки для {{ client.name }}"})).json()
    made = await (await c.post("/api/v1/mailings", json={
        "name": "SMS promo", "template_id": tpl["id"], "client_ids": [client.id]})).json()
    assert made["reasons"] == {"unsubscribed": 1}
    page = await c.get("/app/mailings")
    assert url in await page.text()  # the admin sees the address to give the provider
