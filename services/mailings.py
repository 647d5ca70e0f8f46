"""Mailing lists (K-16): one template to many clients, personalised, at a rate.

Rules:

* A mailing is made from a segment's members (computed now, within what the author
  may see) or from chosen clients, with an email or SMS template. Each client is a
  recipient row: pending, or skipped with the reason — no address, no consent for the
  channel, marked do-not-contact, unsubscribed. The list is fixed when made.
* Start, pause, resume, cancel. A running mailing is pumped by a timed job: at most
  ``per_minute`` recipients a minute are personalised and put in the outbox; each
  recipient row is claimed by one conditional UPDATE (pending → queued), so two
  replicas, or a restart half-way, never queue anybody twice.
* Emails carry an unsubscribe link (``/u/<token>``, signed with the secret key); an
  address that unsubscribed is skipped by every later mailing.
* Progress: recipients by state, and their messages by outbox state, counted in SQL.
  A mailing started from the bot remembers its progress message (chat and message
  id), which a timed job edits as the counts change. When a mailing is done (or
  cancelled) and its messages have left the outbox, one summary goes to whoever
  started it: claimed by a conditional UPDATE of ``summary_sent_at``, so two replicas
  send it once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    Client,
    Mailing,
    MailingRecipient,
    MailingState,
    MessageTemplate,
    OutboundMessage,
    Role,
    Unsubscribe,
    User,
)
from models.messaging import Channel
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import Action, can

BATCH = 500


# --- unsubscribe links -----------------------------------------------------------------
# the unsubscribe line under a mailing's email, in the template's language
UNSUBSCRIBE = {"ru": "Отписаться от рассылки", "uk": "Відписатися від розсилки",
               "en": "Unsubscribe"}


def unsubscribe_token(secret: str, channel: str, address: str) -> str:
    payload = f"{channel}:{address}".encode()
    sig = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()[:24]
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + sig


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    try:
        raw, sig = token.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        channel, address = payload.decode().split(":", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    good = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()[:24]
    return (channel, address) if hmac.compare_digest(good, sig) else None


async def do_unsubscribe(channel: str, address: str) -> None:
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValidationFailed("channel", N_("email or sms"))
    await Unsubscribe.get_or_create(channel=channel, address=address.lower())


# --- making a mailing -----------------------------------------------------------------
def _address(client: dict[str, Any], channel: str) -> str | None:
    return client["email"] if channel == Channel.EMAIL else client["phone"]


async def do_create_mailing(actor: User, *, name: str, template_id: int,
                            segment_id: int | None = None,
                            client_ids: list[int] | None = None,
                            per_minute: int = 60) -> Mailing:
    from services import segments
    from services.clients import visible_clients

    if not await can(actor, Action.SEND_MAILINGS):
        raise PermissionDenied("admins and heads send mailings")
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationFailed("name", N_("one to 200 characters"))
    template = await MessageTemplate.get_or_none(id=template_id, archived=False)
    if template is None:
        raise ValidationFailed("template", N_("no such template"))
    if isinstance(per_minute, bool) or not isinstance(per_minute, int) or \
            not 1 <= per_minute <= 6000:
        raise ValidationFailed("per_minute", N_("from 1 to 6000"))
    if segment_id:
        try:
            qs = await segments.members(actor, segment_id)
        except NotFound:
            raise ValidationFailed("segment", N_("no such segment")) from None
    elif client_ids:
        qs = (await visible_clients(actor)).filter(id__in=list(client_ids))
    else:
        raise ValidationFailed("segment", N_("choose a segment or clients"))
    channel = str(template.channel)
    blocked = set(await Unsubscribe.filter(channel=channel).values_list("address",
                                                                        flat=True))
    consent = "email_consent" if channel == Channel.EMAIL else "sms_consent"
    async with in_transaction():
        mailing = await Mailing.create(name=name, channel=channel, template=template,
                                       segment_id=segment_id, per_minute=per_minute,
                                       created_by_id=actor.id)
        last = 0
        while True:  # in chunks: a segment may hold tens of thousands
            rows = await qs.filter(id__gt=last).order_by("id").limit(BATCH).values(
                "id", "email", "phone", "do_not_contact", consent)
            if not rows:
                break
            batch = []
            for c in rows:
                address = _address(c, channel)
                reason = ("do_not_contact" if c["do_not_contact"] else
                          "no_consent" if not c[consent] else
                          "no_address" if not address else
                          "unsubscribed" if address.lower() in blocked else None)
                batch.append(MailingRecipient(mailing_id=mailing.id, client_id=c["id"],
                                              address=address,
                                              state="skipped" if reason else "pending",
                                              reason=reason))
            await MailingRecipient.bulk_create(batch)
            last = rows[-1]["id"]
    return mailing


async def _mailing(actor: User, mailing_id: int) -> Mailing:
    mailing = await Mailing.get_or_none(id=mailing_id)
    if mailing is None or (actor.role != Role.ADMIN and mailing.created_by_id != actor.id):
        raise NotFound("mailing")
    return mailing


TRANSITIONS = {
    "start": ((MailingState.DRAFT,), MailingState.RUNNING),
    "pause": ((MailingState.RUNNING,), MailingState.PAUSED),
    "resume": ((MailingState.PAUSED,), MailingState.RUNNING),
    "cancel": ((MailingState.DRAFT, MailingState.RUNNING, MailingState.PAUSED),
               MailingState.CANCELLED),
}


async def list_mailings(actor: User, limit: int = 50, offset: int = 0) -> list[Mailing]:
    """The newest mailings one may see: all for admins, one's own for heads."""
    if not await can(actor, Action.SEND_MAILINGS):
        raise PermissionDenied("admins and heads send mailings")
    return await _mailings_of(actor).order_by("-id").offset(max(offset, 0)).limit(limit)


def _mailings_of(actor: User) -> QuerySet[Mailing]:
    return Mailing.all() if actor.role == Role.ADMIN else Mailing.filter(created_by_id=actor.id)


async def mailings_with_counts(actor: User, limit: int = 50, offset: int = 0
                               ) -> list[dict[str, Any]]:
    """The mailings page: :func:`list_mailings` with each one's :func:`counts`, in
    three grouped queries for the whole page, not three per mailing."""
    return await _with_counts(await list_mailings(actor, limit, offset))


async def mailing_page(actor: User, *, limit: int = 50, offset: int = 0
                       ) -> tuple[list[dict[str, Any]], int]:
    """A page of :func:`mailings_with_counts` (the bot's list, the API's) and how many
    mailings one may see in all."""
    items = await mailings_with_counts(actor, limit, offset)
    return items, await _mailings_of(actor).count()


async def _with_counts(mailings: list[Mailing]) -> list[dict[str, Any]]:
    ids = [m.id for m in mailings]
    if not ids:
        return []
    by_state: dict[int, dict[str, int]] = {i: {} for i in ids}
    sent: dict[int, dict[str, int]] = {i: {} for i in ids}
    reasons: dict[int, dict[str, int]] = {i: {} for i in ids}
    for mid, state, n in await MailingRecipient.filter(mailing_id__in=ids).annotate(
            n=Count("id")).group_by("mailing_id", "state").values_list(
            "mailing_id", "state", "n"):
        by_state[mid][str(state)] = n
    for mid, state, n in await OutboundMessage.filter(mailing_id__in=ids).annotate(
            n=Count("id")).group_by("mailing_id", "state").values_list(
            "mailing_id", "state", "n"):
        sent[mid][str(state)] = n
    for mid, reason, n in await MailingRecipient.filter(
            mailing_id__in=ids, state="skipped").annotate(n=Count("id")).group_by(
            "mailing_id", "reason").values_list("mailing_id", "reason", "n"):
        reasons[mid][reason] = n
    return [_summed(m, by_state[m.id], sent[m.id], reasons[m.id]) for m in mailings]


def _summed(mailing: Mailing, by_state: dict[str, int], sent: dict[str, int],
            reasons: dict[str, int]) -> dict[str, Any]:
    return {"mailing": mailing, "total": sum(by_state.values()),
            "pending": by_state.get("pending", 0),
            "skipped": by_state.get("skipped", 0), "reasons": reasons,
            "queued": sent.get("queued", 0) + sent.get("sending", 0),
            "sent": sent.get("sent", 0), "failed": sent.get("failed", 0)}


async def do_mailing_action(actor: User, mailing_id: int, action: str,
                            source: str = "web") -> Mailing:
    if action not in TRANSITIONS:
        raise ValidationFailed("action", N_("start, pause, resume or cancel"))
    mailing = await _mailing(actor, mailing_id)
    allowed, target = TRANSITIONS[action]
    if mailing.state not in allowed:
        raise ValidationFailed("state", N_("a {state} mailing cannot {action}"),
                               state=mailing.state, action=action)
    mailing.state = target
    if action == "start":
        mailing.started_at = utcnow()
    if target == MailingState.CANCELLED:
        mailing.finished_at = utcnow()
    await mailing.save()
    await AuditLog.create(user_id=actor.id, source=source, entity="mailing",
                          object_id=mailing.id, client_id=None, action=action)
    return mailing


async def progress(actor: User, mailing_id: int) -> dict[str, Any]:
    return await counts(await _mailing(actor, mailing_id))


async def counts(mailing: Mailing) -> dict[str, Any]:
    """Recipients by state and their messages by outbox state (no access check: the
    caller has one, or is a timed job)."""
    by_state = dict(await MailingRecipient.filter(mailing_id=mailing.id).annotate(
        n=Count("id")).group_by("state").values_list("state", "n"))
    sent = dict(await OutboundMessage.filter(mailing_id=mailing.id).annotate(
        n=Count("id")).group_by("state").values_list("state", "n"))
    reasons = dict(await MailingRecipient.filter(mailing_id=mailing.id, state="skipped"
                                                 ).annotate(n=Count("id")).group_by(
        "reason").values_list("reason", "n"))
    return _summed(mailing, {str(k): v for k, v in by_state.items()},
                   {str(k): v for k, v in sent.items()}, reasons)


# --- progress in the bot and the end summary ------------------------------------------
SUMMARY_WAIT = timedelta(minutes=15)  # the outbox still retrying: summed up anyway
SUMMARY_WINDOW = timedelta(days=2)  # older mailings (made before this) get none


async def do_track_progress(actor: User, mailing_id: int, chat_id: int,
                            message_id: int) -> Mailing:
    """The bot message that shows this mailing's progress from now on; the summary
    goes to that chat."""
    mailing = await _mailing(actor, mailing_id)
    await Mailing.filter(id=mailing.id).update(progress_chat_id=chat_id,
                                               progress_message_id=message_id)
    mailing.progress_chat_id, mailing.progress_message_id = chat_id, message_id
    return mailing


async def forget_progress_message(mailing_id: int, message_id: int) -> None:
    """The progress message is gone (deleted, the bot blocked): no more edits; the
    summary still goes to its chat."""
    await Mailing.filter(id=mailing_id, progress_message_id=message_id).update(
        progress_message_id=None)


async def tracked_mailings(now: datetime | None = None) -> list[Mailing]:
    """Mailings whose progress message is still to be kept up to date."""
    from tortoise.expressions import Q

    now = now or utcnow()
    return await Mailing.filter(
        Q(finished_at=None) | Q(finished_at__gte=now - SUMMARY_WINDOW),
        progress_message_id__not_isnull=True, summary_sent_at=None).order_by("id").limit(200)


async def summaries_due(now: datetime | None = None) -> list[Mailing]:
    """Done or cancelled mailings without a summary yet whose messages have left the
    outbox (or that finished a while ago: a server retrying for hours is not waited)."""
    now = now or utcnow()
    due = []
    for mailing in await Mailing.filter(
            state__in=[MailingState.DONE, MailingState.CANCELLED], summary_sent_at=None,
            finished_at__gte=now - SUMMARY_WINDOW).order_by("id").limit(200):
        waiting = await OutboundMessage.filter(mailing_id=mailing.id,
                                               state__in=["queued", "sending"]).exists()
        if not waiting or mailing.finished_at <= now - SUMMARY_WAIT:
            due.append(mailing)
    return due


async def claim_summary(mailing_id: int, now: datetime | None = None) -> bool:
    """True for exactly one caller (of any replica): that one sends the summary."""
    return bool(await Mailing.filter(id=mailing_id, summary_sent_at=None).update(
        summary_sent_at=now or utcnow()))


async def failure_reasons(mailing_id: int, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons the messages of a mailing failed, most frequent first."""
    rows = await OutboundMessage.filter(mailing_id=mailing_id, state="failed").annotate(
        n=Count("id")).group_by("last_error").values_list("last_error", "n")
    rows = sorted(((r or "?", n) for r, n in rows), key=lambda x: (-x[1], x[0]))
    return rows[:limit]


# --- the pump (a timed job) --------------------------------------------------------------
async def _contexts(client_ids: list[int], author: User | None) -> dict[int, dict]:
    """The template variables of a batch of clients, in two queries."""
    from services.clients import _ref_names

    rows = await Client.filter(id__in=client_ids).values(
        "id", "name", "phone", "email", "street", "building", "office", "region_id",
        "city_id", "district_id")
    names = await _ref_names(*{r[k] for r in rows for k in ("region_id", "city_id",
                                                           "district_id") if r[k]})
    sender = {"full_name": author.full_name if author else "",
              "phone": (author.phone or "") if author else "",
              "email": (author.email or "") if author else ""}
    out = {}
    for r in rows:
        parts = [names.get(r["region_id"]), names.get(r["city_id"]),
                 names.get(r["district_id"]), r["street"], r["building"], r["office"]]
        out[r["id"]] = {"client": {"name": r["name"], "phone": r["phone"] or "",
                                   "email": r["email"] or "",
                                   "address": ", ".join(p for p in parts if p)},
                        "sender": sender}
    return out


async def pump(*, secret: str, base_url: str, interval_s: float = 10.0) -> int:
    """Queue the next recipients of every running mailing, within its rate; a mailing
    with nobody pending left is done. Returns how many were queued.

    A batch is claimed (pending → queued) and its messages are written in one
    transaction: another replica's claim waits on the same rows and then finds them
    taken; a crash rolls both back, so nobody is lost or queued twice."""
    from services.templating import render_many

    queued = 0
    for mailing in await Mailing.filter(state=MailingState.RUNNING):
        template = await MessageTemplate.get(id=mailing.template_id)
        author = await User.get_or_none(id=mailing.created_by_id)
        allowance = max(1, round(mailing.per_minute * interval_s / 60))
        rows = await MailingRecipient.filter(mailing_id=mailing.id, state="pending").order_by(
            "id").limit(allowance).values("id", "client_id", "address")
        if not rows:
            await Mailing.filter(id=mailing.id, state=MailingState.RUNNING).update(
                state=MailingState.DONE, finished_at=utcnow())
            continue
        contexts = await _contexts([r["client_id"] for r in rows if r["client_id"]], author)
        messages, skipped = {}, {}
        present = []
        for r in rows:
            if contexts.get(r["client_id"]) is None:
                skipped[r["id"]] = "client removed"
            else:
                present.append(r)
        rendered = await render_many(
            [("subject", template.subject or "", False), ("body", template.body, False)],
            [contexts[r["client_id"]] for r in present])
        for r, answer in zip(present, rendered, strict=True):
            if isinstance(answer, ValidationFailed):
                skipped[r["id"]] = f"render: {answer.message}"[:100]
                continue
            subject, body = answer
            subject = " ".join(subject.split())
            if mailing.channel == Channel.EMAIL:
                link = f"{base_url}/u/{unsubscribe_token(secret, 'email', r['address'])}"
                body += f"\n\n--\n{UNSUBSCRIBE.get(template.language, UNSUBSCRIBE['en'])}: {link}"
            messages[r["id"]] = (r, subject, body)
        now = utcnow()
        async with in_transaction():
            if messages:
                token = f"claim:{secrets.token_hex(8)}"
                await MailingRecipient.filter(id__in=list(messages), state="pending").update(
                    state="queued", reason=token)
                mine = set(await MailingRecipient.filter(reason=token).values_list(
                    "id", flat=True))
                await OutboundMessage.bulk_create([OutboundMessage(
                    channel=mailing.channel, to_address=r["address"], subject=subject[:300],
                    body=body, client_id=r["client_id"], template_id=template.id,
                    mailing_id=mailing.id, created_by_id=mailing.created_by_id,
                    reply_to=author.email if author else None, next_attempt_at=now)
                    for rid, (r, subject, body) in messages.items() if rid in mine],
                    batch_size=500)
                await MailingRecipient.filter(reason=token).update(reason=None)
                queued += len(mine)
            for rid, reason in skipped.items():
                await MailingRecipient.filter(id=rid, state="pending").update(
                    state="skipped", reason=reason)
    return queued


# --- STOP replies by SMS ------------------------------------------------------------------
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "СТОП", "ОТПИСАТЬСЯ", "ВІДПИСАТИСЯ",
              "ОТПИСКА", "ВІДПИСКА"}


def inbound_token(secret: str) -> str:
    """The secret part of the inbound SMS webhook's URL."""
    return hmac.new(secret.encode(), b"sms-inbound", hashlib.sha256).hexdigest()[:32]


async def do_inbound_sms(sender: str, text: str) -> bool:
    """A reply by SMS: STOP (in any of our languages) unsubscribes the number from
    mailings. True when it did."""
    from services.clients import normalize_phone

    if " ".join((text or "").split()).upper().strip(".!") not in STOP_WORDS:
        return False
    try:
        phone = normalize_phone(sender or "")
    except ValidationFailed:
        return False
    await Unsubscribe.get_or_create(channel=Channel.SMS, address=phone.lower())
    return True
