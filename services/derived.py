"""Values derived from a client card (S-10, S-11), computed without queries, so that
``services.clients._refresh_derived`` and bulk writers (the importer, benchmarks)
compute the very same values: phone digits, search text, completeness and the
search tokens (rows of ``client_search_token``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from services.text import digits, search_blob, words

TOKEN_MAX = 64  # client_search_token.token is a CharField(64)
_PARTS = re.compile(r"[@.+\-]+")


def derived_fields(*, name: str | None, short_name: str | None, email: str | None,
                   phone: str | None, street: str | None, city_id: int | None,
                   contacts: Iterable[tuple[str | None, str, str | None]],
                   legal: Iterable[dict[str, Any]],
                   weights: dict[str, int]) -> tuple[str | None, str, int]:
    """``(phone_digits, search_text, completeness)`` of a client card, without queries.

    ``contacts``: (last_name, first_name, phone_digits) of its live contact persons;
    ``legal``: dicts with name, inn, edrpou, ipn of its legal entities; ``weights``: the
    completeness weights (setting ``completeness.weights`` or ``DEFAULT_WEIGHTS``).
    """
    contacts = list(contacts)
    legal = list(legal)
    search_text = search_blob(
        name, short_name, email,
        *(f"{last or ''} {first}" for last, first, _ in contacts),
        *(le["name"] for le in legal),
    ) + " " + " ".join(filter(None, [
        digits(phone), *(pd for _, _, pd in contacts),
        *(le.get(k) or "" for le in legal for k in ("inn", "edrpou", "ipn"))]))
    filled = {
        "name": bool(name), "phone": bool(phone), "email": bool(email),
        "address": bool(city_id or street), "requisites": bool(legal),
        "contact": bool(contacts),
    }
    return digits(phone) or None, search_text, completeness_score(weights, filled)


def completeness_score(weights: dict[str, int], filled: dict[str, bool]) -> int:
    """S-10: percent of the configured weights the card fills."""
    total = sum(weights.values()) or 1
    return round(100 * sum(w for k, w in weights.items() if filled.get(k)) / total)


def _phone_tokens(number_digits: str) -> list[str]:
    """A phone's digits whole, and its last 10 and last 7 digits (how people type it
    without the country code or the area code)."""
    if not number_digits:
        return []
    return [number_digits, number_digits[-10:], number_digits[-7:]]


def search_tokens(*, search_text: str, phone: str | None = None,
                  contacts: Iterable[tuple[str | None, Iterable[str]]] = (),
                  legal: Iterable[dict[str, Any]] = (),
                  emails: Iterable[str | None] = ()) -> list[str]:
    """The tokens a client is found by (S-11), sorted and without repeats.

    ``search_text``: its search blob (:func:`derived_fields`) — every word of it, both
    scripts, cut to 64 characters, and the parts of words such as "север-торг" or
    "office@example.ru"; ``phone``: the client's phone; ``contacts``: (phone_digits as
    stored — space-separated, emails) of its contact persons; ``legal``: its legal
    entities (inn, edrpou, ipn); ``emails``: further e-mails (the client's own is in
    the blob already): whole, local part and domain.
    """
    out: set[str] = set()

    def add_word(word: str) -> None:
        word = word.strip()
        if not word:
            return
        out.add(word[:TOKEN_MAX])
        if "@" in word:
            local, _, domain = word.partition("@")
            for part in (local, domain):
                if len(part) > 1:
                    out.add(part[:TOKEN_MAX])
        if _PARTS.search(word):
            for part in _PARTS.split(word):
                if len(part) > 1:
                    out.add(part[:TOKEN_MAX])

    all_emails = [e for e in emails if e]
    for word in search_text.split():
        add_word(word)
    out.update(_phone_tokens(digits(phone)))
    for phone_digits, contact_emails in contacts:
        for number in (phone_digits or "").split():
            out.update(_phone_tokens(digits(number)))
        all_emails.extend(e for e in contact_emails or () if e)
    for le in legal:
        for key in ("inn", "edrpou", "ipn"):
            if le.get(key):
                out.add((digits(le[key]) or le[key])[:TOKEN_MAX])
    for e in all_emails:
        for word in words(e):
            add_word(word)
    out.discard("")
    return sorted(out)
