"""/api/v1 archiving a client and restoring it (services.client_archive): archived
clients leave the lists and search, ``GET /clients?archived=true`` lists them."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import client_archive as svc
from web.api.clients import ClientDetail, _detail, _source
from web.api.routes import api


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=svc.REASON_MAX,
                               description="why (kept in the client's history); optional")


class ArchiveOut(BaseModel):
    id: int
    name: str
    archived_at: datetime | None
    archived_by: str | None = Field(description="who archived it")
    reason: str | None

    @classmethod
    def of(cls, state: svc.ArchiveState) -> ArchiveOut:
        return cls(id=state.client.id, name=state.client.name, archived_at=state.archived_at,
                   archived_by=state.by, reason=state.reason)


@api.route("POST", "/clients/{client_id}/archive",
           summary="Archive a client: refused (409, naming them) while deals, orders, "
                   "planned activities or money are open, or when already archived",
           body=ArchiveIn, response=ArchiveOut, tags=["clients"])
async def client_archive(request: web.Request, user: User, client_id: int, body: ArchiveIn):
    return ArchiveOut.of(await svc.do_archive_client(user, client_id, body.reason,
                                                     source=_source(request)))


@api.route("GET", "/clients/{client_id}/archive",
           summary="Whether a client is archived, when, by whom and why",
           response=ArchiveOut, tags=["clients"])
async def client_archive_state(request: web.Request, user: User, client_id: int):
    return ArchiveOut.of(await svc.archive_state(user, client_id))


@api.route("POST", "/clients/{client_id}/restore",
           summary="Restore an archived client (admins and heads)", response=ClientDetail,
           tags=["clients"])
async def client_restore(request: web.Request, user: User, client_id: int):
    client = await svc.do_restore_client(user, client_id, source=_source(request))
    return await _detail(user, client.id)
