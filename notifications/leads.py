"""K-10: a new lead from a web form told to the manager it was assigned to, after the
commit, in their language, with the buttons Take, Reassign and Log contact
(bot.routers.leads). Every text the visitor typed is escaped."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import LeadCB
from models import User
from services.lead_work import Lead


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


def lead_text(lead: Lead, gettext) -> str:
    d = lead.data
    lines = [gettext("📥 New lead from a web form"),
             gettext("Campaign: {campaign} — {variant}").format(
                 campaign=html.escape(lead.campaign), variant=html.escape(lead.variant))]
    for key, label in (("name", N_("Person's name")), ("phone", N_("Phone")),
                       ("email", N_("Email")), ("company", N_("Company"))):
        if d.get(key):
            lines.append(f"{gettext(label)}: <b>{html.escape(str(d[key]))}</b>")
    if d.get("message"):
        lines.append(html.escape(str(d["message"])[:1500]))
    return "\n".join(lines)


def lead_markup(activity_id: int, gettext, *, taken: bool = False) -> InlineKeyboardMarkup:
    row = [] if taken else [InlineKeyboardButton(
        text=gettext("✋ Take"), callback_data=LeadCB(action="take", activity_id=activity_id
                                                     ).pack())]
    row.append(InlineKeyboardButton(text=gettext("🔁 Reassign"), callback_data=LeadCB(
        action="reassign", activity_id=activity_id).pack()))
    return InlineKeyboardMarkup(inline_keyboard=[row, [InlineKeyboardButton(
        text=gettext("📞 Log contact"), callback_data=LeadCB(
            action="log", activity_id=activity_id).pack())]])


async def deliver_lead(bot: Bot, i18n: I18n, activity_id: int, user_id: int | None) -> bool:
    """Tell ``user_id`` about the lead (False: nobody to tell, or not delivered)."""
    from notifications.telegram import send_markup_to
    from services.lead_work import lead_of

    if user_id is None:
        return False
    user = await User.get_or_none(id=user_id)
    if user is None or not user.is_active or user.telegram_id is None:
        return False
    lead = await lead_of(activity_id)
    lang = str(user.language)

    def gettext(s: str) -> str:
        return i18n.gettext(s, locale=lang)

    return await send_markup_to(bot, user.telegram_id, lead_text(lead, gettext),
                                lead_markup(activity_id, gettext))
