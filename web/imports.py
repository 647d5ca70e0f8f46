"""Import and export of clients in the web pages (S-11 lists, section 1).

An uploaded file is kept under ``DATA_DIR/imports/<id>/``; the mapping form shows its
headers and first rows; a dry run or the import runs in the background and the page
polls its progress. Jobs live in this process: after a restart the person uploads
again, and the import's de-duplication skips the rows already imported.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kontakt.errors import domain_message, error_line, error_message, field_label, gettext_for
from kontakt.i18n import translator
from services import bounded, exporter, importer, tabular
from services.documents import safe_filename
from services.errors import N_, DomainError, NotFound, ValidationFailed
from web.api.framework import (
    NO_FILE,
    SEND_JSON,
    SEND_MULTIPART,
    SIGN_IN_FIRST,
    TOO_LARGE,
    cross_site_refusal,
    not_found,
    refusal,
    said,
)
from web.jsonbody import BadJSON, read_json
from web.keys import SETTINGS_KEY
from web.session import current_user, guess_lang

log = logging.getLogger("kontakt.import")
DUPLICATE = N_("duplicate")
ALREADY_RUNNING = N_("this import is already running")
STOPPED = N_("the import stopped on an error; the administrator will find it in the log")
MAX_UPLOAD = 20 * 1024 * 1024  # as every other upload (web/app.py's client_max_size)


@dataclass
class ImportJob:
    id: str
    owner_id: int
    path: Any
    filename: str
    status: str = "uploaded"  # uploaded | running | done | failed
    dry_run: bool = False
    done: int = 0
    total: int = 0
    report: dict | None = None
    error: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)


JOBS_KEY: web.AppKey[dict[str, ImportJob]] = web.AppKey("import_jobs", dict)


def _report(r: importer.ImportReport, lang: str) -> dict:
    """The report for the page: each row's error in the person's language, ``label``
    naming the field readably (``field`` keeps the code)."""
    gettext = gettext_for(lang)
    return {"rows_total": r.rows_total, "created": r.created,
            "skipped_duplicates": r.skipped_duplicates, "bad_rows": r.bad_rows,
            "dry_run": r.dry_run,
            "errors": [{"row": row, "field": f, "message": error_message(m, gettext),
                        "label": gettext(DUPLICATE) if f == "duplicate" else
                        field_label(f, gettext)}
                       for row, f, m in r.errors[:1000]],
            "errors_total": len(r.errors)}


async def _user_or_problem(request: web.Request, *, write: bool):
    if write:
        reason = cross_site_refusal(request)
        if reason:
            return None, said(403, reason, guess_lang(request))
    user = await current_user(request)
    if user is None:
        return None, said(401, SIGN_IN_FIRST, guess_lang(request))
    return user, None


async def upload(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=True)
    if err:
        return err
    if not request.content_type.startswith("multipart/"):
        return said(415, SEND_MULTIPART, str(user.language))
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and part.name != "file":
        part = await reader.next()
    if part is None or not part.filename:
        return refusal(["body", "file"], NO_FILE, "missing", str(user.language))
    name = safe_filename(part.filename)
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        return refusal(["body", "file"], N_("send a .csv or .xlsx file"), "value_error",
                       str(user.language))
    job_id = secrets.token_urlsafe(12)
    folder = request.app[SETTINGS_KEY].data_dir / "imports" / job_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    with path.open("wb") as f:
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD:
                f.close()
                shutil.rmtree(folder, ignore_errors=True)
                return said(413, TOO_LARGE, str(user.language), mb=MAX_UPLOAD // 2**20)
            f.write(chunk)
    try:  # in a worker process, within time and memory limits
        result = await bounded.run(tabular.preview_file, path, name, 5, timeout=30)
    except bounded.LimitExceeded as exc:
        result = ("error", "file", N_("takes too long to read"), {}) if exc.limit == "time" \
            else ("error", "file", N_("needs more than {mb} MB to read"), {"mb": exc.value})
    if result[0] == "error":
        shutil.rmtree(folder, ignore_errors=True)
        return refusal(["body", "file"], ValidationFailed("file", result[2], **result[3]),
                       "value_error", str(user.language))
    headers, preview = result[1], result[2]
    jobs = request.app[JOBS_KEY]
    jobs[job_id] = ImportJob(id=job_id, owner_id=user.id, path=path, filename=name)
    return web.json_response({"id": job_id, "headers": headers, "preview": preview,
                              "mapping": importer.guess_mapping(headers),
                              "columns": list(importer.COLUMNS),
                              "labels": importer.column_labels(
                                  translator(str(user.language)))}, status=201)


def _job(request: web.Request, user) -> ImportJob | None:
    job = request.app[JOBS_KEY].get(request.match_info["job_id"])
    return job if job is not None and job.owner_id == user.id else None


async def run(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=True)
    if err:
        return err
    job = _job(request, user)
    if job is None:
        return not_found("import", str(user.language))
    if job.status == "running":
        return said(409, ALREADY_RUNNING, str(user.language))
    if request.content_type != "application/json":
        return said(415, SEND_JSON, str(user.language))
    try:
        body = await read_json(request)
        mapping = {str(k): str(v) for k, v in (body.get("mapping") or {}).items() if v}
        dry_run = bool(body.get("dry_run", True))
    except BadJSON as exc:
        return refusal(["body"], exc, "json_invalid", str(user.language))
    except (ValueError, AttributeError):
        return refusal(["body"], BadJSON(N_("body is not valid JSON")), "json_invalid",
                       str(user.language))
    region = "UA" if str(user.language) == "uk" else "RU"
    job.status, job.dry_run, job.done, job.total, job.report, job.error = (
        "running", dry_run, 0, 0, None, None)

    async def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    async def work() -> None:
        try:
            report = await importer.run_import(user, job.path, job.filename, mapping,
                                               dry_run=dry_run, region=region,
                                               progress=progress)
            job.report, job.status = _report(report, str(user.language)), "done"
            job.done = job.total = report.rows_total
        except ValidationFailed as exc:
            job.status, job.error = "failed", error_line(exc, str(user.language))
        except DomainError as exc:
            job.status, job.error = "failed", domain_message(exc, str(user.language))
        except Exception:  # noqa: BLE001 - logged with its traceback, the page says so
            log.exception("import %s failed", job.id)
            job.status, job.error = "failed", gettext_for(str(user.language))(STOPPED)

    job.task = asyncio.create_task(work())
    return web.json_response({"id": job.id, "status": job.status}, status=202)


async def status(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=False)
    if err:
        return err
    job = _job(request, user)
    if job is None:
        return not_found("import", str(user.language))
    return web.json_response({"id": job.id, "status": job.status, "dry_run": job.dry_run,
                              "done": job.done, "total": job.total, "report": job.report,
                              "error": job.error})


async def export(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=False)
    if err:
        return err
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        return refusal(["query", "format"], N_("csv or xlsx"), "literal_error",
                       str(user.language))
    from kontakt.i18n import translator
    from web.pages import _client_filters

    try:
        data = await exporter.export_clients(user, filters=_client_filters(request), fmt=fmt,
                                             gettext=translator(str(user.language)))
    except NotFound as exc:  # a segment or group one may not use: said, not a 500
        return not_found(str(exc), str(user.language))
    except ValidationFailed as exc:  # a group whose rule cannot be read
        return refusal(["query", exc.field], exc, "value_error", str(user.language))
    return file_response(data, fmt, "clients")


MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def file_response(data: bytes, fmt: str, name: str) -> web.Response:
    """An exported CSV or XLSX as a download named ``name.fmt``."""
    return web.Response(body=data, headers={
        "Content-Type": MIME[fmt], "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def job_canceller(key: web.AppKey):
    """An on_shutdown hook cancelling the import jobs still running under ``key``."""
    async def cancel(app: web.Application) -> None:
        for job in app[key].values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
    return cancel


def setup_imports(app: web.Application) -> None:
    app[JOBS_KEY] = {}
    app.router.add_post("/api/v1/imports", upload)
    app.router.add_post("/api/v1/imports/{job_id}/run", run)
    app.router.add_get("/api/v1/imports/{job_id}", status)
    app.router.add_get("/api/v1/clients/export", export)
    app.on_shutdown.append(job_canceller(JOBS_KEY))
