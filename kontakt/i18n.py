"""gettext catalogs (ru, uk, en) shared by the bot and the web pages.

Catalogs live in ``kontakt/locales/<lang>/LC_MESSAGES/kontakt.po`` and are
compiled to ``.mo`` at install (``make`` runs ``pybabel compile``); if a ``.mo``
is missing or older than its ``.po`` (a source checkout), :func:`ensure_compiled`
compiles it with Babel at start-up.
"""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "kontakt"
LANGUAGES = ("ru", "uk", "en")
LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "en": "English"}


def ensure_compiled(locales_dir: Path = LOCALES_DIR) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for lang in LANGUAGES:
        po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo = po.with_suffix(".mo")
        if not po.exists():
            continue
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        with mo.open("wb") as f:
            write_mo(f, catalog)


def build_i18n(default_locale: str = "ru") -> I18n:
    ensure_compiled()
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)
