"""S-18: the author and assignees hear about an activity being created, assigned,
rescheduled, completed, verified, cancelled or commented on, after the commit, in
their language and time zone. Uses :func:`notifications.telegram.send_to` (403 and
vanished chats skipped, one 429 waited out)."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import ActivityCB
from kontakt.formatting import when_text
from models import Activity, User
from services.activities import Notice
from services.clock import utcnow


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


KINDS = {
    "assigned": N_("📌 {by} assigned you: {title}"),
    "unassigned": N_("➖ {by} took you off: {title}"),
    "rescheduled": N_("📅 {by} moved: {title}"),
    "changed": N_("✏️ {by} changed: {title}"),
    "done": N_("✅ {by} completed: {title}"),
    "verified": N_("☑️ {by} verified: {title}"),
    "cancelled": N_("✖️ {by} cancelled: {title}"),
    "postponed": N_("⏸ {by} postponed: {title}"),
    "reopened": N_("↩️ {by} reopened: {title}"),
    "comment": N_("💬 {by} on {title}"),
    "overdue": N_("⚠️ Overdue for {by}: {title}"),
}



async def deliver_activity_notices(bot: Bot, i18n: I18n, notices: list[Notice]) -> int:
    from notifications.telegram import send_markup_to

    sent = 0
    now = utcnow()
    for notice in notices:
        user = await User.get_or_none(id=notice.user_id)
        if user is None or not user.is_active or user.telegram_id is None:
            continue
        activity = await Activity.get_or_none(id=notice.activity_id)
        if activity is None:
            continue
        by = await User.get_or_none(id=notice.by_user_id) if notice.by_user_id else None
        lang = str(user.language)
        head = i18n.gettext(KINDS[notice.kind], locale=lang).format(
            by=html.escape(by.full_name if by else "Kontakt"),
            title=f"<b>{html.escape(activity.title)}</b>")
        lines = [head]
        if activity.starts_at and notice.kind not in ("comment",):
            lines.append(when_text(activity.starts_at, user.timezone, lang, now=now))
        if notice.detail:
            lines.append(html.escape(notice.detail))
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=i18n.gettext("Open", locale=lang),
            callback_data=ActivityCB(action="card", activity_id=activity.id).pack())]])
        sent += await send_markup_to(bot, user.telegram_id, "\n".join(lines), markup)
    return sent
