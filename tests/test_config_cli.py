"""Configuration and the CLI (P-3): a bad value stops start-up with one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from kontakt.config import ConfigError, load_settings

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KONTAKT_")}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kontakt", *args],
        env={**BASE_ENV, **env}, capture_output=True, text=True, timeout=60,
        # an empty directory: no .env read, and no stray bot.py or models.py shadowing
        # the package (/tmp is anyone's scratch space)
        cwd=tempfile.mkdtemp(prefix="kontakt-cli-"),
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"KONTAKT_HTTP_PORT": "eighty"}, "KONTAKT_HTTP_PORT"),
        ({"KONTAKT_HTTP_PORT": "70000"}, "KONTAKT_HTTP_PORT"),
        ({"KONTAKT_BOT_TOKEN": "not-a-token"}, "KONTAKT_BOT_TOKEN"),
        ({"KONTAKT_DATABASE_URL": "mysql://x"}, "KONTAKT_DATABASE_URL"),
        ({"KONTAKT_DEFAULT_TIMEZONE": "Mars/Olympus"}, "KONTAKT_DEFAULT_TIMEZONE"),
        ({"KONTAKT_DEFAULT_LANGUAGE": "de"}, "KONTAKT_DEFAULT_LANGUAGE"),
        ({"KONTAKT_PUBLIC_URL": "ftp://x"}, "KONTAKT_PUBLIC_URL"),
        ({"KONTAKT_SECRET_KEY": "short"}, "KONTAKT_SECRET_KEY"),
        ({"KONTAKT_PUBLIC_URL": "http://crm.example.com"}, "KONTAKT_PUBLIC_URL"),  # not https
        ({"KONTAKT_SANDBOX": "true", "KONTAKT_BOT_TOKEN": "123:abcdefgh",
          "KONTAKT_SECRET_KEY": "x" * 32}, "KONTAKT_SANDBOX"),  # never on real data
        ({}, "KONTAKT_BOT_TOKEN"),  # run without a token
        ({"KONTAKT_BOT_TOKEN": "123:abcdefgh"}, "KONTAKT_SECRET_KEY"),  # ... or a secret key
    ],
)
def test_bad_config_exits_2_naming_the_variable(env, variable):
    proc = run_cli("run", **env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert variable in lines[0]
    assert "Traceback" not in proc.stderr


def test_run_refuses_an_unmigrated_database(tmp_path):
    proc = run_cli("run", KONTAKT_BOT_TOKEN="123:abcdefgh",
                   KONTAKT_SECRET_KEY="x" * 32,
                   KONTAKT_DATABASE_URL=f"sqlite://{tmp_path / 'fresh.sqlite3'}")
    assert proc.returncode == 2
    assert "kontakt migrate" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_migrate_then_invite_prints_a_deep_link(tmp_path):
    env = {"KONTAKT_DATABASE_URL": f"sqlite://{tmp_path / 'k.sqlite3'}"}
    proc = run_cli("migrate", **env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("migrate", **env)
    assert "up to date" in proc.stdout
    proc = run_cli("invite", "--role", "admin", "--bot-username", "acme_bot", **env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("https://t.me/acme_bot?start=inv_")
    proc = run_cli("invite", "--role", "boss", "--bot-username", "acme_bot", **env)
    assert proc.returncode == 2
    proc = run_cli("invite", "--role", "manager", "--department", "Nowhere",
                   "--bot-username", "acme_bot", **env)
    assert proc.returncode == 2 and "--department" in proc.stderr


def test_check_reports_each_part(tmp_path):
    env = {"KONTAKT_DATABASE_URL": f"sqlite://{tmp_path / 'k.sqlite3'}"}
    proc = run_cli("check", **env)
    assert proc.returncode == 1
    assert "config: ok" in proc.stdout
    assert "migrations pending" in proc.stdout
    assert "KONTAKT_BOT_TOKEN is missing" in proc.stdout


def test_settings_defaults_and_derived_values(tmp_path):
    s = load_settings(data_dir=tmp_path, bot_token=None, database_url="", public_url="")
    assert s.effective_database_url.startswith("sqlite://")
    assert s.base_url == "http://127.0.0.1:8080"
    assert not s.webhook_mode
    s = load_settings(public_url="https://crm.example.com/", bot_token="1:abcdefg")
    assert s.base_url == "https://crm.example.com"
    assert s.webhook_mode
    with pytest.raises(ConfigError, match="KONTAKT_REDIS_URL"):
        load_settings(redis_url="http://localhost")


def test_secrets_never_reach_logs():
    import io
    import logging

    from kontakt.logging import setup_logging

    stream = io.StringIO()
    token = "123456:SECRET-token-value"
    handler = setup_logging("INFO", [token], stream=stream)
    try:
        log = logging.getLogger("kontakt.test")
        log.info("calling https://api.telegram.org/bot%s/getMe", token)
        try:
            raise RuntimeError(f"failed at /bot{token}/sendMessage")
        except RuntimeError:
            log.exception("boom")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert "SECRET-token-value" not in out
    assert "***" in out


def test_database_and_redis_passwords_are_redacted():
    from kontakt.cli import _secrets_of

    s = load_settings(database_url="postgres://kontakt:pg-pass-123@db:5432/k",
                      redis_url="redis://:redis-pass-456@cache:6379/0",
                      bot_token="123:abcdefgh", secret_key="k" * 20)
    found = _secrets_of(s)
    assert {"pg-pass-123", "redis-pass-456", "123:abcdefgh", "k" * 20} <= set(found)


def test_google_client_secret_and_sms_credentials_are_redacted():
    """Issue 18: like the other secrets, these never reach a log line."""
    import io
    import logging

    from kontakt.cli import _secrets_of
    from kontakt.logging import setup_logging

    s = load_settings(google_client_id="123-abc.apps.googleusercontent.com",
                      google_client_secret="GOCSPX-google-secret-1", sms_provider="smsru",
                      sms_login="A1B2C3D4-sms-api-id", sms_token="twilio-auth-token-9",
                      bot_token="123:abcdefgh", secret_key="k" * 20)
    stream = io.StringIO()
    handler = setup_logging("INFO", _secrets_of(s), stream=stream)
    try:
        logging.getLogger("kontakt.test").warning(
            "token endpoint said no for GOCSPX-google-secret-1; sms.ru api_id="
            "A1B2C3D4-sms-api-id; twilio twilio-auth-token-9")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    for secret in ("GOCSPX-google-secret-1", "A1B2C3D4-sms-api-id", "twilio-auth-token-9"):
        assert secret not in out
