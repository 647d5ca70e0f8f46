"""The APScheduler instance. The database is the source of truth; jobs here only
wake the process (housekeeping now; reminders and mailings in later sections)."""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.staff import purge_expired

log = logging.getLogger("kontakt.scheduler")


async def housekeeping() -> None:
    removed = await purge_expired()
    if removed:
        log.info("housekeeping: removed %d expired login links and sessions", removed)


def build_scheduler() -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True,
                                                             "misfire_grace_time": 300})
    scheduler.add_job(housekeeping, "interval", hours=1, id="housekeeping",
                      replace_existing=True)
    return scheduler
