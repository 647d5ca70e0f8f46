"""/lang: choose the interface language (P-5)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LangCB
from bot.keyboards import BTN_LANG, main_menu
from kontakt.i18n import LANGUAGE_NAMES
from models import User
from services import staff as staff_service


def build_lang_router() -> Router:
    router = Router(name="lang")

    @router.message(Command("lang"))
    @router.message(F.text == BTN_LANG)
    async def choose(message: Message) -> None:
        kb = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=name, callback_data=LangCB(lang=code).pack())
            for code, name in LANGUAGE_NAMES.items()
        ]])
        await message.answer(_("Choose the interface language:"), reply_markup=kb)

    @router.callback_query(LangCB.filter())
    async def chosen(query: CallbackQuery, callback_data: LangCB, staff: User, i18n: I18n,
                     webapp_url: str | None) -> None:
        user = await staff_service.do_set_language(staff, callback_data.lang)
        with i18n.use_locale(str(user.language)):
            await query.answer()
            if query.message is not None:
                await query.message.answer(_("Language changed: English."),
                                           reply_markup=main_menu(user, webapp_url=webapp_url))

    return router
