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
from services.errors import NotFound, ValidationFailed

MAX_SIZE = 50 * 1024 * 1024  # Telegram bots download at most 20 MB; the web allows 50
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def safe_filename(name: str | None) -> str:
    """The last path part only, without control or shell characters."""
    name = unquote(name or "file").replace("\\", "/")
    name = Path(name).name
    name = _UNSAFE.sub("_", name).strip(" .") or "file"
    return name[:200]


async def do_attach(actor: User, client_id: int, *, filename: str, content: bytes,
                    mime_type: str | None, data_dir: Path, source: str = "web",
                    contact_id: int | None = None) -> Document:
    client = await get_client(actor, client_id)
    if not content:
        raise ValidationFailed("file", "is empty")
    if len(content) > MAX_SIZE:
        raise ValidationFailed("file", f"is larger than {MAX_SIZE // (1024 * 1024)} MB")
    digest = hashlib.sha256(content).hexdigest()
    relative = Path("documents") / str(client.id) / digest
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # the same bytes twice are stored once
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    async with in_transaction():
        doc = await Document.create(
            client=client, contact_id=contact_id, filename=safe_filename(filename),
            storage_path=relative.as_posix(), size=len(content),
            mime_type=(mime_type or "application/octet-stream")[:120], sha256=digest,
            uploaded_by=actor)
        await AuditLog.create(user=actor, source=source, entity="document", object_id=doc.id,
                              client=client, action="create", new_value=doc.filename)
    return doc


async def list_documents(actor: User, client_id: int) -> list[Document]:
    client = await get_client(actor, client_id)
    return await Document.filter(client_id=client.id).order_by("-created_at")


async def open_document(actor: User, document_id: int, data_dir: Path) -> tuple[Document, Path]:
    doc = await Document.get_or_none(id=document_id)
    if doc is None:
        raise NotFound("document")
    await get_client(actor, doc.client_id)  # the same access as the client
    return doc, data_dir / doc.storage_path
