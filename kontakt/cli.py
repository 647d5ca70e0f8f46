"""The ``kontakt`` command: run, demo, migrate, invite, check."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from kontakt.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"kontakt: {message}", file=sys.stderr)
    return code


def _secrets_of(settings: Settings) -> list[str]:
    """Everything that must never appear in a log line."""
    from urllib.parse import urlsplit

    out = []
    if settings.bot_token:
        out.append(settings.bot_token.get_secret_value())
    if settings.secret_key:
        out.append(settings.secret_key.get_secret_value())
    if settings.smtp_password:
        out.append(settings.smtp_password.get_secret_value())
    if settings.sms_token:
        out.append(settings.sms_token.get_secret_value())
    if settings.sms_login:  # SMS.ru's api_id is the whole credential
        out.append(settings.sms_login)
    if settings.google_client_secret:
        out.append(settings.google_client_secret.get_secret_value())
    if settings.s3_secret_access_key:
        out.append(settings.s3_secret_access_key.get_secret_value())
    for url in (settings.database_url, settings.redis_url):
        if url:
            password = urlsplit(url).password
            if password:
                out.append(password)
    return out


async def _open_db(settings: Settings, *, require_migrated: bool) -> None:
    from kontakt import db

    try:
        await db.init_db(settings.effective_database_url)
        await db.ping()
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"KONTAKT_DATABASE_URL: cannot connect: {type(exc).__name__}: "
                          f"{exc}") from None
    if require_migrated:
        pending = await db.pending_migrations(settings.effective_database_url)
        if pending:
            await db.close_db()
            raise ConfigError(f"the database is not migrated ({len(pending)} pending: "
                              f"{', '.join(pending)}); run `kontakt migrate` first")


async def _run(settings: Settings) -> int:
    from kontakt import db
    from kontakt.runtime import StartupError, serve

    await _open_db(settings, require_migrated=True)
    try:
        await serve(settings)
    except StartupError as exc:
        await db.close_db()
        return _fail(str(exc), 1)
    return 0


async def _demo(settings: Settings, fresh: bool) -> int:
    from kontakt import db
    from kontakt.demo import seed_demo
    from kontakt.runtime import SANDBOX_BOT_USERNAME, SANDBOX_TOKEN, serve
    from web.emulator import BotApiEmulator

    path = Path(settings.effective_database_url.removeprefix("sqlite://"))
    if fresh:
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = path.with_name(path.name + suffix)
            if p.exists():
                p.unlink()
    if settings.http_host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the sandbox listens on {settings.http_host}: anyone who reaches it "
              "can act as any demo person", file=sys.stderr)
    await db.init_db(settings.effective_database_url)
    await db.migrate(settings.effective_database_url)
    emulator = BotApiEmulator(token=SANDBOX_TOKEN, bot_username=SANDBOX_BOT_USERNAME,
                              bot_first_name="Kontakt", allow_local_webapps=True)
    summary = await seed_demo(emulator, bot_username=SANDBOX_BOT_USERNAME)
    print(f"Kontakt demo: open {settings.base_url}/sandbox  (health: {settings.base_url}/health)")
    print(summary)
    await serve(settings, emulator=emulator)
    return 0


async def _migrate(settings: Settings, target: str | None) -> int:
    from kontakt import db

    await _open_db(settings, require_migrated=False)
    try:
        pending = await db.pending_migrations(settings.effective_database_url)

        def progress(event: str, app: str, name: str) -> None:
            if event.endswith("_done"):
                print(f"  {event.split('_')[0]}: {app}.{name}")

        await db.migrate(settings.effective_database_url, target=target, progress=progress)
        if target is None:
            from services.clients import do_reindex_missing

            if indexed := await do_reindex_missing():
                print(f"  search index: {indexed} clients indexed")
        if not pending and target is None:
            print("Nothing to migrate: the database is up to date.")
        else:
            print("Done.")
    finally:
        await db.close_db()
    return 0


async def _invite(settings: Settings, role: str, department: str | None, hours: int,
                  bot_username: str | None) -> int:
    from kontakt import db
    from models import Department
    from services import staff as staff_service

    if bot_username is None:
        if settings.bot_token is None:
            raise ConfigError("KONTAKT_BOT_TOKEN: missing (needed to learn the bot's username; "
                              "or pass --bot-username)")
        bot_username = await _bot_username(settings)
    await _open_db(settings, require_migrated=True)
    try:
        dept_id = None
        if department:
            if department.isdigit():
                matches = await Department.filter(id=int(department))
            else:
                matches = await Department.filter(name=department)
            if len(matches) > 1:
                raise ConfigError(f"--department: {len(matches)} departments are called "
                                  f"{department!r}; give the id ("
                                  + ", ".join(str(d.id) for d in matches) + ")")
            dept = matches[0] if matches else None
            if dept is None:
                names = ", ".join(await Department.all().values_list("name", flat=True))
                raise ConfigError(f"--department: no department {department!r} "
                                  f"(known: {names or 'none yet'})")
            dept_id = dept.id
        result = await staff_service.do_create_invite(
            None, role=role, department_id=dept_id, ttl=timedelta(hours=hours))
    finally:
        await db.close_db()
    print(staff_service.invite_link(bot_username, result.code))
    print(f"role: {role}; single use; expires {result.invite.expires_at:%Y-%m-%d %H:%M} UTC",
          file=sys.stderr)
    return 0


async def _bot_username(settings: Settings) -> str:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = (AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
               if settings.telegram_api_url else None)
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    try:
        me = await bot.get_me()
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"KONTAKT_BOT_TOKEN: Bot API getMe failed: {type(exc).__name__}: "
                          f"{exc}") from None
    finally:
        await bot.session.close()
    return me.username or "bot"


async def _check(settings: Settings) -> int:
    from kontakt import db

    ok = True
    print("config: ok")
    try:
        await _open_db(settings, require_migrated=False)
        pending = await db.pending_migrations(settings.effective_database_url)
        print("database: ok" + (f" ({len(pending)} migrations pending: run `kontakt migrate`)"
                                if pending else " (migrated)"))
        ok = ok and not pending
        await db.close_db()
    except ConfigError as exc:
        print(f"database: FAILED — {exc}")
        ok = False
    from services.storage import StorageUnavailable, store_from_settings

    files = store_from_settings(settings)
    try:
        await files.check()
        print(f"files: ok ({files.describe()})")
    except StorageUnavailable as exc:
        print(f"files: FAILED — {exc}")
        ok = False
    finally:
        await files.close()
    from services.invoice_pdf import FontMissing, font_paths

    try:
        print(f"invoice fonts: ok ({font_paths(settings.pdf_font_dir)[''].parent})")
    except FontMissing as exc:
        print(f"invoice fonts: FAILED — {exc}")
        ok = False
    if settings.bot_token is None:
        print("bot api: FAILED — KONTAKT_BOT_TOKEN is missing")
        ok = False
    else:
        try:
            name = await _bot_username(settings)
            print(f"bot api: ok (@{name} at {settings.telegram_api_url or 'api.telegram.org'})")
        except ConfigError as exc:
            print(f"bot api: FAILED — {exc}")
            ok = False
    return 0 if ok else 1


async def _copy_files(settings: Settings) -> int:
    from kontakt import db
    from services.documents import copy_files
    from services.storage import LocalFileStore, StorageUnavailable, store_from_settings

    if not settings.s3_bucket:
        raise ConfigError("KONTAKT_S3_BUCKET: not set, so files already live in the data "
                          "folder; set the KONTAKT_S3_* settings of the bucket to copy to")
    source, target = LocalFileStore(settings.data_dir), store_from_settings(settings)
    await _open_db(settings, require_migrated=True)
    try:
        copied, present, missing = await copy_files(source, target)
    except StorageUnavailable as exc:
        raise ConfigError(f"KONTAKT_S3_BUCKET: {exc}") from None
    finally:
        await target.close()
        await db.close_db()
    print(f"Copied {copied} files from {source.describe()} to {target.describe()}; "
          f"{present} were there already.")
    for key in missing:
        print(f"missing in the data folder: {key}", file=sys.stderr)
    return 1 if missing else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kontakt", description="Kontakt CRM service")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the service (bot, web pages, API, scheduler)")
    d = sub.add_parser("demo", help="run on a demo SQLite database with the Telegram sandbox")
    d.add_argument("--keep", action="store_true", help="keep the demo database of a last run")
    m = sub.add_parser("migrate", help="apply database migrations")
    m.add_argument("--target", help="migrate to this migration (e.g. 0001_initial, __first__)")
    i = sub.add_parser("invite", help="print a one-time invite deep link")
    i.add_argument("--role", required=True, choices=["admin", "head", "manager"])
    i.add_argument("--department", help="department name or id")
    i.add_argument("--hours", type=int, default=72, help="valid for this many hours (72)")
    i.add_argument("--bot-username", help="skip asking Telegram for the bot's username")
    sub.add_parser("check", help="check config, database, file storage and Bot API")
    sub.add_parser("copy-files", help="copy attached files from the data folder to the S3 "
                                      "bucket (once, when moving to S3; safe to repeat)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            settings = load_settings(sandbox=True, **_demo_overrides())
        else:
            settings = load_settings(require_token=args.command == "run",
                                     require_secret=args.command == "run")
            if settings.sandbox:
                raise ConfigError("KONTAKT_SANDBOX: the sandbox runs only with `kontakt demo` "
                                  "(on its own demo database); unset it for `kontakt run`")
        if args.command == "invite" and not 1 <= args.hours <= 720:
            raise ConfigError("--hours: must be between 1 and 720")
    except ConfigError as exc:
        return _fail(str(exc))
    from kontakt.logging import setup_logging

    setup_logging(settings.log_level, _secrets_of(settings))
    try:
        if args.command == "run":
            return asyncio.run(_run(settings))
        if args.command == "demo":
            return asyncio.run(_demo(settings, fresh=not args.keep))
        if args.command == "migrate":
            return asyncio.run(_migrate(settings, args.target))
        if args.command == "invite":
            return asyncio.run(_invite(settings, args.role, args.department, args.hours,
                                       args.bot_username))
        if args.command == "check":
            return asyncio.run(_check(settings))
        if args.command == "copy-files":
            return asyncio.run(_copy_files(settings))
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


def _demo_overrides() -> dict:
    """The demo always runs on its own SQLite file and its own emulator, whatever the
    environment says about the production database or Telegram."""
    import os

    from kontakt.config import DEFAULT_DATA_DIR

    data_dir = os.environ.get("KONTAKT_DATA_DIR") or str(DEFAULT_DATA_DIR)
    return {
        "database_url": f"sqlite://{data_dir}/demo.sqlite3",
        "telegram_api_url": None,
        "public_url": None,
        "redis_url": None,
        "s3_bucket": None,  # the demo's files stay in its data folder, never a real bucket
        "s3_endpoint_url": None,
        "secret_key": os.environ.get("KONTAKT_SECRET_KEY") or secrets.token_urlsafe(32),
    }


if __name__ == "__main__":
    sys.exit(main())
