"""POST /api/v1/catalogue/commerceml: an admin uploads one CommerceML file from 1C
(import.xml or offers.xml, told apart by its content) and gets the import's report,
its reasons in their language (services.commerceml).

A multipart upload (field "file") like the other uploads, so it is routed by hand
(web/app.py) rather than through the JSON route registry. The file is spooled to
``DATA_DIR/imports`` (at most services.commerceml.MAX_FILE_BYTES), imported and removed;
``?archive_missing=false`` keeps a full catalogue from archiving what it lacks.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import asdict
from typing import Any

from aiohttp import web

from kontakt.errors import gettext_for
from services import commerceml as svc
from services.errors import PermissionDenied, ValidationFailed
from services.permissions import require_admin
from web.api.framework import NO_RIGHT, TOO_LARGE, open_upload, refusal, said
from web.keys import SETTINGS_KEY

log = logging.getLogger("kontakt.commerceml")
TALLIES = ("categories", "products", "price_lists", "prices", "warehouses", "stock_levels")


def report_json(report: svc.CommerceMLReport, lang: str) -> dict[str, Any]:
    """The report with each left-out record's kind and reason in the person's language."""
    gettext = gettext_for(lang)
    return {
        "kind": report.kind, "partial": report.partial,
        "schema_version": report.schema_version, "generated": report.generated,
        **{name: asdict(getattr(report, name)) for name in TALLIES},
        "skipped": [{"what": s.what, "what_label": gettext(svc.WHAT.get(s.what, s.what)),
                     "item": s.item, "message": s.reason.translated(gettext)}
                    for s in report.skipped],
        "skipped_total": report.skipped_total,
    }


async def upload(request: web.Request) -> web.StreamResponse:
    def admins_only(user, lang):  # before the upload is read: a manager's 200 MB is
        try:                      # not spooled
            require_admin(user)
        except PermissionDenied:
            return said(403, NO_RIGHT, lang)
        return None

    got = await open_upload(request, admins_only)
    if isinstance(got, web.Response):
        return got
    user, lang, part = got
    folder = request.app[SETTINGS_KEY].data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"commerceml-{secrets.token_urlsafe(12)}.xml"
    try:
        size = 0
        with path.open("wb") as f:
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > svc.MAX_FILE_BYTES:
                    return said(413, TOO_LARGE, lang, mb=svc.MAX_FILE_BYTES // 2**20)
                f.write(chunk)
        archive = request.query.get("archive_missing", "true").lower() not in ("false", "0")
        report = await svc.do_import_commerceml(user, path, archive_missing=archive)
    except ValidationFailed as exc:
        return refusal(["body", exc.field], exc, "value_error", lang)
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    log.info("CommerceML %s imported by user %s: %s products, %s prices, %s stock levels",
             report.kind, user.id, report.products, report.prices, report.stock_levels)
    return web.json_response(report_json(report, lang))
