"""Likely duplicates of a client about to be made, and clients a search did not show
because they are a colleague's (issue 17, S-1).

Rules:

* A new client is checked against **every** client, not only those the person sees:
  the same INN/EDRPOU/IPN, the same phone (E.164), the same email, or a very similar
  name (legal forms such as ООО/ТОВ/LLC and quotes left out; rapidfuzz ratio ≥ 90).
* What the person sees of a match depends on their rights: a client they may open is
  named and offered to open instead; a colleague's is named with its managers ("it is
  Ivan's client; ask him or your head") and nothing more of it.
* The check warns; it does not forbid. Saving anyway is the person's choice.
* An archived client is a match too (said to be archived: restoring it may be the
  better choice); the search's "a colleague's client" leaves archived ones out, as the
  search itself does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from models import Client, ClientManager, LegalEntity, User
from models.search import ClientSearchToken
from services.client_search import _token_prefix, search_filter
from services.clients import _validated_client, visible_clients, visible_filter
from services.text import digits, words

SIMILAR = 90
_LEGAL_FORMS = {"ооо", "оао", "зао", "пао", "ао", "ип", "тов", "пп", "фоп", "прат", "пат",
                "llc", "ltd", "inc", "gmbh", "ooo", "tov"}
_QUOTES = re.compile(r"[«»\"'“”„]")


@dataclass
class Match:
    client_id: int
    name: str
    reason: str  # inn | phone | email | name
    visible: bool  # the person may open it
    managers: list[str] = field(default_factory=list)  # for a colleague's client
    archived: bool = False  # services.client_archive


def core_name(name: str | None) -> str:
    """A name as compared: folded words, legal forms and quotes left out."""
    return " ".join(w for w in words(_QUOTES.sub(" ", name or "")) if w not in _LEGAL_FORMS)


async def _managers(client_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row in await ClientManager.filter(client_id__in=client_ids, unassigned_at=None
                                          ).prefetch_related("user"):
        out.setdefault(row.client_id, []).append(row.user.full_name)
    return out


async def _described(actor: User, found: dict[int, str]) -> list[Match]:
    if not found:
        return []
    clients = {c.id: c for c in await Client.filter(id__in=list(found))}
    seen = set(await (await visible_clients(actor, archived=None)).filter(
        id__in=list(found)).values_list("id", flat=True))
    managers = await _managers([i for i in found if i not in seen])
    return [Match(i, clients[i].name, reason, i in seen, managers.get(i, []),
                  clients[i].archived_at is not None)
            for i, reason in found.items() if i in clients]


async def likely_duplicates(actor: User, data: dict[str, Any], *, region: str = "RU",
                            limit: int = 5) -> list[Match]:
    """Clients that may be the one ``data`` describes (see the module's rules)."""
    values = _validated_client({**data, "kind": data.get("kind") or "company"}, region)
    found: dict[int, str] = {}
    legal = data.get("legal") or {}
    for key in ("inn", "edrpou", "ipn"):
        code = digits(str(legal.get(key) or ""))
        if code:
            for cid in await LegalEntity.filter(**{key: code}).limit(limit).values_list(
                    "client_id", flat=True):
                found.setdefault(cid, "inn")
    if values.get("phone"):
        for cid in await Client.filter(phone=values["phone"]).limit(limit).values_list(
                "id", flat=True):
            found.setdefault(cid, "phone")
    if values.get("email"):
        for cid in await Client.filter(email__iexact=values["email"]).limit(limit).values_list(
                "id", flat=True):
            found.setdefault(cid, "email")
    core = core_name(values.get("name"))
    if core:
        longest = max(core.split(), key=len)
        ids = await ClientSearchToken.filter(_token_prefix([longest[:4]])).limit(200
                                             ).values_list("client_id", flat=True)
        for cid, name in await Client.filter(id__in=list(set(ids))).values_list("id", "name"):
            if fuzz.ratio(core, core_name(name)) >= SIMILAR:
                found.setdefault(cid, "name")
    return (await _described(actor, dict(list(found.items())[:limit])))


async def hidden_matches(actor: User, query: str, *, limit: int = 3) -> list[Match]:
    """Clients a search of ``actor`` would find were they theirs: a colleague's, named
    with its managers. Exact parts of the search only (a phone, a tax code, every word
    starting a token), no typo tolerance."""

    exact = search_filter(Client.filter(archived_at=None), query)
    if exact is None:
        return []
    ids = await exact.exclude(await visible_filter(actor, None)).order_by("name").limit(
        limit).values_list("id", flat=True)
    return await _described(actor, dict.fromkeys(ids, "search"))
