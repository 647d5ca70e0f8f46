"""K-1: telling a person in Telegram what happened to their calendar sync (connected,
paused because Google's access was revoked), after the database commit; and telling the
administrators when Google's token endpoint is unwell for everybody (issue 20)."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.utils.i18n import I18n

from models import CalendarLink, Role, StaffStatus, User
from notifications.telegram import send_to
from services import activities as acts
from services.clock import utcnow


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


async def tell_admins_calendar(bot: Bot, i18n: I18n, what: str, detail: str) -> int:
    """Google's token endpoint fails for a reason other than a person's access being
    gone (``what`` = "token_endpoint", ``detail`` its OAuth error): each active
    administrator is told, at most once a day (the engine asks once per episode);
    the number told."""
    if what != "token_endpoint":
        return 0
    day = utcnow().date().isoformat()
    told = 0
    for admin in await User.filter(role=Role.ADMIN, status=StaffStatus.ACTIVE):
        if admin.telegram_id is None or not await acts.claim_once(
                "calendar_token", admin.id, day):
            continue
        lang = str(admin.language)
        text = i18n.gettext(
            "⚠️ Google's sign-in service is failing for the calendar sync ({detail}). "
            "Nobody's sync is paused and nothing is lost: it is tried again by itself. "
            "If it says invalid_client, the client secret was changed in the Google "
            "Cloud console: set the new one in KONTAKT_GOOGLE_CLIENT_SECRET.",
            locale=lang).format(detail=html.escape(detail or "?"))
        told += await send_to(bot, admin.telegram_id, text)
    return told
