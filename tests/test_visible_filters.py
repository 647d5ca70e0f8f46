"""What a person sees through their clients (A-3), read as a filter, never as a subquery
of every client sorted by name (issue 17): a client's relations (U-3), a search's
"a colleague's client" (S-1), the recent clients of My day (S-20) and the orders list
(S-17) — the same for a manager, a head and an admin, archived clients left out."""

from __future__ import annotations

import re

from models import Client, Department, Role
from services import activities as act_svc
from services import clients as client_svc
from services import duplicates, links, managers, myday
from services import order_editing as editing
from services.clock import utcnow
from tests.querycount import counted

# a subquery that sorts: "(SELECT ... ORDER BY ...)" with no bracket between
SORTED_SUBQUERY = re.compile(r"\(\s*SELECT[^()]*ORDER BY", re.IGNORECASE)


async def test_a3_relations_recent_clients_and_search_through_a_filter(database_url,
                                                                     make_staff):
    sales = await Department.create(name="Sales")
    other = await Department.create(name="Other")
    ivan = await make_staff(Role.MANAGER, name="Ivan Petrov", department=sales)
    olga = await make_staff(Role.MANAGER, name="Olga Smirnova", department=other)
    head = await make_staff(Role.HEAD, department=sales)
    admin = await make_staff(Role.ADMIN)

    async def client(owner, name):
        return (await client_svc.do_create_client(owner, {"name": name})).client

    mine, friend = await client(ivan, "Mine"), await client(ivan, "Friend")
    handed, gone = await client(ivan, "Handed"), await client(ivan, "Gone Partner")
    hidden = await client(olga, "Hidden Partner")
    await links.do_link(admin, mine.id, friend.id, "partner_of")
    await links.do_link(admin, friend.id, mine.id, "supplier_of")
    await links.do_link(admin, mine.id, hidden.id, "partner_of")
    await links.do_link(admin, hidden.id, mine.id, "dealer_of")
    await links.do_link(admin, mine.id, gone.id, "partner_of")
    for who, whose in ((ivan, mine), (ivan, handed), (ivan, gone), (admin, hidden),
                       (admin, gone)):
        await act_svc.do_create_activity(who, {"title": "Call", "client_id": whose.id})
    await managers.do_assign_manager(admin, handed.id, olga.id)
    await managers.do_unassign_manager(admin, handed.id, ivan.id)
    await Client.filter(id=gone.id).update(archived_at=utcnow())

    with counted() as queries:
        seen = {who.id: {(v.direction, v.other_id) for v in await links.links_of(who, mine.id)}
                for who in (ivan, head, admin)}
        recent = {who.id: [c.name for c in await myday.recent_clients(who)]
                  for who in (ivan, admin)}
        colleagues = {who.id: [(m.name, m.managers)
                               for m in await duplicates.hidden_matches(who, "Partner")]
                      for who in (ivan, olga, admin)}
        orders = [await editing.list_orders(who) for who in (ivan, admin)]
    assert seen[ivan.id] == seen[head.id] == {("out", friend.id), ("in", friend.id)}
    assert seen[admin.id] == {("out", friend.id), ("in", friend.id), ("out", hidden.id),
                              ("in", hidden.id)}  # not the archived one
    assert recent[ivan.id] == ["Mine", "Friend"]  # handed over, archived: gone; then his
    assert recent[admin.id] == ["Hidden Partner"]
    assert colleagues == {ivan.id: [("Hidden Partner", ["Olga Smirnova"])], olga.id: [],
                          admin.id: []}
    assert orders == [[], []]
    sorted_subqueries = [s for s in queries.statements if SORTED_SUBQUERY.search(s)]
    assert not sorted_subqueries, "\n".join(s[:300] for s in sorted_subqueries)
