"""Import and export in the web pages: upload, mapping, dry run, import with progress,
a report by row; export of what one may see (section 1, S-11)."""

from __future__ import annotations

import asyncio

from aiohttp import FormData

from models import Client, Role
from tests.test_web import signed_in

CSV = (
    "Название;Телефон;ИНН\n"
    "ООО Ромашка;+7 916 123-45-67;7707083893\n"
    "ООО Плохой ИНН;+7 916 000-00-01;7707083894\n"
    ";+7 916 000-00-02;\n"
    "ООО Дубль;+7 916 123-45-67;\n"
    "ИП Иванов;8 903 111 22 33;\n"
).encode("cp1251")


async def _wait_done(c, job_id):
    for _ in range(200):
        j = await (await c.get(f"/api/v1/imports/{job_id}")).json()
        if j["status"] != "running":
            return j
        await asyncio.sleep(0.05)
    raise AssertionError("import did not finish")


async def test_upload_check_import_and_export(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    c = service.client
    form = FormData()
    form.add_field("file", CSV, filename="clients.csv", content_type="text/csv")
    resp = await c.post("/api/v1/imports", data=form)
    assert resp.status == 201, await resp.text()
    up = await resp.json()
    assert up["headers"] == ["Название", "Телефон", "ИНН"]
    mapping = up["mapping"]
    assert mapping == {"Название": "name", "Телефон": "phone", "ИНН": "legal.inn"}
    # each field offered in the person's language (ru), never as its code
    assert set(up["labels"]) == set(up["columns"])
    assert (up["labels"]["name"], up["labels"]["legal.inn"],
            up["labels"]["contact.phone"]) == ("Название", "ИНН", "Контактное лицо · Телефон")
    resp = await c.post(f"/api/v1/imports/{up['id']}/run",
                        json={"mapping": mapping, "dry_run": True})
    assert resp.status == 202
    j = await _wait_done(c, up["id"])
    assert j["report"]["dry_run"] and j["report"]["created"] == 2
    assert not await Client.exists()
    rows = {(e["row"], e["field"]) for e in j["report"]["errors"]}
    assert (3, "legal.inn") in rows and (4, "name") in rows and (5, "duplicate") in rows
    await c.post(f"/api/v1/imports/{up['id']}/run", json={"mapping": mapping,
                                                         "dry_run": False})
    j = await _wait_done(c, up["id"])
    assert j["status"] == "done" and j["report"]["created"] == 2
    assert await Client.all().count() == 2
    resp = await c.get("/api/v1/clients/export?format=csv")
    text = (await resp.read()).decode("utf-8-sig")
    assert "ООО Ромашка" in text and "ИП Иванов" in text
    resp = await c.get("/api/v1/clients/export?format=xlsx")
    assert resp.status == 200 and (await resp.read())[:2] == b"PK"
    assert (await c.get("/api/v1/clients/export?format=pdf")).status == 422


async def test_someone_elses_import_and_bad_files(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER)
    olena = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    c = service.client
    form = FormData()
    form.add_field("file", CSV, filename="clients.csv", content_type="text/csv")
    job = (await (await c.post("/api/v1/imports", data=form)).json())["id"]
    bad = FormData()
    bad.add_field("file", b"\x00\x01", filename="photo.png", content_type="image/png")
    assert (await c.post("/api/v1/imports", data=bad)).status == 422
    c.session.cookie_jar.clear()
    await signed_in(service, emulator, olena)
    assert (await c.get(f"/api/v1/imports/{job}")).status == 404
    assert (await c.post(f"/api/v1/imports/{job}/run", json={"mapping": {}})).status == 404
    page = await (await c.get("/app/import")).text()
    assert 'data-testid="import-file"' in page
