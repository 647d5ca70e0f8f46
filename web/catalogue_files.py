"""The catalogue's and the stock's XLSX/CSV files (issue 13, section 7; K-4), as the
clients' import (web/imports.py): an admin uploads a file (at most 20 MB, read within
services.tabular's limits in a thread), the import runs in the background and the page
polls its report — each bad row's column and reason in the person's language. Exports
are everyone's. Multipart and file answers, so routed by hand (web/app.py)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil

from aiohttp import web

from kontakt.errors import domain_message, error_line, field_label, gettext_for
from services import catalogue_io
from services.documents import safe_filename
from services.errors import N_, DomainError, PermissionDenied, ValidationFailed
from services.permissions import require_admin
from web.api.framework import (
    NO_RIGHT,
    TOO_LARGE,
    not_found,
    open_upload,
    refusal,
    said,
)
from web.imports import (
    MAX_UPLOAD,
    MIME,
    STOPPED,
    ImportJob,
    _user_or_problem,
    file_response,
    job_canceller,
)
from web.keys import SETTINGS_KEY

log = logging.getLogger("kontakt.import")
JOBS: web.AppKey[dict[str, ImportJob]] = web.AppKey("catalogue_jobs", dict)


def _report(r: catalogue_io.IOReport, lang: str) -> dict:
    gettext = gettext_for(lang)
    return {"rows_total": r.rows_total, "created": r.created, "updated": r.updated,
            "bad_rows": r.bad_rows,
            "errors": [{"row": row, "field": f, "label": _column(f, lang),
                        "message": m.translated(gettext)} for row, f, m in r.errors[:1000]],
            "errors_total": len(r.errors)}


def _column(field: str, lang: str) -> str:
    """The column as the file's header says it (the export's headers)."""
    key = {"group_id": "category", "kind_id": "kind"}.get(field, field)
    if key in catalogue_io.LABELS:
        return gettext_for(lang)(catalogue_io.LABELS[key])
    return field_label(field, lang)


async def upload(request: web.Request) -> web.StreamResponse:
    """POST /api/v1/catalogue/import?what=catalogue|stock (multipart, field "file")."""
    what = request.query.get("what", "catalogue")

    def checks(user, lang):  # before the upload is read
        try:
            require_admin(user)
        except PermissionDenied:
            return said(403, NO_RIGHT, lang)
        if what not in ("catalogue", "stock"):
            return refusal(["query", "what"], N_("catalogue or stock"), "literal_error", lang)
        return None

    got = await open_upload(request, checks, named=True)
    if isinstance(got, web.Response):
        return got
    user, lang, part = got
    name = safe_filename(part.filename)
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        return refusal(["body", "file"], N_("send a .csv or .xlsx file"), "value_error", lang)
    job_id = secrets.token_urlsafe(12)
    folder = request.app[SETTINGS_KEY].data_dir / "imports" / f"catalogue-{job_id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    with path.open("wb") as f:
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD:
                f.close()
                shutil.rmtree(folder, ignore_errors=True)
                return said(413, TOO_LARGE, lang, mb=MAX_UPLOAD // 2**20)
            f.write(chunk)
    job = ImportJob(id=job_id, owner_id=user.id, path=path, filename=name, status="running")
    request.app[JOBS][job_id] = job

    async def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    async def work() -> None:
        run = catalogue_io.import_stock if what == "stock" else catalogue_io.import_catalogue
        try:
            report = await run(user, path, name, progress=progress)
            job.report, job.status = _report(report, lang), "done"
            job.done = job.total = report.rows_total
        except ValidationFailed as exc:
            job.status, job.error = "failed", error_line(exc, lang)
        except DomainError as exc:
            job.status, job.error = "failed", domain_message(exc, lang)
        except Exception:  # noqa: BLE001 - logged with its traceback, the page says so
            log.exception("catalogue import %s failed", job.id)
            job.status, job.error = "failed", gettext_for(lang)(STOPPED)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    job.task = asyncio.create_task(work())
    return web.json_response({"id": job.id, "status": job.status}, status=202)


async def status(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=False)
    if err:
        return err
    job = request.app[JOBS].get(request.match_info["job_id"])
    if job is None or job.owner_id != user.id:
        return not_found("import", str(user.language))
    return web.json_response({"id": job.id, "status": job.status, "done": job.done,
                              "total": job.total, "report": job.report, "error": job.error})


def _format(request: web.Request, lang: str) -> tuple[str | None, web.StreamResponse | None]:
    fmt = request.query.get("format", "xlsx")
    if fmt not in MIME:
        return None, refusal(["query", "format"], N_("csv or xlsx"), "literal_error", lang)
    return fmt, None


async def export_catalogue(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=False)
    if err:
        return err
    lang = str(user.language)
    fmt, err = _format(request, lang)
    if err:
        return err
    data = await catalogue_io.export_catalogue(user, fmt=fmt, gettext=gettext_for(lang))
    return file_response(data, fmt, "catalogue")


async def export_stock(request: web.Request) -> web.StreamResponse:
    user, err = await _user_or_problem(request, write=False)
    if err:
        return err
    lang = str(user.language)
    fmt, err = _format(request, lang)
    if err:
        return err
    raw = request.query.get("warehouse_id", "")
    warehouse_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
    data = await catalogue_io.export_stock(user, warehouse_id=warehouse_id, fmt=fmt,
                                           gettext=gettext_for(lang))
    return file_response(data, fmt, "stock")


def setup_catalogue_files(app: web.Application) -> None:
    app[JOBS] = {}
    app.router.add_post("/api/v1/catalogue/import", upload)
    app.router.add_get("/api/v1/catalogue/import/{job_id}", status)
    app.router.add_get("/api/v1/catalogue/export", export_catalogue)
    app.router.add_get("/api/v1/stock/export", export_stock)
    app.on_shutdown.append(job_canceller(JOBS))
