"""Text normalisation for search: case folding, ё/е, Cyrillic → Latin transliteration
(so "romashka" finds "Ромашка" and back), phone digits."""

from __future__ import annotations

import re

from models.staff import fold

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "'": "", "’": "",
}
_NON_WORD = re.compile(r"[^\w@.+-]+", re.UNICODE)


def translit(text: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in fold(text))


def words(text: str | None) -> list[str]:
    return [w for w in _NON_WORD.split(fold(text)) if w]


def search_blob(*parts: str | None) -> str:
    """What a record is searched in: folded words plus their Latin spelling."""
    folded = " ".join(w for p in parts for w in words(p))
    latin = translit(folded)
    return f"{folded} {latin}" if latin != folded else folded


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")
