"""A refused value as the bot says it: the field's name and the reason, both in the
person's language (kontakt.errors), escaped for HTML."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from kontakt.errors import error_message
from kontakt.errors import field_name as named
from services.errors import ValidationFailed


def field_name(exc: ValidationFailed) -> str:
    return html.escape(named(exc, _))


def reason(exc: ValidationFailed) -> str:
    return html.escape(error_message(exc, _))


def validation_text(exc: ValidationFailed) -> str:
    """"⚠️ телефон: «12» — не номер телефона"."""
    return _("⚠️ {field}: {message}").format(field=field_name(exc), message=reason(exc))
