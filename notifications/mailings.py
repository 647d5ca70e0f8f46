"""K-16 in Telegram: a mailing's progress message, kept up to date, and its end summary.

A mailing started from the bot has one progress message ("📣 Mailing «X»: 120/500
sent, 3 failed, 12 skipped", a bar and the percentage, with Pause/Resume/Cancel). A
timed job (:meth:`MailingProgress.run_once`, every few seconds) edits it when the
text changes, at most once per ``min_interval_s`` per mailing; "message is not
modified" is fine, and a message deleted by the person (or a blocked bot) is simply
no longer edited. When the mailing is done or cancelled and its messages have left
the outbox, the message is edited a last time and one summary is sent — sent, failed
with the commonest reasons, skipped by reason — to whoever started it from the bot,
else to its creator (a mailing started on the web page). The summary is claimed by a
conditional UPDATE of ``summary_sent_at`` first, so of two replicas one sends it.
Everything here runs after the database commits and never inside a transaction."""

from __future__ import annotations

import html
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import MailingCB
from models import Mailing, User
from services import mailings as svc

log = logging.getLogger("kontakt.mailings")
BAR_CELLS = 10
ENDED = ("done", "cancelled")


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


# why a recipient was skipped (the codes services.mailings writes)
from kontakt.labels import skip_reason  # noqa: E402 - beside the labels it replaced

STATES = {"draft": N_("draft"), "running": N_("running"), "paused": N_("paused"),
          "done": N_("done"), "cancelled": N_("cancelled")}


def bar(done: int, todo: int) -> tuple[str, int]:
    """▓▓▓░░… and the whole percent (an empty list is complete)."""
    percent = min(100, done * 100 // todo) if todo else 100
    filled = min(BAR_CELLS, round(percent * BAR_CELLS / 100))
    return "▓" * filled + "░" * (BAR_CELLS - filled), percent


def progress_text(i18n: I18n, lang: str, p: dict) -> str:
    m = p["mailing"]
    todo = p["total"] - p["skipped"]
    cells, percent = bar(p["sent"] + p["failed"], todo)
    state = i18n.gettext(STATES.get(str(m.state), str(m.state)), locale=lang)
    lines = [i18n.gettext("📣 Mailing «{name}»: {sent}/{todo} sent, {failed} failed, "
                          "{skipped} skipped", locale=lang).format(
                 name=html.escape(m.name), sent=p["sent"], todo=todo, failed=p["failed"],
                 skipped=p["skipped"]),
             f"{cells} {percent}%",
             i18n.gettext("State: {state}", locale=lang).format(state=state)]
    if str(m.state) not in ENDED and (p["queued"] or p["pending"]):
        lines.append(i18n.gettext("In the outbox: {queued} · waiting: {pending}",
                                  locale=lang).format(queued=p["queued"], pending=p["pending"]))
    return "\n".join(lines)


def progress_markup(i18n: I18n, lang: str, mailing: Mailing) -> InlineKeyboardMarkup | None:
    """The actions the mailing's state allows (none once it has ended)."""
    def btn(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=i18n.gettext(text, locale=lang), callback_data=MailingCB(
            action=action, mailing_id=mailing.id).pack())

    state = str(mailing.state)
    row = {"draft": [btn(N_("▶️ Start"), "start")],
           "running": [btn(N_("⏸ Pause"), "pause")],
           "paused": [btn(N_("▶️ Resume"), "resume")]}.get(state)
    if row is None:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[*row, btn(N_("✖️ Cancel"), "cancel")]])


async def summary_text(i18n: I18n, lang: str, p: dict) -> str:
    def t(text: str) -> str:
        return i18n.gettext(text, locale=lang)

    m = p["mailing"]
    head = t(N_("📣 Mailing «{name}» is done.")) if str(m.state) == "done" else \
        t(N_("📣 Mailing «{name}» was cancelled."))
    lines = [head.format(name=html.escape(m.name)),
             t(N_("✅ Sent: {n}")).format(n=p["sent"]),
             t(N_("❌ Failed: {n}")).format(n=p["failed"])]
    for reason, n in await svc.failure_reasons(m.id):
        lines.append(f"   • {html.escape(reason[:150])}: {n}")
    lines.append(t(N_("⏭ Skipped: {n}")).format(n=p["skipped"]))
    for reason, n in sorted(p["reasons"].items(), key=lambda x: (-x[1], str(x[0]))):
        label = skip_reason(str(reason), t)
        lines.append(f"   • {html.escape(label[:150])}: {n}")
    if p["queued"]:
        lines.append(t(N_("⏳ Still in the outbox: {n}")).format(n=p["queued"]))
    if p["pending"]:
        lines.append(t(N_("✖️ Not sent (cancelled): {n}")).format(n=p["pending"]))
    return "\n".join(lines)


class MailingProgress:
    """The Telegram side of running mailings; :meth:`run_once` is the timed job."""

    def __init__(self, bot: Bot, i18n: I18n, *, min_interval_s: float = 4.0) -> None:
        self.bot, self.i18n = bot, i18n
        self.min_interval_s = min_interval_s
        self._shown: dict[int, tuple[float, str]] = {}  # mailing → (when, text) last shown

    def remember(self, mailing_id: int, text: str) -> None:
        """The bot has just shown this text itself (the job need not show it again)."""
        self._shown[mailing_id] = (time.monotonic(), text)

    async def _language(self, chat_id: int | None) -> str:
        user = await User.get_or_none(telegram_id=chat_id) if chat_id else None
        return str(user.language) if user is not None else str(self.i18n.default_locale)

    async def run_once(self) -> tuple[int, int]:
        """Edit the progress messages whose text changed; send the summaries that are
        due. Returns (messages edited, summaries sent)."""
        edited = sent = 0
        for mailing in await svc.tracked_mailings():
            edited += await self.refresh(mailing)
        for mailing in await svc.summaries_due():
            if mailing.progress_message_id:
                edited += await self.refresh(mailing, force=True)  # the final counts
            sent += await self.summarise(mailing)
        return edited, sent

    async def refresh(self, mailing: Mailing, *, force: bool = False) -> bool:
        """Edit the mailing's progress message if its text changed (and the last edit
        was long enough ago, unless ``force``). True when it was edited."""
        if not mailing.progress_chat_id or not mailing.progress_message_id:
            return False
        now = time.monotonic()
        last_at, last_text = self._shown.get(mailing.id, (0.0, None))
        if not force and now - last_at < self.min_interval_s:
            return False
        lang = await self._language(mailing.progress_chat_id)
        p = await svc.counts(mailing)
        text = progress_text(self.i18n, lang, p)
        if text == last_text:
            return False
        try:
            await self.bot.edit_message_text(
                text, chat_id=mailing.progress_chat_id, message_id=mailing.progress_message_id,
                reply_markup=progress_markup(self.i18n, lang, mailing))
        except TelegramRetryAfter:
            return False  # the next round tries again
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                self._shown[mailing.id] = (now, text)
                return False
            # deleted by the person, or too old to edit: stop editing it
            log.info("mailing %s: progress message gone: %s", mailing.id, exc.message)
            await svc.forget_progress_message(mailing.id, mailing.progress_message_id)
            return False
        except TelegramForbiddenError:
            await svc.forget_progress_message(mailing.id, mailing.progress_message_id)
            return False
        except Exception as exc:  # noqa: BLE001 - Telegram away: the next round tries again
            log.warning("mailing %s: cannot edit the progress: %s", mailing.id,
                        type(exc).__name__)
            return False
        self._shown[mailing.id] = (now, text)
        return True

    async def summarise(self, mailing: Mailing) -> bool:
        """Send the end summary once (claimed first); True when this call sent it."""
        from notifications.telegram import send_to

        if not await svc.claim_summary(mailing.id):
            return False  # another replica has it
        self._shown.pop(mailing.id, None)
        chat_id = mailing.progress_chat_id
        if not chat_id and mailing.created_by_id:
            creator = await User.get_or_none(id=mailing.created_by_id)
            if creator is not None and creator.is_active:
                chat_id = creator.telegram_id
        if not chat_id:
            return False
        lang = await self._language(chat_id)
        text = await summary_text(self.i18n, lang, await svc.counts(mailing))
        return await send_to(self.bot, chat_id, text)
