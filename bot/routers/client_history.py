"""The client card's history in the bot (S-7, issue 17): 🕓 History on the card shows
the newest entries, ⬅️ Older and Newer ➡️ page through the rest in place (paged in
SQL by services.timeline). A page past the end shows the oldest there is."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.routers.clients import ClientCB, _btn, error_text
from bot.routers.deal_card import put
from kontakt.history import history_line
from models import User
from services import clients as svc
from services import timeline
from services.errors import DomainError


class HistoryCB(CallbackData, prefix="ch"):
    client_id: int
    page: int = 0  # from the newest


HISTORY_PAGE = 15
HISTORY_LINE = 240  # characters of a line: a page stays within a Telegram message


async def history_view(staff: User, client_id: int, page: int
                       ) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the client's history (S-7), newest first, with ⬅️ Older and Newer ➡️;
    a page past the end (entries hidden since) shows the oldest there is."""
    client = await svc.get_client(staff, client_id, with_archived=True)
    page = max(0, page)
    rows, total = await timeline.client_history_page(staff, client.id, limit=HISTORY_PAGE,
                                                     offset=page * HISTORY_PAGE)
    if not rows and total:
        page = (total - 1) // HISTORY_PAGE
        rows, total = await timeline.client_history_page(
            staff, client.id, limit=HISTORY_PAGE, offset=page * HISTORY_PAGE)
    head = f"<b>{html.escape(client.name)}</b> — " + _("history")
    if total > HISTORY_PAGE:
        first = page * HISTORY_PAGE + 1
        head += ", " + _("{first}–{last} of {total}").format(
            first=first, last=first + len(rows) - 1, total=total)
    lines = [head]
    for r in rows:
        line = history_line(r, _, staff.timezone)
        if len(line) > HISTORY_LINE:
            line = line[:HISTORY_LINE - 1] + "…"
        lines.append(html.escape(line))
    if not rows:
        lines.append(_("No changes yet."))
    nav = []
    if (page + 1) * HISTORY_PAGE < total:
        nav.append(_btn("⬅️ " + _("Older"), HistoryCB(client_id=client.id, page=page + 1)))
    if page > 0:
        nav.append(_btn(_("Newer") + " ➡️", HistoryCB(client_id=client.id, page=page - 1)))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[nav]) if nav else None


def build_client_history_router() -> Router:
    router = Router(name="client-history")

    @router.callback_query(ClientCB.filter(F.action == "history"))
    async def history(query: CallbackQuery, callback_data: ClientCB, staff: User) -> None:
        try:
            text, markup = await history_view(staff, callback_data.client_id, 0)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()
        await query.message.answer(text, reply_markup=markup)

    @router.callback_query(HistoryCB.filter())
    async def history_page(query: CallbackQuery, callback_data: HistoryCB, staff: User
                           ) -> None:
        try:
            text, markup = await history_view(staff, callback_data.client_id,
                                              callback_data.page)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()
        await put(query.message, text, markup, edit=True)

    return router
