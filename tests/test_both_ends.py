"""Every change checks the rights on both ends, and nothing hidden is shown by the
back door (issue 18): a shared segment on a confidential field is not a manager's
to see or use; a relation to a client one cannot see cannot be removed (and the
history does not name that client); a head names supervisors only from their
departments."""

from __future__ import annotations

import pytest

from models import AuditLog, ClientLink, Department, Role
from services import clients as client_svc
from services import customfields, links, segments
from services import staff as staff_svc
from services.errors import NotFound, PermissionDenied

RULES = {"match": "all", "conditions": [{"field": "cf:salary", "op": "ge", "value": "100000"}]}


async def test_a_segment_on_a_confidential_field_is_hidden_from_a_manager(database_url,
                                                                           make_staff):
    admin = await make_staff(Role.ADMIN)
    head = await make_staff(Role.HEAD)
    ivan = await make_staff(Role.MANAGER)
    await customfields.do_create_field(admin, "client", "salary", "Оклад", "number",
                                       confidential=True)
    rich = (await client_svc.do_create_client(admin, {"name": "Rich"})).client
    await customfields.do_set_values(admin, "client", rich.id, {"salary": 250000})
    secret = await segments.do_save_segment(admin, "Rich ones", RULES, shared=True)
    plain = await segments.do_save_segment(admin, "Everyone", {"conditions": []}, shared=True)
    # the admin and a head (who may see confidential fields) have it
    assert {s.id for s in await segments.list_segments(head)} == {secret.id, plain.id}
    assert await segments.count_members(head, secret.id) >= 0
    # a manager neither sees it, nor reads its rules, nor counts its members
    assert [s.id for s in await segments.list_segments(ivan)] == [plain.id]
    with pytest.raises(NotFound):
        await segments.get_segment(ivan, secret.id)
    with pytest.raises(NotFound):
        await segments.members(ivan, secret.id)
    # nor can they ask the question through rules of their own
    with pytest.raises(segments.ValidationFailed):
        await segments.members(ivan, RULES)
    # nested in a group, the same
    nested = await segments.do_save_segment(
        admin, "Nested", {"match": "any", "conditions": [
            {"field": "name", "op": "contains", "value": "R"},
            {"match": "all", "conditions": RULES["conditions"]}]}, shared=True)
    assert nested.id not in {s.id for s in await segments.list_segments(ivan)}


async def test_a_relation_to_a_hidden_client_cannot_be_removed(database_url, make_staff):
    sales = await Department.create(name="Sales")
    other_dep = await Department.create(name="Other")
    ivan = await make_staff(Role.MANAGER, department=sales)
    olga = await make_staff(Role.MANAGER, department=other_dep)
    head = await make_staff(Role.HEAD, department=sales)
    mine = (await client_svc.do_create_client(ivan, {"name": "Mine"})).client
    hidden = (await client_svc.do_create_client(olga, {"name": "Olga's Secret"})).client
    admin = await make_staff(Role.ADMIN)
    link = await links.do_link(admin, mine.id, hidden.id, "partner_of")
    # Ivan sees his client, not Olga's: the relation is not there for him
    assert await links.links_of(ivan, mine.id) == []
    with pytest.raises(NotFound):
        await links.do_unlink(ivan, link.id)
    assert await ClientLink.exists(id=link.id)
    history = await AuditLog.filter(client_id=mine.id, entity="link").values_list(
        "old_value", flat=True)
    assert not any("Secret" in (v or "") for v in history)
    # someone who sees both ends removes it; both clients' histories say so
    await links.do_unlink(admin, link.id)
    assert not await ClientLink.exists(id=link.id)
    assert await AuditLog.filter(client_id=hidden.id, entity="link", action="delete").exists()
    assert await AuditLog.filter(client_id=mine.id, entity="link", action="delete").exists()
    assert head  # (a head of Sales does not see Other's clients either)


async def test_a_head_names_supervisors_only_from_their_departments(database_url,
                                                                    make_staff):
    sales = await Department.create(name="Sales")
    sub = await Department.create(name="Sales North", parent=sales)
    other = await Department.create(name="Support")
    head = await make_staff(Role.HEAD, department=sales)
    ivan = await make_staff(Role.MANAGER, department=sub)
    petr = await make_staff(Role.MANAGER, department=sub)
    stranger = await make_staff(Role.HEAD, department=other)
    outsider = await make_staff(Role.MANAGER, department=other)
    # within the head's departments, and the head themselves: yes
    await staff_svc.do_change_supervisor(head, ivan.id, petr.id)
    await staff_svc.do_change_supervisor(head, ivan.id, head.id)
    # someone of another department: no, and nothing changes
    for boss in (stranger, outsider):
        with pytest.raises(PermissionDenied):
            await staff_svc.do_change_supervisor(head, ivan.id, boss.id)
    await ivan.refresh_from_db()
    assert ivan.supervisor_id == head.id
    # through the combined update too
    with pytest.raises(PermissionDenied):
        await staff_svc.do_update_staff(head, ivan.id, changes={"supervisor_id": stranger.id})
    # an admin may
    admin = await make_staff(Role.ADMIN)
    await staff_svc.do_change_supervisor(admin, ivan.id, stranger.id)
