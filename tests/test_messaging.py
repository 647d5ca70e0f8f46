"""Email to clients (A-18) against aiosmtpd, a real SMTP server with AUTH: templates
checked at save (a missing variable named), a preview, a message from the card
delivered once with Reply-To and both parts, the SMTP server down for a while and the
message delivered later once, a refused recipient failed with the server's reason."""

from __future__ import annotations

import socket

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from models import OutboundMessage, OutboxState, Role
from services import clients as client_svc
from services import contacts as contacts_svc
from services.clock import utcnow
from tests.conftest import wait_until
from tests.test_web import signed_in


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"crm" and \
        auth_data.password == b"s3cret"
    return AuthResult(success=ok)


def smtp_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=_auth,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    return controller, inbox


@pytest.fixture
async def mail_service(settings_factory):
    """The service with SMTP settings pointing at a port of our own."""
    from kontakt.runtime import build_runtime, start, stop

    port = _free_port()
    rt = await build_runtime(settings_factory(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_user="crm",
        smtp_password="s3cret", mail_from="Kontakt <crm@example.ru>"))
    await start(rt, serve_http=False)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client, rt.smtp_port = client, port
    yield rt
    await client.close()
    await stop(rt)


async def test_templates_are_checked_when_saved(mail_service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    manager = await make_staff(Role.MANAGER, language="en")
    await signed_in(mail_service, emulator, admin)
    c = mail_service.client
    base = {"name": "Meeting", "channel": "email", "subject": "Meeting {{ activity.title }}"}
    resp = await c.post("/api/v1/templates", json={**base, "body": "Hello {{ cleint.name }}"})
    assert resp.status == 422
    detail = (await resp.json())["detail"][0]
    assert detail["loc"] == ["body", "body"] and "cleint" in detail["msg"]
    resp = await c.post("/api/v1/templates", json={**base, "body": "Hello {{ client.name "})
    assert "line 1" in (await resp.json())["detail"][0]["msg"]
    resp = await c.post("/api/v1/templates", json={
        **base, "body": "{{ client.__class__.__mro__ }}"})
    assert resp.status == 422  # the sandbox: no Python internals
    resp = await c.post("/api/v1/templates", json={
        **base, "body": "Здравствуйте, {{ contact.first_name }}! {{ sender.full_name }}",
        "html": "<p>Здравствуйте, {{ contact.first_name }}!</p>"})
    assert resp.status == 201, await resp.text()
    c.session.cookie_jar.clear()
    await signed_in(mail_service, emulator, manager)
    resp = await c.post("/api/v1/templates", json={**base, "name": "x", "body": "x"})
    assert resp.status == 403


async def test_email_from_the_card_is_delivered_once(mail_service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field",
                            email="ivan@crm.example.ru")
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka",
                                                       "email": "info@romashka.ru"})).client
    contact = await contacts_svc.do_add_contact(ivan, client.id, {
        "first_name": "Petr", "last_name": "Petrov", "emails": ["petrov@romashka.ru"]})
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, admin)
        c = mail_service.client
        tpl = await (await c.post("/api/v1/templates", json={
            "name": "Hello", "subject": "For {{ client.name }}",
            "body": "Hello, {{ contact.first_name }}! {{ sender.full_name }}",
            "html": "<p>Hello, <b>{{ contact.first_name }}</b></p>"})).json()
        c.session.cookie_jar.clear()
        await signed_in(mail_service, emulator, ivan)
        # a template that needs a contact, previewed without one: the variable is named
        resp = await c.post(f"/api/v1/clients/{client.id}/messages/preview",
                            json={"template_id": tpl["id"]})
        assert resp.status == 422 and "contact" in (await resp.json())["detail"][0]["msg"]
        resp = await c.post(f"/api/v1/clients/{client.id}/messages/preview",
                            json={"template_id": tpl["id"], "contact_id": contact.id})
        preview = await resp.json()
        assert preview == {"to": "petrov@romashka.ru", "subject": "For Romashka",
                           "body": "Hello, Petr! Ivan Field",
                           "html": "<p>Hello, <b>Petr</b></p>", "attachments": []}
        resp = await c.post(f"/api/v1/clients/{client.id}/messages",
                            json={"template_id": tpl["id"], "contact_id": contact.id})
        assert resp.status == 201, await resp.text()
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        envelope = inbox.messages[0]
        raw = envelope.content.decode()
        assert envelope.rcpt_tos == ["petrov@romashka.ru"]
        assert "Reply-To: ivan@crm.example.ru" in raw and "text/html" in raw

        async def sent():
            m = await OutboundMessage.get(client_id=client.id)
            return m if m.state == OutboxState.SENT else None

        message = await wait_until(sent)
        assert message.provider_id
        listed = await (await c.get(f"/api/v1/clients/{client.id}/messages")).json()
        assert [m["state"] for m in listed["items"]] == ["sent"]
        history = await (await c.get(f"/api/v1/clients/{client.id}/history")).json()
        assert any(h["entity"] == "message" for h in history["items"])
        page = await c.get(f"/app/clients/{client.id}")
        assert "For Romashka" in await page.text()
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


async def test_smtp_down_then_delivered_later_once(mail_service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    await signed_in(mail_service, emulator, ivan)
    c = mail_service.client
    resp = await c.post(f"/api/v1/clients/{client.id}/messages",
                        json={"subject": "Offer", "body": "Our offer"})
    assert resp.status == 201

    async def retried():  # nothing listens: queued again with the reason
        m = await OutboundMessage.get(client_id=client.id)
        return m if m.attempts == 1 and m.state == OutboxState.QUEUED else None

    message = await wait_until(retried, timeout=10)
    assert message.last_error
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await OutboundMessage.filter(id=message.id).update(next_attempt_at=utcnow())
        mail_service.outbox.poke()
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)

        async def sent():
            m = await OutboundMessage.get(id=message.id)
            return m if m.state == OutboxState.SENT else None

        assert (await wait_until(sent)).attempts == 2
        mail_service.outbox.poke()
        await wait_until(lambda: True)
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


async def test_a_refused_recipient_fails_with_the_reason(mail_service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Ghost",
                                                       "email": "nobody@ghost.ru"})).client
    empty = (await client_svc.do_create_client(ivan, {"name": "No email"})).client
    controller, _inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, ivan)
        c = mail_service.client
        resp = await c.post(f"/api/v1/clients/{empty.id}/messages",
                            json={"subject": "x", "body": "y"})
        assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == [
            "body", "email"]
        await c.post(f"/api/v1/clients/{client.id}/messages", json={"subject": "x",
                                                                    "body": "y"})

        async def failed():
            m = await OutboundMessage.get(client_id=client.id)
            return m if m.state == OutboxState.FAILED else None

        message = await wait_until(failed, timeout=10)
        assert "550" in message.last_error
    finally:
        controller.stop()


async def test_email_from_the_bot_card_with_preview(mail_service, emulator, make_staff):
    """A-18 in the bot: ✉️ Message → Email → Write → preview → Send → delivered."""
    from tests.conftest import say

    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    controller, inbox = smtp_server(mail_service.smtp_port)
    chat = ivan.telegram_id

    def buttons(msg):
        return {b["text"]: b.get("callback_data")
                for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row}

    async def press(msg, label):
        before = max(m["message_id"] for m in emulator.history(chat))
        await emulator.press_button(chat, chat, msg["message_id"], buttons(msg)[label])
        return await emulator.wait_for_bot_message(chat, after_message_id=before)

    try:
        found = await say(emulator, chat, "/find lutik")
        card = await press(found, "Lutik")
        which = await press(card, "✉️ Message")
        kind = await press(which, "✉️ Email")
        await press(kind, "✍️ Write")
        bad = await say(emulator, chat, "Offer\nHello {{ clent.name }}")
        assert "clent" in bad["text"]  # named; type again
        preview = await say(emulator, chat, "Offer for {{ client.name }}\nBest, "
                                            "{{ sender.full_name }}")
        assert "office@lutik.ru" in preview["text"] and "Offer for Lutik" in preview["text"]
        await press(preview, "✅ Send")
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        assert b"Best, Ivan Field" in inbox.messages[0].content
        assert await OutboundMessage.filter(client_id=client.id).count() == 1
    finally:
        controller.stop()


async def test_subject_is_one_line_and_templates_cannot_exhaust_memory(mail_service,
                                                                       emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    await signed_in(mail_service, emulator, ivan)
    c = mail_service.client
    resp = await c.post(f"/api/v1/clients/{client.id}/messages/preview", json={
        "subject": "Offer\nBcc: all@evil.example\n", "body": "x"})
    assert (await resp.json())["subject"] == "Offer Bcc: all@evil.example"
    resp = await c.post(f"/api/v1/clients/{client.id}/messages/preview", json={
        "subject": "x", "body": "{{ 'a' * 10**9 }}"})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"] == ["body", "body"]
    resp = await c.post(f"/api/v1/clients/{client.id}/messages/preview", json={
        "subject": "x", "body": "{{ range(10**8)|list|length }}"})
    assert resp.status == 422


async def test_mailing_skips_whom_it_must_and_sends_each_once(mail_service, emulator,
                                                               make_staff):
    """K-16: the list is made with the skipped and why; two pumps at once and a
    "restart" queue each recipient once; paused sends nobody; the unsubscribe link works
    and later mailings skip the address."""
    import asyncio

    from models import MailingRecipient, MailingState, Unsubscribe
    from services import mailings

    admin = await make_staff(Role.ADMIN, language="en", email="boss@crm.example.ru")
    names = {}
    for name, data in (("Alpha", {"email": "a@alpha.ru"}), ("Beta", {"email": "b@beta.ru"}),
                       ("Gamma", {}), ("Delta", {"email": "d@delta.ru"}),
                       ("Eps", {"email": "e@eps.ru"})):
        names[name] = (await client_svc.do_create_client(admin, {"name": name, **data})).client
    names["Delta"].do_not_contact = True
    await names["Delta"].save()
    await mailings.do_unsubscribe("email", "e@eps.ru")
    secret = mail_service.settings.secret_key.get_secret_value()
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, admin)
        c = mail_service.client
        tpl = await (await c.post("/api/v1/templates", json={
            "name": "News", "subject": "News for {{ client.name }}",
            "body": "Dear {{ client.name }}, here is our news."})).json()
        resp = await c.post("/api/v1/mailings", json={
            "name": "November", "template_id": tpl["id"], "per_minute": 6000,
            "client_ids": [x.id for x in names.values()]})
        assert resp.status == 201, await resp.text()
        made = await resp.json()
        assert (made["total"], made["pending"], made["skipped"]) == (5, 2, 3)
        assert made["reasons"] == {"no_address": 1, "do_not_contact": 1, "unsubscribed": 1}
        mid = made["id"]
        # paused: nobody is queued
        await c.post(f"/api/v1/mailings/{mid}/action", json={"action": "start"})
        await c.post(f"/api/v1/mailings/{mid}/action", json={"action": "pause"})
        assert await mailings.pump(secret=secret, base_url="http://crm") == 0
        await c.post(f"/api/v1/mailings/{mid}/action", json={"action": "resume"})
        # two pumps at once (two replicas), then one more as after a restart
        first, second = await asyncio.gather(
            mailings.pump(secret=secret, base_url="http://crm"),
            mailings.pump(secret=secret, base_url="http://crm"))
        assert first + second <= 2
        await mailings.pump(secret=secret, base_url="http://crm")
        await mailings.pump(secret=secret, base_url="http://crm")  # nobody left: done
        assert await MailingRecipient.filter(mailing_id=mid, state="queued").count() == 2
        mail_service.outbox.poke()
        await wait_until(lambda: len(inbox.messages) == 2, timeout=10)
        assert sorted(m.rcpt_tos[0] for m in inbox.messages) == ["a@alpha.ru", "b@beta.ru"]
        progress = await (await c.get(f"/api/v1/mailings/{mid}")).json()
        assert progress["state"] == MailingState.DONE
        assert (progress["sent"] + progress["queued"], progress["failed"]) == (2, 0)
        # the unsubscribe link of the email: GET asks, POST records
        import email as email_lib

        mail = email_lib.message_from_bytes(inbox.messages[0].content)
        part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
        body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        assert "Отписаться от рассылки:" in body  # in the template's language
        link = body[body.index("http://crm/u/"):].split()[0]
        token = link.rsplit("/", 1)[1]
        page = await c.get(f"/u/{token}")
        assert page.status == 200 and "data-testid=\"unsubscribe\"" in await page.text()
        assert (await c.post(f"/u/{token}")).status == 200
        assert await Unsubscribe.filter(channel="email").count() == 2
        assert (await c.get("/u/forged.token")).status == 404
        page = await c.get("/app/mailings")
        assert "November" in await page.text()
        assert len(inbox.messages) == 2
    finally:
        controller.stop()


async def test_client_is_told_before_a_meeting_once(mail_service, emulator, make_staff):
    """A-18: an activity tells its client N hours before, once (again if moved); the
    author sees the delivery state on the activity."""
    from datetime import timedelta

    from services.messaging import send_client_notices

    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en", email="ivan@crm.example.ru")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, admin)
        c = mail_service.client
        tpl = await (await c.post("/api/v1/templates", json={
            "name": "Meeting reminder", "subject": "Meeting: {{ activity.title }}",
            "body": "We expect you {{ activity.starts_at }}. {{ sender.full_name }}"})).json()
        c.session.cookie_jar.clear()
        await signed_in(mail_service, emulator, ivan)
        start = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
        resp = await c.post("/api/v1/activities", json={
            "title": "Tasting", "type": "meeting", "client_id": client.id,
            "starts_at": start.isoformat(), "client_notice_hours": 24})
        assert (await resp.json())["detail"][0]["loc"] == ["body", "client_notice_template"]
        resp = await c.post("/api/v1/activities", json={
            "title": "Tasting", "type": "meeting", "client_id": client.id,
            "starts_at": start.isoformat(), "client_notice_hours": 24,
            "client_notice_template_id": tpl["id"]})
        assert resp.status == 201, await resp.text()
        aid = (await resp.json())["id"]
        assert await send_client_notices() == 1
        assert await send_client_notices() == 0  # once
        mail_service.outbox.poke()
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        assert b"Meeting: Tasting" in inbox.messages[0].content

        async def delivered():
            detail = await (await c.get(f"/api/v1/activities/{aid}")).json()
            states = [m["state"] for m in detail["client_messages"]]
            return states if states == ["sent"] else None

        assert await wait_until(delivered, timeout=10)
        # moved: the client hears the new time
        await c.patch(f"/api/v1/activities/{aid}", json={
            "starts_at": (start + timedelta(hours=1)).isoformat()})
        assert await send_client_notices() == 1
    finally:
        controller.stop()


async def test_template_editor_preview_and_admin_page(mail_service, emulator, make_staff):
    """A-18: the editor's live preview renders sample data or names the problem."""
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(mail_service, emulator, admin)
    c = mail_service.client
    resp = await c.post("/api/v1/templates/preview", json={
        "subject": "For {{ client.name }}", "body": "Hello {{ contact.first_name }}"})
    assert (await resp.json())["body"] == "Hello Иван"
    resp = await c.post("/api/v1/templates/preview", json={"body": "{{ contact.frist_name }}"})
    assert resp.status == 422 and "frist_name" in (await resp.json())["detail"][0]["msg"]
    page = await c.get("/app/admin")
    assert "template-form" in await page.text()


# --- attachments (A-18) ----------------------------------------------------------------
def _attachments(envelope) -> list[tuple[str, str, bytes]]:
    import email
    import email.policy

    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    return [(part.get_filename(), part.get_content_type(), part.get_content())
            for part in parsed.iter_attachments()]


async def test_email_with_a_file_of_the_client(mail_service, emulator, make_staff):
    """A file of the client goes with the email with its name, type and bytes; a file
    of another client (or a colleague's), too many megabytes and an SMS with a file
    are refused naming why."""
    from models import Document
    from services import documents

    ivan = await make_staff(Role.MANAGER, language="en", email="ivan@crm.example.ru")
    olga = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Romashka",
                                                       "email": "info@romashka.ru",
                                                       "phone": "+74951112233"})).client
    other = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    hers = (await client_svc.do_create_client(olga, {"name": "Vasilek"})).client
    store = mail_service.files
    offer = await documents.do_attach(ivan, client.id, filename="Предложение (1).pdf",
                                      content=b"%PDF-1.4 the offer", mime_type="application/pdf",
                                      store=store)
    price = await documents.do_attach(ivan, client.id, filename="price.csv",
                                      content=b"item;price\nrose;10\n", mime_type="text/csv",
                                      store=store)
    foreign = await documents.do_attach(ivan, other.id, filename="other.pdf",
                                        content=b"%PDF other", mime_type="application/pdf",
                                        store=store)
    stranger = await documents.do_attach(olga, hers.id, filename="hers.pdf",
                                         content=b"%PDF hers", mime_type="application/pdf",
                                         store=store)
    huge = await Document.create(client_id=client.id, filename="huge.zip", storage_path="x",
                                 size=21 * 1024 * 1024, sha256="0" * 64)
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, ivan)
        c = mail_service.client
        url = f"/api/v1/clients/{client.id}/messages"
        listed = await (await c.get(f"/api/v1/clients/{client.id}/attachable")).json()
        assert {f["filename"] for f in listed["items"]} == {"Предложение (1).pdf", "price.csv",
                                                           "huge.zip"}
        for bad in (foreign.id, stranger.id, 987654):
            resp = await c.post(url, json={"subject": "Offer", "body": "See the files",
                                           "attachments": [offer.id, bad]})
            assert resp.status == 422
            detail = (await resp.json())["detail"][0]
            assert detail["loc"] == ["body", "attachments"] and str(bad) in detail["msg"]
        resp = await c.post(url, json={"subject": "Offer", "body": "x",
                                       "attachments": [offer.id, huge.id]})
        assert resp.status == 422 and "20 MB" in (await resp.json())["detail"][0]["msg"]
        resp = await c.post(f"/api/v1/clients/{client.id}/sms", json={
            "body": "x", "attachments": [offer.id]})
        assert resp.status == 422
        assert (await resp.json())["detail"][0]["loc"] == ["body", "attachments"]
        assert await OutboundMessage.all().count() == 0  # nothing was queued
        preview = await (await c.post(f"{url}/preview", json={
            "subject": "Offer", "body": "See the files",
            "attachments": [offer.id, price.id]})).json()
        assert [f["filename"] for f in preview["attachments"]] == ["Предложение (1).pdf",
                                                                   "price.csv"]
        resp = await c.post(url, json={"subject": "Offer", "body": "See the files",
                                       "attachments": [offer.id, price.id]})
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["attachments"] == [offer.id, price.id]
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        assert _attachments(inbox.messages[0]) == [
            ("Предложение (1).pdf", "application/pdf", b"%PDF-1.4 the offer"),
            ("price.csv", "text/csv", "item;price\nrose;10\n")]
        assert b"See the files" in inbox.messages[0].content
        page = await c.get(f"/app/clients/{client.id}")
        assert 'data-testid="attach-' in await page.text()
    finally:
        controller.stop()


async def test_a_missing_file_fails_the_email_with_the_reason(mail_service, emulator,
                                                               make_staff):
    """The file went from the disk after the email was queued: that email fails naming
    it; the outbox goes on with the next."""
    from services import documents

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    doc = await documents.do_attach(ivan, client.id, filename="act.pdf", content=b"%PDF act",
                                    mime_type="application/pdf",
                                    store=mail_service.files)
    (mail_service.settings.data_dir / doc.storage_path).unlink()
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, ivan)
        c = mail_service.client
        resp = await c.post(f"/api/v1/clients/{client.id}/messages", json={
            "subject": "Act", "body": "The act", "attachments": [doc.id]})
        assert resp.status == 201

        async def failed():
            m = await OutboundMessage.get(client_id=client.id)
            return m if m.state == OutboxState.FAILED else None

        message = await wait_until(failed, timeout=10)
        assert "act.pdf" in message.last_error and "missing" in message.last_error
        resp = await c.post(f"/api/v1/clients/{client.id}/messages", json={
            "subject": "Hello", "body": "Without files"})
        assert resp.status == 201
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        assert b"Without files" in inbox.messages[0].content
        listed = await (await c.get(f"/api/v1/clients/{client.id}/messages")).json()
        assert sorted(m["state"] for m in listed["items"]) == ["failed", "sent"]
    finally:
        controller.stop()


def _buttons(msg) -> dict:
    return {b["text"]: b.get("callback_data")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row}


async def _press(emulator, chat, msg, label, *, wait=True):
    before = max(m["message_id"] for m in emulator.history(chat))
    await emulator.press_button(chat, chat, msg["message_id"], _buttons(msg)[label])
    if wait:
        return await emulator.wait_for_bot_message(chat, after_message_id=before)
    return None


async def test_email_from_the_bot_with_a_file(mail_service, emulator, make_staff):
    """📎 Attach in the bot: the client's files as toggles, the preview names the ones
    ticked, and the email carries them."""
    from services import documents
    from tests.conftest import say

    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Field")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    store = mail_service.files
    await documents.do_attach(ivan, client.id, filename="offer.pdf", content=b"%PDF offer",
                              mime_type="application/pdf", store=store)
    await documents.do_attach(ivan, client.id, filename="photo.jpg", content=b"\xff\xd8 jpg",
                              mime_type="image/jpeg", store=store)
    controller, inbox = smtp_server(mail_service.smtp_port)
    chat = ivan.telegram_id
    try:
        found = await say(emulator, chat, "/find lutik")
        card = await _press(emulator, chat, found, "Lutik")
        which = await _press(emulator, chat, card, "✉️ Message")
        kind = await _press(emulator, chat, which, "✉️ Email")
        await _press(emulator, chat, kind, "✍️ Write")
        preview = await say(emulator, chat, "Our offer\nPlease see the file.")
        assert "📎 Attach" in _buttons(preview)
        files = await _press(emulator, chat, preview, "📎 Attach")
        labels = list(_buttons(files))
        assert sorted(t.split(" (")[0] for t in labels[:2]) == ["▫️ offer.pdf", "▫️ photo.jpg"]
        offer = next(t for t in labels if t.startswith("▫️ offer.pdf"))
        await _press(emulator, chat, files, offer, wait=False)

        def ticked():
            msg = emulator.get_message(chat, files["message_id"])
            return msg if any(t.startswith("✅ offer.pdf") for t in _buttons(msg)) else None

        files = await wait_until(ticked)
        again = await _press(emulator, chat, files, "👌 Done")
        assert "📎 Attached: offer.pdf" in again["text"]
        await _press(emulator, chat, again, "✅ Send")
        await wait_until(lambda: len(inbox.messages) == 1, timeout=10)
        assert _attachments(inbox.messages[0]) == [("offer.pdf", "application/pdf",
                                                    b"%PDF offer")]
    finally:
        controller.stop()


# --- mailing progress in the bot (K-16) ------------------------------------------------
async def test_mailing_progress_in_the_bot_and_one_summary(mail_service, emulator,
                                                           make_staff):
    """/mailings → a mailing → ▶️ Start leaves one progress message; the job edits it as
    the messages go out and, when the mailing is done, two replicas at once send one
    summary (sent, failed with the reason, skipped by reason). A mailing started on the
    web page sums up to its creator; a deleted progress message is left alone."""
    import asyncio

    from models import Mailing
    from notifications.mailings import MailingProgress
    from services import mailings
    from tests.conftest import say, settled

    boss = await make_staff(Role.ADMIN, language="en", email="boss@crm.example.ru")
    ids = []
    for name, data in (("Alpha", {"email": "a@alpha.ru"}), ("Beta", {"email": "b@beta.ru"}),
                       ("Ghost", {"email": "nobody@ghost.ru"}), ("Gamma", {})):
        ids.append((await client_svc.do_create_client(boss, {"name": name, **data})).client.id)
    secret = mail_service.settings.secret_key.get_secret_value()
    chat = boss.telegram_id
    controller, inbox = smtp_server(mail_service.smtp_port)
    try:
        await signed_in(mail_service, emulator, boss)
        c = mail_service.client
        tpl = await (await c.post("/api/v1/templates", json={
            "name": "News", "subject": "News for {{ client.name }}",
            "body": "Dear {{ client.name }}, our news."})).json()
        made = await (await c.post("/api/v1/mailings", json={
            "name": "November", "template_id": tpl["id"], "per_minute": 6000,
            "client_ids": ids})).json()
        listed = await say(emulator, chat, "/mailings")
        label = next(t for t in _buttons(listed) if "November" in t)
        card = await _press(emulator, chat, listed, label)
        assert "0/3 sent" in card["text"] and "▶️ Start" in _buttons(card)
        progress = await _press(emulator, chat, card, "▶️ Start")
        assert "0/3 sent" in progress["text"] and "⏸ Pause" in _buttons(progress)
        await settled(mail_service, emulator)
        mailing = await Mailing.get(id=made["id"])
        assert (mailing.state, mailing.progress_chat_id, mailing.progress_message_id) == (
            "running", chat, progress["message_id"])
        await mailings.pump(secret=secret, base_url="http://crm")
        mail_service.outbox.poke()
        await wait_until(lambda: len(inbox.messages) == 2, timeout=10)

        async def settled_outbox():
            return not await OutboundMessage.filter(state__in=["queued", "sending"]).exists()

        await wait_until(settled_outbox, timeout=10)
        await mailings.pump(secret=secret, base_url="http://crm")  # nobody left: done
        one, two = MailingProgress(mail_service.bot, mail_service.i18n, min_interval_s=0), \
            MailingProgress(mail_service.bot, mail_service.i18n, min_interval_s=0)
        await asyncio.gather(one.run_once(), two.run_once())
        await one.run_once()
        shown = emulator.get_message(chat, progress["message_id"])
        assert "2/3 sent, 1 failed, 1 skipped" in shown["text"] and "100%" in shown["text"]
        assert "edit_date" in shown and not _buttons(shown)  # ended: no more buttons
        summaries = [m for m in emulator.bot_messages(chat) if "is done" in m.get("text", "")]
        assert len(summaries) == 1
        text = summaries[0]["text"]
        assert "Sent: 2" in text and "Failed: 1" in text and "550" in text
        assert "Skipped: 1" in text and "no address: 1" in text
        assert (await Mailing.get(id=made["id"])).summary_sent_at is not None
        # started on the web page: the creator hears the end all the same
        second = await (await c.post("/api/v1/mailings", json={
            "name": "December", "template_id": tpl["id"], "client_ids": ids[3:]})).json()
        await c.post(f"/api/v1/mailings/{second['id']}/action", json={"action": "start"})
        await mailings.pump(secret=secret, base_url="http://crm")
        await one.run_once()
        await emulator.wait_for_bot_message(
            chat, predicate=lambda m: "December" in m.get("text", "") and "is done" in m["text"])
        # a progress message the person deleted is no longer edited, and nothing breaks
        third = await (await c.post("/api/v1/mailings", json={
            "name": "January", "template_id": tpl["id"], "client_ids": ids[:1]})).json()
        listed = await say(emulator, chat, "/mailings")
        label = next(t for t in _buttons(listed) if "January" in t)
        card = await _press(emulator, chat, listed, label)
        progress = await _press(emulator, chat, card, "▶️ Start")
        await settled(mail_service, emulator)
        await mail_service.bot.delete_message(chat, progress["message_id"])
        await mailings.pump(secret=secret, base_url="http://crm")
        await one.run_once()
        assert (await Mailing.get(id=third["id"])).progress_message_id is None
    finally:
        controller.stop()


async def test_mailings_in_the_bot_are_for_admins_and_heads(mail_service, emulator,
                                                            make_staff):
    from tests.conftest import say

    ivan = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, ivan.telegram_id, "/mailings")
    assert "administrators and heads" in reply["text"]
