"""The organizer over the JSON API (K-17, M-13, S-19..S-21) and its timed messages:
the morning digest in each person's time zone and overdue escalation to the
supervisor after the admin's delay (S-18), each sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Department, NotificationLog, Role
from notifications.digest import send_digests, send_escalations
from services import activities as svc
from services.clock import utcnow
from tests.conftest import say
from tests.test_web import signed_in


async def test_activities_api_round_trip(service, emulator, make_staff):
    dept = await Department.create(name="Sales")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept)
    head = await make_staff(Role.HEAD, language="en", department=dept)
    other = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    c = service.client
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    # bad input: named fields, nothing saved
    resp = await c.post("/api/v1/activities", json={"title": "x", "starts_at": "2026-12-01T10:00"})
    assert resp.status == 422 and (await resp.json())["detail"][0]["loc"][-1] == "starts_at"
    resp = await c.post("/api/v1/activities", json={
        "title": "x", "starts_at": start.isoformat(),
        "ends_at": (start - timedelta(hours=1)).isoformat()})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "ends_at"]
    resp = await c.post("/api/v1/activities", json={"title": "x", "type": "juggling"})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "type"]
    # create a meeting
    resp = await c.post("/api/v1/activities", json={
        "title": "Presentation at Romashka", "type": "meeting", "starts_at": start.isoformat(),
        "duration_min": 90, "location": "Tverskaya 7", "reminders": [60, 15]})
    assert resp.status == 201, await resp.text()
    a = await resp.json()
    assert a["reminders"] == [15, 60] and a["location"] == "Tverskaya 7"
    assert datetime.fromisoformat(a["end"]) - datetime.fromisoformat(a["start"]) == timedelta(
        minutes=90)
    assert "location" in a["type"]["form_fields"]  # the form depends on the type
    # the agenda of tomorrow has it
    day = svc.day_bounds(start, ivan.timezone)
    resp = await c.get("/api/v1/activities", params={"start": day[0].isoformat(),
                                                     "end": day[1].isoformat()})
    assert [i["title"] for i in (await resp.json())["items"]] == ["Presentation at Romashka"]
    # drag to another time: PATCH the start (S-13)
    later = start + timedelta(hours=3)
    resp = await c.patch(f"/api/v1/activities/{a['id']}", json={"starts_at": later.isoformat()})
    moved = await resp.json()
    assert resp.status == 200, moved
    assert moved["state"] == "rescheduled"
    assert [h["field"] for h in moved["history"] if h["action"] == "reschedule"] == ["starts_at"]
    # done with a result, then the head verifies (S-21)
    resp = await c.post(f"/api/v1/activities/{a['id']}/complete", json={"result": "agreed"})
    assert (await resp.json())["state"] == "done"
    resp = await c.post(f"/api/v1/activities/{a['id']}/verify")
    assert resp.status == 403  # not one's own
    resp = await c.post(f"/api/v1/activities/{a['id']}/comments", json={"text": "nice"})
    assert [x["text"] for x in (await resp.json())["comments"]] == ["nice"]
    # a colleague's calendar: refused for a manager (S-20)
    resp = await c.get("/api/v1/activities/overdue", params={"person_id": str(other.id)})
    assert resp.status == 403
    people = (await (await c.get("/api/v1/calendar-people")).json())["items"]
    assert [p["id"] for p in people] == [ivan.id]
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, head)
    people = {p["id"] for p in (await (await c.get("/api/v1/calendar-people")).json())["items"]}
    assert {ivan.id, head.id} <= people and other.id not in people
    resp = await c.post(f"/api/v1/activities/{a['id']}/verify")
    assert (await resp.json())["verified_by"] == head.full_name
    resp = await c.put("/api/v1/settings/organizer", json={"digest_hour": 9,
                                                          "escalation_hours": 4})
    assert resp.status == 403  # admins only


async def test_morning_digest_in_each_time_zone_once(service, emulator, make_staff):
    moscow = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    kyiv = await make_staff(Role.MANAGER, language="en", timezone="Europe/Kyiv")
    idle = await make_staff(Role.MANAGER, language="en", timezone="Europe/Moscow")
    for person in (moscow, kyiv, idle):
        await say(emulator, person.telegram_id, "/menu")
    at = datetime(2026, 11, 26, 5, 30, tzinfo=UTC)  # 08:30 in Moscow, 07:30 in Kyiv
    for person in (moscow, kyiv):
        await svc.do_create_activity(person, {"title": f"Call for {person.full_name}",
                                              "starts_at": datetime(2026, 11, 26, 10, 0,
                                                                    tzinfo=UTC)})
    due = await svc.due_digests(at)
    assert [d.user.id for d in due] == [moscow.id]  # Kyiv's 8:00 has not come; idle: nothing
    assert await svc.due_digests(at) == []  # claimed once
    assert [d.user.id for d in await svc.due_digests(at + timedelta(hours=1))] == [kyiv.id]
    # an hour later than the digest hour nobody gets a late one
    assert await svc.due_digests(at + timedelta(hours=3)) == []
    # delivered through the bot, once
    from models import Setting

    await NotificationLog.all().delete()
    from zoneinfo import ZoneInfo

    hour = utcnow().astimezone(ZoneInfo("Europe/Moscow")).hour  # the digest hour is now
    await Setting.update_or_create(key=svc.DIGEST_HOUR_KEY, defaults={"value": hour})
    await svc.do_create_activity(moscow, {"title": "Late call",
                                          "starts_at": utcnow() - timedelta(hours=2)})
    sent = await send_digests(service.bot, service.i18n)
    again = await send_digests(service.bot, service.i18n)
    assert again == 0 and sent >= 1
    msgs = [m for m in emulator.bot_messages(moscow.telegram_id)
            if "Good morning" in m.get("text", "")]
    assert len(msgs) == 1 and "Late call" in msgs[0]["text"] and "Overdue" in msgs[0]["text"]
    assert not [m for m in emulator.bot_messages(idle.telegram_id)
                if "Good morning" in m.get("text", "")]


async def test_overdue_escalates_to_the_supervisor_once(service, emulator, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    boss = await make_staff(Role.HEAD, language="en")
    await say(emulator, boss.telegram_id, "/menu")
    ivan = await make_staff(Role.MANAGER, language="en", supervisor=boss, name="Ivan Late")
    a = (await svc.do_create_activity(ivan, {"title": "Send the contract",
                                             "starts_at": utcnow() - timedelta(hours=30)})
         ).activity
    fresh = (await svc.do_create_activity(ivan, {"title": "Fresh",
                                                 "starts_at": utcnow() - timedelta(hours=2)})
             ).activity
    await svc.do_set_organizer_settings(admin, 8, 0)
    assert await send_escalations(service.bot, service.i18n) == 0  # 0: off
    await svc.do_set_organizer_settings(admin, 8, 24)
    assert await send_escalations(service.bot, service.i18n) == 1
    assert await send_escalations(service.bot, service.i18n) == 0
    msg = [m for m in emulator.bot_messages(boss.telegram_id)
           if "Overdue for Ivan Late" in m.get("text", "")]
    assert len(msg) == 1 and "Send the contract" in msg[0]["text"]
    assert fresh.id != a.id


async def test_reports_api_page_and_bot(service, emulator, make_staff):
    """S-27 table, chart image (web and bot), M-14 plans set by a head, M-16 reaction."""
    dept = await Department.create(name="Sales")
    head = await make_staff(Role.HEAD, language="en", department=dept, name="Head Anna")
    ivan = await make_staff(Role.MANAGER, language="en", department=dept, name="Ivan Field")
    for n in range(3):
        await svc.do_create_activity(ivan, {"title": f"Call {n}", "type": "call", "done": True,
                                            "starts_at": utcnow() - timedelta(hours=n + 1)})
    await signed_in(service, emulator, head)
    c = service.client
    period = {"start": (utcnow() - timedelta(days=7)).isoformat(),
              "end": (utcnow() + timedelta(minutes=1)).isoformat()}
    body = await (await c.get("/api/v1/reports/activities", params=period)).json()
    assert [(r["full_name"], r["by_type"]) for r in body["rows"]] == [
        ("Ivan Field", {"call": 3})]
    resp = await c.get("/api/v1/reports/activities.png", params=period)
    assert resp.content_type == "image/png" and (await resp.read()).startswith(b"\x89PNG")
    month = utcnow().date().replace(day=1).isoformat()
    resp = await c.put("/api/v1/plans", json={"user_id": ivan.id, "period": "month",
                                              "period_start": month, "type": "call",
                                              "target": 10})
    assert resp.status == 200, await resp.text()
    resp = await c.put("/api/v1/plans", json={"user_id": ivan.id, "period": "month",
                                              "period_start": month, "type": "call",
                                              "target": -1})
    assert resp.status == 422
    plans = await (await c.get("/api/v1/reports/plans", params={"period_start": month})).json()
    assert [(r["full_name"], r["target"]) for r in plans["rows"]] == [("Ivan Field", 10)]
    page = await c.get("/app/reports")
    text = await page.text()
    assert page.status == 200 and "Ivan Field" in text and "report-chart" in text
    bad = await c.get("/app/reports", params={"from": "2026-12-31", "to": "2026-01-01"})
    assert "report-error" in await bad.text()
    # the same from the bot: a chart image with the table as its caption
    msg = await say(emulator, head.telegram_id, "/stats month")
    assert "Sorry" not in msg.get("text", ""), msg.get("text")
    assert msg.get("photo") and "Ivan Field" in msg.get("caption", "")
    import re

    assert re.search(r"\(Call \d+", msg["caption"])  # the type by name, not "call" (17)
    resp = await c.put("/api/v1/plans/sales", json={"month": month[:7], "cells": [
        {"user_id": ivan.id, "metric": "revenue", "target": "1000"}]})
    assert resp.status == 200, await resp.text()
    plan = await say(emulator, head.telegram_id, "/plan")
    assert "Ivan Field · Call: " in plan["text"] and "/10" in plan["text"]  # S-26, M-14
    assert "Ivan Field · Revenue: 0,00 RUB / 1\u00a0000,00 RUB (0%)" in plan["text"]
    # a manager cannot set plans
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, ivan)
    resp = await c.put("/api/v1/plans", json={"user_id": ivan.id, "period": "month",
                                              "period_start": month, "type": "call",
                                              "target": 1})
    assert resp.status == 403


async def test_admin_extends_types_categories_and_products(service, emulator, make_staff):
    """A-7 editable types and coloured categories, S-12 the basic product catalogue."""
    admin = await make_staff(Role.ADMIN, language="en")
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    c = service.client
    assert (await c.post("/api/v1/activity-types", json={"name": "Demo day"})).status == 403
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, admin)
    resp = await c.post("/api/v1/activity-types", json={"name": "Demo day", "kind": "event",
                                                        "icon": "🎪"})
    assert resp.status == 201
    resp = await c.post("/api/v1/activity-types", json={"name": "Demo day"})
    assert (await resp.json())["detail"][0]["loc"] == ["body", "name"]
    resp = await c.post("/api/v1/activity-categories", json={"name": "Key accounts",
                                                             "colour": "red"})
    assert resp.status == 422
    resp = await c.post("/api/v1/activity-categories", json={"name": "Key accounts",
                                                             "colour": "#E53935"})
    category = await resp.json()
    assert category["colour"] == "#e53935"
    resp = await c.post("/api/v1/products", json={"name": "Cement M500", "code": "C500",
                                                  "unit": "t"})
    product = await resp.json()
    assert (await c.post("/api/v1/products", json={"name": "Other", "code": "C500"})).status \
        == 422
    types = (await (await c.get("/api/v1/activity-types")).json())
    assert "Demo day" in [t["name"] for t in types["types"]]
    resp = await c.post("/api/v1/activities", json={
        "title": "Show the cement", "type": next(str(t["id"]) for t in types["types"]
                                                  if t["name"] == "Demo day"),
        "category_id": category["id"], "product_id": product["id"]})
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert made["type"]["name"] == "Demo day" and made["colour"] == "#e53935"
    page = await c.get("/app/admin")
    assert "Cement M500" in await page.text()
