"""Segments (K-14, A-19): saved filters over client attributes and custom fields whose
members are computed by the database when asked (usable later for mailings, reports,
exports). Members are always limited by ``visible_clients(actor)`` (A-3).

The rules' format and the way they become SQL: :mod:`services.rules`.

Who sees what: a person sees their own segments and the shared ones (admins see
all); only the owner or an admin changes or deletes one. Saving checks that the
person may see every custom field the rules use; a shared segment is then
evaluated as its author defined it, always within the viewer's own clients.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    Client,
    Role,
    Segment,
    User,
)
from services import customfields, dictionaries
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import require_staff
from services.rule_lookups import load_lookups
from services.rules import rules_q, validate_rules

COUNT_CHUNK = 50  # segments counted by one statement


# --- saved segments ----------------------------------------------------------------
def _visible_segments(actor: User) -> QuerySet[Segment]:
    if actor.role == Role.ADMIN:
        return Segment.all()
    return Segment.filter(Q(owner_id=actor.id) | Q(shared=True))


def custom_codes(rules: Any) -> set[str]:
    """Codes of the custom fields a rules object's conditions use."""
    found: set[str] = set()
    conditions = rules.get("conditions", []) if isinstance(rules, dict) else rules
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, dict) and "conditions" in cond:
            found |= custom_codes(cond)
        elif isinstance(cond, dict) and str(cond.get("field", "")).startswith("cf:"):
            found.add(str(cond["field"])[3:].strip())
    return found


async def _usable(actor: User, found: list[Segment]) -> list[Segment]:
    """A segment whose rules use a custom field hidden from ``actor`` (confidential, or
    of other departments) is not theirs to see or use: its rules would show the value
    and its members answer the question."""
    hidden = await customfields.hidden_codes(actor, "client")
    return [s for s in found if not custom_codes(s.rules) & hidden] if hidden else found


async def get_segment(actor: User, segment_id: int) -> Segment:
    require_staff(actor)
    segment = await _visible_segments(actor).get_or_none(id=segment_id)
    if segment is None or not await _usable(actor, [segment]):
        raise NotFound("segment")
    return segment


async def list_segments(actor: User) -> list[Segment]:
    """The person's own segments and the shared ones (all, for admins), by name; not
    those using custom fields hidden from the person."""
    require_staff(actor)
    return await _usable(actor, await _visible_segments(actor).order_by("name", "id"))


async def list_with_counts(actor: User) -> list[tuple[Segment, int | None]]:
    """:func:`list_segments`, each with how many clients ``actor`` sees in it. What the
    rules refer to is loaded once and the database counts up to COUNT_CHUNK segments in
    one statement (a COUNT per segment over the person's clients): a handful of queries
    for the whole list, not a handful per segment. The count is None for a segment whose
    rules no longer evaluate (a custom field it names was archived since)."""
    from services.clients import visible_clients

    found = await list_segments(actor)
    if not found:
        return []
    lookups = await load_lookups(s.rules for s in found)
    conditions: dict[int, Q] = {}
    for segment in found:
        try:
            conditions[segment.id] = await rules_q(segment.rules, lookups=lookups)
        except (ValidationFailed, NotFound):
            pass
    counts: dict[int, int] = {}
    qs = await visible_clients(actor)
    ids = list(conditions)
    for start in range(0, len(ids), COUNT_CHUNK):
        chunk = ids[start:start + COUNT_CHUNK]
        row = (await qs.annotate(**{f"n{i}": Count("id", _filter=conditions[i])
                                    for i in chunk}).values(*(f"n{i}" for i in chunk)))[0]
        counts.update({i: int(row[f"n{i}"] or 0) for i in chunk})
    return [(s, counts.get(s.id)) for s in found]


async def do_save_segment(actor: User, name: str, rules: Any, shared: bool = True, *,
                          segment_id: int | None = None) -> Segment:
    """Create a segment, or change one (its owner or an admin)."""
    require_staff(actor)
    name = dictionaries._clean_name(name)
    normal = await validate_rules(rules, actor=actor)
    async with in_transaction():
        if segment_id is not None:
            segment = await get_segment(actor, segment_id)
            if segment.owner_id != actor.id and actor.role != Role.ADMIN:
                raise PermissionDenied("only its author or an admin changes a segment")
            owner_id = segment.owner_id
        else:
            segment = None
            owner_id = actor.id
        clash = Segment.filter(owner_id=owner_id, name=name)
        if segment is not None:
            clash = clash.exclude(id=segment.id)
        if await clash.exists():
            raise ValidationFailed("name", N_("a segment named «{name}» already exists"), name=name)
        if segment is None:
            segment = await Segment.create(name=name, rules=normal, owner_id=owner_id,
                                           shared=bool(shared))
        else:
            segment.name, segment.rules, segment.shared = name, normal, bool(shared)
            await segment.save()
    return segment


async def do_delete_segment(actor: User, segment_id: int) -> None:
    segment = await get_segment(actor, segment_id)
    if segment.owner_id != actor.id and actor.role != Role.ADMIN:
        raise PermissionDenied("only its author or an admin deletes a segment")
    await segment.delete()


async def members(actor: User, segment_or_rules: Segment | int | Any) -> QuerySet[Client]:
    """The clients of a segment (a Segment, its id, or a rules object) that ``actor``
    may see, as a queryset to page, sort or export further — evaluated in SQL."""
    from services.clients import visible_clients

    qs = await visible_clients(actor)
    if isinstance(segment_or_rules, Segment):
        segment_or_rules = segment_or_rules.id
    if isinstance(segment_or_rules, int) and not isinstance(segment_or_rules, bool):
        rules = (await get_segment(actor, segment_or_rules)).rules
        return qs.filter(await rules_q(rules))
    # an ad-hoc filter: only custom fields the person sees
    return qs.filter(await rules_q(segment_or_rules, actor=actor))


async def count_members(actor: User, segment_or_rules: Segment | int | Any) -> int:
    return await (await members(actor, segment_or_rules)).count()


async def member_page(actor: User, segment_or_rules: Segment | int | Any, *, limit: int,
                      offset: int = 0) -> tuple[list[Client], int]:
    """``limit`` members by name from ``offset``, and how many there are."""
    qs = await members(actor, segment_or_rules)
    rows = await qs.order_by("name", "id").offset(max(offset, 0)).limit(limit)
    return rows, await qs.count()
