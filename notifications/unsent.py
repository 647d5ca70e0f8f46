"""A message a person queued on a channel this server has not set up (issue 17): it
waits in the outbox, unclaimed, and goes when the channel is set up. The sender is
told at once (by the front end, from :func:`channel_ready`); the administrators are
told in the bot, once a day per channel, what to set."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.utils.i18n import I18n

from models import Role, StaffStatus, User
from notifications.telegram import send_to
from services import activities as acts
from services.clock import utcnow

SETTING = {"email": "KONTAKT_SMTP_HOST", "sms": "KONTAKT_SMS_PROVIDER"}


def channel_ready(outbox, channel: str) -> bool:
    """Whether messages of ``channel`` are being sent by this server."""
    if outbox is None:
        return False
    return bool(outbox.smtp.host) if str(channel) == "email" else outbox.sms is not None


async def tell_admins(bot: Bot, i18n: I18n, channel: str, sender: User) -> int:
    """Tell each active administrator (once a day per channel) that ``sender``'s message
    waits for the channel to be set up; the number told."""
    day = utcnow().date().isoformat()
    told = 0
    for admin in await User.filter(role=Role.ADMIN, status=StaffStatus.ACTIVE):
        if not await acts.claim_once("channel_off", admin.id, f"{channel}:{day}"):
            continue
        lang = str(admin.language)
        what = i18n.gettext("an email", locale=lang) if channel == "email" else \
            i18n.gettext("an SMS", locale=lang)
        text = i18n.gettext(
            "⚠️ {sender} queued {what} to a client, but this server does not send them "
            "yet: set {setting} (see the README, “Email and SMS to clients”). Queued "
            "messages go once it is set.", locale=lang).format(
            sender=html.escape(sender.full_name), what=what, setting=SETTING[channel])
        told += await send_to(bot, admin.telegram_id, text)
    return told
