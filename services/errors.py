"""Domain errors. Each carries a stable ``code`` the front ends translate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(text: str) -> str:  # noqa: N802 - marks a message for extraction; translated later
    return text


def translated_params(params: dict[str, Any], gettext: Callable[[str], str]
                      ) -> dict[str, Any]:
    """Params with any :class:`Text` among them (a reason inside a reason) translated."""
    return {k: v.translated(gettext) if isinstance(v, Text) else v for k, v in params.items()}


def fill(template: str, params: dict[str, Any]) -> str:
    """``template`` with its {named} placeholders filled; a template that does not fit
    its params (a translation with a typo in a name) is returned unfilled, never raises."""
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template


class Text(str):
    """English text that keeps its template and params, so a front end can say it in
    the person's language (kontakt.errors) — for messages kept in a report rather than
    raised (an import's row errors)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Text:
        text = super().__new__(cls, fill(template, params))
        text.template, text.params = template, params
        return text

    def translated(self, gettext: Callable[[str], str]) -> str:
        try:
            return gettext(self.template).format(**translated_params(self.params, gettext))
        except (KeyError, IndexError, ValueError, AttributeError):
            return str(self)


class DomainError(Exception):
    code = "error"
    template: str | None = None  # what a person reads (English, N_-marked, {params})
    status: int = 409  # how the JSON API answers it: not possible in the present state

    def __init__(self, message: str = "", **params: object) -> None:
        super().__init__(message or self.code)
        self.params = params


class PermissionDenied(DomainError):
    code = "permission_denied"


class NotFound(DomainError):
    code = "not_found"


class InviteInvalid(DomainError):
    """The invite code does not exist, was revoked, expired or used."""

    code = "invite_invalid"

    TEMPLATES = {"unknown": N_("there is no such invite code; ask for a new one"),
                 "expired": N_("the invite has expired; ask for a new one"),
                 "used": N_("the invite has already been used; ask for a new one"),
                 "revoked": N_("the invite was revoked; ask for a new one")}

    def __init__(self, reason: str) -> None:  # unknown | expired | used | revoked
        super().__init__(f"invite {reason}", reason=reason)
        self.reason = reason
        self.template = self.TEMPLATES.get(reason)


class AlreadyRegistered(DomainError):
    code = "already_registered"
    template = N_("you are already registered")


class ValidationFailed(DomainError):
    """A value a person typed is wrong; ``field`` names it.

    ``template`` is an English message marked with ``N_`` for the catalogs, with
    {named} placeholders for ``params``; a front end translates the template and fills
    it afterwards (:meth:`text`, kontakt.errors). ``message`` is the English text, for
    logs and ``str(exc)``.
    """

    code = "validation_failed"
    label: str | None = None  # the field's name in people's words (a custom field's)

    def __init__(self, field: str, template: str, /, **params: Any) -> None:
        self.field = field
        self.template = template
        self.message = fill(template, params)
        super().__init__(f"{field}: {self.message}", **params)

    def as_text(self) -> Text:
        return Text(self.template, **self.params)

    def text(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        """The message in the language ``gettext`` translates to (English if the
        translation does not fit the params)."""
        try:
            return gettext(self.template).format(**translated_params(self.params, gettext))
        except (KeyError, IndexError, ValueError, AttributeError):
            return self.message
