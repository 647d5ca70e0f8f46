"""/api/v1 discount groups, clients' terms, promos and a promo's effect (issue 13: A-14).
Percents come in as typed (strings) and go out as decimal strings; the rules are in
services.discount_admin."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import discount_admin as svc
from web.api.deal_schemas import ID, money
from web.api.routes import api

NUM = {"max_length": 40}
TAGS = ["discounts"]
OPT_ID = {"ge": 0, "le": ID["le"]}


class KindOut(BaseModel):
    id: int
    name: str


class KindList(BaseModel):
    items: list[KindOut]


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind_id: int | None = Field(default=None, **OPT_ID, description="null: any other kind")
    percent: str | None = Field(default=None, **NUM)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    combine: str | None = Field(default=None, max_length=8, description="best or chain")
    rates: list[RateIn] | None = Field(default=None, max_length=500)
    archived: bool | None = None


class RateOut(BaseModel):
    kind_id: int | None
    percent: str


class GroupOut(BaseModel):
    id: int
    name: str
    combine: str
    archived: bool
    rates: list[RateOut]


class GroupList(BaseModel):
    items: list[GroupOut]


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price_list_id: int | None = Field(default=None, **OPT_ID)
    discount_group_id: int | None = Field(default=None, **OPT_ID)
    discount: str | None = Field(default=None, **NUM)


class TermsOut(BaseModel):
    price_list_id: int | None
    price_list: str | None
    discount_group_id: int | None
    discount_group: str | None
    discount: str | None


class PromoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=300)
    percent: str | None = Field(default=None, **NUM)
    starts: str | None = Field(default=None, max_length=20)
    ends: str | None = Field(default=None, max_length=20)
    scope: str | None = Field(default=None, max_length=10,
                              description="all, product, category or kind")
    product_id: int | None = Field(default=None, **OPT_ID)
    category_id: int | None = Field(default=None, **OPT_ID)
    kind_id: int | None = Field(default=None, **OPT_ID)
    min_qty: str | None = Field(default=None, **NUM)
    archived: bool | None = None


class PromoOut(BaseModel):
    id: int
    name: str
    percent: str
    starts: date
    ends: date
    scope: str
    product_id: int | None
    category_id: int | None
    kind_id: int | None
    target: str | None = Field(description="the product's, category's or kind's name")
    min_qty: str | None
    archived: bool

    @classmethod
    def of(cls, p) -> PromoOut:
        scope = "product" if p.product_id else "category" if p.category_id else \
            "kind" if p.kind_id else "all"
        target = {"product": p.product, "category": p.category, "kind": p.kind}.get(scope)
        return cls(id=p.id, name=p.name, percent=money(p.percent), starts=p.starts,
                   ends=p.ends, scope=scope, product_id=p.product_id,
                   category_id=p.category_id, kind_id=p.kind_id,
                   target=target.name if target is not None else None,
                   min_qty=None if p.min_qty is None else f"{p.min_qty.normalize():f}",
                   archived=p.archived)


class PromoList(BaseModel):
    items: list[PromoOut]


class EffectQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date | None = None
    end: date | None = None


class EffectOut(BaseModel):
    currency: str
    orders: int
    revenue: str
    margin: str
    average: str
    margin_percent: str | None


class PromoEffectOut(BaseModel):
    promo: PromoOut
    start: date
    end: date
    with_promo: list[EffectOut]
    without: list[EffectOut]


def _effects(items: list[svc.Effect]) -> list[EffectOut]:
    return [EffectOut(currency=e.currency, orders=e.orders, revenue=money(e.revenue),
                      margin=money(e.margin), average=money(e.average),
                      margin_percent=money(e.margin_percent)) for e in items]


@api.route("GET", "/product-kinds", summary="Product kinds (for discount rates and promos)",
           response=KindList, tags=TAGS)
async def kinds_get(request: web.Request, user: User):
    return KindList(items=[KindOut(id=k.id, name=k.name) for k in await svc.list_kinds()])


def _group(group, rates) -> GroupOut:
    return GroupOut(id=group.id, name=group.name, combine=str(group.combine),
                    archived=group.archived,
                    rates=[RateOut(kind_id=k, percent=money(v)) for k, v in rates.items()])


async def _group_out(group_id: int) -> GroupOut:
    for group, rates in await svc.list_groups():
        if group.id == group_id:
            return _group(group, rates)
    raise AssertionError("saved a moment ago")


@api.route("GET", "/discount-groups", summary="Discount groups with their rates per product "
           "kind (A-14)", response=GroupList, tags=TAGS)
async def groups_get(request: web.Request, user: User):
    return GroupList(items=[_group(g, r) for g, r in await svc.list_groups()])


@api.route("POST", "/discount-groups", summary="A new discount group (admins)", body=GroupIn,
           response=GroupOut, tags=TAGS, status=201)
async def group_create(request: web.Request, user: User, body: GroupIn):
    row = await svc.do_save_group(user, None, body.model_dump(include=body.model_fields_set))
    return await _group_out(row.id)


@api.route("PATCH", "/discount-groups/{group_id}", summary="Change a discount group, its "
           "rates; archive or restore it (admins)", body=GroupIn, response=GroupOut,
           tags=TAGS)
async def group_patch(request: web.Request, user: User, group_id: int, body: GroupIn):
    row = await svc.do_save_group(user, group_id,
                                  body.model_dump(include=body.model_fields_set))
    return await _group_out(row.id)


def _terms(t) -> TermsOut:
    if t is None:
        return TermsOut(price_list_id=None, price_list=None, discount_group_id=None,
                        discount_group=None, discount=None)
    return TermsOut(price_list_id=t.price_list_id,
                    price_list=t.price_list.name if t.price_list_id else None,
                    discount_group_id=t.discount_group_id,
                    discount_group=t.discount_group.name if t.discount_group_id else None,
                    discount=money(t.discount))


@api.route("GET", "/clients/{client_id}/terms", summary="A client's price list, discount "
           "group and individual discount", response=TermsOut, tags=TAGS)
async def terms_get(request: web.Request, user: User, client_id: int):
    return _terms(await svc.client_terms(user, client_id))


@api.route("PUT", "/clients/{client_id}/terms", summary="Change a client's terms (whoever "
           "may change the client)", body=TermsIn, response=TermsOut, tags=TAGS)
async def terms_put(request: web.Request, user: User, client_id: int, body: TermsIn):
    return _terms(await svc.do_set_terms(user, client_id,
                                         body.model_dump(include=body.model_fields_set)))


@api.route("GET", "/promos", summary="Promos, the archived last (A-14)", response=PromoList,
           tags=TAGS)
async def promos_get(request: web.Request, user: User):
    return PromoList(items=[PromoOut.of(p) for p in await svc.list_promos()])


@api.route("POST", "/promos", summary="A new promo (admins): up to 100 percent, 100 is a gift",
           body=PromoIn, response=PromoOut, tags=TAGS, status=201)
async def promo_create(request: web.Request, user: User, body: PromoIn):
    return PromoOut.of(await svc.do_save_promo(user, None,
                                               body.model_dump(include=body.model_fields_set)))


@api.route("PATCH", "/promos/{promo_id}", summary="Change a promo; archive or restore it "
           "(admins)", body=PromoIn, response=PromoOut, tags=TAGS)
async def promo_patch(request: web.Request, user: User, promo_id: int, body: PromoIn):
    return PromoOut.of(await svc.do_save_promo(user, promo_id,
                                               body.model_dump(include=body.model_fields_set)))


@api.route("GET", "/promos/{promo_id}/effect", summary="A promo's effect: orders with it "
           "against orders without any promo, over a period (admins and heads)",
           query=EffectQuery, response=PromoEffectOut, tags=TAGS)
async def promo_effect(request: web.Request, user: User, promo_id: int, query: EffectQuery):
    e = await svc.promo_effect(user, promo_id, query.start, query.end)
    return PromoEffectOut(promo=PromoOut.of(e.promo), start=e.start, end=e.end,
                          with_promo=_effects(e.with_promo), without=_effects(e.without))
