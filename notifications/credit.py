"""A-15: the credit controller hears of a request for an exception (with ✅ Approve and
❌ Refuse), the requester of the decision — after the commit, in their language. Uses
:func:`notifications.telegram.send_markup_to` (403 and vanished chats skipped)."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import CreditCB
from kontakt.formatting import money_text
from models import CreditOverride, User
from services.credit_overrides import CreditNotice


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


HEADS = {
    "requested": N_("🙏 {by} asks to post order № {number} for {client} over the credit "
                    "limit: the order {total}, over by {over}."),
    "approved": N_("✅ {by} approved the exception for order № {number} ({client}): "
                   "it may be posted now."),
    "refused": N_("❌ {by} refused the exception for order № {number} ({client})."),
}


async def deliver_credit_notices(bot: Bot, i18n: I18n, notices: list[CreditNotice]) -> int:
    from notifications.telegram import send_markup_to

    sent = 0
    for notice in notices:
        user = await User.get_or_none(id=notice.user_id)
        if user is None or not user.is_active or user.telegram_id is None:
            continue
        found = await CreditOverride.get_or_none(id=notice.override_id).select_related(
            "order__client")
        if found is None:
            continue
        by = await User.get_or_none(id=notice.by_user_id)
        lang = str(user.language)
        order = found.order
        lines = [i18n.gettext(HEADS[notice.kind], locale=lang).format(
            by=html.escape(by.full_name if by else "Kontakt"), number=order.number,
            client=f"<b>{html.escape(order.client.name)}</b>",
            total=money_text(found.order_total, order.currency),
            over=money_text(found.over_by, found.currency))]
        text = found.reason if notice.kind == "requested" else found.comment
        if text:
            lines.append(i18n.gettext("💬 {text}", locale=lang).format(text=html.escape(text)))
        markup = None
        if notice.kind == "requested":
            markup = InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text=i18n.gettext("✅ Approve", locale=lang),
                                     callback_data=CreditCB(action="yes",
                                                            override_id=found.id).pack()),
                InlineKeyboardButton(text=i18n.gettext("❌ Refuse", locale=lang),
                                     callback_data=CreditCB(action="no",
                                                            override_id=found.id).pack())]])
        sent += await send_markup_to(bot, user.telegram_id, "\n".join(lines), markup)
    return sent
