"""Inline mode: ``@bot name`` in any chat finds a colleague's contacts (S-24)."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.types import InlineQuery, InlineQueryResultArticle, InputTextMessageContent

from models import User
from services import staff as staff_service


def build_inline_router() -> Router:
    router = Router(name="inline")

    @router.inline_query()
    async def find_colleague(query: InlineQuery, staff: User) -> None:
        people = await staff_service.search_staff(staff, query.query, limit=20)
        results = []
        for p in people:
            details = [x for x in (p.position.name if p.position else None,
                                   p.department.name if p.department else None) if x]
            contacts = [x for x in (p.phone, p.email) if x]
            text = "\n".join([f"<b>{html.escape(p.full_name)}</b>",
                              *map(html.escape, details), *map(html.escape, contacts)])
            results.append(InlineQueryResultArticle(
                id=f"staff-{p.id}", title=p.full_name,
                description=" · ".join(details + contacts) or None,
                input_message_content=InputTextMessageContent(message_text=text,
                                                              parse_mode="HTML")))
        await query.answer(results, cache_time=0, is_personal=True)

    return router
