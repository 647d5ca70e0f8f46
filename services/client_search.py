"""Client search (S-11): by name fragment, phone, email, INN/EDRPOU/IPN or contact
person, Cyrillic or Latin, tolerant of a typo, within what the person may see
(services.clients.visible_clients, A-3).

Rules:

* Every query word must start a search token of the client (``client_search_token``,
  written with every change of the card by services.clients); each word is an index
  range.
* A query that looks like a phone number is matched on the digits.
* The first ``limit`` by name: a word is first turned into the distinct words it
  starts (``search_word``), and each gives its first by name straight from the index
  ``(token, client_name, client_id)`` — a million clients answer in milliseconds (issue
  19). A word starting more than ``_TOKENS_BY_NAME`` words is searched by sorting every
  match instead.
* ``search_word`` holds the words with a letter only: a word of digits alone (part of
  a phone, a tax code, a house number) is matched in the tokens and sorted by name, and
  has no typo search.
* A typo: the tokens sharing the word's first two letters are ranked (rapidfuzz) and
  the clients of the best shown.
* Archived clients only when asked for (the list's "Archived" filter), never else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import Client, ClientSearchToken, SearchWord, User
from services.clients import visible_clients_and_rows
from services.derived import TOKEN_MAX
from services.text import digits, translit, words

_PHONE_QUERY = re.compile(r"[\d\s()+\-.]+")
_TYPO_CANDIDATES = 5000  # distinct tokens ranked for a typo
_TYPO_BEST = 5  # tokens of the best scores whose clients are shown
_TYPO_SCORE = 75


def _prefix_next(prefix: str) -> str:
    """The least string above every string starting with ``prefix`` (its last character
    incremented): ``token >= prefix AND token < _prefix_next(prefix)`` is a prefix
    match an index serves, in code-point order (SQLite, PostgreSQL with C collation)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _token_prefix(prefixes: Iterable[str]) -> Q:
    cond = Q()
    for prefix in dict.fromkeys(p[:TOKEN_MAX] for p in prefixes if p):
        cond |= Q(token__gte=prefix, token__lt=_prefix_next(prefix))
    return cond


def _having_token(prefixes: Iterable[str]) -> Subquery:
    """Ids of the clients with a token starting with one of ``prefixes``."""
    return Subquery(ClientSearchToken.filter(_token_prefix(prefixes)).values("client_id"))


async def _typo_tokens(word: str) -> list[str]:
    """The tokens most like ``word`` (one letter wrong, missing or extra), in either
    script: the distinct tokens sharing its first two letters (or those of its Latin
    spelling), ranked by similarity; if none is alike, those sharing the first letter
    (the second one may be the typo)."""
    spellings = list(dict.fromkeys((word, translit(word))))
    scores: dict[str, float] = {}
    for head in (2, 1):
        candidates = await SearchWord.filter(
            _token_prefix(s[:head] for s in spellings)).limit(
            _TYPO_CANDIDATES).values_list("token", flat=True)
        for spelling in spellings:
            for token, score, _i in process.extract(
                    spelling, candidates, scorer=fuzz.ratio, score_cutoff=_TYPO_SCORE,
                    limit=_TYPO_BEST):
                scores[token] = max(score, scores.get(token, 0))
        if scores:
            break
    return sorted(scores, key=lambda t: -scores[t])[:_TYPO_BEST]


def _is_phone_query(text: str) -> bool:
    """A phone as people type it (8 (906) 790-99-50, +7 903 ...) or an INN/EDRPOU/IPN."""
    return len(digits(text)) >= 5 and bool(_PHONE_QUERY.fullmatch(text))


def search_filter(qs: QuerySet[Client], query: str) -> QuerySet[Client] | None:
    """The exact part of the search as a filter of ``qs`` (for lists and exports too):
    a phone or a tax code as people type it, else every query word (or its Latin
    spelling) starting a token of the client. None when the query has no word."""
    text = (query or "").strip()
    q_words = words(text)[:5]
    q_digits = digits(text)
    if not q_words:
        return None
    if _is_phone_query(text):
        return qs.filter(id__in=_having_token([q_digits, q_digits[-10:]]))
    for w in q_words:
        qs = qs.filter(id__in=_having_token([w, translit(w)]))
    return qs


async def search_clients(actor: User, query: str, *, limit: int = 10,
                         archived: bool = False) -> list[Client]:
    """By name fragment, phone, email, INN/EDRPOU/IPN or contact person, Cyrillic or
    Latin, tolerant of a typo. Every query word must start a search token of the
    client (client_search_token, an index range each); a typo is ranked among the
    tokens sharing its first two letters. Archived clients only with ``archived``
    (the list's "Archived" filter), never else. The first ``limit`` by name."""
    qs, managed = await visible_clients_and_rows(actor, archived=archived)
    text = (query or "").strip()
    exact = search_filter(qs, text)
    if exact is None:
        return []
    q_words = words(text)[:5]
    longest = max(q_words, key=len)
    if _is_phone_query(text) or longest.isdigit():  # digits: no vocabulary, no typo
        return await exact.order_by("name", "id").limit(limit)
    tokens = await SearchWord.filter(_token_prefix([longest, translit(longest)])).limit(
        _TOKENS_BY_NAME + 1).values_list("token", flat=True)
    found = None
    if len(tokens) <= _TOKENS_BY_NAME:
        others = list(q_words)
        others.remove(longest)
        found = await _first_by_name(managed, tokens, others, archived=archived,
                                     limit=limit)
    if found is None:
        found = await exact.order_by("name", "id").limit(limit)
    letters = sum(ch.isalpha() for ch in text)
    if found or letters < 4:
        return found
    if len(longest) < 4:
        return []
    best = await _typo_tokens(longest)
    if not best:
        return []
    return await _first_by_name(managed, sorted(set(best)), [], archived=archived,
                                limit=limit)


_TOKENS_BY_NAME = 20  # a word starting more distinct tokens is searched the other way


async def _first_by_name(managed: Subquery | None, tokens: Iterable[str], others: list[str],
                         *, archived: bool, limit: int) -> list[Client]:
    """The first ``limit`` clients by name among those a person sees (``managed``: the
    ids of the clients they manage, None for an admin) having one of ``tokens``
    and a token starting with each of ``others`` (or its Latin spelling): per token, its
    clients in name order straight from the index (token, client_name, client_id), so a
    word shared by a hundred thousand clients costs ``limit`` rows a token, not a sort
    of all of them (issue 19); then the tokens' lists merged in the database's order."""
    hits: set[int] = set()
    for token in tokens:
        rows = ClientSearchToken.filter(token=token, client__archived_at__isnull=not archived)
        if managed is not None:
            rows = rows.filter(client_id__in=managed)
        for word in others:
            rows = rows.filter(client_id__in=_having_token([word, translit(word)]))
        hits.update(await rows.order_by("client_name", "client_id").limit(limit).values_list(
            "client_id", flat=True))
    if not hits:
        return []
    return await Client.filter(id__in=sorted(hits)).order_by("name", "id").limit(limit)
