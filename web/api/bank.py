"""/api/v1 bank statements (issue 14: K-6): upload a statement (multipart, field
"file": a 1CClientBankExchange .txt or an .xlsx), the queue of payments waiting for a
person, assign one to a client, ignore one, put an ignored one back. Rules in
services.bank_import; admins and heads only.

The upload is routed by hand (web/app.py) like the other multipart uploads; the file
is read into memory (at most services.bank_format.MAX_FILE_BYTES) and parsed in a
thread by the service.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt.errors import gettext_for
from models import BankLine, User
from services import bank_format
from services import bank_import as svc
from services.errors import PermissionDenied, ValidationFailed
from web.api.deal_schemas import ID, money
from web.api.framework import NO_RIGHT, read_upload, refusal, said
from web.api.routes import api

log = logging.getLogger("kontakt.bank")
TAGS = ["bank"]


def report_json(report: svc.ImportReport, lang: str) -> dict[str, Any]:
    gettext = gettext_for(lang)
    return {**asdict(report),
            "reasons": [{"code": code, "count": n,
                         "text": gettext(svc.REASONS[code]) if code in svc.REASONS else code}
                        for code, n in report.reasons.items()]}


async def upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/bank/statements: the import's report."""
    got = await read_upload(request, bank_format.MAX_FILE_BYTES)
    if isinstance(got, web.Response):
        return got
    user, lang, filename, data = got
    try:
        report = await svc.do_import_statement(user, filename, data)
    except PermissionDenied:
        return said(403, NO_RIGHT, lang)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    return web.json_response(report_json(report, lang))


class LineOut(BaseModel):
    id: int
    statement_id: int
    number: str | None
    dated: date
    amount: str
    currency: str
    payer_name: str | None
    payer_code: str | None
    payer_account: str | None
    purpose: str | None
    invoice_ref: str | None
    state: str
    reason: str | None = Field(description="a code (unmatched) or the person's words "
                                           "(ignored)")
    reason_text: str | None = Field(description="the reason in the person's language")
    client_id: int | None = Field(description="matched, or suggested while waiting")
    client_name: str | None


class LineList(BaseModel):
    items: list[LineOut]


class LineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(default="unmatched", max_length=10,
                       description="unmatched (the queue), matched or ignored")
    limit: int = Field(default=50, ge=1, le=svc.MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    invoice_number: str | None = Field(default=None, max_length=64)


class IgnoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=svc.MAX_REASON)


def _line(line: BankLine, lang: str) -> LineOut:
    client = line.client if line.client_id is not None else None
    return LineOut(
        id=line.id, statement_id=line.statement_id, number=line.number, dated=line.dated,
        amount=money(line.amount), currency=line.currency, payer_name=line.payer_name,
        payer_code=line.payer_code, payer_account=line.payer_account, purpose=line.purpose,
        invoice_ref=line.invoice_ref, state=str(line.state), reason=line.reason,
        reason_text=svc.reason_text(line, gettext_for(lang)), client_id=line.client_id,
        client_name=getattr(client, "name", None))


def _one(user: User, line: BankLine) -> LineOut:
    return _line(line, str(user.language))


@api.route("GET", "/bank/lines", summary="Payments from bank statements: the queue "
           "(unmatched, with the reason), matched or ignored (K-6; admins and heads)",
           query=LineQuery, response=LineList, tags=TAGS)
async def lines_get(request: web.Request, user: User, query: LineQuery):
    rows = await svc.list_lines(user, query.state, limit=query.limit, offset=query.offset)
    return LineList(items=[_line(r, str(user.language)) for r in rows])


@api.route("POST", "/bank/lines/{line_id}/assign", summary="This payment is the client's "
           "(for this invoice): recorded in the client's ledger (K-6)", body=AssignIn,
           response=LineOut, tags=TAGS)
async def line_assign(request: web.Request, user: User, line_id: int, body: AssignIn):
    return _one(user, await svc.do_assign(user, line_id, body.client_id,
                                          body.invoice_number))


@api.route("POST", "/bank/lines/{line_id}/ignore", summary="Not a client's payment: out "
           "of the queue with a reason (K-6)", body=IgnoreIn, response=LineOut, tags=TAGS)
async def line_ignore(request: web.Request, user: User, line_id: int, body: IgnoreIn):
    return _one(user, await svc.do_ignore(user, line_id, body.reason))


@api.route("POST", "/bank/lines/{line_id}/restore", summary="An ignored payment back into "
           "the queue (K-6)", response=LineOut, tags=TAGS)
async def line_restore(request: web.Request, user: User, line_id: int):
    return _one(user, await svc.do_restore(user, line_id))

