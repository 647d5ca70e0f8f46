"""S-2: documents of any format attached to a client, stored in the file store (the data
folder or an S3 bucket, :mod:`services.storage`) under ``documents/<client id>/<sha256>``;
the database keeps name, size, type, hash and that key."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from pathlib import Path
from urllib.parse import unquote

from tortoise.transactions import in_transaction

from models import AuditLog, Document, User
from services.clients import get_client
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.storage import FileStore, StoredFile

MAX_SIZE = 20 * 1024 * 1024  # what Telegram lets bots download, and the web's upload limit
_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)


def safe_filename(name: str | None) -> str:
    """The last path part only, without control or shell characters."""
    name = unquote(name or "file").replace("\\", "/")
    name = Path(name).name
    name = _UNSAFE.sub("_", name).strip(" .") or "file"
    return name[:200]


async def _store(content: bytes, store: FileStore, folder: str) -> tuple[str, str]:
    """Put the bytes under ``documents/<folder>/<sha256>`` (once for the same bytes);
    the key and the hash."""
    if not content:
        raise ValidationFailed("file", N_("is empty"))
    if len(content) > MAX_SIZE:
        raise ValidationFailed("file", N_("is larger than {mb} MB"),
                               mb=MAX_SIZE // (1024 * 1024))
    digest = await asyncio.to_thread(lambda: hashlib.sha256(content).hexdigest())
    key = f"documents/{folder}/{digest}"
    await store.put(key, content)
    return key, digest


async def _forget_unused(store: FileStore, key: str) -> None:
    """After a failed insert: the stored bytes go unless another document has them."""
    with contextlib.suppress(Exception):  # the first error is the one to report
        if not await Document.exists(storage_path=key):
            await store.delete(key)


async def do_attach(actor: User, client_id: int, *, filename: str, content: bytes,
                    mime_type: str | None, store: FileStore, source: str = "web",
                    contact_id: int | None = None) -> Document:
    client = await get_client(actor, client_id)
    key, digest = await _store(content, store, str(client.id))
    try:
        async with in_transaction():
            doc = await Document.create(
                client=client, contact_id=contact_id, filename=safe_filename(filename),
                storage_path=key, size=len(content),
                mime_type=(mime_type or "application/octet-stream")[:120], sha256=digest,
                uploaded_by=actor)
            await AuditLog.create(user=actor, source=source, entity="document",
                                  object_id=doc.id, client=client, action="create",
                                  new_value=doc.filename)
    except BaseException:
        await _forget_unused(store, key)
        raise
    return doc


async def do_attach_to_activity(actor: User, activity_id: int, *, filename: str,
                                content: bytes, mime_type: str | None, store: FileStore,
                                source: str = "web") -> Document:
    """S-16: a file of an activity (a signed act, a photo from a visit)."""
    from services.activities import get_activity

    activity = await get_activity(actor, activity_id)
    key, digest = await _store(content, store, f"activity-{activity.id}")
    try:
        async with in_transaction():
            doc = await Document.create(
                client_id=activity.client_id, activity_id=activity.id,
                filename=safe_filename(filename), storage_path=key,
                size=len(content), mime_type=(mime_type or "application/octet-stream")[:120],
                sha256=digest, uploaded_by=actor)
            await AuditLog.create(user=actor, source=source, entity="activity",
                                  object_id=activity.id, client_id=activity.client_id,
                                  action="attach", field="document", new_value=doc.filename)
    except BaseException:
        await _forget_unused(store, key)
        raise
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


async def _visible_document(actor: User, document_id: int) -> Document:
    doc = await Document.get_or_none(id=document_id)
    if doc is None:
        raise NotFound("document")
    if doc.activity_id is not None:  # the same access as the activity
        from services.activities import get_activity

        await get_activity(actor, doc.activity_id)
    else:
        await get_client(actor, doc.client_id)  # the same access as the client
    return doc


async def may_delete(actor: User, doc: Document) -> bool:
    """Who uploaded a file deletes it; so do heads and admins who may see it."""
    from models import Role

    return doc.uploaded_by_id == actor.id or actor.role in (Role.ADMIN, Role.HEAD)


async def do_delete_document(actor: User, document_id: int, store: FileStore, *,
                             source: str = "web") -> None:
    """Delete a file (S-2): its row, an audit entry, and the bytes unless another
    document holds the same ones. Refused while an email waiting to go carries it."""
    from models import OutboundMessage, OutboxState

    doc = await _visible_document(actor, document_id)
    if not await may_delete(actor, doc):
        raise PermissionDenied("only who uploaded it, a head or an admin deletes a file")
    # files go with emails to the client's own addresses: its waiting emails are few
    waiting = await OutboundMessage.filter(
        client_id=doc.client_id, state__in=[OutboxState.QUEUED, OutboxState.SENDING]
    ).values_list("attachments", flat=True)
    if any(doc.id in (ids or []) for ids in waiting):
        raise ValidationFailed("document", N_("an email waiting to be sent carries it"))
    async with in_transaction():
        await doc.delete()
        if doc.activity_id is not None:
            await AuditLog.create(user=actor, source=source, entity="activity",
                                  object_id=doc.activity_id, client_id=doc.client_id,
                                  action="delete", field="document", old_value=doc.filename)
        else:
            await AuditLog.create(user=actor, source=source, entity="document",
                                  object_id=doc.id, client_id=doc.client_id,
                                  action="delete", old_value=doc.filename)
    await _forget_unused(store, doc.storage_path)


async def open_document(actor: User, document_id: int, store: FileStore
                        ) -> tuple[Document, StoredFile]:
    """The document and its bytes, opened for reading in chunks (close it when done);
    NotFound("document") when the person may not see it, NotFound("file") when its
    bytes are gone, StorageUnavailable when the store cannot be reached."""
    doc = await _visible_document(actor, document_id)
    return doc, await store.open(doc.storage_path)


async def copy_files(source: FileStore, target: FileStore, *, batch: int = 200
                     ) -> tuple[int, int, list[str]]:
    """Copy every document's bytes from ``source`` to ``target`` (moving from the data
    folder to a bucket): (copied, already there, keys missing from the source). Safe to
    run again; one file (at most 20 MB) is in memory at a time."""
    from services.errors import NotFound as Missing

    copied, present, missing = 0, 0, []
    last = ""
    while True:
        keys = await Document.filter(storage_path__gt=last).order_by("storage_path").distinct(
        ).limit(batch).values_list("storage_path", flat=True)
        if not keys:
            return copied, present, missing
        for key in keys:
            if await target.exists(key):
                present += 1
                continue
            try:
                content = await source.read(key)
            except Missing:
                missing.append(key)
                continue
            await target.put(key, content)
            copied += 1
        last = keys[-1]
