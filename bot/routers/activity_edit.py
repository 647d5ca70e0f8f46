"""Changing an activity with a card's buttons (A-9, A-18, S-14): remind me later, the
edit menu (title, type, priority, client, assignees), the notice to the client before
it, and snoozing a reminder (K-15)."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB, ReminderCB
from bot.routers.activity_card import (
    _btn,
    after_change,
    ask_text,
    error_text,
    priority_label,
    show_card,
    type_label,
)
from kontakt.formatting import when_text
from models import User
from services import activities as svc
from services.clock import utcnow
from services.errors import DomainError


class EditField(StatesGroup):
    title = State()
    client = State()


def build_activity_edit_router() -> Router:
    """A card's editing buttons and a reminder's snooze (a part of the activities'
    router)."""
    router = Router(name="activities.edit")

    @router.callback_query(ActivityCB.filter(F.action == "later"))
    async def remind_later(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                           reminders=None) -> None:
        try:
            again = await svc.do_remind_later(staff, callback_data.activity_id,
                                              callback_data.value)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if reminders is not None:
            reminders.poke()
        await query.answer(_("💤 I will remind you at {time}.").format(
            time=when_text(again.due_at, staff.timezone, str(staff.language), now=utcnow())))

    @router.callback_query(ActivityCB.filter(F.action == "edit"))
    async def edit_menu(query: CallbackQuery, callback_data: ActivityCB, staff: User) -> None:
        aid = callback_data.activity_id
        try:
            activity = await svc.get_activity(staff, aid)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        rows = [
            [_btn(_("Title"), ActivityCB(action="etitle", activity_id=aid)),
             _btn(_("🔖 Type"), ActivityCB(action="etype", activity_id=aid))],
            [_btn(f"⚡ {priority_label(p)}", ActivityCB(action="eprio", activity_id=aid,
                                                       value=p))
             for p in ("low", "normal", "high", "critical")],
            [_btn(_("🏢 Client"), ActivityCB(action="eclient", activity_id=aid)),
             _btn(_("👥 Assignees"), ActivityCB(action="epeople", activity_id=aid))],
        ]
        if activity.client_id:  # the client told before it by email or SMS
            rows.append([_btn(_("🔔 Tell the client"), ActivityCB(action="enotice",
                                                                 activity_id=aid))])
        await query.answer()
        await query.message.answer(_("What to change?"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "enotice"))
    async def edit_notice(query: CallbackQuery, callback_data: ActivityCB, staff: User):
        from services.messaging import list_templates

        aid = callback_data.activity_id
        try:
            activity = await svc.get_activity(staff, aid)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if not activity.client_id:
            await query.answer(_("Choose the client first: the message goes to the client."),
                               show_alert=True)
            return
        templates = await list_templates()
        rows = [[_btn(("📱 " if str(t.channel) == "sms" else "✉️ ") + f"{t.name} ({t.language})"[
            :50], ActivityCB(action="ntpl", activity_id=aid, value=str(t.id)))]
            for t in templates[:30]]
        if activity.client_notice_hours:
            rows.append([_btn(_("🔕 Off"), ActivityCB(action="nset", activity_id=aid,
                                                     value="off"))])
        await query.answer()
        if not templates and not rows:
            await query.message.answer(_("No message templates yet: an administrator writes "
                                         "them on the settings page."))
            return
        await query.message.answer(_("🔔 Which message does the client get before it?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "ntpl"))
    async def notice_template(query: CallbackQuery, callback_data: ActivityCB) -> None:
        aid, tid = callback_data.activity_id, callback_data.value
        if not tid.isdigit():
            await query.answer()
            return
        rows = [[_btn(_("{hours} h before").format(hours=h), ActivityCB(
            action="nset", activity_id=aid, value=f"{tid}-{h}")) for h in (1, 3, 24)],
            [_btn(_("🔕 Off"), ActivityCB(action="nset", activity_id=aid, value="off"))]]
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_("🔔 How long before the start?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "nset"))
    async def notice_set(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         bot: Bot, i18n: I18n, reminders=None) -> None:
        tid, _sep, hours = callback_data.value.partition("-")
        if callback_data.value == "off":
            changes = {"client_notice_hours": None, "client_notice_template_id": None}
        elif tid.isdigit() and hours.isdigit():
            changes = {"client_notice_template_id": int(tid), "client_notice_hours": int(hours)}
        else:
            await query.answer()
            return
        if await _apply(query, staff, callback_data.activity_id, changes, bot, i18n, reminders):
            await query.message.edit_reply_markup(reply_markup=None)

    async def _apply(query_or_message, staff: User, aid: int, changes: dict, bot: Bot,
                     i18n: I18n, reminders) -> bool:
        message = getattr(query_or_message, "message", None) or query_or_message
        try:
            changed = await svc.do_update_activity(staff, aid, changes, source="bot")
        except DomainError as exc:
            if isinstance(query_or_message, CallbackQuery):
                await query_or_message.answer(error_text(exc)[:190], show_alert=True)
            else:
                await message.answer(error_text(exc))
            return False
        if isinstance(query_or_message, CallbackQuery):
            await query_or_message.answer(_("Saved."))
        await show_card(message, staff, aid)
        await after_change(bot, i18n, reminders, changed.notices, aid, staff,
                           "assignees" if "assignees" in changes else "changed")
        return True

    @router.callback_query(ActivityCB.filter(F.action == "eprio"))
    async def edit_priority(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                            bot: Bot, i18n: I18n, reminders=None) -> None:
        await _apply(query, staff, callback_data.activity_id,
                     {"priority": callback_data.value}, bot, i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "etype"))
    async def edit_type(query: CallbackQuery, callback_data: ActivityCB) -> None:
        types = await svc.list_types()
        rows = [[_btn(type_label(t), ActivityCB(action="settype",
                                                activity_id=callback_data.activity_id,
                                                value=t.code or str(t.id)))] for t in types]
        await query.answer()
        await query.message.answer(_("🔖 Type"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "settype"))
    async def set_type(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                       bot: Bot, i18n: I18n, reminders=None) -> None:
        value = callback_data.value
        await _apply(query, staff, callback_data.activity_id,
                     {"type": int(value) if value.isdigit() else value}, bot, i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "etitle"))
    async def edit_title(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         state: FSMContext) -> None:
        if await ask_text(query, staff, state, callback_data.activity_id, EditField.title) is None:
            return
        await query.message.answer(_("Type the new title."))

    @router.message(EditField.title, F.text, ~F.text.startswith("/"))
    async def title_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                          i18n: I18n, reminders=None) -> None:
        data = await state.get_data()
        if await _apply(message, staff, data["activity_id"], {"title": message.text}, bot,
                        i18n, reminders):
            await state.set_state(None)

    @router.callback_query(ActivityCB.filter(F.action == "eclient"))
    async def edit_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                          state: FSMContext) -> None:
        if await ask_text(query, staff, state, callback_data.activity_id,
                          EditField.client) is None:
            return
        await query.message.answer(_("Type part of the client's name, phone or INN."))

    @router.message(EditField.client, F.text, ~F.text.startswith("/"))
    async def client_typed(message: Message, staff: User, state: FSMContext) -> None:
        from services.client_search import search_clients

        data = await state.get_data()
        found = await search_clients(staff, message.text or "", limit=8)
        if not found:
            await message.answer(_("Nothing found for “{query}”. Try part of the name, "
                                   "a phone or an INN.").format(
                query=html.escape(message.text or "")))
            return
        rows = [[_btn("🏢 " + c.name[:50], ActivityCB(action="setclient",
                                                      activity_id=data["activity_id"],
                                                      value=str(c.id)))] for c in found]
        await message.answer(_("🏢 Client"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "setclient"))
    async def set_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                         state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        if await _apply(query, staff, callback_data.activity_id,
                        {"client_id": int(callback_data.value)}, bot, i18n, reminders):
            await state.set_state(None)

    @router.callback_query(ActivityCB.filter(F.action == "epeople"))
    async def edit_people(query: CallbackQuery, callback_data: ActivityCB, staff: User):
        aid = callback_data.activity_id
        try:
            await svc.get_activity(staff, aid)  # not theirs: not found, nothing shown
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        current = set(await svc.assignee_ids(aid))
        people = await svc.assignable_people(staff)
        rows = [[_btn(("✅ " if p.id in current else "▫️ ") + p.full_name[:50],
                      ActivityCB(action="toggle", activity_id=aid, value=str(p.id)))]
                for p in people[:40]]
        await query.answer()
        await query.message.answer(_("👥 Assignees"), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))

    @router.callback_query(ActivityCB.filter(F.action == "toggle"))
    async def toggle_person(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                            bot: Bot, i18n: I18n, reminders=None) -> None:
        aid, uid = callback_data.activity_id, int(callback_data.value)
        current = await svc.assignee_ids(aid)
        wanted = [u for u in current if u != uid] if uid in current else [*current, uid]
        if not wanted:
            await query.answer(_("An activity needs at least one assignee."), show_alert=True)
            return
        await _apply(query, staff, aid, {"assignees": wanted}, bot, i18n, reminders)

    @router.callback_query(ReminderCB.filter(F.action == "snooze"))
    async def snooze(query: CallbackQuery, callback_data: ReminderCB, staff: User,
                     reminders=None) -> None:
        try:
            again = await svc.do_snooze(staff, callback_data.reminder_id, callback_data.value)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        if reminders is not None:
            reminders.poke()
        await query.answer(_("💤 I will remind you at {time}.").format(
            time=when_text(again.due_at, staff.timezone, str(staff.language), now=utcnow())))
        await query.message.edit_reply_markup(reply_markup=None)

    return router
