"""Errors answered by the emulated Bot API, shaped like Telegram's."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as ``{"ok": false, "error_code": N, "description": "..."}``."""

    def __init__(
        self, error_code: int, description: str, parameters: dict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        body: dict = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class BadRequest(ApiError):
    def __init__(self, description: str) -> None:
        if not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        super().__init__(400, description)


class Forbidden(ApiError):
    def __init__(self, description: str) -> None:
        if not description.startswith("Forbidden"):
            description = f"Forbidden: {description}"
        super().__init__(403, description)


CHAT_NOT_FOUND = "Bad Request: chat not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
