"""Domain errors. Each carries a stable ``code`` the front ends translate."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

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

    def __init__(self, reason: str) -> None:  # unknown | expired | used | revoked
        super().__init__(f"invite {reason}", reason=reason)
        self.reason = reason


class AlreadyRegistered(DomainError):
    code = "already_registered"


class ValidationFailed(DomainError):
    """A value a person typed is wrong; ``field`` names it."""

    code = "validation_failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.field = field
        self.message = message
