"""The outbox (A-18): every email goes through ``outbound_message``.

Like the reminder loop: the database is the source of truth; the loop claims due
rows with one conditional UPDATE stamped with a per-round token (so of several
replicas each message is claimed once), renews the lease just before each send, and
marks it sent with the SMTP Message-ID. An SMTP server that is down or answers 4xx:
retried with backoff (30 s, 1, 2, 4... min, 10 tries); a 5xx for the recipient (a
bad address): failed at once with the server's reason. A crash between the send and
the mark leaves the row "sending" until its lease runs out; it is then sent again —
the one window where a duplicate is possible, as with any SMTP client.

Files attached to an email (``outbound_message.attachments``, document ids) are read
from the file store (the data folder or an S3 bucket) when the message is built, each
added with its name and type; a file deleted since, or missing from the store, fails
that message with the reason (the rest go on); a store that cannot be reached is
retried like an SMTP server that is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import aiosmtplib
from tortoise.expressions import Q

from models.messaging import Channel, OutboundMessage, OutboxState
from notifications.claimloop import BatchedMarks, ClaimLoop
from services.clock import utcnow
from services.errors import NotFound
from services.storage import FileStore, StorageUnavailable

log = logging.getLogger("kontakt.outbox")
MAX_TRIES = 10


class AttachmentMissing(Exception):
    """A file of the email cannot be read: the message fails with this reason."""


class SmtpConfig:
    def __init__(self, host: str | None, port: int, security: str, user: str | None,
                 password: str | None, sender: str) -> None:
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.sender = user, password, sender
        # the Message-ID's domain: the sender's (make_msgid would otherwise look the host's
        # name up, a blocking DNS call for every email — issue 19's profile of a mailing)
        address = parseaddr(sender)[1]
        self.msgid_domain = address.rpartition("@")[2] or "kontakt.local"

    @classmethod
    def from_settings(cls, settings) -> SmtpConfig:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password \
            else None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_security,
                   settings.smtp_user, password, settings.mail_from)


class Outbox(ClaimLoop):
    model = OutboundMessage
    waiting = OutboxState.QUEUED
    sending = OutboxState.SENDING
    name = "outbox"

    def __init__(self, smtp: SmtpConfig, *, sms=None, replica: str | None = None,
                 batch: int = 100, concurrency: int = 5,
                 file_store: FileStore | None = None) -> None:
        super().__init__(replica=replica, batch=batch)
        self.smtp = smtp
        self.sms = sms  # a notifications.sms provider, or None
        self.concurrency = concurrency
        self.file_store = file_store  # where documents are stored (attachments)

    def can_run(self) -> bool:
        return bool(self.smtp.host) or self.sms is not None

    def scope(self) -> Q:
        return Q(channel__in=self._channels())  # the rest waits queued, unclaimed

    def _channels(self) -> list[str]:
        """Only what can be sent now is claimed; the rest waits queued."""
        return [c for c, ready in ((Channel.EMAIL, bool(self.smtp.host)),
                                   (Channel.SMS, self.sms is not None)) if ready]

    async def run_once(self) -> int:
        claimed = await self.claim()
        if not claimed:
            return 0
        emails = [m for m in claimed if m.channel == Channel.EMAIL]
        others = [m for m in claimed if m.channel != Channel.EMAIL]
        gate = asyncio.Semaphore(self.concurrency)
        marks = BatchedMarks(self._mark_sent)

        async def one(message: OutboundMessage) -> None:
            async with gate:
                await self._deliver(message, marks=marks)

        # emails: a few SMTP sessions, each sending many messages in turn
        workers = [self._email_worker(emails[i::self.concurrency], marks)
                   for i in range(min(self.concurrency, len(emails)))]
        try:
            await asyncio.gather(*workers, *(one(m) for m in others))
        finally:
            await marks.close()
        return len(claimed)

    async def _mark_sent(self, done: list[tuple[OutboundMessage]]) -> None:
        """One batch of sent messages marked (each with its own sent_at, provider id and
        attempts), those still claimed by their round only."""
        await self.mark_sent([m for (m,) in done], ["sent_at", "provider_id", "attempts"],
                             OutboxState.SENT)

    async def _sent(self, message: OutboundMessage, provider_id: str | None,
                    marks: BatchedMarks | None) -> None:
        message.sent_at, message.provider_id = utcnow(), provider_id
        message.attempts = message.attempts + 1
        if marks is None:  # one on its own: marked at once
            await self._mark_sent([(message,)])
        else:
            marks.add(message)

    def _session(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(hostname=self.smtp.host, port=self.smtp.port,
                               start_tls=self.smtp.security == "starttls",
                               use_tls=self.smtp.security == "tls", timeout=30)

    async def _email_worker(self, messages: list[OutboundMessage],
                            marks: BatchedMarks | None = None) -> None:
        session: aiosmtplib.SMTP | None = None
        for message in messages:
            if session is None:
                session = self._session()
                try:
                    await session.connect()
                    if self.smtp.user:
                        await session.login(self.smtp.user, self.smtp.password or "")
                except aiosmtplib.SMTPAuthenticationError as exc:
                    await self._backoff(message, f"login refused: {exc.code} {exc.message}")
                    with contextlib.suppress(Exception):
                        session.close()  # connected, but refused: not left open
                    session = None
                    continue
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    await self._backoff(message, f"{type(exc).__name__}: {exc}")
                    with contextlib.suppress(Exception):
                        session.close()
                    session = None
                    continue
            if not await self._deliver(message, session, marks=marks):
                with contextlib.suppress(Exception):
                    session.close()
                session = None  # the next message opens a fresh session
        if session is not None:
            with contextlib.suppress(Exception):
                await session.quit()

    async def _files(self, message: OutboundMessage) -> list[tuple[str, str, bytes]]:
        """The attached documents as (filename, mime type, bytes), in the order chosen;
        AttachmentMissing naming the first that cannot be read."""
        from models import Document

        ids = [i for i in (message.attachments or []) if isinstance(i, int)]
        if not ids:
            return []  # mutation: equivalent — the only caller, _email, takes None as no files
        if self.file_store is None:
            raise AttachmentMissing("attachments: no file store is configured")
        docs = {d.id: d for d in await Document.filter(id__in=ids)}
        out = []
        for doc_id in ids:
            doc = docs.get(doc_id)
            if doc is None:
                raise AttachmentMissing(f"attachment {doc_id}: the document was deleted")
            try:  # StorageUnavailable (the store is away for a while) goes up: a retry
                content = await self.file_store.read(doc.storage_path)
            except NotFound:
                raise AttachmentMissing(f"attachment «{doc.filename}»: the file is missing "
                                        "from the file store") from None
            out.append((doc.filename, doc.mime_type, content))
        return out

    def _email(self, message: OutboundMessage,
               files: list[tuple[str, str, bytes]] | None = None) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.smtp.sender
        email["To"] = message.to_address
        email["Subject"] = message.subject
        if message.reply_to:
            email["Reply-To"] = message.reply_to
        email["Message-ID"] = make_msgid(idstring=f"kontakt-{message.id}",
                                           domain=self.smtp.msgid_domain)
        email.set_content(message.body)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        for filename, mime_type, content in files or []:
            maintype, _sep, subtype = (mime_type or "").split(";")[0].strip().partition("/")
            if not maintype or not subtype or "/" in subtype or " " in subtype:
                maintype, subtype = "application", "octet-stream"
            email.add_attachment(content, maintype=maintype, subtype=subtype,
                                 filename=filename)
        return email

    async def _deliver(self, message: OutboundMessage,
                       session: aiosmtplib.SMTP | None = None, *,
                       marks: BatchedMarks | None = None) -> bool:
        """Send one message; False when the SMTP session should not be used again."""
        if not await self.still_ours(message, utcnow()):
            return True  # claimed again elsewhere after our lease ran out
        if message.channel == Channel.SMS:
            await self._deliver_sms(message, marks)
            return True  # mutation: equivalent — SMS come from one(), which ignores the result
        try:
            email = self._email(message, await self._files(message))
        except AttachmentMissing as exc:
            await self._fail(message, str(exc))
            return True
        except StorageUnavailable as exc:
            await self._backoff(message, f"attachments: {exc}")
            return True
        except (ValueError, TypeError) as exc:  # a header Python's email refuses
            await self._fail(message, f"cannot build the email: {exc}")
            return True
        try:
            if session is not None:
                await session.send_message(email)
            else:
                await aiosmtplib.send(
                    email, hostname=self.smtp.host, port=self.smtp.port,
                    username=self.smtp.user or None, password=self.smtp.password or None,
                    start_tls=self.smtp.security == "starttls",
                    use_tls=self.smtp.security == "tls", timeout=30)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            await self._fail(message, reasons or str(exc))
            return False  # mutation: equivalent — the caller tests `if not`
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                await self._fail(message, f"{exc.code} {exc.message}")
            else:
                await self._backoff(message, f"{exc.code} {exc.message}")
            return False  # mutation: equivalent — the caller tests `if not`
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._backoff(message, f"{type(exc).__name__}: {exc}")
            return False
        await self._sent(message, email["Message-ID"][:200], marks)
        return True

    async def _deliver_sms(self, message: OutboundMessage,
                           marks: BatchedMarks | None = None) -> None:
        from notifications.sms import SmsError

        try:
            provider_id = await self.sms.send(message.to_address, message.body)
        except SmsError as exc:
            if exc.permanent:
                await self._fail(message, exc.reason)
            else:
                await self._backoff(message, exc.reason)
            return
        await self._sent(message, provider_id[:200] or None, marks)

    async def _backoff(self, message: OutboundMessage, reason: str) -> None:
        if message.attempts + 1 >= MAX_TRIES:
            await self._fail(message, reason)
            return
        delay = timedelta(seconds=30) * (2 ** message.attempts)
        log.warning("message %s: %s; again in %s", message.id, reason, delay)
        await OutboundMessage.filter(id=message.id, claimed_by=message.claimed_by,
                                     state=OutboxState.SENDING).update(
            state=OutboxState.QUEUED, next_attempt_at=utcnow() + delay, claimed_until=None,
            attempts=message.attempts + 1, last_error=reason[:500])

    async def _fail(self, message: OutboundMessage, reason: str) -> None:
        log.info("message %s failed: %s", message.id, reason)
        await OutboundMessage.filter(id=message.id, claimed_by=message.claimed_by,
                                     state=OutboxState.SENDING).update(
            state=OutboxState.FAILED, claimed_until=None, attempts=message.attempts + 1,
            last_error=reason[:500])
