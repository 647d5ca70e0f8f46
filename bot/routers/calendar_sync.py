"""/calendar (K-1): connect Google Calendar (a consent link, or the company's Google
Workspace account), see the sync's state, choose another calendar, disconnect
(removing Kontakt's events or leaving them), and the read-only ICS feed address."""

from __future__ import annotations

import html
from collections.abc import Awaitable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from models import User
from notifications.calendar import CONNECT_FAILURES
from services import calendar as svc
from sync import consent
from sync.engine import CalendarSync, ConnectFailed
from sync.google import AccessRevoked, GoogleError


def _b(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


async def _screen(staff: User, engine: CalendarSync | None, base_url: str, feed_secret: str
                  ) -> tuple[str, InlineKeyboardMarkup]:
    st = await svc.status(staff)
    rows: list[list[InlineKeyboardButton]] = []
    title = _("📆 Google Calendar")  # outside the f-string, or it is never extracted
    lines = [f"<b>{title}</b>"]
    available = engine is not None and engine.cfg.enabled
    if not available:
        lines.append(_("Google Calendar sync is not set up on this server (the administrator "
                       "sets KONTAKT_GOOGLE_CLIENT_ID and KONTAKT_GOOGLE_CLIENT_SECRET). The "
                       "read-only feed below works in any calendar app."))
    elif not st["connected"]:
        lines.append(_("Not connected. Your activities can appear in your Google Calendar "
                       "and changes made there come back here."))
        rows.append([InlineKeyboardButton(text=_("🔗 Connect Google Calendar"),
                                          url=consent.start_url(engine, staff))])
        if staff.email and await svc.workspace_account() is not None:
            rows.append([_b(_("🏢 Connect as {email} (Google Workspace)").format(
                email=staff.email), "cal:ws")])
    else:
        lines.append(_("Account: {account}\nCalendar: {calendar}\nEvents there: {events}, "
                       "waiting to be sent: {pending}").format(
            account=html.escape(st["account"] or "—"),
            calendar=html.escape(st["calendar"] or "—"), events=st["events"],
            pending=st["pending"]))
        if st["state"] == "paused":
            lines.append(_("⚠️ Paused: Google's access was revoked. Connect again; nothing "
                           "is lost."))
            rows.append([InlineKeyboardButton(text=_("🔗 Connect again"),
                                              url=consent.start_url(engine, staff))])
        elif st["last_error"]:
            lines.append(_("Last error: {error}").format(error=html.escape(st["last_error"])))
        if st["state"] == "active" and st["mode"] == "oauth":
            rows.append([_b(_("📂 Another calendar"), "cal:list")])
        rows.append([_b(_("🔌 Disconnect"), "cal:off")])
    feed = await svc.feed_address(staff, feed_secret)
    if feed:
        lines.append(_("ICS feed (read-only, keep it secret):") +
                     f"\n<code>{base_url}/ics/{feed}.ics</code>")
        rows.append([_b(_("♻️ New feed address"), "cal:feed:new"),
                     _b(_("🚫 Stop the feed"), "cal:feed:off")])
    else:
        rows.append([_b(_("📎 ICS feed for other calendar apps"), "cal:feed:new")])
    return "\n\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def _attempt(query: CallbackQuery, action: Awaitable[object]) -> bool:
    """Run a call that reaches Google; a refusal or Google being away is said in an
    alert, and False returned."""
    try:
        await action
    except ConnectFailed as exc:
        await query.answer(_(CONNECT_FAILURES[exc.code]), show_alert=True)
        return False
    except (GoogleError, AccessRevoked):
        away = CONNECT_FAILURES["unreachable"]
        await query.answer(_(away), show_alert=True)
        return False
    return True


def build_calendar_sync_router() -> Router:
    router = Router(name="calendar_sync")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("calendar"))
    async def calendar(message: Message, staff: User, base_url: str, feed_secret: str,
                       calendar_sync: CalendarSync | None = None) -> None:
        text, kb = await _screen(staff, calendar_sync, base_url, feed_secret)
        await message.answer(text, reply_markup=kb, disable_web_page_preview=True)

    async def _refresh(query: CallbackQuery, staff: User, engine: CalendarSync | None,
                       feed_secret: str,
                       base_url: str, note: str | None = None) -> None:
        text, kb = await _screen(staff, engine, base_url, feed_secret)
        if note:
            text = f"{note}\n\n{text}"
        if isinstance(query.message, Message):
            await query.message.edit_text(text, reply_markup=kb,
                                          disable_web_page_preview=True)

    @router.callback_query(F.data == "cal:feed:new")
    async def feed_new(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                       calendar_sync: CalendarSync | None = None) -> None:
        await svc.feed_token(staff, feed_secret, renew=True)
        await query.answer(_("A new feed address is made; the old one no longer works."))
        await _refresh(query, staff, calendar_sync, feed_secret, base_url)

    @router.callback_query(F.data == "cal:feed:off")
    async def feed_off(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                       calendar_sync: CalendarSync | None = None) -> None:
        await svc.do_revoke_feed(staff)
        await query.answer(_("The feed is stopped."))
        await _refresh(query, staff, calendar_sync, feed_secret, base_url)

    @router.callback_query(F.data == "cal:off")
    async def off(query: CallbackQuery) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[_b(_("🗑 Disconnect and remove Kontakt's events"),
                                     "cal:off:rm")],
                                 [_b(_("📌 Disconnect, leave the events"), "cal:off:keep")],
                                 [_b(_("⬅️ Back"), "cal:back")]]))

    @router.callback_query(F.data == "cal:back")
    async def back(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                   calendar_sync: CalendarSync | None = None) -> None:
        await query.answer()
        await _refresh(query, staff, calendar_sync, feed_secret, base_url)

    @router.callback_query(F.data.in_({"cal:off:rm", "cal:off:keep"}))
    async def off_do(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                     calendar_sync: CalendarSync | None = None) -> None:
        link = await svc.do_disconnect(staff, remove_events=query.data == "cal:off:rm")
        if calendar_sync is not None:
            calendar_sync.poke()  # after the commit
        await query.answer(_("Disconnected.") if link else _("Not connected."))
        note = (_("Kontakt's events are being removed from your calendar.")
                if query.data == "cal:off:rm" else _("The events stay in your calendar."))
        await _refresh(query, staff, calendar_sync, feed_secret, base_url, note if link else None)

    @router.callback_query(F.data == "cal:list")
    async def choose(query: CallbackQuery, staff: User,
                     calendar_sync: CalendarSync | None = None) -> None:
        if calendar_sync is None:
            await query.answer()
            return
        items: list[dict] = []

        async def fetch() -> None:
            items.extend(await calendar_sync.calendars(staff))

        if not await _attempt(query, fetch()):
            return
        await query.answer()
        rows = [[_b(("⭐ " if c["primary"] else "") + c["summary"][:40], f"cal:use:{i}")]
                for i, c in enumerate(items[:20])]
        rows.append([_b(_("⬅️ Back"), "cal:back")])
        if isinstance(query.message, Message):
            await query.message.edit_text(
                _("Which calendar should Kontakt's events be in? They move there."),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(F.data.startswith("cal:use:"))
    async def use(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                  calendar_sync: CalendarSync | None = None) -> None:
        if calendar_sync is None:
            await query.answer()
            return

        async def choose() -> None:
            try:
                index = int(query.data.split(":")[2])
                chosen = (await calendar_sync.calendars(staff))[index]["id"]
            except (ValueError, IndexError):
                raise ConnectFailed("unknown_calendar") from None
            await calendar_sync.choose_calendar(staff, chosen)

        if await _attempt(query, choose()):
            await query.answer(_("Done: the events move to that calendar."))
            await _refresh(query, staff, calendar_sync, feed_secret, base_url)

    @router.callback_query(F.data == "cal:ws")
    async def workspace(query: CallbackQuery, staff: User, base_url: str, feed_secret: str,
                        calendar_sync: CalendarSync | None = None) -> None:
        if calendar_sync is None or not staff.email:
            await query.answer()
            return
        if await _attempt(query, calendar_sync.connect_service(staff, staff.email)):
            await query.answer(_("Connected."))
            await _refresh(query, staff, calendar_sync, feed_secret, base_url)

    return router
