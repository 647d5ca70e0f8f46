"""Activities in the bot (S-19, A-9, S-13, S-15, S-21, K-2): the router of them all —
the agenda (bot/routers/agenda.py), a card's actions (here; the card is drawn by
bot/routers/activity_card.py), its editing buttons (bot/routers/activity_edit.py), a
client's activities and playbooks (here), new tasks (bot/routers/tasks.py) and relay
mode (here). The quick log (M-3) is bot/routers/quicklog.py."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB, PlaybookCB
from bot.routers.activity_card import (
    _btn,
    after_change,
    ask_text,
    error_text,
    item_button,
    read_when,
    show_card,
    state_label,
)
from bot.routers.activity_edit import build_activity_edit_router
from bot.routers.agenda import build_agenda_router
from bot.routers.tasks import build_tasks_router
from kontakt.formatting import when_text
from models import User
from notifications import discussions as topics
from services import activities as svc
from services.clock import utcnow
from services.errors import DomainError, NotFound


class Act(StatesGroup):
    result = State()  # the result of an activity being completed
    resched = State()  # a new date for an activity
    comment = State()


def _activity_of(message: Message | None) -> int | None:
    """The activity a bot message is about: its card/open button says so."""
    markup = message.reply_markup if message is not None else None
    for row in (markup.inline_keyboard if markup else []):
        for button in row:
            data = button.callback_data or ""
            if data.startswith("ac:"):
                try:
                    return ActivityCB.unpack(data).activity_id or None
                except (ValueError, TypeError):
                    continue
    return None


def build_activities_router() -> Router:
    """Every handler of activities, tried in this order: the agenda, a card's actions,
    its editing buttons, a client's activities and playbooks, new tasks, relay mode;
    only private chats (a team group's messages are the discussions' router's)."""
    router = Router(name="activities")
    router.message.filter(F.chat.type == "private")
    router.include_routers(build_agenda_router(), _card_router(), build_activity_edit_router(),
                           _client_card_router(), build_tasks_router(), _relay_router())
    return router


def _card_router() -> Router:
    """A card opened, and its actions: done (with a result), reschedule, postpone,
    cancel, reopen, verify, comment, open the client."""
    router = Router(name="activities.card")

    @router.callback_query(ActivityCB.filter(F.action == "card"))
    async def card(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                   state: FSMContext) -> None:
        try:
            await show_card(query.message, staff, callback_data.activity_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        # a file or photo sent now is attached to this activity (S-16)
        await state.update_data(open_activity_id=callback_data.activity_id)
        await query.answer()

    @router.callback_query(ActivityCB.filter(F.action == "done"))
    async def done_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                           state: FSMContext) -> None:
        activity = await ask_text(query, staff, state, callback_data.activity_id, Act.result)
        if activity is None:
            return
        await query.message.answer(
            _("What is the result of “{title}”? Type it, or press Skip.").format(
                title=html.escape(activity.title)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(
                _("Skip"), ActivityCB(action="skipresult", activity_id=activity.id))]]))

    async def _complete(message: Message, staff: User, state: FSMContext, activity_id: int,
                        result: str | None, bot: Bot, i18n: I18n, reminders) -> None:
        try:
            done = await svc.do_complete(staff, activity_id, result, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))  # the typed result stays in the chat
            return
        await state.set_state(None)
        await message.answer(_("✅ Done. Plan the next step? Type it, e.g. “call back on "
                               "Monday at 10:00”."))
        await show_card(message, staff, done.activity.id)
        await after_change(bot, i18n, reminders, done.notices, activity_id, staff, "done")

    @router.message(Act.result, F.text, ~F.text.startswith("/"))
    async def result_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                           i18n: I18n, reminders=None) -> None:
        data = await state.get_data()
        await _complete(message, staff, state, data["activity_id"], message.text, bot, i18n,
                        reminders)

    @router.callback_query(ActivityCB.filter(F.action == "skipresult"))
    async def result_skipped(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                             state: FSMContext, bot: Bot, i18n: I18n, reminders=None) -> None:
        await query.answer()
        await _complete(query.message, staff, state, callback_data.activity_id, None, bot,
                        i18n, reminders)

    @router.callback_query(ActivityCB.filter(F.action == "resched"))
    async def resched_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                              state: FSMContext) -> None:
        if await ask_text(query, staff, state, callback_data.activity_id, Act.resched) is None:
            return
        await query.message.answer(_("When? For example “tomorrow 10:00”, “on Friday at "
                                     "15:30” or “28.11 9:00”."))

    @router.message(Act.resched, F.text, ~F.text.startswith("/"))
    async def resched_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n, reminders=None) -> None:
        when = await read_when(message, staff)
        if when is None:
            return
        data = await state.get_data()
        try:
            moved = await svc.do_reschedule(staff, data["activity_id"], when, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        text = _("📅 Moved to {when}.").format(when=when_text(
            when, staff.timezone, str(staff.language), now=utcnow()))
        if when < utcnow():
            text += "\n" + _("⚠️ That date is in the past.")
        await message.answer(text)
        await show_card(message, staff, moved.activity.id)
        await after_change(bot, i18n, reminders, moved.notices, moved.activity.id, staff,
                           "rescheduled")

    @router.callback_query(ActivityCB.filter(F.action.in_({"postpone", "cancel", "reopen"})))
    async def set_state(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                        bot: Bot, i18n: I18n, reminders=None) -> None:
        target = {"postpone": "postponed", "cancel": "cancelled", "reopen": "planned"}[
            callback_data.action]
        try:
            changed = await svc.do_set_state(staff, callback_data.activity_id, target,
                                             source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(state_label(str(changed.activity.state)))
        await show_card(query.message, staff, changed.activity.id, edit=True)
        event = {"postpone": "postponed", "cancel": "cancelled"}.get(callback_data.action,
                                                                       "reopened")
        await after_change(bot, i18n, reminders, changed.notices, changed.activity.id, staff, event)

    @router.callback_query(ActivityCB.filter(F.action == "verify"))
    async def verify(query: CallbackQuery, callback_data: ActivityCB, staff: User, bot: Bot,
                     i18n: I18n) -> None:
        try:
            checked = await svc.do_verify(staff, callback_data.activity_id, source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(_("Verified."))
        await show_card(query.message, staff, checked.activity.id, edit=True)
        await after_change(bot, i18n, None, checked.notices)

    @router.callback_query(ActivityCB.filter(F.action == "comment"))
    async def comment_pressed(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                              state: FSMContext) -> None:
        if await ask_text(query, staff, state, callback_data.activity_id, Act.comment) is None:
            return
        await query.message.answer(_("Type the comment."))

    @router.message(Act.comment, F.text, ~F.text.startswith("/"))
    async def comment_typed(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n) -> None:
        data = await state.get_data()
        try:
            _comment, notices = await svc.do_comment(staff, data["activity_id"],
                                                     message.text or "", source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await state.set_state(None)
        await message.answer(_("💬 Saved."))
        await after_change(bot, i18n, None, notices)
        await topics.post_comment(bot, data["activity_id"], staff.full_name,
                                  message.text or "")

    @router.callback_query(ActivityCB.filter(F.action == "client"))
    async def open_client(query: CallbackQuery, callback_data: ActivityCB, staff: User,
                          state: FSMContext, webapp_url: str | None) -> None:
        from bot.routers.clients import show_card as show_client

        try:
            activity = await svc.get_activity(staff, callback_data.activity_id)
            if activity.client_id is None:
                raise NotFound("client")
            await show_client(query.message, state, staff, activity.client_id, webapp_url)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer()

    return router


def _client_card_router() -> Router:
    """From a client's card: its activities, a playbook (S-7, M-4)."""
    from bot.routers.clients import ClientCB

    router = Router(name="activities.client")

    @router.callback_query(ClientCB.filter(F.action == "acts"))
    async def client_acts(query: CallbackQuery, callback_data: ClientCB, staff: User) -> None:
        _last, _next, latest = await svc.client_activities(staff, callback_data.client_id,
                                                           limit=15)
        await query.answer()
        await svc.fetch_for_list(latest)
        rows = [item_button(a, staff) for a in latest]
        await query.message.answer(
            _("📅 Activities: {count}").format(count=len(latest)) if latest
            else _("No activities yet. Type what you did, or /task."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)

    @router.callback_query(PlaybookCB.filter(F.playbook_id == 0))
    async def playbook_list(query: CallbackQuery, callback_data: PlaybookCB) -> None:
        from services import playbooks

        books = await playbooks.list_playbooks()
        await query.answer()
        if not books:
            await query.message.answer(_("No playbooks yet: an administrator writes them on "
                                         "the settings page."))
            return
        rows = [[_btn(f"🧭 {b.name} ({len(b.steps)})"[:60], PlaybookCB(
            client_id=callback_data.client_id, playbook_id=b.id))] for b in books]
        await query.message.answer(_("Which playbook?"),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(PlaybookCB.filter(F.playbook_id > 0))
    async def playbook_apply(query: CallbackQuery, callback_data: PlaybookCB, staff: User,
                             bot: Bot, i18n: I18n, reminders=None) -> None:
        from services import playbooks

        try:
            tasks, notices = await playbooks.do_apply_playbook(
                staff, callback_data.playbook_id, callback_data.client_id, source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer(_("Saved."))
        await query.message.edit_reply_markup(reply_markup=None)
        await svc.fetch_for_list(tasks)
        rows = [item_button(t, staff) for t in tasks]
        await query.message.answer(_("🧭 Tasks created: {count}").format(count=len(tasks)),
                                   reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        await after_change(bot, i18n, reminders, notices)

    return router


def _relay_router() -> Router:
    """Relay mode (K-2): a reply to a task's message is a comment of the task."""
    router = Router(name="activities.relay")

    @router.message(StateFilter(None), F.text, ~F.text.startswith("/"),
                    F.reply_to_message.reply_markup)
    async def reply_comment(message: Message, staff: User, state: FSMContext, bot: Bot,
                            i18n: I18n) -> None:
        activity_id = _activity_of(message.reply_to_message)
        if activity_id is None:
            raise SkipHandler  # not a task's message: the quick log's to read
        try:
            _comment, notices = await svc.do_comment(staff, activity_id, message.text or "",
                                                     source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("💬 Saved."))
        await after_change(bot, i18n, None, notices)
        await topics.post_comment(bot, activity_id, staff.full_name, message.text or "")

    return router
