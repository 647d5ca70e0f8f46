"""Work that is CPU-heavy or whose size a person controls runs here, never on the event
loop: in worker processes (pebble's pool) with hard limits, so one person's template,
file or chart cannot stall or exhaust the service (issue 18).

Rules:

* Each call has a time limit; past it the worker is killed and replaced, and the call
  fails with :class:`LimitExceeded` naming the limit. Other calls are not disturbed.
* Each worker has an address-space limit (``MEMORY_LIMIT``): an allocation past it is a
  MemoryError in the worker, which ends that call only (``LimitExceeded("memory")``);
  a worker that dies all the same is replaced.
* What a call returns must be small and picklable; functions report a refusal by
  returning it, not by raising an exception of their own (those may not pickle).
* Workers start from a clean interpreter (``forkserver``), not a copy of the service
  with its threads and connections, and are recycled after ``MAX_TASKS`` calls. The
  fork server imports ``PRELOAD`` once, so a new worker is a fork of an interpreter
  that has them, not a fresh one importing them again (~1 s of CPU each, issue 19);
  the service starts its workers once it has started (:func:`start`), so the first
  import or mailing does not wait for them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("kontakt.bounded")

MEMORY_LIMIT = int(os.environ.get("KONTAKT_WORKER_MEMORY_MB", "768")) * 1024 * 1024
WORKERS = max(1, min(4, os.cpu_count() or 1))
MAX_TASKS = 500


class LimitExceeded(Exception):
    """A call went past a limit: ``limit`` is "time" or "memory"; ``value`` what it is."""

    def __init__(self, limit: str, value: float | int) -> None:
        super().__init__(f"{limit} limit of {value} exceeded")
        self.limit = limit
        self.value = value


# what the workers run, imported when a worker starts: a call's time limit counts from
# when a worker takes it, and must not be spent importing
PRELOAD = ("services.templating", "services.tabular", "services.importer")


def _ready() -> bool:
    return True


def _start_worker(limit: int) -> None:
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: time still bounds
        log.warning("worker memory limit not applied")


_pool = None
_lock = threading.Lock()


def _get_pool():
    global _pool
    from pebble import ProcessPool

    with _lock:
        if _pool is None or not _pool.active:
            context = multiprocessing.get_context("forkserver")
            # read when the fork server starts (the first pool of the process); a
            # module that fails to import there is imported by each worker instead
            context.set_forkserver_preload(list(PRELOAD))
            _pool = ProcessPool(max_workers=WORKERS, max_tasks=MAX_TASKS,
                                initializer=_start_worker, initargs=(MEMORY_LIMIT,),
                                context=context)
        return _pool


def start() -> list[concurrent.futures.Future]:
    """Start the workers now rather than at the first call (blocking for a moment:
    call it in a thread); the service does once it has started. The futures are done
    when the workers answer."""
    pool = _get_pool()
    return [pool.schedule(_ready) for _ in range(WORKERS)]


async def run(function: Callable[..., Any], *args: Any, timeout: float) -> Any:
    """``function(*args)`` in a worker process, within ``timeout`` seconds and the
    workers' memory limit; raises :class:`LimitExceeded` past either."""
    from pebble import ProcessExpired

    future = _get_pool().schedule(function, args=args, timeout=timeout)
    try:
        return await asyncio.wrap_future(future)
    except concurrent.futures.TimeoutError:
        raise LimitExceeded("time", timeout) from None
    except MemoryError:
        raise LimitExceeded("memory", MEMORY_LIMIT // (1024 * 1024)) from None
    except ProcessExpired:  # killed from outside (the kernel's OOM killer, say)
        raise LimitExceeded("memory", MEMORY_LIMIT // (1024 * 1024)) from None
    except asyncio.CancelledError:
        future.cancel()  # the worker running it is stopped too
        raise


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.stop()
            _pool.join(timeout=5)
            _pool = None
