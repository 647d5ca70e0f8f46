"""The APScheduler instance. The database is the source of truth; jobs here only
wake the process (housekeeping now; reminders and mailings in later sections).

Every job runs through :class:`JobRunner`, which

* keeps track of running jobs so shutdown can wait for them before the database
  closes (APScheduler 3 does not wait for coroutine jobs), and
* with Redis configured, takes a cross-replica lock per job, so of several
  replicas only one runs a given job at a time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.staff import purge_expired

log = logging.getLogger("kontakt.scheduler")

_UNLOCK = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
           "return redis.call('del', KEYS[1]) else return 0 end")


class JobRunner:
    def __init__(self, redis=None, *, lock_ttl_s: int = 300) -> None:
        self.redis = redis
        self.lock_ttl_s = lock_ttl_s
        self._running: set[asyncio.Task] = set()

    def wrap(self, name: str, job: Callable[[], Awaitable[object]]):
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                token = secrets.token_hex(8)
                key = f"kontakt:job:{name}"
                if self.redis is not None and not await self.redis.set(
                        key, token, nx=True, ex=self.lock_ttl_s):
                    log.debug("job %s runs on another replica", name)
                    return
                try:
                    await job()
                finally:
                    if self.redis is not None:
                        await self.redis.eval(_UNLOCK, 1, key, token)
            except Exception:
                log.exception("job %s failed", name)
            finally:
                if task is not None:
                    self._running.discard(task)
        run.__name__ = name
        return run

    async def wait_idle(self, timeout: float) -> None:
        if self._running:
            await asyncio.wait(list(self._running), timeout=timeout)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


async def housekeeping() -> None:
    removed = await purge_expired()
    if removed:
        log.info("housekeeping: removed %d expired login links and sessions", removed)


def build_scheduler(redis_url: str | None = None) -> tuple[AsyncIOScheduler, JobRunner]:
    redis = None
    if redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(redis_url)
    runner = JobRunner(redis)
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True,
                                                             "misfire_grace_time": 300})
    scheduler.add_job(runner.wrap("housekeeping", housekeeping), "interval", hours=1,
                      id="housekeeping", replace_existing=True)
    scheduler.add_job(runner.wrap("deal-probability", deal_probabilities), "cron", hour=1,
                      minute=30, id="deal-probability", replace_existing=True)
    return scheduler, runner


async def deal_probabilities() -> None:
    """U-5: every open deal's win probability anew, at night (UTC), from the day's
    closed deals; the runner's lock keeps it to one replica."""
    from services.deal_stats import recompute_all

    count = await recompute_all()
    log.info("deal probabilities recomputed for %d open deals", count)


def add_organizer_jobs(scheduler: AsyncIOScheduler, runner: JobRunner, bot, i18n) -> None:
    """The morning digests and overdue escalations (notifications.digest): every five
    minutes each looks for what has come due; the database says what was sent."""
    from functools import partial

    from notifications.digest import send_digests, send_escalations

    scheduler.add_job(runner.wrap("digests", partial(send_digests, bot, i18n)), "interval",
                      minutes=5, id="digests", replace_existing=True)
    scheduler.add_job(runner.wrap("escalations", partial(send_escalations, bot, i18n)),
                      "interval", minutes=5, id="escalations", replace_existing=True)
    from notifications.deal_alerts import send_deal_escalations

    scheduler.add_job(runner.wrap("deal-escalations", partial(send_deal_escalations, bot,
                                                              i18n)),
                      "interval", minutes=15, id="deal-escalations", replace_existing=True)


def add_mailing_job(scheduler: AsyncIOScheduler, runner: JobRunner, outbox, *, secret: str,
                    base_url: str, interval_s: int = 10) -> None:
    """K-16: every few seconds the running mailings put their next recipients, within
    their rate, into the outbox (services.mailings.pump), then the outbox is woken."""
    from services.mailings import pump
    from services.messaging import send_client_notices

    async def job() -> None:
        queued = await pump(secret=secret, base_url=base_url, interval_s=interval_s)
        queued += await send_client_notices()  # the client told before an activity
        if queued:
            outbox.poke()

    scheduler.add_job(runner.wrap("mailings", job), "interval", seconds=interval_s,
                      id="mailings", replace_existing=True)


def add_mailing_progress_job(scheduler: AsyncIOScheduler, runner: JobRunner, progress, *,
                             interval_s: int = 5) -> None:
    """K-16 in Telegram: every few seconds the mailings' progress messages are edited
    as their counts change, and the end summaries that are due are sent
    (notifications.mailings.MailingProgress)."""
    scheduler.add_job(runner.wrap("mailing-progress", progress.run_once), "interval",
                      seconds=interval_s, id="mailing-progress", replace_existing=True)


def add_ranking_job(scheduler: AsyncIOScheduler, runner: JobRunner, *, lang: str = "ru",
                    hour: int = 2, minute: int = 15) -> None:
    """K-8: every client ranked anew at night (UTC) and moved between the ABC groups
    (services.ranking_run); the runner's lock keeps it to one replica."""
    from functools import partial

    from services.ranking_run import nightly

    scheduler.add_job(runner.wrap("client-ranking", partial(nightly, lang)), "cron",
                      hour=hour, minute=minute, id="client-ranking", replace_existing=True)


def add_loyalty_job(scheduler: AsyncIOScheduler, runner: JobRunner, *, hour: int = 2,
                    minute: int = 45) -> None:
    """U-9: at night (UTC) the loyalty points whose time is up expire and every card's
    tier is worked out anew from the client's spend (services.loyalty_run)."""
    from services.loyalty_run import nightly

    scheduler.add_job(runner.wrap("loyalty", nightly), "cron", hour=hour, minute=minute,
                      id="loyalty", replace_existing=True)


def add_due_reminder_job(scheduler: AsyncIOScheduler, runner: JobRunner, bot, i18n, outbox,
                         *, minutes: int = 15) -> None:
    """K-6, M-6: reminders before and after invoices' due dates (notifications.due);
    the database's unique rows say what was sent, so a round may run anywhere."""
    from functools import partial

    from notifications.due import send_due_reminders

    scheduler.add_job(runner.wrap("due-reminders", partial(send_due_reminders, bot, i18n,
                                                           outbox)),
                      "interval", minutes=minutes, id="due-reminders", replace_existing=True)


def add_dealer_grade_job(scheduler: AsyncIOScheduler, runner: JobRunner, *, hour: int = 3,
                         minute: int = 5) -> None:
    """M-7: at night (UTC) every dealer not graded by hand is graded anew from its
    numbers (services.dealer_grades)."""
    from services.dealer_grades import nightly

    scheduler.add_job(runner.wrap("dealer-grades", nightly), "cron", hour=hour,
                      minute=minute, id="dealer-grades", replace_existing=True)
