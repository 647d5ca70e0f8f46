"""Lists that grow, over the JSON API (issue 17): a search pages and counts every
match in SQL, within the list's filters; mailings, a client's history and a
segment's members take limit and offset and say how many there are; the client
export follows the same filters as the list; page sizes out of bounds are refused
with a readable 422."""

from __future__ import annotations

import csv
import io

import pytest

from models import AuditLog, Role
from services import clients as client_svc
from services import mailings, messaging, segments
from tests.test_web import signed_in


async def _lutiks(owner, n: int, **data):
    return [(await client_svc.do_create_client(owner, {"name": f"Lutik {i:02}", **data})).client
            for i in range(1, n + 1)]


async def test_a_search_pages_with_a_true_total(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await _lutiks(ivan, 23)
    await client_svc.do_create_client(ivan, {"name": "Romashka"})
    await signed_in(service, emulator, ivan)
    c = service.client
    first = await (await c.get("/api/v1/clients?q=lutik&per_page=10")).json()
    assert (first["total"], first["page"], first["per_page"]) == (23, 1, 10)
    assert [x["name"] for x in first["items"]] == [f"Lutik {i:02}" for i in range(1, 11)]
    last = await (await c.get("/api/v1/clients?q=lutik&per_page=10&page=3")).json()
    assert last["total"] == 23 and [x["name"] for x in last["items"]] == [
        "Lutik 21", "Lutik 22", "Lutik 23"]
    past = await (await c.get("/api/v1/clients?q=lutik&per_page=10&page=4")).json()
    assert past["total"] == 23 and past["items"] == []
    # the sort is kept with a search
    desc = await (await c.get("/api/v1/clients?q=lutik&per_page=2&sort=-name")).json()
    assert [x["name"] for x in desc["items"]] == ["Lutik 23", "Lutik 22"]
    # a typo still finds, and counts what it finds
    typo = await (await c.get("/api/v1/clients?q=lutek&per_page=5")).json()
    assert typo["total"] == 23 and len(typo["items"]) == 5
    # no search: every client one sees
    everyone = await (await c.get("/api/v1/clients?per_page=5")).json()
    assert everyone["total"] == 24


async def test_filters_combine_with_a_search(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await _lutiks(ivan, 4, list_type="counterparty")
    await _lutiks(ivan, 3, list_type="partner")
    await client_svc.do_create_client(ivan, {"name": "Romashka", "list_type": "counterparty"})
    seg = await segments.do_save_segment(ivan, "Counterparties", {
        "match": "all", "conditions": [{"field": "list_type", "op": "eq",
                                        "value": "counterparty"}]})
    await signed_in(service, emulator, ivan)
    c = service.client
    listed = await (await c.get("/api/v1/clients?q=lutik&list_type=partner")).json()
    assert listed["total"] == 3
    listed = await (await c.get(f"/api/v1/clients?q=lutik&segment_id={seg.id}")).json()
    assert listed["total"] == 4
    listed = await (await c.get(f"/api/v1/clients?segment_id={seg.id}")).json()
    assert listed["total"] == 5
    resp = await c.get("/api/v1/clients?segment_id=999999")
    assert resp.status == 404 and "segment" in (await resp.json())["detail"]
    # the export follows the same filters, by the Mini App's names or the API's
    for query in (f"segment={seg.id}&q=lutik", f"segment_id={seg.id}&q=lutik",
                  "list_type=partner&q=lutik", "list=partner&q=lutik"):
        resp = await c.get(f"/api/v1/clients/export?format=csv&{query}")
        assert resp.status == 200, query
        rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")),
                               delimiter=";"))
        assert len(rows) - 1 == (4 if "segment" in query else 3), query
    resp = await c.get("/api/v1/clients/export?format=csv&segment=999999")
    assert resp.status == 404 and "segment" in (await resp.json())["detail"]


async def test_mailings_history_and_members_take_limit_and_offset(service, emulator,
                                                                  make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    lutiks = await _lutiks(admin, 12, email="a@lutik.ru")
    template = await messaging.do_save_template(admin, {"name": "News", "subject": "News",
                                                        "body": "Our news."})
    for n in range(7):
        await mailings.do_create_mailing(admin, name=f"Mailing {n}", template_id=template.id,
                                         client_ids=[c.id for c in lutiks[:n + 1]])
    client = lutiks[0]
    for n in range(30):
        await client_svc.do_update_client(admin, client.id, {"notes": f"note {n}"})
    everyone = await segments.do_save_segment(admin, "Everyone", {"conditions": []})
    await signed_in(service, emulator, admin)
    c = service.client
    page = await (await c.get("/api/v1/mailings?limit=3&offset=3")).json()
    assert page["total"] == 7
    assert [m["name"] for m in page["items"]] == ["Mailing 3", "Mailing 2", "Mailing 1"]
    assert [m["pending"] for m in page["items"]] == [4, 3, 2]
    default = await (await c.get("/api/v1/mailings")).json()
    assert len(default["items"]) == 7
    total = await AuditLog.filter(client_id=client.id).count()
    history = await (await c.get(f"/api/v1/clients/{client.id}/history?limit=10")).json()
    assert history["total"] == total and len(history["items"]) == 10
    assert history["items"][0]["new_value"] == "note 29"
    older = await (await c.get(
        f"/api/v1/clients/{client.id}/history?limit=10&offset=10")).json()
    assert older["items"][0]["new_value"] == "note 19"
    members = await (await c.get(
        f"/api/v1/segments/{everyone.id}/members?limit=5&offset=10")).json()
    assert members["total"] == 12
    assert [m["name"] for m in members["items"]] == ["Lutik 11", "Lutik 12"]


async def test_mailings_list_needs_the_right_to_send(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    resp = await service.client.get("/api/v1/mailings")
    assert resp.status == 403


@pytest.mark.parametrize("path", ["/api/v1/mailings", "/api/v1/clients/{client}/history",
                                  "/api/v1/segments/{segment}/members"])
async def test_page_bounds_are_refused_readably(service, emulator, make_staff, path):
    admin = await make_staff(Role.ADMIN, language="en")
    client = (await client_svc.do_create_client(admin, {"name": "Lutik"})).client
    seg = await segments.do_save_segment(admin, "Everyone", {"conditions": []})
    await signed_in(service, emulator, admin)
    url = path.format(client=client.id, segment=seg.id)
    for query, message in (("limit=0", "must be at least 1"),
                           ("limit=10000", "must be at most"),
                           ("offset=-1", "must be at least 0"),
                           ("limit=ten", "")):
        resp = await service.client.get(f"{url}?{query}")
        assert resp.status == 422, (url, query)
        item = (await resp.json())["detail"][0]
        name = query.split("=")[0]
        assert item["loc"] == ["query", name] and message in item["msg"], item
        assert item["field"] == {"limit": "page size", "offset": "how many to skip"}[name]


async def test_client_page_bounds_are_refused_readably(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    for query in ("per_page=0", "per_page=10000", "page=0", "page=-1", "sort=phone",
                  "list_type=other", "segment_id=0"):
        resp = await service.client.get(f"/api/v1/clients?q=lutik&{query}")
        assert resp.status == 422, query
        item = (await resp.json())["detail"][0]
        assert item["loc"] == ["query", query.split("=")[0]] and item["msg"], item


async def test_staff_directory_is_searched_and_paged(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en", name="Aaron Admin")
    for n in range(12):
        await make_staff(Role.MANAGER, language="en", name=f"Worker {n:02}")
    await signed_in(service, emulator, admin)
    c = service.client
    page = await (await c.get("/api/v1/staff?per_page=5&page=3")).json()
    assert page["total"] == 13
    assert [p["full_name"] for p in page["items"]] == ["Worker 09", "Worker 10", "Worker 11"]
    found = await (await c.get("/api/v1/staff?q=WORKER&per_page=5&page=3")).json()
    assert found["total"] == 12 and [p["full_name"] for p in found["items"]] == [
        "Worker 10", "Worker 11"]
    for query in ("per_page=0", "per_page=10000", "page=0"):
        assert (await c.get(f"/api/v1/staff?{query}")).status == 422, query
