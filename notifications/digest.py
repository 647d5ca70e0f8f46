"""Timed messages of the organizer: the morning digest per person in their time zone
(today's agenda and what is overdue, and one's plan and bonus so far, K-9) and the
escalation of long-overdue activities to the assignee's supervisor after the admin's
delay (S-18). Both are claimed in the
database (services.activities.claim_once), so with several replicas each goes once."""

from __future__ import annotations

import html
import logging
from decimal import ROUND_HALF_UP, Decimal

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import ActivityCB
from kontakt.formatting import time_text, when_text
from kontakt.labels import plan_amount
from notifications.telegram import send_markup_to
from services import activities as svc
from services.clock import utcnow

log = logging.getLogger("kontakt.digest")


async def send_digests(bot: Bot, i18n: I18n) -> int:
    sent = 0
    now = utcnow()
    for digest in await svc.due_digests(now):
        try:
            sent += await _send_digest(bot, i18n, digest, now)
        except Exception:  # noqa: BLE001 - one person's digest must not stop the others
            log.exception("digest for %s failed", digest.user.id)
    return sent


async def _send_digest(bot: Bot, i18n: I18n, digest, now) -> int:
    user, lang, tz = digest.user, str(digest.user.language), digest.user.timezone

    def _(msg: str, lang: str = lang) -> str:  # the catalogue's keyword
        return i18n.gettext(msg, locale=lang)

    lines = [_("☀️ Good morning! Today: {count}").format(count=len(digest.today))]
    rows = []
    for item in digest.today[:15]:
        a = item.activity
        lines.append(f"{time_text(item.start, tz)} {a.type.icon} {html.escape(a.title[:100])}")
        rows.append([InlineKeyboardButton(text=f"{time_text(item.start, tz)} {a.title}"[:60],
                                          callback_data=ActivityCB(
                                              action="card", activity_id=a.id).pack())])
    if digest.overdue:
        lines.append(_("⚠️ Overdue: {count}").format(count=len(digest.overdue)))
        for a in digest.overdue[:10]:
            lines.append(f"• {when_text(a.starts_at, tz, lang, now=now)} "
                         f"{html.escape(a.title[:100])}")
        rows.append([InlineKeyboardButton(text=_("⚠️ Overdue: {count}").format(
            count=len(digest.overdue)), callback_data=ActivityCB(
                action="list", value="overdue").pack())])
    if digest.bonus is not None:  # K-9: plan X% · bonus so far Y
        percent = digest.bonus.achievement.quantize(Decimal(1), ROUND_HALF_UP)
        amount = ", ".join(plan_amount(v, c) for c, v in digest.bonus.totals.items())
        lines.append(_("📈 Plan {percent}% · bonus so far {amount}").format(
            percent=percent, amount=amount))
    return await send_markup_to(bot, user.telegram_id, "\n".join(lines),
                                InlineKeyboardMarkup(inline_keyboard=rows))


async def send_escalations(bot: Bot, i18n: I18n) -> int:
    sent = 0
    now = utcnow()
    for boss, activity, person in await svc.due_escalations(now):
        try:
            sent += await _escalate(bot, i18n, boss, activity, person, now)
        except Exception:  # noqa: BLE001 - one failure must not lose the others
            log.exception("escalation of %s failed", activity.id)
    return sent


async def _escalate(bot: Bot, i18n: I18n, boss, activity, person, now) -> int:
    lang = str(boss.language)
    text = i18n.gettext("⚠️ Overdue for {by}: {title}", locale=lang).format(
        by=html.escape(person.full_name), title=f"<b>{html.escape(activity.title)}</b>")
    if activity.starts_at:
        text += "\n" + when_text(activity.starts_at, boss.timezone, lang, now=now)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=i18n.gettext("Open", locale=lang),
        callback_data=ActivityCB(action="card", activity_id=activity.id).pack())]])
    if not boss.telegram_id:
        return 0
    return await send_markup_to(bot, boss.telegram_id, text, markup)
