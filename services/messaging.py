"""Email to clients (A-18): templates rendered in a sandbox, a message from a client's
card, a persistent outbox.

Rules:

* Templates are Jinja2 (rendered by services.templating), per channel and language,
  edited by admins. Variables:
  ``client`` (name, phone, email, address), ``contact`` (first_name, last_name,
  middle_name, position), ``sender`` (full_name, phone, email, position),
  ``activity`` (title, starts_at as text, location); the due-date reminders add
  ``invoice`` and ``company`` (services.due_reminder_settings). Rendering is sandboxed (no
  attribute of Python internals is reachable) and strict: a missing variable is an
  error naming it, shown at preview and at save — never an empty hole in a sent
  message. A syntax error is named with its line.
* Sending needs an address: the contact's first email, else the client's. The
  message is queued in the outbox in the same transaction as its audit row (the
  client's timeline shows it); the front end wakes the sender after the commit.
  Reply-To is the sending manager's email, when they have one.
* An email may carry files of the client (its own, its contacts', those of its
  activities the sender sees): at most ten, 20 MB together; an id that is not such a
  file is refused naming it. The outbox reads them from the data folder when sending.
  An SMS carries no files.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models import AuditLog, ContactPerson, Document, Role, User
from models.messaging import Channel, MessageTemplate, OutboundMessage
from services.clients import get_client, normalize_email
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.templating import MAX_BODY, Rendered, render, render_fields

MAX_ATTACHMENTS = 10
MAX_ATTACHMENTS_SIZE = 20 * 1024 * 1024  # what most mail servers still accept


async def context_for(actor: User, client_id: int, contact_id: int | None = None,
                      activity_id: int | None = None) -> dict[str, Any]:
    """The variables of a message to a client (only what the actor may see)."""
    from services.clients import address_of

    client = await get_client(actor, client_id)
    contact = None
    if contact_id:
        contact = await ContactPerson.get_or_none(id=contact_id, client_id=client.id,
                                                  archived_at=None)
        if contact is None:
            raise ValidationFailed("contact", N_("is not a contact person of the client"))
    ctx: dict[str, Any] = {
        "client": {"name": client.name, "phone": client.phone or "",
                   "email": client.email or "", "address": await address_of(client)},
        "sender": {"full_name": actor.full_name, "phone": actor.phone or "",
                   "email": actor.email or ""},
    }
    if contact is not None:
        ctx["contact"] = {"first_name": contact.first_name,
                          "last_name": contact.last_name or "",
                          "middle_name": contact.middle_name or "",
                          "position": contact.position or ""}
    if activity_id:
        from kontakt.formatting import when_text
        from services.activities import get_activity

        activity = await get_activity(actor, activity_id)
        ctx["activity"] = {"title": activity.title, "location": activity.location or "",
                           "starts_at": when_text(activity.starts_at, actor.timezone,
                                                  str(actor.language))
                           if activity.starts_at else ""}
    return ctx


# --- templates (admins) --------------------------------------------------------------
SAMPLE = {
    "client": {"name": "ООО «Пример»", "phone": "+74950000000", "email": "info@example.ru",
               "address": "Москва, Тверская ул., 1"},
    "contact": {"first_name": "Иван", "last_name": "Петров", "middle_name": "Сергеевич",
                "position": "Директор"},
    "sender": {"full_name": "Анна Смирнова", "phone": "+79160000000",
               "email": "anna@example.ru"},
    "activity": {"title": "Встреча", "location": "Офис", "starts_at": "пт, 27 нояб., 15:00"},
    # the due-date reminders' own (services.due_reminders)
    "invoice": {"number": "15", "due": "27.11.2026", "amount": "12\u00a0500\u00a0₽",
                "currency": "RUB", "days_overdue": 3},
    "company": "ООО «Контакт»",
}


async def preview_template(actor: User, channel: str, subject: str, body: str,
                           html: str | None) -> Rendered:
    """The template editor's live preview, with sample data: for those who may edit
    templates (admins)."""
    if actor.role != Role.ADMIN or not actor.is_active:
        raise PermissionDenied("only admins edit templates")
    email = channel == Channel.EMAIL
    return await render(subject if email else "", body, html if email else None, SAMPLE)


async def do_save_template(actor: User, data: dict[str, Any],
                           template_id: int | None = None) -> MessageTemplate:
    """Check the template renders with every variable present (a typo in a variable
    name is named now, not when a client gets the message)."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit templates")
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", N_("one to 200 characters"))
    channel = data.get("channel", "email")
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValidationFailed("channel", N_("email or sms"))
    language = data.get("language", "ru")
    if language not in ("ru", "uk", "en"):
        raise ValidationFailed("language", N_("ru, uk or en"))
    body = str(data.get("body") or "")
    if not body.strip() or len(body) > MAX_BODY:
        raise ValidationFailed("body", N_("is empty or too long"))
    subject = str(data.get("subject") or "")
    if channel == Channel.EMAIL and not subject.strip():
        raise ValidationFailed("subject", N_("an email needs a subject"))
    html = data.get("html") or None
    await render(subject, body, html, SAMPLE)  # raises naming the field and the variable
    values = {"name": name, "channel": channel, "language": language, "subject": subject,
              "body": body, "html": html}
    taken = MessageTemplate.filter(name=name, channel=channel, language=language)
    if template_id is not None:
        taken = taken.exclude(id=template_id)
    if await taken.exists():  # a new template, or one renamed to a name taken
        raise ValidationFailed("name", N_("«{name}» already exists for {channel}/{language}"),
                               name=name, channel=channel, language=language)
    if template_id is None:
        return await MessageTemplate.create(created_by_id=actor.id, **values)
    template = await MessageTemplate.get_or_none(id=template_id)
    if template is None:
        raise NotFound("template")
    for key, value in values.items():
        setattr(template, key, value)
    await template.save()
    return template


async def do_archive_template(actor: User, template_id: int,
                              archived: bool = True) -> MessageTemplate:
    """Take a template out of the lists (messages sent with it keep their text);
    ``archived=False`` brings it back."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only admins edit templates")
    template = await MessageTemplate.get_or_none(id=template_id)
    if template is None:
        raise NotFound("template")
    template.archived = bool(archived)
    await template.save(update_fields=["archived", "updated_at"])
    return template


async def list_templates(channel: str | None = None, *,
                         archived: bool = False) -> list[MessageTemplate]:
    qs = MessageTemplate.filter(archived=archived)
    if channel:
        qs = qs.filter(channel=channel)
    return await qs.order_by("channel", "name", "language")


# --- a message from a card -------------------------------------------------------------
async def compose(actor: User, client_id: int, *, template_id: int | None = None,
                  subject: str | None = None, body: str | None = None,
                  html: str | None = None, contact_id: int | None = None,
                  activity_id: int | None = None) -> tuple[Rendered, MessageTemplate | None]:
    """The message as it will be sent (the preview), or ValidationFailed naming what is
    wrong: a missing variable, a syntax error, an empty body."""
    template = None
    if template_id:
        template = await MessageTemplate.get_or_none(id=template_id, archived=False,
                                                     channel=Channel.EMAIL)
        if template is None:
            raise ValidationFailed("template", N_("no such email template"))
        subject, body, html = template.subject, template.body, template.html
    if not (body or "").strip():
        raise ValidationFailed("body", N_("is empty"))
    if not (subject or "").strip():
        raise ValidationFailed("subject", N_("is empty"))
    context = await context_for(actor, client_id, contact_id, activity_id)
    return await render(subject or "", body or "", html, context), template


async def _addressee(actor: User, client_id: int, contact_id: int | None):
    """The client the actor may see, and the contact person (of that client) if given."""
    client = await get_client(actor, client_id)
    if not contact_id:
        return client, None
    contact = await ContactPerson.get_or_none(id=contact_id, client_id=client.id)
    if contact is None:
        raise ValidationFailed("contact", N_("is not a contact person of the client"))
    return client, contact


async def recipient(actor: User, client_id: int, contact_id: int | None) -> str:
    client, contact = await _addressee(actor, client_id, contact_id)
    if contact is not None and contact.emails:
        return normalize_email(contact.emails[0], "contact")
    if client.email:
        return normalize_email(client.email, "email")
    raise ValidationFailed("email", N_("the client has no email address"))


async def attachable_documents(actor: User, client_id: int, limit: int | None = None
                               ) -> list[Document]:
    """The files one may send with an email to the client, newest first: the client's,
    its contacts', and those of its activities the actor sees."""
    from services.documents import list_documents

    files = await list_documents(actor, client_id)
    return files[:limit] if limit else files


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


async def check_attachments(actor: User, client_id: int, ids: Any) -> list[Document]:
    """The documents ``ids`` name, in that order, when each is a file of the client the
    actor may see and together they are small enough to send; else ValidationFailed
    naming the first that is not."""
    if not ids:
        return []
    if not isinstance(ids, list | tuple) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationFailed("attachments", N_("a list of document ids"))
    wanted = list(dict.fromkeys(ids))  # each file once, in the order chosen
    if len(wanted) > MAX_ATTACHMENTS:
        raise ValidationFailed("attachments", N_("at most {max_attachments} files"),
                               max_attachments=MAX_ATTACHMENTS)
    allowed = {d.id: d for d in await attachable_documents(actor, client_id)}
    for doc_id in wanted:
        if doc_id not in allowed:
            raise ValidationFailed("attachments",
                                   N_("document {doc_id} is not a file of this client"),
                                   doc_id=doc_id)
    files = [allowed[i] for i in wanted]
    total = sum(d.size for d in files)
    if total > MAX_ATTACHMENTS_SIZE:
        raise ValidationFailed("attachments", N_("the files come to {mb} MB; at most {max_mb} MB "
                                                 "can be sent in one email"),
                               mb=_mb(total), max_mb=MAX_ATTACHMENTS_SIZE // (1024 * 1024))
    return files


async def do_send_email(actor: User, client_id: int, *, source: str = "web",
                        attachments: list[int] | None = None,
                        **message: Any) -> OutboundMessage:
    """A-18: queue an email to the client (or a contact person), with files of the
    client if asked; the audit row puts it on the client's timeline. Sent by the outbox
    after the commit."""
    rendered, template = await compose(actor, client_id, **message)
    to = await recipient(actor, client_id, message.get("contact_id"))
    files = await check_attachments(actor, client_id, attachments)
    shown = f"{to}: {rendered.subject[:200]}"
    if files:
        shown += " · 📎 " + ", ".join(d.filename for d in files)
    async with in_transaction():
        outbound = await OutboundMessage.create(
            channel=Channel.EMAIL, to_address=to, subject=rendered.subject[:300],
            body=rendered.body, html=rendered.html, reply_to=actor.email or None,
            client_id=client_id, contact_id=message.get("contact_id"),
            activity_id=message.get("activity_id"),
            template_id=template.id if template else None, created_by_id=actor.id,
            attachments=[d.id for d in files], next_attempt_at=utcnow())
        await AuditLog.create(user_id=actor.id, source=source, entity="message",
                              object_id=outbound.id, client_id=client_id, action="email",
                              field="to", new_value=shown[:1000])
    return outbound


async def client_messages(actor: User, client_id: int, limit: int = 50
                          ) -> list[OutboundMessage]:
    client = await get_client(actor, client_id)
    return await OutboundMessage.filter(client_id=client.id).order_by("-created_at",
                                                                      "-id").limit(limit)


# --- SMS -------------------------------------------------------------------------------
async def compose_sms(actor: User, client_id: int, *, template_id: int | None = None,
                      body: str | None = None, contact_id: int | None = None,
                      activity_id: int | None = None,
                      attachments: list[int] | None = None
                      ) -> tuple[str, MessageTemplate | None]:
    """The SMS text as it will be sent, or ValidationFailed naming what is wrong."""
    from services.sms import MAX_SEGMENTS, segments

    if attachments:
        raise ValidationFailed("attachments", N_("an SMS cannot carry files; send an email"))
    template = None
    if template_id:
        template = await MessageTemplate.get_or_none(id=template_id, archived=False,
                                                     channel=Channel.SMS)
        if template is None:
            raise ValidationFailed("template", N_("no such SMS template"))
        body = template.body
    if not (body or "").strip():
        raise ValidationFailed("body", N_("is empty"))
    context = await context_for(actor, client_id, contact_id, activity_id)
    text = (await render_fields([("body", body or "", False)], context))[0].strip()
    if segments(text).parts > MAX_SEGMENTS:
        raise ValidationFailed("body", N_("longer than {max_segments} SMS"),
                               max_segments=MAX_SEGMENTS)
    return text, template


async def sms_recipient(actor: User, client_id: int, contact_id: int | None) -> str:
    from services.clients import normalize_phone

    client, contact = await _addressee(actor, client_id, contact_id)
    if contact is not None and contact.phones:
        return normalize_phone(contact.phones[0], field="contact")
    if client.phone:
        return normalize_phone(client.phone)
    raise ValidationFailed("phone", N_("the client has no phone number"))


async def do_send_sms(actor: User, client_id: int, *, source: str = "web",
                      **message: Any) -> OutboundMessage:
    """A-18: queue an SMS (E.164) to the client or a contact; on the client's timeline."""
    message.pop("subject", None)
    message.pop("html", None)
    text, template = await compose_sms(actor, client_id, **message)
    to = await sms_recipient(actor, client_id, message.get("contact_id"))
    async with in_transaction():
        outbound = await OutboundMessage.create(
            channel=Channel.SMS, to_address=to, body=text, client_id=client_id,
            contact_id=message.get("contact_id"), activity_id=message.get("activity_id"),
            template_id=template.id if template else None, created_by_id=actor.id,
            next_attempt_at=utcnow())
        await AuditLog.create(user_id=actor.id, source=source, entity="message",
                              object_id=outbound.id, client_id=client_id, action="sms",
                              field="to", new_value=f"{to}: {text[:200]}")
    return outbound


# --- notices to the client before an activity ----------------------------------------
async def activity_notice(activity, limit: int = 5
                          ) -> tuple[MessageTemplate | None, list[OutboundMessage]]:
    """What the client of an activity (one the caller may see) is told before it: the
    template, when a notice is set, and the newest messages about the activity with
    their delivery state, oldest first."""
    template = None
    if activity.client_notice_hours and activity.client_notice_template_id:
        template = await MessageTemplate.get_or_none(id=activity.client_notice_template_id)
    messages = await OutboundMessage.filter(activity_id=activity.id).order_by(
        "-id").limit(limit)
    return template, list(reversed(messages))


async def activity_messages(activity_id: int) -> list[dict[str, Any]]:
    """Every message sent to the client about an activity (A-18), oldest first: its
    channel, to_address, state and last_error."""
    return await OutboundMessage.filter(activity_id=activity_id).order_by("id").values(
        "channel", "to_address", "state", "last_error")


async def send_client_notices(now=None) -> int:
    """A-18: activities with a client notice whose time has come: the message is
    queued once (the activity is claimed by a conditional UPDATE), in the author's name;
    a notice that cannot be sent (no address, a template error) is in the activity's
    history with the reason. Returns how many were queued."""
    from datetime import timedelta

    from models import OPEN_STATES, Activity
    from services.errors import DomainError

    now = now or utcnow()
    queued = 0
    candidates = await Activity.filter(
        state__in=list(OPEN_STATES), client_notified_at=None, rrule=None,
        client_id__not_isnull=True, client_notice_hours__not_isnull=True,
        client_notice_template_id__not_isnull=True, starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=168)).limit(500)
    for activity in candidates:
        if activity.starts_at - timedelta(hours=activity.client_notice_hours) > now:
            continue
        if not await Activity.filter(id=activity.id, client_notified_at=None).update(
                client_notified_at=now):
            continue  # another replica has it
        author = await User.get_or_none(id=activity.author_id)
        template = await MessageTemplate.get_or_none(id=activity.client_notice_template_id)
        try:
            if author is None or template is None:
                raise ValidationFailed("client_notice", N_("the author or template is gone"))
            send = do_send_sms if template.channel == Channel.SMS else do_send_email
            await send(author, activity.client_id, source="system", template_id=template.id,
                       contact_id=activity.contact_id, activity_id=activity.id)
            queued += 1
        except DomainError as exc:
            await AuditLog.create(user_id=None, source="system", entity="activity",
                                  object_id=activity.id, client_id=activity.client_id,
                                  action="client_notice", field="error",
                                  new_value=str(exc)[:300])
    return queued
