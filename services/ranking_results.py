"""Reading the ranking (K-8): the ABC/XYZ matrix and the RFM segments with their
counts, and the ranked clients page by page — limited to the clients the person sees
(an admin all, a head their departments', a manager their own: services.clients).
The rules of the ranking are in services.ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.functions import Count

from models import ClientRank, User
from services.errors import N_, ValidationFailed
from services.ranking import CLASSES, SEGMENTS, XYZ

MAX_PAGE = 100


@dataclass
class Summary:
    matrix: dict[str, dict[str, int]]  # {"A": {"X": n, "Y": n, "Z": n}, ...}
    segments: dict[str, int]
    total: int


async def _visible(actor: User):
    from services.clients import visible_filter

    return ClientRank.filter(await visible_filter(actor))


def _check(abc: str | None, xyz: str | None, segment: str | None) -> None:
    if abc is not None and abc not in CLASSES:
        raise ValidationFailed("abc", N_("a class A, B or C"))
    if xyz is not None and xyz not in XYZ:
        raise ValidationFailed("xyz", N_("a class X, Y or Z"))
    if segment is not None and segment not in SEGMENTS:
        raise ValidationFailed("segment", N_("no such segment"))


async def summary(actor: User) -> Summary:
    """The counts per ABC × XYZ cell and per RFM segment (two GROUP BYs)."""
    qs = await _visible(actor)
    matrix = {a: {x: 0 for x in XYZ} for a in CLASSES}
    total = 0
    for row in await qs.annotate(n=Count("id")).group_by("abc", "xyz").values(
            "abc", "xyz", "n"):
        if row["abc"] in matrix and row["xyz"] in XYZ:
            matrix[row["abc"]][row["xyz"]] = int(row["n"])
            total += int(row["n"])
    segments = dict.fromkeys(SEGMENTS, 0)
    for row in await (await _visible(actor)).annotate(n=Count("id")).group_by(
            "segment").values("segment", "n"):
        if row["segment"] in segments:
            segments[row["segment"]] = int(row["n"])
    return Summary(matrix, segments, total)


async def results(actor: User, *, abc: str | None = None, xyz: str | None = None,
                  segment: str | None = None, offset: int = 0, limit: int = 50
                  ) -> tuple[list[ClientRank], int]:
    """The ranked clients the person sees, best share first, with the total count."""
    _check(abc, xyz, segment)
    qs = await _visible(actor)
    if abc:
        qs = qs.filter(abc=abc)
    if xyz:
        qs = qs.filter(xyz=xyz)
    if segment:
        qs = qs.filter(segment=segment)
    total = await qs.count()
    limit = max(1, min(int(limit), MAX_PAGE))
    rows = await qs.order_by("share", "client_id").offset(max(0, int(offset))).limit(
        limit).select_related("client")
    return rows, total


async def own_counts(actor: User) -> dict[str, int]:
    """Per ABC class, the clients the person sees (the bot's /abc)."""
    counts = dict.fromkeys(CLASSES, 0)
    for row in await (await _visible(actor)).annotate(n=Count("id")).group_by(
            "abc").values("abc", "n"):
        if row["abc"] in counts:
            counts[row["abc"]] = int(row["n"])
    return counts


async def client_rank(actor: User, client_id: int) -> ClientRank | None:
    """One client's ranking, if the person sees the client and it is ranked (the
    check is :func:`services.clients.get_client`, free inside the card's
    ``checked_client``)."""
    from services.clients import get_client
    from services.errors import NotFound, PermissionDenied

    try:
        await get_client(actor, client_id)
    except (NotFound, PermissionDenied):
        return None
    return await ClientRank.get_or_none(client_id=client_id)


def row_dict(r: ClientRank) -> dict[str, Any]:
    return {"client_id": r.client_id, "client": r.client.name, "abc": r.abc,
            "xyz": r.xyz, "r": r.recency, "f": r.frequency, "m": r.monetary,
            "rfm": f"{r.recency}{r.frequency}{r.monetary}", "segment": r.segment,
            "revenue": str(r.revenue), "margin": str(r.margin), "share": str(r.share),
            "cv": None if r.cv is None else str(r.cv), "orders": r.orders,
            "last_order_at": r.last_order_at.isoformat()}
