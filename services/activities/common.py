"""What the parts of the activities service share: the open states, the sources
of a change, and the notices a change returns (S-18)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from models import OPEN_STATES, Activity, User

OPEN = tuple(str(s) for s in OPEN_STATES)
SOURCES = ("bot", "web", "miniapp", "api", "calendar", "system")


@dataclass
class Notice:
    """Tell ``user_id`` about ``activity_id`` after the commit (S-18)."""

    user_id: int
    kind: str  # created | assigned | rescheduled | done | verified | cancelled | comment
    activity_id: int
    by_user_id: int | None
    detail: str | None = None


@dataclass
class ActivityResult:
    activity: Activity
    notices: list[Notice] = field(default_factory=list)


# what other sections do once an activity is done (a deal's stage trigger, U-1): each
# hook gets (actor, activity, source) after the commit and returns notices of its own
AFTER_DONE: list[Callable[[User, Activity, str], Awaitable[list[Notice]]]] = []


def on_done(hook: Callable[[User, Activity, str], Awaitable[list[Notice]]]) -> None:
    """Register ``hook`` (once) to run after every activity is done."""
    if hook not in AFTER_DONE:
        AFTER_DONE.append(hook)


async def after_done(actor: User, activity: Activity, source: str) -> list[Notice]:
    out: list[Notice] = []
    for hook in AFTER_DONE:
        out += await hook(actor, activity, source)
    return out


def _notices(kind: str, activity: Activity, people: Iterable[int], actor: User,
             detail: str | None = None) -> list[Notice]:
    """Everybody concerned but the person who acted."""
    targets = dict.fromkeys([*(people or []), activity.author_id])
    return [Notice(uid, kind, activity.id, actor.id, detail) for uid in targets
            if uid and uid != actor.id]
