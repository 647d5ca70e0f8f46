"""/web: a one-time sign-in link for a desktop browser; the Mini App button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, WebAppInfo
from aiogram.utils.i18n import gettext as _

from bot.keyboards import BTN_WEB
from models import User
from services import auth as auth_service
from services.auth import LOGIN_LINK_TTL


def build_web_router() -> Router:
    router = Router(name="web")

    @router.message(Command("web"), F.chat.type == "private")
    @router.message(F.text == BTN_WEB, F.chat.type == "private")
    async def web_link(message: Message, staff: User, base_url: str,
                       webapp_url: str | None, url_buttons: bool) -> None:
        raw = await auth_service.do_create_login_token(staff)
        link = f"{base_url}/login/{raw}"
        rows = []
        if url_buttons:  # Telegram refuses URL buttons to non-public addresses
            rows.append([InlineKeyboardButton(text=_("Sign in on this device"), url=link)])
        if webapp_url:
            rows.append([InlineKeyboardButton(text=_("📱 Open app"),
                                              web_app=WebAppInfo(url=webapp_url))])
        await message.answer(
            _("Your personal sign-in link for the web version. It works once and expires in "
              "{minutes} minutes. Do not forward it to anyone.").format(
                minutes=int(LOGIN_LINK_TTL.total_seconds() // 60))
            + f"\n\n{link}",
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None,
            link_preview_options={"is_disabled": True},
        )

    return router
