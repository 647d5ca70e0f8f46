"""K-1: telling a person in Telegram what happened to their calendar sync (connected,
paused because Google's access was revoked), after the database commit."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.utils.i18n import I18n

from models import CalendarLink, User
from notifications.telegram import send_to


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


# why connecting did not work (sync.engine.ConnectFailed.code, GoogleError.reason), as
# the bot and the web callback say it; each front end translates
CONNECT_FAILURES = {
    "no_offline_access": N_("Google did not give lasting access. Remove Kontakt at "
                            "myaccount.google.com/permissions and connect again."),
    "token_refused": N_("Google refused the sign-in code. Send /calendar for a new link."),
    "unreachable": N_("Google could not be reached. Try again in a minute."),
    "no_service_account": N_("The company's Google Workspace account is not set up."),
    "service_account_unreadable": N_("The company's Google Workspace key cannot be read."),
    "delegation_refused": N_("Google Workspace refused to act for this address."),
    "not_connected": N_("Google Calendar is not connected."),
    "unknown_calendar": N_("There is no such calendar in your account."),
}


async def tell_calendar(bot: Bot, i18n: I18n, user_id: int, what: str) -> bool:
    user = await User.get_or_none(id=user_id)
    if user is None or user.telegram_id is None or not user.is_active:
        return False
    lang = str(user.language)
    link = await CalendarLink.get_or_none(user_id=user_id)
    if what == "connected" and link is not None:
        text = i18n.gettext(
            "📆 Google Calendar connected: {account}, calendar «{calendar}». Your activities "
            "are being put there; changes made in the calendar come back here.",
            locale=lang).format(account=html.escape(link.account or ""),
                                calendar=html.escape(link.calendar_name))
    elif what == "paused":
        text = i18n.gettext(
            "⚠️ Kontakt lost access to your Google Calendar (it was revoked or expired). "
            "The sync is paused and nothing is lost: send /calendar and connect again.",
            locale=lang)
    elif what == "gone":
        text = i18n.gettext(
            "⚠️ Your calendar «{calendar}» is gone from your Google account (deleted, or no "
            "longer shared with you). The sync is paused and nothing is lost: send /calendar "
            "and connect again or choose another calendar.", locale=lang).format(
            calendar=html.escape(link.calendar_name if link else ""))
    else:
        return False
    return await send_to(bot, user.telegram_id, text)
