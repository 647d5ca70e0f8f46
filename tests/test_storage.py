"""Attached files in the file store (services.storage): the local folder and an
S3-compatible bucket (moto in server mode, started by the tests) keep the same
contract; uploads from the web and the bot land in the bucket, downloads stream back
with the same access checks and headers, the outbox reads attachments from it, and a
bucket that is not there or an endpoint nobody answers gives a clear answer."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from kontakt.config import ConfigError, load_settings
from models import AuditLog, Channel, Document, OutboundMessage, OutboxState, Role
from services import activities as acts
from services import clients as svc
from services import documents as docs
from services.clock import utcnow
from services.errors import NotFound
from services.storage import (
    CHUNK,
    LocalFileStore,
    S3FileStore,
    store_from_settings,
)
from tests.conftest import S3_KEY_ID, S3_SECRET, say
from tests.test_bot_clients import press
from tests.test_web import signed_in

STORE_AWAY = "the file storage is unavailable now; try again in a few minutes"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: nothing listens there


def _s3(bucket, **kw) -> S3FileStore:
    return S3FileStore(bucket=bucket.name, endpoint_url=bucket.endpoint,
                       access_key_id=S3_KEY_ID, secret_access_key=S3_SECRET, **kw)


def _keys(bucket) -> list[str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.name)
    return sorted(o["Key"] for o in listed.get("Contents", []))


@contextlib.asynccontextmanager
async def running(settings):
    """The whole service on ``settings`` with a test client, like the ``service`` fixture."""
    from kontakt.runtime import build_runtime, start, stop

    rt = await build_runtime(settings)
    await start(rt, serve_http=False)
    client = TestClient(TestServer(rt.web_app, host="127.0.0.1"))
    await client.start_server()
    rt.client = client
    try:
        yield rt
    finally:
        await client.close()
        await stop(rt)


@pytest.fixture
async def s3_service(settings_factory, s3_bucket):
    async with running(settings_factory(**s3_bucket.settings)) as rt:
        yield rt


# --- the contract, on both stores ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["local", "s3"])
async def test_both_stores_keep_read_in_chunks_and_delete(kind, tmp_path, s3_bucket):
    store = LocalFileStore(tmp_path) if kind == "local" else _s3(s3_bucket)
    content = os.urandom(2 * CHUNK + 1000)  # three chunks
    key = "documents/7/" + "ab" * 32
    try:
        await store.check()
        assert not await store.exists(key)
        await store.put(key, content)
        await store.put(key, content)  # the same bytes again: no error, one file
        assert await store.exists(key)
        opened = await store.open(key)
        assert opened.size == len(content)
        chunks = [c async for c in opened.chunks()]
        await opened.close()
        assert len(chunks) >= 3 and max(len(c) for c in chunks) <= CHUNK
        assert b"".join(chunks) == content
        assert await store.read(key) == content
        if kind == "s3":
            assert _keys(s3_bucket) == [key]
        else:
            assert (tmp_path / key).read_bytes() == content
            assert [p.name for p in (tmp_path / "documents/7").iterdir()] == ["ab" * 32]
        await store.delete(key)
        assert not await store.exists(key)
        with pytest.raises(NotFound):
            await store.open(key)
        await store.delete(key)  # gone already: not an error
        for bad in ("../etc/passwd", "/abs/key", "documents/../x", ""):
            with pytest.raises(ValueError):
                await store.put(bad, b"x")
    finally:
        await store.close()


# --- the web and the bot over a bucket ----------------------------------------------------
async def test_web_upload_and_download_go_through_the_bucket(s3_service, emulator, make_staff,
                                                             s3_bucket, tmp_path):
    ivan = await make_staff(Role.MANAGER, language="en")
    olena = await make_staff(Role.MANAGER, language="en")
    await signed_in(s3_service, emulator, ivan)
    c = s3_service.client
    cid = (await (await c.post("/api/v1/clients", json={"name": "Bucket Docs"})).json())["id"]
    content = os.urandom(3 * 1024 * 1024 + 7)  # larger than a chunk many times over
    form = FormData()
    form.add_field("file", content, filename="скан договора.pdf",
                   content_type="application/pdf")
    resp = await c.post(f"/api/v1/clients/{cid}/documents", data=form)
    assert resp.status == 201, await resp.text()
    doc = await Document.get(id=(await resp.json())["id"])
    assert doc.storage_path == f"documents/{cid}/{doc.sha256}"
    assert _keys(s3_bucket) == [doc.storage_path]
    assert not (tmp_path / "documents").exists()  # nothing on the local disk
    resp = await c.get(f"/api/v1/documents/{doc.id}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Length"] == str(len(content))
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''%D1%81%D0%BA%D0%B0%D0%BD%20%D0%B4%D0%BE%D0%B3%D0%BE"
        "%D0%B2%D0%BE%D1%80%D0%B0.pdf")
    assert await resp.read() == content
    # an activity's file, readable by whoever sees the activity
    activity = (await acts.do_create_activity(ivan, {"title": "Visit", "type": "task",
                                                     "client_id": cid})).activity
    form = FormData()
    form.add_field("file", b"signed act", filename="act.txt", content_type="text/plain")
    resp = await c.post(f"/api/v1/activities/{activity.id}/documents", data=form)
    assert resp.status == 201, await resp.text()
    act_doc = await Document.get(id=(await resp.json())["id"])
    assert act_doc.storage_path.startswith(f"documents/activity-{activity.id}/")
    assert await (await c.get(f"/api/v1/documents/{act_doc.id}")).read() == b"signed act"
    # the same access checks as on the disk: another manager sees neither
    c.session.cookie_jar.clear()
    await signed_in(s3_service, emulator, olena)
    assert (await c.get(f"/api/v1/documents/{doc.id}")).status == 404
    assert (await c.get(f"/api/v1/documents/{act_doc.id}")).status == 404
    # bytes gone from the bucket behind our back: a 404 naming the file, not a 500
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=act_doc.storage_path)
    c.session.cookie_jar.clear()
    await signed_in(s3_service, emulator, ivan)
    resp = await c.get(f"/api/v1/documents/{act_doc.id}")
    assert resp.status == 404 and "file" in (await resp.json())["detail"]


async def test_a_file_and_a_photo_from_the_bot_land_in_the_bucket(s3_service, emulator,
                                                                  make_staff, s3_bucket):
    ivan = await make_staff(Role.MANAGER, language="en")
    chat = ivan.telegram_id
    client = (await svc.do_create_client(ivan, {"name": "Bot Bucket"})).client
    reply = await say(emulator, chat, "/find bot bucket")
    before = await press(emulator, chat, reply, "Bot Bucket")
    await emulator.wait_for_bot_message(chat, after_message_id=before)
    sent = await emulator.send_document(chat, "offer.pdf", b"%PDF-1.4 offer", "application/pdf")
    ok = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert "Attached" in ok["text"]
    sent = await emulator.send_photo(chat, b"\xff\xd8\xff jpeg bytes")
    ok = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert "Attached" in ok["text"]
    stored = await Document.filter(client_id=client.id).order_by("id")
    assert [d.mime_type for d in stored] == ["application/pdf", "image/jpeg"]
    assert _keys(s3_bucket) == sorted(d.storage_path for d in stored)
    files = s3_service.files
    assert await files.read(stored[0].storage_path) == b"%PDF-1.4 offer"
    assert await files.read(stored[1].storage_path) == b"\xff\xd8\xff jpeg bytes"


async def test_the_outbox_reads_attachments_from_the_bucket(database_url, make_staff,
                                                            s3_bucket):
    from notifications.outbox import Outbox, SmtpConfig
    from tests.test_outbox import _server

    ivan = await make_staff(Role.MANAGER)
    client = (await svc.do_create_client(ivan, {"name": "Mail Bucket"})).client
    store = _s3(s3_bucket)
    doc = await docs.do_attach(ivan, client.id, filename="offer.pdf", content=b"%PDF offer",
                               mime_type="application/pdf", store=store)

    async def queued(to: str) -> OutboundMessage:
        return await OutboundMessage.create(channel=Channel.EMAIL, to_address=to,
                                            subject="Offer", body="Hi", attachments=[doc.id],
                                            next_attempt_at=utcnow())

    controller, box = _server()
    try:
        sent = await queued("a@example.ru")
        smtp = SmtpConfig("127.0.0.1", box.port, "none", None, None, "crm@example.ru")
        assert await Outbox(smtp, file_store=store).run_once() == 1
        assert (await OutboundMessage.get(id=sent.id)).state == OutboxState.SENT
        [got] = box.parsed
        assert [(p.get_filename(), p.get_payload(decode=True))
                for p in got.iter_attachments()] == [("offer.pdf", b"%PDF offer")]
        # the bucket is away: the message waits and is tried again, it does not fail
        waits = await queued("b@example.ru")
        away = S3FileStore(bucket="kontakt-gone-away", endpoint_url=s3_bucket.endpoint,
                           access_key_id=S3_KEY_ID, secret_access_key=S3_SECRET)
        assert await Outbox(smtp, file_store=away).run_once() == 1
        await away.close()
    finally:
        controller.stop()
        await store.close()
    waits = await OutboundMessage.get(id=waits.id)
    assert waits.state == OutboxState.QUEUED and waits.attempts == 1
    assert waits.last_error == ("attachments: the bucket 'kontakt-gone-away' at "
                                f"{s3_bucket.endpoint} does not exist")
    assert len(box.parsed) == 1


# --- what goes wrong ----------------------------------------------------------------------
@pytest.mark.parametrize("trouble", ["no_bucket", "unreachable"])
async def test_a_store_that_is_away_is_a_clear_answer_not_a_500(
        trouble, settings_factory, emulator, make_staff, s3_bucket, caplog):
    if trouble == "no_bucket":
        overrides = {**s3_bucket.settings, "s3_bucket": "kontakt-no-such-bucket"}
        why = f"the bucket 'kontakt-no-such-bucket' at {s3_bucket.endpoint} does not exist"
    else:
        endpoint = f"http://127.0.0.1:{_closed_port()}"
        overrides = {**s3_bucket.settings, "s3_endpoint_url": endpoint}
        why = f"cannot reach the bucket '{s3_bucket.name}' at {endpoint}: "
    ivan = await make_staff(Role.MANAGER, language="en")
    client = (await svc.do_create_client(ivan, {"name": "Away"})).client
    old = await Document.create(client=client, filename="old.pdf", storage_path="documents/x",
                                size=3, sha256="0" * 64)
    caplog.set_level(logging.WARNING, logger="kontakt")
    async with running(settings_factory(**overrides)) as rt:
        await rt.files_check
        assert f"file storage: {why}" in caplog.text  # said at start, in one line
        caplog.clear()
        await signed_in(rt, emulator, ivan)
        c = rt.client
        form = FormData()
        form.add_field("file", b"contract", filename="contract.txt", content_type="text/plain")
        resp = await c.post(f"/api/v1/clients/{client.id}/documents", data=form)
        assert resp.status == 503
        assert (await resp.json())["detail"] == STORE_AWAY  # the reason is for the log
        assert f"file storage: {why}" in caplog.text
        assert await Document.filter(client_id=client.id).count() == 1  # only the old one
        resp = await c.get(f"/api/v1/documents/{old.id}")
        assert resp.status == 503
        assert (await resp.json())["detail"] == STORE_AWAY  # the reason is for the log
        # the bot says so in the person's language
        chat = ivan.telegram_id
        reply = await say(emulator, chat, "/find away")
        before = await press(emulator, chat, reply, "Away")
        await emulator.wait_for_bot_message(chat, after_message_id=before)
        sent = await emulator.send_document(chat, "a.pdf", b"%PDF", "application/pdf")
        answer = await emulator.wait_for_bot_message(chat, after_message_id=sent["message_id"])
        assert "file storage cannot be reached" in answer["text"]
    assert "Traceback" not in caplog.text
    assert S3_SECRET not in caplog.text


async def test_a_failed_insert_leaves_no_orphan_in_the_bucket(database_url, make_staff,
                                                              s3_bucket, monkeypatch):
    ivan = await make_staff(Role.MANAGER)
    client = (await svc.do_create_client(ivan, {"name": "Orphans"})).client
    store = _s3(s3_bucket)
    kept = await docs.do_attach(ivan, client.id, filename="a.txt", content=b"shared bytes",
                                mime_type="text/plain", store=store)

    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(AuditLog, "create", broken)
    with pytest.raises(RuntimeError):
        await docs.do_attach(ivan, client.id, filename="b.txt", content=b"new bytes",
                             mime_type="text/plain", store=store)
    with pytest.raises(RuntimeError):  # the same bytes as a document that stays
        await docs.do_attach(ivan, client.id, filename="c.txt", content=b"shared bytes",
                             mime_type="text/plain", store=store)
    assert _keys(s3_bucket) == [kept.storage_path]
    assert await Document.filter(client_id=client.id).count() == 1
    await store.close()


# --- settings ---------------------------------------------------------------------------
def test_s3_settings_are_checked_and_the_secret_kept_out_of_logs(tmp_path):
    import io

    from kontakt.cli import _secrets_of
    from kontakt.logging import setup_logging

    with pytest.raises(ConfigError, match="^KONTAKT_S3_BUCKET: missing"):
        load_settings(s3_endpoint_url="http://minio:9000")
    with pytest.raises(ConfigError, match="^KONTAKT_S3_BUCKET: not a bucket name"):
        load_settings(s3_bucket="Files_Here")
    with pytest.raises(ConfigError, match="^KONTAKT_S3_ENDPOINT_URL: must be an http"):
        load_settings(s3_bucket="files", s3_endpoint_url="minio:9000")
    with pytest.raises(ConfigError, match="^KONTAKT_S3_SECRET_ACCESS_KEY: missing"):
        load_settings(s3_bucket="files", s3_access_key_id="AKIA123")
    with pytest.raises(ConfigError, match="^KONTAKT_S3_ACCESS_KEY_ID: missing"):
        load_settings(s3_bucket="files", s3_secret_access_key="s" * 20)
    assert isinstance(store_from_settings(load_settings(data_dir=tmp_path)), LocalFileStore)
    secret = "yc-" + secrets.token_urlsafe(24)
    s = load_settings(s3_bucket="kontakt-files", s3_endpoint_url="https://storage.yandexcloud.net",
                      s3_access_key_id="YCAJEexample", s3_secret_access_key=secret,
                      s3_region="ru-central1")
    store = store_from_settings(s)
    assert isinstance(store, S3FileStore)
    assert store.describe() == "the bucket 'kontakt-files' at https://storage.yandexcloud.net"
    assert secret in _secrets_of(s)
    assert secret not in repr(s)
    stream = io.StringIO()
    handler = setup_logging("INFO", _secrets_of(s), stream=stream)
    try:
        logging.getLogger("kontakt.test").warning("signing with %s", secret)
    finally:
        logging.getLogger().removeHandler(handler)
    assert secret not in stream.getvalue() and "signing with ***" in stream.getvalue()


async def test_copy_files_moves_the_data_folder_into_the_bucket(database_url, make_staff,
                                                                s3_bucket, tmp_path):
    """`kontakt copy-files`: once when an installation moves to S3, safe to repeat."""
    import asyncio
    import sys

    from tests.test_process import BASE_ENV

    ivan = await make_staff(Role.MANAGER)
    client = (await svc.do_create_client(ivan, {"name": "Moving"})).client
    local = LocalFileStore(tmp_path)
    a = await docs.do_attach(ivan, client.id, filename="a.txt", content=b"first",
                             mime_type="text/plain", store=local)
    b = await docs.do_attach(ivan, client.id, filename="b.txt", content=b"second",
                             mime_type="text/plain", store=local)
    await docs.do_attach(ivan, client.id, filename="again.txt", content=b"first",
                         mime_type="text/plain", store=local)  # the same key as a
    gone = await Document.create(client=client, filename="gone.pdf", size=1, sha256="0" * 64,
                                 storage_path=f"documents/{client.id}/{'f' * 64}")
    env = {**BASE_ENV, **s3_bucket.env, "KONTAKT_DATABASE_URL": database_url,
           "KONTAKT_DATA_DIR": str(tmp_path)}

    async def copy_files() -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kontakt", "copy-files", env=env, cwd=str(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await copy_files()
    assert code == 1, err  # a file is missing: said, and the exit code says so
    assert out.startswith(f"Copied 2 files from the folder {tmp_path.resolve()} to the bucket "
                          f"'{s3_bucket.name}'")
    assert err.strip() == f"missing in the data folder: {gone.storage_path}"
    assert _keys(s3_bucket) == sorted([a.storage_path, b.storage_path])
    store = _s3(s3_bucket)
    assert await store.read(b.storage_path) == b"second"
    await store.close()
    await gone.delete()
    code, out, err = await copy_files()
    assert code == 0, err
    assert "Copied 0 files" in out and "2 were there already" in out
    env.pop("KONTAKT_S3_BUCKET")
    env.pop("KONTAKT_S3_ENDPOINT_URL")
    code, _out, err = await copy_files()
    assert code == 2 and err.startswith("kontakt: KONTAKT_S3_BUCKET: not set")


async def test_on_the_disk_a_download_still_answers_range_requests(service, emulator,
                                                                   make_staff, tmp_path):
    """The default store keeps what the web did before: sendfile, Range, the headers."""
    ivan = await make_staff(Role.MANAGER)
    await signed_in(service, emulator, ivan)
    c = service.client
    cid = (await (await c.post("/api/v1/clients", json={"name": "Disk"})).json())["id"]
    form = FormData()
    form.add_field("file", b"0123456789", filename="digits.txt", content_type="text/plain")
    doc = await (await c.post(f"/api/v1/clients/{cid}/documents", data=form)).json()
    stored = await Document.get(id=doc["id"])
    assert (tmp_path / stored.storage_path).read_bytes() == b"0123456789"
    resp = await c.get(f"/api/v1/documents/{doc['id']}", headers={"Range": "bytes=2-5"})
    assert resp.status == 206 and await resp.read() == b"2345"
    assert resp.headers["Content-Disposition"] == "attachment; filename*=UTF-8''digits.txt"
    (tmp_path / stored.storage_path).unlink()  # gone from the disk: a 404, not a 500
    resp = await c.get(f"/api/v1/documents/{doc['id']}")
    assert resp.status == 404 and "файл" in (await resp.json())["detail"]  # said in Russian
