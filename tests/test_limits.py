"""One signed-in person cannot stall or exhaust the service (issue 18): templates that
loop for ever, double a string until memory runs out, or write megabytes are
stopped at their limit in a worker process and refused naming the limit, while
/health keeps answering; the template preview is for those who may edit templates;
renaming a template to a name taken is refused, not a 500."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from models import MessageTemplate, Role
from services import bounded
from services import messaging as svc
from tests.test_web import signed_in

NESTED_LOOPS = ("{% for a in range(400) %}{% for b in range(400) %}{% for c in range(400) %}"
                "{% for d in range(400) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}done")
DOUBLING = ("{% set s = namespace(v='ab') %}{% for i in range(30) %}{% set s.v = s.v ~ s.v %}"
            "{% endfor %}{{ s.v|length }}")
HUGE_FILTER_ARG = "{{ 'x'|center(50000000) }}"
HUGE_OUTPUT = "{% for i in range(90000) %}0123456789{% endfor %}"


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("source", "named"), [
    (NESTED_LOOPS, "takes longer than 2 s"),
    (DOUBLING, "MB to render"),
    (HUGE_FILTER_ARG, "longer than 100000 characters"),
    (HUGE_OUTPUT, "longer than 100000 characters"),
    ("{{ range(10**8)|list|length }}", "a range longer than 100000 items"),
])
async def test_abusive_templates_are_refused_naming_the_limit_and_health_answers(
        service, emulator, make_staff, source, named):
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    c = service.client
    rss_before = _max_rss_mb()
    preview = asyncio.create_task(c.post("/api/v1/templates/preview", json={
        "channel": "sms", "body": source}))
    await asyncio.sleep(0.2)  # the render is under way
    started = time.monotonic()
    health = await c.get("/health")
    assert health.status == 200
    assert time.monotonic() - started < 0.5  # the event loop is free meanwhile
    resp = await preview
    assert resp.status == 422
    detail = (await resp.json())["detail"][0]
    assert detail["loc"][-1] == "body" and named in detail["msg"], detail
    # the service's own memory did not take the blow
    assert _max_rss_mb() - rss_before < 150
    # and the next template renders as usual (a worker killed on time-out is replaced)
    resp = await c.post("/api/v1/templates/preview", json={
        "channel": "sms", "body": "Hello {{ contact.first_name }}"})
    assert (await resp.json())["body"] == "Hello Иван"


async def test_a_managers_message_from_a_card_is_bounded_too(service, emulator, make_staff):
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    await signed_in(service, emulator, ivan)
    resp = await service.client.post(f"/api/v1/clients/{client.id}/messages/preview", json={
        "subject": "x", "body": NESTED_LOOPS})
    assert resp.status == 422
    assert "takes longer than 2 s" in (await resp.json())["detail"][0]["msg"]


async def test_template_preview_is_for_those_who_edit_templates(service, emulator,
                                                                make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    resp = await service.client.post("/api/v1/templates/preview", json={"body": "hi"})
    assert resp.status == 403


async def test_renaming_a_template_to_a_name_taken_is_refused(database_url, make_staff):
    admin = await make_staff(Role.ADMIN, language="en")
    await svc.do_save_template(admin, {"name": "Offer", "channel": "sms", "body": "a"})
    other = await svc.do_save_template(admin, {"name": "Thanks", "channel": "sms",
                                               "body": "b"})
    with pytest.raises(svc.ValidationFailed) as err:
        await svc.do_save_template(admin, {"name": "Offer", "channel": "sms", "body": "b"},
                                   other.id)
    assert err.value.field == "name" and "already exists" in err.value.message
    assert (await MessageTemplate.get(id=other.id)).name == "Thanks"
    # keeping its own name is no clash
    await svc.do_save_template(admin, {"name": "Thanks", "channel": "sms", "body": "c"},
                               other.id)


async def test_a_worker_over_its_time_is_stopped_and_others_go_on():
    """services.bounded itself: a call past its time limit ends in LimitExceeded while
    a quick call at the same time returns."""
    slow = asyncio.create_task(bounded.run(time.sleep, 30, timeout=1))
    quick = await bounded.run(sum, [1, 2, 3], timeout=5)
    assert quick == 6
    with pytest.raises(bounded.LimitExceeded) as err:
        await slow
    assert err.value.limit == "time"


def _modules_loaded(names: tuple[str, ...]) -> list[bool]:
    import sys

    return [name in sys.modules for name in names]


async def test_workers_start_ahead_from_a_fork_server_that_has_their_modules():
    """Issue 19: the service starts its workers once it has started (bounded.start), and
    the fork server imports PRELOAD once, so a worker has the modules it runs before its
    first call."""
    bounded.shutdown()
    ready = await asyncio.to_thread(bounded.start)
    assert len(ready) == bounded.WORKERS
    assert [await asyncio.wrap_future(f) for f in ready] == [True] * bounded.WORKERS
    import multiprocessing.forkserver as fs

    assert set(bounded.PRELOAD) <= set(fs._forkserver._preload_modules)  # noqa: SLF001
    assert await bounded.run(_modules_loaded, bounded.PRELOAD, timeout=5) == \
        [True] * len(bounded.PRELOAD)


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
async def test_deeply_nested_json_is_a_422_on_every_json_route(service, emulator, make_staff,
                                                                 depth):
    """Sign-in (no session needed) and a route behind it: nesting is refused naming the
    limit; the service stays up."""
    body = "[" * depth + "]" * depth
    resp = await service.client.post("/api/v1/auth/webapp", data=body,
                                     headers={"Content-Type": "application/json",
                                              "Accept-Language": "en-GB,en;q=0.9"})
    assert resp.status == 422
    assert "nested deeper than 32" in (await resp.json())["detail"][0]["msg"]
    admin = await make_staff(Role.ADMIN, language="en")
    await signed_in(service, emulator, admin)
    nested = '{"body": ' + "[" * depth + "]" * depth + "}"
    resp = await service.client.post("/api/v1/templates/preview", data=nested,
                                     headers={"Content-Type": "application/json"})
    assert resp.status == 422
    assert (await service.client.get("/health")).status == 200


# --- files to import (issue 18) --------------------------------------------------------
def _xlsx(rows) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rezip(xlsx: bytes, change) -> bytes:
    """The same XLSX with its parts changed by ``change(name, data) -> data``, or with
    parts added when it returns extra (name, chunks) pairs for name None."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if isinstance(data, list):  # written in chunks: a part too big to hold
                with zout.open(item.filename, "w", force_zip64=True) as part:
                    for chunk in data:
                        part.write(chunk)
            else:
                zout.writestr(item, data)
    return out.getvalue()


async def _upload(service, name: str, content: bytes):
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", content, filename=name)
    return await service.client.post("/api/v1/imports", data=form)


async def test_an_xlsx_declaring_a_huge_sheet_reads_only_its_cells(service, emulator,
                                                                    make_staff):
    import re

    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    bomb = _rezip(_xlsx([["name", "phone"], ["Lutik", "+79161234567"]]),
                  lambda name, data: re.sub(rb'<dimension ref="[^"]*"\s*/>',
                                            b'<dimension ref="A1:XFD1048576"/>', data)
                  if name.endswith("sheet1.xml") else data)
    assert len(bomb) < 10_000
    started = time.monotonic()
    resp = await _upload(service, "bomb.xlsx", bomb)
    assert resp.status == 201 and time.monotonic() - started < 5
    body = await resp.json()
    assert body["headers"] == ["name", "phone"]
    assert body["preview"] == [["Lutik", "+79161234567"]]


async def test_an_xlsx_that_unpacks_to_hundreds_of_mb_is_refused_before_reading(
        service, emulator, make_staff):
    """A small file whose sheet (like shared strings) expands to 210 MB: refused from
    the zip's directory, before a byte of it is parsed."""
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    padding = b"<!--" + b"A" * (1 << 20) + b"-->"
    bomb = _rezip(_xlsx([["name"], ["Lutik"]]),
                  lambda name, data: [data] + [padding] * 210
                  if name.endswith("sheet1.xml") else data)
    assert len(bomb) < 5 * 2**20
    rss_before = _max_rss_mb()
    started = time.monotonic()
    resp = await _upload(service, "bomb.xlsx", bomb)
    assert resp.status == 422 and time.monotonic() - started < 5
    assert "unpacks to 210 MB; at most 200 MB" in (await resp.json())["detail"][0]["msg"]
    assert _max_rss_mb() - rss_before < 100


async def test_a_csv_of_millions_of_empty_lines_and_a_huge_cell_are_refused(service,
                                                                          emulator,
                                                                          make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    started = time.monotonic()
    resp = await _upload(service, "empty.csv", b"name;phone\n" + b"\n" * 3_000_000)
    assert resp.status == 422 and time.monotonic() - started < 5
    assert "more than 200 000 rows" in (await resp.json())["detail"][0]["msg"]
    resp = await _upload(service, "cell.csv", b"name;notes\nLutik;" + b"x" * 2_000_000 + b"\n")
    assert resp.status == 422
    assert "longer than 10000 characters" in (await resp.json())["detail"][0]["msg"]
    # a long cell within the limit is cut in the preview, not sent whole
    resp = await _upload(service, "long.csv", b"name;notes\nLutik;" + b"y" * 5000 + b"\n")
    assert resp.status == 201
    notes = (await resp.json())["preview"][0][1]
    assert len(notes) == 201 and notes.endswith("…")


async def test_an_upload_over_the_limit_is_refused_as_json(service, emulator, make_staff):
    ivan = await make_staff(Role.MANAGER, language="en")
    await signed_in(service, emulator, ivan)
    resp = await _upload(service, "big.csv", b"name\n" + b"a;" * (11 * 2**20))
    assert resp.status == 413
    assert "larger than 20 MB" in (await resp.json())["detail"]


async def test_a_document_over_20_mb_is_refused_as_json(service, emulator, make_staff):
    from aiohttp import FormData

    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await signed_in(service, emulator, ivan)
    form = FormData()
    form.add_field("file", b"%" * (21 * 2**20), filename="scan.pdf")
    resp = await service.client.post(f"/api/v1/clients/{client.id}/documents", data=form)
    assert resp.status == 413
    assert "larger than 20 MB" in (await resp.json())["detail"]


async def test_a_document_upload_looks_at_the_client_before_reading_the_file(
        service, emulator, make_staff):
    """S-2, S-16: a file sent for a client or an activity one does not see is refused as
    not found before it is read (not a 415 or a 413 about a file never to be kept); a
    part without a file, or none named "file", is "no file" — all in Russian for Olga."""
    from aiohttp import FormData

    from services import activities as act_svc
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    olga = await make_staff(Role.MANAGER, language="ru")
    theirs = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    task = (await act_svc.do_create_activity(ivan, {"title": "Call", "client_id": theirs.id})
            ).activity
    mine = (await client_svc.do_create_client(olga, {"name": "Лютик"})).client
    await signed_in(service, emulator, olga)
    c = service.client
    for path, what in ((f"/api/v1/clients/{theirs.id}/documents", "клиент"),
                       (f"/api/v1/activities/{task.id}/documents", "дело")):
        resp = await c.post(path, data=b"x", headers={"Content-Type": "text/plain"})
        assert (resp.status, (await resp.json())["detail"]) == (404, f"не найдено: {what}")
        big = FormData()
        big.add_field("file", b"%" * (21 * 2**20), filename="scan.pdf")
        resp = await c.post(path, data=big)
        assert (resp.status, (await resp.json())["detail"]) == (404, f"не найдено: {what}")
    nameless = FormData(default_to_multipart=True)
    nameless.add_field("file", "just text")  # a field, not a file
    other = FormData()
    other.add_field("attachment", b"%PDF-1.4", filename="scan.pdf")
    for form in (nameless, other):
        resp = await c.post(f"/api/v1/clients/{mine.id}/documents", data=form)
        assert resp.status == 422
        [item] = (await resp.json())["detail"]
        assert (item["loc"], item["msg"]) == (["body", "file"], "нет файла"), item
    from models import Document

    assert not await Document.exists()


# --- odd input is a 4xx, never a 500 (issue 18) -------------------------------------------
def _patch_fields(model) -> list[str]:
    return list(model.model_fields)


@pytest.mark.parametrize("route", ["client", "activity", "staff"])
async def test_a_null_for_any_field_of_a_patch_is_never_a_500(service, emulator, make_staff,
                                                             route):
    from services import activities as act_svc
    from services import clients as client_svc
    from web.api.activities import ActivityPatch
    from web.api.clients import ClientPatch
    from web.api.schemas import StaffPatch

    admin = await make_staff(Role.ADMIN, language="en")
    other = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(admin, {"name": "Lutik"})).client
    activity = (await act_svc.do_create_activity(admin, {"title": "Call"})).activity
    await signed_in(service, emulator, admin)
    path, model = {"client": (f"/api/v1/clients/{client.id}", ClientPatch),
                   "activity": (f"/api/v1/activities/{activity.id}", ActivityPatch),
                   "staff": (f"/api/v1/staff/{other.id}", StaffPatch)}[route]
    for field in _patch_fields(model):
        resp = await service.client.patch(path, json={field: None})
        assert resp.status in (200, 422), (field, resp.status, await resp.text())
        if resp.status == 422:
            assert field in str((await resp.json())["detail"]), field


@pytest.mark.parametrize("user_id", [2**63, 2**70, -(2**64)])
async def test_signed_init_data_with_a_user_id_beyond_64_bits_is_refused(service, emulator,
                                                                          user_id):
    import json

    from web.emulator import sign_init_data

    init = sign_init_data(emulator.token, {
        "auth_date": str(int(time.time())), "query_id": "AAH-test",
        "user": json.dumps({"id": user_id, "first_name": "Big", "is_bot": False})})
    resp = await service.client.post("/api/v1/auth/webapp", json={"init_data": init},
                                     headers={"Accept-Language": "en"})
    assert resp.status == 401  # the reason ("user id") goes to the log, not to the person
    assert (await resp.json())["detail"].startswith("the Telegram sign-in is not valid")


async def test_a_nul_byte_in_an_upload_name_is_no_500(service, emulator, make_staff):
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await signed_in(service, emulator, ivan)
    def raw_multipart(filename: str, content: bytes) -> tuple[bytes, dict]:
        # aiohttp's client will not put a NUL into a header; an attacker's client will
        boundary = "kontakt-boundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                f'\r\n\r\n').encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    body, headers = raw_multipart("clie\x00nts.csv", b"name\nLutik\n")
    resp = await service.client.post("/api/v1/imports", data=body, headers=headers)
    assert resp.status == 400 and "cannot be read" in (await resp.json())["detail"]
    body, headers = raw_multipart("sc\x00an.pdf", b"%PDF-1.4")
    resp = await service.client.post(f"/api/v1/clients/{client.id}/documents", data=body,
                                     headers=headers)
    assert resp.status == 400 and "cannot be read" in (await resp.json())["detail"]
    # a name with other control characters is kept, cleaned
    body, headers = raw_multipart("sc\tan\u202e.pdf", b"%PDF-1.4")
    resp = await service.client.post(f"/api/v1/clients/{client.id}/documents", data=body,
                                     headers=headers)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["filename"] == "sc_an_.pdf"


async def test_a_5000_character_find_is_answered(service, emulator, make_staff):
    from tests.conftest import say

    ivan = await make_staff(Role.MANAGER, language="en")
    reply = await say(emulator, ivan.telegram_id, "/find " + "я" * 5000)
    assert "Nothing found" in reply["text"] and len(reply["text"]) < 1000
    reply = await say(emulator, ivan.telegram_id, "ж" * 4000)  # in search mode now
    assert "Nothing found" in reply["text"]


# --- names that look like HTML (issue 18) -----------------------------------------------
HTML_NAME = "<img src=x onerror=alert(1)> & <b>Boss"


async def test_an_html_like_name_is_shown_as_text_in_every_message_with_a_name(
        service, emulator, new_tg_user, make_staff):
    """The welcome, /start, /menu, "already registered", the staff card, a client's
    managers and an activity notice: each answers, with the name as typed."""
    from services import activities as act_svc
    from services import clients as client_svc
    from services import staff as staff_svc
    from tests.conftest import say, settled

    def shown(msg) -> bool:
        return HTML_NAME in msg.get("text", "") and "went wrong" not in msg.get("text", "")

    code = (await staff_svc.do_create_invite(None, role=Role.MANAGER)).code
    tid = new_tg_user(language="en", name=HTML_NAME)
    assert shown(await say(emulator, tid, f"/start {code}"))  # the welcome
    assert shown(await say(emulator, tid, "/start"))
    assert shown(await say(emulator, tid, "/menu"))
    assert shown(await say(emulator, tid, f"/start {code}"))  # already registered
    from models import User

    odd = await User.get(telegram_id=tid)
    admin = await make_staff(Role.ADMIN, language="en")
    # the staff card, as the admin opens it
    await say(emulator, admin.telegram_id, "👥 Staff")
    listing = emulator.bot_messages(admin.telegram_id)[-1]
    card_data = next(b["callback_data"] for row in listing["reply_markup"]["inline_keyboard"]
                     for b in row if b["text"].endswith(HTML_NAME))
    before = max(m["message_id"] for m in emulator.history(admin.telegram_id))
    await emulator.press_button(admin.telegram_id, admin.telegram_id,
                                listing["message_id"], card_data)
    await settled(service, emulator)
    card = [m for m in emulator.history(admin.telegram_id) if m["message_id"] > before
            or m["message_id"] == listing["message_id"]]
    assert any(shown(m) for m in card), card
    # a client's card names its managers
    client = (await client_svc.do_create_client(odd, {"name": "Lutik"})).client
    reply = await say(emulator, admin.telegram_id, "/find Lutik")
    data = reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    before = max(m["message_id"] for m in emulator.history(admin.telegram_id))
    await emulator.press_button(admin.telegram_id, admin.telegram_id, reply["message_id"],
                                data)
    card = await emulator.wait_for_bot_message(admin.telegram_id, after_message_id=before)
    assert shown(card)
    # a task given to a colleague by the odd name: the notice names them
    from models import Department

    sales = await Department.create(name="Sales")
    odd.department = sales
    await odd.save()
    colleague = await make_staff(Role.MANAGER, language="en", department=sales)
    await say(emulator, colleague.telegram_id, "/menu")  # the colleague has opened the bot
    result = await act_svc.do_create_activity(odd, {
        "title": "Call Lutik", "client_id": client.id, "assignees": [colleague.id]})
    from notifications.activities import deliver_activity_notices

    await deliver_activity_notices(service.bot, service.i18n, result.notices)
    notice = emulator.bot_messages(colleague.telegram_id)[-1]
    assert shown(notice), notice


async def test_an_email_queued_without_smtp_says_so_to_sender_and_admin(service, emulator,
                                                                        make_staff):
    """Issue 17: no SMTP on this server (the fixture sets none): the sender is told the
    message waits, the administrators are told once a day what to set."""
    from services import clients as client_svc
    from tests.conftest import say, wait_until

    admin = await make_staff(Role.ADMIN, language="ru")
    await say(emulator, admin.telegram_id, "/menu")  # the admin has opened the bot
    ivan = await make_staff(Role.MANAGER, language="en", name="Ivan Petrov")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik",
                                                       "email": "office@lutik.ru"})).client
    await signed_in(service, emulator, ivan)
    before = len(emulator.bot_messages(admin.telegram_id))
    for _ in range(2):
        resp = await service.client.post(f"/api/v1/clients/{client.id}/messages",
                                         json={"subject": "Offer", "body": "Hello"})
        assert resp.status == 201, await resp.text()
        assert "does not send email yet" in (await resp.json())["waiting"]
    await wait_until(lambda: len(emulator.bot_messages(admin.telegram_id)) > before)
    told = emulator.bot_messages(admin.telegram_id)[before:]
    assert len(told) == 1  # once a day, not once a message
    assert "Ivan Petrov" in told[0]["text"] and "KONTAKT_SMTP_HOST" in told[0]["text"]
    assert "не отправляет" in told[0]["text"]  # in the admin's language


@pytest.mark.parametrize(("field", "value", "named"), [
    ("mfo", "1234567", "MFO must be 6 digits"),
    ("mfo", "ËñÚ", "MFO must be 6 digits"),
    ("bik", "123", "BIK must be 9 digits"),
    ("iban", "r", "IBAN must look like"),
    ("corr_account", "301018104", "20 digits"),
    ("account", "40702-810", "20 digits or an IBAN"),
    ("bank_name", "b" * 201, "longer than 200 characters"),
    ("country", "UKR", "choose one of: RU, UA"),
])
async def test_every_requisite_is_checked_before_it_reaches_a_column(
        service, emulator, make_staff, field, value, named):
    """Found by the API run: an MFO longer than its column was a 500. Each requisite is
    now checked by the service and named; anything else the ORM refuses is a 422."""
    from services import clients as client_svc

    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await client_svc.do_create_client(ivan, {"name": "Lutik"})).client
    await signed_in(service, emulator, ivan)
    resp = await service.client.post(f"/api/v1/clients/{client.id}/legal-entities",
                                     json={"name": "Lutik LLC", "country": "UA", field: value})
    assert resp.status == 422, await resp.text()
    detail = (await resp.json())["detail"][0]
    assert detail["loc"][-1] in (field, f"legal.{field}") and named in detail["msg"], detail
