"""M-8 over the JSON API: /api/v1/scenario-templates, /api/v1/campaigns/{id}/steps
(apply, make tasks once, the executor told, edit, delete) and /api/v1/suppliers (mark,
services with bad input named, figures, a manager refused); the pages answer."""

from __future__ import annotations

from datetime import timedelta

from models import Activity, Campaign, CampaignCost, Department, Role, User
from tests.conftest import TEST_NOW, say, wait_until
from tests.test_web import signed_in


def _known(emulator, *people):
    for p in people:
        emulator.add_user(p.telegram_id, p.full_name, None, username=f"u{p.telegram_id}",
                          language_code="en")


async def test_m8_api_templates_steps_and_tasks(service, emulator):
    """M-8: a head writes a template, applies it twice (copied once), makes tasks twice
    (made once; the executor is told in Telegram); a manager may not write templates."""
    dept = await Department.create(name="Marketing")
    head = await User.create(full_name="Hanna Head", telegram_id=9101, role=Role.HEAD,
                             department=dept, language="en")
    ivan = await User.create(full_name="Ivan Doer", telegram_id=9102, department=dept,
                             language="en")
    _known(emulator, head, ivan)
    campaign = await Campaign.create(name="Autumn", starts_on=TEST_NOW.date() +
                                     timedelta(days=10), owner=head)
    c = service.client
    await signed_in(service, emulator, ivan)
    refused = await c.post("/api/v1/scenario-templates", json={
        "name": "Mine", "steps": [{"title": "x"}]})
    assert refused.status == 403
    await signed_in(service, emulator, head)
    bad = await c.post("/api/v1/scenario-templates", json={
        "name": "Launch", "steps": [{"title": "Brief", "offset_days": "soon"}]})
    assert bad.status == 422 and "steps.1.offset_days" in await bad.text()
    made = await c.post("/api/v1/scenario-templates", json={
        "name": "Launch", "steps": [
            {"kind": "prepare", "title": "Brief", "offset_days": -3,
             "department_id": str(dept.id)},
            {"kind": "launch", "title": "Go", "offset_days": "0"}]})
    assert made.status == 201, await made.text()
    tid = (await made.json())["id"]
    for _ in range(2):
        applied = await c.post(f"/api/v1/campaigns/{campaign.id}/steps/apply",
                               json={"template_id": tid})
        assert applied.status == 200
    items = (await applied.json())["items"]
    assert [(s["title"], s["due_on"], s["assignee"]) for s in items] == [
        ("Brief", str(campaign.starts_on - timedelta(days=3)), "Hanna Head"),
        ("Go", str(campaign.starts_on), "Hanna Head")]
    go = items[1]["id"]
    patched = await c.patch(f"/api/v1/campaigns/{campaign.id}/steps/{go}",
                            json={"executor_id": ivan.id})
    assert patched.status == 200
    bad = await c.patch(f"/api/v1/campaigns/{campaign.id}/steps/{go}", json={"due_on": "x"})
    assert bad.status == 422 and "due_on" in await bad.text()
    first = await c.post(f"/api/v1/campaigns/{campaign.id}/steps/tasks")
    assert first.status == 200 and len((await first.json())["items"]) == 2
    again = await c.post(f"/api/v1/campaigns/{campaign.id}/steps/tasks")
    assert (await again.json())["items"] == []
    assert await Activity.filter(title__startswith="Autumn:").count() == 2
    await wait_until(lambda: any(
        "Autumn: Go" in str(p.get("text")) and int(p.get("chat_id")) == ivan.telegram_id
        for p in emulator.calls_of("sendMessage")))
    gone = await c.delete(f"/api/v1/campaigns/{campaign.id}/steps/{go}")
    assert gone.status == 200 and len((await gone.json())["items"]) == 1
    task = await Activity.get(title="Autumn: Go")
    assert str(task.state) == "cancelled"
    listed = await (await c.get("/api/v1/scenario-templates")).json()
    assert [t["name"] for t in listed["items"]] == ["Launch"]
    page = await c.get(f"/app/campaigns/{campaign.id}/steps")
    assert page.status == 200 and "Brief" in await page.text()
    assert (await c.get("/app/scenarios")).status == 200
    assert (await c.get("/app/campaigns/999999/steps")).status == 404


async def test_m8_api_suppliers(service, emulator):
    """M-8: an admin marks a new supplier, adds a service (bad price named), reads the
    figures; a manager reads but may not change; the pages answer."""
    admin = await User.create(full_name="Ada Admin", telegram_id=9201, role=Role.ADMIN,
                              language="en")
    manager = await User.create(full_name="Max Manager", telegram_id=9202, language="en")
    _known(emulator, admin, manager)
    c = service.client
    await signed_in(service, emulator, admin)
    made = await c.post("/api/v1/suppliers", json={"name": "Print House"})
    assert made.status == 201, await made.text()
    sid = (await made.json())["client_id"]
    bad = await c.post(f"/api/v1/suppliers/{sid}/services", json={"name": "Flyers",
                                                                   "price": "lots"})
    assert bad.status == 422 and "price" in await bad.text()
    ok = await c.post(f"/api/v1/suppliers/{sid}/services", json={
        "name": "Flyers", "price": "1 200,50", "currency": "RUB", "agreed_on": "",
        "valid_until": "2026-12-31"})
    assert ok.status == 201 and (await ok.json())["price"] == "1200.50"
    svc_id = (await ok.json())["id"]
    archived = await c.patch(f"/api/v1/suppliers/services/{svc_id}", json={"archived": True})
    assert (await archived.json())["archived"] is True
    campaign = await Campaign.create(name="Winter", starts_on=TEST_NOW.date())
    await CampaignCost.create(campaign=campaign, item="Flyers", planned="1000",
                              actual="1200.50", supplier_id=sid)
    figures = await (await c.get(f"/api/v1/suppliers/{sid}/figures")).json()
    assert figures["campaigns"][0]["actual"] == "1200.50"
    assert figures["campaigns"][0]["per_contact"] is None
    listed = await (await c.get("/api/v1/suppliers?q=print")).json()
    assert listed["total"] == 1
    page = await c.get(f"/app/suppliers/{sid}")
    assert page.status == 200 and "Print House" in await page.text()
    card = await c.get(f"/app/clients/{sid}")
    assert "client-supplier-link" in await card.text()
    assert (await c.get("/app/suppliers")).status == 200
    await signed_in(service, emulator, manager)
    assert (await c.post(f"/api/v1/suppliers/{sid}/services",
                         json={"name": "x"})).status in (403, 404)
    assert (await c.delete(f"/api/v1/suppliers/{sid}")).status in (403, 404)


async def test_m8_bot_suppliers_command(service, emulator, make_staff):
    """M-8: /suppliers with part of a name shows the supplier's services and prices and
    an Open button; an unknown name says so."""
    from services import suppliers as svc

    admin = await make_staff(Role.ADMIN, name="Ada Admin", language="en")
    role = await svc.do_create_supplier(admin, {"name": "Media <Plus>"})
    await svc.do_add_service(admin, role.client_id, {"name": "Billboard", "unit": "month",
                                                     "price": "45000", "currency": "RUB",
                                                     "valid_until": "2026-12-31"})
    await say(emulator, admin.telegram_id, "/menu")
    reply = await say(emulator, admin.telegram_id, "/suppliers media")
    assert "Media <Plus>" in reply["text"]  # escaped in HTML, read back as typed
    assert "Billboard" in reply["text"] and "45" in reply["text"] and "31.12.2026" in reply[
        "text"]
    none = await say(emulator, admin.telegram_id, "/suppliers zzz")
    assert "zzz" in none["text"]


def test_m8_campaign_steps_partial_renders_for_the_campaign_card():
    """M-8: the campaign card includes ``_campaign_steps.html`` with ``campaign`` in its
    context: it links to the steps page and reads the steps from the API."""
    from pathlib import Path
    from types import SimpleNamespace

    import jinja2

    here = Path(__file__).resolve().parents[1] / "web" / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(here),
                             autoescape=jinja2.select_autoescape(["html"]))
    card = env.from_string('<main>{% include "_campaign_steps.html" ignore missing %}</main>')
    html = card.render(campaign=SimpleNamespace(id=7, name="Spring <sale>"),
                       _=lambda s, **kw: s.format(**kw) if kw else s)
    assert 'href="/app/campaigns/7/steps"' in html
    assert "/api/v1/campaigns/7/steps" in html and "campaign-steps-list" in html
