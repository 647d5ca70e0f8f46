"""/api/v1/legal-entities (S-1): change one, make it the primary, delete it (adding is
under /clients/{id}/legal-entities in web/api/clients.py); and deleting a file (S-2)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import legal as svc
from web.api.clients import LegalOut, _source
from web.api.routes import api


class LegalPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=300)
    inn: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    edrpou: str | None = None
    ipn: str | None = None
    legal_address: str | None = Field(default=None, max_length=400)
    bank_name: str | None = Field(default=None, max_length=200)
    bik: str | None = None
    account: str | None = Field(default=None, max_length=34)
    corr_account: str | None = Field(default=None, max_length=20)
    mfo: str | None = None
    iban: str | None = None


class Deleted(BaseModel):
    ok: bool = True


def _out(entity) -> LegalOut:
    return LegalOut(**{k: getattr(entity, k) for k in LegalOut.model_fields})


@api.route("PATCH", "/legal-entities/{entity_id}", summary="Change a legal entity (S-1)",
           body=LegalPatch, response=LegalOut, tags=["clients"])
async def legal_patch(request: web.Request, user: User, entity_id: int, body: LegalPatch):
    changes = body.model_dump(include=body.model_fields_set)
    entity = await svc.do_update_legal_entity(user, entity_id, changes,
                                              source=_source(request))
    return _out(entity)


@api.route("POST", "/legal-entities/{entity_id}/primary", summary="Make it the primary one",
           response=LegalOut, tags=["clients"])
async def legal_primary(request: web.Request, user: User, entity_id: int):
    return _out(await svc.do_make_primary(user, entity_id, source=_source(request)))


@api.route("DELETE", "/legal-entities/{entity_id}", summary="Delete a legal entity (S-1)",
           response=Deleted, tags=["clients"])
async def legal_delete(request: web.Request, user: User, entity_id: int):
    await svc.do_delete_legal_entity(user, entity_id, source=_source(request))
    return Deleted()


@api.route("DELETE", "/documents/{document_id}", summary="Delete a file (S-2): who uploaded "
           "it, a head or an admin", response=Deleted, tags=["clients"])
async def document_delete(request: web.Request, user: User, document_id: int):
    from services import documents
    from web.keys import FILES_KEY

    await documents.do_delete_document(user, document_id, request.app[FILES_KEY],
                                       source=_source(request))
    return Deleted()
