"""Request and response models of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models import User

MAX_ID = 2**31 - 1


class StaffOut(BaseModel):
    id: int
    full_name: str
    role: Literal["admin", "head", "manager"]
    status: Literal["active", "dismissed"]
    language: Literal["ru", "uk", "en"]
    timezone: str
    position: str | None = None
    department_id: int | None = None
    department: str | None = None
    supervisor_id: int | None = None
    supervisor: str | None = None
    phone: str | None = None
    email: str | None = None
    telegram_username: str | None = None

    @classmethod
    def of(cls, u: User) -> StaffOut:
        # callers pass users fetched with department, position and supervisor
        dept = u.department if u.department_id else None
        return cls(
            id=u.id, full_name=u.full_name, role=str(u.role), status=str(u.status),
            language=str(u.language), timezone=u.timezone,
            position=u.position.name if u.position_id and u.position else None,
            department_id=u.department_id, department=dept.name if dept else None,
            supervisor_id=u.supervisor_id,
            supervisor=u.supervisor.full_name if u.supervisor_id and u.supervisor else None,
            phone=u.phone, email=u.email, telegram_username=u.telegram_username,
        )


class StaffList(BaseModel):
    items: list[StaffOut]
    total: int = Field(description="everyone the search finds; page with page and per_page")


class StaffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_dismissed: bool = False
    q: str | None = Field(default=None, max_length=200,
                          description="name, username, phone or email (every word)")
    node_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="a staff group with its subgroups (S-25)")
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=100, ge=1, le=500)


class StaffPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "head", "manager"] | None = None
    department_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="0 clears it")
    supervisor_id: int | None = Field(default=None, ge=0, le=MAX_ID, description="0 clears it")


class MeOut(BaseModel):
    user: StaffOut
    permissions: dict[str, bool]


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "head", "manager"]
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    hours: int = Field(default=72, ge=1, le=720)


class InviteOut(BaseModel):
    link: str
    role: str
    department_id: int | None
    expires_at: datetime


class DepartmentOut(BaseModel):
    id: int
    name: str
    parent_id: int | None


class DepartmentList(BaseModel):
    items: list[DepartmentOut]


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class WebAppAuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    init_data: str = Field(min_length=1, max_length=8192)


class AuthOut(BaseModel):
    user: StaffOut
