"""/api/v1 catalogue and stock (issue 13, section 7; K-4): the product list and card
for everyone; products, categories, kinds, warehouses and our legal entities changed
by admins; stock per warehouse, on hand set by admins. Money and quantities are
decimal strings; what comes in is typed text ("20 %", "2,5"), read by the services
(services.catalogue_admin, services.catalogue_setup). The XLSX/CSV files are in
web/catalogue_files.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import catalogue_admin as cat
from services import catalogue_setup as setup
from services.permissions import is_admin, require_staff
from web.api.deal_schemas import ID, money
from web.api.routes import api

TAGS = ["catalogue"]
TEXT = {"max_length": 300}


def _qty(value) -> str | None:
    return None if value is None else f"{value:.3f}"


class Given(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def given(self) -> dict[str, Any]:
        """Only what the request named (``group_id: null`` clears it)."""
        return {k: getattr(self, k) for k in self.model_fields_set}


# ---- products --------------------------------------------------------------------------

class ProductIn(Given):
    code: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, **TEXT)
    group_id: int | None = Field(default=None, **ID)
    unit: str | None = Field(default=None, max_length=40)
    vat_rate: str | None = Field(default=None, max_length=20, description="\"20\", "
                                 "\"20 %\"; empty or null: no VAT")
    kind_id: int | None = Field(default=None, **ID)
    is_service: bool | None = None
    cost_price: str | None = Field(default=None, max_length=30)
    barcode: str | None = Field(default=None, max_length=64)
    archived: bool | None = None


class ProductRowOut(BaseModel):
    id: int
    code: str | None
    name: str
    unit: str
    category: str | None = Field(description="the path: \"Paper / Office paper\"")
    price: str | None = Field(description="in the default list")
    free: str | None = Field(description="free stock in all warehouses; null: a service")
    is_service: bool
    archived: bool


class ProductPageOut(BaseModel):
    items: list[ProductRowOut]
    has_more: bool
    price_list: str | None
    currency: str


class ProductsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(default="", max_length=200)
    category_id: int | None = Field(default=None, **ID)
    archived: bool = False
    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=cat.PAGE, ge=1, le=cat.MAX_PAGE)


class ListPriceOut(BaseModel):
    price_list_id: int
    price_list: str
    currency: str
    price: str | None
    from_base_list: bool
    is_default: bool


class StockOut(BaseModel):
    warehouse_id: int
    warehouse: str
    on_hand: str
    reserved: str
    free: str


class ProductCardOut(BaseModel):
    id: int
    code: str | None
    name: str
    unit: str
    group_id: int | None
    category: str | None
    kind_id: int | None
    kind: str | None
    vat_rate: str | None
    is_service: bool
    cost_price: str | None
    barcode: str | None
    archived: bool
    prices: list[ListPriceOut]
    stock: list[StockOut]


async def _card(product_id: int, user: User) -> ProductCardOut:
    c = await cat.product_card(product_id)
    p = c.product
    cost = p.cost_price if is_admin(user) else None  # margins are the admins'
    return ProductCardOut(
        id=p.id, code=p.code, name=p.name, unit=p.unit, group_id=p.group_id,
        category=c.category, kind_id=p.kind_id, kind=c.kind,
        vat_rate=None if p.vat_rate is None else cat.vat_text(p.vat_rate),
        is_service=p.is_service, cost_price=money(cost), barcode=p.barcode,
        archived=p.archived,
        prices=[ListPriceOut(price_list_id=pl.id, price_list=pl.name, currency=pl.currency,
                             price=money(price), from_base_list=inherited,
                             is_default=pl.is_default)
                for pl, price, inherited in c.prices],
        stock=[StockOut(warehouse_id=s.warehouse.id, warehouse=s.warehouse.name,
                        on_hand=_qty(s.on_hand), reserved=_qty(s.reserved), free=_qty(s.free))
               for s in c.stock])


@api.route("GET", "/catalogue/products", summary="The catalogue: search, a category with its "
           "subcategories, paged; each product's price in the default list and free stock "
           "(K-4)", query=ProductsQuery, response=ProductPageOut, tags=TAGS)
async def products_list(request: web.Request, user: User, query: ProductsQuery):
    require_staff(user)
    page = await cat.list_products(q=query.q, category_id=query.category_id,
                                   archived=query.archived, offset=query.offset,
                                   limit=query.limit)
    return ProductPageOut(
        items=[ProductRowOut(id=r.product.id, code=r.product.code, name=r.product.name,
                             unit=r.product.unit, category=r.category, price=money(r.price),
                             free=_qty(r.free), is_service=r.product.is_service,
                             archived=r.product.archived) for r in page.rows],
        has_more=page.has_more,
        price_list=page.price_list.name if page.price_list else None, currency=page.currency)


@api.route("GET", "/catalogue/products/{product_id}", summary="A product's card: its price in "
           "each list and its stock in each warehouse", response=ProductCardOut, tags=TAGS)
async def product_get(request: web.Request, user: User, product_id: int):
    require_staff(user)
    return await _card(product_id, user)


@api.route("POST", "/catalogue/products", summary="A new product (admins)", body=ProductIn,
           response=ProductCardOut, tags=TAGS, status=201)
async def product_create(request: web.Request, user: User, body: ProductIn):
    p = await cat.do_create_product(user, body.given())
    return await _card(p.id, user)


@api.route("PATCH", "/catalogue/products/{product_id}", summary="Change, archive or restore "
           "a product (admins)", body=ProductIn, response=ProductCardOut, tags=TAGS)
async def product_patch(request: web.Request, user: User, product_id: int, body: ProductIn):
    await cat.do_update_product(user, product_id, body.given())
    return await _card(product_id, user)


# ---- categories and kinds ------------------------------------------------------------------

class CategoryIn(Given):
    name: str | None = Field(default=None, **TEXT)
    parent_id: int | None = Field(default=None, **ID)
    archived: bool | None = None


class CategoryOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    depth: int
    path: str
    archived: bool


class CategoryList(BaseModel):
    items: list[CategoryOut]


class ArchivedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_archived: bool = False


def _category(n: setup.CategoryNode) -> CategoryOut:
    c = n.category
    return CategoryOut(id=c.id, name=c.name, parent_id=c.parent_id, depth=n.depth,
                       path=n.path, archived=c.archived)


async def _category_out(category_id: int) -> CategoryOut:
    return next(_category(n) for n in await setup.category_tree(include_archived=True)
                if n.category.id == category_id)


@api.route("GET", "/catalogue/categories", summary="The category tree, parents before their "
           "children", query=ArchivedQuery, response=CategoryList, tags=TAGS)
async def categories_list(request: web.Request, user: User, query: ArchivedQuery):
    require_staff(user)
    return CategoryList(items=[_category(n) for n in await setup.category_tree(
        include_archived=query.include_archived)])


@api.route("POST", "/catalogue/categories", summary="A new category (admins)",
           body=CategoryIn, response=CategoryOut, tags=TAGS, status=201)
async def category_create(request: web.Request, user: User, body: CategoryIn):
    return await _category_out((await setup.do_create_category(user, body.given())).id)


@api.route("PATCH", "/catalogue/categories/{category_id}", summary="Rename a category, move "
           "it under another (never under itself), archive or restore it (admins)",
           body=CategoryIn, response=CategoryOut, tags=TAGS)
async def category_patch(request: web.Request, user: User, category_id: int,
                         body: CategoryIn):
    await setup.do_update_category(user, category_id, body.given())
    return await _category_out(category_id)


class NamedIn(Given):
    name: str | None = Field(default=None, **TEXT)
    archived: bool | None = None


class KindOut(BaseModel):
    id: int
    name: str
    archived: bool


class KindList(BaseModel):
    items: list[KindOut]


@api.route("GET", "/catalogue/kinds", summary="Product kinds (for discount coefficients)",
           query=ArchivedQuery, response=KindList, tags=TAGS)
async def kinds_list(request: web.Request, user: User, query: ArchivedQuery):
    require_staff(user)
    return KindList(items=[KindOut(id=k.id, name=k.name, archived=k.archived)
                           for k in await setup.list_kinds(
                               include_archived=query.include_archived)])


@api.route("POST", "/catalogue/kinds", summary="A new product kind (admins)", body=NamedIn,
           response=KindOut, tags=TAGS, status=201)
async def kind_create(request: web.Request, user: User, body: NamedIn):
    k = await setup.do_create_kind(user, body.given())
    return KindOut(id=k.id, name=k.name, archived=k.archived)


@api.route("PATCH", "/catalogue/kinds/{kind_id}", summary="Rename, archive or restore a "
           "product kind (admins)", body=NamedIn, response=KindOut, tags=TAGS)
async def kind_patch(request: web.Request, user: User, kind_id: int, body: NamedIn):
    k = await setup.do_update_kind(user, kind_id, body.given())
    return KindOut(id=k.id, name=k.name, archived=k.archived)


# ---- warehouses and our legal entities -----------------------------------------------------

class WarehouseIn(Given):
    name: str | None = Field(default=None, **TEXT)
    allow_backorder: bool | None = None
    is_default: bool | None = None
    archived: bool | None = None


class WarehouseOut(BaseModel):
    id: int
    name: str
    allow_backorder: bool
    is_default: bool
    archived: bool


class WarehouseList(BaseModel):
    items: list[WarehouseOut]


def _warehouse(w) -> WarehouseOut:
    return WarehouseOut(id=w.id, name=w.name, allow_backorder=w.allow_backorder,
                        is_default=w.is_default, archived=w.archived)


@api.route("GET", "/catalogue/warehouses", summary="Warehouses, the default first",
           query=ArchivedQuery, response=WarehouseList, tags=TAGS)
async def warehouses_list(request: web.Request, user: User, query: ArchivedQuery):
    require_staff(user)
    return WarehouseList(items=[_warehouse(w) for w in await setup.list_warehouses(
        include_archived=query.include_archived)])


@api.route("POST", "/catalogue/warehouses", summary="A new warehouse (admins)",
           body=WarehouseIn, response=WarehouseOut, tags=TAGS, status=201)
async def warehouse_create(request: web.Request, user: User, body: WarehouseIn):
    return _warehouse(await setup.do_create_warehouse(user, body.given()))


@api.route("PATCH", "/catalogue/warehouses/{warehouse_id}", summary="Rename a warehouse, "
           "allow backorders, make it the default, archive or restore it (admins)",
           body=WarehouseIn, response=WarehouseOut, tags=TAGS)
async def warehouse_patch(request: web.Request, user: User, warehouse_id: int,
                          body: WarehouseIn):
    return _warehouse(await setup.do_update_warehouse(user, warehouse_id, body.given()))


class EntityIn(Given):
    name: str | None = Field(default=None, **TEXT)
    country: str | None = Field(default=None, max_length=2)
    inn: str | None = Field(default=None, max_length=40)
    kpp: str | None = Field(default=None, max_length=40)
    ogrn: str | None = Field(default=None, max_length=40)
    edrpou: str | None = Field(default=None, max_length=40)
    ipn: str | None = Field(default=None, max_length=40)
    vat_payer: bool | None = None
    legal_address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=60)
    bank_name: str | None = Field(default=None, **TEXT)
    bik: str | None = Field(default=None, max_length=40)
    account: str | None = Field(default=None, max_length=60)
    corr_account: str | None = Field(default=None, max_length=60)
    mfo: str | None = Field(default=None, max_length=40)
    iban: str | None = Field(default=None, max_length=60)
    director: str | None = Field(default=None, **TEXT)
    accountant: str | None = Field(default=None, **TEXT)
    is_default: bool | None = None
    archived: bool | None = None


class EntityOut(BaseModel):
    id: int
    name: str
    country: str
    inn: str | None
    kpp: str | None
    ogrn: str | None
    edrpou: str | None
    ipn: str | None
    vat_payer: bool
    legal_address: str | None
    phone: str | None
    bank_name: str | None
    bik: str | None
    account: str | None
    corr_account: str | None
    mfo: str | None
    iban: str | None
    director: str | None
    accountant: str | None
    is_default: bool
    archived: bool


class EntityList(BaseModel):
    items: list[EntityOut]


def _entity(e) -> EntityOut:
    return EntityOut(**{k: getattr(e, k) for k in EntityOut.model_fields})


@api.route("GET", "/catalogue/own-entities", summary="Our legal entities (the sellers on "
           "orders and invoices)", query=ArchivedQuery, response=EntityList, tags=TAGS)
async def entities_list(request: web.Request, user: User, query: ArchivedQuery):
    require_staff(user)
    return EntityList(items=[_entity(e) for e in await setup.list_own_entities(
        include_archived=query.include_archived)])


@api.route("POST", "/catalogue/own-entities", summary="A new legal entity of ours, its "
           "requisites checked (admins)", body=EntityIn, response=EntityOut, tags=TAGS,
           status=201)
async def entity_create(request: web.Request, user: User, body: EntityIn):
    return _entity(await setup.do_create_own_entity(user, body.given()))


@api.route("PATCH", "/catalogue/own-entities/{entity_id}", summary="Change our legal "
           "entity's requisites, make it the default, archive or restore it (admins)",
           body=EntityIn, response=EntityOut, tags=TAGS)
async def entity_patch(request: web.Request, user: User, entity_id: int, body: EntityIn):
    return _entity(await setup.do_update_own_entity(user, entity_id, body.given()))


# ---- stock ---------------------------------------------------------------------------------

class StockQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    warehouse_id: int = Field(**ID)
    q: str = Field(default="", max_length=200)
    short: bool = Field(default=False, description="only what has nothing free")
    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=cat.PAGE, ge=1, le=cat.MAX_PAGE)


class StockRowOut(BaseModel):
    product_id: int
    code: str | None
    name: str
    unit: str
    on_hand: str
    reserved: str
    free: str


class StockPageOut(BaseModel):
    items: list[StockRowOut]
    has_more: bool


class OnHandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_hand: str = Field(min_length=1, max_length=30, description="as typed: \"12\", "
                         "\"2,5\"")


def _stock_row(r: cat.StockRow) -> StockRowOut:
    return StockRowOut(product_id=r.product.id, code=r.product.code, name=r.product.name,
                       unit=r.product.unit, on_hand=_qty(r.on_hand),
                       reserved=_qty(r.reserved), free=_qty(r.free))


@api.route("GET", "/stock", summary="A warehouse's goods with on hand, reserved and free; "
           "\"short\": those with nothing free (K-4)", query=StockQuery,
           response=StockPageOut, tags=TAGS)
async def stock_list(request: web.Request, user: User, query: StockQuery):
    require_staff(user)
    rows, more = await cat.stock_page(query.warehouse_id, q=query.q, short=query.short,
                                      offset=query.offset, limit=query.limit)
    return StockPageOut(items=[_stock_row(r) for r in rows], has_more=more)


@api.route("PUT", "/stock/{warehouse_id}/{product_id}", summary="Set what is on hand (admins; "
           "the reservation stays) (K-4)", body=OnHandIn, response=StockRowOut, tags=TAGS)
async def stock_set(request: web.Request, user: User, warehouse_id: int, product_id: int,
                    body: OnHandIn):
    return _stock_row(await cat.do_set_on_hand(user, warehouse_id, product_id, body.on_hand))
