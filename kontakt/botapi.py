"""Process-wide set-up of aiogram's Bot API client.

aiogram reads every answer through ``Response[<the method's result type>]``, a pydantic
generic made on first use and kept by pydantic only weakly: once the garbage collector
has taken it, the next answer builds it again (some 20 ms of CPU each time, dozens of
times in a burst of a thousand reminders — found by profiling bench.reminders, issue
19). :func:`keep_response_types` makes each of them once and holds it for the life of
the process (41 types, about 0.15 s at start)."""

from __future__ import annotations

_KEPT: list[type] = []


def keep_response_types() -> int:
    """Build and hold ``Response[T]`` for the result type of every Bot API method;
    idempotent. Returns how many are held."""
    if _KEPT:
        return len(_KEPT)
    import aiogram.methods as methods
    from aiogram.client.session.base import Response
    from aiogram.methods.base import TelegramMethod

    seen: dict[str, object] = {}
    for name in dir(methods):
        cls = getattr(methods, name)
        if isinstance(cls, type) and issubclass(cls, TelegramMethod) \
                and cls is not TelegramMethod:
            returning = getattr(cls, "__returning__", None)
            if returning is not None:
                seen.setdefault(repr(returning), returning)
    _KEPT.extend(Response[t] for t in seen.values())  # type: ignore[index]
    return len(_KEPT)
