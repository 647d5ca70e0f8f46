"""The due-date reminders' settings over JSON (issue 14: K-6, M-6): read by admins in
the admin page, set by them (services.due_reminder_settings checks the choices)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import due_reminder_settings as svc
from services.permissions import require_admin
from web.api.routes import api


class DueSettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: list[int] = Field(description="days before the due date, of 1, 2, 3, 5, 7, 14")
    after: list[int] = Field(description="days after the due date, of 1, 3, 7, 14, 30")
    clients: bool = Field(description="remind clients too (email or SMS)")
    soon_template: str = Field(max_length=200, description="the template before the date")
    overdue_template: str = Field(max_length=200, description="the template after it")


@api.route("GET", "/settings/due-reminders", summary="When invoices are reminded (admins)",
           response=DueSettingsIO, tags=["settlements"])
async def due_get(request: web.Request, user: User):
    require_admin(user)
    return DueSettingsIO(**(await svc.due_settings()).as_dict())


@api.route("PUT", "/settings/due-reminders", summary="Set when invoices are reminded "
           "(admins)", body=DueSettingsIO, response=DueSettingsIO, tags=["settlements"])
async def due_put(request: web.Request, user: User, body: DueSettingsIO):
    return DueSettingsIO(**(await svc.do_set_due_settings(user, body.model_dump())).as_dict())
