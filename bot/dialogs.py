"""No dead ends in the bot (issue 17).

* A menu button or a command always leaves the dialog under way: the middleware
  drops the dialog's state before any handler is chosen, so a search, a draft or a
  question never swallows "📅 Today" or "/task". What was typed into a draft stays
  in the chat's data (the quick log's proposal can still be saved with its button).
  ``/cancel`` is left to its own handler, which says what it discarded.
* Whatever no handler took gets an answer: a message inside a dialog is told what
  the dialog waits for and how to leave it; a message outside one is told how to
  start; a button press that nothing handles any more (an old message) is told it
  is out of date. This router is included last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.keyboards import menu_labels

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def leaves_dialog(text: str | None) -> bool:
    """A command (but /cancel, which ends a dialog itself) or a menu button's text."""
    if not text:
        return False
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0].split("@", 1)[0]
        return command != "/cancel"
    return text in menu_labels()


class LeaveDialogMiddleware(BaseMiddleware):
    """Outer middleware on messages: the state is dropped before the handler is chosen."""

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        # raw_state: what aiogram's FSM middleware read for this update already (no second
        # read of the storage, a round trip on Redis, per command or menu press)
        if (state is not None and isinstance(event, Message) and leaves_dialog(event.text)
                and data.get("raw_state") is not None):
            await state.set_state(None)
            data["raw_state"] = None  # what the handlers' state filters read
        return await handler(event, data)


def _waiting_for(state_name: str) -> str:
    """What a dialog step waits for, said to whoever sent something else."""
    waits = {
        "NewClient:kind": _("Choose “Company” or “Individual” with the buttons above."),
        "NewClient:confirm": _("Check the new client above and press ✅ Save."),
        "QuickLog:confirm": _("A draft is waiting above: press ✅ Save or ✖️ Cancel."),
        "QuickLog:date": _("Type the date of the next step, e.g. “tomorrow 10:00”."),
        "QuickLog:client": _("Type part of the client's name, phone or INN."),
        "ContactEdit:value": _("Type the contact's new value."),
        "ContactNew:name": _("Type the new contact's full name."),
        "ContactNew:phone": _("Type the new contact's phone, or press Skip."),
        "ContactNew:email": _("Type the new contact's email, or press Skip."),
        "NewDeal:title": _("Type the deal's title, or press the client's name above."),
        "NewDeal:amount": _("Type the deal's amount, e.g. “150 000”, or press Skip."),
        "DealTask:title": _("Type what is to be done."),
        "DealTask:when": _("Type when, e.g. “tomorrow 10:00”."),
        "DealLost:competitor": _("Type part of the competitor's name, or press “No "
                                 "competitor” above."),
        "DealEdit:amount": _("Type the deal's new amount, e.g. “150 000”."),
        "DealEdit:close": _("Type the expected close date, e.g. “28.11”."),
        "DealLog:text": _("Type what happened, e.g. “called Petrov, they agreed to the "
                          "price”."),
        "DealLog:type": _("Choose the kind of contact with the buttons above."),
        "DealClaimNew:parent": _("Choose the deal the claim is about with the buttons "
                                 "above."),
        "DealClaimNew:title": _("Type the claim's title."),
        "DealClaimClose:resolution": _("Type the claim's resolution: what was done or "
                                       "decided."),
        "DealClaimClose:fault": _("Press “Yes, ours” or “No, not ours” above."),
        "PriceAsk:product": _("Type part of the product's name or its article."),
        "PriceAsk:client": _("Type part of the client's name, phone or INN."),
        "OrderDraft:lines": _("Type a product and its quantity, e.g. “труба 50 10”."),
        "PayDialog:amount": _("Type the amount received, e.g. 1 500,50."),
        "PayDialog:invoice": _("Choose the invoice the payment pays with the buttons above."),
        "PayDialog:dated": _("Type the date the payment was received, e.g. 31.05.2026."),
        "PayDialog:confirm": _("Check the payment above and press ✅ Save."),
    }
    return waits.get(state_name, _("Answer the question above with a text message."))


def build_fallback_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == "private")

    @router.message()
    async def unhandled_message(message: Message, state: FSMContext) -> None:
        current = await state.get_state()
        if current is not None:
            await message.answer(_("{waiting}\nTo leave, send /cancel or press a menu "
                                   "button.").format(waiting=_waiting_for(current)))
            return
        await message.answer(_("I did not understand that. Type what you did in one "
                               "message (e.g. “called Petrov, meet on Friday at 15:00”), "
                               "or use the menu and /help."))

    @router.callback_query()
    async def unhandled_button(query: CallbackQuery) -> None:
        await query.answer(_("This button is out of date. Open the item again from the "
                             "menu."), show_alert=True)
        if query.message is not None and getattr(query.message, "reply_markup", None):
            try:
                await query.message.edit_reply_markup(reply_markup=None)
            except Exception:  # noqa: BLE001 - too old to edit, or already without buttons
                pass

    return router
