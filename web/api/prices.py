"""/api/v1 price lists, their prices and rules, lists by client category and "try a
price" (issue 13: K-5, M-5). Numbers come in as typed (strings) and go out as decimal
strings; the rules are in services.price_admin."""

from __future__ import annotations

from datetime import date
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.errors import gettext_for
from models import PriceList, PriceRule, User
from services import price_admin as svc
from web.api.deal_schemas import ID, money
from web.api.orders import StepOut, _today
from web.api.routes import api

NUM = {"max_length": 40}
TAGS = ["prices"]


class PriceListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    currency: str | None = Field(default=None, max_length=8)
    valid_from: date | None = None
    valid_to: date | None = None
    base_list_id: int | None = Field(default=None, ge=0, le=ID["le"])
    vat_included: bool | None = None
    is_default: bool | None = None
    sort_order: int | None = Field(default=None, ge=-9999, le=9999)
    archived: bool | None = None


class PriceListOut(BaseModel):
    id: int
    name: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    base_list_id: int | None
    base_list: str | None
    vat_included: bool
    is_default: bool
    sort_order: int
    archived: bool

    @classmethod
    def of(cls, pl: PriceList) -> PriceListOut:
        return cls(id=pl.id, name=pl.name, currency=pl.currency, valid_from=pl.valid_from,
                   valid_to=pl.valid_to, base_list_id=pl.base_list_id,
                   base_list=pl.base_list.name if pl.base_list_id and pl.base_list else None,
                   vat_included=pl.vat_included, is_default=pl.is_default,
                   sort_order=pl.sort_order, archived=pl.archived)


class PriceListList(BaseModel):
    items: list[PriceListOut]


class ArchivedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = False


class PricesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=200)
    only_priced: bool = False
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=svc.MAX_PAGE)


class PriceRowOut(BaseModel):
    product_id: int
    name: str
    code: str | None
    unit: str
    cost_price: str | None
    price: str | None = Field(description="the list's own price")
    inherited: str | None = Field(description="the base list's, when the list has none")
    from_list: str | None


class PricePage(BaseModel):
    items: list[PriceRowOut]
    page: int
    more: bool


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: str | None = Field(default=None, description="empty or null clears it", **NUM)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=300)
    method: Literal["fixed", "markup", "discount"] | None = None
    base: Literal["list", "other", "cost"] | None = None
    base_list_id: int | None = Field(default=None, ge=0, le=ID["le"])
    value: str | None = Field(default=None, **NUM)
    min_qty: str | None = Field(default=None, **NUM)
    valid_from: str | None = Field(default=None, max_length=20)
    valid_to: str | None = Field(default=None, max_length=20)
    scope: Literal["all", "product", "category"] | None = None
    product_id: int | None = Field(default=None, ge=0, le=ID["le"])
    category_id: int | None = Field(default=None, ge=0, le=ID["le"])
    client_node_id: int | None = Field(default=None, ge=0, le=ID["le"])
    client_status: Literal["counterparty", "partner", ""] | None = None
    surcharge: str | None = Field(default=None, **NUM)
    rounding: str | None = Field(default=None, **NUM)
    min_margin: str | None = Field(default=None, **NUM)
    final: bool | None = None
    archived: bool | None = None


class RuleOut(BaseModel):
    id: int
    position: int
    name: str | None
    method: str
    base: str
    base_list_id: int | None
    base_list: str | None
    value: str
    min_qty: str | None
    valid_from: date | None
    valid_to: date | None
    scope: Literal["all", "product", "category"]
    product_id: int | None
    product: str | None
    category_id: int | None
    category: str | None
    client_node_id: int | None
    client_node: str | None
    client_status: str | None
    surcharge: str | None
    rounding: str | None
    min_margin: str | None
    final: bool
    archived: bool

    @classmethod
    def of(cls, r: PriceRule) -> RuleOut:
        def name(rel: str) -> str | None:
            obj = getattr(r, rel, None) if getattr(r, f"{rel}_id") else None
            return getattr(obj, "name", None)

        value = r.value.normalize() if r.value is not None else 0
        return cls(
            id=r.id, position=r.position, name=r.name, method=str(r.method), base=str(r.base),
            base_list_id=r.base_list_id, base_list=name("base_list"),
            value=f"{value:f}", min_qty=None if r.min_qty is None else f"{r.min_qty.normalize():f}",
            valid_from=r.valid_from, valid_to=r.valid_to,
            scope="product" if r.product_id else ("category" if r.category_id else "all"),
            product_id=r.product_id, product=name("product"), category_id=r.category_id,
            category=name("category"), client_node_id=r.client_node_id,
            client_node=name("client_node"), client_status=r.client_status,
            surcharge=money(r.surcharge), rounding=money(r.rounding),
            min_margin=money(r.min_margin), final=r.final, archived=r.archived)


class RuleList(BaseModel):
    items: list[RuleOut]


class RuleSaved(BaseModel):
    rule: RuleOut
    warnings: list[str]


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["up", "down"]


class CategoryListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_node_id: int = Field(**ID)
    price_list_id: int = Field(**ID)
    priority: int = Field(default=0, ge=0, le=9999)


class CategoryListOut(BaseModel):
    id: int
    client_node_id: int
    client_node: str
    price_list_id: int
    price_list: str
    priority: int


class CategoryListList(BaseModel):
    items: list[CategoryListOut]


class TryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    product_id: int = Field(**ID)
    quantity: str = Field(default="1", min_length=1, max_length=20)
    list_id: int | None = Field(default=None, **ID)


class TryOut(BaseModel):
    price_list: str
    currency: str
    quantity: str
    list_price: str
    price: str
    amount: str
    discount: str
    floor: str | None
    trace: list[StepOut]


# ---- lists ---------------------------------------------------------------------------------

@api.route("GET", "/price-lists", summary="The price lists (K-5, M-5)", query=ArchivedQuery,
           response=PriceListList, tags=TAGS)
async def lists_get(request: web.Request, user: User, query: ArchivedQuery):
    return PriceListList(items=[PriceListOut.of(p) for p in
                                await svc.list_price_lists(archived=query.archived)])


@api.route("POST", "/price-lists", summary="A new price list (admins)", body=PriceListIn,
           response=PriceListOut, tags=TAGS, status=201)
async def list_create(request: web.Request, user: User, body: PriceListIn):
    return PriceListOut.of(await svc.do_save_list(
        user, None, body.model_dump(include=body.model_fields_set)))


@api.route("GET", "/price-lists/{list_id}", summary="A price list", response=PriceListOut,
           tags=TAGS)
async def list_get(request: web.Request, user: User, list_id: int):
    return PriceListOut.of(await svc.get_price_list(list_id))


@api.route("PATCH", "/price-lists/{list_id}", summary="Change a price list: name, currency, "
           "dates, base list, VAT, the default; archive or restore it (admins)",
           body=PriceListIn, response=PriceListOut, tags=TAGS)
async def list_patch(request: web.Request, user: User, list_id: int, body: PriceListIn):
    return PriceListOut.of(await svc.do_save_list(
        user, list_id, body.model_dump(include=body.model_fields_set)))


def _row(r: svc.PriceRow) -> PriceRowOut:
    p = r.product
    return PriceRowOut(product_id=p.id, name=p.name, code=p.code, unit=p.unit,
                       cost_price=money(p.cost_price), price=money(r.price),
                       inherited=money(r.inherited), from_list=r.from_list)


@api.route("GET", "/price-lists/{list_id}/prices", summary="A page of products with the "
           "list's price (search by name, article, barcode)", query=PricesQuery,
           response=PricePage, tags=TAGS)
async def prices_get(request: web.Request, user: User, list_id: int, query: PricesQuery):
    rows, more = await svc.list_prices(list_id, q=query.q, only_priced=query.only_priced,
                                       page=query.page, per_page=query.per_page)
    return PricePage(items=[_row(r) for r in rows], page=query.page, more=more)


@api.route("PUT", "/price-lists/{list_id}/prices/{product_id}", summary="Set a product's "
           "price in the list, or clear it (admins)", body=PriceIn, response=PriceRowOut,
           tags=TAGS)
async def price_put(request: web.Request, user: User, list_id: int, product_id: int,
                    body: PriceIn):
    await svc.do_set_price(user, list_id, product_id, body.price)
    return _row(await svc.price_row(list_id, product_id))


# ---- rules -----------------------------------------------------------------------------------

@api.route("GET", "/price-lists/{list_id}/rules", summary="A list's rules in the order they "
           "apply", query=ArchivedQuery, response=RuleList, tags=TAGS)
async def rules_get(request: web.Request, user: User, list_id: int, query: ArchivedQuery):
    return RuleList(items=[RuleOut.of(r) for r in
                           await svc.list_rules(list_id, archived=query.archived)])


async def _saved(user: User, result: svc.RuleResult) -> RuleSaved:
    gettext = gettext_for(str(user.language))
    rule = await svc.get_rule(result.rule.id)
    return RuleSaved(rule=RuleOut.of(rule),
                     warnings=[w.translated(gettext) for w in result.warnings])


@api.route("POST", "/price-lists/{list_id}/rules", summary="A new rule, last in the list "
           "(admins); each bad field is named", body=RuleIn, response=RuleSaved, tags=TAGS,
           status=201)
async def rule_create(request: web.Request, user: User, list_id: int, body: RuleIn):
    return await _saved(user, await svc.do_create_rule(
        user, list_id, body.model_dump(include=body.model_fields_set)))


@api.route("PATCH", "/price-rules/{rule_id}", summary="Change a rule, archive or restore it "
           "(admins)", body=RuleIn, response=RuleSaved, tags=TAGS)
async def rule_patch(request: web.Request, user: User, rule_id: int, body: RuleIn):
    return await _saved(user, await svc.do_update_rule(
        user, rule_id, body.model_dump(include=body.model_fields_set)))


@api.route("POST", "/price-rules/{rule_id}/move", summary="Move a rule up or down (admins)",
           body=MoveIn, response=RuleList, tags=TAGS)
async def rule_move(request: web.Request, user: User, rule_id: int, body: MoveIn):
    return RuleList(items=[RuleOut.of(r) for r in
                           await svc.do_move_rule(user, rule_id, body.direction)])


# ---- lists by client category ----------------------------------------------------------------

def _category_out(row) -> CategoryListOut:
    return CategoryListOut(id=row.id, client_node_id=row.client_node_id,
                           client_node=row.client_node.name, price_list_id=row.price_list_id,
                           price_list=row.price_list.name, priority=row.priority)


@api.route("GET", "/client-category-lists", summary="Which list the clients of a category "
           "get (M-5)", response=CategoryListList, tags=TAGS)
async def category_lists_get(request: web.Request, user: User):
    return CategoryListList(items=[_category_out(r) for r in await svc.category_lists()])


@api.route("POST", "/client-category-lists", summary="Give a client category a list "
           "(admins)", body=CategoryListIn, response=CategoryListOut, tags=TAGS, status=201)
async def category_list_set(request: web.Request, user: User, body: CategoryListIn):
    return _category_out(await svc.do_set_category_list(user, body.model_dump()))


@api.route("DELETE", "/client-category-lists/{row_id}", summary="Take a list from a client "
           "category (admins)", tags=TAGS)
async def category_list_remove(request: web.Request, user: User, row_id: int):
    await svc.do_remove_category_list(user, row_id)
    return {"ok": True}


# ---- try a price -----------------------------------------------------------------------------

@api.route("GET", "/price-try", summary="Try a price: a client, a product, a quantity "
           "(and the list being edited) → the price with its trace", query=TryQuery,
           response=TryOut, tags=TAGS)
async def price_try(request: web.Request, user: User, query: TryQuery):
    priced, pl = await svc.try_price(user, query.client_id, query.product_id, query.quantity,
                                     _today(user), list_id=query.list_id)
    return TryOut(
        price_list=pl.name, currency=pl.currency, quantity=f"{priced.quantity:.3f}",
        list_price=money(priced.list_price), price=money(priced.price),
        amount=money(priced.amount), discount=money(priced.discount),
        floor=money(priced.floor),
        trace=[StepOut(step=s["step"], price=s["price"],
                       about={k: v for k, v in s.items() if k not in ("step", "price")})
               for s in priced.trace])
