"""Orders in the bot (issue 13: S-17, K-4, K-5): 🧾 Order on the client's card (or
``/order`` while a client's card is open) makes a draft; each message then adds a line
("труба 50 10": a product found as /price finds it, the quantity last), and the card
shows the lines with their prices and the running total. ✅ Post reserves the stock
(a short line is named, the draft kept), 📄 Invoice emails the invoice PDF to the
client, 🚚 Shipped writes the stock off, 🚫 Cancel gives it back.
"""

from __future__ import annotations

import html
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.routers.activity_card import error_text
from bot.routers.credit import say_refused
from bot.routers.price import split_quantity
from kontakt.formatting import money_text, qty_text
from models import OrderState, User
from services import credit, order_invoices, products
from services import orders as svc
from services.credit import CreditRefused
from services.errors import DomainError, ValidationFailed
from services.stock import StockShort
from services.storage import FileStore

STATE_NAMES = {"draft": "📝", "posted": "✅", "shipped": "🚚", "closed": "✔️",
               "cancelled": "🚫"}


class OrderDraft(StatesGroup):
    lines = State()


class OrderCB(CallbackData, prefix="or"):
    # new (value: the client) | card | pick / force (value: "product:qty") | undo | done
    # | post | invoice | ship | cancel | close
    action: str
    order_id: int = 0
    value: str = ""


def _btn(text: str, cb: OrderCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _state_word(state: str) -> str:
    return {"draft": _("Draft"), "posted": _("Posted"), "shipped": _("Shipped"),
            "closed": _("Closed"), "cancelled": _("Cancelled")}[state]


async def order_text(order) -> str:
    e = html.escape
    lines = await svc.order_lines(order)
    out = [_("🧾 Order № {number} · {state} {word}").format(
        number=order.number, state=STATE_NAMES[str(order.state)],
        word=_state_word(str(order.state))),
        _("🏢 {client}").format(client=e(order.client.name))]
    if not lines:
        out.append(_("No lines yet."))
    for n, ln in enumerate(lines, 1):
        row = f"{n}. {e(ln.name)} — {qty_text(ln.quantity)} {e(ln.unit)} × " \
              f"{money_text(ln.price, order.currency)} = {money_text(ln.amount, order.currency)}"
        if ln.discount > 0:
            row += " " + _("(−{discount} %)").format(discount=qty_text(ln.discount))
        out.append(row)
    if lines:
        out.append(_("Total: <b>{total}</b>").format(total=money_text(order.total,
                                                                        order.currency)))
        if order.vat_total:
            out.append(_("VAT: {vat}").format(vat=money_text(order.vat_total, order.currency)))
    return "\n".join(out)


def order_markup(order) -> InlineKeyboardMarkup:
    oid, state = order.id, str(order.state)
    rows: list[list[InlineKeyboardButton]] = []
    if state == OrderState.DRAFT:
        rows.append([_btn(_("✅ Post"), OrderCB(action="post", order_id=oid)),
                     _btn(_("📄 Invoice"), OrderCB(action="invoice", order_id=oid))])
        rows.append([_btn(_("↩️ Remove the last line"), OrderCB(action="undo", order_id=oid)),
                     _btn(_("🚫 Cancel the order"), OrderCB(action="cancel", order_id=oid))])
        rows.append([_btn(_("✖️ Done for now"), OrderCB(action="done", order_id=oid))])
    elif state == OrderState.POSTED:
        rows.append([_btn(_("🚚 Shipped"), OrderCB(action="ship", order_id=oid)),
                     _btn(_("📄 Invoice"), OrderCB(action="invoice", order_id=oid))])
        rows.append([_btn(_("🚫 Cancel the order"), OrderCB(action="cancel", order_id=oid))])
    elif state == OrderState.SHIPPED:
        rows.append([_btn(_("✔️ Close"), OrderCB(action="close", order_id=oid)),
                     _btn(_("📄 Invoice"), OrderCB(action="invoice", order_id=oid))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(message: Message, staff: User, order_id: int, note: str = "") -> None:
    order = await svc.get_order(staff, order_id)
    text = await order_text(order)
    if order.state == OrderState.DRAFT:
        text += "\n\n" + _("Type a product and its quantity to add a line, e.g. “труба 50 "
                           "10”. (/cancel to stop adding)")
    await message.answer((note + "\n\n" if note else "") + text,
                         reply_markup=order_markup(order))


def build_orders_router() -> Router:
    router = Router(name="orders")

    async def _start(message: Message, staff: User, state: FSMContext,
                     client_id: int) -> None:
        try:
            order = await svc.do_create_order(staff, {"client_id": client_id}, source="bot")
        except DomainError as exc:  # no price list for the client, say
            await message.answer(error_text(exc))
            return
        await state.set_state(OrderDraft.lines)
        await state.update_data(order_draft={"order_id": order.id})
        await show(message, staff, order.id)

    @router.message(Command("order"))
    async def order_command(message: Message, staff: User, state: FSMContext) -> None:
        client_id = (await state.get_data()).get("open_client_id")
        if not client_id:
            await message.answer(_("Open the client's card first (/find and the name), then "
                                   "press 🧾 Order or send /order."))
            return
        await _start(message, staff, state, int(client_id))

    @router.callback_query(OrderCB.filter(F.action == "new"))
    async def new_from_card(query: CallbackQuery, callback_data: OrderCB, staff: User,
                            state: FSMContext) -> None:
        await query.answer()
        await _start(query.message, staff, state, int(callback_data.value or 0))

    async def _add(message: Message, staff: User, state: FSMContext, order_id: int,
                   product_id: int, qty: Decimal, *, force: bool = False) -> None:
        order = await svc.get_order(staff, order_id)
        have = [{"product_id": ln.product_id, "quantity": str(ln.quantity),
                 "off_matrix": ln.off_matrix} for ln in await svc.order_lines(order)]
        wanted = have + [{"product_id": product_id, "quantity": str(qty),
                          "off_matrix": force}]
        try:
            await svc.do_set_lines(staff, order_id, wanted, source="bot")
        except ValidationFailed as exc:
            if exc.field.endswith(".product_id") and "matrix" in exc.template:
                await message.answer(_("⚠️ This product is not in the client's matrix. Add "
                                       "it anyway?"), reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[_btn(_("➕ Add anyway"), OrderCB(
                        action="force", order_id=order_id, value=f"{product_id}:{qty}"))]]))
                return
            await message.answer(error_text(exc))
            return
        except DomainError as exc:
            await message.answer(error_text(exc))
            return
        warning = await credit.credit_warning(staff, order_id)  # a warning only
        await show(message, staff, order_id, _("➕ Line added.") + (
            "\n⚠️ " + html.escape(warning.translated(_)) if warning else ""))

    @router.message(OrderDraft.lines, F.text, ~F.text.startswith("/"))
    async def line_typed(message: Message, staff: User, state: FSMContext) -> None:
        order_id = int(((await state.get_data()).get("order_draft") or {}).get("order_id")
                       or 0)
        query, qty = split_quantity(message.text or "")
        found = await products.search_products(query, limit=8)
        if not found:
            await message.answer(_("Nothing found for “{query}”. Type another part of the "
                                   "name or the article; /cancel to stop.").format(
                query=html.escape(query[:60])))
            return
        if len(found) > 1:
            rows = [[_btn(p.name[:50] + (f" · {p.code}" if p.code else ""), OrderCB(
                action="pick", order_id=order_id, value=f"{p.id}:{qty}"))] for p in found]
            await message.answer(_("Which one?"), reply_markup=InlineKeyboardMarkup(
                inline_keyboard=rows))
            return
        await _add(message, staff, state, order_id, found[0].id, qty)

    @router.callback_query(OrderCB.filter(F.action.in_({"pick", "force"})))
    async def picked(query: CallbackQuery, callback_data: OrderCB, staff: User,
                     state: FSMContext) -> None:
        await query.answer()
        pid, _sep, qty = callback_data.value.partition(":")
        await _add(query.message, staff, state, callback_data.order_id, int(pid),
                   Decimal(qty or "1"), force=callback_data.action == "force")

    @router.callback_query(OrderCB.filter(F.action == "undo"))
    async def undo(query: CallbackQuery, callback_data: OrderCB, staff: User) -> None:
        try:
            order = await svc.get_order(staff, callback_data.order_id)
            lines = await svc.order_lines(order)
            await svc.do_set_lines(staff, order.id, [
                {"product_id": ln.product_id, "quantity": str(ln.quantity),
                 "off_matrix": ln.off_matrix} for ln in lines[:-1]], source="bot")
        except DomainError as exc:
            await query.answer(error_text(exc)[:200], show_alert=True)
            return
        await query.answer(_("Removed.") if lines else _("There are no lines."))
        await show(query.message, staff, order.id)

    @router.callback_query(OrderCB.filter(F.action == "done"))
    async def done(query: CallbackQuery, callback_data: OrderCB, staff: User,
                   state: FSMContext) -> None:
        if (await state.get_state()) == OrderDraft.lines.state:
            await state.set_state(None)
        await query.answer(_("The draft is kept; open it again from the client's card."))

    @router.callback_query(OrderCB.filter(F.action.in_({"post", "ship", "cancel", "close"})))
    async def move(query: CallbackQuery, callback_data: OrderCB, staff: User,
                   state: FSMContext) -> None:
        act = {"post": svc.do_post, "ship": svc.do_ship, "cancel": svc.do_cancel,
               "close": svc.do_close}[callback_data.action]
        try:
            result = await act(staff, callback_data.order_id, source="bot")
        except CreditRefused as exc:  # the reason and a way to ask for an exception
            await query.answer()
            await say_refused(query.message, exc, callback_data.order_id)
            return
        except StockShort as exc:
            await query.answer()
            from kontakt.errors import error_message

            await query.message.answer("⚠️ " + html.escape(error_message(exc, _)) + "\n"
                                       + _("The order stays a draft."))
            return
        except DomainError as exc:
            await query.answer(error_text(exc)[:200], show_alert=True)
            return
        said = {"post": _("✅ Posted: the stock is reserved."),
                "ship": _("🚚 Shipped: the stock is written off."),
                "cancel": _("🚫 Cancelled."), "close": _("✔️ Closed.")}[callback_data.action]
        await query.answer(said if result.changed else _("Done already."))
        if callback_data.action in ("post", "cancel") and \
                (await state.get_state()) == OrderDraft.lines.state:
            await state.set_state(None)
        await show(query.message, staff, callback_data.order_id, said)

    @router.callback_query(OrderCB.filter(F.action == "invoice"))
    async def invoice(query: CallbackQuery, callback_data: OrderCB, staff: User,
                      file_store: FileStore, outbox=None) -> None:
        try:
            sent = await order_invoices.do_send_invoice(staff, callback_data.order_id,
                                                        file_store, source="bot")
        except DomainError as exc:  # no email address, no lines
            await query.answer()
            await query.message.answer(error_text(exc))
            return
        if outbox is not None:
            outbox.poke()  # after the commit
        await query.answer()
        await query.message.answer(_("📄 The invoice is on its way to {to}.").format(
            to=html.escape(sent.to_address)))

    return router
