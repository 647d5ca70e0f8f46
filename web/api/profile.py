"""/api/v1 profiles (S-24): name, position, phone, email, time zone, photo."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from notifications.telegram import deliver_handover
from services import handover as handover_svc
from services import profile as svc
from services import staff as staff_service
from services.storage import StorageUnavailable
from web.api.framework import MAX_ID, storage_down
from web.api.routes import api
from web.api.schemas import StaffOut
from web.keys import BOT_KEY, FILES_KEY, I18N_KEY
from web.session import request_source


class ProfilePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str | None = Field(default=None, max_length=200)
    position: str | None = Field(default=None, max_length=200, description="a name; empty clears")
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    timezone: str | None = Field(default=None, max_length=64)


@api.route("PATCH", "/staff/{user_id}/profile", summary="Change a profile (S-24): one's own, "
           "an admin anyone's, a head their managers'", body=ProfilePatch, response=StaffOut,
           tags=["staff"])
async def profile_patch(request: web.Request, user: User, user_id: int, body: ProfilePatch):
    changes = body.model_dump(include=body.model_fields_set)
    region = "UA" if str(user.language) == "uk" else "RU"
    await svc.do_update_profile(user, user_id, changes, region=region,
                                source=request_source(request))
    return StaffOut.of(await staff_service.get_staff(user, user_id))


@api.route("DELETE", "/staff/{user_id}/photo", summary="Remove a profile photo",
           response=StaffOut, tags=["staff"])
async def photo_delete(request: web.Request, user: User, user_id: int):
    await svc.do_remove_photo(user, user_id, request.app[FILES_KEY],
                              source=request_source(request))
    return StaffOut.of(await staff_service.get_staff(user, user_id))


class HandOverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user_id: int = Field(ge=1, le=MAX_ID, description="the successor: an active person")
    with_work: bool = Field(default=True, description="also hand over the person's open "
                            "deals (as owner) and open tasks (as assignee)")


class HandOverOut(BaseModel):
    moved: int = Field(description="how many clients were handed over")
    deals: int = Field(description="how many open deals were handed over")
    tasks: int = Field(description="how many open tasks were handed over")


@api.route("POST", "/staff/{user_id}/hand-over", summary="Hand over all current clients of "
           "a person to another, and their open deals and tasks unless with_work is false "
           "(A-5): admins anyone's, heads their departments'",
           body=HandOverIn, response=HandOverOut, tags=["staff"])
async def hand_over(request: web.Request, user: User, user_id: int, body: HandOverIn):
    result = await handover_svc.do_hand_over(user, user_id, body.to_user_id,
                                             with_work=body.with_work,
                                             source=request_source(request))
    # after the commit: tell the successor in Telegram
    await deliver_handover(request.app[BOT_KEY], request.app[I18N_KEY], result.notices)
    return HandOverOut(moved=result.count, deals=result.deals, tasks=result.tasks)


def _user_id(request: web.Request) -> int | None:
    raw = request.match_info["user_id"]
    return int(raw) if raw.isdigit() and int(raw) <= MAX_ID else None


async def photo_upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/staff/{user_id}/photo (multipart, field "file")."""
    from services.errors import DomainError, PermissionDenied, ValidationFailed
    from web.api.framework import NO_RIGHT, not_found, read_upload, refusal, said

    user_id = _user_id(request)
    got = await read_upload(request, svc.PHOTO_MAX, lambda _user, lang: None
                            if user_id is not None else not_found("person", lang))
    if isinstance(got, web.Response):
        return got
    user, lang, _name, content = got
    try:
        await svc.do_set_photo(user, user_id, content, request.app[FILES_KEY],
                               source=request_source(request))
    except StorageUnavailable as exc:
        return storage_down(exc, lang)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    except PermissionDenied:
        return said(403, NO_RIGHT, lang)
    except DomainError:
        return not_found("person", lang)
    return web.json_response({"ok": True}, status=201)


async def photo_get(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/staff/{user_id}/photo: the picture, to colleagues only."""
    from services.errors import NotFound
    from web.api.framework import SIGN_IN_FIRST, not_found, said
    from web.session import current_user, guess_lang

    user = await current_user(request)
    if user is None:
        return said(401, SIGN_IN_FIRST, guess_lang(request))
    lang = str(user.language)
    user_id = _user_id(request)
    try:
        found = await svc.photo_of(user, user_id) if user_id else None
    except NotFound:
        found = None
    if found is None:
        return not_found("photo", lang)
    key, mime = found
    try:
        content = await request.app[FILES_KEY].read(key)
    except StorageUnavailable as exc:
        return storage_down(exc, lang)
    except (FileNotFoundError, NotFound):
        return not_found("photo", lang)
    return web.Response(body=content, content_type=mime,
                        headers={"Cache-Control": "private, max-age=86400"})
