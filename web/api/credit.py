"""/api/v1 credit limits (issue 14: A-15): a client's limit (read, set, remove) and its
exposure, an order's credit check, exceptions asked for and decided, the company's
credit settings. Money goes out as decimal strings and comes in as typed. Every rule is
in services.credit and services.credit_overrides; the notices go out in Telegram after
the commit."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.errors import domain_message
from models import User
from services import credit, credit_overrides
from services.ledger import today_of
from web.api.deal_schemas import ID, money
from web.api.routes import api
from web.keys import BOT_KEY, I18N_KEY

TAGS = ["settlements"]


class LimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(min_length=1, max_length=30, description="as typed: \"500 000\"")
    currency: str = Field(default="RUB", max_length=3)
    overdue_days: str | None = Field(default=None, max_length=5,
                                     description="empty: the company's setting")


class LimitOut(BaseModel):
    amount: str | None
    currency: str
    overdue_days: int
    own_days: bool
    may_edit: bool


class ExposureOut(BaseModel):
    limit: LimitOut | None
    currency: str
    debt: str = Field(description="open receivables less free credit, converted")
    uninvoiced: str = Field(description="posted or shipped orders without an invoice")
    total: str
    free: str | None = Field(description="the limit less the exposure (none: no limit)")
    by_currency: dict[str, str]


class CheckOut(BaseModel):
    ok: bool
    kind: str | None = Field(description="limit or overdue")
    message: str | None = Field(description="the refusal in the person's language")
    over_by: str | None
    pending_id: int | None = Field(description="a request waiting for a decision")


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class DecideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    comment: str | None = Field(default=None, max_length=500)


class OverrideOut(BaseModel):
    id: int
    order_id: int
    state: str
    reason: str | None
    over_by: str
    currency: str
    order_total: str
    requested_by: int
    decided_by: int | None
    decided_at: datetime | None
    comment: str | None


class OverridesOut(BaseModel):
    items: list[OverrideOut]


class CompanyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overdue_days: int | None = Field(default=None, ge=1, le=credit.MAX_DAYS)
    block_overdue: bool | None = None
    controller_id: int | None = Field(default=None, **ID)
    no_controller: bool = Field(default=False, description="drop the named controller")


class CompanyOut(BaseModel):
    overdue_days: int
    block_overdue: bool
    controller_id: int | None


async def _limit_out(user: User, limit) -> LimitOut | None:
    from services.permissions import Action, can

    if limit is None:
        return None
    return LimitOut(amount=money(limit.amount), currency=limit.currency,
                    overdue_days=limit.overdue_days, own_days=limit.own_days,
                    may_edit=await can(user, Action.SET_CREDIT_LIMITS))


def _override(o) -> OverrideOut:
    return OverrideOut(id=o.id, order_id=o.order_id, state=str(o.state), reason=o.reason,
                       over_by=money(o.over_by), currency=o.currency,
                       order_total=money(o.order_total), requested_by=o.requested_by_id,
                       decided_by=o.decided_by_id, decided_at=o.decided_at,
                       comment=o.comment)


async def _tell(request: web.Request, notices) -> None:
    from notifications.credit import deliver_credit_notices

    bot = request.app.get(BOT_KEY)
    if bot is not None and notices:
        await deliver_credit_notices(bot, request.app[I18N_KEY], notices)


@api.route("GET", "/clients/{client_id}/credit", summary="The client's credit limit and "
           "exposure in its currency (A-15)", response=ExposureOut, tags=TAGS)
async def credit_get(request: web.Request, user: User, client_id: int):
    limit, exp = await credit.client_exposure(user, client_id, today_of(user))
    return ExposureOut(
        limit=await _limit_out(user, limit), currency=exp.currency, debt=money(exp.debt),
        uninvoiced=money(exp.uninvoiced), total=money(exp.total),
        free=money(limit.amount - exp.total) if limit else None,
        by_currency={k: money(v) for k, v in sorted(exp.by_currency.items())})


@api.route("PUT", "/clients/{client_id}/credit", summary="Set the client's credit limit "
           "(heads and admins; A-15)", body=LimitIn, response=LimitOut, tags=TAGS)
async def credit_put(request: web.Request, user: User, client_id: int, body: LimitIn):
    return await _limit_out(user, await credit.do_set_limit(user, client_id,
                                                            body.model_dump()))


@api.route("DELETE", "/clients/{client_id}/credit", summary="Remove the client's credit "
           "limit (heads and admins; A-15)", tags=TAGS, status=204)
async def credit_delete(request: web.Request, user: User, client_id: int):
    await credit.do_remove_limit(user, client_id)
    return web.Response(status=204)


@api.route("GET", "/orders/{order_id}/credit", summary="The order's credit check as posting "
           "would make it (A-15)", response=CheckOut, tags=TAGS)
async def credit_check(request: web.Request, user: User, order_id: int):
    found = await credit.check(user, order_id)
    pending = await credit_overrides.pending_of(order_id)
    if found is None:
        return CheckOut(ok=True, kind=None, message=None, over_by=None,
                        pending_id=pending.id if pending else None)
    return CheckOut(ok=False, kind=found.kind, over_by=money(found.over_by),
                    message=domain_message(found, str(user.language)),
                    pending_id=pending.id if pending else None)


@api.route("GET", "/orders/{order_id}/credit-overrides", summary="The order's requests for a "
           "credit exception, newest first (A-15)", response=OverridesOut, tags=TAGS)
async def overrides_list(request: web.Request, user: User, order_id: int):
    return OverridesOut(items=[_override(o) for o in
                               await credit_overrides.overrides_of(user, order_id)])


@api.route("POST", "/orders/{order_id}/credit-overrides", summary="Ask for a credit "
           "exception (the order's owner; A-15)", body=OverrideIn, response=OverrideOut,
           tags=TAGS, status=201)
async def override_request(request: web.Request, user: User, order_id: int,
                           body: OverrideIn):
    made = await credit_overrides.do_request_override(user, order_id, body.reason)
    await _tell(request, made.notices)
    return _override(made.override)


@api.route("POST", "/credit-overrides/{override_id}/decide", summary="Approve or refuse a "
           "credit exception (the credit controller; A-15)", body=DecideIn,
           response=OverrideOut, tags=TAGS)
async def override_decide(request: web.Request, user: User, override_id: int,
                          body: DecideIn):
    done = await credit_overrides.do_decide(user, override_id, body.approve, body.comment)
    await _tell(request, done.notices)
    return _override(done.override)


@api.route("GET", "/credit-settings", summary="The company's credit settings (A-15)",
           response=CompanyOut, tags=TAGS)
async def company_get(request: web.Request, user: User):
    c = await credit.company_credit()
    return CompanyOut(overdue_days=c.overdue_days, block_overdue=c.block_overdue,
                      controller_id=c.controller_id)


@api.route("PUT", "/credit-settings", summary="Change the company's credit settings "
           "(admins; A-15)", body=CompanyIn, response=CompanyOut, tags=TAGS)
async def company_put(request: web.Request, user: User, body: CompanyIn):
    data = body.model_dump(exclude_none=True, exclude={"no_controller"})
    if body.no_controller:
        data["controller_id"] = None
    c = await credit.do_set_company_credit(user, data)
    return CompanyOut(overdue_days=c.overdue_days, block_overdue=c.block_overdue,
                      controller_id=c.controller_id)
