"""/api/v1/scenario-templates and /api/v1/campaigns/{id}/steps (M-8): scenario
templates (admins and heads write them), a campaign's steps (admins, heads and the
campaign's owner change them), applying a template and "make tasks" (each step one
task, once). The rules are services.scenarios' and services.campaign_steps'."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import campaign_steps as steps_svc
from services import scenarios as tpl_svc
from web.api.activities import after_change
from web.api.deal_schemas import ID
from web.api.routes import api
from web.session import request_source

TAGS = ["scenarios"]
KIND = Field(default="other", max_length=10,
             description="prepare, launch, follow_up, measure or other")


class TemplateStepIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = KIND
    title: str = Field(max_length=300)
    offset_days: int | str = Field(default=0, description="days from the campaign's start; "
                                   "negative: before it")
    department_id: int | str | None = Field(default=None, description="who does it: the "
                                            "department's head gets the task")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    steps: list[TemplateStepIO] = Field(max_length=tpl_svc.MAX_STEPS)


class TemplateOut(BaseModel):
    id: int
    name: str
    description: str | None
    archived: bool
    steps: list[TemplateStepIO]


class TemplateList(BaseModel):
    items: list[TemplateOut]


class ArchivedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = False


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = True


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = KIND
    title: str = Field(max_length=300)
    due_on: date | str
    executor_id: int | str | None = Field(default=None, description="a person; or")
    department_id: int | str | None = Field(default=None, description="a department (its "
                                            "head)")


class StepPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str | None = Field(default=None, max_length=10)
    title: str | None = Field(default=None, max_length=300)
    due_on: date | str | None = None
    executor_id: int | str | None = None
    department_id: int | str | None = None


class StepOut(BaseModel):
    id: int
    campaign_id: int
    kind: str
    title: str
    due_on: date
    executor_id: int | None
    department_id: int | None
    assignee_id: int | None = Field(description="who has (or would get) the task")
    assignee: str | None
    activity_id: int | None
    task_state: str | None


class StepList(BaseModel):
    items: list[StepOut]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: int = Field(**ID)


class ReorderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step_ids: list[int] = Field(max_length=steps_svc.MAX_STEPS)


class TaskOut(BaseModel):
    id: int
    title: str
    starts_at: datetime | None


class TasksMade(BaseModel):
    items: list[TaskOut]


def _template_out(t) -> TemplateOut:
    return TemplateOut(id=t.id, name=t.name, description=t.description, archived=t.archived,
                       steps=[TemplateStepIO(kind=str(s.kind), title=s.title,
                                             offset_days=s.offset_days,
                                             department_id=s.department_id)
                              for s in tpl_svc.sorted_steps(t)])


async def _one_template(user: User, template_id: int) -> TemplateOut:
    t = await tpl_svc.get_template(user, template_id, with_steps=True)
    return _template_out(t)


@api.route("GET", "/scenario-templates", summary="Campaign scenario templates (M-8)",
           query=ArchivedQuery, response=TemplateList, tags=TAGS)
async def templates_list(request: web.Request, user: User, query: ArchivedQuery):
    items = await tpl_svc.list_templates(user, archived=query.archived)
    return TemplateList(items=[_template_out(t) for t in items])


@api.route("POST", "/scenario-templates", summary="Write a scenario template (admins and "
           "heads)", body=TemplateIn, response=TemplateOut, tags=TAGS, status=201)
async def templates_create(request: web.Request, user: User, body: TemplateIn):
    t = await tpl_svc.do_create_template(user, body.name,
                                         [s.model_dump() for s in body.steps],
                                         body.description)
    return await _one_template(user, t.id)


@api.route("GET", "/scenario-templates/{template_id}", summary="A scenario template",
           response=TemplateOut, tags=TAGS)
async def templates_get(request: web.Request, user: User, template_id: int):
    return await _one_template(user, template_id)


@api.route("PUT", "/scenario-templates/{template_id}", summary="Rename a template and "
           "replace its steps", body=TemplateIn, response=TemplateOut, tags=TAGS)
async def templates_put(request: web.Request, user: User, template_id: int,
                        body: TemplateIn):
    await tpl_svc.do_update_template(user, template_id, body.name,
                                     [s.model_dump() for s in body.steps], body.description)
    return await _one_template(user, template_id)


@api.route("POST", "/scenario-templates/{template_id}/archive", summary="Archive (or "
           "bring back) a template", body=ArchiveIn, response=TemplateOut, tags=TAGS)
async def templates_archive(request: web.Request, user: User, template_id: int,
                            body: ArchiveIn):
    await tpl_svc.do_archive_template(user, template_id, body.archived)
    return await _one_template(user, template_id)


@api.route("DELETE", "/scenario-templates/{template_id}", summary="Delete a template (the "
           "steps made from it stay)", tags=TAGS, status=204)
async def templates_delete(request: web.Request, user: User, template_id: int):
    await tpl_svc.do_delete_template(user, template_id)
    return None


async def _steps(user: User, campaign_id: int) -> StepList:
    campaign = await steps_svc.get_campaign(user, campaign_id)
    return StepList(items=[StepOut(
        id=v.step.id, campaign_id=v.step.campaign_id, kind=str(v.step.kind),
        title=v.step.title, due_on=v.step.due_on, executor_id=v.step.executor_id,
        department_id=v.step.department_id,
        assignee_id=v.assignee.id if v.assignee else None,
        assignee=v.assignee.full_name if v.assignee else None,
        activity_id=v.step.activity_id, task_state=v.task_state)
        for v in await steps_svc.step_views(user, campaign)])


@api.route("GET", "/campaigns/{campaign_id}/steps", summary="A campaign's scenario steps "
           "(M-8)", response=StepList, tags=TAGS)
async def steps_list(request: web.Request, user: User, campaign_id: int):
    return await _steps(user, campaign_id)


@api.route("POST", "/campaigns/{campaign_id}/steps", summary="Add a step", body=StepIn,
           response=StepList, tags=TAGS, status=201)
async def steps_add(request: web.Request, user: User, campaign_id: int, body: StepIn):
    await steps_svc.do_add_step(user, campaign_id, body.model_dump())
    return await _steps(user, campaign_id)


@api.route("PATCH", "/campaigns/{campaign_id}/steps/{step_id}", summary="Change a step "
           "(its open task follows)", body=StepPatch, response=StepList, tags=TAGS)
async def steps_patch(request: web.Request, user: User, campaign_id: int, step_id: int,
                      body: StepPatch):
    await _own_step(user, campaign_id, step_id)
    _step, notices = await steps_svc.do_update_step(
        user, step_id, body.model_dump(exclude_unset=True), source=request_source(request))
    await after_change(request, notices)
    return await _steps(user, campaign_id)


@api.route("DELETE", "/campaigns/{campaign_id}/steps/{step_id}", summary="Delete a step "
           "(its open task is cancelled)", response=StepList, tags=TAGS)
async def steps_delete(request: web.Request, user: User, campaign_id: int, step_id: int):
    await _own_step(user, campaign_id, step_id)
    notices = await steps_svc.do_delete_step(user, step_id, source=request_source(request))
    await after_change(request, notices)
    return await _steps(user, campaign_id)


async def _own_step(user: User, campaign_id: int, step_id: int) -> None:
    from services.errors import NotFound

    if not any(s.id == step_id for s in await steps_svc.steps_of(user, campaign_id)):
        raise NotFound("campaign step")


@api.route("PUT", "/campaigns/{campaign_id}/steps/order", summary="Set the steps' order",
           body=ReorderIn, response=StepList, tags=TAGS)
async def steps_order(request: web.Request, user: User, campaign_id: int, body: ReorderIn):
    await steps_svc.do_reorder_steps(user, campaign_id, body.step_ids)
    return await _steps(user, campaign_id)


@api.route("POST", "/campaigns/{campaign_id}/steps/apply", summary="Copy a template's "
           "steps (those not there yet)", body=ApplyIn, response=StepList, tags=TAGS)
async def steps_apply(request: web.Request, user: User, campaign_id: int, body: ApplyIn):
    await steps_svc.do_apply_template(user, campaign_id, body.template_id)
    return await _steps(user, campaign_id)


@api.route("POST", "/campaigns/{campaign_id}/steps/tasks", summary="Make tasks: each step "
           "without a task becomes one task (once)", response=TasksMade, tags=TAGS)
async def steps_tasks(request: web.Request, user: User, campaign_id: int):
    tasks, notices = await steps_svc.do_make_tasks(user, campaign_id,
                                                   source=request_source(request))
    await after_change(request, notices)
    return TasksMade(items=[TaskOut(id=t.id, title=t.title, starts_at=t.starts_at)
                            for t in tasks])
