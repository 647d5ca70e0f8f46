"""U-7: an overdue stay of a deal in a stage with a limit in days (its execution:
payment, delivery, closing papers) told once to the owner and their supervisor, in
each one's language, with a button to the deal's card."""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import DealCB
from kontakt.formatting import money_text
from kontakt.labels import stage_name
from notifications.telegram import send_markup_to
from services import deal_execution

log = logging.getLogger("kontakt.notifications.deals")


async def send_deal_escalations(bot: Bot, i18n: I18n) -> int:
    sent = 0
    for overdue in await deal_execution.due_escalations():
        for person in overdue.tell:
            try:
                sent += await _tell(bot, i18n, person, overdue)
            except Exception:  # noqa: BLE001 - one failure must not lose the others
                log.exception("deal escalation of %s failed", overdue.deal.id)
    return sent


async def _tell(bot: Bot, i18n: I18n, person, overdue) -> int:
    if not person.telegram_id:
        return 0
    lang = str(person.language)

    def _(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    deal = overdue.deal
    text = _("⏰ {days} days at «{stage}» (the limit is {limit}): {title}").format(
        days=overdue.days, stage=html.escape(stage_name(overdue.stage, _)),
        limit=overdue.stage.days_limit, title=f"<b>{html.escape(deal.title)}</b>")
    text += "\n🏢 " + html.escape(deal.client.name)
    if deal.amount is not None:
        text += " · " + money_text(deal.amount, deal.currency)
    if person.id != deal.owner_id:
        text += "\n👤 " + html.escape(deal.owner.full_name)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("Open"), callback_data=DealCB(action="open", deal_id=deal.id).pack())]])
    return int(await send_markup_to(bot, person.telegram_id, text, markup))
