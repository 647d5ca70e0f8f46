"""The outbox (notifications/outbox.py) against aiosmtpd, a real SMTP server with AUTH
that counts its sessions: each email is sent once, over a few reused sessions that are
all closed afterwards; a refused recipient or a 5xx fails that message with the
server's reason, a 4xx, a server that is down or a refused login queues it again with
backoff until the tenth try; a file or a header that cannot be sent fails that message
only; a message taken over by another replica is not sent twice; SMS go through the
provider, with the same rules. The clock is frozen (``utcnow`` as the outbox and the
claim loop see it), so the times are exact on any date."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from pydantic import SecretStr

from models import Channel, OutboundMessage, OutboxState
from notifications import claimloop
from notifications import outbox as outbox_module
from notifications.outbox import Outbox, SmtpConfig
from notifications.sms import SmsError
from services.clock import utcnow
from services.storage import LocalFileStore
from tests.conftest import wait_until
from tests.test_claimloop import Clock

SENDER = "Kontakt <crm@example.ru>"


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(utcnow().replace(microsecond=0))
    monkeypatch.setattr(claimloop, "utcnow", frozen)
    monkeypatch.setattr(outbox_module, "utcnow", frozen)
    return frozen


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the server saw. RCPT ``nobody@...`` is refused; DATA for ``rNNN@...`` is
    answered with the code NNN; everything else is accepted."""

    def __init__(self) -> None:
        self.messages: list = []  # (peer, envelope)
        self.opened = 0
        self.closed = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        local = envelope.rcpt_tos[0].split("@")[0]
        if local[:1] == "r" and local[1:].isdigit():
            return f"{local[1:]} answered {local[1:]}"
        self.messages.append((session.peer, envelope))
        return "250 OK"

    @property
    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)
                for _peer, e in self.messages]

    @property
    def sessions_used(self) -> int:
        return len({peer for peer, _e in self.messages})


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"crm" and \
        auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # refused: the server says 535


class CountingController(Controller):
    def factory(self):
        box = self.handler

        class Counting(SMTP):
            def connection_made(self, transport):
                box.opened += 1
                super().connection_made(transport)

            def connection_lost(self, error):
                box.closed += 1
                super().connection_lost(error)

        return Counting(self.handler, **self.SMTP_kwargs)


def _server(**auth) -> tuple[Controller, Mailbox]:
    box = Mailbox()
    box.port = _free_port()
    controller = CountingController(box, hostname="127.0.0.1", port=box.port, **auth)
    controller.start()
    deadline = time.monotonic() + 10  # start() made a connection of its own to check
    while box.closed < box.opened and time.monotonic() < deadline:
        time.sleep(0.01)
    box.opened = box.closed = 0
    return controller, box


@pytest.fixture
def smtp():
    """The server, with AUTH required (login crm, password s3cret)."""
    controller, box = _server(authenticator=_auth, auth_require_tls=False,
                              auth_required=True)
    yield box
    controller.stop()


@pytest.fixture
def smtp_without_auth():
    controller, box = _server()
    yield box
    controller.stop()


def make_outbox(port: int, *, password: str = "s3cret", **kw) -> Outbox:
    return Outbox(SmtpConfig("127.0.0.1", port, "none", "crm", password, SENDER), **kw)


async def queued(clock, to: str = "client@example.ru", *, channel: Channel = Channel.EMAIL,
                 **fields) -> OutboundMessage:
    values = {"subject": f"For {to}", "body": f"Hello, {to}", **fields}
    return await OutboundMessage.create(channel=channel, to_address=to,
                                        next_attempt_at=clock.now, **values)


async def all_closed(box: Mailbox) -> None:
    """Every session the outbox opened is closed again (none left hanging)."""
    await wait_until(lambda: box.closed == box.opened)


async def get(message: OutboundMessage) -> OutboundMessage:
    return await OutboundMessage.get(id=message.id)


# --- sent once, over a few sessions ----------------------------------------------------
async def test_emails_go_once_over_a_few_reused_sessions(database_url, smtp, clock):
    rows = [await queued(clock, f"c{i}@example.ru") for i in range(12)]
    out = make_outbox(smtp.port)  # five sessions by default
    assert await out.run_once() == 12
    assert sorted(e.rcpt_tos[0] for _p, e in smtp.messages) == sorted(
        r.to_address for r in rows)
    assert smtp.opened == 5 and smtp.sessions_used == 5
    await all_closed(smtp)
    by_to = {m["To"]: m for m in smtp.parsed}
    for row in rows:
        sent = await get(row)
        assert (sent.state, sent.attempts, sent.sent_at) == (OutboxState.SENT, 1, clock.now)
        assert sent.claimed_until is None
        got = by_to[row.to_address]
        assert sent.provider_id == got["Message-ID"]
        assert (got["From"], got["Subject"]) == (SENDER, f"For {row.to_address}")
        assert got.get_content().strip() == f"Hello, {row.to_address}"
    assert out.sent == 12
    assert await out.run_once() == 0 and len(smtp.messages) == 12 and smtp.opened == 5


async def test_html_and_reply_to_only_when_given(database_url, smtp, clock):
    plain = await queued(clock, "plain@example.ru")
    rich = await queued(clock, "rich@example.ru", html="<p>Hello <b>you</b></p>",
                        reply_to="ivan@crm.example.ru")
    await make_outbox(smtp.port).run_once()
    got = {m["To"]: m for m in smtp.parsed}
    p, r = got[plain.to_address], got[rich.to_address]
    assert p.get_content_type() == "text/plain" and p["Reply-To"] is None
    assert r.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in r.iter_parts()] == ["text/plain",
                                                                    "text/html"]
    assert r.get_body(("html",)).get_content().strip() == "<p>Hello <b>you</b></p>"
    assert r["Reply-To"] == "ivan@crm.example.ru"


async def test_a_round_takes_at_most_100(database_url, clock):
    await OutboundMessage.bulk_create([OutboundMessage(
        channel=Channel.EMAIL, to_address=f"c{i}@example.ru", body="x",
        next_attempt_at=clock.now) for i in range(101)])
    out = make_outbox(_free_port())
    assert len(await out.claim()) == 100
    assert len(await out.claim()) == 1


async def test_a_message_sent_on_its_own_logs_in_too(database_url, smtp, clock):
    row = await queued(clock, "alone@example.ru")
    out = make_outbox(smtp.port)
    [claimed] = await out.claim()
    assert await out._deliver(claimed)  # no session at hand: one of its own
    assert [e.rcpt_tos for _p, e in smtp.messages] == [["alone@example.ru"]]
    assert (await get(row)).state == OutboxState.SENT
    await all_closed(smtp)


# --- the server says no ----------------------------------------------------------------
async def test_a_refused_recipient_fails_and_the_next_goes_on(database_url, smtp, clock):
    ghost = await queued(clock, "nobody@ghost.ru")
    fine = await queued(clock, "fine@example.ru")
    out = make_outbox(smtp.port, concurrency=1)
    assert await out.run_once() == 2
    failed = await get(ghost)
    assert failed.state == OutboxState.FAILED and failed.attempts == 1
    assert failed.last_error == "nobody@ghost.ru: 550 5.1.1 no such mailbox"
    assert (await get(fine)).state == OutboxState.SENT
    assert smtp.opened == 2  # after an error the next message opens a fresh session
    await all_closed(smtp)


async def test_5xx_fails_at_once_4xx_is_tried_again(database_url, smtp, clock):
    rows = {code: await queued(clock, f"r{code}@example.ru") for code in (451, 499, 500, 599)}
    fine = await queued(clock, "fine@example.ru")
    out = make_outbox(smtp.port, concurrency=1)
    assert await out.run_once() == 5
    for code in (451, 499):
        row = await get(rows[code])
        assert (row.state, row.attempts) == (OutboxState.QUEUED, 1)
        assert row.next_attempt_at == clock.now + timedelta(seconds=30)
        assert row.last_error == f"{code} answered {code}" and row.claimed_until is None
    for code in (500, 599):
        row = await get(rows[code])
        assert (row.state, row.attempts) == (OutboxState.FAILED, 1)
        assert row.last_error == f"{code} answered {code}"
    assert (await get(fine)).state == OutboxState.SENT and len(smtp.messages) == 1
    assert smtp.opened == 5
    await all_closed(smtp)


async def test_a_server_that_is_down_backs_off_then_gives_up(database_url, clock):
    rows = {n: await queued(clock, f"c{n}@example.ru", attempts=n) for n in (0, 3, 8, 9)}
    out = make_outbox(_free_port(), concurrency=1)  # nothing listens there
    assert await out.run_once() == 4
    for n, delay in ((0, 30), (3, 240), (8, 30 * 2 ** 8)):
        row = await get(rows[n])
        assert (row.state, row.attempts) == (OutboxState.QUEUED, n + 1)
        assert row.next_attempt_at == clock.now + timedelta(seconds=delay)
        assert row.last_error.startswith("SMTPConnect")
    last = await get(rows[9])  # the tenth try: failed with the reason
    assert (last.state, last.attempts) == (OutboxState.FAILED, 10)
    assert last.last_error.startswith("SMTPConnect") and last.claimed_until is None
    clock.advance(days=1)
    assert {r.id for r in await out.claim()} == {rows[n].id for n in (0, 3, 8)}


async def test_a_refused_login_queues_every_message_again(database_url, smtp, clock):
    rows = [await queued(clock, f"c{i}@example.ru") for i in range(2)]
    out = make_outbox(smtp.port, password="wrong", concurrency=1)
    assert await out.run_once() == 2
    for row in rows:
        got = await get(row)
        assert (got.state, got.attempts) == (OutboxState.QUEUED, 1)
        assert got.last_error.startswith("login refused: 535")
    assert smtp.messages == []
    await all_closed(smtp)


async def test_a_server_without_login_is_tried_again_and_let_go(database_url,
                                                                 smtp_without_auth, clock):
    """A user is configured but the server offers no AUTH: queued again with the reason,
    and the session it opened is closed, not left hanging."""
    row = await queued(clock)
    out = make_outbox(smtp_without_auth.port)
    assert await out.run_once() == 1
    got = await get(row)
    assert (got.state, got.attempts) == (OutboxState.QUEUED, 1)
    assert "AUTH extension is not supported" in got.last_error
    assert smtp_without_auth.opened == 1 and smtp_without_auth.messages == []
    await all_closed(smtp_without_auth)


async def test_a_connection_lost_while_sending_is_tried_again(database_url, clock):
    class Lost:
        async def send_message(self, message):
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")

    row = await queued(clock)
    out = make_outbox(_free_port())
    [claimed] = await out.claim()
    assert await out._deliver(claimed, Lost()) is False  # that session is done for
    got = await get(row)
    assert (got.state, got.attempts) == (OutboxState.QUEUED, 1)
    assert got.last_error == "SMTPServerDisconnected: Connection lost"


# --- what is sent with the email -------------------------------------------------------
async def document(tmp_path, filename: str, mime_type: str, content: bytes | None):
    from models import Document

    path = f"docs/{filename}"
    if content is not None:
        (tmp_path / "docs").mkdir(exist_ok=True)
        (tmp_path / path).write_bytes(content)
    return await Document.create(filename=filename, storage_path=path, mime_type=mime_type,
                                 size=len(content or b""), sha256="0" * 64)


async def test_attached_files_go_with_their_names_and_types(database_url, smtp, clock,
                                                             tmp_path):
    files = [("offer.pdf", "application/pdf", b"%PDF offer", "application/pdf"),
             ("price.csv", "text/csv; charset=utf-8", b"rose;10\n", "text/csv"),
             ("blob", "", b"\x00\x01", "application/octet-stream"),
             ("odd.txt", "text/x y", b"odd", "application/octet-stream"),
             ("deep", "a/b/c", b"deep", "application/octet-stream")]
    docs = [await document(tmp_path, name, mime, content) for name, mime, content, _t in files]
    row = await queued(clock, attachments=[d.id for d in docs])
    await make_outbox(smtp.port, file_store=LocalFileStore(tmp_path)).run_once()
    assert (await get(row)).state == OutboxState.SENT
    [got] = smtp.parsed
    assert [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
            for p in got.iter_attachments()] == [(name, kind, content)
                                                 for name, _m, content, kind in files]
    assert got.get_body(("plain",)).get_content().strip() == "Hello, client@example.ru"


async def test_a_message_that_cannot_be_built_fails_alone(database_url, smtp, clock,
                                                          tmp_path):
    """A file deleted or gone from the disk, a header Python's email refuses: that
    message fails naming why, before any SMTP command, and the session goes on."""
    gone = await document(tmp_path, "act.pdf", "application/pdf", None)
    deleted = await queued(clock, "a@example.ru", attachments=[987654])
    missing = await queued(clock, "b@example.ru", attachments=[gone.id])
    header = await queued(clock, "c@example.ru", subject="Offer\nBcc: all@evil.example")
    fine = await queued(clock, "d@example.ru")
    out = make_outbox(smtp.port, file_store=LocalFileStore(tmp_path), concurrency=1)
    assert await out.run_once() == 4
    reasons = {}
    for row in (deleted, missing, header):
        got = await get(row)
        assert (got.state, got.attempts) == (OutboxState.FAILED, 1)
        reasons[row.to_address] = got.last_error
    assert reasons["a@example.ru"] == "attachment 987654: the document was deleted"
    assert reasons["b@example.ru"] == ("attachment «act.pdf»: the file is missing from the "
                                       "file store")
    assert reasons["c@example.ru"].startswith("cannot build the email: ")
    assert (await get(fine)).state == OutboxState.SENT
    assert [e.rcpt_tos for _p, e in smtp.messages] == [["d@example.ru"]]
    assert smtp.opened == 1
    await all_closed(smtp)


async def test_files_need_a_data_folder(database_url, smtp, clock, tmp_path):
    doc = await document(tmp_path, "offer.pdf", "application/pdf", b"%PDF")
    with_file = await queued(clock, "a@example.ru", attachments=[doc.id])
    without = await queued(clock, "b@example.ru")
    await make_outbox(smtp.port).run_once()  # no file store configured
    failed = await get(with_file)
    assert failed.state == OutboxState.FAILED
    assert failed.last_error == "attachments: no file store is configured"
    assert (await get(without)).state == OutboxState.SENT


async def test_a_long_message_id_is_cut_to_the_column(database_url, smtp, clock,
                                                      monkeypatch):
    long_id = "<" + "x" * 250 + "@example.ru>"
    monkeypatch.setattr(outbox_module, "make_msgid", lambda idstring, domain=None: long_id)
    row = await queued(clock)
    await make_outbox(smtp.port).run_once()
    got = await get(row)
    assert got.state == OutboxState.SENT and got.provider_id == long_id[:200]


# --- the lease -------------------------------------------------------------------------
async def test_a_message_taken_over_elsewhere_is_not_sent_twice(database_url, smtp, clock):
    """Our batch outlived its lease: the other replica took the first message, so we
    skip it at the moment of sending and go on with the next in the same session."""
    first = await queued(clock, "first@example.ru")
    second = await queued(clock, "second@example.ru")
    slow, fast = make_outbox(smtp.port, replica="slow"), make_outbox(smtp.port, replica="fast",
                                                                     batch=1)
    in_hand = await slow.claim()
    clock.advance(minutes=2, seconds=1)
    [taken] = await fast.claim()
    assert taken.id == first.id
    await slow._email_worker(in_hand)
    assert [e.rcpt_tos for _p, e in smtp.messages] == [["second@example.ru"]]
    assert smtp.opened == 1 and slow.sent == 1
    await fast._email_worker([taken])
    assert sorted(e.rcpt_tos[0] for _p, e in smtp.messages) == ["first@example.ru",
                                                                "second@example.ru"]
    assert (await get(first)).state == (await get(second)).state == OutboxState.SENT
    await all_closed(smtp)


# --- SMS and what an outbox may claim --------------------------------------------------
class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.answers: dict[str, object] = {}  # number → an SmsError or a provider id

    async def send(self, to: str, text: str) -> str:
        answer = self.answers.get(to, f"id-{len(self.sent) + 1}")
        if isinstance(answer, SmsError):
            raise answer
        self.sent.append((to, text))
        return answer


async def test_sms_are_sent_failed_or_tried_again(database_url, clock):
    sms = FakeSms()
    out = Outbox(SmtpConfig(None, 25, "none", None, None, SENDER), sms=sms)
    mail = await queued(clock, "client@example.ru")  # no SMTP here: left queued
    ok = await queued(clock, "+70000000001", channel=Channel.SMS)
    no_id = await queued(clock, "+70000000002", channel=Channel.SMS)
    long_id = await queued(clock, "+70000000003", channel=Channel.SMS)
    bad = await queued(clock, "+70000000004", channel=Channel.SMS)
    later = await queued(clock, "+70000000005", channel=Channel.SMS, attempts=2)
    bad_long = await queued(clock, "+70000000006", channel=Channel.SMS)
    later_long = await queued(clock, "+70000000007", channel=Channel.SMS)
    sms.answers = {
        no_id.to_address: "", long_id.to_address: "y" * 250,
        bad.to_address: SmsError("invalid number", permanent=True),
        later.to_address: SmsError("provider busy", permanent=False),
        bad_long.to_address: SmsError("z" * 600, permanent=True),
        later_long.to_address: SmsError("w" * 600, permanent=False)}
    assert out.can_run()
    assert await out.run_once() == 7
    sent = {r.id: await get(r) for r in (ok, no_id, long_id)}
    assert [(s.state, s.attempts) for s in sent.values()] == [(OutboxState.SENT, 1)] * 3
    assert [s.provider_id for s in sent.values()] == ["id-1", None, "y" * 200]
    assert sms.sent[0] == (ok.to_address, ok.body) and out.sent == 3
    failed = await get(bad)
    assert (failed.state, failed.attempts, failed.last_error) == (
        OutboxState.FAILED, 1, "invalid number")
    again = await get(later)
    assert (again.state, again.attempts, again.last_error) == (
        OutboxState.QUEUED, 3, "provider busy")
    assert again.next_attempt_at == clock.now + timedelta(minutes=2)
    assert (await get(bad_long)).last_error == "z" * 500
    assert (await get(later_long)).last_error == "w" * 500
    untouched = await get(mail)
    assert (untouched.state, untouched.claimed_by) == (OutboxState.QUEUED, None)


async def test_an_outbox_claims_only_what_it_can_send(database_url, smtp, clock):
    mail = await queued(clock, "client@example.ru")
    text = await queued(clock, "+70000000001", channel=Channel.SMS)
    email_only = make_outbox(smtp.port)
    assert email_only.can_run()
    assert await email_only.run_once() == 1
    assert (await get(mail)).state == OutboxState.SENT
    assert ((await get(text)).state, (await get(text)).claimed_by) == (OutboxState.QUEUED,
                                                                       None)
    nothing = Outbox(SmtpConfig(None, 25, "none", None, None, SENDER))
    assert not nothing.can_run()
    nothing.start()
    assert nothing._task is None


def test_smtp_settings_are_read_with_the_password():
    base = dict(smtp_host="mail.example.ru", smtp_port=465, smtp_security="tls",
                smtp_user="crm", mail_from=SENDER)
    config = SmtpConfig.from_settings(SimpleNamespace(**base, smtp_password=SecretStr("pw")))
    assert (config.host, config.port, config.security, config.user, config.password,
            config.sender) == ("mail.example.ru", 465, "tls", "crm", "pw", SENDER)
    assert SmtpConfig.from_settings(SimpleNamespace(**base, smtp_password=None)).password \
        is None


def test_the_message_id_takes_the_senders_domain_without_a_dns_lookup(monkeypatch):
    """Issue 19: make_msgid without a domain asks DNS for the host's name on every email;
    the outbox gives it the sender's domain instead."""
    import socket

    from notifications.outbox import SmtpConfig

    def no_dns(*_a, **_k):
        raise AssertionError("a DNS lookup per email")

    monkeypatch.setattr(socket, "getfqdn", no_dns)
    monkeypatch.setattr(socket, "gethostbyaddr", no_dns)
    cfg = SmtpConfig("smtp.example.ru", 587, "starttls", None, None,
                     "Компания <sales@example.ru>")
    assert cfg.msgid_domain == "example.ru"
    out = outbox_module.Outbox(cfg)
    from models.messaging import OutboundMessage

    email = out._email(OutboundMessage(id=7, to_address="c@x.ru", subject="S", body="B"))
    assert email["Message-ID"].endswith("@example.ru>")
    assert SmtpConfig(None, 25, "none", None, None, "").msgid_domain == "kontakt.local"
