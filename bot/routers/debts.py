"""Settlements in the bot (issue 14: K-6 receivables, M-6 payment deadlines).

* The client's card shows one line of its balance per currency: what it owes and the
  overdue part with the days of the oldest, or its advance (:func:`balance_text`).
* ``/debts``: the open invoices of one's clients that are overdue (the longest overdue
  first), then those falling due within 7 days; a button per client opens its card. A
  head sees his departments' clients, an admin everyone's (services.ledger_debts).
* 💳 Payment on the card (heads and admins; the service refuses anyone else): the
  amount typed ("1 500,50"), the invoice it pays (or the oldest first), the date
  (today, yesterday or typed), a confirmation with ✅ Save / ✏️ Change / ❌ Cancel, then
  the new balance line. /cancel or a menu button leaves the dialog.
"""

from __future__ import annotations

import html
from datetime import date, timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.errors import validation_text
from bot.routers.activity_card import error_text
from kontakt.formatting import money_text
from models import EntryKind, User
from services import clients as client_svc
from services import ledger
from services.deals import default_currency
from services.errors import DomainError, ValidationFailed
from services.ledger_debts import AHEAD_DAYS, due_items
from services.ledger_views import BalanceLine, balance_line
from services.permissions import Action, can, role_may

MAX_INVOICE_BUTTONS = 8
MAX_CLIENT_BUTTONS = 10


class DebtCB(CallbackData, prefix="db"):
    # pay (start, from the card) | inv (value: the entry, 0 the oldest first)
    # | day (value: ISO date) | save | edit | cancel
    action: str
    client_id: int = 0
    value: str = ""


class PayDialog(StatesGroup):
    amount = State()
    invoice = State()
    dated = State()
    confirm = State()


def _btn(text: str, cb: DebtCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def day_text(day: date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else "—"


# ---- the card's line ---------------------------------------------------------------------

def balance_text(lines: list[BalanceLine]) -> str:
    """«💰 Долг 15 830,40 ₽, просрочено 5 000 ₽ (12 дн.)», «💰 Аванс 2 000 ₽» or
    «💰 Расчёты: долгов нет»."""
    parts = []
    for b in lines:
        if b.owed > 0:
            part = _("Owes {amount}").format(amount=money_text(b.owed, b.currency))
            if b.overdue > 0:
                part += ", " + _("overdue {amount} ({days} d.)").format(
                    amount=money_text(b.overdue, b.currency), days=b.days_overdue)
            parts.append(part)
        if b.credit > 0:
            parts.append(_("Advance {amount}").format(amount=money_text(b.credit, b.currency)))
    if not parts:
        return _("💰 Settlements: nothing owed")
    return "💰 " + "; ".join(parts)


async def card_balance(staff: User, client_id: int) -> str:
    return balance_text(await balance_line(staff, client_id))


def pay_buttons(staff: User | None, client_id: int) -> list[InlineKeyboardButton]:
    """💳 Payment for whoever may record one (the service checks again)."""
    if staff is None or not role_may(staff.role, Action.RECORD_PAYMENTS):
        return []
    return [_btn(_("💳 Payment"), DebtCB(action="pay", client_id=client_id))]


# ---- /debts ----------------------------------------------------------------------------------

async def debts_page(staff: User) -> tuple[str, InlineKeyboardMarkup | None]:
    from bot.routers.clients import ClientCB

    items, total = await due_items(staff)
    if not items:
        return _("🎉 No overdue invoices, and nothing falls due in the next {days} days.")\
            .format(days=AHEAD_DAYS), None
    e = html.escape
    out = [_("💰 <b>Debts</b>: overdue, then due in the next {days} days").format(
        days=AHEAD_DAYS)]
    overdue = [i for i in items if i.overdue]
    soon = [i for i in items if not i.overdue]
    for head, group in ((_("⚠️ Overdue:"), overdue), (_("📅 Falls due soon:"), soon)):
        if not group:
            continue
        out += ["", head]
        for i in group:
            row = f"• <b>{e(i.client)}</b> · " + (
                _("№ {number}").format(number=e(i.number)) if i.number else "—") + \
                " · " + money_text(i.open, i.currency) + " · " + \
                _("due {day}").format(day=day_text(i.due))
            if i.overdue:
                row += " · " + _("{days} d. overdue").format(days=i.days_overdue)
            out.append(row)
    if total > len(items):
        out += ["", _("…and {count} more.").format(count=total - len(items))]
    clients: dict[int, str] = {}
    for i in items:
        clients.setdefault(i.client_id, i.client)
    rows = [[InlineKeyboardButton(text="🏢 " + name[:50], callback_data=ClientCB(
        action="card", client_id=cid).pack())]
        for cid, name in list(clients.items())[:MAX_CLIENT_BUTTONS]]
    return "\n".join(out), InlineKeyboardMarkup(inline_keyboard=rows)


# ---- the payment dialog ------------------------------------------------------------------

async def _draft(state: FSMContext) -> dict:
    return dict((await state.get_data()).get("pay_draft") or {})


async def _ask_amount(message: Message, staff: User, state: FSMContext,
                      client_id: int) -> None:
    client = await client_svc.get_client(staff, client_id)
    await state.set_state(PayDialog.amount)
    await state.update_data(pay_draft={"client_id": client.id, "name": client.name})
    await message.answer(
        _("💳 Payment from <b>{client}</b>.").format(client=html.escape(client.name)) + "\n"
        + await card_balance(staff, client.id) + "\n\n"
        + _("Type the amount received, e.g. 1 500,50. (/cancel to stop)"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            _btn(_("❌ Cancel"), DebtCB(action="cancel", client_id=client.id))]]))


async def _ask_invoice(message: Message, staff: User, state: FSMContext) -> None:
    draft = await _draft(state)
    everything = await ledger.open_items(staff, draft["client_id"])
    items = [i for i in everything if i.kind == EntryKind.INVOICE]
    if not items:  # an adjustment's debt in its currency, else the person's
        draft.update(entry_id=0, number="", currency=everything[0].currency if everything
                     else default_currency(staff))
        await state.update_data(pay_draft=draft)
        await _ask_date(message, staff, state, _("No open invoices: the payment pays the "
                                                 "oldest debt or stays as an advance."))
        return
    await state.set_state(PayDialog.invoice)
    rows = [[_btn(_("№ {number} · {amount} open").format(
        number=i.number or "—", amount=money_text(i.open, i.currency)),
        DebtCB(action="inv", client_id=draft["client_id"], value=str(i.id)))]
        for i in items[:MAX_INVOICE_BUTTONS]]
    rows.append([_btn(_("⏳ Oldest first"), DebtCB(action="inv", client_id=draft["client_id"],
                                                   value="0"))])
    rows.append([_btn(_("❌ Cancel"), DebtCB(action="cancel", client_id=draft["client_id"]))])
    await message.answer(_("Which invoice does it pay?"),
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _ask_date(message: Message, staff: User, state: FSMContext, note: str = "") -> None:
    draft = await _draft(state)
    await state.set_state(PayDialog.dated)
    today = ledger.today_of(staff)
    cid = draft["client_id"]
    await message.answer(
        (note + "\n" if note else "") + _("When was it received? Press a day or type a date "
                                           "like 31.05.2026."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            _btn(_("Today, {day}").format(day=f"{today:%d.%m}"),
                 DebtCB(action="day", client_id=cid, value=today.isoformat())),
            _btn(_("Yesterday, {day}").format(day=f"{today - timedelta(days=1):%d.%m}"),
                 DebtCB(action="day", client_id=cid,
                        value=(today - timedelta(days=1)).isoformat()))],
            [_btn(_("❌ Cancel"), DebtCB(action="cancel", client_id=cid))]]))


async def _confirm(message: Message, state: FSMContext) -> None:
    draft = await _draft(state)
    await state.set_state(PayDialog.confirm)
    cid = draft["client_id"]
    invoice = _("№ {number}").format(number=html.escape(draft["number"])) \
        if draft.get("entry_id") else _("the oldest invoices first")
    text = "\n".join([
        _("Check the payment:"),
        _("🏢 {client}").format(client=html.escape(draft["name"])),
        _("💳 Amount: <b>{amount}</b>").format(
            amount=money_text(ledger.parse_amount(draft["amount"]), draft["currency"])),
        _("🧾 Pays: {invoice}").format(invoice=invoice),
        _("📅 Received: {day}").format(day=day_text(date.fromisoformat(draft["dated"])))])
    await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[
        [_btn(_("✅ Save"), DebtCB(action="save", client_id=cid))],
        [_btn(_("✏️ Change"), DebtCB(action="edit", client_id=cid)),
         _btn(_("❌ Cancel"), DebtCB(action="cancel", client_id=cid))]]))


async def _in_dialog(query: CallbackQuery, state: FSMContext, step: State | None
                     ) -> dict | None:
    """The draft when the button belongs to the dialog's current step and client, else
    None after saying the button is out of date."""
    draft = await _draft(state)
    current = await state.get_state()
    ok = current is not None and current.startswith("PayDialog:") and (
        step is None or current == step.state)
    if not ok or not draft or draft.get("client_id") != DebtCB.unpack(
            query.data or "").client_id:
        await query.answer(_("This button is out of date. Open the item again from the "
                             "menu."), show_alert=True)
        return None
    return draft


def build_debts_router() -> Router:
    router = Router(name="debts")

    @router.message(Command("debts"))
    async def debts(message: Message, staff: User) -> None:
        text, markup = await debts_page(staff)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(DebtCB.filter(F.action == "pay"))
    async def pay(query: CallbackQuery, callback_data: DebtCB, staff: User,
                  state: FSMContext) -> None:
        if not await can(staff, Action.RECORD_PAYMENTS):
            await query.answer(_("You do not have the right to do that."), show_alert=True)
            return
        try:
            await client_svc.get_client(staff, callback_data.client_id)
        except DomainError as exc:
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await query.answer()
        await _ask_amount(query.message, staff, state, callback_data.client_id)

    @router.message(PayDialog.amount, F.text, ~F.text.startswith("/"))
    async def amount_typed(message: Message, staff: User, state: FSMContext) -> None:
        try:
            amount = ledger.parse_amount(message.text or "")
        except ValidationFailed as exc:
            await message.answer(validation_text(exc) + "\n" + _(
                "Type the amount again, e.g. 1 500,50, or /cancel."))
            return
        draft = await _draft(state)
        draft["amount"] = str(amount)
        await state.update_data(pay_draft=draft)
        await _ask_invoice(message, staff, state)

    @router.callback_query(DebtCB.filter(F.action == "inv"))
    async def invoice_chosen(query: CallbackQuery, callback_data: DebtCB, staff: User,
                             state: FSMContext) -> None:
        draft = await _in_dialog(query, state, PayDialog.invoice)
        if draft is None:
            return
        items = [i for i in await ledger.open_items(staff, draft["client_id"])
                 if i.kind == EntryKind.INVOICE]
        wanted = int(callback_data.value or 0)
        chosen = next((i for i in items if i.id == wanted), None)
        if wanted and chosen is None:
            await query.answer(_("That invoice is paid already; choose another."),
                               show_alert=True)
            return
        first = chosen or items[0] if items else None
        draft.update(entry_id=chosen.id if chosen else 0,
                     number=(chosen.number or "") if chosen else "",
                     currency=first.currency if first else default_currency(staff))
        await state.update_data(pay_draft=draft)
        await query.answer()
        await _ask_date(query.message, staff, state)

    @router.callback_query(DebtCB.filter(F.action == "day"))
    async def day_chosen(query: CallbackQuery, callback_data: DebtCB, staff: User,
                         state: FSMContext) -> None:
        draft = await _in_dialog(query, state, PayDialog.dated)
        if draft is None:
            return
        await query.answer()
        await _date_given(query.message, staff, state, draft, callback_data.value)

    @router.message(PayDialog.dated, F.text, ~F.text.startswith("/"))
    async def date_typed(message: Message, staff: User, state: FSMContext) -> None:
        await _date_given(message, staff, state, await _draft(state), message.text or "")

    async def _date_given(message: Message, staff: User, state: FSMContext, draft: dict,
                          raw: str) -> None:
        try:
            day = ledger.parse_dated(raw.strip() or "-", staff)
        except ValidationFailed as exc:
            await message.answer(validation_text(exc) + "\n" + _(
                "Type the date again, e.g. 31.05.2026, or press a day above."))
            return
        draft["dated"] = day.isoformat()
        await state.update_data(pay_draft=draft)
        await _confirm(message, state)

    @router.callback_query(DebtCB.filter(F.action == "edit"))
    async def edit(query: CallbackQuery, staff: User, state: FSMContext) -> None:
        draft = await _in_dialog(query, state, PayDialog.confirm)
        if draft is None:
            return
        await query.answer()
        await _ask_amount(query.message, staff, state, draft["client_id"])

    @router.callback_query(DebtCB.filter(F.action == "cancel"))
    async def cancel(query: CallbackQuery, state: FSMContext) -> None:
        draft = await _in_dialog(query, state, None)
        if draft is None:
            return
        await state.set_state(None)
        await state.update_data(pay_draft=None)
        await query.answer(_("Cancelled."))
        await query.message.answer(_("❌ The payment is not recorded."))

    @router.callback_query(DebtCB.filter(F.action == "save"))
    async def save(query: CallbackQuery, staff: User, state: FSMContext) -> None:
        draft = await _in_dialog(query, state, PayDialog.confirm)
        if draft is None:
            return
        data = {"client_id": draft["client_id"], "amount": draft["amount"],
                "currency": draft["currency"], "dated": draft["dated"]}
        if draft.get("entry_id"):
            data["invoice_entry_id"] = draft["entry_id"]
        try:
            entry = await ledger.do_record_payment(staff, data, source="bot")
        except DomainError as exc:  # the draft stays: ✏️ Change or ❌ Cancel
            await query.answer(error_text(exc)[:190], show_alert=True)
            return
        await state.set_state(None)
        await state.update_data(pay_draft=None)
        await query.answer(_("Saved."))
        await query.message.answer(
            _("✅ Payment of {amount} from {client} recorded.").format(
                amount=money_text(entry.amount, entry.currency),
                client=html.escape(draft["name"])) + "\n"
            + await card_balance(staff, draft["client_id"]))

    return router
