"""The Mini App's price pages (issue 13: K-5, M-5, A-14, S-22): the price lists
(/app/prices), one list with its settings, rules, prices and a "try a price" box
(/app/prices/{id}), discount groups and promos with their effect (/app/discounts), the
product matrices (/app/matrix), and the client card's "Prices and discounts" block.
Pages are drawn from the services; changes go through the JSON API (static/prices.js).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.permissions import is_admin
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user


def strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/prices.js says, in the person's language."""
    i18n = request.app[I18N_KEY]

    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    return {
        "methods": {"discount": t(N_("Discount, %")), "markup": t(N_("Markup, %")),
                    "fixed": t(N_("Fixed price"))},
        "bases": {"list": t(N_("the price so far")), "other": t(N_("another list")),
                  "cost": t(N_("the cost price"))},
        "scopes": {"all": t(N_("All products")), "product": t(N_("A product")),
                   "category": t(N_("A category"))},
        "statuses": {"": t(N_("any")), "counterparty": t(N_("Counterparty")),
                     "partner": t(N_("Partner"))},
        "steps": {"list": t(N_("List price «{list}»")),
                  "base_list": t(N_("Base list «{list}»")),
                  "rule": t(N_("Rule «{rule}»")),
                  "rule_skipped": t(N_("Rule «{rule}» skipped: no base price")),
                  "group": t(N_("Discount group «{group}»: {value} %")),
                  "individual": t(N_("Individual discount: {value} %")),
                  "promo": t(N_("Promo «{promo}»: {value} %")),
                  "min_margin": t(N_("Raised to the minimum margin")),
                  "override": t(N_("Price typed by hand"))},
        "from_qty": t(N_("from {qty}")), "final": t(N_("final")),
        "margin": t(N_("margin ≥ {value} %")), "rounding": t(N_("rounded to {value}")),
        "surcharge": t(N_("+ {value}")), "period": t(N_("{start} – {end}")),
        "new_rule": t(N_("New rule")), "edit_rule": t(N_("Change the rule")),
        "saved": t(N_("Saved.")), "nothing": t(N_("Nothing found.")),
        "sure_archive": t(N_("Archive it?")), "no_price": t(N_("no price")),
        "from_list": t(N_("from «{list}»")), "price_of": t(N_("Price: {name}")),
        "choose_client": t(N_("Choose the client from the list.")),
        "choose_product": t(N_("Choose the product from the list.")),
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "with_promo": t(N_("With the promo")), "without": t(N_("Without promos")),
        "orders": t(N_("Orders")), "revenue": t(N_("Revenue")), "margin_sum": t(N_("Margin")),
        "average": t(N_("Average order")), "margin_pct": t(N_("Margin, %")),
        "no_orders": t(N_("No orders in the period.")),
        "rule_untitled": t(N_("Rule {n}")), "all_clients": t(N_("all clients")),
        "more": t(N_("Show more")),
    }


async def _user_or_signin(request: web.Request):
    user = await current_user(request)
    if user is None:
        return None, render(request, "signin.html", lang=_guess_lang(request))
    return user, None


async def prices_page(request: web.Request) -> web.Response:
    """/app/prices: the lists (archived ones too, for admins) and which list a client
    category gets."""
    from services import price_admin as svc
    from services.classifier import list_nodes

    user, signin = await _user_or_signin(request)
    if signin:
        return signin
    lang = str(user.language)
    admin = is_admin(user)
    lists = await svc.list_price_lists(archived=admin)
    return render(request, "prices.html", lang=lang, user=user, admin=admin, lists=lists,
                  live=[p for p in lists if not p.archived],
                  category_lists=await svc.category_lists(),
                  nodes=await list_nodes() if admin else [],
                  currencies=("RUB", "UAH", "USD", "EUR", "KZT", "BYN"))


async def price_list_page(request: web.Request) -> web.Response:
    """/app/prices/{list_id}: a list's settings, rules, prices and "try a price"."""
    from services import price_admin as svc
    from services.classifier import list_nodes
    from services.errors import NotFound
    from web.api.prices import PriceListOut, RuleOut

    user, signin = await _user_or_signin(request)
    if signin:
        return signin
    lang = str(user.language)
    raw = request.match_info["list_id"]
    try:
        if not raw.isdigit() or int(raw) > 2**31 - 1:
            raise NotFound("price_list")
        pl = await svc.get_price_list(int(raw))
    except NotFound:
        return render(request, "message.html", lang=lang, status=404, user=user,
                      title_msg=N_("Price list not found"),
                      body_msg=N_("It does not exist."))
    from services import price_admin

    admin = is_admin(user)
    others = [p for p in await svc.list_price_lists() if p.id != pl.id]
    data = {
        "list": PriceListOut.of(pl).model_dump(mode="json"),
        "rules": [RuleOut.of(r).model_dump(mode="json")
                  for r in await svc.list_rules(pl.id, archived=admin)],
        "lists": [{"id": p.id, "name": p.name, "currency": p.currency} for p in others],
        "categories": [{"id": c.id, "name": c.name} for c in
                       await price_admin.active_categories()],
        "nodes": [{"id": n.id, "name": n.name} for n in await list_nodes()],
        "admin": admin,
    }
    return render(request, "price_list.html", lang=lang, user=user, pl=pl, admin=admin,
                  others=[p for p in others if p.currency == pl.currency], data=data,
                  T=strings(request, lang),
                  currencies=("RUB", "UAH", "USD", "EUR", "KZT", "BYN"))


async def discounts_page(request: web.Request) -> web.Response:
    """/app/discounts: discount groups with their rates per kind, promos and (admins,
    heads) a promo's effect."""
    from services import discount_admin as svc
    from services import price_admin
    from web.api.discounts import PromoOut

    user, signin = await _user_or_signin(request)
    if signin:
        return signin
    lang = str(user.language)
    admin = is_admin(user)
    kinds = await svc.list_kinds()
    groups = await svc.list_groups(archived=admin)
    promos = await svc.list_promos(archived=admin)
    data = {"kinds": [{"id": k.id, "name": k.name} for k in kinds],
            "categories": [{"id": c.id, "name": c.name} for c in
                           await price_admin.active_categories()],
            "promos": {p.id: PromoOut.of(p).model_dump(mode="json") for p in promos}}
    return render(request, "discounts.html", lang=lang, user=user, admin=admin, kinds=kinds,
                  groups=groups, promos=promos, data=data, T=strings(request, lang),
                  may_report=svc.may_see_effect(user),
                  pct=lambda v: "—" if v is None else (
                      f"{v.normalize():f}".replace(".", ",") if lang != "en"
                      else f"{v.normalize():f}"))


async def matrix_page(request: web.Request) -> web.Response:
    """/app/matrix: the organisation's matrix by sphere (admins tick products) and "my
    products" for everyone."""
    from services import matrices as svc

    user, signin = await _user_or_signin(request)
    if signin:
        return signin
    lang = str(user.language)
    return render(request, "matrix.html", lang=lang, user=user, admin=is_admin(user),
                  spheres=await svc.spheres(), mine=await svc.my_products(user),
                  T=strings(request, lang))


async def client_prices(request: web.Request, user, client) -> dict[str, Any]:
    """The client card's "Prices and discounts": its terms (changed by a head or an
    admin, shown to the others) and the products of its matrix."""
    from services import discount_admin, matrices, price_admin

    return {"terms": await discount_admin.client_terms(user, client.id),
            "may_set_terms": discount_admin.may_set_terms(user),
            "terms_lists": await price_admin.list_price_lists(),
            "terms_groups": [g for g, _r in await discount_admin.list_groups(archived=False)],
            "matrix_products": await matrices.client_products(user, client.id, limit=50)}
