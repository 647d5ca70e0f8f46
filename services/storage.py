"""Where attached files live: a folder on the local disk (the default) or a bucket of an
S3-compatible object storage (AWS S3, Yandex Object Storage, MinIO…), so that several
replicas behind one load balancer serve the same files.

Both stores take the same keys (``documents/<client id>/<sha256>``, relative paths with
``/``), write whole files (at most 20 MB, already in memory after an upload) and read
them back in chunks, so a download never holds a large file in memory. A store that
cannot be reached, or a bucket that does not exist, raises :class:`StorageUnavailable`
with one line for the person and the log; a key that is not there raises ``NotFound``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePosixPath
from typing import Any

from services.errors import N_, DomainError, NotFound

log = logging.getLogger("kontakt.storage")
CHUNK = 256 * 1024


class StorageUnavailable(DomainError):
    template = N_("the file storage is unavailable now; try again in a few minutes")
    """The file storage cannot be used now; the message says why, without secrets."""

    code = "storage_unavailable"


class StoredFile:
    """An opened file: its size and its bytes in chunks. ``path`` is set for a file on
    the local disk (the web layer sends it with sendfile and answers Range requests)."""

    def __init__(self, size: int, chunks: Callable[[], AsyncIterator[bytes]], *,
                 path: Path | None = None, close: Callable[[], Any] | None = None) -> None:
        self.size = size
        self.path = path
        self._chunks = chunks
        self._close = close

    def chunks(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def read(self) -> bytes:
        try:
            return b"".join([chunk async for chunk in self.chunks()])
        finally:
            await self.close()

    async def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _checked(key: str) -> str:
    """A relative key without ``..``: nothing outside the store is ever named."""
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"bad storage key {key!r}")
    return "/".join(parts)


class FileStore:
    """What the services need of a file storage."""

    kind = "?"

    def describe(self) -> str:
        """Where the files are, for the operator (no secrets)."""
        raise NotImplementedError

    async def put(self, key: str, content: bytes) -> None:
        raise NotImplementedError

    async def open(self, key: str) -> StoredFile:
        raise NotImplementedError

    async def read(self, key: str) -> bytes:
        return await (await self.open(key)).read()

    async def delete(self, key: str) -> None:
        """Remove the file; a key that is not there is not an error."""
        raise NotImplementedError

    async def exists(self, key: str) -> bool:
        raise NotImplementedError

    async def check(self) -> None:
        """Raise :class:`StorageUnavailable` when files cannot be stored now."""
        raise NotImplementedError

    async def close(self) -> None:
        return None


class LocalFileStore(FileStore):
    """Files under a folder (``DATA_DIR``); every disk operation runs in a thread."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"the folder {self.root.resolve()}"

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, content: bytes) -> None:
        path = self.path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():  # the same key holds the same bytes: stored once
                return
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
            try:
                tmp.write_bytes(content)
                tmp.replace(path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write to {self.describe()}: "
                                     f"{exc.strerror or type(exc).__name__}") from None

    async def open(self, key: str) -> StoredFile:
        path = self.path(key)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            raise NotFound("file") from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {self.describe()}: "
                                     f"{exc.strerror or type(exc).__name__}") from None

        async def chunks() -> AsyncIterator[bytes]:
            f = await asyncio.to_thread(path.open, "rb")
            try:
                while chunk := await asyncio.to_thread(f.read, CHUNK):
                    yield chunk
            finally:
                await asyncio.to_thread(f.close)

        return StoredFile(size, chunks, path=path)

    async def delete(self, key: str) -> None:
        path = self.path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise PermissionError(13, "Permission denied")

        try:
            await asyncio.to_thread(probe)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write to {self.describe()}: "
                                     f"{exc.strerror or type(exc).__name__}") from None


class S3FileStore(FileStore):
    """Files as objects of one bucket, through aiobotocore (botocore's requests, signing
    and retries on asyncio). One client is made at the first use and kept."""

    kind = "s3"
    MISSING = ("NoSuchKey", "404", "NotFound")
    NO_BUCKET = ("NoSuchBucket",)
    REFUSED = ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403",
               "InvalidToken", "ExpiredToken")

    def __init__(self, *, bucket: str, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str = "us-east-1", connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, max_attempts: int = 2) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._timeouts = (connect_timeout, read_timeout, max_attempts)
        self._client: Any = None
        # botocore's failures, known once it is imported (in a thread: it is slow)
        self._failures: tuple[type[BaseException], ...] = (OSError, TimeoutError)
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        return f"the bucket {self.bucket!r} at {self.endpoint_url or 'AWS S3'}"

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._client is None:
                # importing botocore and reading its S3 model take about half a second:
                # in a thread, so the event loop only wires the client (milliseconds)
                errors = await asyncio.to_thread(importlib.import_module,
                                                 "botocore.exceptions")
                self._failures = (errors.BotoCoreError, errors.ClientError, OSError,
                                  TimeoutError)
                session_module = await asyncio.to_thread(importlib.import_module,
                                                         "aiobotocore.session")
                config_module = await asyncio.to_thread(importlib.import_module,
                                                        "aiobotocore.config")
                session = session_module.get_session()
                await asyncio.to_thread(_load_s3_model, session)
                connect, read, attempts = self._timeouts
                config = config_module.AioConfig(
                    connect_timeout=connect, read_timeout=read,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    # MinIO and most S3-compatible servers: bucket in the path
                    s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                    # checksums only where S3 requires them: many compatible stores
                    # refuse the trailing checksums botocore sends by default
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required")
                key_id, secret = self._credentials
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(session.create_client(
                    "s3", region_name=self.region, endpoint_url=self.endpoint_url,
                    aws_access_key_id=key_id, aws_secret_access_key=secret, config=config))
                self._stack = stack
            return self._client

    def _error(self, exc: Exception, key: str | None = None) -> DomainError:
        """A botocore failure as NotFound (no such key) or StorageUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in self.NO_BUCKET:
                return StorageUnavailable(f"{self.describe()} does not exist")
            if code in self.MISSING:  # HEAD of a bucket that is not there: a bare 404
                return NotFound("file") if key is not None else StorageUnavailable(
                    f"{self.describe()} does not exist")
            if code in self.REFUSED:
                return StorageUnavailable(f"{self.describe()} refused the credentials "
                                          f"({code})")
            return StorageUnavailable(f"{self.describe()} answered {code or 'an error'}")
        if isinstance(exc, BotoCoreError):
            return StorageUnavailable(f"cannot reach {self.describe()}: "
                                      f"{type(exc).__name__}")
        return StorageUnavailable(f"cannot use {self.describe()}: {type(exc).__name__}")

    async def _call(self, operation: str, key: str | None = None, **params: Any) -> Any:
        try:
            client = await self._get_client()
            return await getattr(client, operation)(Bucket=self.bucket, **params)
        except Exception as exc:
            if not isinstance(exc, self._failures):
                raise  # a bug of ours stays a bug, with its traceback
            error = self._error(exc, key)
            if isinstance(error, StorageUnavailable):
                log.warning("file storage: %s (%s)", error, operation)
            raise error from None

    async def put(self, key: str, content: bytes) -> None:
        key = _checked(key)
        await self._call("put_object", key, Key=key, Body=content,
                         ContentLength=len(content))

    async def open(self, key: str) -> StoredFile:
        key = _checked(key)
        answer = await self._call("get_object", key, Key=key)
        body = answer["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in body.iter_chunks(CHUNK):
                    yield chunk
            except Exception as exc:
                if not isinstance(exc, self._failures):
                    raise
                raise self._error(exc, key) from None  # the connection broke mid-file

        return StoredFile(int(answer.get("ContentLength") or 0), chunks, close=body.close)

    async def delete(self, key: str) -> None:
        key = _checked(key)
        await self._call("delete_object", key, Key=key)

    async def exists(self, key: str) -> bool:
        key = _checked(key)
        try:
            await self._call("head_object", key, Key=key)
        except NotFound:
            return False
        return True

    async def check(self) -> None:
        await self._call("head_bucket")

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()


def _load_s3_model(session: Any) -> None:
    """Read what botocore needs for an S3 client into its loader's cache."""
    loader = session.get_component("data_loader")
    with contextlib.suppress(Exception):  # another botocore: the client reads them itself
        loader.load_service_model("s3", "service-2")
        loader.load_service_model("s3", "endpoint-rule-set-1")
        for name in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
            loader.load_data(name)


def store_from_settings(settings: Any) -> FileStore:
    """The bucket when ``KONTAKT_S3_BUCKET`` is set, the data folder otherwise."""
    if getattr(settings, "s3_bucket", None):
        secret = settings.s3_secret_access_key
        return S3FileStore(
            bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region)
    return LocalFileStore(settings.data_dir)
