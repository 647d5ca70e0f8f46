"""The Telegram side of task discussions (K-2), after the database commit: make the
topic and post its pinned card, invite assignees who are not in the group, post web
comments into the topic, announce changes, rename, close and reopen the topic."""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.callbacks import ActivityCB
from kontakt.formatting import when_text
from models import Activity, Discussion, TeamGroup, User
from notifications.activities import KINDS
from services import discussions as svc
from services.activities import find_activity
from services.clock import utcnow

log = logging.getLogger("kontakt.discussions")
INVITE_HOURS = 24
LOST = ("TOPIC_ID_INVALID", "TOPIC_DELETED", "thread not found")


def topic_link(chat_id: int, thread_id: int) -> str:
    """t.me/c/<id>/<thread>: the supergroup id without its -100 prefix."""
    internal = str(chat_id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{thread_id}"


@dataclass
class Opened:
    link: str | None  # None: no forum group (relay mode)
    new: bool
    recreated: bool = False


async def _card(bot: Bot, i18n: I18n, activity: Activity, lang: str, tz: str) -> tuple[
        str, InlineKeyboardMarkup]:
    await activity.fetch_related("client", "type")
    people = await svc.participants(activity.id)
    names = ", ".join(f'<a href="tg://user?id={p.telegram_id}">{html.escape(p.full_name)}</a>'
                      for p in people)
    lines = [f"{activity.type.icon} <b>{html.escape(activity.title)}</b>",
             i18n.gettext("State: {state}", locale=lang).format(
                 state=i18n.gettext(str(activity.state), locale=lang))]
    if activity.starts_at:
        lines.append("🕒 " + when_text(activity.starts_at, tz, lang, now=utcnow()))
    if activity.client:
        lines.append("🏢 " + html.escape(activity.client.name))
    lines.append(i18n.gettext("Assignees: {names}", locale=lang).format(names=names))
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=i18n.gettext("✅ Done", locale=lang),
                             callback_data=ActivityCB(action="done",
                                                      activity_id=activity.id).pack()),
        InlineKeyboardButton(text=i18n.gettext("📅 Reschedule", locale=lang),
                             callback_data=ActivityCB(action="resched",
                                                      activity_id=activity.id).pack()),
    ]])
    return "\n".join(lines), markup


async def open_topic(bot: Bot, i18n: I18n, actor: User, activity_id: int,
                     default_language: str = "ru") -> Opened:
    """"Discuss": the activity's topic, made on the first press; later presses open
    the same one (or a new one, said so, if somebody deleted it in Telegram)."""
    claim = await svc.claim_discussion(actor, activity_id)
    discussion, group = claim.discussion, claim.group
    if group is None:
        return Opened(None, claim.first)
    if not claim.first:
        for _ in range(100):  # the first press is making the topic
            if discussion.thread_id is not None:
                break
            await asyncio.sleep(0.1)
            fresh = await Discussion.get_or_none(id=discussion.id)
            if fresh is None:  # the first press failed: this one tries
                return await open_topic(bot, i18n, actor, activity_id, default_language)
            discussion = fresh
        if discussion.thread_id is None:
            # the first press died half-way: take the claim over
            await svc.do_topic_lost(discussion.id)
            return await open_topic(bot, i18n, actor, activity_id, default_language)
        try:  # still there? (a topic deleted in Telegram is made anew)
            await bot.edit_forum_topic(group.chat_id, discussion.thread_id,
                                       name=discussion.topic_name)
        except TelegramBadRequest as exc:
            if any(m in exc.message for m in LOST):
                await svc.do_topic_lost(discussion.id)
                again = await open_topic(bot, i18n, actor, activity_id, default_language)
                return Opened(again.link, True, recreated=True)
            if "TOPIC_NOT_MODIFIED" not in exc.message:
                raise
        return Opened(topic_link(group.chat_id, discussion.thread_id), False)
    activity = await Activity.get(id=activity_id)
    lang = default_language
    try:
        topic = await bot.create_forum_topic(group.chat_id, discussion.topic_name)
    except Exception:
        await svc.do_topic_lost(discussion.id)  # the next press tries again
        raise
    # stored at once: a failure below must not leave the topic without its task
    await svc.do_topic_made(discussion.id, topic.message_thread_id, None)
    card = None
    try:
        text, markup = await _card(bot, i18n, activity, lang, actor.timezone)
        card = await bot.send_message(group.chat_id, text, reply_markup=markup,
                                      message_thread_id=topic.message_thread_id)
        try:
            await bot.pin_chat_message(group.chat_id, card.message_id,
                                       disable_notification=True)
        except TelegramBadRequest as exc:
            log.info("could not pin the card: %s", exc.message)
    except Exception as exc:  # noqa: BLE001 - the topic is there; the card is a nicety
        log.warning("could not post the card into topic %s: %s", topic.message_thread_id, exc)
    if card is not None:
        await svc.do_topic_made(discussion.id, topic.message_thread_id, card.message_id)
    await invite_missing(bot, i18n, group, activity)
    return Opened(topic_link(group.chat_id, topic.message_thread_id), True)


async def invite_missing(bot: Bot, i18n: I18n, group: TeamGroup, activity: Activity) -> int:
    """Assignees not in the group get a single-use, expiring invite link in private."""
    from datetime import timedelta

    sent = 0
    for person in await svc.participants(activity.id):
        try:
            member = await bot.get_chat_member(group.chat_id, person.telegram_id)
            if member.status not in ("left", "kicked"):
                continue
            link = await bot.create_chat_invite_link(
                group.chat_id, name=f"K-2 {activity.id}"[:32], member_limit=1,
                expire_date=utcnow() + timedelta(hours=INVITE_HOURS))
            lang = str(person.language)
            await bot.send_message(person.telegram_id, i18n.gettext(
                "💬 Join the discussion of “{title}”: {link} (the link works once, for "
                "{hours} hours)", locale=lang).format(title=html.escape(activity.title),
                                                      link=link.invite_link,
                                                      hours=INVITE_HOURS))
            sent += 1
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            log.info("no invite for %s: %s", person.id, exc.message)
    return sent


async def _topic(activity_id: int) -> tuple[Discussion, TeamGroup] | None:
    discussion = await Discussion.get_or_none(activity_id=activity_id)
    if discussion is None or discussion.thread_id is None or discussion.group_id is None:
        return None
    group = await TeamGroup.get_or_none(id=discussion.group_id)
    return (discussion, group) if group else None


async def post_comment(bot: Bot, activity_id: int, author: str, text: str) -> bool:
    """A comment written in the web pages, posted into the topic under the author's name."""
    found = await _topic(activity_id)
    if found is None:
        return False
    discussion, group = found
    try:
        await bot.send_message(group.chat_id, f"💬 <b>{html.escape(author)}</b>: "
                                              f"{html.escape(text)}",
                               message_thread_id=discussion.thread_id)
        return True
    except Exception as exc:  # noqa: BLE001 - the comment is saved; the topic may be gone
        log.info("could not post into topic %s: %s", discussion.thread_id, exc)
        return False


async def topic_after(bot: Bot, i18n: I18n, activity_id: int, staff: User | None,
                      event: str | None) -> None:
    """The task's topic follows a change made in the bot or the web pages, announced in
    the company's language."""
    lang = str(i18n.default_locale)
    text = None
    kind = "changed" if event == "assignees" else event
    if kind in KINDS and staff is not None:
        activity = await find_activity(activity_id)
        if activity is not None:
            text = i18n.gettext(KINDS[kind], locale=lang).format(
                by=html.escape(staff.full_name), title=f"<b>{html.escape(activity.title)}</b>")
    # a new assignee who is not in the team group is invited to the conversation
    await sync_topic(bot, i18n, activity_id, text, lang, invite=event == "assignees")


async def sync_topic(bot: Bot, i18n: I18n, activity_id: int, announcement: str | None,
                     default_language: str = "ru", *, invite: bool = False) -> None:
    """After a change of the activity: announce it, rename the topic with the task,
    close it when done or cancelled, reopen it when reopened."""
    found = await _topic(activity_id)
    if found is None:
        return
    discussion, group = found
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        return
    chat, thread = group.chat_id, discussion.thread_id
    try:
        if announcement:
            await bot.send_message(chat, announcement, message_thread_id=thread)
        name = svc.topic_name(activity.title)
        if name != discussion.topic_name:
            await bot.edit_forum_topic(chat, thread, name=name)
            await Discussion.filter(id=discussion.id).update(topic_name=name)
        should_close = str(activity.state) in ("done", "cancelled")
        if should_close and not discussion.closed:
            await bot.close_forum_topic(chat, thread)
            await Discussion.filter(id=discussion.id).update(closed=True)
        elif not should_close and discussion.closed:
            await bot.reopen_forum_topic(chat, thread)
            await Discussion.filter(id=discussion.id).update(closed=False)
        if invite:
            await invite_missing(bot, i18n, group, activity)
    except Exception as exc:  # noqa: BLE001 - the change is saved; the topic may be gone
        log.info("could not update topic %s: %s", thread, exc)
