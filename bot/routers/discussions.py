"""Task discussions in the bot (K-2): /setup of a team's forum group, the "Discuss"
button of an activity card, and every message of a task topic kept as a comment of
the task (edits follow)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.callbacks import ActivityCB
from models import User
from notifications import discussions as topics
from services import discussions as svc
from services.errors import DomainError

RIGHT_NAMES = {"is_forum": __("Topics (a forum group)"),
               "can_manage_topics": __("Manage topics"),
               "can_invite_users": __("Invite users via link"),
               "can_pin_messages": __("Pin messages")}


def _kind_and_text(message: Message) -> tuple[str, str, str | None]:
    if message.photo:
        return "photo", message.caption or "📷", message.photo[-1].file_id
    if message.document:
        return ("document", message.caption or f"📎 {message.document.file_name or 'file'}",
                message.document.file_id)
    if message.voice:
        return "voice", message.caption or "🎤", message.voice.file_id
    if message.location:
        loc = message.location
        return "location", f"📍 {loc.latitude:.5f}, {loc.longitude:.5f}", None
    return "text", message.text or message.caption or "", None


def build_discussions_router() -> Router:
    router = Router(name="discussions")

    @router.message(Command("setup"), F.chat.type.in_({"group", "supergroup"}))
    async def setup(message: Message, staff: User | None, bot: Bot) -> None:
        if staff is None:
            return
        me = await bot.get_chat_member(message.chat.id, bot.id)
        rights = {r: bool(getattr(me, r, False)) for r in svc.REQUIRED_RIGHTS}
        if me.status == "creator":
            rights = dict.fromkeys(svc.REQUIRED_RIGHTS, True)
        try:
            group = await svc.do_register_group(
                staff, message.chat.id, message.chat.title or "", rights=rights,
                is_forum=bool(message.chat.is_forum))
        except DomainError:
            await message.reply(_("Only administrators and heads set up a team group."))
            return
        if group.missing_rights:
            names = ", ".join(str(RIGHT_NAMES[r]) for r in group.missing_rights)
            await message.reply(_("⚠️ Not ready: the bot needs these rights: {rights}. "
                                  "Grant them and send /setup again.").format(rights=names))
            return
        await message.reply(_("✅ Ready: every task discussed from now on gets its own "
                              "topic here."))

    @router.callback_query(ActivityCB.filter(F.action == "discuss"))
    async def discuss(query: CallbackQuery, callback_data: ActivityCB, staff: User, bot: Bot,
                      i18n: I18n) -> None:
        try:
            opened = await topics.open_topic(bot, i18n, staff, callback_data.activity_id,
                                             str(i18n.default_locale))
        except DomainError:
            await query.answer(_("That was not found or is not yours."), show_alert=True)
            return
        await query.answer()
        if opened.link is None:
            await query.message.answer(_("There is no team forum group yet (an administrator "
                                         "adds the bot to one and sends /setup there). "
                                         "Comments on the task stay in the CRM."))
            return
        text = _("💬 The discussion of this task:") if not opened.recreated else _(
            "💬 The old topic was deleted in Telegram; here is a new one:")
        await query.message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=_("Open the topic"), url=opened.link)]]))

    @router.message(F.chat.type == "supergroup", F.is_topic_message)
    async def topic_message(message: Message) -> None:
        await store_topic_message(message)

    @router.edited_message(F.chat.type == "supergroup", F.is_topic_message)
    async def topic_edit(message: Message) -> None:
        await store_topic_message(message)

    return router


async def store_topic_message(message: Message | None) -> None:
    """A message (or its edit) in a task topic becomes a comment of the task."""
    if message is None or not message.message_thread_id:
        return
    discussion = await svc.discussion_of_thread(message.chat.id, message.message_thread_id)
    if discussion is None or message.from_user is None or message.from_user.is_bot:
        return
    kind, text, file_id = _kind_and_text(message)
    if not text and kind == "text":
        return  # a service message (topic created, closed...)
    await svc.do_topic_message(
        discussion, telegram_user_id=message.from_user.id,
        author_name=message.from_user.full_name, chat_id=message.chat.id,
        message_id=message.message_id, kind=kind, text=text[:4000], file_id=file_id)



