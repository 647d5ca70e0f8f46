"""/api/v1/mailings: mailing lists (K-16) — made from a segment or chosen clients,
started, paused, resumed, cancelled; progress counted in SQL (for a page of the list,
in three grouped queries)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import mailings as svc
from web.api.framework import MAX_ID
from web.api.routes import api


class MailingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    template_id: int = Field(ge=1, le=MAX_ID)
    segment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    client_ids: list[int] | None = Field(default=None, max_length=10_000)
    per_minute: int = Field(default=60, ge=1, le=6000)


class MailingOut(BaseModel):
    id: int
    name: str
    channel: str
    state: str
    per_minute: int
    total: int
    pending: int
    skipped: int
    reasons: dict[str, int]
    queued: int
    sent: int
    failed: int
    created_at: datetime
    finished_at: datetime | None


class MailingList(BaseModel):
    items: list[MailingOut]
    total: int = Field(description="the mailings one may see in all")


class MailingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


def _out(p: dict) -> MailingOut:
    m = p["mailing"]
    return MailingOut(id=m.id, name=m.name, channel=str(m.channel), state=str(m.state),
                      per_minute=m.per_minute, created_at=m.created_at,
                      finished_at=m.finished_at,
                      **{k: p[k] for k in ("total", "pending", "skipped", "reasons", "queued",
                                           "sent", "failed")})


@api.route("GET", "/mailings", summary="Mailings with their progress (K-16), the newest "
           "first, a page at a time (admins and heads)", query=MailingQuery,
           response=MailingList, tags=["messaging"])
async def mailings_list(request: web.Request, user: User, query: MailingQuery):
    items, total = await svc.mailing_page(user, limit=query.limit, offset=query.offset)
    return MailingList(items=[_out(p) for p in items], total=total)


@api.route("POST", "/mailings", summary="Make a mailing (admins and heads); the list is "
           "fixed now, with the skipped and why", body=MailingIn, response=MailingOut,
           tags=["messaging"], status=201)
async def mailings_create(request: web.Request, user: User, body: MailingIn):
    m = await svc.do_create_mailing(user, **body.model_dump())
    return _out(await svc.progress(user, m.id))


@api.route("GET", "/mailings/{mailing_id}", summary="A mailing's progress",
           response=MailingOut, tags=["messaging"])
async def mailings_get(request: web.Request, user: User, mailing_id: int):
    return _out(await svc.progress(user, mailing_id))


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["start", "pause", "resume", "cancel"]


@api.route("POST", "/mailings/{mailing_id}/action", summary="Start, pause, resume or cancel",
           body=ActionIn, response=MailingOut, tags=["messaging"])
async def mailings_action(request: web.Request, user: User, mailing_id: int, body: ActionIn):
    await svc.do_mailing_action(user, mailing_id, body.action)
    return _out(await svc.progress(user, mailing_id))
