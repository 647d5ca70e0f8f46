"""A client list as the list page and the export see it (issue 17: lists that grow):
the clients one may see (A-3), narrowed by every filter at once — a saved segment
(K-14), a classifier branch (S-9), counterparties or partners (U-3), the current
clients or the archived ones (services.client_archive) — and by a search
(S-11) within them; counted and paged in SQL. A search that finds nothing exact and
has a word of four letters or more falls back to the typo-tolerant search (a few
hundred candidates at most), still within the filters."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from models import Client, User
from services.client_search import search_clients, search_filter
from services.clients import visible_clients
from services.errors import NotFound

SORTS = ("name", "-created_at", "-completeness", "completeness")
LIST_TYPES = ("counterparty", "partner")
TYPO_CANDIDATES = 300


@dataclass
class ClientFilters:
    q: str | None = None
    segment_id: int | None = None
    node_id: int | None = None
    list_type: str | None = None  # counterparty | partner
    archived: bool = False  # the archived clients instead of the current ones


async def filtered(actor: User, f: ClientFilters) -> QuerySet[Client] | None:
    """The clients ``actor`` may see under ``f``; None when the search cannot match.
    A segment or node one may not use raises NotFound."""
    from services import classifier, segments

    qs = await visible_clients(actor, archived=f.archived)
    if f.segment_id:
        qs = qs.filter(id__in=Subquery((await segments.members(actor, f.segment_id))
                                       .values("id")))
    if f.node_id:
        qs = qs.filter(id__in=Subquery((await classifier.node_clients(
            actor, f.node_id, descendants=True)).values("id")))
    if f.list_type in LIST_TYPES:
        qs = qs.filter(list_type=f.list_type)
    q = (f.q or "").strip()
    if not q:
        return qs
    exact = search_filter(qs, q)
    if exact is None:
        return None
    if await exact.exists() or len(q) < 4:
        return exact
    ids = [c.id for c in await search_clients(actor, q, limit=TYPO_CANDIDATES,
                                                      archived=f.archived)]
    return qs.filter(id__in=ids) if ids else None


async def client_page(actor: User, f: ClientFilters, *, sort: str = "name", page: int = 1,
                      per_page: int = 25) -> tuple[list[Client], int]:
    """One page of the list and the total; an unknown segment or node is dropped."""
    sort = sort if sort in SORTS else "name"
    try:
        return await filtered_page(actor, f, sort=sort, page=page, per_page=per_page)
    except NotFound:
        f.segment_id = f.node_id = None
        return await filtered_page(actor, f, sort=sort, page=page, per_page=per_page)


async def filtered_page(actor: User, f: ClientFilters, *, sort: str, page: int,
                        per_page: int) -> tuple[list[Client], int]:
    """One page of the clients under ``f`` (the API's list and the bot's search) by
    ``sort`` (a column, ``-`` for descending; the caller checks it), and the total,
    both counted in SQL; a segment or node ``actor`` may not use raises NotFound."""
    qs = await filtered(actor, f)
    if qs is None:
        return [], 0
    return await _paged(qs, sort, page, per_page)


async def _paged(qs: QuerySet[Client], sort: str, page: int, per_page: int
                 ) -> tuple[list[Client], int]:
    total = await qs.count()
    rows = await qs.order_by(sort, "id").offset((max(page, 1) - 1) * per_page).limit(per_page)
    return rows, total
