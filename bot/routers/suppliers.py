"""``/suppliers [name]`` (M-8): the marketing service suppliers one sees, found by
name, each with its current services and the prices agreed, and a button that opens
the supplier's page in the Mini App. The rules are services.suppliers'."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, WebAppInfo
from aiogram.utils.i18n import gettext as _

from kontakt.formatting import money_text
from models import User
from services import suppliers as svc

MAX_SUPPLIERS = 5
MAX_SERVICES = 8


async def suppliers_text(staff: User, query: str) -> tuple[str, list[int]]:
    rows, total = await svc.list_suppliers(staff, q=query, limit=MAX_SUPPLIERS)
    if not rows:
        return (_("No supplier found by «{query}».").format(query=html.escape(query))
                if query else _("No marketing suppliers yet.")), []
    parts = []
    for r in rows:
        lines = [f"📣 <b>{html.escape(r.client.name)}</b>"]
        services = await svc.services_of(staff, r.client.id, archived=False)
        for s in services[:MAX_SERVICES]:
            price = money_text(s.price, s.currency) if s.price is not None else "—"
            unit = f" / {html.escape(s.unit)}" if s.unit else ""
            until = " " + _("till {date}").format(date=f"{s.valid_until:%d.%m.%Y}") \
                if s.valid_until else ""
            lines.append(f"• {html.escape(s.name)} — {price}{unit}{until}")
        if not services:
            lines.append(_("no services yet"))
        parts.append("\n".join(lines))
    if total > len(rows):
        parts.append(_("…and {count} more.").format(count=total - len(rows)))
    return "\n\n".join(parts), [r.client.id for r in rows]


def build_suppliers_router() -> Router:
    router = Router(name="suppliers")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("suppliers"))
    async def suppliers(message: Message, staff: User, command: CommandObject,
                        webapp_url: str | None) -> None:
        query = " ".join((command.args or "").split())[:100]
        text, ids = await suppliers_text(staff, query)
        markup = None
        if webapp_url and ids:
            rows, _total = await svc.list_suppliers(staff, q=query, limit=MAX_SUPPLIERS)
            markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
                text=_("📱 Open: {name}").format(name=r.client.name[:40]),
                web_app=WebAppInfo(url=f"{webapp_url}/suppliers/{r.client.id}"))]
                for r in rows])
        await message.answer(text, reply_markup=markup)

    return router
