"""Errors raised by service functions. The API and the UI turn them into 409/400 with the message."""

from __future__ import annotations


class ConflictError(Exception):
    """The request is well formed but conflicts with the record's current state (HTTP 409)."""

    code = "conflict"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class StaleVersion(ConflictError):
    """An update was based on an older version of the record than the one stored."""

    code = "stale_version"

    def __init__(self, *, expected: int, current: int):
        super().__init__(
            f"This record was changed by someone else (you edited version {expected}, it is now at "
            f"version {current}). Reload it and apply your change again.",
            expected_version=expected,
            current_version=current,
        )


class TransitionNotAllowed(ConflictError):
    """A status change that the lifecycle does not allow from the current status."""

    code = "transition_not_allowed"

    def __init__(self, *, current: str, requested: str, allowed):
        allowed = sorted(allowed)
        super().__init__(
            f"Cannot change status from '{current}' to '{requested}'. Allowed: "
            f"{', '.join(allowed) if allowed else 'none'}.",
            current=current,
            requested=requested,
            allowed=allowed,
        )
