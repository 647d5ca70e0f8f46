"""Task discussions (K-2): one topic per activity in a team's forum supergroup.

Rules:

* An admin (or a head, for their department) registers a forum supergroup with
  ``/setup``; the bot must be an administrator that may manage topics, invite users
  and pin messages: the missing rights are named and the group is not used until
  they are granted. A head's group serves their department; an admin's, the company.
* The group of an activity is its first assignee's department's (or the nearest
  parent department's), else the company's.
* "Discuss" claims the activity's discussion row (unique per activity), so two
  presses at once make one topic; the Telegram calls happen after that commit, and
  the topic id is stored when made.
* Every message in the topic is a comment of the activity with its author: staff by
  their Telegram id, anybody else by name (kept, not relayed). Edits follow.
* Who sees the comments: whoever sees the activity (its participants, their heads,
  admins).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from models import (
    Activity,
    ActivityComment,
    AuditLog,
    Department,
    Discussion,
    Role,
    StaffStatus,
    TeamGroup,
    User,
)
from services.activities import assignee_ids, get_activity
from services.clock import utcnow
from services.errors import NotFound, PermissionDenied

REQUIRED_RIGHTS = ("can_manage_topics", "can_invite_users", "can_pin_messages")
TOPIC_MAX = 128  # Telegram's limit for a topic name


def topic_name(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TOPIC_MAX else title[:TOPIC_MAX - 1] + "…"


async def do_register_group(actor: User, chat_id: int, title: str, *, is_forum: bool,
                            rights: dict[str, bool]) -> TeamGroup:
    """``/setup`` in a group: store it with the rights the bot still lacks."""
    if actor.role not in (Role.ADMIN, Role.HEAD):
        raise PermissionDenied("admins and heads set up team groups")
    missing = [r for r in REQUIRED_RIGHTS if not rights.get(r)]
    if not is_forum:
        missing.insert(0, "is_forum")
    department_id = actor.department_id if actor.role == Role.HEAD else None
    group = await TeamGroup.get_or_none(chat_id=chat_id)
    if group is not None and actor.role != Role.ADMIN and \
            group.department_id != actor.department_id:
        raise PermissionDenied("this group serves another team; an admin may change it")
    if group is None:
        group = await TeamGroup.create(chat_id=chat_id, title=title[:255],
                                       department_id=department_id, missing_rights=missing,
                                       set_up_by_id=actor.id)
    else:
        group.title, group.missing_rights = title[:255], missing
        group.department_id, group.set_up_by_id = department_id, actor.id
        await group.save()
    return group


async def group_for(activity: Activity) -> TeamGroup | None:
    """The ready group of the activity's first assignee's department (or a parent's),
    else the company's; None: relay mode."""
    people = await assignee_ids(activity.id) or [activity.author_id]
    person = await User.get_or_none(id=people[0]) if people and people[0] else None
    department_id = person.department_id if person else None
    seen: set[int] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        group = await TeamGroup.filter(department_id=department_id, missing_rights=[]).first()
        if group is not None:
            return group
        department = await Department.get_or_none(id=department_id)
        department_id = department.parent_id if department else None
    return await TeamGroup.filter(department_id=None, missing_rights=[]).first()


@dataclass
class Claim:
    discussion: Discussion
    group: TeamGroup | None
    first: bool  # this press made the row: it makes the topic


async def claim_discussion(actor: User, activity_id: int) -> Claim:
    """The activity's discussion, made once whoever presses first (the unique activity
    key decides). A discussion whose group is gone is reset to be made anew."""
    activity = await get_activity(actor, activity_id)
    group = await group_for(activity)
    try:
        discussion = await Discussion.create(activity_id=activity.id,
                                             group_id=group.id if group else None,
                                             topic_name=topic_name(activity.title))
        return Claim(discussion, group, True)
    except IntegrityError:
        discussion = await Discussion.get_or_none(activity_id=activity.id)
        if discussion is None:  # the first press failed meanwhile: try again
            return await claim_discussion(actor, activity_id)
    if discussion.group_id is None and group is not None:
        # relay mode until now; a team group has been set up since: make the topic
        await Discussion.filter(id=discussion.id, group_id=None).delete()
        return await claim_discussion(actor, activity_id)
    current = await TeamGroup.get_or_none(id=discussion.group_id) if discussion.group_id \
        else None
    return Claim(discussion, current, False)


async def do_topic_made(discussion_id: int, thread_id: int, card_message_id: int | None
                        ) -> None:
    await Discussion.filter(id=discussion_id).update(thread_id=thread_id,
                                                     card_message_id=card_message_id,
                                                     closed=False)


async def do_topic_lost(discussion_id: int) -> None:
    """The topic was deleted in Telegram: the next press makes a new one."""
    await Discussion.filter(id=discussion_id).delete()


async def discussion_of_thread(chat_id: int, thread_id: int) -> Discussion | None:
    group = await TeamGroup.get_or_none(chat_id=chat_id)
    if group is None:
        return None
    return await Discussion.get_or_none(group_id=group.id, thread_id=thread_id)


async def do_topic_message(discussion: Discussion, *, telegram_user_id: int, author_name: str,
                           chat_id: int, message_id: int, kind: str, text: str,
                           file_id: str | None = None) -> ActivityComment:
    """A message in the topic becomes a comment (an edit of it changes the comment)."""
    staff = await User.get_or_none(telegram_id=telegram_user_id, status=StaffStatus.ACTIVE)
    existing = await ActivityComment.get_or_none(telegram_chat_id=chat_id,
                                                 telegram_message_id=message_id)
    if existing is not None:
        existing.text, existing.kind, existing.file_id = text, kind, file_id
        existing.edited_at = utcnow()
        await existing.save()
        return existing
    comment = await ActivityComment.create(
        activity_id=discussion.activity_id, author_id=staff.id if staff else None,
        author_name=staff.full_name if staff else author_name[:200], text=text, kind=kind,
        file_id=file_id, source="telegram", telegram_chat_id=chat_id,
        telegram_message_id=message_id)
    activity = await Activity.get(id=discussion.activity_id)
    await AuditLog.create(user_id=staff.id if staff else None, source="telegram",
                          entity="activity", object_id=activity.id,
                          client_id=activity.client_id, action="comment",
                          new_value=f"{comment.author_name}: {text[:500]}")
    return comment


async def participants(activity_id: int) -> list[User]:
    """Author and assignees, active staff with Telegram."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None:
        raise NotFound("activity")
    ids = list(dict.fromkeys([*(await assignee_ids(activity.id)), activity.author_id]))
    return await User.filter(id__in=[i for i in ids if i], status=StaffStatus.ACTIVE).exclude(
        telegram_id=None)
