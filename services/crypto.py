"""Secrets at rest (K-1 OAuth refresh tokens, a service account key): Fernet
(AES-128-CBC with an HMAC) under a key derived from ``KONTAKT_SECRET_KEY`` with HKDF,
so the secret key itself is never the encryption key and one purpose's key cannot
open another's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretUnreadable(Exception):
    """The stored secret was made under another key, or was changed."""


def _key(secret: str, purpose: str) -> bytes:
    if not secret:
        raise ValueError("KONTAKT_SECRET_KEY is not set")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kontakt",
               info=purpose.encode()).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


def encrypt(secret: str, plain: str, *, purpose: str = "oauth") -> str:
    return Fernet(_key(secret, purpose)).encrypt(plain.encode()).decode()


def decrypt(secret: str, token: str, *, purpose: str = "oauth") -> str:
    try:
        return Fernet(_key(secret, purpose)).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(str(exc) or "invalid token") from None


def mac(secret: str, text: str, *, purpose: str) -> str:
    """An HMAC of ``text`` under the purpose's key (32 hex characters)."""
    return hmac.new(_key(secret, purpose), text.encode(), hashlib.sha256).hexdigest()[:32]


def sign(secret: str, payload: dict, *, purpose: str, ttl_s: int) -> str:
    """A short signed, expiring token (the OAuth ``state``): payload + expiry + HMAC."""
    body = json.dumps({**payload, "exp": int(time.time()) + ttl_s},
                      separators=(",", ":")).encode()
    raw = base64.urlsafe_b64encode(body).decode().rstrip("=")
    mac = hmac.new(_key(secret, purpose), raw.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{raw}.{mac}"


def unsign(secret: str, token: str, *, purpose: str) -> dict | None:
    """The payload, or None when the token is forged, damaged or expired."""
    try:
        raw, mac = token.rsplit(".", 1)
        good = hmac.new(_key(secret, purpose), raw.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(good, mac):
            return None
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
        return None
    return payload
