"""K-6, M-6: the due-date reminders' round (services.due_reminders says what is due and
records it once); here, after the commit, the owner hears in Telegram in their
language and time zone, with a button to the client's card, and the outbox is woken
for the client's email or SMS."""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from kontakt.formatting import money_text
from notifications.telegram import send_markup_to
from services.due_reminders import OwnerNote, run_due_reminders

log = logging.getLogger("kontakt.notifications.due")


async def send_due_reminders(bot: Bot, i18n: I18n, outbox=None) -> int:
    result = await run_due_reminders()
    if result.queued and outbox is not None:
        outbox.poke()
    sent = 0
    for note in result.notes:
        try:
            sent += await tell_owner(bot, i18n, note)
        except Exception:  # noqa: BLE001 - one failure must not lose the others
            log.exception("due reminder to %s failed", note.user_id)
    return sent


def render(i18n: I18n, note: OwnerNote) -> tuple[str, InlineKeyboardMarkup]:
    from bot.routers.clients import ClientCB

    lang = note.language

    def _(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    number = html.escape(note.number or "—")
    if note.days < 0:
        head = _("🧾 Invoice {number} is due in {days} days").format(
            number=number, days=-note.days)
    elif note.days == 0:
        head = _("🧾 Invoice {number} is due today").format(number=number)
    else:
        head = _("⚠️ Invoice {number} is {days} days overdue").format(
            number=number, days=note.days)
    lines = [f"<b>{head}</b>", "🏢 " + html.escape(note.client),
             _("Open: {amount}, due {date}").format(
                 amount=money_text(note.open, note.currency),
                 date=note.due.strftime("%d.%m.%Y"))]
    told = note.client_result
    if told.startswith(("email:", "sms:")):
        channel, address = told.split(":", 1)
        line = _("✉️ The client is reminded by email: {address}") if channel == "email" \
            else _("📱 The client is reminded by SMS: {address}")
        lines.append(line.format(address=html.escape(address)))
    elif told != "off":
        reasons = {"do_not_contact": _("the client is not to be contacted"),
                   "no_consent": _("no consent to messages"),
                   "unsubscribed": _("the client unsubscribed"),
                   "no_address": _("no email or phone"),
                   "template": _("the template cannot be used")}
        lines.append(_("The client was not reminded: {reason}").format(
            reason=reasons.get(told, told)))
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("🏢 Open client"),
        callback_data=ClientCB(action="card", client_id=note.client_id).pack())]])
    return "\n".join(lines), markup


async def tell_owner(bot: Bot, i18n: I18n, note: OwnerNote) -> int:
    if not note.telegram_id:
        return 0
    text, markup = render(i18n, note)
    return int(await send_markup_to(bot, note.telegram_id, text, markup))
