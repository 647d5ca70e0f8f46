"""Clients in the bot: the compact card, one's own clients a page at a time, guided
creation with validation (S-1, S-3), a shared Telegram contact finds or creates the
person, a file sent while a card is open is attached to it (S-2). The search (S-11)
is bot/routers/client_search.py, the card's history bot/routers/client_history.py."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealCB, MessageCB, PlaybookCB
from bot.errors import validation_text
from bot.keyboards import BTN_NEW_CLIENT, pager_row
from models import Client, ClientKind, User
from services import clients as svc
from services import documents as docs
from services import duplicates
from services import managers as managers_svc
from services.client_search import search_clients
from services.deal_lists import open_deals_of_client
from services.errors import DomainError, NotFound, ValidationFailed
from services.legal import card_entities
from services.permissions import Action, role_may
from services.storage import FileStore, StorageUnavailable
from services.text import digits


class ClientCB(CallbackData, prefix="cl"):
    action: str  # card | contacts | files | history | new
    client_id: int = 0


class MyClientsCB(CallbackData, prefix="mc"):
    page: int = 0


MY_PAGE = 10




class NewClientCB(CallbackData, prefix="nc"):
    step: str  # kind | skip | save
    value: str = ""


class Search(StatesGroup):
    query = State()


class NewClient(StatesGroup):
    kind = State()
    name = State()
    phone = State()
    email = State()
    code = State()
    confirm = State()


def region_of(user: User) -> str:
    return "UA" if str(user.language) == "uk" else "RU"


async def my_clients_page(staff: User, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """The clients the person manages, ten a page, each opening its card."""
    page = max(0, page)
    clients, total = await svc.my_clients(staff, offset=page * MY_PAGE, limit=MY_PAGE)
    if not clients and page > 0:
        page = max(0, (total - 1) // MY_PAGE)
        clients, total = await svc.my_clients(staff, offset=page * MY_PAGE, limit=MY_PAGE)
    if not total:
        return _("📋 You manage no clients yet. Add one with ➕ New client, or find one "
                 "with 🔎 Clients."), InlineKeyboardMarkup(inline_keyboard=[[
                     _btn(_("➕ New client"), ClientCB(action="new"))]])
    rows = [[_btn(c.name[:60], ClientCB(action="card", client_id=c.id))] for c in clients]
    pager_row(rows, total, page, MY_PAGE, lambda p: MyClientsCB(page=p))
    first = page * MY_PAGE + 1
    return _("📋 My clients: {first}–{last} of {total}").format(
        first=first, last=first + len(clients) - 1, total=total), InlineKeyboardMarkup(
        inline_keyboard=rows)


def match_line(m: duplicates.Match) -> str:
    """One likely duplicate, as much as the person may know of it."""
    reason = {"inn": _("same INN"), "phone": _("same phone"), "email": _("same email"),
              "name": _("similar name")}.get(m.reason)
    name = f"<b>{html.escape(m.name)}</b>" + (f" ({reason})" if reason else "") + (
        " · 🗄 " + _("archived") if m.archived else "")
    if m.visible:
        return "🏢 " + name
    if m.managers:
        return "🔒 " + _("{client} is the client of {managers}; ask them or your head.").format(
            client=name, managers=html.escape(", ".join(m.managers)))
    return "🔒 " + _("{client} is a colleague's client; ask your head.").format(client=name)


def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def error_text(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        return validation_text(exc)
    if isinstance(exc, NotFound):
        return _("That client was not found or is not yours.")
    return _("You do not have the right to do that.")


async def card_text(client: Client, staff: User | None = None) -> str:
    e = html.escape
    lines = [f"<b>{e(client.name)}</b>"]
    lines.append(_("Company") if client.kind == ClientKind.COMPANY else _("Individual"))
    entities, total = await card_entities(client.id)  # S-1: every one, the primary first
    for legal in entities:
        codes = [f"{label} {value}" for label, value in (
            (_("INN"), legal.inn), (_("KPP"), legal.kpp), (_("EDRPOU"), legal.edrpou),
            (_("IPN"), legal.ipn)) if value]
        lines.append("🏢 " + e(legal.name) + (f" · {e(', '.join(codes))}" if codes else ""))
    if total > len(entities):
        lines.append(_("…and {count} more.").format(count=total - len(entities)))
    if client.phone:
        lines.append(f"☎️ {e(client.phone)}")
    if client.email:
        lines.append(f"✉️ {e(client.email)}")
    address = await svc.address_of(client)
    if address:
        lines.append("📍 " + e(address))
    managers = await managers_svc.current_managers(client.id)
    lines.append(_("Managers: {names}").format(
        names=e(", ".join(m.full_name for m in managers)) or "—"))
    lines.append(_("Card filled: {percent}%").format(percent=client.completeness))
    lines += consent_lines(client)
    if staff is not None:
        from bot.routers.debts import card_balance  # issue 14: K-6, M-6

        lines.append(await card_balance(staff, client.id))
        lines += await _rank_lines(client, staff)
        lines += await _loyalty_lines(client, staff)
        lines += await _activity_lines(client, staff)
    return "\n".join(lines)


async def _rank_lines(client: Client, staff: User) -> list[str]:
    """K-8: the client's class and RFM segment, once ranked."""
    from services.ranking import SEGMENT_NAMES
    from services.ranking_results import client_rank

    r = await client_rank(staff, client.id)
    if r is None:
        return []
    segment = _(SEGMENT_NAMES.get(r.segment, r.segment))
    return [_("🏆 Class {cls} · RFM {rfm} · {segment}").format(
        cls=f"{r.abc}{r.xyz or ''}", rfm=f"{r.recency}{r.frequency}{r.monetary}",
        segment=html.escape(segment))]


async def _loyalty_lines(client: Client, staff: User) -> list[str]:
    """U-9: the client's loyalty card in one line: number, tier, balance."""
    from services.errors import DomainError
    from services.loyalty_cards import client_card

    try:
        view = await client_card(staff, client.id)
    except DomainError:
        return []
    if view is None:
        return []
    c = view.card
    line = _("💳 Card № {number} · {tier} · {points} points").format(
        number=html.escape(c.number), tier=html.escape(c.tier.name if c.tier else "—"),
        points=view.balance)
    return [line + (" · " + _("blocked") if c.blocked else "")]


def consent_lines(client: Client) -> list[str]:
    """K-16: whether the client agrees to emails and SMS, and a do-not-contact mark."""
    yes_no = {True: "✅", False: "❌"}
    lines = [_("Consent: emails {email}, SMS {sms}").format(
        email=yes_no[bool(client.email_consent)], sms=yes_no[bool(client.sms_consent)])]
    if client.do_not_contact:
        lines.append(_("🚫 do not contact at all"))
    return lines


async def _activity_lines(client: Client, staff: User) -> list[str]:
    """The last done and the next planned activity with the client (S-7, S-19)."""
    from kontakt.formatting import when_text
    from services.activities import client_activities
    from services.clock import utcnow

    last, nxt, _latest = await client_activities(staff, client.id, limit=1)
    lines = []
    lang, tz, now = str(staff.language), staff.timezone, utcnow()
    if last is not None:
        lines.append(_("Last: {when} {icon} {title}").format(
            when=when_text(last.done_at or last.starts_at, tz, lang, now=now),
            icon=last.type.icon, title=html.escape(last.title)))
    if nxt is not None:
        lines.append(_("Next: {when} {icon} {title}").format(
            when=when_text(nxt.starts_at, tz, lang, now=now), icon=nxt.type.icon,
            title=html.escape(nxt.title)))
    return lines


def card_markup(client: Client, webapp_url: str | None, address: str = "",
                deals: list | tuple = (), staff: User | None = None) -> InlineKeyboardMarkup:
    from kontakt.labels import stage_name

    rows = [[
        _btn(_("👥 Contacts"), ClientCB(action="contacts", client_id=client.id)),
        _btn(_("📎 Files"), ClientCB(action="files", client_id=client.id)),
        _btn(_("🕓 History"), ClientCB(action="history", client_id=client.id)),
    ], [
        _btn(_("📅 Activities"), ClientCB(action="acts", client_id=client.id)),
        InlineKeyboardButton(text=_("🧭 Playbook"), callback_data=PlaybookCB(
            client_id=client.id).pack()),
        InlineKeyboardButton(text=_("✉️ Message"), callback_data=MessageCB(
            action="start", client_id=client.id).pack()),
    ]]
    # U-2: the client's open deals, each opening its card, and a new one
    rows += [[InlineKeyboardButton(text=f"💼 {d.title[:40]} · {stage_name(d.stage, _)[:20]}",
                                   callback_data=DealCB(action="open", deal_id=d.id).pack())]
             for d in deals[:5]]
    rows.append([InlineKeyboardButton(text=_("💼 New deal"), callback_data=DealCB(
        action="new", value=str(client.id)).pack()),
        InlineKeyboardButton(text=_("⚠️ Claim"), callback_data=DealCB(
            action="claimc", value=str(client.id)).pack())])
    from bot.routers.debts import pay_buttons  # issue 14: 💳 Payment (heads, admins)
    from bot.routers.orders import OrderCB  # issue 13: an order from the card

    rows.append([InlineKeyboardButton(text=_("🧾 Order"), callback_data=OrderCB(
        action="new", value=str(client.id)).pack())] + pay_buttons(staff, client.id))
    if address:
        # S-4: the three map services people use in RU/UA
        rows.append([InlineKeyboardButton(text=f"🗺 {label}", url=url)
                     for label, url in svc.map_links(address)])
    if webapp_url:
        rows.append([InlineKeyboardButton(
            text=_("📱 Full card"), web_app=WebAppInfo(url=f"{webapp_url}/clients/{client.id}"))])
    if staff is not None and role_may(staff.role, Action.ARCHIVE_CLIENT):
        from bot.routers.client_archive import archive_button

        rows.append([archive_button(client.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_card(message: Message, state: FSMContext, staff: User, client_id: int,
                    webapp_url: str | None, *, edit: bool = False) -> None:
    try:
        client = await svc.get_client(staff, client_id)
    except NotFound:  # an archived client: its own card, with Restore (or NotFound)
        from bot.routers.client_archive import archived_card

        if (shown := await archived_card(staff, client_id, webapp_url)) is None:
            raise
        await state.update_data(open_client_id=None, open_activity_id=None)
        await (message.edit_text if edit else message.answer)(shown[0], reply_markup=shown[1])
        return
    await state.update_data(open_client_id=client.id, open_activity_id=None)
    text = await card_text(client, staff) + "\n\n" + _(
        "Send a file or photo to attach it to this card.")
    markup = card_markup(client, webapp_url, await svc.address_of(client),
                         await open_deals_of_client(staff, client.id), staff)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


def build_clients_router() -> Router:
    router = Router(name="clients")
    router.message.filter(F.chat.type == "private")

    # --- my clients (the search is bot/routers/client_search.py) -----------------
    @router.message(Command("clients"))
    async def my_clients_command(message: Message, staff: User) -> None:
        text, markup = await my_clients_page(staff, 0)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(MyClientsCB.filter())
    async def my_clients_button(query: CallbackQuery, callback_data: MyClientsCB,
                                staff: User) -> None:
        text, markup = await my_clients_page(staff, callback_data.page)
        await query.answer()
        if query.message is not None and query.message.text and query.message.text.startswith(
                "📋"):
            await query.message.edit_text(text, reply_markup=markup)  # another page
        else:
            await query.message.answer(text, reply_markup=markup)

    @router.callback_query(ClientCB.filter(F.action == "card"))
    async def open_card(query: CallbackQuery, callback_data: ClientCB, state: FSMContext,
                        staff: User, webapp_url: str | None) -> None:
        try:
            await show_card(query.message, state, staff, callback_data.client_id, webapp_url)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()

    @router.callback_query(ClientCB.filter(F.action == "files"))
    async def files(query: CallbackQuery, callback_data: ClientCB, staff: User) -> None:
        try:
            documents = await docs.list_documents(staff, callback_data.client_id)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()
        if not documents:
            await query.message.answer(_("No files yet. Send a file or photo while the card "
                                         "is open to attach it."))
            return
        lines = [_("Files:")] + [
            f"• {html.escape(d.filename)} ({max(1, d.size // 1024)} KB, "
            f"{d.created_at:%d.%m.%Y})" for d in documents[:20]]
        await query.message.answer("\n".join(lines))

    # --- files while a card is open (S-2) ----------------------------------------
    @router.message(F.document | F.photo, StateFilter(None, Search.query))
    async def attach(message: Message, state: FSMContext, staff: User, bot: Bot,
                     file_store: FileStore) -> None:
        data = await state.get_data()
        client_id, activity_id = data.get("open_client_id"), data.get("open_activity_id")
        if not client_id and not activity_id:
            await message.answer(_("Open a client's card first (🔎 Clients), then send the "
                                   "file."))
            return
        if message.document:
            file_id, name = message.document.file_id, message.document.file_name or "file"
            mime, size = message.document.mime_type, message.document.file_size or 0
        else:
            photo = message.photo[-1]
            file_id, name, mime, size = (photo.file_id, f"photo_{photo.file_unique_id}.jpg",
                                         "image/jpeg", photo.file_size or 0)
        if size > 20 * 1024 * 1024:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("file"), message=_("Telegram lets bots download files up to 20 MB; "
                                           "attach larger ones in the web version.")))
            return
        buffer = await bot.download(file_id)
        try:
            if activity_id:  # the card opened last is an activity's (S-16)
                doc = await docs.do_attach_to_activity(
                    staff, activity_id, filename=name, content=buffer.read(), mime_type=mime,
                    store=file_store, source="bot")
            else:
                doc = await docs.do_attach(staff, client_id, filename=name,
                                           content=buffer.read(), mime_type=mime,
                                           store=file_store, source="bot")
        except StorageUnavailable:
            await message.answer(_("⚠️ The file storage cannot be reached right now, so the "
                                   "file was not attached. Please send it again later."))
            return
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("📎 Attached “{name}” to the card.").format(
            name=html.escape(doc.filename)))

    # --- a shared Telegram contact finds or creates the person --------------------
    @router.message(F.contact)
    async def shared_contact(message: Message, state: FSMContext, staff: User,
                             webapp_url: str | None) -> None:
        contact = message.contact
        phone_digits = digits(contact.phone_number)
        found = await search_clients(staff, phone_digits, limit=5) if phone_digits else []
        if found:
            if len(found) == 1:
                await show_card(message, state, staff, found[0].id, webapp_url)
                return
            rows = [[_btn(c.name, ClientCB(action="card", client_id=c.id))] for c in found]
            await message.answer(_("Found: {count}").format(count=len(found)),
                                 reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            return
        name = " ".join(x for x in (contact.first_name, contact.last_name) if x)
        try:
            result = await svc.do_create_client(staff, {
                "kind": ClientKind.INDIVIDUAL, "name": name,
                "first_name": contact.first_name, "last_name": contact.last_name,
                "phone": contact.phone_number if contact.phone_number.startswith("+")
                else "+" + phone_digits,
            }, source="bot", region=region_of(staff))
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        await message.answer(_("New client created from the contact."))
        await show_card(message, state, staff, result.client.id, webapp_url)

    # --- guided creation ----------------------------------------------------------
    @router.message(Command("newclient"))
    @router.message(F.text == BTN_NEW_CLIENT)
    async def new_client(message: Message, state: FSMContext) -> None:
        await _ask_kind(message, state)

    @router.callback_query(ClientCB.filter(F.action == "new"))
    async def new_client_button(query: CallbackQuery, state: FSMContext) -> None:
        await query.answer()
        await _ask_kind(query.message, state)

    async def _ask_kind(message: Message, state: FSMContext) -> None:
        await state.set_state(NewClient.kind)
        await state.update_data(draft={})
        await message.answer(_("New client. Is it a company or a person? (/cancel to stop)"),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
                                 _btn(_("Company"), NewClientCB(step="kind", value="company")),
                                 _btn(_("Individual"),
                                      NewClientCB(step="kind", value="individual"))]]))

    def skip_markup() -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[_btn(_("Skip"), NewClientCB(step="skip"))]])

    async def _draft(state: FSMContext) -> dict:
        return dict((await state.get_data()).get("draft") or {})

    @router.callback_query(NewClient.kind, NewClientCB.filter(F.step == "kind"))
    async def kind_chosen(query: CallbackQuery, callback_data: NewClientCB,
                          state: FSMContext) -> None:
        draft = await _draft(state)
        draft["kind"] = callback_data.value
        await state.update_data(draft=draft)
        await state.set_state(NewClient.name)
        await query.answer()
        await query.message.answer(_("Name of the company, or the person's full name:"))

    @router.message(NewClient.name, F.text, ~F.text.startswith("/"))
    async def name_given(message: Message, state: FSMContext) -> None:
        name = (message.text or "").strip()
        if not name or len(name) > 300:
            await message.answer(_("⚠️ {field}: {message}").format(
                field=_("name"), message=_("write 1 to 300 characters")))
            return
        draft = await _draft(state)
        draft["name"] = name
        await state.update_data(draft=draft)
        await state.set_state(NewClient.phone)
        await message.answer(_("Phone (any format, e.g. 8 916 123-45-67 or +380 50 123 4567):"),
                             reply_markup=skip_markup())

    @router.message(NewClient.phone, F.text, ~F.text.startswith("/"))
    async def phone_given(message: Message, state: FSMContext, staff: User) -> None:
        try:
            phone = svc.normalize_phone(message.text or "", region_of(staff))
        except ValidationFailed as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=skip_markup())
            return
        await _next_after_phone(message, state, phone)

    async def _next_after_phone(message: Message, state: FSMContext, phone: str | None):
        draft = await _draft(state)
        if phone:
            draft["phone"] = phone
        await state.update_data(draft=draft)
        await state.set_state(NewClient.email)
        await message.answer(_("Email:"), reply_markup=skip_markup())

    @router.message(NewClient.email, F.text, ~F.text.startswith("/"))
    async def email_given(message: Message, state: FSMContext, staff: User) -> None:
        try:
            email = svc.normalize_email(message.text or "")
        except ValidationFailed as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=skip_markup())
            return
        await _next_after_email(message, state, email, staff)

    async def _next_after_email(message: Message, state: FSMContext, email: str | None,
                                staff: User):
        draft = await _draft(state)
        if email:
            draft["email"] = email
        await state.update_data(draft=draft)
        if draft.get("kind") == "company":
            await state.set_state(NewClient.code)
            await message.answer(_("INN (Russia, 10 or 12 digits) or EDRPOU (Ukraine, 8 "
                                   "digits):"), reply_markup=skip_markup())
        else:
            await _confirm(message, state, staff)

    @router.message(NewClient.code, F.text, ~F.text.startswith("/"))
    async def code_given(message: Message, state: FSMContext, staff: User) -> None:
        from services.requisites import check_edrpou, check_inn, check_ipn

        raw = (message.text or "").strip()
        try:
            if len(digits(raw)) == 8:
                legal = {"edrpou": check_edrpou(raw, "legal.edrpou"), "country": "UA"}
            elif len(digits(raw)) == 10 and region_of(staff) == "UA":
                legal = {"ipn": check_ipn(raw, "legal.ipn"), "country": "UA"}
            else:
                legal = {"inn": check_inn(raw, "legal.inn"), "country": "RU"}
        except ValidationFailed as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=skip_markup())
            return
        draft = await _draft(state)
        draft["legal"] = legal
        await state.update_data(draft=draft)
        await _confirm(message, state, staff)

    @router.callback_query(NewClientCB.filter(F.step == "skip"))
    async def skipped(query: CallbackQuery, state: FSMContext, staff: User) -> None:
        current = await state.get_state()
        await query.answer()
        if current == NewClient.phone.state:
            await _next_after_phone(query.message, state, None)
        elif current == NewClient.email.state:
            await _next_after_email(query.message, state, None, staff)
        elif current == NewClient.code.state:
            await _confirm(query.message, state, staff)

    async def _confirm(message: Message, state: FSMContext, staff: User) -> None:
        draft = await _draft(state)
        await state.set_state(NewClient.confirm)
        e = html.escape
        legal = draft.get("legal") or {}
        lines = [_("Check and save:"), f"<b>{e(draft.get('name', ''))}</b>",
                 _("Company") if draft.get("kind") == "company" else _("Individual")]
        lines += [e(v) for v in (draft.get("phone"), draft.get("email")) if v]
        lines += [f"{k.upper()} {e(v)}" for k, v in legal.items() if k != "country"]
        rows = []
        try:
            matches = await duplicates.likely_duplicates(
                staff, {k: draft[k] for k in ("kind", "name", "phone", "email") if draft.get(k)}
                | {"legal": legal}, region=region_of(staff))
        except DomainError:
            matches = []
        if matches:
            lines.append("")
            lines.append(_("⚠️ This may already be in Kontakt:"))
            for m in matches:
                lines.append(match_line(m))
                if m.visible:
                    rows.append([_btn(_("Open “{name}”").format(name=m.name[:40]),
                                      ClientCB(action="card", client_id=m.client_id))])
        rows.append([_btn(_("✅ Save anyway") if matches else _("✅ Save"),
                          NewClientCB(step="save"))])
        await message.answer("\n".join(lines),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(NewClient.confirm, NewClientCB.filter(F.step == "save"))
    async def save(query: CallbackQuery, state: FSMContext, staff: User,
                   webapp_url: str | None) -> None:
        draft = await _draft(state)
        data = {k: draft[k] for k in ("kind", "name", "phone", "email") if draft.get(k)}
        if draft.get("legal"):
            data["legal"] = {"name": draft["name"], **draft["legal"]}
        try:
            result = await svc.do_create_client(staff, data, source="bot",
                                                region=region_of(staff))
        except DomainError as exc:
            # the draft stays: the person fixes the named field with /newclient later
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await state.set_state(None)
        await state.update_data(draft={})
        await query.answer(_("Saved."))
        await show_card(query.message, state, staff, result.client.id, webapp_url)

    return router


def build_cancel_router() -> Router:
    """/cancel anywhere: drops a draft or a search and says so."""
    router = Router(name="cancel")

    @router.message(Command("cancel"))
    async def cancel(message: Message, state: FSMContext) -> None:
        had = await state.get_state()
        await state.clear()
        await message.answer(_("Cancelled; the draft is discarded.") if had
                             else _("Nothing to cancel."))

    return router
