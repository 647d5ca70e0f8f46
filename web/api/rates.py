"""/api/v1 currency rates (issue 14: A-15, K-6): list them, upload a central bank's
daily XML (multipart "file": the Bank of Russia's XML_daily or the National Bank of
Ukraine's exchange file), set or delete a manual rate (admins), convert an amount.
Rules in services.rates; rates and amounts go out as decimal strings."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import CurrencyRate, User
from services import rates as svc
from services.errors import PermissionDenied, ValidationFailed
from web.api.deal_schemas import money
from web.api.framework import NO_RIGHT, read_upload, refusal, said
from web.api.routes import api

TAGS = ["rates"]
CODE = {"min_length": 3, "max_length": 3}


class RateOut(BaseModel):
    id: int
    dated: date
    currency: str
    base: str
    rate: str
    source: str


class RateList(BaseModel):
    items: list[RateOut]


class RateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str | None = Field(default=None, **CODE)
    on: date | None = None
    limit: int = Field(default=100, ge=1, le=500)


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = Field(max_length=3)
    base: str = Field(default="RUB", max_length=3)
    dated: date
    rate: str = Field(max_length=40, description="a decimal string: 81.25 or 81,25")


class ConvertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    amount: Decimal = Field(max_digits=16, decimal_places=2)
    from_: str = Field(alias="from", **CODE)
    to: str = Field(**CODE)
    on: date


class ConvertOut(BaseModel):
    amount: str
    currency: str
    rate: str
    on: date


def _out(row: CurrencyRate) -> RateOut:
    return RateOut(id=row.id, dated=row.dated, currency=row.currency, base=row.base,
                   rate=f"{Decimal(row.rate).normalize():f}", source=row.source)


async def upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/rates/upload: a central bank's daily XML; the load's report."""
    got = await read_upload(request, svc.MAX_FILE_BYTES)
    if isinstance(got, web.Response):
        return got
    user, lang, _filename, data = got
    try:
        report = await svc.do_load_rates(user, data)
    except PermissionDenied:
        return said(403, NO_RIGHT, lang)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    return web.json_response({**asdict(report), "dated": report.dated.isoformat()
                              if report.dated else None})


@api.route("GET", "/rates", summary="Currency rates, the newest day first (A-15)",
           query=RateQuery, response=RateList, tags=TAGS)
async def rates_get(request: web.Request, user: User, query: RateQuery):
    rows = await svc.list_rates(user, currency=query.currency, on=query.on,
                                limit=query.limit)
    return RateList(items=[_out(r) for r in rows])


@api.route("PUT", "/rates", summary="Set a day's rate by hand (admins; A-15)", body=RateIn,
           response=RateOut, tags=TAGS)
async def rate_put(request: web.Request, user: User, body: RateIn):
    return _out(await svc.do_set_rate(user, body.currency, body.rate, body.dated,
                                      body.base))


@api.route("DELETE", "/rates/{rate_id}", summary="Delete a rate (admins; A-15)", tags=TAGS,
           status=204)
async def rate_delete(request: web.Request, user: User, rate_id: int):
    await svc.do_delete_rate(user, rate_id)
    return web.Response(status=204)


@api.route("GET", "/rates/convert", summary="An amount in another currency on a day, by "
           "the latest rate on or before it (A-15)", query=ConvertQuery,
           response=ConvertOut, tags=TAGS)
async def rates_convert(request: web.Request, user: User, query: ConvertQuery):
    value = await svc.rate(query.from_, query.to, query.on)
    amount = await svc.convert(query.amount, query.from_, query.to, query.on)
    return ConvertOut(amount=money(amount), currency=query.to.upper(),
                      rate=f"{value.quantize(svc.SIX).normalize():f}", on=query.on)
