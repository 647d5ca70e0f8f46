"""S-2: documents of any format attached to a client, stored on disk under the data
folder (``documents/<client id>/<sha256>``); the database keeps name, size, type, hash."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote

from tortoise.transactions import in_transaction

from models import AuditLog, Document, User
from services.clients import get_client
from services.errors import N_, NotFound, ValidationFailed

MAX_SIZE = 20 * 1024 * 1024  # what Telegram lets bots download, and the web's upload limit
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def safe_filename(name: str | None) -> str:
    """The last path part only, without control or shell characters."""
    name = unquote(name or "file").replace("\\", "/")
    name = Path(name).name
    name = _UNSAFE.sub("_", name).strip(" .") or "file"
    return name[:200]


def _store(content: bytes, data_dir: Path, folder: str) -> tuple[Path, str]:
    """Write the bytes under ``documents/<folder>/<sha256>`` (once for the same bytes)."""
    if not content:
        raise ValidationFailed("file", N_("is empty"))
    if len(content) > MAX_SIZE:
        raise ValidationFailed("file", N_("is larger than {mb} MB"),
                               mb=MAX_SIZE // (1024 * 1024))
    digest = hashlib.sha256(content).hexdigest()
    relative = Path("documents") / folder / digest
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # the same bytes twice are stored once
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    return relative, digest


async def do_attach(actor: User, client_id: int, *, filename: str, content: bytes,
                    mime_type: str | None, data_dir: Path, source: str = "web",
                    contact_id: int | None = None) -> Document:
    client = await get_client(actor, client_id)
    relative, digest = _store(content, data_dir, str(client.id))
    async with in_transaction():
        doc = await Document.create(
            client=client, contact_id=contact_id, filename=safe_filename(filename),
            storage_path=relative.as_posix(), size=len(content),
            mime_type=(mime_type or "application/octet-stream")[:120], sha256=digest,
            uploaded_by=actor)
        await AuditLog.create(user=actor, source=source, entity="document", object_id=doc.id,
                              client=client, action="create", new_value=doc.filename)
    return doc


async def do_attach_to_activity(actor: User, activity_id: int, *, filename: str,
                                content: bytes, mime_type: str | None, data_dir: Path,
                                source: str = "web") -> Document:
    """S-16: a file of an activity (a signed act, a photo from a visit)."""
    from services.activities import get_activity

    activity = await get_activity(actor, activity_id)
    relative, digest = _store(content, data_dir, f"activity-{activity.id}")
    async with in_transaction():
        doc = await Document.create(
            client_id=activity.client_id, activity_id=activity.id,
            filename=safe_filename(filename), storage_path=relative.as_posix(),
            size=len(content), mime_type=(mime_type or "application/octet-stream")[:120],
            sha256=digest, uploaded_by=actor)
        await AuditLog.create(user=actor, source=source, entity="activity",
                              object_id=activity.id, client_id=activity.client_id,
                              action="attach", field="document", new_value=doc.filename)
    return doc


async def activity_documents(actor: User, activity_id: int) -> list[Document]:
    from services.activities import get_activity

    activity = await get_activity(actor, activity_id)
    return await Document.filter(activity_id=activity.id).order_by("-created_at")


async def list_documents(actor: User, client_id: int) -> list[Document]:
    from tortoise.expressions import Q, Subquery

    from services.activities import visible_activities

    client = await get_client(actor, client_id)
    seen = Subquery((await visible_activities(actor)).filter(client_id=client.id).values("id"))
    return await Document.filter(client_id=client.id).filter(
        Q(activity_id=None) | Q(activity_id__in=seen)).order_by("-created_at")


async def open_document(actor: User, document_id: int, data_dir: Path) -> tuple[Document, Path]:
    doc = await Document.get_or_none(id=document_id)
    if doc is None:
        raise NotFound("document")
    if doc.activity_id is not None:  # the same access as the activity
        from services.activities import get_activity

        await get_activity(actor, doc.activity_id)
    else:
        await get_client(actor, doc.client_id)  # the same access as the client
    return doc, data_dir / doc.storage_path
