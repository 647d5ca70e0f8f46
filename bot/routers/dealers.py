"""Dealers in the bot (M-7): /dealers lists the top dealers with grade and revenue as
buttons; a press shows the dealer's scorecard with the way to the Mini App's page, Back
and Close. The deal card's ✏️ Edit → 🏪 Dealer picks the deal's dealer or clears it."""

from __future__ import annotations

import contextlib
import html

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB, DealerCB
from kontakt.formatting import money_text
from models import User
from services import dealer_cards as cards
from services import dealer_grades as grades
from services import dealers as svc
from services.errors import DomainError, NotFound

TOP = 10


def _b(text: str, cb: DealerCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


async def _period(staff: User) -> tuple[grades.GradeSettings, cards.Period]:
    s = await grades.grade_settings()
    return s, cards.period(None, None, staff.timezone, s.period_days)


async def list_view(staff: User) -> tuple[str, InlineKeyboardMarkup]:
    s, p = await _period(staff)
    rows = await cards.dealer_list(staff, p.since, p.till)
    head = _("🏪 Dealers by revenue, {start}–{end}:").format(
        start=p.start.strftime("%d.%m.%Y"), end=p.end.strftime("%d.%m.%Y"))
    buttons = [[_b(f"{r.role.grade or '—'} · {r.client.name[:40]} · "
                   f"{money_text(r.figures.revenue_in(s.currency), s.currency)}",
                   DealerCB(action="card", client_id=r.role.client_id))] for r in rows[:TOP]]
    buttons.append([_b(_("✖️ Close"), DealerCB(action="close"))])
    if not rows:
        head = _("🏪 No dealers yet. A head or an admin makes a client a dealer from its "
                 "card in the app.")
    elif len(rows) > TOP:
        head += "\n" + _("The first {count}; all of them are in the app: ☰ More → 🏪 "
                         "Dealers.").format(count=TOP)
    return head, InlineKeyboardMarkup(inline_keyboard=buttons)


async def card_view(staff: User, client_id: int, webapp_url: str | None
                    ) -> tuple[str, InlineKeyboardMarkup]:
    s, p = await _period(staff)
    card = await cards.scorecard(staff, client_id, p.since, p.till)
    f, role = card.row.figures, card.row.role
    e = html.escape
    money = " · ".join(money_text(v, c) for c, v in sorted(f.revenue.items())) or "—"
    margin = " · ".join(money_text(v, c) for c, v in sorted(f.margin.items())) or "—"
    lines = [f"🏪 <b>{e(role.client.name)}</b>",
             _("Period: {start}–{end}").format(start=p.start.strftime("%d.%m.%Y"),
                                              end=p.end.strftime("%d.%m.%Y"))]
    if role.grade:
        reason = card.row.reason.translated(_) if card.row.reason else ""
        lines.append(_("Grade: <b>{grade}</b> — {reason}").format(grade=role.grade,
                                                                  reason=e(reason)))
    lines += [
        _("Deals: {deals}, won {won}, lost {lost}, open now {open}").format(
            deals=f.deals, won=f.won, lost=f.lost, open=f.open),
        _("Won rate: {rate}").format(rate=f"{f.won_rate}%" if f.won_rate is not None
                                     else "—"),
        _("Revenue: {revenue}; margin: {margin}").format(revenue=money, margin=margin),
        _("First contact, median hours: {hours}").format(
            hours=f"{f.contact_hours:g}" if f.contact_hours is not None else "—"),
        _("Claims: {count}").format(count=f.claims)]
    rows = []
    if webapp_url:
        rows.append([InlineKeyboardButton(text=_("📱 Open in the app"), web_app=WebAppInfo(
            url=f"{webapp_url}/dealers/{client_id}"))])
    rows.append([_b(_("◀️ Back"), DealerCB(action="list")),
                 _b(_("✖️ Close"), DealerCB(action="close"))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def _edit(message, text: str, markup: InlineKeyboardMarkup) -> None:
    with contextlib.suppress(TelegramBadRequest):  # the same text again
        await message.edit_text(text, reply_markup=markup)


def _deal_btn(text: str, cb: DealCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


async def dealer_picker(staff: User, deal_id: int, client_id: int, page: int
                        ) -> InlineKeyboardMarkup:
    """The active dealers (the deal's own client left out), the deal's marked 📍."""
    current = await svc.deal_dealer(deal_id)
    picks = [_deal_btn(("📍 " if current and current.client_id == r.client_id else "")
                       + r.client.name[:30],
                       DealCB(action="setdealer", deal_id=deal_id, value=str(r.client_id),
                              page=page))
             for r in await svc.active_dealers(staff, limit=30) if r.client_id != client_id]
    rows = [picks[k:k + 2] for k in range(0, len(picks), 2)]
    if current is not None:
        rows.append([_deal_btn(_("🚫 No dealer"), DealCB(action="setdealer", deal_id=deal_id,
                                                        value="0", page=page))])
    rows.append([_deal_btn(_("↩️ Back"), DealCB(action="card", deal_id=deal_id, page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def build_dealers_router() -> Router:
    router = Router(name="dealers")

    @router.message(Command("dealers"), F.chat.type == "private")
    async def dealers(message: Message, staff: User) -> None:
        text, markup = await list_view(staff)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(DealerCB.filter(F.action == "list"))
    async def back(query: CallbackQuery, staff: User) -> None:
        await query.answer()
        text, markup = await list_view(staff)
        await _edit(query.message, text, markup)

    @router.callback_query(DealerCB.filter(F.action == "card"))
    async def card(query: CallbackQuery, callback_data: DealerCB, staff: User,
                   webapp_url: str | None = None) -> None:
        try:
            text, markup = await card_view(staff, callback_data.client_id, webapp_url)
        except NotFound:
            await query.answer(_("This dealer is no longer there."), show_alert=True)
            return
        await query.answer()
        await _edit(query.message, text, markup)

    @router.callback_query(DealerCB.filter(F.action == "close"))
    async def close(query: CallbackQuery) -> None:
        await query.answer()
        with contextlib.suppress(TelegramBadRequest):
            await query.message.delete()

    # --- the deal's dealer --------------------------------------------------------------
    @router.callback_query(DealCB.filter(F.action == "dealer"))
    async def deal_dealer(query: CallbackQuery, callback_data: DealCB, staff: User) -> None:
        from bot.routers.deal_card import _card, card_text, put

        if (c := await _card(query, staff, callback_data.deal_id)) is None:
            return
        await query.answer()
        await put(query.message, await card_text(c, staff) + "\n\n" + _(
            "🏪 Which dealer did the deal come through?"),
            await dealer_picker(staff, c.deal.id, c.deal.client_id, callback_data.page), edit=True)

    @router.callback_query(DealCB.filter(F.action == "setdealer"))
    async def deal_dealer_set(query: CallbackQuery, callback_data: DealCB, staff: User
                              ) -> None:
        from bot.routers.deal_card import _card, alert, error_text, show_card

        if (c := await _card(query, staff, callback_data.deal_id)) is None:
            return
        client_id = int(callback_data.value or 0) or None
        try:
            await svc.do_set_deal_dealer(staff, c.deal.id, client_id, source="bot")
        except DomainError as exc:  # a dealer archived since
            await query.answer(alert(error_text(exc)), show_alert=True)
            return
        await query.answer(_("🏪 Dealer saved.") if client_id
                           else _("🏪 The deal has no dealer now."))
        await show_card(query.message, staff, c.deal.id, edit=True, page=callback_data.page)

    return router
