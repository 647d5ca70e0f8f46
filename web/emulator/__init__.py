"""A Telegram Bot API emulator (pure aiohttp + stdlib) used by tests and ``kontakt demo``.

>>> from web.emulator import BotApiEmulator
>>> emu = BotApiEmulator(token="123456:ABC-demo", bot_username="kontakt_demo_bot")
>>> app = emu.make_app()  # serves /bot{token}/{method} and /file/bot{token}/{path}
"""

from .core import DEFAULT_ADMIN_RIGHTS, DEFAULT_UPDATE_TYPES, BotApiEmulator, ChatState, public
from .errors import ApiError
from .webapp import build_init_data, sign_init_data

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "ChatState",
    "DEFAULT_ADMIN_RIGHTS",
    "DEFAULT_UPDATE_TYPES",
    "build_init_data",
    "public",
    "sign_init_data",
]
