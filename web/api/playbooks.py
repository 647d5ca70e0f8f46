"""/api/v1/playbooks (M-4) and a meeting's decisions made tasks (K-11): admins and
heads write playbooks; anyone applies one to a client they see, a chain of tasks."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models import User
from web.api.activities import AgendaItemOut, after_change, agenda_items
from web.api.framework import MAX_ID
from web.api.routes import api
from web.session import request_source


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    type: str = Field(default="task", max_length=32)
    offset_days: int = Field(default=0, ge=0, le=365)
    text: str | None = Field(default=None, max_length=4000)
    assignee: Literal["applier", "manager", "head"] = "applier"


class PlaybookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    steps: list[StepIn] = Field(min_length=1, max_length=30)


class PlaybookOut(BaseModel):
    id: int
    name: str
    description: str | None
    steps: list[StepIn]


class PlaybookList(BaseModel):
    items: list[PlaybookOut]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(ge=1, le=MAX_ID)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    due: AwareDatetime | None = None
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    type: str = Field(default="task", max_length=32)


class DecisionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionIn] = Field(min_length=1, max_length=50)


class Created(BaseModel):
    items: list[AgendaItemOut]


def _playbook_out(p) -> PlaybookOut:
    steps = sorted(p.steps, key=lambda s: s.position)
    return PlaybookOut(id=p.id, name=p.name, description=p.description, steps=[
        StepIn(title=s.title, type=s.type.code or str(s.type_id), offset_days=s.offset_days,
               text=s.text, assignee=str(s.assignee)) for s in steps])


@api.route("GET", "/playbooks", summary="Playbooks (M-4)", response=PlaybookList,
           tags=["activities"])
async def playbooks_list(request: web.Request, user: User):
    from services import playbooks

    items = await playbooks.list_playbooks()  # with their steps and the steps' types
    return PlaybookList(items=[_playbook_out(p) for p in items])


@api.route("POST", "/playbooks", summary="Write a playbook (admins and heads)",
           body=PlaybookIn, response=PlaybookOut, tags=["activities"], status=201)
async def playbooks_create(request: web.Request, user: User, body: PlaybookIn):
    from services import playbooks

    p = await playbooks.do_create_playbook(user, body.name, [s.model_dump() for s in body.steps],
                                           body.description)
    return _playbook_out(await playbooks.with_steps(p))


@api.route("POST", "/playbooks/{playbook_id}/apply", summary="Apply to a client: the chain "
           "of tasks (M-4)", body=ApplyIn, response=Created, tags=["activities"], status=201)
async def playbooks_apply(request: web.Request, user: User, playbook_id: int, body: ApplyIn):
    from services import playbooks

    tasks, notices = await playbooks.do_apply_playbook(user, playbook_id, body.client_id,
                                                       source=request_source(request))
    await after_change(request, notices)
    return Created(items=await agenda_items([(t, t.starts_at, False) for t in tasks]))


@api.route("POST", "/activities/{activity_id}/decisions", summary="A meeting's decisions "
           "become tasks (K-11)", body=DecisionsIn, response=Created, tags=["activities"],
           status=201)
async def decisions(request: web.Request, user: User, activity_id: int, body: DecisionsIn):
    from services import playbooks

    tasks, notices = await playbooks.do_record_decisions(
        user, activity_id, [d.model_dump(exclude_none=True) for d in body.decisions],
        source=request_source(request))
    await after_change(request, notices)
    return Created(items=await agenda_items([(t, t.starts_at, False) for t in tasks]))
