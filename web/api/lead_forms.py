"""/api/v1/lead-forms and /api/v1/attribution (K-10): the lead form designer's
operations (admins and heads) and a client's, lead's or deal's first and last touch,
read and set by hand. The rules are services.lead_forms' and services.attribution's."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from models.marketing import LeadForm
from services import attribution, lead_forms
from services.errors import NotFound
from web.api.deal_schemas import ID
from web.api.routes import api

TAGS = ["lead forms"]
FIELD = Literal["name", "phone", "email", "company", "region", "message", "promo"]
assert set(FIELD.__args__) == set(lead_forms.FIELDS)


class RouteIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_id: int = Field(**ID, description="an item of the regions dictionary")
    user_id: int = Field(**ID, description="who gets the leads from that region")


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=200)
    intro: str | None = Field(default=None, max_length=2000)
    thanks: str | None = Field(default=None, max_length=2000)
    language: Literal["ru", "uk", "en"] = "ru"
    shown: list[FIELD] = Field(max_length=10, description="the fields the page asks")
    required: list[FIELD] = Field(default_factory=list, max_length=10)
    assign_mode: Literal["round_robin", "region", "person"] = "round_robin"
    department_id: int | None = Field(default=None, **ID)
    person_id: int | None = Field(default=None, **ID)
    routes: list[RouteIO] = Field(default_factory=list, max_length=200)


class FormNew(FormIn):
    variant_id: int = Field(**ID)


class FormPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=200)
    intro: str | None = Field(default=None, max_length=2000)
    thanks: str | None = Field(default=None, max_length=2000)
    language: Literal["ru", "uk", "en"] | None = None
    shown: list[FIELD] | None = Field(default=None, max_length=10)
    required: list[FIELD] | None = Field(default=None, max_length=10)
    assign_mode: Literal["round_robin", "region", "person"] | None = None
    department_id: int | None = Field(default=None, **ID)
    person_id: int | None = Field(default=None, **ID)
    routes: list[RouteIO] | None = Field(default=None, max_length=200)
    active: bool | None = None


class FieldOut(BaseModel):
    name: str
    required: bool


class FormOut(BaseModel):
    id: int
    variant_id: int
    token: str
    form_url: str = Field(description="the public page, /f/<token>")
    link_url: str = Field(description="the variant's tracked link, /go/<token>")
    title: str
    intro: str | None
    thanks: str | None
    language: str
    fields: list[FieldOut]
    assign_mode: str
    department_id: int | None
    person_id: int | None
    routes: list[RouteIO]
    active: bool
    archived_at: datetime | None


class FormList(BaseModel):
    items: list[FormOut]


class FormsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: int = Field(**ID)
    archived: bool = False


class TouchOut(BaseModel):
    campaign_id: int
    campaign: str
    variant_id: int | None
    variant: str | None
    via: str = Field(description="ad_source, link, form, promo, manual, mailing")
    at: datetime
    by: str | None


class TouchesOut(BaseModel):
    first: TouchOut | None
    last: TouchOut | None


class TouchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant_id: int | None = Field(default=None, **ID, description="none: clear it")


KIND = {"client": "c", "lead": "a", "deal": "d"}


def _subject(subject: str) -> None:
    if subject not in KIND:
        raise NotFound("subject")


async def _out(request: web.Request, form: LeadForm) -> FormOut:
    from web.lead_pages import _origin

    origin = _origin(request)
    return FormOut(
        id=form.id, variant_id=form.variant_id, token=form.token,
        form_url=f"{origin}/f/{form.token}", link_url=f"{origin}/go/{form.variant.link_token}",
        title=form.title, intro=form.intro, thanks=form.thanks, language=form.language,
        fields=[FieldOut(name=f["name"], required=bool(f.get("required")))
                for f in lead_forms.spec_of(form)],
        assign_mode=str(form.assign_mode.value if hasattr(form.assign_mode, "value")
                        else form.assign_mode),
        department_id=form.department_id, person_id=form.person_id,
        routes=[RouteIO(region_id=r.region_id, user_id=r.user_id)
                for r in await lead_forms.routes_of(form.id)],
        active=form.active, archived_at=form.archived_at)


def _data(body: BaseModel) -> dict:
    data = body.model_dump(exclude_unset=True)
    if "routes" in data and data["routes"] is not None:
        data["routes"] = [dict(r) for r in data["routes"]]
    data.pop("variant_id", None)
    return data


@api.route("GET", "/lead-forms", summary="The lead forms of a campaign's variants "
           "(admins and heads)", query=FormsQuery, response=FormList, tags=TAGS)
async def lead_form_list(request: web.Request, user: User, query: FormsQuery):
    forms = await lead_forms.forms_of_campaign(user, query.campaign_id,
                                               archived=query.archived)
    return FormList(items=[await _out(request, f) for f in forms])


@api.route("POST", "/lead-forms", summary="Make a lead form for a campaign variant",
           body=FormNew, response=FormOut, tags=TAGS, status=201)
async def lead_form_create(request: web.Request, user: User, body: FormNew):
    data = _data(body)
    data.setdefault("shown", [])
    form = await lead_forms.create_form(user, body.variant_id, data)
    return await _out(request, form)


@api.route("GET", "/lead-forms/{form_id}", summary="A lead form", response=FormOut,
           tags=TAGS)
async def lead_form_get(request: web.Request, user: User, form_id: int):
    return await _out(request, await lead_forms.get_form(user, form_id))


@api.route("PATCH", "/lead-forms/{form_id}", summary="Change a lead form (only the "
           "fields given)", body=FormPatch, response=FormOut, tags=TAGS)
async def lead_form_patch(request: web.Request, user: User, form_id: int, body: FormPatch):
    return await _out(request, await lead_forms.update_form(user, form_id, _data(body)))


@api.route("POST", "/lead-forms/{form_id}/archive", summary="Archive a lead form (its "
           "page says it is closed)", response=FormOut, tags=TAGS)
async def lead_form_archive(request: web.Request, user: User, form_id: int):
    return await _out(request, await lead_forms.archive_form(user, form_id, True))


@api.route("POST", "/lead-forms/{form_id}/restore", summary="Restore an archived lead form",
           response=FormOut, tags=TAGS)
async def lead_form_restore(request: web.Request, user: User, form_id: int):
    return await _out(request, await lead_forms.archive_form(user, form_id, False))


@api.route("DELETE", "/lead-forms/{form_id}", summary="Delete a lead form that has had "
           "no lead", tags=TAGS, status=204)
async def lead_form_delete(request: web.Request, user: User, form_id: int):
    await lead_forms.delete_form(user, form_id)
    return web.Response(status=204)


def _touches_out(got: dict) -> TouchesOut:
    def one(t):
        return None if t is None else TouchOut(
            campaign_id=t.campaign_id, campaign=t.campaign, variant_id=t.variant_id,
            variant=t.variant, via=t.via, at=t.at, by=t.by)
    return TouchesOut(first=one(got["first"]), last=one(got["last"]))


@api.route("GET", "/attribution/{subject}/{object_id}", summary="The first and last "
           "touch of a client, a lead (an inbound request) or a deal", response=TouchesOut,
           tags=TAGS)
async def attribution_get(request: web.Request, user: User, subject: str, object_id: int):
    _subject(subject)
    await attribution._subject_client(user, KIND[subject], object_id)  # noqa: SLF001
    return _touches_out(await attribution.touches(KIND[subject], object_id))


@api.route("PUT", "/attribution/{subject}/{object_id}/{touch}", summary="Set or clear the "
           "first or last touch by hand (the client's manager, heads, admins)",
           body=TouchIn, response=TouchesOut, tags=TAGS)
async def attribution_put(request: web.Request, user: User, subject: str, object_id: int,
                          touch: str, body: TouchIn):
    _subject(subject)
    return _touches_out(await attribution.do_set_touch(user, KIND[subject], object_id, touch,
                                                       body.variant_id))
