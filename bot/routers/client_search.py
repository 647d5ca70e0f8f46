"""The client search in the bot (S-11, issue 17): /find or 🔎 Clients, then any text
until another command. Results come ten a page, counted and paged in SQL
(services.clientlist), with ◀️ ▶️ under them that redraw the message in place.

The page buttons carry the query: in the button itself when it fits Telegram's 64
bytes (most queries do, and such a button works after a restart or /cancel), else
under a short key in the chat's data (the newest few are kept). A button whose query
is no longer kept says so and asks for the search again; a page past the end (the
clients were deleted or archived meanwhile) shows the last one there is."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards import BTN_CLIENTS, pager_row
from bot.routers.clients import ClientCB, MyClientsCB, Search, _btn, match_line
from bot.routers.deal_card import put
from models import User
from services import duplicates
from services.clientlist import ClientFilters, filtered_page

PAGE = 10
KEPT = 10  # long queries kept in the chat's data for their page buttons, the newest
_WIDEST_PAGE = 99_999  # a button must fit with any page number


class FindCB(CallbackData, prefix="fd"):
    page: int = 0
    q: str = ""  # the query itself, when the button can carry it
    k: str = ""  # else the key it is kept under in the chat's data


def clean(query: str) -> str:
    return " ".join(query.split())[:200]  # nobody searches by more; echoed shorter


async def _pages(state: FSMContext, query: str) -> Callable[[int], FindCB]:
    """How a page button of this search is made."""
    try:
        FindCB(page=_WIDEST_PAGE, q=query).pack()
        return lambda page: FindCB(page=page, q=query)
    except ValueError:  # too long for a button, or holds the separator
        pass
    key = hashlib.sha256(query.encode()).hexdigest()[:12]
    kept = dict((await state.get_data()).get("find_queries") or {})
    kept.pop(key, None)
    kept[key] = query
    await state.update_data(find_queries=dict(list(kept.items())[-KEPT:]))
    return lambda page: FindCB(page=page, k=key)


async def search_view(staff: User, query: str, page: int, pages: Callable[[int], FindCB]
                      ) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``page`` (from 0) of what ``query`` finds, the last page if it is past it."""
    page = max(0, page)
    found, total = await filtered_page(staff, ClientFilters(q=query), sort="name",
                                       page=page + 1, per_page=PAGE)
    if not found and total:
        page = (total - 1) // PAGE
        found, total = await filtered_page(staff, ClientFilters(q=query), sort="name",
                                           page=page + 1, per_page=PAGE)
    if not total:
        if hidden := await duplicates.hidden_matches(staff, query):
            return "\n".join(match_line(m) for m in hidden), None
        shown = query if len(query) <= 60 else query[:60] + "…"
        return _("Nothing found for “{query}”. Try part of the name, a phone or an "
                 "INN.").format(query=html.escape(shown)), InlineKeyboardMarkup(
            inline_keyboard=[[_btn(_("➕ New client"), ClientCB(action="new"))]])
    rows = [[_btn(c.name, ClientCB(action="card", client_id=c.id))] for c in found]
    pager_row(rows, total, page, PAGE, pages)
    if total <= PAGE:
        return _("Found: {count}").format(count=total), InlineKeyboardMarkup(
            inline_keyboard=rows)
    first = page * PAGE + 1
    return _("Found: {first}–{last} of {total}").format(
        first=first, last=first + len(found) - 1, total=total), InlineKeyboardMarkup(
        inline_keyboard=rows)


def build_client_search_router() -> Router:
    router = Router(name="client-search")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("find"))
    @router.message(F.text == BTN_CLIENTS)
    async def find(message: Message, state: FSMContext, staff: User,
                   command: CommandObject | None = None) -> None:
        await state.set_state(Search.query)
        if command is not None and command.args:
            await _search(message, staff, state, command.args)
            return
        await message.answer(_("Type a client's name, phone, email, INN/EDRPOU or a contact "
                               "person's name."), reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[_btn(_("📋 My clients"), MyClientsCB(page=0)),
                              _btn(_("➕ New client"), ClientCB(action="new"))]]))

    @router.message(Search.query, F.text, ~F.text.startswith("/"))
    async def search_text(message: Message, staff: User, state: FSMContext) -> None:
        await _search(message, staff, state, message.text or "")

    async def _search(message: Message, staff: User, state: FSMContext, query: str) -> None:
        query = clean(query)
        text, markup = await search_view(staff, query, 0, await _pages(state, query))
        await message.answer(text, reply_markup=markup)

    @router.callback_query(FindCB.filter())
    async def another_page(query: CallbackQuery, callback_data: FindCB, staff: User,
                           state: FSMContext) -> None:
        text = clean(callback_data.q) if callback_data.q else (
            (await state.get_data()).get("find_queries") or {}).get(callback_data.k)
        if not text or query.message is None:
            await query.answer(_("This search is out of date. Type what you are looking "
                                 "for again (🔎 Clients)."), show_alert=True)
            return
        shown, markup = await search_view(staff, text, callback_data.page,
                                          await _pages(state, text))
        await query.answer()
        await put(query.message, shown, markup, edit=True)  # in place, else a new message

    return router
