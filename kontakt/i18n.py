"""gettext catalogs (ru, uk, en) shared by the bot and the web pages.

Catalogs live in ``kontakt/locales/<lang>/LC_MESSAGES/kontakt.po`` and are
compiled to ``.mo`` at install (``make`` runs ``pybabel compile``); if a ``.mo``
is missing or older than its ``.po`` (a source checkout), :func:`ensure_compiled`
compiles it with Babel at start-up.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from aiogram.utils.i18n import I18n

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "kontakt"
LANGUAGES = ("ru", "uk", "en")
LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "en": "English"}


def _stale(locales_dir: Path) -> list[tuple[str, Path, Path]]:
    out = []
    for lang in LANGUAGES:
        po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo = po.with_suffix(".mo")
        if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
            out.append((lang, po, mo))
    return out


def _compile(lang: str, po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    mo.parent.mkdir(parents=True, exist_ok=True)
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    with mo.open("wb") as f:
        write_mo(f, catalog)


def ensure_compiled(locales_dir: Path = LOCALES_DIR) -> Path:
    """Where compiled catalogs are: normally beside the ``.po`` files; if those are
    stale and read-only (an installed package), compiled into a temporary folder."""
    stale = _stale(locales_dir)
    if not stale:
        return locales_dir
    try:
        for lang, po, mo in stale:
            _compile(lang, po, mo)
        return locales_dir
    except OSError:
        target = Path(tempfile.mkdtemp(prefix="kontakt-locales-"))
        for lang in LANGUAGES:
            po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po.exists():
                _compile(lang, po, target / lang / "LC_MESSAGES" / f"{DOMAIN}.mo")
        return target


def build_i18n(default_locale: str = "ru") -> I18n:
    return I18n(path=ensure_compiled(), default_locale=default_locale, domain=DOMAIN)


@lru_cache(maxsize=1)
def _shared_i18n() -> I18n:
    return build_i18n()


def translator(lang: str) -> Callable[[str], str]:
    """gettext for one language, for code without aiogram's i18n context (the JSON API
    describing a history entry, say)."""
    i18n = _shared_i18n()
    return lambda text: i18n.gettext(text, locale=lang)
