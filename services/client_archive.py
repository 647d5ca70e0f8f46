"""Archiving a client and restoring it: the client leaves every list, search, quick-log
match, segment and new mailing (everything that reads ``services.clients.visible_clients``
or ``services.client_search.search_clients``), and stays reachable (the list's
"Archived" filter, its card, its history) until it is restored.

Rules:

* **Who archives**: whoever sees the client (A-3) — a manager their own clients, a
  head those of their departments, an admin any. The people who work a client are the
  ones who know it is gone (closed down, merged, never answered), as with a contact
  person or a deal, which whoever sees them archives.
* **Who restores**: admins and heads, for the clients they see; a manager may not.
  As with a deal (only an admin restores one), bringing a client back into the
  company's base is a decision checked by someone in charge; a manager who archived by
  mistake asks their head — the archived card says so, instead of a Restore button.
* **Refused while anything is open**, naming each (translated), for everyone, admins
  included: open deals (an open stage, not archived), open orders (draft or posted:
  reserved stock, work to do; a shipped order's money is in the balance), planned
  activities (planned, postponed or rescheduled: reminders would go on about a client
  nobody sees) and money either way — an unpaid balance, or an unused prepayment that
  is the client's. "Close them first" is a clear road (close or archive the deal,
  cancel the order or the task, record the payment or an adjustment); archiving with
  them open would hide debts and commitments from every list.
* **Already archived / not archived**: refused saying so (who archived it and when),
  never a silent second entry; a double tap archives once.
* **History**: each is an entry of the client's audit ("archived: <reason>",
  "restored"), with who, when and from where; the card's banner "Archived on <date> by
  <name>" reads the last archive entry. The optional reason is up to 500 characters.
* **Kept as they were**: managers, contacts, deals, orders, ledger and history; what
  the client was is all there after a restore. An archived client is read-only:
  services that change one find only current clients (``services.clients.get_client``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from kontakt.formatting import money_text
from models import OPEN_STATES, Activity, AuditLog, Client, Deal, Order, StageKind, User
from services.clients import _audit, get_client
from services.clock import utcnow
from services.errors import N_, DomainError, PermissionDenied, Text, ValidationFailed, fill
from services.permissions import Action, can

REASON_MAX = 500


class _Parts(Text):
    """Several :class:`Text` said one after another ("open deals: 2; an unpaid balance
    of 100 ₽"), each translated by the front end."""

    parts: list[Text]

    def __new__(cls, parts: list[Text]) -> _Parts:
        text = str.__new__(cls, "; ".join(parts))
        text.template, text.params, text.parts = "; ".join(parts), {}, parts
        return text

    def translated(self, gettext) -> str:
        return "; ".join(p.translated(gettext) for p in self.parts)


class ClientArchiveRefused(DomainError):
    """Archiving or restoring is not possible in the client's present state."""

    code = "client_archive_refused"
    status = 409

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(fill(template, params), **params)
        self.template = template


@dataclass
class ArchiveState:
    """What the archived card's banner says."""

    client: Client
    archived_at: datetime | None
    by: str | None  # who archived it (None: the record has no author)
    reason: str | None


async def get_any_client(actor: User, client_id: int) -> Client:
    """A client ``actor`` sees (A-3), current or archived; else NotFound."""
    return await get_client(actor, client_id, with_archived=True)


async def state_of(client: Client) -> ArchiveState:
    """Who archived ``client``, when and why (the last archive entry of its history)."""
    if client.archived_at is None:
        return ArchiveState(client, None, None, None)
    entry = await AuditLog.filter(entity="client", object_id=client.id,
                                  action="archive").order_by("-at", "-id").first(
    ).prefetch_related("user")
    by = entry.user.full_name if entry is not None and entry.user is not None else None
    return ArchiveState(client, client.archived_at, by, entry.new_value if entry else None)


async def archive_state(actor: User, client_id: int) -> ArchiveState:
    return await state_of(await get_any_client(actor, client_id))


async def may_restore(actor: User) -> bool:
    return await can(actor, Action.RESTORE_CLIENT)


async def what_is_open(actor: User, client: Client) -> list[Text]:
    """What keeps ``client`` from being archived (the rule in the module's docstring),
    each as a translatable text; empty: nothing is open. Counted whoever they belong to."""
    from services.ledger_views import balance_line
    from services.orders import OPEN as OPEN_ORDERS

    found: list[Text] = []
    deals = await Deal.filter(client_id=client.id, archived_at=None,
                              stage__kind=StageKind.OPEN).count()
    if deals:
        found.append(Text(N_("open deals: {count}"), count=deals))
    orders = await Order.filter(client_id=client.id, state__in=list(OPEN_ORDERS)).count()
    if orders:
        found.append(Text(N_("open orders: {count}"), count=orders))
    activities = await Activity.filter(client_id=client.id,
                                       state__in=list(OPEN_STATES)).count()
    if activities:
        found.append(Text(N_("planned activities: {count}"), count=activities))
    for line in await balance_line(actor, client.id):
        if line.owed > 0:
            found.append(Text(N_("an unpaid balance of {amount}"),
                              amount=money_text(line.owed, line.currency)))
        if line.credit > 0:
            found.append(Text(N_("an unused prepayment of {amount}"),
                              amount=money_text(line.credit, line.currency)))
    return found


def still_open(found: list[Text]) -> ClientArchiveRefused:
    """The refusal naming what :func:`what_is_open` found (a front end may say it
    before asking to confirm)."""
    return ClientArchiveRefused(
        N_("Not archived: the client still has {what}. Close or settle these first."),
        what=_Parts(found))


def _reason(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationFailed("reason", N_("must be text"))
    text = " ".join(raw.split())
    if len(text) > REASON_MAX:
        raise ValidationFailed("reason", N_("is longer than {limit} characters"),
                               limit=REASON_MAX)
    return text or None


def _already(state: ArchiveState, tz: str) -> ClientArchiveRefused:
    from kontakt.formatting import date_text

    when = date_text(state.archived_at, tz) if state.archived_at else "—"
    return ClientArchiveRefused(N_("The client is already archived (on {when} by {who})."),
                                when=when, who=state.by or "—")


async def do_archive_client(actor: User, client_id: int, reason: Any = None, *,
                            source: str = "web") -> ArchiveState:
    """Archive a client ``actor`` sees; refused while anything is open (named)."""
    client = await get_any_client(actor, client_id)
    if not await can(actor, Action.ARCHIVE_CLIENT, client):
        raise PermissionDenied("archive client", action=str(Action.ARCHIVE_CLIENT))
    if client.archived_at is not None:
        raise _already(await state_of(client), actor.timezone or "UTC")
    why = _reason(reason)
    blocking = await what_is_open(actor, client)
    if blocking:
        raise still_open(blocking)
    now = utcnow()
    async with in_transaction():
        # one of two taps at once archives; the other finds it done
        if not await Client.filter(id=client.id, archived_at=None).update(archived_at=now):
            await client.refresh_from_db(fields=["archived_at"])
            raise _already(await state_of(client), actor.timezone or "UTC")
        await _audit(actor, source, "client", client.id, client.id, "archive", new=why)
    client.archived_at = now
    return await state_of(client)


async def do_restore_client(actor: User, client_id: int, *, source: str = "web") -> Client:
    """Bring an archived client back to the lists (admins and heads)."""
    client = await get_any_client(actor, client_id)
    if not await can(actor, Action.RESTORE_CLIENT, client):
        raise PermissionDenied("restore client", action=str(Action.RESTORE_CLIENT))
    if client.archived_at is None:
        raise ClientArchiveRefused(N_("The client is not archived."))
    async with in_transaction():
        if not await Client.filter(id=client.id).exclude(archived_at=None).update(
                archived_at=None):
            raise ClientArchiveRefused(N_("The client is not archived."))
        await _audit(actor, source, "client", client.id, client.id, "restore")
    client.archived_at = None
    return client
