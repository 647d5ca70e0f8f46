"""The Mini App's orders (issue 13: S-17, K-4, K-5, S-22): the list (/app/orders, by
state) and the order editor (/app/orders/{id}: the header, the lines with each price's
trace, the product picker as a bottom sheet, the totals, the state buttons and the
invoice), drawn by static/orders.js over the JSON API (web/api/orders.py,
web/api/order_editor.py); and the orders block of the client and deal cards."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from kontakt.formatting import local
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user

SIGNS = {"RUB": "₽", "UAH": "₴", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br"}
STATES = {"draft": N_("Draft"), "posted": N_("Posted"), "shipped": N_("Shipped"),
          "closed": N_("Closed"), "cancelled": N_("Cancelled")}
ICONS = {"draft": "📝", "posted": "✅", "shipped": "🚚", "closed": "✔️", "cancelled": "🚫"}


def order_money(amount: Decimal | None, currency: str) -> str:
    """"15 830,40 ₽": always the kopecks (an order is an accounting document)."""
    if amount is None:
        return "—"
    number = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"{number}\u00a0{SIGNS.get(currency, currency)}"


def _t(request: web.Request, lang: str):
    i18n = request.app[I18N_KEY]
    return lambda text: i18n.gettext(text, locale=lang)


def order_strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/orders.js says, in the person's language."""
    t = _t(request, lang)
    return {
        "states": {k: t(v) for k, v in STATES.items()},
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "credit_asked": t(N_("The request is sent; you will get the decision in the bot.")),
        "credit_pending": t(N_("An exception is asked for already and waits for a "
                               "decision.")),
        "credit_reason": t(N_("Say why the order should go.")),
        "nothing_found": t(N_("Nothing found.")),
        "choose_client": t(N_("Choose the client from the list.")),
        "conflict": t(N_("Someone else changed this order meanwhile. The page is shown "
                         "again as it is now.")),
        "no_lines": t(N_("No lines yet. Add a product with “+ Product”.")),
        "qty": t(N_("Quantity")),
        "price": t(N_("Price")),
        "discount": t(N_("Discount")),
        "amount": t(N_("Amount")),
        "vat": t(N_("VAT {rate} %")),
        "no_vat": t(N_("without VAT")),
        "remove": t(N_("Remove the line")),
        "why": t(N_("Why this price")),
        "off_matrix": t(N_("not in the client's matrix")),
        "confirm_off_matrix": t(N_("Not in the client's matrix. Tap again to add it "
                                   "anyway.")),
        "free": t(N_("free: {qty} {unit}")),
        "service": t(N_("service")),
        "no_price": t(N_("no price in the order's list")),
        "short": t(N_("short by {qty} {unit}: needed {needed}, free {free}")),
        "reason": t(N_("Why below the minimum margin?")),
        "reason_send": t(N_("Set this price")),
        "no_right_price": t(N_("A price below the minimum margin needs a head or an "
                               "admin.")),
        "invoice_ready": t(N_("The invoice is ready:")),
        "invoice_open": t(N_("📄 Open the PDF")),
        "invoice_sent": t(N_("The invoice is on its way to {email}.")),
        "invoice_sent_client": t(N_("The invoice is on its way to the client's email.")),
        "saved": t(N_("Saved.")),
        "by_hand": t(N_("typed by hand")),
        "trace": {
            "list": t(N_("List price «{list}»: {price}")),
            "base_list": t(N_("List price from «{list}»: {price}")),
            "rule_discount": t(N_("Rule «{rule}»: −{value} % → {price}")),
            "rule_markup": t(N_("Rule «{rule}»: +{value} % → {price}")),
            "rule_fixed": t(N_("Rule «{rule}»: a fixed price {price}")),
            "rule_skipped": t(N_("Rule «{rule}» passed over: no base price")),
            "group": t(N_("Discount group «{group}»: −{value} % → {price}")),
            "individual": t(N_("The client's own discount: −{value} % → {price}")),
            "promo": t(N_("Promo «{promo}»: −{value} % → {price}")),
            "min_margin": t(N_("Raised back to the minimum margin: {price}")),
            "override": t(N_("Typed by hand by {who}: {price}")),
            "override_reason": t(N_("Typed by hand by {who}: {price} ({reason})")),
            "final": t(N_("Final price: {price}")),
        },
    }


async def orders_page(request: web.Request) -> web.Response:
    """/app/orders[?state=draft|posted|…]: the orders of the clients one sees."""
    from services import order_editing as svc

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    t = _t(request, lang)
    state = request.query.get("state") or None
    if state not in STATES:
        state = None
    rows = await svc.list_orders(user, state=state)
    return render(request, "orders.html", lang=lang, user=user, state=state,
                  chips=[(None, t(N_("All")))] + [(k, t(v)) for k, v in STATES.items()],
                  rows=[_row(o, user.timezone, t) for o in rows],
                  order_strings=order_strings(request, lang))


def _row(o, tz: str, t) -> dict[str, Any]:
    return {"id": o.id, "number": o.number, "state": str(o.state),
            "state_text": f"{ICONS[str(o.state)]} {t(STATES[str(o.state)])}",
            "client": o.client.name if hasattr(o.client, "name") else "",
            "date": local(o.created_at, tz).strftime("%d.%m.%Y"),
            "total": order_money(o.total, o.currency)}


async def orders_for_card(request: web.Request, user, client_id: int,
                          deal_id: int | None = None) -> dict[str, Any]:
    """The client card's (or the deal card's) orders and its "🧾 Order" button."""
    from services import order_editing as svc

    lang = str(user.language)
    t = _t(request, lang)
    rows = await svc.list_orders(user, client_id=client_id, deal_id=deal_id, limit=20)
    return {"card_orders": {"client_id": client_id, "deal_id": deal_id,
                            "rows": [_row(o, user.timezone, t) for o in rows]},
            "order_strings": order_strings(request, lang)}


async def order_page(request: web.Request) -> web.Response:
    """/app/orders/{id}: the order editor."""
    from services import legal, order_editing
    from services import orders as svc
    from services.errors import NotFound
    from web.api.orders import _order_out

    user = await current_user(request)
    if user is None:
        return render(request, "signin.html", lang=_guess_lang(request))
    lang = str(user.language)
    raw = request.match_info["order_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("order")
        order = await svc.get_order(user, int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Order not found"),
                      body_msg=N_("It does not exist or is not yours to see."))
    data = (await _order_out(user, order.id)).model_dump(mode="json")
    deals = await order_editing.client_deals(user, order.client_id)
    if order.deal is not None and order.deal_id not in {d.id for d in deals}:
        deals.insert(0, order.deal)
    lists = await order_editing.price_lists()
    matrix = await svc.client_matrix(order.client_id)
    return render(
        request, "order.html", lang=lang, user=user, order=order, data=data,
        created=local(order.created_at, user.timezone).strftime("%d.%m.%Y %H:%M"),
        legal=await legal.list_legal_entities(user, order.client_id),
        own=await order_editing.own_entities(), deals=deals, lists=lists,
        may_change_list=order_editing.may_change_list(user),
        stores=await order_editing.warehouses(), has_matrix=matrix is not None,
        order_strings=order_strings(request, lang))
