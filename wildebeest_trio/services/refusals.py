"""What the status services refuse with; the HTTP layer answers them as Mastodon does
(404, 403 and 422)."""

from __future__ import annotations


class StatusNotFound(LookupError):
    """No such status, or not one the caller may see (the two are not told apart)."""

    def __init__(self, message: str = "Record not found") -> None:
        super().__init__(message)


class NotAllowed(PermissionError):
    """The caller sees the status but may not do this to it."""

    def __init__(self, message: str = "This action is not allowed") -> None:
        super().__init__(message)


class InvalidStatus(ValueError):
    """Input Mastodon answers with 422 `Validation failed: ...`."""
