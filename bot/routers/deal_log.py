"""A deal's contacts in the bot (issue 12: U-2, K-2): 📝 Log contact (a done activity of
the deal, its type read as the quick log reads it or chosen in one tap) and 💬 Discuss
(the topic of the deal's next step)."""

from __future__ import annotations

import contextlib
import html

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB
from bot.routers.deal_card import (
    DealLog,
    _after,
    _btn,
    _card,
    _cut,
    cancel_row,
    error_text,
    show_card,
)
from models import User
from services import deals as svc
from services.clock import utcnow
from services.errors import DomainError


def build_deal_log_router() -> Router:
    """📝 Log contact and 💬 Discuss on a deal's card."""
    router = Router(name="deals.log")

    # --- log a contact of the deal -------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "log"))
    async def log(query: CallbackQuery, callback_data: DealCB, staff: User,
                  state: FSMContext) -> None:
        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await state.set_state(DealLog.text)
        await state.update_data(deal_log={"deal_id": card.deal.id})
        await query.answer()
        await query.message.answer(
            _("📝 What happened in “{title}”? Type it as you would say it, e.g. “called "
              "Petrov, they agreed to the price”. (/cancel to stop)").format(
                title=html.escape(card.deal.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row()]))

    @router.message(DealLog.text, F.text, ~F.text.startswith("/"))
    async def log_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                        i18n: I18n, reminders=None) -> None:
        from services import quicklog

        text = (message.text or "").strip()[:2000]
        data = dict((await state.get_data()).get("deal_log") or {})
        data["text"] = text
        code = quicklog.done_type(text)
        if code is not None:
            await _log(message, staff, state, data, code, bot, i18n, reminders)
            return
        await state.update_data(deal_log=data)
        await state.set_state(DealLog.type)
        await message.answer(_("🔖 What kind of contact was it?"),
                             reply_markup=await _types_markup(int(data.get("deal_id") or 0)))

    async def _types_markup(deal_id: int) -> InlineKeyboardMarkup:
        from bot.routers.activity_card import type_label
        from services.activities import list_types

        types = [t for t in await list_types() if t.code != "task"]
        buttons = [_btn(_cut(type_label(t), 30), DealCB(action="logtype", deal_id=deal_id,
                                                       value=t.code or str(t.id)))
                   for t in types]
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        rows.append(cancel_row())
        return InlineKeyboardMarkup(inline_keyboard=rows)

    @router.callback_query(DealLog.type, DealCB.filter(F.action == "logtype"))
    async def log_type(query: CallbackQuery, callback_data: DealCB, staff: User,
                       state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        data = (await state.get_data()).get("deal_log") or {}
        if data.get("deal_id") != callback_data.deal_id or not data.get("text"):
            await query.answer(_("This question was already left."), show_alert=True)
            return
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        await _log(query.message, staff, state, dict(data), callback_data.value, bot, i18n,
                   reminders)

    async def _log(message: Message, staff: User, state: FSMContext, data: dict, code: str,
                   bot: Bot, i18n: I18n, reminders) -> None:
        from bot.routers.activity_card import type_label
        from services import quicklog
        from services.activities import get_type

        deal_id, text = int(data.get("deal_id") or 0), str(data.get("text") or "")
        try:
            deal = await svc.get_deal(staff, deal_id)
            contact_id = await quicklog.contact_in(deal.client_id, text) or deal.contact_id
            kind = await get_type(code)
            saved = await svc.do_add_activity(staff, deal_id, {
                "title": _cut(" ".join(text.split()), 120), "type": code, "result": text,
                "contact_id": contact_id, "starts_at": utcnow(), "reminders": [],
                "done": True}, source="bot")
        except DomainError as exc:
            await state.set_state(None)
            await state.update_data(deal_log=None)
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        await state.update_data(deal_log=None)
        await show_card(message, staff, deal_id, note=_("📝 Logged: {type}.").format(
            type=type_label(kind)))
        await _after(bot, i18n, reminders, saved.notices)

    # --- discuss: the topic of the deal's next step (K-2) -----------------------------------
    @router.callback_query(DealCB.filter(F.action == "discuss"))
    async def discuss(query: CallbackQuery, callback_data: DealCB, staff: User, bot: Bot,
                      i18n: I18n) -> None:
        from notifications import discussions as topics

        if (card := await _card(query, staff, callback_data.deal_id)) is None:
            return
        step = card.next_step
        if step is None:
            await query.answer(_("The deal is discussed in the topic of its next step, and it "
                                 "has none: plan one with ➕ Task first."), show_alert=True)
            return
        try:
            opened = await topics.open_topic(bot, i18n, staff, step.id,
                                             str(i18n.default_locale))
        except DomainError:  # on the deal's team, but not on that task
            await query.answer(_("The next step is someone else's task; ask its assignee to "
                                 "open the discussion."), show_alert=True)
            return
        await query.answer()
        if opened.link is None:
            await query.message.answer(_("There is no team forum group yet (an administrator "
                                         "adds the bot to one and sends /setup there). "
                                         "Comments on the task stay in the CRM."))
            return
        await query.message.answer(
            _("💬 “{title}” is discussed in the topic of its next step, “{step}”:").format(
                title=html.escape(card.deal.title), step=html.escape(_cut(step.title, 100))),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                [InlineKeyboardButton(text=_("Open the topic"), url=opened.link)]]))

    return router
