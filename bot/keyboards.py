"""Keyboards. Texts are translated with the current locale (set by middleware)."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from kontakt.botapi import frozen_markup
from models import Role, User
from services.permissions import Action, role_may

# Menu button labels; handlers match them with the same lazy strings.
BTN_TODAY = __("📅 Today")
BTN_TASK = __("➕ Task")
BTN_DEALS = __("💼 Deals")
BTN_CLIENTS = __("🔎 Clients")
BTN_NEW_CLIENT = __("➕ New client")
BTN_STAFF = __("👥 Staff")
BTN_WEB = __("🌐 Web version")
BTN_LANG = __("🌍 Language")
BTN_HELP = __("❓ Help")
BTN_INVITE = __("➕ Invite")
BTN_APP = __("📱 Open app")
MENU_BUTTONS = (BTN_APP, BTN_TODAY, BTN_TASK, BTN_DEALS, BTN_CLIENTS, BTN_NEW_CLIENT, BTN_STAFF,
                BTN_WEB, BTN_LANG, BTN_HELP, BTN_INVITE)


@lru_cache(maxsize=1)
def menu_labels() -> frozenset[str]:
    """Every menu button's text in every language: a press of one always leaves a dialog."""
    i18n = get_i18n()
    labels: set[str] = set()
    for locale in (*i18n.available_locales, "en"):
        with i18n.use_locale(locale):
            labels.update(str(button) for button in MENU_BUTTONS)
    return frozenset(labels)


def main_menu(user: User, *, webapp_url: str | None) -> ReplyKeyboardMarkup:
    """The reply keyboard; the same for everyone of one role and language, so cached."""
    return _main_menu(get_i18n().current_locale, Role(user.role), webapp_url)


@lru_cache(maxsize=64)
def _main_menu(locale: str, role: Role, webapp_url: str | None) -> ReplyKeyboardMarkup:
    # ``locale`` is the key; the texts come from the same (current) locale
    rows: list[list[KeyboardButton]] = []
    if webapp_url:
        rows.append([KeyboardButton(text=_("📱 Open app"), web_app=WebAppInfo(url=webapp_url))])
    rows.append([KeyboardButton(text=_("📅 Today")), KeyboardButton(text=_("💼 Deals")),
                 KeyboardButton(text=_("➕ Task"))])
    rows.append([KeyboardButton(text=_("🔎 Clients")), KeyboardButton(text=_("➕ New client"))])
    rows.append([KeyboardButton(text=_("👥 Staff")), KeyboardButton(text=_("🌐 Web version"))])
    last = [KeyboardButton(text=_("🌍 Language")), KeyboardButton(text=_("❓ Help"))]
    if role_may(role, Action.INVITE):
        last.insert(0, KeyboardButton(text=_("➕ Invite")))
    rows.append(last)
    # built once per language, role and app link, so made ready for the wire once too
    return frozen_markup(ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True,
                                             is_persistent=True))


def role_name(role: str) -> str:
    return {
        "admin": _("administrator"),
        "head": _("head of department"),
        "manager": _("manager"),
    }.get(str(role), str(role))


def pager_row(rows: list, total: int, page: int, size: int, make_cb) -> None:
    """◀️ ▶️ under a paged list, where there is a page before or after."""
    from aiogram.types import InlineKeyboardButton

    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=make_cb(page - 1).pack()))
    if (page + 1) * size < total:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=make_cb(page + 1).pack()))
    if nav:
        rows.append(nav)
