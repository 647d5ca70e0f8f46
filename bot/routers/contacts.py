"""Contact persons in the bot (S-3): the client card's 👥 Contacts lists them with a
button each; a contact's card changes its name, phones, emails or position, archives
or restores it; ➕ Contact adds one in three steps (name, phone, email) with Skip.
Every question says how to leave (/cancel or a menu button, bot/dialogs.py)."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.routers.clients import ClientCB, error_text, region_of
from models import ContactPerson, User
from services import clients as client_service
from services import contacts as svc
from services.errors import DomainError


class ContactCB(CallbackData, prefix="ct"):
    action: str  # list | open | add | edit | archive | restore | skip | archived
    contact_id: int = 0
    client_id: int = 0
    value: str = ""


class ContactEdit(StatesGroup):
    value = State()


class ContactNew(StatesGroup):
    name = State()
    phone = State()
    email = State()


def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def name_of(c: ContactPerson) -> str:
    return " ".join(x for x in (c.last_name, c.first_name, c.middle_name) if x)


def field_labels() -> dict[str, str]:
    return {"name": _("👤 Name"), "phones": _("📞 Phones"), "emails": _("✉️ Emails"),
            "position": _("💼 Position")}


def contact_text(c: ContactPerson) -> str:
    e = html.escape
    lines = [f"<b>{e(name_of(c))}</b>" + (" · " + _("archived") if c.archived_at else "")]
    if c.position:
        lines.append("💼 " + e(c.position))
    lines += ["📞 " + e(p) for p in c.phones or []]
    lines += ["✉️ " + e(m) for m in c.emails or []]
    if c.birthday:
        lines.append("🎂 " + c.birthday.strftime("%d.%m.%Y"))
    return "\n".join(lines)


def contact_markup(c: ContactPerson) -> InlineKeyboardMarkup:
    if c.archived_at:
        rows = [[_btn(_("↩️ Restore"), ContactCB(action="restore", contact_id=c.id))]]
    else:
        labels = field_labels()
        rows = [[_btn(labels["name"], ContactCB(action="edit", contact_id=c.id, value="name")),
                 _btn(labels["position"], ContactCB(action="edit", contact_id=c.id,
                                                    value="position"))],
                [_btn(labels["phones"], ContactCB(action="edit", contact_id=c.id,
                                                  value="phones")),
                 _btn(labels["emails"], ContactCB(action="edit", contact_id=c.id,
                                                  value="emails"))],
                [_btn(_("🗄 Archive"), ContactCB(action="archive", contact_id=c.id))]]
    rows.append([_btn(_("◀️ Contacts"), ContactCB(action="list", client_id=c.client_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show_contacts(message: Message, staff: User, client_id: int, *,
                        archived: bool = False) -> None:
    client = await client_service.get_client(staff, client_id)
    people = await svc.list_contacts(staff, client.id, archived=archived)
    head = _("archived contacts") if archived else _("contacts")
    lines = [f"<b>{html.escape(client.name)}</b> — " + head]
    if not people:
        lines.append(_("No contact persons yet.") if not archived else _("None."))
    rows = [[_btn("👤 " + name_of(p)[:50], ContactCB(action="open", contact_id=p.id))]
            for p in people[:30]]
    if not archived:
        rows.append([_btn(_("➕ Contact"), ContactCB(action="add", client_id=client.id))])
        if await svc.list_contacts(staff, client.id, archived=True):
            rows.append([_btn(_("🗄 Archived"), ContactCB(action="archived",
                                                         client_id=client.id))])
    else:
        rows.append([_btn(_("◀️ Contacts"), ContactCB(action="list", client_id=client.id))])
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(
        inline_keyboard=rows))


def _skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_btn(_("Skip"), ContactCB(action="skip"))]])


def build_contacts_router() -> Router:
    router = Router(name="contacts")
    router.message.filter(F.chat.type == "private")

    @router.callback_query(ContactCB.filter(F.action.in_({"list", "archived"})))
    async def listed(query: CallbackQuery, callback_data: ContactCB, staff: User) -> None:
        try:
            await show_contacts(query.message, staff, callback_data.client_id,
                                archived=callback_data.action == "archived")
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()

    @router.callback_query(ContactCB.filter(F.action == "open"))
    async def opened(query: CallbackQuery, callback_data: ContactCB, staff: User) -> None:
        try:
            contact = await svc.get_contact(staff, callback_data.contact_id)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()
        await query.message.answer(contact_text(contact), reply_markup=contact_markup(contact))

    @router.callback_query(ContactCB.filter(F.action.in_({"archive", "restore"})))
    async def archived(query: CallbackQuery, callback_data: ContactCB, staff: User) -> None:
        change = svc.do_archive_contact if callback_data.action == "archive" else \
            svc.do_restore_contact
        try:
            contact = await change(staff, callback_data.contact_id, source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer(_("Archived.") if contact.archived_at else _("Restored."))
        await query.message.edit_text(contact_text(contact),
                                      reply_markup=contact_markup(contact))

    @router.callback_query(ContactCB.filter(F.action == "edit"))
    async def edit(query: CallbackQuery, callback_data: ContactCB, staff: User,
                   state: FSMContext) -> None:
        try:
            contact = await svc.get_contact(staff, callback_data.contact_id)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        field = callback_data.value if callback_data.value in field_labels() else "name"
        await state.set_state(ContactEdit.value)
        await state.update_data(contact_edit={"id": contact.id, "field": field})
        await query.answer()
        asks = {
            "name": _("Type the full name: last name, first name, middle name "
                      "(e.g. “Иванова Мария Петровна”)."),
            "phones": _("Type the phones, separated by commas; “-” clears them."),
            "emails": _("Type the emails, separated by commas; “-” clears them."),
            "position": _("Type the position; “-” clears it."),
        }
        await query.message.answer(asks[field] + " " + _("(/cancel to leave it as it is)"))

    @router.message(ContactEdit.value, F.text, ~F.text.startswith("/"))
    async def edit_value(message: Message, staff: User, state: FSMContext) -> None:
        draft = (await state.get_data()).get("contact_edit") or {}
        text = (message.text or "").strip()
        field = draft.get("field")
        if field == "name":
            changes = _split_name(text)
        elif field in ("phones", "emails"):
            changes = {field: [] if text == "-" else text}
        else:
            changes = {"position": None if text == "-" else text}
        try:
            contact = await svc.do_update_contact(staff, int(draft.get("id") or 0), changes,
                                                  source="bot", region=region_of(staff))
        except DomainError as exc:  # said; the question stays open
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.set_state(None)
        await state.update_data(contact_edit=None)
        await message.answer(_("✅ Saved.") + "\n" + contact_text(contact),
                             reply_markup=contact_markup(contact))

    # --- a new contact: name, phone, email ------------------------------------------
    @router.callback_query(ContactCB.filter(F.action == "add"))
    async def add(query: CallbackQuery, callback_data: ContactCB, staff: User,
                  state: FSMContext) -> None:
        try:
            client = await client_service.get_client(staff, callback_data.client_id)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await state.set_state(ContactNew.name)
        await state.update_data(contact_new={"client_id": client.id})
        await query.answer()
        await query.message.answer(
            _("New contact of {client}. Type the full name (last name, first name, middle "
              "name). (/cancel to stop)").format(client=html.escape(client.name)))

    @router.message(ContactNew.name, F.text, ~F.text.startswith("/"))
    async def new_name(message: Message, state: FSMContext) -> None:
        changes = _split_name(message.text or "")
        if not changes.get("first_name"):
            await message.answer(_("Type at least a first name, or /cancel."))
            return
        draft = dict((await state.get_data()).get("contact_new") or {})
        draft.update(changes)
        await state.update_data(contact_new=draft)
        await state.set_state(ContactNew.phone)
        await message.answer(_("Phone (or several, separated by commas):"),
                             reply_markup=_skip())

    @router.message(ContactNew.phone, F.text, ~F.text.startswith("/"))
    async def new_phone(message: Message, staff: User, state: FSMContext) -> None:
        try:
            phones = [client_service.normalize_phone(p, region_of(staff), "phones")
                      for p in (message.text or "").split(",") if p.strip()]
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=_skip())
            return
        await _after_phone(message, state, phones)

    async def _after_phone(message: Message, state: FSMContext, phones: list[str]) -> None:
        draft = dict((await state.get_data()).get("contact_new") or {})
        draft["phones"] = phones
        await state.update_data(contact_new=draft)
        await state.set_state(ContactNew.email)
        await message.answer(_("Email:"), reply_markup=_skip())

    @router.message(ContactNew.email, F.text, ~F.text.startswith("/"))
    async def new_email(message: Message, staff: User, state: FSMContext) -> None:
        try:
            emails = [client_service.normalize_email(m, "emails")
                      for m in (message.text or "").split(",") if m.strip()]
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again or press Skip."),
                                 reply_markup=_skip())
            return
        await _save_new(message, staff, state, emails)

    async def _save_new(message: Message, staff: User, state: FSMContext,
                        emails: list[str]) -> None:
        draft = dict((await state.get_data()).get("contact_new") or {})
        client_id = int(draft.pop("client_id", 0) or 0)
        draft["emails"] = emails
        try:
            contact = await svc.do_add_contact(staff, client_id, draft, source="bot",
                                               region=region_of(staff))
        except DomainError as exc:
            await message.answer(error_text(exc) + "\n" + _("Try again, or /cancel."))
            return
        await state.set_state(None)
        await state.update_data(contact_new=None)
        await message.answer(_("✅ Contact added.") + "\n" + contact_text(contact),
                             reply_markup=contact_markup(contact))

    @router.callback_query(ContactCB.filter(F.action == "skip"))
    async def skipped(query: CallbackQuery, staff: User, state: FSMContext) -> None:
        current = await state.get_state()
        await query.answer()
        if current == ContactNew.phone.state:
            await _after_phone(query.message, state, [])
        elif current == ContactNew.email.state:
            await _save_new(query.message, staff, state, [])
        else:
            await query.message.edit_reply_markup(reply_markup=None)

    # the client card's 👥 Contacts (its button is the clients router's)
    @router.callback_query(ClientCB.filter(F.action == "contacts"))
    async def contacts(query: CallbackQuery, callback_data: ClientCB, staff: User) -> None:
        try:
            await show_contacts(query.message, staff, callback_data.client_id)
        except DomainError as exc:
            await query.answer(error_text(exc), show_alert=True)
            return
        await query.answer()

    return router


def _split_name(text: str) -> dict[str, str | None]:
    """"Иванова Мария Петровна" → last, first, middle; one word is a first name."""
    parts = text.split()
    if not parts:
        return {"first_name": None}
    if len(parts) == 1:
        return {"first_name": parts[0][:100], "last_name": None, "middle_name": None}
    return {"last_name": parts[0][:100], "first_name": parts[1][:100],
            "middle_name": " ".join(parts[2:])[:100] or None}
