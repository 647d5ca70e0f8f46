"""Email and SMS to a client from the bot (A-18): the card's ✉️ Message → email or
SMS → a template or your own text → the preview as it will go (an SMS with its
segment count) → Send. For your own email the first line is the subject; 📎 Attach
lists the client's files (the newest ten) to tick, and the preview names them. Bad
input (an unknown variable, no address) is named and the draft kept."""

from __future__ import annotations

import asyncio
import html

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MessageCB
from bot.errors import validation_text
from models import User
from notifications.unsent import channel_ready, tell_admins
from services import messaging as svc
from services.errors import DomainError, ValidationFailed
from services.sms import segments


class Compose(StatesGroup):
    text = State()


FILES_SHOWN = 10  # the newest files of the client offered to attach


def _btn(text: str, cb: MessageCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _error(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return validation_text(exc)
    return _("That client was not found or is not yours.")


async def _preview(message: Message, staff: User, state: FSMContext) -> None:
    draft = (await state.get_data()).get("message_draft") or {}
    cid, channel = draft["client_id"], draft["channel"]
    args = {k: draft[k] for k in ("template_id", "subject", "body") if draft.get(k)}
    try:
        if channel == "sms":
            args.pop("subject", None)
            text, _t = await svc.compose_sms(staff, cid, **args)
            to = await svc.sms_recipient(staff, cid, None)
            info = segments(text)
            shown = _("📱 SMS to {to} · {parts} SMS ({encoding}, {count} characters)").format(
                to=to, parts=info.parts, encoding=info.encoding, count=info.characters
            ) + "\n\n" + html.escape(text[:3000])
        else:
            rendered, _t = await svc.compose(staff, cid, **args)
            to = await svc.recipient(staff, cid, None)
            shown = _("✉️ Email to {to}").format(to=html.escape(to)) + "\n<b>" + html.escape(
                rendered.subject) + "</b>\n\n" + html.escape(rendered.body[:3000])
    except DomainError as exc:
        await message.answer(_error(exc) + "\n" + _("Type the text again, or /cancel."))
        await state.set_state(Compose.text)
        return
    await state.set_state(None)
    rows = [[_btn(_("✅ Send"), MessageCB(action="send", client_id=cid)),
             _btn(_("✖️ Cancel"), MessageCB(action="cancel", client_id=cid))]]
    if channel == "email":
        try:
            files = await svc.check_attachments(staff, cid, draft.get("attachments"))
        except DomainError:  # a file deleted meanwhile: the draft goes without it
            files = []
            draft["attachments"] = []
            await state.update_data(message_draft=draft)
        if files:
            shown += "\n\n" + _("📎 Attached: {files}").format(files=html.escape(", ".join(
                d.filename for d in files)))
        if files or await svc.attachable_documents(staff, cid, limit=1):
            rows.insert(0, [_btn(_("📎 Attach"), MessageCB(action="attach", client_id=cid))])
    await message.answer(shown, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _files_markup(staff: User, cid: int, chosen: list[int]) -> InlineKeyboardMarkup:
    """The client's newest files as toggles (✅ attached, ▫️ not), then Done."""
    rows = []
    for d in await svc.attachable_documents(staff, cid, limit=FILES_SHOWN):
        mark = "✅ " if d.id in chosen else "▫️ "
        label = f"{mark}{d.filename[:40]} ({max(1, d.size // 1024)} KB)"
        rows.append([_btn(label, MessageCB(action="file", client_id=cid, value=str(d.id)))])
    rows.append([_btn(_("👌 Done"), MessageCB(action="files_done", client_id=cid))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def build_messaging_router() -> Router:
    router = Router(name="messaging")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(MessageCB.filter(F.action == "start"))
    async def start(query: CallbackQuery, callback_data: MessageCB) -> None:
        cid = callback_data.client_id
        await query.answer()
        await query.message.answer(_("Email or SMS?"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[_btn("✉️ Email", MessageCB(action="channel", client_id=cid,
                                                         value="email")),
                              _btn("📱 SMS", MessageCB(action="channel", client_id=cid,
                                                       value="sms"))]]))

    @router.callback_query(MessageCB.filter(F.action == "channel"))
    async def channel(query: CallbackQuery, callback_data: MessageCB, state: FSMContext):
        cid, ch = callback_data.client_id, callback_data.value
        await state.update_data(message_draft={"client_id": cid, "channel": ch})
        rows = [[_btn(f"📄 {t.name} ({t.language})"[:60], MessageCB(
            action="template", client_id=cid, value=str(t.id)))]
            for t in await svc.list_templates(ch)]
        rows.append([_btn(_("✍️ Write"), MessageCB(action="write", client_id=cid))])
        await query.answer()
        await query.message.answer(_("A template, or your own text?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(MessageCB.filter(F.action == "template"))
    async def template(query: CallbackQuery, callback_data: MessageCB, staff: User,
                       state: FSMContext) -> None:
        draft = (await state.get_data()).get("message_draft") or {}
        if draft.get("client_id") != callback_data.client_id:
            await query.answer(_("That draft has expired; start again from the card."),
                               show_alert=True)
            return
        draft["template_id"] = int(callback_data.value)
        await state.update_data(message_draft=draft)
        await query.answer()
        await _preview(query.message, staff, state)

    @router.callback_query(MessageCB.filter(F.action == "write"))
    async def write(query: CallbackQuery, state: FSMContext) -> None:
        draft = (await state.get_data()).get("message_draft") or {}
        await state.set_state(Compose.text)
        await query.answer()
        await query.message.answer(
            _("Type the email: the first line is the subject, the rest the text. "
              "Variables such as {{ contact.first_name }} or {{ sender.full_name }} work.")
            if draft.get("channel") == "email" else
            _("Type the SMS. Variables such as {{ client.name }} work."))

    @router.message(Compose.text, F.text, ~F.text.startswith("/"))
    async def typed(message: Message, staff: User, state: FSMContext) -> None:
        draft = (await state.get_data()).get("message_draft") or {}
        if not draft:
            await state.set_state(None)
            return
        text = message.text or ""
        draft.pop("template_id", None)
        if draft["channel"] == "email":
            subject, _sep, body = text.partition("\n")
            draft.update(subject=subject.strip(), body=body.strip() or subject.strip())
        else:
            draft["body"] = text
        await state.update_data(message_draft=draft)
        await _preview(message, staff, state)

    async def _draft_of(query: CallbackQuery, callback_data: MessageCB,
                        state: FSMContext) -> dict | None:
        draft = (await state.get_data()).get("message_draft") or {}
        if draft.get("client_id") != callback_data.client_id or draft.get("channel") != "email":
            await query.answer(_("That draft has expired; start again from the card."),
                               show_alert=True)
            return None
        return draft

    @router.callback_query(MessageCB.filter(F.action == "attach"))
    async def attach(query: CallbackQuery, callback_data: MessageCB, staff: User,
                     state: FSMContext) -> None:
        draft = await _draft_of(query, callback_data, state)
        if draft is None:
            return
        try:
            markup = await _files_markup(staff, draft["client_id"],
                                         draft.get("attachments") or [])
        except DomainError as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)  # a new preview follows
        await query.message.answer(_("📎 Tap the files to send with the email (up to 10, "
                                     "20 MB in all), then Done."), reply_markup=markup)

    @router.callback_query(MessageCB.filter(F.action == "file"))
    async def toggle_file(query: CallbackQuery, callback_data: MessageCB, staff: User,
                          state: FSMContext) -> None:
        draft = await _draft_of(query, callback_data, state)
        if draft is None:
            return
        doc_id = int(callback_data.value) if callback_data.value.isdigit() else 0
        chosen = [i for i in draft.get("attachments") or [] if i != doc_id]
        if len(chosen) == len(draft.get("attachments") or []):
            chosen.append(doc_id)
        try:  # a file not of this client, or too much together: said, not ticked
            await svc.check_attachments(staff, draft["client_id"], chosen)
        except DomainError as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        draft["attachments"] = chosen
        await state.update_data(message_draft=draft)
        await query.answer()
        await query.message.edit_reply_markup(
            reply_markup=await _files_markup(staff, draft["client_id"], chosen))

    @router.callback_query(MessageCB.filter(F.action == "files_done"))
    async def files_done(query: CallbackQuery, callback_data: MessageCB, staff: User,
                         state: FSMContext) -> None:
        draft = await _draft_of(query, callback_data, state)
        if draft is None:
            return
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await _preview(query.message, staff, state)

    @router.callback_query(MessageCB.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        await state.update_data(message_draft=None)
        await query.answer(_("Cancelled; nothing was sent."))
        await query.message.edit_reply_markup(reply_markup=None)

    sending: dict[int, asyncio.Lock] = {}  # one send at a time per person

    @router.callback_query(MessageCB.filter(F.action == "send"))
    async def send(query: CallbackQuery, callback_data: MessageCB, staff: User,
                   state: FSMContext, i18n: I18n, outbox=None) -> None:
        async with sending.setdefault(staff.id, asyncio.Lock()):
            await _send(query, callback_data, staff, state, i18n, outbox)

    async def _send(query: CallbackQuery, callback_data: MessageCB, staff: User,
                    state: FSMContext, i18n: I18n, outbox) -> None:
        draft = (await state.get_data()).get("message_draft") or {}
        if not draft or draft.get("client_id") != callback_data.client_id:
            # sent already (a second tap), or an old preview's button
            await query.answer(_("That draft has expired; start again from the card."),
                               show_alert=True)
            return
        args = {k: draft[k] for k in ("template_id", "subject", "body") if draft.get(k)}
        try:
            if draft["channel"] == "sms":
                await svc.do_send_sms(staff, draft["client_id"], source="bot", **args)
            else:
                await svc.do_send_email(staff, draft["client_id"], source="bot",
                                        attachments=draft.get("attachments") or None, **args)
        except DomainError as exc:
            await query.answer(_error(exc)[:190], show_alert=True)
            return
        await state.update_data(message_draft=None)
        if outbox is not None:
            outbox.poke()  # after the commit
        await query.answer(_("📤 Queued for sending."))
        await query.message.edit_reply_markup(reply_markup=None)
        channel = "sms" if draft["channel"] == "sms" else "email"
        if channel_ready(outbox, channel):
            await query.message.answer(_("📤 Queued for sending; the client's card shows "
                                         "when it is delivered."))
            return
        await query.message.answer(
            _("📤 Queued, but this server does not send email yet: it waits until your "
               "administrator sets it up (they are told).") if channel == "email" else
             _("📤 Queued, but this server does not send SMS yet: it waits until your "
               "administrator sets it up (they are told)."))
        await tell_admins(query.bot, i18n, channel, staff)

    return router
