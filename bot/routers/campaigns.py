"""/campaign in the bot (K-10, K-12): this year's campaigns as buttons; pressing one
shows its figures (plan/fact cost, contacts, cost per contact, deals, revenue, margin,
ROI, last-touch model) with the way to its card in the Mini App, Back and Close."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _

from kontakt.formatting import money_text
from models import User
from services import campaign_figures as figs
from services.clock import utcnow
from services.errors import DomainError

MAX_BUTTONS = 40


class CampaignCB(CallbackData, prefix="camp"):
    action: str  # show | list | close
    campaign_id: int = 0


def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


async def campaign_list(staff: User) -> tuple[str, InlineKeyboardMarkup | None]:
    year = utcnow().year
    rows = await figs.roi_report(year)
    if not rows:
        return _("No campaigns this year."), None
    text = _("Campaigns of {year}: choose one to see its figures.").format(year=year)
    buttons = [[_btn(cf.campaign.name[:60], CampaignCB(action="show",
                                                       campaign_id=cf.campaign.id))]
               for cf in rows[:MAX_BUTTONS]]
    buttons.append([_btn(_("✖ Close"), CampaignCB(action="close"))])
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)


def figures_text(cf: figs.CampaignFigures) -> str:
    """The campaign's figures as an HTML message (names escaped)."""
    f, cur = cf.figures, cf.currency
    c = cf.campaign
    m = lambda v: money_text(v, cur)  # noqa: E731
    dates = c.starts_on.strftime("%d.%m.%Y") + " – " + (
        c.ends_on.strftime("%d.%m.%Y") if c.ends_on else "")
    roi = "—" if f.roi_percent is None else f"{f.roi_percent:+.1f}".replace(".", ",") + " %"
    lines = [f"📣 <b>{html.escape(c.name)}</b>", dates,
             _("Budget: {amount}").format(amount=m(f.budget)),
             _("Cost: plan {planned}, fact {actual}").format(planned=m(f.planned),
                                                            actual=m(f.actual)),
             _("Contacts gained: {n}").format(n=f.contacts),
             _("Cost per contact: {amount}").format(
                 amount=m(f.cost_per_contact) if f.cost_per_contact is not None else "—"),
             _("Deals: {n}, won {won}").format(n=f.deals, won=f.won),
             _("Revenue: {amount}").format(amount=m(f.revenue)),
             _("Margin: {amount}").format(amount=m(f.margin)),
             _("ROI: {roi}").format(roi=roi)]
    for vf in cf.variants:
        v = vf.figures
        vroi = "—" if v.roi_percent is None else f"{v.roi_percent:+.1f}".replace(".", ",") + " %"
        lines.append(f"• {html.escape(vf.variant.name)}: "
                     + _("fact {actual}, contacts {n}, revenue {revenue}, ROI {roi}").format(
                         actual=m(v.actual), n=v.contacts, revenue=m(v.revenue), roi=vroi))
    return "\n".join(lines)


def build_campaigns_router() -> Router:
    router = Router(name="campaigns")

    @router.message(Command("campaign"))
    async def campaign_cmd(message: Message, staff: User) -> None:
        text, markup = await campaign_list(staff)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(CampaignCB.filter(F.action == "list"))
    async def back(query: CallbackQuery, staff: User) -> None:
        text, markup = await campaign_list(staff)
        await query.message.edit_text(text, reply_markup=markup)
        await query.answer()

    @router.callback_query(CampaignCB.filter(F.action == "close"))
    async def close(query: CallbackQuery) -> None:
        await query.message.delete()
        await query.answer()

    @router.callback_query(CampaignCB.filter(F.action == "show"))
    async def show(query: CallbackQuery, callback_data: CampaignCB, staff: User,
                   webapp_url: str | None = None) -> None:
        try:
            cf = await figs.campaign_figures(staff, callback_data.campaign_id)
        except DomainError:
            await query.answer(_("The campaign is gone."), show_alert=True)
            return
        rows = []
        if webapp_url:
            rows.append([InlineKeyboardButton(text=_("📱 Open in app"), web_app=WebAppInfo(
                url=f"{webapp_url}/campaigns/{cf.campaign.id}"))])
        rows.append([_btn(_("◀ Back"), CampaignCB(action="list")),
                     _btn(_("✖ Close"), CampaignCB(action="close"))])
        await query.message.edit_text(figures_text(cf),
                                      reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        await query.answer()

    return router
