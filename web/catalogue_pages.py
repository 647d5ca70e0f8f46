"""The Mini App's catalogue pages (issue 13, section 7; K-4): /app/catalogue (search,
category chips, the list with the default list's price and free stock, a product's
sheet with its prices and stock; admins edit, add, archive and restore), /app/stock
(a warehouse's goods with on hand, reserved and free; admins change on hand in the
row; files up and down) and /app/catalogue/settings (admins: categories, kinds,
warehouses, our legal entities). static/catalogue.js over web/api/catalogue.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services import catalogue_admin as cat
from services import catalogue_setup as setup
from services.permissions import is_admin
from web.keys import I18N_KEY
from web.pages import N_, _guess_lang, render
from web.session import current_user


async def _strings(request: web.Request, lang: str) -> dict[str, Any]:
    """What static/catalogue.js says, in the person's language."""
    i18n = request.app[I18N_KEY]

    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    return {
        "failed": t(N_("Could not load. Check the connection and try again.")),
        "nothing_found": t(N_("Nothing found.")),
        "saved": t(N_("Saved.")),
        "more": t(N_("Show more")),
        "all": t(N_("All")),
        "new_product": t(N_("New product")),
        "edit_product": t(N_("Change the product")),
        "no_price": t(N_("no price")),
        "service": t(N_("service")),
        "free": t(N_("free")),
        "on_hand": t(N_("on hand")),
        "reserved": t(N_("reserved")),
        "from_base": t(N_("from the base list")),
        "no_vat": t(N_("no VAT")),
        "archived": t(N_("archived")),
        "archive": t(N_("Archive")),
        "restore": t(N_("Restore")),
        "sure_archive": t(N_("Archive «{name}»? It leaves the lists; orders keep it.")),
        "rows": t(N_("Rows: {rows}. Created: {created}. Updated: {updated}. "
                     "Rows with errors: {bad}.")),
        "row": t(N_("row")),
        "vat": t(N_("VAT")), "cost": t(N_("Cost price")), "barcode": t(N_("Barcode")),
        "kind": t(N_("Product kind")), "category": t(N_("Category")),
        "unit": t(N_("Unit")), "code": t(N_("Article")),
        "prices": t(N_("Prices")), "stock": t(N_("Stock")),
        "default": t(N_("default")), "backorder": t(N_("backorders allowed")),
        "make_default": t(N_("Make default")), "rename": t(N_("Rename")),
        "move_to": t(N_("Move under")), "top": t(N_("— at the top —")),
    }


async def _page_user(request: web.Request):
    user = await current_user(request)
    if user is None:
        return None, render(request, "signin.html", lang=_guess_lang(request))
    return user, None


async def catalogue_page(request: web.Request) -> web.Response:
    """/app/catalogue: everyone reads; admins see the edit buttons."""
    user, page = await _page_user(request)
    if page:
        return page
    lang = str(user.language)
    tree = await setup.category_tree()
    kinds = await setup.list_kinds()
    return render(request, "catalogue.html", lang=lang, user=user,
                  may_edit=is_admin(user),
                  categories=[{"id": n.category.id, "name": n.category.name,
                               "path": n.path, "depth": n.depth,
                               "parent_id": n.category.parent_id} for n in tree],
                  kinds=[{"id": k.id, "name": k.name} for k in kinds],
                  vat_rates=[cat.vat_text(r) for r in cat.VAT_RATES],
                  strings=await _strings(request, lang))


async def stock_page(request: web.Request) -> web.Response:
    """/app/stock[?warehouse=<id>]."""
    user, page = await _page_user(request)
    if page:
        return page
    lang = str(user.language)
    warehouses = await setup.list_warehouses()
    raw = request.query.get("warehouse", "")
    chosen = int(raw) if raw.isdigit() and len(raw) < 10 else None
    if chosen not in {w.id for w in warehouses}:
        chosen = warehouses[0].id if warehouses else None
    return render(request, "stock.html", lang=lang, user=user, warehouses=warehouses,
                  warehouse_id=chosen, may_edit=is_admin(user),
                  strings=await _strings(request, lang))


async def settings_page(request: web.Request) -> web.Response:
    """/app/catalogue/settings (admins): categories, kinds, warehouses, our entities."""
    user, page = await _page_user(request)
    if page:
        return page
    lang = str(user.language)
    if not is_admin(user):
        return render(request, "message.html", lang=lang, status=403, user=user,
                      title_msg=N_("For administrators"),
                      body_msg=N_("Ask an administrator to change the settings."))
    return render(request, "catalogue_settings.html", lang=lang, user=user,
                  tree=await setup.category_tree(include_archived=True),
                  kinds=await setup.list_kinds(include_archived=True),
                  warehouses=await setup.list_warehouses(include_archived=True),
                  entities=await setup.list_own_entities(include_archived=True),
                  strings=await _strings(request, lang))
