"""/api/v1/activities: the organizer over JSON (S-12..S-21, A-6..A-10, K-11, K-17, M-13).

Every change is made by a ``do_*`` of services.activities; after the commit the
people concerned are told in Telegram (S-18) and the reminder loop is woken."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kontakt.history import history_line
from kontakt.i18n import translator
from models import Activity, ActivityType, User
from notifications.activities import deliver_activity_notices
from services import activities as svc
from services.errors import N_, ValidationFailed
from web.api.framework import MAX_ID
from web.api.routes import api
from web.keys import BOT_KEY, CALENDAR_KEY, I18N_KEY, REMINDERS_KEY
from web.session import request_source

PRIORITY = Literal["low", "normal", "high", "critical"]


class TypeOut(BaseModel):
    id: int
    code: str | None
    name: str
    kind: str
    icon: str
    form_fields: list[str]


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    type: str = Field(default="task", max_length=32, description="a type code")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    all_day: bool | None = Field(default=None, description="a whole day (to ends_at's day)")
    duration_min: int | None = Field(default=None, ge=1, le=60 * 24 * 31)
    priority: PRIORITY = "normal"
    client_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    product_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    assignees: list[int] | None = Field(default=None, min_length=1, max_length=20)
    reminders: list[int] | None = Field(default=None, max_length=5,
                                        description="minutes before the start")
    goal: str | None = Field(default=None, max_length=20000)
    location: str | None = Field(default=None, max_length=400)
    agenda: str | None = Field(default=None, max_length=20000)
    rrule: str | None = Field(default=None, max_length=500)
    done: bool = False
    result: str | None = Field(default=None, max_length=20000)
    client_notice_hours: int | None = Field(default=None, ge=1, le=168,
                                            description="A-18: tell the client N hours before")
    client_notice_template_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ActivityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    type: str | None = Field(default=None, max_length=32)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    all_day: bool | None = None
    duration_min: int | None = Field(default=None, ge=1, le=60 * 24 * 31)
    priority: PRIORITY | None = None
    percent: int | None = Field(default=None, ge=0, le=100)
    client_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="0 clears")
    contact_id: int | None = Field(default=None, ge=0, le=MAX_ID)
    category_id: int | None = Field(default=None, ge=0, le=MAX_ID)
    product_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="0 clears")
    rrule: str | None = Field(default=None, max_length=500,
                              description="RFC 5545 rule; empty stops the repeating")
    assignees: list[int] | None = Field(default=None, min_length=1, max_length=20)
    reminders: list[int] | None = Field(default=None, max_length=5)
    goal: str | None = Field(default=None, max_length=20000)
    result: str | None = Field(default=None, max_length=20000)
    location: str | None = Field(default=None, max_length=400)
    agenda: str | None = Field(default=None, max_length=20000)
    minutes: str | None = Field(default=None, max_length=20000)
    client_notice_hours: int | None = Field(default=None, ge=1, le=168)
    client_notice_template_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str | None = Field(default=None, max_length=20000)


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["planned", "postponed", "cancelled"]


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class Ref(BaseModel):
    id: int
    name: str


class AgendaItemOut(BaseModel):
    id: int
    title: str
    kind: str
    type: TypeOut
    colour: str | None
    priority: str
    state: str
    overdue: bool
    start: datetime | None
    end: datetime | None
    duration_min: int | None
    recurring: bool
    all_day: bool = False
    percent: int
    client: Ref | None
    assignees: list[Ref]


class AgendaOut(BaseModel):
    items: list[AgendaItemOut]
    person_id: int


class HistoryRow(BaseModel):
    at: datetime
    user: str | None
    source: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    text: str = Field(description="The entry as the person reads it: their language, "
                                  "their time zone")


class CommentOut(BaseModel):
    id: int
    author: str
    text: str
    source: str
    created_at: datetime


class ActivityOut(AgendaItemOut):
    goal: str | None
    result: str | None
    location: str | None
    agenda: str | None
    minutes: str | None
    rrule: str | None
    contact_id: int | None
    category_id: int | None
    product_id: int | None = None
    verified_by: str | None
    verified_at: datetime | None
    reminders: list[int]
    history: list[HistoryRow]
    comments: list[CommentOut]
    may_verify: bool
    documents: list[Ref]
    client_notice_hours: int | None
    client_notice_template_id: int | None = None
    client_messages: list[dict[str, str | None]]


class AgendaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: AwareDatetime
    end: AwareDatetime
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    type: str | None = Field(default=None, max_length=32)
    client_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    state: Literal["planned", "done", "postponed", "cancelled", "rescheduled"] | None = None
    priority: PRIORITY | None = None


class OverdueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PeopleOut(BaseModel):
    items: list[Ref]


def _source(request: web.Request) -> str:
    return request_source(request)


async def after_change(request: web.Request, notices: list[svc.Notice],
                       activity_id: int | None = None, user: User | None = None,
                       event: str | None = None) -> None:
    """After the commit: wake the reminder loop, tell people in Telegram, and let the
    task's topic follow the change (K-2)."""
    reminders = request.app.get(REMINDERS_KEY)
    if reminders is not None:
        reminders.poke()
    calendar = request.app.get(CALENDAR_KEY)
    if calendar is not None:
        calendar.poke()  # K-1: the assignees' calendars follow now, not at the next tick
    if notices:
        await deliver_activity_notices(request.app[BOT_KEY], request.app[I18N_KEY], notices)
    if activity_id is not None:
        from notifications.discussions import topic_after

        await topic_after(request.app[BOT_KEY], request.app[I18N_KEY], activity_id, user,
                          event)


def type_out(t: ActivityType, gettext=None) -> TypeOut:
    from kontakt.labels import type_name

    name = type_name(t.code, t.name, gettext) if gettext else t.name
    return TypeOut(id=t.id, code=t.code, name=name, kind=str(t.kind), icon=t.icon,
                   form_fields=list(t.form_fields or []))


async def agenda_items(pairs: list[tuple[Activity, datetime | None, bool]]
                       ) -> list[AgendaItemOut]:
    details = await svc.list_details([a for a, _s, _o in pairs])
    assigned, names, clients = details.assignees, details.names, details.clients
    out = []
    for a, start, overdue in pairs:
        end = None
        if start is not None:
            if a.ends_at and a.starts_at:
                end = start + (a.ends_at - a.starts_at)
            elif a.duration_min:
                end = start + timedelta(minutes=a.duration_min)
        out.append(AgendaItemOut(
            id=a.id, title=a.title, kind=str(a.kind), type=type_out(details.types[a.type_id]),
            colour=details.colours.get(a.category_id), priority=str(a.priority), state=str(a.state),
            overdue=overdue, start=start, end=end, duration_min=a.duration_min,
            recurring=bool(a.rrule), all_day=a.all_day, percent=a.percent,
            client=Ref(id=a.client_id, name=clients[a.client_id]) if a.client_id in clients
            else None,
            assignees=[Ref(id=u, name=names.get(u, "")) for u in assigned.get(a.id, [])]))
    return out


async def _detail(user: User, activity_id: int) -> ActivityOut:
    from services import documents as doc_service
    from services.messaging import activity_messages
    from services.staff import get_by_id

    a = await svc.get_activity(user, activity_id)
    gettext = translator(str(user.language))
    item = (await agenda_items([(a, a.starts_at, svc.is_overdue(a))]))[0]
    history = await svc.history(user, a.id)
    comments = await svc.comments(user, a.id)
    verifier = await get_by_id(a.verified_by_id) if a.verified_by_id else None
    leads = await svc.reminder_leads(a.id)
    may_verify = await svc.may_verify(user, a, [r.id for r in item.assignees])
    files = await doc_service.activity_documents(user, a.id)
    sent = await activity_messages(a.id)
    return ActivityOut(
        client_notice_hours=a.client_notice_hours,
        client_notice_template_id=a.client_notice_template_id,
        client_messages=[{"channel": str(m["channel"]), "to": m["to_address"],
                          "state": str(m["state"]), "error": m["last_error"]} for m in sent],
        **item.model_dump(), documents=[Ref(id=d.id, name=d.filename) for d in files],
        goal=a.goal, result=a.result, location=a.location,
        agenda=a.agenda, minutes=a.minutes, rrule=a.rrule, contact_id=a.contact_id,
        category_id=a.category_id, product_id=a.product_id,
        verified_by=verifier.full_name if verifier else None,
        verified_at=a.verified_at, reminders=leads, may_verify=may_verify,
        history=[HistoryRow(at=r.at, user=r.user.full_name if r.user else None,
                            source=r.source, action=r.action, field=r.field,
                            old_value=r.old_value, new_value=r.new_value,
                            text=history_line(r, gettext, user.timezone)) for r in history],
        comments=[CommentOut(id=c.id, author=c.author_name, text=c.text, source=c.source,
                             created_at=c.created_at) for c in comments])


@api.route("GET", "/activities", summary="The agenda of a period, recurring ones expanded "
           "(S-19, S-20, K-17)", query=AgendaQuery, response=AgendaOut, tags=["activities"])
async def agenda(request: web.Request, user: User, query: AgendaQuery):
    if query.end <= query.start or query.end - query.start > timedelta(days=62):
        raise ValidationFailed("end", N_("after the start, at most 62 days later"))
    person = query.person_id or user.id
    filters = svc.Filters(type_code=query.type, client_id=query.client_id, state=query.state,
                          priority=query.priority)
    found = await svc.agenda(user, query.start, query.end, person_id=person, filters=filters)
    return AgendaOut(items=await agenda_items([(i.activity, i.start, i.overdue) for i in found]),
                     person_id=person)


@api.route("GET", "/activities/overdue", summary="Open activities past their time (S-15)",
           query=OverdueQuery, response=AgendaOut, tags=["activities"])
async def overdue(request: web.Request, user: User, query: OverdueQuery):
    person = query.person_id or user.id
    found = await svc.overdue(user, person_id=person)
    return AgendaOut(items=await agenda_items([(a, a.starts_at, True) for a in found]),
                     person_id=person)


@api.route("GET", "/calendar-people", summary="Whose calendars one may open (S-20)",
           response=PeopleOut, tags=["activities"])
async def people(request: web.Request, user: User):
    return PeopleOut(items=[Ref(id=i, name=n) for i, n in await svc.calendar_people(user)])


@api.route("GET", "/assignable-people", summary="Whom one may make an assignee (S-14)",
           response=PeopleOut, tags=["activities"])
async def assignable(request: web.Request, user: User):
    return PeopleOut(items=[Ref(id=p.id, name=p.full_name)
                            for p in await svc.assignable_people(user)])


@api.route("POST", "/activities", summary="Create an activity (S-12..S-16, A-6..A-8)",
           body=ActivityIn, response=ActivityOut, tags=["activities"], status=201)
async def create(request: web.Request, user: User, body: ActivityIn):
    data = body.model_dump(exclude_none=True)
    result = await svc.do_create_activity(user, data, source=_source(request))
    await after_change(request, result.notices)
    return await _detail(user, result.activity.id)


@api.route("GET", "/activities/{activity_id}", summary="One activity with its history and "
           "comments", response=ActivityOut, tags=["activities"])
async def get_one(request: web.Request, user: User, activity_id: int):
    return await _detail(user, activity_id)


@api.route("PATCH", "/activities/{activity_id}", summary="Change, move (S-13) or reassign",
           body=ActivityPatch, response=ActivityOut, tags=["activities"])
async def patch(request: web.Request, user: User, activity_id: int, body: ActivityPatch):
    changes = body.model_dump(include=body.model_fields_set)
    for key in ("client_id", "contact_id", "category_id", "product_id"):
        if changes.get(key) == 0:
            changes[key] = None
    if "rrule" in changes and not (changes["rrule"] or "").strip():
        changes["rrule"] = None
    if "title" in changes and not changes["title"]:
        raise ValidationFailed("title", N_("is empty"))
    result = await svc.do_update_activity(user, activity_id, changes, source=_source(request))
    await after_change(request, result.notices, activity_id, user,
                       "rescheduled" if "starts_at" in changes else
                       "assignees" if "assignees" in changes else "changed")
    return await _detail(user, activity_id)


@api.route("POST", "/activities/{activity_id}/complete", summary="Done, with the result",
           body=CompleteIn, response=ActivityOut, tags=["activities"])
async def complete(request: web.Request, user: User, activity_id: int, body: CompleteIn):
    result = await svc.do_complete(user, activity_id, body.result, source=_source(request))
    await after_change(request, result.notices, activity_id, user, "done")
    return await _detail(user, activity_id)


@api.route("POST", "/activities/{activity_id}/state", summary="Postpone, cancel or reopen",
           body=StateIn, response=ActivityOut, tags=["activities"])
async def set_state(request: web.Request, user: User, activity_id: int, body: StateIn):
    result = await svc.do_set_state(user, activity_id, body.state, source=_source(request))
    await after_change(request, result.notices, activity_id, user,
                       {"planned": "reopened"}.get(body.state, body.state))
    return await _detail(user, activity_id)


@api.route("POST", "/activities/{activity_id}/verify", summary="A head checks it (S-21)",
           response=ActivityOut, tags=["activities"])
async def verify(request: web.Request, user: User, activity_id: int):
    result = await svc.do_verify(user, activity_id, source=_source(request))
    await after_change(request, result.notices, activity_id, user, "verified")
    return await _detail(user, activity_id)


@api.route("POST", "/activities/{activity_id}/comments", summary="Comment on it",
           body=CommentIn, response=ActivityOut, tags=["activities"], status=201)
async def comment(request: web.Request, user: User, activity_id: int, body: CommentIn):
    _comment, notices = await svc.do_comment(user, activity_id, body.text,
                                             source=_source(request))
    await after_change(request, notices)
    from notifications.discussions import post_comment

    await post_comment(request.app[BOT_KEY], activity_id, user.full_name, body.text)
    return await _detail(user, activity_id)


class CustomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, object]


class CustomOut(BaseModel):
    values: dict[str, object]


@api.route("GET", "/activities/{activity_id}/custom", summary="An activity's custom values "
           "(S-16; confidential ones absent for those without the right)", response=CustomOut,
           tags=["activities"])
async def custom_get(request: web.Request, user: User, activity_id: int):
    from services import customfields
    from web.api.customization import _jsonable

    values = await customfields.values_for(user, "activity", activity_id)
    return CustomOut(values={k: _jsonable(v) for k, v in values.items()})


@api.route("PUT", "/activities/{activity_id}/custom", summary="Set an activity's custom "
           "values (S-16)", body=CustomIn, response=CustomOut, tags=["activities"])
async def custom_put(request: web.Request, user: User, activity_id: int, body: CustomIn):
    from services import customfields
    from web.api.customization import _jsonable

    values = await customfields.do_set_values(user, "activity", activity_id, body.values,
                                              source=_source(request))
    return CustomOut(values={k: _jsonable(v) for k, v in values.items()})


class OccurrenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    original_start: AwareDatetime
    starts_at: AwareDatetime


@api.route("POST", "/activities/{activity_id}/occurrences", summary="Move one occurrence of "
           "a recurring activity (A-8)", body=OccurrenceIn, response=ActivityOut,
           tags=["activities"], status=201)
async def move_occurrence(request: web.Request, user: User, activity_id: int,
                          body: OccurrenceIn):
    result = await svc.do_move_occurrence(user, activity_id, body.original_start,
                                          body.starts_at, source=_source(request))
    await after_change(request, result.notices)
    return await _detail(user, result.activity.id)


async def document_upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/activities/{activity_id}/documents (multipart, field "file") — S-16."""
    from services import documents
    from web.api.clients import upload_to

    async def attach(user, object_id: int, **kw):
        return await documents.do_attach_to_activity(user, object_id, **kw)

    return await upload_to(request, "activity_id", svc.get_activity, attach, "activity")


class DiscussionOut(BaseModel):
    link: str | None = Field(description="the topic; None without a team forum group "
                             "(comments are relayed in private chats)")
    new: bool
    recreated: bool


@api.route("POST", "/activities/{activity_id}/discussion", summary="Open (or make) the "
           "task's topic in the team's forum group (K-2)", response=DiscussionOut,
           tags=["activities"])
async def discussion(request: web.Request, user: User, activity_id: int):
    from notifications.discussions import open_topic

    i18n = request.app[I18N_KEY]
    opened = await open_topic(request.app[BOT_KEY], i18n, user, activity_id,
                              str(i18n.default_locale))
    return DiscussionOut(link=opened.link, new=opened.new, recreated=opened.recreated)
