"""Callback data factories (kept short: Telegram allows 64 bytes)."""

from aiogram.filters.callback_data import CallbackData


class StaffCB(CallbackData, prefix="st"):
    # list | card | role | setrole | dept | setdept | sup | setsup | dismiss | dismissok
    action: str
    user_id: int = 0
    page: int = 0
    value: str = ""


class InviteCB(CallbackData, prefix="inv"):
    step: str  # role | dept
    role: str = ""
    dept: int = 0


class LangCB(CallbackData, prefix="lang"):
    lang: str
