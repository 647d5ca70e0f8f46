"""Activities: the contacts log and tasks (S-12..S-21, A-6..A-9, K-11, K-15).

Rules:

* Who sees an activity (A-3, S-20): its author and assignees; a head, those whose
  author or an assignee is in their department or below; an admin, all. Anyone else
  gets "not found".
* Who changes it: its author, its assignees, a head over one of them, an admin.
  Only a head over an assignee (or an admin) verifies a done activity (S-21); the
  person who did it cannot verify their own work.
* States (S-15): planned → done | postponed | cancelled | rescheduled; rescheduled
  and postponed are open like planned; done and cancelled may be reopened. Overdue
  is derived: open and its due time (a task's end, else its start) has passed.
* Rescheduling (S-13) keeps each move in the history (audit_log, entity "activity",
  field "starts_at") with who moved it and from where.
* Reminders (A-8, K-15) are rows per assignee and lead time; they are rebuilt when
  the time, the assignees or the state change. Snoozing moves one reminder.
* Recurring activities (A-8) keep an RFC 5545 RRULE and a list of left-out starts;
  occurrences are computed when asked (:func:`occurrences`), never stored. A changed
  occurrence becomes its own activity pointing to the series.

Every ``do_*`` changes the database in one transaction and returns the notices to
deliver after the commit (the front end sends them).
"""

from __future__ import annotations

from services.activities.access import (
    assignable_people,
    assignee_ids,
    assignees,
    calendar_people,
    find_activity,
    get_activity,
    may_see_calendar_of,
    may_verify,
    visible_activities,
)
from services.activities.changes import (
    do_comment,
    do_complete,
    do_create_activity,
    do_log_with_follow_up,
    do_move_occurrence,
    do_reschedule,
    do_set_state,
    do_skip_occurrence,
    do_update_activity,
    do_verify,
)
from services.activities.choices import (
    SYSTEM_TYPES,
    do_add_category,
    do_add_product,
    do_add_type,
    ensure_activity_types,
    get_type,
    list_categories,
    list_products,
    list_types,
)
from services.activities.common import (
    OPEN,
    SOURCES,
    ActivityResult,
    Notice,
    on_done,
)
from services.activities.organizer import (
    DEFAULT_DIGEST_HOUR,
    DEFAULT_ESCALATION_HOURS,
    DIGEST_HOUR_KEY,
    ESCALATION_KEY,
    Digest,
    claim_once,
    do_set_organizer_settings,
    due_digests,
    due_escalations,
    organizer_settings,
)
from services.activities.reading import (
    AgendaItem,
    Filters,
    ListDetails,
    agenda,
    client_activities,
    comments,
    day_bounds,
    fetch_card,
    fetch_for_list,
    history,
    is_overdue,
    list_details,
    overdue,
)
from services.activities.recurrence import (
    ALLOWED_FREQ,
    occurrences,
)
from services.activities.reminders import (
    SNOOZE_CHOICES,
    do_remind_later,
    do_snooze,
    reminder_leads,
    schedule_next_occurrence,
)
from services.activities.validation import (
    DEFAULT_LEADS,
    MAX_LEAD_MINUTES,
    MAX_LEADS,
)

__all__ = [
    "ALLOWED_FREQ",
    "ActivityResult",
    "AgendaItem",
    "DEFAULT_DIGEST_HOUR",
    "DEFAULT_ESCALATION_HOURS",
    "DEFAULT_LEADS",
    "DIGEST_HOUR_KEY",
    "Digest",
    "ESCALATION_KEY",
    "Filters",
    "ListDetails",
    "MAX_LEADS",
    "MAX_LEAD_MINUTES",
    "Notice",
    "OPEN",
    "SNOOZE_CHOICES",
    "SOURCES",
    "SYSTEM_TYPES",
    "agenda",
    "assignable_people",
    "assignee_ids",
    "assignees",
    "calendar_people",
    "claim_once",
    "client_activities",
    "comments",
    "day_bounds",
    "do_add_category",
    "do_add_product",
    "do_add_type",
    "do_comment",
    "do_complete",
    "on_done",
    "do_create_activity",
    "do_log_with_follow_up",
    "do_move_occurrence",
    "do_remind_later",
    "do_reschedule",
    "do_set_organizer_settings",
    "do_set_state",
    "do_skip_occurrence",
    "do_snooze",
    "do_update_activity",
    "do_verify",
    "due_digests",
    "due_escalations",
    "ensure_activity_types",
    "fetch_card",
    "fetch_for_list",
    "find_activity",
    "get_activity",
    "get_type",
    "history",
    "is_overdue",
    "list_categories",
    "list_details",
    "list_products",
    "list_types",
    "may_see_calendar_of",
    "may_verify",
    "occurrences",
    "organizer_settings",
    "overdue",
    "reminder_leads",
    "schedule_next_occurrence",
    "visible_activities",
]
