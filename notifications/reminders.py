"""Reminder delivery (K-15, M-15).

The database is the source of truth; this only wakes the process at the next due
time. Each round claims the due rows with one conditional UPDATE stamped with a
token unique to the round (pending and due, or a lease that ran out because a
process died while sending), so with several replicas on one database each
reminder is claimed once; then it sends them and marks each one sent.

* Due while the service was down: sent at start, marked late.
* 429 (flood limit): the row waits ``retry_after`` seconds and is tried again.
* 403 (the person blocked the bot) or a vanished chat: tried again hourly for a
  day (the person may unblock), then failed with the reason. The activity still
  shows in /today, /overdue and the web agenda, so nothing is lost.
* Any other error: retried with backoff (30 s, 1, 2, 4... min, at most 10 tries).
"""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import ActivityCB, ReminderCB
from kontakt.botapi import SendMessageUnread, callback_keyboard
from kontakt.formatting import time_text, when_text
from models import Activity, ActivityType, Client, Reminder, ReminderState, User
from notifications.claimloop import BatchedMarks, ClaimLoop
from services.clock import utcnow

log = logging.getLogger("kontakt.reminders")

LATE_AFTER = timedelta(minutes=2)
BLOCKED_RETRY = timedelta(hours=1)
BLOCKED_TRIES = 24
MAX_TRIES = 10


ACTIVITY_FIELDS = ("id", "title", "type_id", "client_id", "location", "state", "rrule")


async def type_icons(type_ids: set[int]) -> dict[int, str]:
    return dict(await ActivityType.filter(id__in=list(type_ids)).values_list("id", "icon"))


class ReminderDispatcher(ClaimLoop):
    model = Reminder
    waiting = ReminderState.PENDING
    sending = ReminderState.SENDING
    name = "reminders"
    claim_order = ("due_at", "id")
    # what sending needs: a burst reads a thousand rows, and each datetime read costs
    claim_fields = ("id", "activity_id", "user_id", "occurrence_start", "due_at", "state",
                    "claimed_until", "claimed_by", "attempts", "snoozed", "late", "sent_at")

    def __init__(self, bot: Bot, i18n: I18n, *, replica: str | None = None,
                 batch: int = 500, concurrency: int = 20,
                 max_per_second: float | None = 25.0) -> None:
        super().__init__(replica=replica, batch=batch)
        self.bot = bot
        self.i18n = i18n
        # Telegram lets a bot send about 30 messages a second in all; keep under it so
        # a burst is paced instead of answered with 429s (None: no pacing)
        self.interval = 1.0 / max_per_second if max_per_second else 0.0
        self._next_slot = 0.0
        self._pace = asyncio.Lock()
        self.concurrency = concurrency
        self._labels: dict[str, tuple[str, ...]] = {}  # the buttons' texts by language

    # the first claim of a round is small, so the first messages of a burst leave while
    # the rest is claimed and read (issue 19: a claim of 500 and its reads took ~80 ms);
    # each next claim is twice the last, up to the batch, so it is read before the
    # batch in front of it has been sent
    first_batch = 50

    async def run_once(self) -> int:
        """Claim and send what is due; returns how many were claimed. A batch starts
        sending as soon as it is read; the next is claimed and read while it sends, and
        its sends queue behind it (one gate of ``concurrency`` for the round), so a
        burst neither waits on the database between batches nor drains to nothing at
        their seams; one batch at most is read ahead."""
        limit = min(self.first_batch, self.batch)
        claimed = await self.claim(limit)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        marks = BatchedMarks(self._mark_sent)
        total, sending, previous = 0, None, None
        try:
            while claimed:
                batch = asyncio.create_task(self._send_batch(
                    claimed, gate, marks, await self._read(claimed)))
                total += len(claimed)
                previous, sending = sending, batch
                if previous is not None:
                    await previous  # only one batch is read ahead
                    previous = None
                if len(claimed) < limit:
                    break  # nothing more was due
                limit = min(self.batch, limit * 2)
                claimed = await self.claim(limit)
            await sending
        except BaseException:
            for task in (previous, sending):
                if task is not None:
                    task.cancel()
            raise
        finally:
            await marks.close()
        return total

    async def _read(self, claimed: list[Reminder]) -> tuple[dict, dict, dict]:
        """What a batch's messages need, in four queries for the batch (none per
        reminder): the activities (their type's icon set on them), people, clients."""
        # only what the message and the checks read (no datetimes: they are slow to read)
        activities = {a.id: a for a in await Activity.filter(
            id__in=list({r.activity_id for r in claimed})).only(*ACTIVITY_FIELDS)}
        icons = await type_icons({a.type_id for a in activities.values()})
        for a in activities.values():
            a.icon = icons.get(a.type_id)
        users = {u.id: u for u in await User.filter(
            id__in=list({r.user_id for r in claimed})).only(
                "id", "status", "telegram_id", "language", "timezone")}
        client_ids = {a.client_id for a in activities.values() if a.client_id}
        clients = {c.id: c.name for c in await Client.filter(id__in=list(client_ids))} \
            if client_ids else {}
        return activities, users, clients

    async def _send_batch(self, claimed: list[Reminder], gate: asyncio.Semaphore,
                          marks: BatchedMarks, read: tuple[dict, dict, dict]) -> None:
        activities, users, clients = read

        async def one(reminder: Reminder) -> None:
            async with gate:
                await self._paced()
                await self._deliver(reminder, activities.get(reminder.activity_id),
                                    users.get(reminder.user_id), clients, marks)

        await asyncio.gather(*(one(r) for r in claimed))

    async def _paced(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        async with self._pace:
            now = loop.time()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self.interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def _deliver(self, reminder: Reminder, activity: Activity | None, user: User | None,
                       clients: dict[int, str], marks: BatchedMarks | None = None) -> None:
        from models import OPEN_STATES

        if activity is None or user is None or not user.is_active or not user.telegram_id \
                or activity.state not in OPEN_STATES:
            await Reminder.filter(id=reminder.id).update(
                state=ReminderState.CANCELLED, claimed_until=None,
                last_error="activity closed or person gone")
            return
        now = utcnow()
        if not await self.still_ours(reminder, now):
            return
        late = now - reminder.due_at > LATE_AFTER
        text, markup = self.render(reminder, activity, user, clients, late=late, now=now)
        try:
            await self.bot(SendMessageUnread(chat_id=user.telegram_id, text=text,
                                             reply_markup=markup))
        except TelegramRetryAfter as exc:
            await self._retry(reminder, now + timedelta(seconds=exc.retry_after + 1),
                              f"flood limit: retry after {exc.retry_after} s", count=False)
            return
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            if reminder.attempts >= BLOCKED_TRIES:
                await self._fail(reminder, exc.message)
            else:
                await self._retry(reminder, now + BLOCKED_RETRY, exc.message)
            return
        except (TimeoutError, TelegramNetworkError, OSError) as exc:
            await self._backoff(reminder, now, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - the Bot API said something else
            await self._backoff(reminder, now, f"{type(exc).__name__}: {exc}")
            return
        reminder.sent_at, reminder.late = now, late
        if marks is None:  # one on its own: marked at once
            await self._mark_sent([(reminder, activity)])
        else:
            marks.add(reminder, activity)

    async def _mark_sent(self, done: list[tuple[Reminder, Activity]]) -> None:
        """One batch of sent reminders marked (each with its own sent_at and late flag,
        those still claimed by their round only); then the next occurrence of a
        repeating activity is scheduled."""
        await self.mark_sent([r for r, _a in done], ["sent_at", "late"], ReminderState.SENT)
        for reminder, activity in done:
            # "and" → "or" changes nothing seen: schedule_next_occurrence returns at once
            # for a one-off activity, and for a snoozed reminder finds the next occurrence
            # already scheduled when the occurrence's first reminder was sent
            if activity.rrule and not reminder.snoozed:  # mutation: equivalent — idempotent
                from services.activities import schedule_next_occurrence

                await schedule_next_occurrence(activity.id, reminder.occurrence_start)

    async def _retry(self, reminder: Reminder, when: datetime, reason: str, *,
                     count: bool = True) -> None:
        await Reminder.filter(id=reminder.id, claimed_by=reminder.claimed_by,
                              state=ReminderState.SENDING).update(
            state=ReminderState.PENDING, next_attempt_at=when, claimed_until=None,
            attempts=reminder.attempts + (1 if count else 0), last_error=reason[:300])

    async def _backoff(self, reminder: Reminder, now: datetime, reason: str) -> None:
        if reminder.attempts + 1 >= MAX_TRIES:
            await self._fail(reminder, reason)
            return
        delay = timedelta(seconds=30) * (2 ** reminder.attempts)
        log.warning("reminder %s: %s; again in %s", reminder.id, reason, delay)
        await self._retry(reminder, now + delay, reason)

    async def _fail(self, reminder: Reminder, reason: str) -> None:
        log.info("reminder %s failed: %s", reminder.id, reason)
        await Reminder.filter(id=reminder.id, claimed_by=reminder.claimed_by,
                              state=ReminderState.SENDING).update(
            state=ReminderState.FAILED, claimed_until=None, last_error=reason[:300])

    # --- the message --------------------------------------------------------------------
    def render(self, reminder: Reminder, activity: Activity, user: User,
               clients: dict[int, str], *, late: bool, now: datetime
               ) -> tuple[str, InlineKeyboardMarkup]:
        lang, tz = str(user.language), user.timezone

        def _(msg: str) -> str:  # the catalogue's keyword, for extraction
            return self.i18n.gettext(msg, locale=lang)

        icon = getattr(activity, "icon", None)  # set by the round; a caller may prefetch
        if icon is None and isinstance(related := getattr(activity, "type", None),
                                       ActivityType):
            icon = related.icon
        icon = icon or "⏰"
        lines = [f"⏰ {icon} <b>{html.escape(activity.title)}</b>",
                 when_text(reminder.occurrence_start, tz, lang, now=now)]
        if activity.client_id and activity.client_id in clients:
            lines.append("🏢 " + html.escape(clients[activity.client_id]))
        if activity.location:
            lines.append("📍 " + html.escape(activity.location))
        if late:
            lines.append(_("(late: it was due at {time})").format(
                time=time_text(reminder.due_at, tz)))
        labels = self._labels.get(lang)
        if labels is None:
            labels = self._labels[lang] = (
                _("✅ Done"), _("📅 Reschedule"), _("💤 15 min"), _("💤 1 h"),
                _("💤 Tomorrow"), _("🏢 Open client"))
        done, resched, snooze_15m, snooze_1h, snooze_tomorrow, open_client = labels
        rows = [
            [(done, activity_data("done", activity.id)),
             (resched, activity_data("resched", activity.id))],
            [(snooze_15m, snooze_data(reminder.id, "15m")),
             (snooze_1h, snooze_data(reminder.id, "1h")),
             (snooze_tomorrow, snooze_data(reminder.id, "tomorrow"))],
        ]
        if activity.client_id:
            rows.append([(open_client, activity_data("client", activity.id))])
        return "\n".join(lines), callback_keyboard(rows)


# what ActivityCB(action=..., activity_id=...).pack() and ReminderCB(action="snooze",
# reminder_id=..., value=...).pack() give (tests/test_reminders.py proves it), without
# building a pydantic model and dumping it for each button of a burst
_SEP = ActivityCB.__separator__


def activity_data(action: str, activity_id: int) -> str:
    return f"{ActivityCB.__prefix__}{_SEP}{action}{_SEP}{int(activity_id)}{_SEP}"


def snooze_data(reminder_id: int, value: str) -> str:
    return f"{ReminderCB.__prefix__}{_SEP}snooze{_SEP}{int(reminder_id)}{_SEP}{value}"

