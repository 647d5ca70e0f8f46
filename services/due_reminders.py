"""Reminders before and after each invoice's due date (issue 14: K-6, M-6).

Rules:

* **Which invoices**: entries of kind ``invoice``, not void, with a due date, of a client
  not archived, whose open amount (the amount less its allocations, summed in SQL) is
  above zero — a paid invoice is never reminded; a partly paid one is, with what is
  still open.
* **When**: the offsets are the company's settings (services.due_reminder_settings):
  ``−N`` for N days before the due date, ``+N`` for N days after it. An invoice is due a
  reminder at offset ``o`` once ``due + o ≤ today``. Only the **latest** offset reached
  is sent, and only when no reminder at that offset or a later one was sent before: a
  service down for a week sends one reminder, not a backlog of three.
* **Today and the hour** are the owner's: the order's owner, else the client's primary
  manager (services.ledger_sql.MAIN_MANAGER). Reminders go out from the organizer's
  digest hour until 21:00 in the owner's time zone; outside it they wait for the next
  round (nobody gets a payment reminder at night).
* **Once**: a reminder is claimed by inserting its :class:`DueReminder` row (unique per
  entry, offset and audience) in the same transaction that queues the client's message
  and records what happened; a second round, or a second replica at the same moment,
  fails on the unique row and sends nothing more. The Telegram message to the owner is
  sent after the commit (notifications.due), the outbox is woken after it too.
* **The client** (when the setting ``clients`` is on) gets the template ``soon`` before
  the due date, ``overdue`` after it, in the client's language (its country: UA → uk,
  RU/BY/KZ → ru, another → en; none known → the owner's language): by email when the
  client (or, lacking one, its first contact person) has an email, the client agreed
  to email and the address did not unsubscribe; else by SMS on the same terms for a
  phone. ``do_not_contact`` means nothing at all. When nothing is sent, the reason
  (``do_not_contact``, ``no_consent``, ``unsubscribed``, ``no_address``, ``template``)
  is on the client's history.
* **Limits**: candidates are read in pages of :data:`BATCH`, at most :data:`MAX_PER_RUN`
  per round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from kontakt.formatting import money_text
from models import AuditLog, Client, ContactPerson, OwnEntity, User
from models.messaging import Channel, MessageTemplate, OutboundMessage, Unsubscribe
from models.settlements import DueReminder
from services import ledger_sql as q
from services.clock import utcnow
from services.due_reminder_settings import DueSettings, due_settings, ensure_templates
from services.errors import DomainError

BATCH = 200
MAX_PER_RUN = 2000
LAST_HOUR = 21  # reminders go out before 21:00 in the owner's time zone
COUNTRY_LANG = {"UA": "uk", "RU": "ru", "BY": "ru", "KZ": "ru"}


@dataclass
class OwnerNote:
    """What the owner is told (notifications.due renders it in their language)."""

    user_id: int | None
    telegram_id: int | None
    language: str
    timezone: str
    client_id: int
    client: str
    number: str | None
    open: Decimal
    currency: str
    due: date
    days: int             # negative: days before the due date; positive: days overdue
    client_result: str    # "email:<address>", "sms:<address>", a reason, or "off"


@dataclass
class RunResult:
    notes: list[OwnerNote]
    queued: int  # messages put into the outbox


def _offset_for(offsets: list[int], due: date, today: date) -> int | None:
    reached = [o for o in offsets if due + timedelta(days=o) <= today]
    return max(reached) if reached else None


def _in_hours(local: datetime, first_hour: int) -> bool:
    return first_hour <= local.hour < max(LAST_HOUR, first_hour + 1)


async def _candidates(offsets: list[int], now: datetime, limit: int) -> list[dict[str, Any]]:
    """The invoices some offset may be due for, anywhere on Earth today (the owner's own
    date is checked after), with what was sent last."""
    today_hi = (now + timedelta(hours=14)).date()
    found: dict[int, dict[str, Any]] = {}
    manager = q.MAIN_MANAGER.format(col="d.client_id")
    for offset in sorted(offsets, reverse=True):
        last = 0
        while len(found) < limit:
            where = (f"e.kind = 'invoice' AND e.due IS NOT NULL "
                     f"AND e.due <= {q.lit(today_hi - timedelta(days=offset))}")
            rows = await q.rows(f"""
                SELECT d.id AS id, d.client_id AS client_id, d.number AS number,
                       d.currency AS currency, d.open AS open, d.due AS due,
                       d.own_entity_id AS own_entity_id, c.name AS name,
                       (SELECT o.owner_id FROM sales_order o WHERE o.id = d.order_id)
                           AS order_owner,
                       {manager} AS manager,
                       (SELECT MAX(r.offset_days) FROM due_reminder r WHERE r.entry_id = d.id
                        AND r.audience = 'owner') AS last_sent
                FROM ({q.open_debits(where)}) d JOIN client c ON c.id = d.client_id
                WHERE d.open > 0 AND c.archived_at IS NULL AND d.id > {int(last)}
                  AND NOT EXISTS (SELECT 1 FROM due_reminder r WHERE r.entry_id = d.id
                                  AND r.audience = 'owner' AND r.offset_days >= {int(offset)})
                ORDER BY d.id LIMIT {BATCH}""")
            for r in rows:
                found.setdefault(int(r["id"]), r)
            if len(rows) < BATCH:
                break
            last = rows[-1]["id"]
    return list(found.values())[:limit]


async def run_due_reminders(now: datetime | None = None, *,
                            limit: int = MAX_PER_RUN) -> RunResult:
    """One round: claim and record what is due now; returns the owners' notes (to send
    after this returns, the commit done) and how many client messages were queued."""
    from services.activities import organizer_settings

    now = now or utcnow()
    settings = await due_settings()
    offsets = settings.offsets
    result = RunResult([], 0)
    if not offsets:
        return result
    first_hour = (await organizer_settings())["digest_hour"]
    rows = await _candidates(offsets, now, limit)
    if not rows:
        return result
    if settings.clients:
        await ensure_templates()
    user_ids = {int(u) for r in rows for u in (r["order_owner"], r["manager"]) if u}
    users = {u.id: u for u in await User.filter(id__in=list(user_ids))}
    for r in rows:
        owner = users.get(int(r["order_owner"] or 0)) or users.get(int(r["manager"] or 0))
        tz = owner.timezone if owner and owner.timezone else "Europe/Moscow"
        local = now.astimezone(ZoneInfo(tz))
        if not _in_hours(local, first_hour):
            continue
        due = q.as_date(r["due"])
        offset = _offset_for(offsets, due, local.date())
        if offset is None or (r["last_sent"] is not None and int(r["last_sent"]) >= offset):
            continue
        try:
            note, queued = await _remind(r, owner, offset, due, local.date(), settings, now)
        except IntegrityError:
            continue  # another round or replica has just sent it
        result.notes.append(note)
        result.queued += queued
    return result


async def _remind(r: dict[str, Any], owner: User | None, offset: int, due: date,
                  today: date, settings: DueSettings, now: datetime) -> tuple[OwnerNote, int]:
    entry_id, client_id = int(r["id"]), int(r["client_id"])
    open_amount = q.money(r["open"])
    lang = str(owner.language) if owner else "ru"
    note = OwnerNote(owner.id if owner else None, owner.telegram_id if owner else None,
                     lang, owner.timezone if owner else "Europe/Moscow", client_id,
                     r["name"], r["number"], open_amount, r["currency"], due,
                     (today - due).days, "off")
    message = None
    if settings.clients:
        message = await _client_message(r, owner, offset, due, today, settings)
        note.client_result = (f"{message['channel']}:{message['to_address']}"
                              if "channel" in message else message["reason"])
    async with in_transaction():
        await DueReminder.create(entry_id=entry_id, offset_days=offset, audience="owner")
        if message is None:
            return note, 0
        await DueReminder.create(entry_id=entry_id, offset_days=offset, audience="client")
        if "channel" not in message:
            await AuditLog.create(user_id=None, source="system", entity="ledger_entry",
                                  object_id=entry_id, client_id=client_id,
                                  action="due_reminder", field="skipped",
                                  new_value=message["reason"])
            return note, 0
        outbound = await OutboundMessage.create(
            client_id=client_id, created_by_id=owner.id if owner else None,
            reply_to=(owner.email or None) if owner else None, next_attempt_at=now,
            **{k: v for k, v in message.items() if k != "shown"})
        await AuditLog.create(user_id=None, source="system", entity="message",
                              object_id=outbound.id, client_id=client_id,
                              action=str(message["channel"]), field="to",
                              new_value=message["shown"][:1000])
    return note, 1


async def _addresses(client: Client) -> tuple[str | None, str | None, int | None]:
    """The client's email and phone, else its first contact person's (and that
    contact's id when one is used)."""
    email, phone, contact_id = client.email, client.phone, None
    if not email or not phone:
        for c in await ContactPerson.filter(client_id=client.id, archived_at=None).order_by(
                "id").limit(20):
            if not email and c.emails:
                email, contact_id = c.emails[0], c.id
            if not phone and c.phones:
                phone = c.phones[0]
    return email, phone, contact_id


async def _client_message(r: dict[str, Any], owner: User | None, offset: int, due: date,
                          today: date, settings: DueSettings) -> dict[str, Any]:
    """The message to queue (OutboundMessage's fields), or ``{"reason": ...}``."""
    client = await Client.get(id=int(r["client_id"]))
    if client.do_not_contact:
        return {"reason": "do_not_contact"}
    email, phone, contact_id = await _addresses(client)
    blocked = set(await Unsubscribe.filter(address__in=[a.lower() for a in (email, phone)
                                                        if a]).values_list("channel",
                                                                           "address"))
    reason = "no_address"
    channel = address = None
    for ch, addr, consent in ((Channel.EMAIL, email, client.email_consent),
                              (Channel.SMS, phone, client.sms_consent)):
        if not addr:
            continue
        if not consent:
            reason = "no_consent"
        elif (str(ch), addr.lower()) in blocked or (ch, addr.lower()) in blocked:
            reason = "unsubscribed"
        else:
            channel, address = ch, addr
            break
    if channel is None:
        return {"reason": reason}
    lang = COUNTRY_LANG.get(client.country or "", "en") if client.country else (
        str(owner.language) if owner else "ru")
    name = settings.soon_template if offset < 0 else settings.overdue_template
    templates = {t.language: t for t in await MessageTemplate.filter(
        name=name, channel=channel, archived=False)}
    template = next((templates[k] for k in (lang, "ru", "en", "uk") if k in templates), None)
    if template is None:
        return {"reason": "template"}
    context = await _context(client, owner, r, due, today)
    from services.templating import render, render_fields

    try:
        if channel == Channel.EMAIL:
            done = await render(template.subject, template.body, template.html, context)
            subject, body, html = done.subject, done.body, done.html
        else:
            body = (await render_fields([("body", template.body, False)], context))[0].strip()
            subject, html = "", None
    except DomainError:
        return {"reason": "template"}
    return {"channel": channel, "to_address": address, "subject": subject[:300],
            "body": body, "html": html, "template_id": template.id,
            "contact_id": contact_id if channel == Channel.EMAIL else None,
            "shown": f"{address}: {(subject or body)[:200]}"}


async def _context(client: Client, owner: User | None, r: dict[str, Any], due: date,
                   today: date) -> dict[str, Any]:
    from services.clients import address_of

    contact = await ContactPerson.filter(client_id=client.id, archived_at=None).order_by(
        "id").first()
    company = ""
    if r["own_entity_id"]:
        company = (await OwnEntity.filter(id=int(r["own_entity_id"])).values_list(
            "name", flat=True) or [""])[0]
    return {
        "client": {"name": client.name, "phone": client.phone or "",
                   "email": client.email or "", "address": await address_of(client)},
        "contact": {"first_name": contact.first_name if contact else "",
                    "last_name": (contact.last_name or "") if contact else "",
                    "middle_name": (contact.middle_name or "") if contact else "",
                    "position": (contact.position or "") if contact else ""},
        "sender": {"full_name": owner.full_name if owner else "",
                   "phone": (owner.phone or "") if owner else "",
                   "email": (owner.email or "") if owner else ""},
        "invoice": {"number": r["number"] or "", "due": due.strftime("%d.%m.%Y"),
                    "amount": money_text(q.money(r["open"]), r["currency"]),
                    "currency": r["currency"], "days_overdue": max((today - due).days, 0)},
        "company": company,
    }
