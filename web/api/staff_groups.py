"""/api/v1 staff classifications (S-24; issue 15's S-25): the staff tree and the groups
a person is in. Rename, move and delete a staff group with PATCH/DELETE
/classifier/{node_id} like any classifier node."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from models import User
from services import classifier, staff_groups
from web.api.framework import MAX_ID
from web.api.routes import api
from web.session import request_source


class GroupOut(BaseModel):
    id: int
    name: str
    parent_id: int | None


class GroupList(BaseModel):
    items: list[GroupOut]


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class GroupsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    node_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=200, description="every group the person is in")


def _out(nodes) -> GroupList:
    return GroupList(items=[GroupOut(id=n.id, name=n.name, parent_id=n.parent_id)
                            for n in nodes])


@api.route("GET", "/staff-groups", summary="The staff classifier tree (S-25)",
           response=GroupList, tags=["staff"])
async def groups_list(request: web.Request, user: User):
    return _out(await classifier.list_nodes("staff"))


@api.route("POST", "/staff-groups", summary="Add a staff group (admins)", body=GroupIn,
           response=GroupOut, tags=["staff"], status=201)
async def groups_create(request: web.Request, user: User, body: GroupIn):
    n = await classifier.do_create_node(user, body.name, body.parent_id, entity="staff",
                                        source=request_source(request))
    return GroupOut(id=n.id, name=n.name, parent_id=n.parent_id)


@api.route("GET", "/staff/{user_id}/groups", summary="The staff groups a person is in "
           "(admins anyone's, heads their people's, everyone their own)", response=GroupList,
           tags=["staff"])
async def person_groups(request: web.Request, user: User, user_id: int):
    return _out(await staff_groups.person_groups(user, user_id))


@api.route("PUT", "/staff/{user_id}/groups", summary="Set the staff groups a person is in "
           "(admins; heads for their people)", body=GroupsIn, response=GroupList,
           tags=["staff"])
async def person_groups_set(request: web.Request, user: User, user_id: int, body: GroupsIn):
    return _out(await staff_groups.do_set_groups(user, user_id, body.node_ids,
                                                 source=request_source(request)))


@api.route("PUT", "/staff/{user_id}/groups/{node_id}", summary="Put a person into a "
           "staff group", tags=["staff"])
async def person_group_add(request: web.Request, user: User, user_id: int, node_id: int):
    return {"added": await staff_groups.do_place(user, user_id, node_id,
                                                 source=request_source(request))}


@api.route("DELETE", "/staff/{user_id}/groups/{node_id}", summary="Take a person out of a "
           "staff group", tags=["staff"])
async def person_group_remove(request: web.Request, user: User, user_id: int, node_id: int):
    return {"removed": await staff_groups.do_remove(user, user_id, node_id,
                                                    source=request_source(request))}
