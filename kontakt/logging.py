"""Logging set-up whose formatter keeps secrets out of every line, tracebacks included."""

from __future__ import annotations

import logging
import sys


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def setup_logging(level: str, secrets: list[str], stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # at DEBUG these log connection settings and every query with its values
    # (invite codes, personal data): never below INFO
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    for noisy in ("tortoise", "tortoise.db_client", "asyncpg", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, numeric))
    return handler
