"""/api/v1 process types (issue 12: U-1): the list with their stages and the admin's
process editor (create, change with the whole list of stages, archive, restore). Every
rule is in services.deal_processes."""

from __future__ import annotations

from aiohttp import web

from kontakt.i18n import translator
from models import ProcessType, User
from services import deal_processes as processes
from services import deals as svc
from web.api.deal_schemas import Ok, ProcessIn, ProcessList, ProcessOut, ProcessQuery
from web.api.deals import _process
from web.api.routes import api

# ---- process types (U-1) --------------------------------------------------------------

async def _process_out(p: ProcessType, gettext) -> ProcessOut:
    return _process(p, await svc.stages_of(p.id), gettext)


@api.route("GET", "/process-types", summary="Process types with their stages (U-1)",
           query=ProcessQuery, response=ProcessList, tags=["deals"])
async def process_list(request: web.Request, user: User, query: ProcessQuery):
    gettext = translator(str(user.language))
    return ProcessList(items=[await _process_out(p, gettext)
                              for p in await svc.process_types(archived=query.archived)])


@api.route("POST", "/process-types", summary="A new process type with its stages (admins)",
           body=ProcessIn, response=ProcessOut, tags=["deals"], status=201)
async def process_create(request: web.Request, user: User, body: ProcessIn):
    p = await processes.do_save_process(user, None, body.model_dump())
    return await _process_out(p, translator(str(user.language)))


@api.route("PUT", "/process-types/{process_id}", summary="Change a process type and its "
           "whole list of stages (admins)", body=ProcessIn, response=ProcessOut,
           tags=["deals"])
async def process_save(request: web.Request, user: User, process_id: int, body: ProcessIn):
    p = await processes.do_save_process(user, process_id, body.model_dump())
    return await _process_out(p, translator(str(user.language)))


@api.route("POST", "/process-types/{process_id}/archive", summary="Archive a process type: "
           "no new deals of it (admins)", response=Ok, tags=["deals"])
async def process_archive(request: web.Request, user: User, process_id: int):
    await processes.do_archive_process(user, process_id)
    return Ok()


@api.route("POST", "/process-types/{process_id}/restore", summary="Restore an archived "
           "process type (admins)", response=Ok, tags=["deals"])
async def process_restore(request: web.Request, user: User, process_id: int):
    await processes.do_archive_process(user, process_id, archived=False)
    return Ok()
