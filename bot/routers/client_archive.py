"""Archiving a client from its bot card and restoring it (services.client_archive).

🗄 Archive on the card first says what is still open, if anything (nothing is
asked then); otherwise it turns the card into a question — ✅ Yes, archive or ◀️ Back
to the card. An archived client's card (opened from an old button, a deal, a
duplicate warning) says who archived it, when and why, with ♻️ Restore for heads and
admins (a manager is told to ask their head) and 🕓 History. Every press is answered.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _

from kontakt.errors import domain_message
from kontakt.formatting import date_text
from models import ClientKind, User
from services import client_archive as svc
from services import clients as client_svc
from services import managers as managers_svc
from services.errors import DomainError, NotFound, PermissionDenied


class ArchiveCB(CallbackData, prefix="ca"):
    action: str  # ask | yes | back | restore
    client_id: int


def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def archive_button(client_id: int) -> InlineKeyboardButton:
    return _btn(_("🗄 Archive"), ArchiveCB(action="ask", client_id=client_id))


def _refusal(exc: DomainError) -> str:
    from bot.routers.clients import error_text

    if isinstance(exc, PermissionDenied) and exc.params.get("action") == "restore_client":
        return _("A head or an admin restores archived clients: ask your head.")
    if isinstance(exc, svc.ClientArchiveRefused):
        return domain_message(exc, _)
    return error_text(exc)


async def archived_card(staff: User, client_id: int, webapp_url: str | None
                        ) -> tuple[str, InlineKeyboardMarkup] | None:
    """The card of an archived client ``staff`` sees; None for any other."""
    try:
        state = await svc.archive_state(staff, client_id)
    except NotFound:
        return None
    if state.archived_at is None:
        return None
    client, e = state.client, html.escape
    day = date_text(state.archived_at, staff.timezone)
    lines = [f"<b>{e(client.name)}</b>",
             "🗄 " + (_("Archived on {date} by {name}").format(date=day, name=e(state.by))
                     if state.by else _("Archived on {date}").format(date=day))]
    if state.reason:
        lines.append(_("Reason: {reason}").format(reason=e(state.reason)))
    lines.append(_("Company") if client.kind == ClientKind.COMPANY else _("Individual"))
    lines += [f"☎️ {e(client.phone)}"] if client.phone else []
    lines += [f"✉️ {e(client.email)}"] if client.email else []
    managers = await managers_svc.current_managers(client.id)
    lines.append(_("Managers: {names}").format(
        names=e(", ".join(m.full_name for m in managers)) or "—"))
    from bot.routers.clients import ClientCB

    rows = [[_btn(_("🕓 History"), ClientCB(action="history", client_id=client.id))]]
    if await svc.may_restore(staff):
        rows.insert(0, [_btn(_("♻️ Restore"), ArchiveCB(action="restore",
                                                       client_id=client.id))])
    else:
        lines.append("\n" + _("A head or an admin restores archived clients: ask your head."))
    if webapp_url:
        rows.append([InlineKeyboardButton(
            text=_("📱 Full card"), web_app=WebAppInfo(url=f"{webapp_url}/clients/{client.id}"))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def build_client_archive_router() -> Router:
    router = Router(name="client_archive")

    @router.callback_query(ArchiveCB.filter(F.action == "ask"))
    async def ask(query: CallbackQuery, callback_data: ArchiveCB, staff: User) -> None:
        try:
            client = await client_svc.get_client(staff, callback_data.client_id)
            still_open = await svc.what_is_open(staff, client)
        except DomainError as exc:
            await query.answer(_refusal(exc), show_alert=True)
            return
        if still_open:  # said before anything is asked: nothing to confirm yet
            await query.answer()
            await query.message.answer("⛔ " + html.escape(domain_message(
                svc.still_open(still_open), _)))
            return
        await query.answer()
        await query.message.edit_text(
            _("🗄 Archive “{name}”?").format(name=html.escape(client.name)) + "\n\n" + _(
                "The client leaves lists, search and the quick log; its deals, orders, "
                "payments and history are kept. A head or an admin can restore it."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
                _btn(_("✅ Yes, archive"), ArchiveCB(action="yes", client_id=client.id)),
                _btn(_("◀️ Back"), ArchiveCB(action="back", client_id=client.id))]]))

    @router.callback_query(ArchiveCB.filter(F.action.in_({"back", "restore"})))
    async def back_or_restore(query: CallbackQuery, callback_data: ArchiveCB,
                              state: FSMContext, staff: User, webapp_url: str | None) -> None:
        from bot.routers.clients import show_card

        try:
            if callback_data.action == "restore":
                await svc.do_restore_client(staff, callback_data.client_id, source="bot")
            await show_card(query.message, state, staff, callback_data.client_id,
                            webapp_url, edit=True)
        except DomainError as exc:
            await query.answer(_refusal(exc)[:200], show_alert=True)
            return
        await query.answer(_("Restored.") if callback_data.action == "restore" else None)

    @router.callback_query(ArchiveCB.filter(F.action == "yes"))
    async def archive(query: CallbackQuery, callback_data: ArchiveCB, state: FSMContext,
                      staff: User, webapp_url: str | None) -> None:
        try:
            await svc.do_archive_client(staff, callback_data.client_id, source="bot")
        except DomainError as exc:  # something opened meanwhile, or archived by another
            await query.answer(_refusal(exc)[:200], show_alert=True)
            return
        await query.answer(_("Archived."))
        shown = await archived_card(staff, callback_data.client_id, webapp_url)
        if shown is not None:
            await state.update_data(open_client_id=None)
            await query.message.edit_text(shown[0], reply_markup=shown[1])

    return router
