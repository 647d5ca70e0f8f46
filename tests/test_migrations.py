"""Migrations: committed files apply, undo and re-apply on each backend."""

from __future__ import annotations

import pytest

from kontakt import db as kdb
from models import Department, User


@pytest.mark.timeout(900)  # twenty migrations down and up: minutes on a busy machine
async def test_migration_round_trip(database_url):
    assert await kdb.pending_migrations(database_url) == []
    await Department.create(name="Sales")
    await kdb.migrate(database_url, target="__first__")
    assert await kdb.pending_migrations(database_url) == ["kontakt.0001_initial",
                                                         "kontakt.0002_clients",
                                                         "kontakt.0003_search_tokens",
                                                         "kontakt.0004_activities",
                                                         "kontakt.0005_discussions",
                                                         "kontakt.0006_messaging",
                                                         "kontakt.0007_mailings",
                                                         "kontakt.0008_client_notices",
                                                         "kontakt.0009_calendar_sync",
                                                         "kontakt.0010_deals",
                                                         "kontakt.0011_deal_archived_index",
                                                         "kontakt.0012_sales",
                                                         "kontakt.0013_activity_order",
                                                         "kontakt.0014_settlements",
                                                         "kontakt.0015_indexes",
                                                         "kontakt.0016_sales_plans",
                                                         "kontakt.0017_ranking",
                                                         "kontakt.0018_motivation",
                                                         "kontakt.0019_loyalty",
                                                         "kontakt.0020_staff_classes",
                                                         "kontakt.0021_analytics_indexes",
                                                         "kontakt.0022_marketing",
                                                         "kontakt.0023_search_name_order",
                                                         "kontakt.0024_token_index",
                                                         "kontakt.0025_staff_notify"]
    await kdb.migrate(database_url)
    assert await kdb.pending_migrations(database_url) == []
    assert await Department.all().count() == 0  # tables were dropped and made anew
    user = await User.create(full_name="Ann", telegram_id=1)
    assert user.created_at.tzinfo is not None  # stored times are UTC-aware


async def test_models_match_the_committed_migrations(database_url):
    """Nothing in models/ lacks a migration (makemigrations would write nothing)."""
    from tortoise import Tortoise
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = kdb.tortoise_config(database_url)
    detector = MigrationAutodetector(Tortoise.apps, config["apps"])
    writers = await detector.changes()
    assert writers == [], [w.name for w in writers]


def test_model_descriptions_survive_sqlite_migrations():
    """A model's docstring's first line becomes its table's comment, which the SQLite
    migration writes into SQL, split at each ";": one there breaks the migration."""
    import inspect

    from tortoise.models import Model

    import models

    bad = [name for name, obj in inspect.getmembers(models, inspect.isclass)
           if issubclass(obj, Model) and obj.__doc__
           and any(bad in obj.__doc__.strip().split("\n")[0] for bad in (";",))]
    assert not bad, bad
