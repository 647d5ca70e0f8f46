"""Web pages and JSON API (P-2, P-3): health, OpenAPI, sign-in, validation, roles."""

from __future__ import annotations

import time

import pytest

from kontakt import db as kdb
from models import Role, User
from services import auth as auth_service
from services import staff as staff_service


async def signed_in(service, emulator, user) -> None:
    init = emulator.webapp_init_data(user.telegram_id)
    resp = await service.client.post("/api/v1/auth/webapp", json={"init_data": init})
    assert resp.status == 200, await resp.text()


async def test_health_ok_and_503_when_database_down(service):
    resp = await service.client.get("/health")
    body = await resp.json()
    assert resp.status == 200
    assert body == {"status": "ok", "database": "ok", "scheduler": "running",
                    "bot_mode": "polling"}
    # the database goes away: nothing listens where the service now looks for it
    await kdb.close_db()
    await kdb.init_db("postgres://nobody@127.0.0.1:9/none")
    resp = await service.client.get("/health")
    assert resp.status == 503
    assert (await resp.json())["database"] == "down"


async def test_openapi_document_lists_operations(service):
    resp = await service.client.get("/api/v1/openapi.json")
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/staff" in doc["paths"]
    assert "patch" in doc["paths"]["/api/v1/staff/{user_id}"]
    assert "StaffOut" in doc["components"]["schemas"]


async def test_api_requires_a_session(service):
    resp = await service.client.get("/api/v1/staff")
    assert resp.status == 401
    resp = await service.client.get("/app")
    assert resp.status == 200
    assert 'data-testid="signin"' in await resp.text()


async def test_webapp_sign_in_and_staff_list(service, emulator, make_staff):
    user = await make_staff(Role.MANAGER, name="Ivan Petrov")
    await make_staff(Role.ADMIN, name="Anna Admin")
    await signed_in(service, emulator, user)
    resp = await service.client.get("/api/v1/staff")
    body = await resp.json()
    assert {p["full_name"] for p in body["items"]} == {"Ivan Petrov", "Anna Admin"}
    page = await (await service.client.get("/app/staff")).text()
    assert "Anna Admin" in page and 'data-testid="staff-list"' in page
    assert "Сотрудники" in page  # Ivan's language is Russian


@pytest.mark.parametrize("tamper", ["forged", "stale", "garbage", "empty_user"])
async def test_forged_or_stale_init_data_refused(service, emulator, make_staff, tamper):
    user = await make_staff(Role.ADMIN)
    if tamper == "forged":
        init = emulator.webapp_init_data(user.telegram_id).replace("hash=", "hash=0")
    elif tamper == "stale":
        init = emulator.webapp_init_data(user.telegram_id, auth_date=int(time.time()) - 7200)
    elif tamper == "garbage":
        init = "user=%7B%7D&hash=abc"
    else:  # correctly signed, but nobody in it
        from web.emulator import sign_init_data

        init = sign_init_data(emulator.token, {"auth_date": str(int(time.time())),
                                               "query_id": "AAH-test"})
    resp = await service.client.post("/api/v1/auth/webapp", json={"init_data": init})
    assert resp.status == 401
    assert "kontakt_session" not in resp.cookies
    assert (await service.client.get("/api/v1/me")).status == 401


async def test_init_data_of_a_stranger_refused(service, emulator, new_tg_user):
    tid = new_tg_user()
    resp = await service.client.post("/api/v1/auth/webapp",
                                     json={"init_data": emulator.webapp_init_data(tid)})
    assert resp.status == 403


async def test_validation_errors_are_422_with_fields(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    await signed_in(service, emulator, admin)
    resp = await service.client.post("/api/v1/invites", json={"role": "boss", "hours": 0})
    assert resp.status == 422
    locs = {tuple(d["loc"]) for d in (await resp.json())["detail"]}
    assert ("body", "role") in locs and ("body", "hours") in locs
    resp = await service.client.post("/api/v1/invites", data="{not json",
                                     headers={"Content-Type": "application/json"})
    assert resp.status == 422
    resp = await service.client.get("/api/v1/staff?include_dismissed=maybe")
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["query", "include_dismissed"]
    resp = await service.client.get("/api/v1/staff/abc")
    assert resp.status == 422
    resp = await service.client.patch(f"/api/v1/staff/{admin.id}", json={"supervisor_id": 999})
    assert resp.status == 422
    assert (await resp.json())["detail"][0]["loc"] == ["body", "supervisor"]
    assert (await service.client.get("/health")).status == 200  # still up


async def test_roles_limit_the_api(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    manager = await make_staff(Role.MANAGER)
    other = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, manager)
    assert (await service.client.patch(f"/api/v1/staff/{other.id}",
                                       json={"role": "admin"})).status == 403
    assert (await service.client.post(f"/api/v1/staff/{other.id}/dismiss")).status == 403
    assert (await service.client.post("/api/v1/invites", json={"role": "manager"})).status == 403
    assert (await service.client.get("/api/v1/staff?include_dismissed=true")).status == 403
    me = await (await service.client.get("/api/v1/me")).json()
    assert me["permissions"]["dismiss"] is False
    service.client.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    resp = await service.client.patch(f"/api/v1/staff/{other.id}", json={"role": "head"})
    assert resp.status == 200 and (await resp.json())["role"] == "head"
    resp = await service.client.post("/api/v1/invites", json={"role": "manager"})
    assert resp.status == 201
    assert (await resp.json())["link"].startswith("https://t.me/kontakt_test_bot?start=inv_")
    resp = await service.client.post(f"/api/v1/staff/{manager.id}/dismiss")
    assert (await resp.json())["status"] == "dismissed"


async def test_dismissal_ends_web_sessions(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    manager = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, manager)
    assert (await service.client.get("/api/v1/me")).status == 200
    await staff_service.do_dismiss(admin, manager.id)
    assert (await service.client.get("/api/v1/me")).status == 401


async def test_login_link_from_the_bot_works_once(service, emulator, make_staff):
    from tests.conftest import say

    user = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, user.telegram_id, "/web")
    link = next(w for w in reply["text"].split() if "/login/" in w)
    path = link[link.index("/login/"):]
    # a link preview or scanner fetching it does not use it up
    for _ in range(2):
        page = await service.client.get(path)
        assert page.status == 200 and 'data-testid="login-button"' in await page.text()
    resp = await service.client.post(path, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/app"
    assert (await service.client.get("/api/v1/me")).status == 200
    service.client.session.cookie_jar.clear()
    resp = await service.client.post(path, allow_redirects=False)
    assert resp.status == 403
    assert (await service.client.get("/api/v1/me")).status == 401


async def test_cross_site_requests_refused(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    victim = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, admin)
    evil = {"Origin": "https://evil.example"}
    resp = await service.client.post(f"/api/v1/staff/{victim.id}/dismiss", headers=evil)
    assert resp.status == 403
    resp = await service.client.post(f"/api/v1/staff/{victim.id}/dismiss",
                                     headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403
    resp = await service.client.post("/api/v1/invites", data='{"role": "admin"}',
                                     headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    assert (await User.get(id=victim.id)).is_active
    raw = await auth_service.do_create_login_token(victim)
    resp = await service.client.post(f"/login/{raw}", headers=evil, allow_redirects=False)
    assert resp.status == 403
    same = {"Origin": str(service.client.make_url("")).rstrip("/")}
    resp = await service.client.post(f"/api/v1/staff/{victim.id}/dismiss", headers=same)
    assert resp.status == 200


async def test_huge_ids_are_not_found_not_errors(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    await signed_in(service, emulator, admin)
    assert (await service.client.get("/api/v1/staff/99999999999")).status == 404
    resp = await service.client.patch(f"/api/v1/staff/{admin.id}",
                                      json={"department_id": 99999999999})
    assert resp.status == 422


async def test_patch_is_all_or_nothing(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN)
    person = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, admin)
    resp = await service.client.patch(f"/api/v1/staff/{person.id}",
                                      json={"role": "head", "supervisor_id": person.id})
    assert resp.status == 422
    assert (await User.get(id=person.id)).role == Role.MANAGER


async def test_expired_login_link_refused(service, make_staff):
    from datetime import timedelta

    from models import LoginToken
    from services.clock import utcnow

    user = await make_staff(Role.MANAGER)
    raw = await auth_service.do_create_login_token(user)
    await LoginToken.all().update(expires_at=utcnow() - timedelta(seconds=1))
    resp = await service.client.post(f"/login/{raw}", allow_redirects=False)
    assert resp.status == 403


async def test_logout(service, emulator, make_staff):
    user = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, user)
    assert (await service.client.post("/api/v1/auth/logout")).status == 200
    assert (await service.client.get("/api/v1/me")).status == 401


async def test_the_audit_records_how_the_session_came_not_a_header(service, emulator,
                                                                   make_staff):
    """Issue 18: "from where" is the session's origin (the Mini App's signed initData or
    the bot's one-time link), whatever headers the client sends."""
    from models import AuditLog
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await signed_in(service, emulator, ivan)  # the Mini App
    for headers in ({}, {"Sec-Fetch-Site": "same-origin"}):
        resp = await service.client.patch(f"/api/v1/clients/{client.id}",
                                          json={"notes": f"n{len(headers)}"},
                                          headers={**headers, "Origin": str(
                                              service.client.make_url("")).rstrip("/")})
        assert resp.status == 200, await resp.text()
    sources = await AuditLog.filter(client_id=client.id, field="notes").values_list(
        "source", flat=True)
    assert sources == ["miniapp", "miniapp"]
    # a browser signed in with the bot's /web link
    raw = await auth_service._new_session(ivan, "link")
    service.client.session.cookie_jar.clear()
    resp = await service.client.patch(f"/api/v1/clients/{client.id}", json={"notes": "w"},
                                      cookies={"kontakt_session": raw})
    assert resp.status == 200, await resp.text()
    assert await AuditLog.filter(client_id=client.id, field="notes", new_value="w",
                                 source="web").exists()
