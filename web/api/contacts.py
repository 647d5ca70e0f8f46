"""/api/v1 contact persons (S-3): list with the archived ones apart, change, archive,
restore. Adding is under /clients/{id}/contacts (web/api/clients.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import ContactPerson, User
from services import contacts as svc
from services import customfields
from web.api.clients import _region, _source
from web.api.customization import ValuesOut, _jsonable
from web.api.routes import api


class ContactFull(BaseModel):
    id: int
    client_id: int
    first_name: str
    last_name: str | None
    middle_name: str | None
    position: str | None
    phones: list[str]
    emails: list[str]
    birthday: date | None
    notes: str | None
    archived_at: datetime | None

    @classmethod
    def of(cls, c: ContactPerson) -> ContactFull:
        return cls(id=c.id, client_id=c.client_id, first_name=c.first_name,
                   last_name=c.last_name, middle_name=c.middle_name, position=c.position,
                   phones=list(c.phones or []), emails=list(c.emails or []),
                   birthday=c.birthday, notes=c.notes, archived_at=c.archived_at)


class ContactList(BaseModel):
    items: list[ContactFull]


class ContactQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = Field(default=False, description="the archived contacts instead")


class ContactPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    middle_name: str | None = Field(default=None, max_length=100)
    position: str | None = Field(default=None, max_length=200)
    phones: list[str] | None = Field(default=None, max_length=10)
    emails: list[str] | None = Field(default=None, max_length=10)
    birthday: date | None = None
    notes: str | None = Field(default=None, max_length=10000)
    custom: dict[str, Any] | None = Field(default=None, description="custom values (S-3)")


@api.route("GET", "/clients/{client_id}/contacts", summary="A client's contact persons (S-3)",
           query=ContactQuery, response=ContactList, tags=["clients"])
async def contacts_list(request: web.Request, user: User, client_id: int,
                        query: ContactQuery):
    people = await svc.list_contacts(user, client_id, archived=query.archived)
    return ContactList(items=[ContactFull.of(c) for c in people])


@api.route("PATCH", "/contacts/{contact_id}", summary="Change a contact person (audited)",
           body=ContactPatch, response=ContactFull, tags=["clients"])
async def contact_patch(request: web.Request, user: User, contact_id: int,
                        body: ContactPatch):
    changes = body.model_dump(exclude_unset=True)
    if changes.get("first_name", "") is None:
        changes.pop("first_name")  # a name cannot be cleared, only changed
    contact = await svc.do_update_contact(user, contact_id, changes, source=_source(request),
                                          region=_region(user))
    return ContactFull.of(contact)


@api.route("POST", "/contacts/{contact_id}/archive", summary="Archive a contact person",
           response=ContactFull, tags=["clients"])
async def contact_archive(request: web.Request, user: User, contact_id: int):
    return ContactFull.of(await svc.do_archive_contact(user, contact_id,
                                                       source=_source(request)))


@api.route("POST", "/contacts/{contact_id}/restore", summary="Restore an archived contact",
           response=ContactFull, tags=["clients"])
async def contact_restore(request: web.Request, user: User, contact_id: int):
    return ContactFull.of(await svc.do_restore_contact(user, contact_id,
                                                       source=_source(request)))


@api.route("GET", "/contacts/{contact_id}/custom", summary="A contact's custom values (S-3)",
           response=ValuesOut, tags=["customisation"])
async def contact_values(request: web.Request, user: User, contact_id: int):
    await svc.get_contact(user, contact_id)
    values = await customfields.values_for(user, "contact", contact_id)
    return ValuesOut(values={k: _jsonable(v) for k, v in values.items()})
