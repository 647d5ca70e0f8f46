"""Staff, departments and onboarding by invite (S-24)."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import secrets
import time
import weakref
from dataclasses import dataclass
from datetime import timedelta

from tortoise import connections
from tortoise.expressions import Subquery
from tortoise.signals import post_delete, post_save
from tortoise.transactions import in_transaction

from models import Department, Invite, Language, Role, StaffStatus, User
from models.staff import fold
from services.clock import utcnow
from services.errors import (
    N_,
    AlreadyRegistered,
    InviteInvalid,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from services.permissions import (
    Action,
    can,
    department_subtree_ids,
    may_name_supervisor,
    require,
)

INVITE_TTL = timedelta(hours=72)
INVITE_PREFIX = "inv_"


def language_from_telegram(code: str | None, default: str = "ru") -> str:
    """Telegram's ``language_code`` (IETF tag) → one of ru/uk/en."""
    if not code:
        return default
    base = code.split("-")[0].lower()
    if base in ("ru", "uk", "en"):
        return base
    if base in ("be", "kk", "ky", "uz", "tg", "hy", "az", "ka"):
        return "ru"  # CIS languages: Russian is the usual second language
    return "en"


def invite_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


@dataclass(frozen=True)
class InviteResult:
    invite: Invite
    code: str


async def do_create_invite(
    actor: User | None,
    *,
    role: Role,
    department_id: int | None = None,
    ttl: timedelta = INVITE_TTL,
    note: str | None = None,
) -> InviteResult:
    """Create a single-use invite. ``actor`` None means the operator's CLI."""
    role = Role(role)
    if actor is not None:
        await require(actor, Action.INVITE, (role, department_id))
    if department_id is not None and not await Department.exists(id=department_id):
        raise ValidationFailed("department", N_("no such department"))
    if ttl <= timedelta(0) or ttl > timedelta(days=30):
        raise ValidationFailed("ttl", N_("must be between 1 minute and 30 days"))
    code = INVITE_PREFIX + secrets.token_urlsafe(18)
    invite = await Invite.create(
        code_hash=invite_hash(code),
        role=role,
        department_id=department_id,
        created_by=actor,
        note=note,
        expires_at=utcnow() + ttl,
    )
    return InviteResult(invite=invite, code=code)


async def do_accept_invite(
    code: str,
    *,
    telegram_id: int,
    full_name: str,
    username: str | None,
    language_code: str | None,
    default_timezone: str = "Europe/Moscow",
) -> User:
    """Register the Telegram person behind ``telegram_id`` with the invite's role.

    Atomic and single-use: of two people racing with one code, one wins.
    A dismissed person invited again is re-activated (their history stays theirs),
    but only by an invite made after the dismissal.
    """
    now = utcnow()
    async with in_transaction():
        invite = await Invite.get_or_none(code_hash=invite_hash(code or ""))
        if invite is None:
            raise InviteInvalid("unknown")
        if invite.revoked_at is not None:
            raise InviteInvalid("revoked")
        if invite.used_at is not None:
            raise InviteInvalid("used")
        if invite.expires_at <= now:
            raise InviteInvalid("expired")
        existing = await User.get_or_none(telegram_id=telegram_id)
        if existing is not None and existing.is_active:
            raise AlreadyRegistered("already registered")
        if existing is not None and existing.dismissed_at and \
                invite.created_at <= existing.dismissed_at:
            raise InviteInvalid("revoked")
        claimed = await Invite.filter(id=invite.id, used_at=None).update(used_at=now)
        if claimed != 1:
            raise InviteInvalid("used")
        lang = language_from_telegram(language_code)
        if existing is not None:
            existing.status = StaffStatus.ACTIVE
            existing.dismissed_at = None
            existing.role = invite.role
            existing.department_id = invite.department_id
            existing.telegram_username = username
            await existing.save()
            user = existing
        else:
            user = await User.create(
                telegram_id=telegram_id,
                telegram_username=username,
                full_name=(full_name or username or str(telegram_id))[:200],
                role=invite.role,
                department_id=invite.department_id,
                language=Language(lang),
                timezone=default_timezone,
            )
        await Invite.filter(id=invite.id).update(used_by_id=user.id)
    STAFF_CACHE.clear()
    return user


_ACTIVE_BY_TG = 'SELECT * FROM "staff_user" WHERE "telegram_id"={0} AND "status"={1} LIMIT 1'


class StaffCache:
    """Active staff by Telegram id, for the per-update lookup.

    On only where one process owns the database (SQLite, P-4): there every change
    of a staff member goes through this process, and any save or delete of a
    :class:`User` (Tortoise signals) and every ``do_*`` below empties the cache,
    so a dismissal still takes effect at once. The TTL bounds anything else (a
    hand edit of the file). With PostgreSQL and several replicas it stays off.
    Strangers are never cached, so a fresh registration is seen at once.
    """

    def __init__(self) -> None:
        self.ttl = 0.0
        self.generation = 0  # bumped by every clear: a lookup that raced a change is not kept
        self._entries: dict[int, tuple[float, User]] = {}

    def configure(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries.clear()

    def get(self, telegram_id: int) -> User | None:
        hit = self._entries.get(telegram_id)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._entries.pop(telegram_id, None)
            return None
        return copy.copy(hit[1])  # handlers may change their copy without saving

    def put(self, user: User, generation: int) -> None:
        if self.ttl > 0 and user.telegram_id is not None and generation == self.generation:
            self._entries[user.telegram_id] = (time.monotonic() + self.ttl, copy.copy(user))

    def clear(self, *_args, **_kwargs) -> None:
        self.generation += 1
        self._entries.clear()


STAFF_CACHE = StaffCache()


async def _user_changed(sender, instance, *_args) -> None:
    STAFF_CACHE.clear()


post_save(User)(_user_changed)
post_delete(User)(_user_changed)


async def get_active_by_telegram_id(telegram_id: int) -> User | None:
    """Every update asks this, so it skips the query builder: one indexed lookup
    (``telegram_id`` is unique) with the row turned into a model the way Tortoise does."""
    cached = STAFF_CACHE.get(telegram_id)
    if cached is not None:
        return cached
    generation = STAFF_CACHE.generation
    conn = connections.get("default")
    marks = ("$1", "$2") if conn.capabilities.dialect == "postgres" else ("?", "?")
    rows = await conn.execute_query_dict(_ACTIVE_BY_TG.format(*marks),
                                         [telegram_id, StaffStatus.ACTIVE.value])
    if not rows:
        return None
    user = User._init_from_db(**rows[0])  # noqa: SLF001
    STAFF_CACHE.put(user, generation)
    return user


_ACTIVE_BY_TGS = 'SELECT * FROM "staff_user" WHERE "telegram_id" {0} AND "status"={1}'


class _UpdateLookups:
    """The staff lookups of the updates being handled, one round trip for many.

    With the cache off (PostgreSQL) every update asks the database who wrote it, and
    the round trip costs more than the rest of the update (bench.bot_throughput, issue
    19). A lookup asked while a query is out waits for the next one, which then asks
    for every Telegram id queued meanwhile: never an answer read before the update
    came, so a dismissal takes effect as soon as with a query of its own. One per
    event loop; its queries run in a task of their own."""

    def __init__(self) -> None:
        self.queued: dict[int, asyncio.Future] = {}
        self.task: asyncio.Task | None = None

    async def get(self, telegram_id: int) -> User | None:
        loop = asyncio.get_running_loop()
        waiting = self.queued.get(telegram_id)
        if waiting is None:
            waiting = self.queued[telegram_id] = loop.create_future()
        if self.task is None:
            self.task = loop.create_task(self._drain())
        user = await asyncio.shield(waiting)  # shared by the updates of one person
        return copy.copy(user) if user is not None else None  # handlers may change theirs

    async def _drain(self) -> None:
        try:
            while self.queued:
                batch, self.queued = self.queued, {}
                try:
                    found = await _active_by_telegram_ids(list(batch))
                except Exception as exc:  # noqa: BLE001 - each waiting update gets it
                    for waiting in batch.values():
                        if not waiting.done():
                            waiting.set_exception(exc)
                    continue
                except BaseException:
                    for waiting in batch.values():
                        waiting.cancel()
                    raise
                for telegram_id, waiting in batch.items():
                    if not waiting.done():
                        waiting.set_result(found.get(telegram_id))
        finally:
            self.task = None
            for waiting in self.queued.values():  # only if cancelled between batches
                waiting.cancel()
            self.queued = {}


_LOOKUPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _active_by_telegram_ids(telegram_ids: list[int]) -> dict[int, User]:
    generation = STAFF_CACHE.generation
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":  # one statement for any count
        sql, values = _ACTIVE_BY_TGS.format("= ANY($1)", "$2"), [telegram_ids]
    else:
        sql, values = _ACTIVE_BY_TGS.format(f"IN ({', '.join('?' * len(telegram_ids))})",
                                            "?"), [*telegram_ids]
    rows = await conn.execute_query_dict(sql, [*values, StaffStatus.ACTIVE.value])
    found = {}
    for row in rows:
        user = User._init_from_db(**row)  # noqa: SLF001
        STAFF_CACHE.put(user, generation)
        found[user.telegram_id] = user
    return found


async def active_for_update(telegram_id: int) -> User | None:
    """:func:`get_active_by_telegram_id` for the bot's per-update lookup: the lookups
    of updates handled at the same time share their round trips (:class:`_UpdateLookups`)."""
    cached = STAFF_CACHE.get(telegram_id)
    if cached is not None:
        return cached
    loop = asyncio.get_running_loop()
    lookups = _LOOKUPS.get(loop)
    if lookups is None:
        lookups = _LOOKUPS[loop] = _UpdateLookups()
    return await lookups.get(telegram_id)


async def get_by_telegram_id(telegram_id: int) -> User | None:
    return await User.get_or_none(telegram_id=telegram_id)


async def get_by_id(user_id: int) -> User | None:
    """A person by id, dismissed or not, without an access check (who signed a link,
    who verified an activity)."""
    return await User.get_or_none(id=user_id)


async def get_by_username(username: str) -> User | None:
    """A person by Telegram username, in any case (``@name`` in the bot)."""
    return await User.get_or_none(telegram_username__iexact=username)


async def list_staff(actor: User, *, include_dismissed: bool = False) -> list[User]:
    await require(actor, Action.VIEW_STAFF)
    qs = User.all().prefetch_related("department", "position", "supervisor")
    if include_dismissed:
        await require(actor, Action.VIEW_DISMISSED)
    else:
        qs = qs.filter(status=StaffStatus.ACTIVE)
    return await qs.order_by("full_name")


async def staff_page(actor: User, *, query: str | None = None, include_dismissed: bool = False,
                     page: int = 1, per_page: int = 50, exclude_id: int | None = None,
                     node_id: int | None = None) -> tuple[list[User], int]:
    """The directory a page at a time (by name), narrowed by a search like
    :func:`search_staff`; the dismissed too for those who may see them; without
    ``exclude_id`` (a person picking whom to report to is not among the choices); with
    ``node_id`` only the people of that staff group (S-25) whose groups one may see."""
    await require(actor, Action.VIEW_STAFF)
    qs = User.all()
    if node_id is not None:
        from services.staff_groups import members_q

        qs = qs.filter(id__in=Subquery(User.filter(await members_q(actor, node_id))
                                       .values("id")))
    if include_dismissed:
        await require(actor, Action.VIEW_DISMISSED)
    else:
        qs = qs.filter(status=StaffStatus.ACTIVE)
    if exclude_id is not None:
        qs = qs.exclude(id=exclude_id)
    for word in fold(query or "").split()[:5]:
        qs = qs.filter(search_text__contains=word)
    total = await qs.count()
    people = await qs.prefetch_related("department", "position", "supervisor").order_by(
        "full_name", "id").offset((max(page, 1) - 1) * per_page).limit(per_page)
    return people, total


async def search_staff(actor: User, query: str, *, limit: int = 20) -> list[User]:
    """Active colleagues whose name, username, phone or email contains every word of
    ``query``, in any script and case (SQL, on the casefolded ``search_text``)."""
    await require(actor, Action.VIEW_STAFF)
    qs = User.filter(status=StaffStatus.ACTIVE)
    for word in fold(query).split()[:5]:
        qs = qs.filter(search_text__contains=word)
    return await qs.prefetch_related("department", "position").order_by("full_name").limit(limit)


async def invitable_roles(actor: User) -> list[Role]:
    """Roles ``actor`` may invite with (into some department they may invite into)."""
    return [role for role in Role if await invitable_department_ids(actor, role)]


async def invitable_department_ids(actor: User, role: Role) -> list[int | None]:
    """Departments (None: no department) ``actor`` may invite a ``role`` into."""
    if actor.role == Role.ADMIN:
        candidates: list[int | None] = [None, *await Department.all().values_list("id", flat=True)]
    elif actor.department_id is not None:
        candidates = list(await department_subtree_ids(actor.department_id))
    else:
        candidates = []
    return [d for d in candidates if await can(actor, Action.INVITE, (Role(role), d))]


async def get_staff(actor: User, user_id: int) -> User:
    user = await User.get_or_none(id=user_id).prefetch_related(
        "department", "position", "supervisor")
    if user is None:
        raise NotFound("user")
    await require(actor, Action.VIEW_STAFF, user)
    return user


async def _target(user_id: int) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user")
    return user


async def do_change_role(actor: User, user_id: int, role: Role) -> User:
    target = await _target(user_id)
    await require(actor, Action.CHANGE_ROLE, target)
    target.role = Role(role)
    await target.save(update_fields=["role", "updated_at"])
    return target


async def do_change_department(actor: User, user_id: int, department_id: int | None) -> User:
    target = await _target(user_id)
    await require(actor, Action.CHANGE_DEPARTMENT, target)
    if department_id is not None and not await Department.exists(id=department_id):
        raise ValidationFailed("department", N_("no such department"))
    target.department_id = department_id
    await target.save(update_fields=["department_id", "updated_at"])
    return target


async def do_change_supervisor(actor: User, user_id: int, supervisor_id: int | None) -> User:
    target = await _target(user_id)
    await require(actor, Action.CHANGE_SUPERVISOR, target)
    if supervisor_id is not None:
        if supervisor_id == target.id:
            raise ValidationFailed("supervisor", N_("a person cannot supervise themselves"))
        boss = await User.get_or_none(id=supervisor_id, status=StaffStatus.ACTIVE)
        if boss is None:
            raise ValidationFailed("supervisor", N_("no such active staff member"))
        if not await may_name_supervisor(actor, boss):
            raise PermissionDenied("supervisor of another department",
                                   action=str(Action.CHANGE_SUPERVISOR))
        # refuse cycles: walk up from the new supervisor
        seen, cursor = {target.id}, boss
        while cursor is not None and cursor.supervisor_id is not None:
            if cursor.supervisor_id in seen:
                raise ValidationFailed("supervisor", N_("that would make a supervision cycle"))
            seen.add(cursor.id)
            cursor = await User.get_or_none(id=cursor.supervisor_id)
    target.supervisor_id = supervisor_id
    await target.save(update_fields=["supervisor_id", "updated_at"])
    return target


async def do_dismiss(actor: User, user_id: int) -> User:
    """Access ends at once; records stay and are reassignable. Sessions are dropped."""
    from models import LoginToken, WebSession

    target = await _target(user_id)
    await require(actor, Action.DISMISS, target)
    async with in_transaction():
        target.status = StaffStatus.DISMISSED
        target.dismissed_at = utcnow()
        await target.save(update_fields=["status", "dismissed_at", "updated_at"])
        await WebSession.filter(user_id=target.id).delete()
        await LoginToken.filter(user_id=target.id).delete()
        await User.filter(supervisor_id=target.id).update(supervisor_id=None)
        # invites they made and nobody used die with their access
        await Invite.filter(created_by_id=target.id, used_at=None, revoked_at=None).update(
            revoked_at=utcnow())
        # K-1: the company's events leave their Google Calendar; the ICS feed stops
        from services import calendar as calendar_sync

        await calendar_sync.do_disconnect(target, remove_events=True)
        await calendar_sync.do_revoke_feed(target)
    STAFF_CACHE.clear()
    return target


async def do_update_staff(actor: User, user_id: int, *, changes: dict) -> User:
    """Role, department and supervisor in one transaction: all or nothing."""
    async with in_transaction():
        if "role" in changes and changes["role"] is not None:
            await do_change_role(actor, user_id, Role(changes["role"]))
        if "department_id" in changes:
            await do_change_department(actor, user_id, changes["department_id"] or None)
        if "supervisor_id" in changes:
            await do_change_supervisor(actor, user_id, changes["supervisor_id"] or None)
    return await _target(user_id)


async def do_set_language(actor: User, language: str) -> User:
    if language not in ("ru", "uk", "en"):
        raise ValidationFailed("language", N_("must be ru, uk or en"))
    actor.language = Language(language)
    await actor.save(update_fields=["language", "updated_at"])
    return actor


async def list_departments() -> list[Department]:
    return await Department.all().order_by("name")


async def active_people() -> list[User]:
    """The active staff by name: the choices of an executor or an assignee."""
    return await User.filter(status=StaffStatus.ACTIVE).order_by("full_name", "id")


async def department_names(ids: list[int]) -> dict[int, str]:
    """{id: name} of the departments with these ids (the ones that exist)."""
    return dict(await Department.filter(id__in=ids).values_list("id", "name"))


async def do_create_department(actor: User, name: str, parent_id: int | None = None) -> Department:
    await require(actor, Action.MANAGE_DEPARTMENTS)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("name", N_("is empty"))
    if parent_id is not None and not await Department.exists(id=parent_id):
        raise ValidationFailed("parent", N_("no such department"))
    return await Department.create(name=name[:200], parent_id=parent_id)


async def do_update_department(actor: User, department_id: int, name: str | None = None,
                                parent_id: int | None | bool = False) -> Department:
    """Rename a department or move it under another (``parent_id=None``: to the top;
    ``False``: leave it); never under itself or its own sub-departments."""
    await require(actor, Action.MANAGE_DEPARTMENTS)
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department")
    if name is not None:
        name = " ".join(str(name).split())
        if not name or len(name) > 200:
            raise ValidationFailed("name", N_("one to 200 characters"))
        department.name = name
    if parent_id is not False:
        if parent_id is not None:
            if not await Department.exists(id=parent_id):
                raise ValidationFailed("parent", N_("no such department"))
            if parent_id in await department_subtree_ids(department.id):
                raise ValidationFailed("parent", N_("a department cannot go inside itself"))
        department.parent_id = parent_id
    await department.save()
    return department


async def do_delete_department(actor: User, department_id: int) -> None:
    """Delete an empty department: refused while it has people or sub-departments."""
    await require(actor, Action.MANAGE_DEPARTMENTS)
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department")
    if await User.filter(department_id=department.id).exists():
        raise ValidationFailed("department", N_("people work in it: move them first"))
    if await Department.filter(parent_id=department.id).exists():
        raise ValidationFailed("department", N_("it has sub-departments: move them first"))
    await department.delete()


async def purge_expired(now=None) -> int:
    """Housekeeping job: delete expired login links and web sessions."""
    from models import LoginToken, WebSession

    now = now or utcnow()
    n = await LoginToken.filter(expires_at__lt=now).delete()
    n += await WebSession.filter(expires_at__lt=now).delete()
    return n
