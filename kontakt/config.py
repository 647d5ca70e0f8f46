"""Configuration from the environment (prefix ``KONTAKT_``) and ``.env``.

A wrong or missing value stops start-up with one line naming the variable:
:func:`load_settings` raises :class:`ConfigError`, the CLI prints it and exits 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LANGUAGES = ("ru", "uk", "en")
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{5,}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
DEFAULT_DATA_DIR = Path("data")


class ConfigError(Exception):
    """One line for the operator: the variable and what is wrong with it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KONTAKT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    database_url: str = Field(default="")
    redis_url: str | None = None
    telegram_api_url: str | None = None
    public_url: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    secret_key: SecretStr | None = None
    default_language: Literal["ru", "uk", "en"] = "ru"
    default_timezone: str = "Europe/Moscow"
    data_dir: Path = DEFAULT_DATA_DIR
    # Mini App initData older than this is refused (see README, "Web sign-in").
    webapp_auth_max_age_s: int = Field(default=3600, ge=60, le=7 * 86400)
    sandbox: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # A-18 email to clients (no host: emails wait in the outbox until one is set)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Kontakt <noreply@localhost>"
    # A-18 SMS to clients through one provider (none: SMS wait in the outbox)
    sms_provider: Literal["none", "generic", "smsru", "twilio"] = "none"
    sms_url: str | None = None  # generic: the endpoint; smsru/twilio: another base URL
    sms_method: Literal["POST", "GET"] = "POST"  # generic
    sms_body: str = '{"to": "{to}", "text": "{text}", "sender": "{sender}"}'  # generic
    sms_login: str | None = None  # smsru: api_id; twilio: Account SID
    sms_token: SecretStr | None = None  # twilio: auth token; generic: Bearer token
    sms_sender: str = "Kontakt"
    # K-1 Google Calendar sync (no client id: the /calendar command says it is not set up)
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    google_api_endpoint: str | None = None  # another Calendar API address (tests, proxies)
    calendar_poll_s: int = Field(default=300, ge=5, le=86400)  # pull without notifications
    # Attached files in an S3-compatible bucket (AWS S3, Yandex Object Storage, MinIO) so that
    # several replicas share them; no bucket: the local data folder (DATA_DIR/documents)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # none: AWS S3 itself
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    # The reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma
    # separated): public pages (K-10 lead forms) limit visitors by their own address
    trusted_proxies: str = "127.0.0.1,::1"
    # S-17 invoice PDFs: the folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf
    pdf_font_dir: Path = Path("/usr/share/fonts/truetype/dejavu")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not TOKEN_RE.match(v.get_secret_value()):
            raise ValueError("not a Telegram bot token (expected <digits>:<secret>)")
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: str) -> str:
        import ipaddress

        for part in filter(None, (p.strip() for p in v.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"not an address or a network: {part}") from None
        return v

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, v: str) -> str:
        if v and not v.startswith(("sqlite://", "postgres://", "postgresql://", "psycopg://",
                                   "asyncpg://")):
            raise ValueError("must start with sqlite:// or postgres://")
        return v

    @field_validator("telegram_api_url", "public_url", "google_api_endpoint", "s3_endpoint_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        parsed = urlparse(v)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not BUCKET_RE.match(v):
            raise ValueError("not a bucket name (3-63 lower-case letters, digits, dots, "
                             "hyphens)")
        return v

    @field_validator("s3_access_key_id", "s3_secret_access_key", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return None if v == "" else v

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis:// or rediss://")
        return v

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Kyiv)")
        return v

    @field_validator("secret_key")
    @classmethod
    def _secret_len(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 16:
            raise ValueError("too short: use at least 16 random characters")
        return v

    # -- derived values ---------------------------------------------------
    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'kontakt.sqlite3').as_posix()}"

    @property
    def base_url(self) -> str:
        """The URL people reach the web pages at."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def webhook_mode(self) -> bool:
        return bool(self.public_url) and not self.sandbox


def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = first.get("loc") or ("?",)
    name = "KONTAKT_" + str(loc[0]).upper()
    msg = str(first.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    return f"{name}: {msg}"


def load_settings(*, require_token: bool = False, require_secret: bool = False,
                  **overrides) -> Settings:
    """Read the settings; raise :class:`ConfigError` with one line on a bad value."""
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(_format_error(err)) from None
    if settings.public_url and settings.public_url.startswith("http://") \
            and not settings.telegram_api_url and not settings.sandbox:
        raise ConfigError("KONTAKT_PUBLIC_URL: must be https:// (Telegram delivers webhooks "
                          "and opens Mini Apps only over HTTPS; a self-hosted Bot API server "
                          "set in KONTAKT_TELEGRAM_API_URL may use http)")
    if settings.s3_endpoint_url and not settings.s3_bucket:
        raise ConfigError("KONTAKT_S3_BUCKET: missing (KONTAKT_S3_ENDPOINT_URL is set: name "
                          "the bucket that keeps the files)")
    if bool(settings.s3_access_key_id) != bool(settings.s3_secret_access_key):
        missing = "SECRET_ACCESS_KEY" if settings.s3_access_key_id else "ACCESS_KEY_ID"
        raise ConfigError(f"KONTAKT_S3_{missing}: missing (the key id and its secret go "
                          "together)")
    if require_token and settings.bot_token is None:
        raise ConfigError("KONTAKT_BOT_TOKEN: missing (the token @BotFather gave you)")
    if require_secret and settings.secret_key is None:
        raise ConfigError("KONTAKT_SECRET_KEY: missing (at least 16 random characters; "
                          "it signs sessions and encrypts stored tokens)")
    return settings
