"""/api/v1/templates and /api/v1/clients/{id}/messages: email to clients (A-18)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.i18n import translator
from models import User
from notifications.unsent import channel_ready, tell_admins
from services import messaging as svc
from web.api.framework import MAX_ID
from web.api.routes import api
from web.keys import BOT_KEY, I18N_KEY, OUTBOX_KEY
from web.session import request_source


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    channel: Literal["email", "sms"] = "email"
    language: Literal["ru", "uk", "en"] = "ru"
    subject: str = Field(default="", max_length=300)
    body: str = Field(min_length=1, max_length=100_000)
    html: str | None = Field(default=None, max_length=200_000)


class TemplateOut(TemplateIn):
    id: int


class TemplateList(BaseModel):
    items: list[TemplateOut]


class ComposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    subject: str | None = Field(default=None, max_length=300)
    body: str | None = Field(default=None, max_length=100_000)
    html: str | None = Field(default=None, max_length=200_000)
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    activity_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    attachments: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=svc.MAX_ATTACHMENTS,
        description="ids of the client's documents to attach (email only; 20 MB in all)")


class AttachmentOut(BaseModel):
    id: int
    filename: str
    size: int
    mime_type: str


class PreviewOut(BaseModel):
    to: str | None
    subject: str
    body: str
    html: str | None
    attachments: list[AttachmentOut] = []


class MessageOut(BaseModel):
    id: int
    channel: str
    to: str
    subject: str
    state: str
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    attachments: list[int] = []
    waiting: str | None = Field(default=None, description="Why a message just queued "
                                "will not go yet (its channel is not set up), for the sender")


class MessageList(BaseModel):
    items: list[MessageOut]


class AttachmentList(BaseModel):
    items: list[AttachmentOut]


def _out(t) -> TemplateOut:
    return TemplateOut(id=t.id, name=t.name, channel=str(t.channel), language=t.language,
                       subject=t.subject, body=t.body, html=t.html)


def _message(m) -> MessageOut:
    return MessageOut(id=m.id, channel=str(m.channel), to=m.to_address, subject=m.subject,
                      state=str(m.state), last_error=m.last_error, created_at=m.created_at,
                      sent_at=m.sent_at, attachments=list(m.attachments or []))


def _file(d) -> AttachmentOut:
    return AttachmentOut(id=d.id, filename=d.filename, size=d.size, mime_type=d.mime_type)


@api.route("GET", "/templates", summary="Message templates (A-18)", response=TemplateList,
           tags=["messaging"])
async def templates_list(request: web.Request, user: User):
    return TemplateList(items=[_out(t) for t in await svc.list_templates()])


@api.route("POST", "/templates", summary="Add a template (admins); a missing variable or "
           "a syntax error is named", body=TemplateIn, response=TemplateOut,
           tags=["messaging"], status=201)
async def templates_create(request: web.Request, user: User, body: TemplateIn):
    return _out(await svc.do_save_template(user, body.model_dump()))


@api.route("PUT", "/templates/{template_id}", summary="Change a template (admins)",
           body=TemplateIn, response=TemplateOut, tags=["messaging"])
async def templates_put(request: web.Request, user: User, template_id: int, body: TemplateIn):
    return _out(await svc.do_save_template(user, body.model_dump(), template_id))


@api.route("POST", "/clients/{client_id}/messages/preview", summary="The email as it will "
           "be sent, or what is wrong with it", body=ComposeIn, response=PreviewOut,
           tags=["messaging"])
async def preview(request: web.Request, user: User, client_id: int, body: ComposeIn):
    rendered, _template = await svc.compose(user, client_id,
                                            **body.model_dump(exclude={"attachments"}))
    files = await svc.check_attachments(user, client_id, body.attachments)
    try:
        to = await svc.recipient(user, client_id, body.contact_id)
    except svc.ValidationFailed:
        to = None  # shown in the preview; sending names the problem
    return PreviewOut(to=to, subject=rendered.subject, body=rendered.body,
                      html=rendered.html, attachments=[_file(d) for d in files])


@api.route("GET", "/clients/{client_id}/attachable", summary="The client's files an email "
           "may carry, newest first", response=AttachmentList, tags=["messaging"])
async def attachable(request: web.Request, user: User, client_id: int):
    return AttachmentList(items=[_file(d) for d in await svc.attachable_documents(
        user, client_id)])


@api.route("POST", "/clients/{client_id}/messages", summary="Send an email to the client "
           "(queued; on the client's timeline)", body=ComposeIn, response=MessageOut,
           tags=["messaging"], status=201)
async def send(request: web.Request, user: User, client_id: int, body: ComposeIn):
    outbound = await svc.do_send_email(user, client_id, source=request_source(request),
        **body.model_dump())
    return await _queued(request, user, outbound, "email")


async def _queued(request: web.Request, user: User, outbound, channel: str) -> MessageOut:
    """After the commit: wake the outbox, or — the channel not set up — say so to the
    sender (``waiting``) and to the administrators in the bot."""
    outbox = request.app.get(OUTBOX_KEY)
    out = _message(outbound)
    if channel_ready(outbox, channel):
        outbox.poke()
        return out
    await tell_admins(request.app[BOT_KEY], request.app[I18N_KEY], channel, user)
    _ = translator(str(user.language))
    out.waiting = _("This server does not send email yet: the message waits until your "
                    "administrator sets it up (they are told).") if channel == "email" else \
        _("This server does not send SMS yet: the message waits until your administrator "
          "sets it up (they are told).")
    return out


@api.route("GET", "/clients/{client_id}/messages", summary="Messages to the client with "
           "their delivery state", response=MessageList, tags=["messaging"])
async def messages(request: web.Request, user: User, client_id: int):
    return MessageList(items=[_message(m) for m in await svc.client_messages(user, client_id)])


class SmsPreviewOut(BaseModel):
    to: str | None
    text: str
    encoding: Literal["GSM-7", "UCS-2"]
    characters: int
    parts: int = Field(description="SMS segments billed (Cyrillic: 70 per SMS, 67 per part)")


@api.route("POST", "/clients/{client_id}/sms/preview", summary="The SMS as it will be "
           "sent, with its segment count", body=ComposeIn, response=SmsPreviewOut,
           tags=["messaging"])
async def sms_preview(request: web.Request, user: User, client_id: int, body: ComposeIn):
    from services.sms import segments

    data = body.model_dump(exclude={"subject", "html"})
    text, _template = await svc.compose_sms(user, client_id, **data)
    try:
        to = await svc.sms_recipient(user, client_id, body.contact_id)
    except svc.ValidationFailed:
        to = None
    info = segments(text)
    return SmsPreviewOut(to=to, text=text, encoding=info.encoding,
                         characters=info.characters, parts=info.parts)


@api.route("POST", "/clients/{client_id}/sms", summary="Send an SMS to the client (queued)",
           body=ComposeIn, response=MessageOut, tags=["messaging"], status=201)
async def sms_send(request: web.Request, user: User, client_id: int, body: ComposeIn):
    outbound = await svc.do_send_sms(user, client_id, source=request_source(request),
        **body.model_dump())
    return await _queued(request, user, outbound, "sms")


class TemplatePreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["email", "sms"] = "email"
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=100_000)
    html: str | None = Field(default=None, max_length=200_000)


@api.route("POST", "/templates/preview", summary="A template rendered with sample data, or "
           "what is wrong with it (the editor's live preview)", body=TemplatePreviewIn,
           response=PreviewOut, tags=["messaging"])
async def templates_preview(request: web.Request, user: User, body: TemplatePreviewIn):
    rendered = await svc.preview_template(user, body.channel, body.subject, body.body,
                                          body.html)
    return PreviewOut(to=None, subject=rendered.subject, body=rendered.body,
                      html=rendered.html)
