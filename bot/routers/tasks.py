"""New activities made in the bot other than by the quick log: the guided /task (a
title, then when, or Skip) and a shared location logging a visit (of the client whose
card is open)."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ActivityCB
from bot.errors import validation_text
from bot.keyboards import BTN_TASK
from bot.routers.activity_card import (
    _btn,
    after_change,
    error_text,
    read_when,
    show_card,
)
from models import User
from services import activities as svc
from services import clients as client_service
from services.clock import utcnow
from services.errors import N_, DomainError, ValidationFailed


class NewTask(StatesGroup):
    title = State()
    when = State()


def build_tasks_router() -> Router:
    """/task and a shared location (a part of the activities' router)."""
    router = Router(name="activities.tasks")

    @router.message(Command("task"))
    @router.message(F.text == BTN_TASK)
    async def new_task(message: Message, state: FSMContext,
                       command: CommandObject | None = None) -> None:
        data = await state.get_data()
        await state.set_state(NewTask.title)
        await state.update_data(task={"client_id": data.get("open_client_id")})
        if command is not None and command.args:
            await _task_title(message, state, command.args)
            return
        await message.answer(_("New task. What is to be done? (/cancel to stop)"))

    async def _task_title(message: Message, state: FSMContext, text: str) -> None:
        title = " ".join(text.split())
        if not title or len(title) > 300:  # the service's words, before the time is asked
            await message.answer(validation_text(ValidationFailed(
                "title", N_("is empty") if not title else N_("is longer than 300 characters"))))
            return
        data = await state.get_data()
        task = {**data.get("task", {}), "title": title}
        await state.update_data(task=task)
        await state.set_state(NewTask.when)
        await message.answer(_("When? For example “tomorrow 10:00” — or Skip."),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(
                                 _("Skip"), ActivityCB(action="nowhen"))]]))

    @router.message(NewTask.title, F.text, ~F.text.startswith("/"))
    async def task_title(message: Message, state: FSMContext) -> None:
        await _task_title(message, state, message.text or "")

    async def _save_task(message: Message, staff: User, state: FSMContext,
                         when: datetime | None, bot: Bot, i18n: I18n, reminders) -> None:
        data = await state.get_data()
        task = data.get("task", {})
        try:
            created = await svc.do_create_activity(staff, {
                "title": task.get("title"), "type": "task", "client_id": task.get("client_id"),
                "starts_at": when}, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))  # the draft stays; fix and send again
            return
        await state.set_state(None)
        await state.update_data(task={})
        await message.answer(_("➕ Task saved."))
        await show_card(message, staff, created.activity.id)
        await after_change(bot, i18n, reminders, created.notices)

    @router.message(NewTask.when, F.text, ~F.text.startswith("/"))
    async def task_when(message: Message, staff: User, state: FSMContext, bot: Bot,
                        i18n: I18n, reminders=None) -> None:
        when = await read_when(message, staff)
        if when is None:
            return
        await _save_task(message, staff, state, when, bot, i18n, reminders)

    @router.callback_query(NewTask.when, ActivityCB.filter(F.action == "nowhen"))
    async def task_nowhen(query: CallbackQuery, staff: User, state: FSMContext, bot: Bot,
                          i18n: I18n, reminders=None) -> None:
        await query.answer()
        await _save_task(query.message, staff, state, None, bot, i18n, reminders)

    # --- a shared location logs a visit -------------------------------------------
    @router.message(F.location)
    async def location(message: Message, staff: User, state: FSMContext, bot: Bot,
                       i18n: I18n) -> None:
        data = await state.get_data()
        client_id = data.get("open_client_id")
        client = None
        if client_id:
            client = await client_service.find_client(client_id)
        title = _("Visit: {client}").format(client=client.name) if client else _("Visit")
        try:
            created = await svc.do_create_activity(staff, {
                "title": title, "type": "visit", "client_id": client_id, "done": True,
                "starts_at": utcnow(), "latitude": message.location.latitude,
                "longitude": message.location.longitude, "reminders": []}, source="bot")
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("🚗 Visit logged."))
        await show_card(message, staff, created.activity.id)

    return router
