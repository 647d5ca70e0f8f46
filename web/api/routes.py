"""The /api/v1 operations. Handlers parse, call a service, render."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from models import Role, User
from services import auth as auth_service
from services import staff as staff_service
from services.errors import N_, PermissionDenied
from services.permissions import Action, can
from services.staff import invite_link
from web.api.framework import Api, said
from web.api.schemas import (
    AuthOut,
    DepartmentIn,
    DepartmentList,
    DepartmentOut,
    InviteIn,
    InviteOut,
    MeOut,
    StaffList,
    StaffOut,
    StaffPatch,
    StaffQuery,
    WebAppAuthIn,
)
from web.keys import BOT_INFO_KEY, SETTINGS_KEY
from web.session import COOKIE, guess_lang, set_session_cookie

api = Api()

log = logging.getLogger("kontakt.web.auth")
INIT_DATA_REFUSED = N_("the Telegram sign-in is not valid or too old; open the app from the bot "
                       "again")
NOT_STAFF = N_("you are not registered as staff; ask your administrator for an invite")


def verify_init_data(token: str, init_data: str, max_age_s: int, now: float | None = None):
    """Telegram Mini App initData: signature (aiogram) and age. Raises ValueError."""
    data = safe_parse_webapp_init_data(token, init_data)
    age = (now or time.time()) - data.auth_date.timestamp()
    if age > max_age_s:
        raise ValueError("init data is too old")
    if age < -60:
        raise ValueError("init data is from the future")
    if data.user is None:
        raise ValueError("init data has no user")
    if not 0 < data.user.id < 2**63:  # what Telegram can send, and a database can hold
        raise ValueError("the user id is out of range")
    return data


@api.route("POST", "/auth/webapp", summary="Exchange Mini App initData for a session cookie",
           body=WebAppAuthIn, response=AuthOut, auth=False, tags=["auth"])
async def auth_webapp(request: web.Request, body: WebAppAuthIn):
    settings = request.app[SETTINGS_KEY]
    try:
        data = verify_init_data(settings.bot_token.get_secret_value(), body.init_data,
                                settings.webapp_auth_max_age_s)
    except ValueError as exc:
        log.info("Mini App sign-in refused: %s", exc)
        return said(401, INIT_DATA_REFUSED, guess_lang(request))
    try:
        user, raw = await auth_service.do_login_telegram_user(data.user.id)
    except PermissionDenied:
        return said(403, NOT_STAFF, guess_lang(request))
    user = await staff_service.get_staff(user, user.id)
    resp = web.Response(text=AuthOut(user=StaffOut.of(user)).model_dump_json(),
                        content_type="application/json")
    set_session_cookie(resp, raw, secure=settings.base_url.startswith("https://"))
    return resp


@api.route("POST", "/auth/logout", summary="End this browser session", auth=False,
           tags=["auth"])
async def auth_logout(request: web.Request):
    await auth_service.do_logout(request.cookies.get(COOKIE))
    resp = web.json_response({"ok": True})
    resp.del_cookie(COOKIE, path="/")
    return resp


@api.route("GET", "/me", summary="The signed-in staff member and what they may do",
           response=MeOut, tags=["staff"])
async def me(request: web.Request, user: User):
    user = await staff_service.get_staff(user, user.id)
    perms = {a.value: await can(user, a) for a in
             (Action.VIEW_DISMISSED, Action.CHANGE_ROLE, Action.DISMISS,
              Action.MANAGE_DEPARTMENTS)}
    perms["invite"] = any([await can(user, Action.INVITE, (r, user.department_id))
                           for r in Role])
    return MeOut(user=StaffOut.of(user), permissions=perms)


@api.route("GET", "/staff", summary="Staff directory (S-24), by name, searched and paged",
           query=StaffQuery, response=StaffList, tags=["staff"])
async def staff_list(request: web.Request, user: User, query: StaffQuery):
    people, total = await staff_service.staff_page(
        user, query=query.q, include_dismissed=query.include_dismissed, page=query.page,
        per_page=query.per_page, node_id=query.node_id)
    return StaffList(items=[StaffOut.of(p) for p in people], total=total)


@api.route("GET", "/staff/{user_id}", summary="One staff member", response=StaffOut,
           tags=["staff"])
async def staff_get(request: web.Request, user: User, user_id: int):
    return StaffOut.of(await staff_service.get_staff(user, user_id))


@api.route("PATCH", "/staff/{user_id}", summary="Change role, department or supervisor",
           body=StaffPatch, response=StaffOut, tags=["staff"])
async def staff_patch(request: web.Request, user: User, user_id: int, body: StaffPatch):
    changes = body.model_dump(include=body.model_fields_set)
    await staff_service.do_update_staff(user, user_id, changes=changes)
    return StaffOut.of(await staff_service.get_staff(user, user_id))


@api.route("POST", "/staff/{user_id}/dismiss", summary="Dismiss: access ends at once",
           response=StaffOut, tags=["staff"])
async def staff_dismiss(request: web.Request, user: User, user_id: int):
    await staff_service.do_dismiss(user, user_id)
    return StaffOut.of(await staff_service.get_staff(user, user_id))


@api.route("POST", "/invites", summary="Create a single-use invite link", body=InviteIn,
           response=InviteOut, tags=["staff"], status=201)
async def invite_create(request: web.Request, user: User, body: InviteIn):
    result = await staff_service.do_create_invite(
        user, role=Role(body.role), department_id=body.department_id,
        ttl=timedelta(hours=body.hours))
    username = request.app[BOT_INFO_KEY].username
    return InviteOut(link=invite_link(username, result.code), role=body.role,
                     department_id=body.department_id, expires_at=result.invite.expires_at)


@api.route("GET", "/departments", summary="Departments (a tree by parent_id)",
           response=DepartmentList, tags=["staff"])
async def departments(request: web.Request, user: User):
    items = await staff_service.list_departments()
    return DepartmentList(items=[DepartmentOut(id=d.id, name=d.name, parent_id=d.parent_id)
                                 for d in items])


@api.route("POST", "/departments", summary="Create a department", body=DepartmentIn,
           response=DepartmentOut, tags=["staff"], status=201)
async def department_create(request: web.Request, user: User, body: DepartmentIn):
    d = await staff_service.do_create_department(user, body.name, body.parent_id)
    return DepartmentOut(id=d.id, name=d.name, parent_id=d.parent_id)
