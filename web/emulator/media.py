"""Small helpers for files: ids and image sizes (stdlib only)."""

from __future__ import annotations

import secrets
import struct

_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "other": "CAACAgIAAxkBAAI"}


def new_file_id(kind: str) -> str:
    return _PREFIX.get(kind, _PREFIX["other"]) + secrets.token_urlsafe(36)


def new_unique_id() -> str:
    return "AgAD" + secrets.token_urlsafe(9)


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) for PNG/GIF/JPEG/WebP data; (512, 512) if unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            w, h = struct.unpack(">II", data[16:24])
            return int(w), int(h)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return int(w), int(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return w, h
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                    i += 2
                    continue
                seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return int(w), int(h)
                i += 2 + seg_len
    except (struct.error, IndexError):
        pass
    return 512, 512


_EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/json": "json",
    "application/zip": "zip",
}


def extension(filename: str | None, mime_type: str | None) -> str:
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        if ext.isalnum() and len(ext) <= 8:
            return ext
    return _EXT.get((mime_type or "").lower(), "bin")


def guess_mime(filename: str | None) -> str:
    import mimetypes

    return (mimetypes.guess_type(filename or "")[0]) or "application/octet-stream"
