"""Names of the seeded activity types in the person's language (issue 17): the same
words in the bot's cards, /stats, the web reports and charts. A type admins added
has no code and keeps the name they gave it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


TYPES = {"call": N_("Call"), "meeting": N_("Meeting"), "visit": N_("Visit"),
         "email": N_("Email"), "presentation": N_("Presentation"), "sale": N_("Sale"),
         "inbound_request": N_("Inbound request"), "data_processing": N_("Data processing"),
         "task": N_("Task")}

T = TypeVar("T")


def type_name(code: str | None, name: str, gettext: Callable[[str], str]) -> str:
    return gettext(TYPES[code]) if code in TYPES else name


def with_type_names(table: T, gettext: Callable[[str], str]) -> T:
    """A report table (services.analytics.Table) with its types named for the reader."""
    return replace(table, types=[(code, type_name(code, name, gettext))
                                 for code, name in table.types])
