"""P-5: every message of the interface exists in Russian and Ukrainian."""

from __future__ import annotations

from babel.messages.pofile import read_po

from kontakt.i18n import LOCALES_DIR, build_i18n


def test_catalogs_are_complete_and_keep_placeholders():
    template = read_po((LOCALES_DIR / "kontakt.pot").open("rb"))
    ids = {m.id for m in template if m.id}
    assert len(ids) > 50
    for lang in ("ru", "uk"):
        catalog = read_po((LOCALES_DIR / lang / "LC_MESSAGES" / "kontakt.po").open("rb"))
        translated = {m.id: m.string for m in catalog if m.id and not m.fuzzy}
        missing = sorted(i for i in ids if not translated.get(i))
        assert not missing, (lang, missing)
        for msgid, text in translated.items():
            for token in ("{name}", "{role}", "{count}", "{error_id}", "{minutes}",
                          "{hours}", "{field}", "{message}", "<b>"):
                assert (token in msgid) == (token in text), (lang, msgid, token)


def test_lookup_in_each_language():
    i18n = build_i18n("ru")
    assert i18n.gettext("👥 Staff", locale="ru") == "👥 Сотрудники"
    assert i18n.gettext("👥 Staff", locale="uk") == "👥 Співробітники"
    assert i18n.gettext("👥 Staff", locale="en") == "👥 Staff"


def test_every_marked_string_in_the_code_is_in_the_catalog():
    """A module the extraction missed (a new page module, say) shows English to
    everyone: every string marked in the code must be in the template."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]
    template = read_po((LOCALES_DIR / "kontakt.pot").open("rb"))
    ids = {m.id for m in template if m.id}
    keywords = {"_": None, "__": None, "gettext": None, "lazy_gettext": None, "N_": None}
    missing = []
    for folder in ("bot", "kontakt", "services", "notifications", "web"):
        for filename, _lineno, message, _comments, _context in extract_from_dir(
                root / folder, method_map=[("**/emulator/**", "ignore"),
                                           ("**/sandbox/**", "ignore"),
                                           ("**.py", "python"), ("**.html", "jinja2")],
                keywords=keywords):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and msgid not in ids:
                missing.append(f"{folder}/{filename}: {msgid}")
    assert not missing, missing[:20]
