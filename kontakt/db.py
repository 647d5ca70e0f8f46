"""Database set-up: Tortoise configuration, init/close, migration state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

APP_LABEL = "kontakt"


def _normalise_url(url: str) -> str:
    # tortoise understands postgres:// (asyncpg) and sqlite://
    for prefix in ("postgresql://", "asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix):]
    return url


# what a tortoise URL may carry for its pool, which a single asyncpg connection does not
# take (it would send them to the server as settings)
_POOL_PARAMS = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime",
                "schema", "connection_class"}


def asyncpg_dsn(database_url: str) -> str | None:
    """The address for a connection of its own (asyncpg) to a PostgreSQL database URL
    (services.staff_listen); None for SQLite."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    url = _normalise_url(database_url)
    if not url.startswith("postgres://"):
        return None
    parts = urlsplit("postgresql://" + url[len("postgres://"):])
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _POOL_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


# SQLite's page cache per connection: 64 MB instead of 2 MB, so a report's sort over a
# quarter's stage events (the deal funnel) stays in memory (a quarter faster at 1M events)
SQLITE_CACHE = "cache_size=-65536"


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = _normalise_url(database_url)
    if url.startswith("sqlite://") and "cache_size=" not in url:
        url += ("&" if "?" in url else "?") + SQLITE_CACHE
    return {
        "connections": {"default": url},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _config_from_env() -> dict[str, Any]:
    from kontakt.config import Settings

    return tortoise_config(Settings().effective_database_url)


def __getattr__(name: str) -> Any:
    # ``TORTOISE_ORM`` is read by the ``tortoise`` CLI (pyproject [tool.tortoise]) for
    # makemigrations; computed on access so importing this module has no side effects.
    if name == "TORTOISE_ORM":
        return _config_from_env()
    raise AttributeError(name)


async def init_db(database_url: str) -> None:
    # Tortoise caches prepared INSERT/UPDATE SQL per connection *name*; a process that
    # opens another backend under the same name (tests run SQLite, then PostgreSQL)
    # must not reuse the other dialect's placeholders.
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()
    url = _normalise_url(database_url)
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=tortoise_config(database_url))
    # one process owns a SQLite file: the staff lookup may be cached (see StaffCache)
    from services.staff import STAFF_CACHE

    STAFF_CACHE.configure(ttl=30.0 if database_url.startswith("sqlite") else 0.0)
    from services import deal_stats  # counts of another database are not this one's

    deal_stats.refresh()
    from services import dictionaries  # nor is its seeding of the system lists

    dictionaries.forget_seeded()


async def close_db() -> None:
    await connections.close_all()


async def pending_migrations(database_url: str) -> list[str]:
    """Names of migrations not yet applied (needs an initialised Tortoise)."""
    config = tortoise_config(database_url)
    executor = MigrationExecutor(connections.get("default"), config["apps"])
    steps = await executor.plan([MigrationTarget(app_label=APP_LABEL, name="__latest__")])
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]


async def migrate(database_url: str, *, target: str | None = None, progress=None) -> None:
    """Apply migrations up to ``target`` (default: latest; ``__first__`` undoes all)."""
    config = tortoise_config(database_url)
    executor = MigrationExecutor(connections.get("default"), config["apps"])
    name = target or "__latest__"
    await executor.migrate([MigrationTarget(app_label=APP_LABEL, name=name)], progress=progress)


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")
