"""``/price <product or article> [quantity]`` (issue 13: K-4, K-5, A-14): the client's
price with how it came about, and the free stock, in one message.

The client is the one whose card is open; otherwise the bot asks (part of the name,
then one tap). The product is found as services.products finds it (a typo forgiven);
several found are offered as buttons. The quantity is the last number typed ("10",
"2,5", "10 шт"), one when none.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.routers.activity_card import error_text
from kontakt.formatting import money_text, qty_text
from models import User
from services import clients as client_svc
from services import products
from services.client_search import search_clients
from services.clock import utcnow
from services.errors import DomainError

QTY = re.compile(r"^(?P<rest>.*?)\s*(?:×|x|х)?\s*(?P<qty>\d+(?:[.,]\d+)?)\s*"
                 r"(?:шт|штук|кг|м|м2|м3|л|уп|pcs)?\.?$", re.IGNORECASE)
STEPS = {"list": "📋", "base_list": "📋", "rule": "⚙️", "rule_skipped": "⏭",
         "group": "🏷", "individual": "👤", "promo": "🎁", "min_margin": "🛡",
         "override": "✍️"}


class PriceAsk(StatesGroup):
    product = State()
    client = State()


class PriceCB(CallbackData, prefix="pr"):
    action: str  # product | client
    product_id: int = 0
    client_id: int = 0
    qty: str = "1"


def split_quantity(text: str) -> tuple[str, Decimal]:
    """"труба дн50 10" → ("труба дн50", 10); no number at the end: quantity one. A
    number alone is an article, not a quantity."""
    text = " ".join((text or "").split())
    m = QTY.match(text)
    if m and m.group("rest").strip():
        try:
            qty = Decimal(m.group("qty").replace(",", "."))
        except InvalidOperation:
            qty = Decimal(0)
        if qty > 0:
            return m.group("rest").strip(), qty
    return text, Decimal(1)


def _step_line(step: dict, currency: str) -> str:
    e = html.escape
    price = money_text(Decimal(step["price"]), currency)
    kind = step["step"]
    icon = STEPS.get(kind, "•")
    if kind == "list":
        what = _("price list «{name}»").format(name=e(step.get("list", "")))
    elif kind == "base_list":
        what = _("its base list «{name}»").format(name=e(step.get("list", "")))
    elif kind == "rule":
        what = _("rule «{name}»").format(name=e(step.get("rule") or "—"))
    elif kind == "rule_skipped":
        return f"{icon} " + _("rule «{name}» passed over: no base price").format(
            name=e(step.get("rule") or "—"))
    elif kind == "group":
        what = _("discount group «{name}» −{value} %").format(
            name=e(step.get("group", "")), value=_pct(step.get("value")))
    elif kind == "individual":
        what = _("the client's discount −{value} %").format(value=_pct(step.get("value")))
    elif kind == "promo":
        what = _("promo «{name}» −{value} %").format(name=e(step.get("promo", "")),
                                                      value=_pct(step.get("value")))
    elif kind == "min_margin":
        what = _("raised to the minimum margin")
    else:
        what = _("set by hand")
    return f"{icon} {what}: {price}"


def _pct(value) -> str:
    return qty_text(Decimal(str(value or 0)))


async def answer_text(staff: User, client_id: int, product_id: int, qty: Decimal) -> str:
    client = await client_svc.get_client(staff, client_id)
    day = utcnow().astimezone(ZoneInfo(staff.timezone or "UTC")).date()
    found = await products.price_answer(client.id, product_id, qty, day)
    p, e = found.priced, html.escape
    product = p.product
    lines = [f"💲 <b>{e(product.name)}</b>" + (f" ({e(product.code)})" if product.code
                                                 else ""),
             _("🏢 For {client}").format(client=e(client.name))]
    price = money_text(p.price, found.currency)
    if qty == 1:
        lines.append(_("Price: <b>{price}</b> per {unit}").format(price=price,
                                                                  unit=e(product.unit)))
    else:
        lines.append(_("Price: <b>{price}</b> per {unit} × {qty} = <b>{amount}</b>").format(
            price=price, unit=e(product.unit), qty=qty_text(qty),
            amount=money_text(p.amount, found.currency)))
    if p.discount > 0:
        lines.append(_("Below the list price {list_price} by {discount} %").format(
            discount=qty_text(p.discount), list_price=money_text(p.list_price,
                                                                   found.currency)))
    lines.append("")
    lines.append(_("How the price came about:"))
    lines += [_step_line(s, found.currency) for s in p.trace]
    if not product.is_service:
        lines.append("")
        if found.stock:
            shown = "; ".join(f"{e(name)} — {qty_text(free)} {e(product.unit)}"
                              for name, free in found.stock)
            lines.append(_("📦 Free: {stock}").format(stock=shown))
            if found.free_total < qty:
                lines.append(_("⚠️ Not enough free stock for {qty} {unit}.").format(
                    qty=qty_text(qty), unit=e(product.unit)))
        else:
            lines.append(_("📦 No stock is kept for this product."))
    return "\n".join(lines)


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


def build_price_router() -> Router:
    router = Router(name="price")

    async def _ask_product(message: Message, state: FSMContext) -> None:
        await state.set_state(PriceAsk.product)
        await message.answer(_("💲 Which product? Type part of its name or its article, "
                               "and the quantity if you like: “труба 50 10”. (/cancel to "
                               "stop)"))

    @router.message(Command("price"))
    async def price(message: Message, staff: User, state: FSMContext,
                    command: CommandObject) -> None:
        if not (command.args or "").strip():
            await _ask_product(message, state)
            return
        await _find(message, staff, state, command.args)

    @router.message(PriceAsk.product, F.text, ~F.text.startswith("/"))
    async def product_typed(message: Message, staff: User, state: FSMContext) -> None:
        await _find(message, staff, state, message.text or "")

    async def _find(message: Message, staff: User, state: FSMContext, text: str) -> None:
        query, qty = split_quantity(text)
        found = await products.search_products(query, limit=8)
        if not found:
            await state.set_state(PriceAsk.product)
            await message.answer(_("Nothing found for “{query}”. Type another part of the "
                                   "name or the article; /cancel to stop.").format(
                query=html.escape(query[:60])))
            return
        if len(found) > 1:
            await state.set_state(None)
            rows = [[InlineKeyboardButton(
                text=(p.name[:50] + (f" · {p.code}" if p.code else "")),
                callback_data=PriceCB(action="product", product_id=p.id,
                                      qty=str(qty)).pack())] for p in found]
            await message.answer(_("Which one?"), reply_markup=_markup(rows))
            return
        await _for_client(message, staff, state, found[0].id, qty)

    async def _for_client(message: Message, staff: User, state: FSMContext,
                          product_id: int, qty: Decimal) -> None:
        client_id = (await state.get_data()).get("open_client_id")
        if not client_id:
            await state.set_state(PriceAsk.client)
            await state.update_data(price={"product_id": product_id, "qty": str(qty)})
            await message.answer(_("🏢 For which client? Type part of its name, phone or "
                                   "INN. (/cancel to stop)"))
            return
        await state.set_state(None)
        await _answer(message, staff, int(client_id), product_id, qty)

    async def _answer(message: Message, staff: User, client_id: int, product_id: int,
                      qty: Decimal) -> None:
        try:
            text = await answer_text(staff, client_id, product_id, qty)
        except DomainError as exc:  # no list, no price in it; a client not theirs
            await message.answer(error_text(exc))
            return
        await message.answer(text)

    @router.message(PriceAsk.client, F.text, ~F.text.startswith("/"))
    async def client_typed(message: Message, staff: User, state: FSMContext) -> None:
        asked = (await state.get_data()).get("price") or {}
        found = await search_clients(staff, message.text or "", limit=8)
        if not found:
            await message.answer(_("No client found for “{query}”. Type another part of "
                                   "the name; /cancel to stop.").format(
                query=html.escape((message.text or "")[:60])))
            return
        if len(found) == 1:
            await state.set_state(None)
            await _answer(message, staff, found[0].id, int(asked.get("product_id") or 0),
                          Decimal(asked.get("qty") or "1"))
            return
        rows = [[InlineKeyboardButton(text=c.name[:60], callback_data=PriceCB(
            action="client", client_id=c.id, product_id=int(asked.get("product_id") or 0),
            qty=str(asked.get("qty") or "1")).pack())] for c in found]
        await message.answer(_("Which client?"), reply_markup=_markup(rows))

    @router.callback_query(PriceCB.filter(F.action == "product"))
    async def product_chosen(query: CallbackQuery, callback_data: PriceCB, staff: User,
                             state: FSMContext) -> None:
        await query.answer()
        await _for_client(query.message, staff, state, callback_data.product_id,
                          Decimal(callback_data.qty))

    @router.callback_query(PriceCB.filter(F.action == "client"))
    async def client_chosen(query: CallbackQuery, callback_data: PriceCB, staff: User,
                            state: FSMContext) -> None:
        await query.answer()
        await state.set_state(None)
        await _answer(query.message, staff, callback_data.client_id,
                      callback_data.product_id, Decimal(callback_data.qty))

    return router
