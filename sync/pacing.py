"""How fast the sync may write to one person's calendar, and how long it waits after
Google says a usage limit was reached (K-1, issue 20).

Google's "Manage quotas" guide: a project may make 600 requests a minute per user, and
writing to a single calendar in quick succession is rate limited at any time; past a
limit the answer is 403 (reasons ``rateLimitExceeded``, ``userRateLimitExceeded``,
``quotaExceeded``) or 429, and the advice is exponential backoff with randomised
timing. So a backlog (the first push after connecting) goes at a steady pace, and a
limit stops the person's round and waits, longer each time, jittered so that people
limited together do not come back together.
"""

from __future__ import annotations

import asyncio
import random
import time

WRITE_RATE = 5.0  # writes a second to one calendar: half the per-user quota of 600/min
WRITE_BURST = 10  # written at once before the pace applies
MAX_DOUBLINGS = 6  # the wait after a limit grows to 64 × retry_s at most
JITTER = 0.25  # up to a quarter more


class Pacer:
    """A token bucket shared by every connection writing to one calendar."""

    def __init__(self, rate: float = WRITE_RATE, burst: int = WRITE_BURST) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = float(burst), time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:  # FIFO: the connections take turns
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                self.tokens, self.last = 1.0, time.monotonic()
            self.tokens -= 1


def limit_backoff(times: int, retry_s: float, retry_after: float | None) -> float:
    """Seconds to wait after the ``times``-th usage limit in a row: what Google said, or
    ``retry_s`` doubled each time; plus up to a quarter at random."""
    base = retry_after or retry_s * 2 ** min(max(times, 1) - 1, MAX_DOUBLINGS)
    return base * (1 + random.uniform(0, JITTER))  # noqa: S311 - timing, not secrets
