"""Choices of incident management: status lifecycle, hold reasons, channels, impact, urgency, priority."""

from django.db import models


class Status(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD)
DONE_STATUSES = (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)

# The lifecycle. services.transition() is the only place a status changes; an illegal request gets
# 409 naming the allowed targets. "resolved -> in_progress" is a reopen.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.ON_HOLD, Status.RESOLVED, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.ON_HOLD, Status.RESOLVED, Status.CANCELLED}),
    Status.ON_HOLD: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CANCELLED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class HoldReason(models.TextChoices):
    AWAITING_USER = "awaiting_user", "Awaiting user"
    AWAITING_SUPPLIER = "awaiting_supplier", "Awaiting supplier"
    AWAITING_CHANGE = "awaiting_change", "Awaiting change"


class Channel(models.TextChoices):
    PORTAL = "portal", "Portal"
    PHONE = "phone", "Phone"
    EMAIL = "email", "E-mail"
    EVENT = "event", "Monitoring event"
    AGENT = "agent", "Agent (walk-in, chat)"
    API = "api", "API"


class Impact(models.IntegerChoices):
    EXTENSIVE = 1, "1 - Extensive / widespread"
    SIGNIFICANT = 2, "2 - Significant / large"
    MODERATE = 3, "3 - Moderate / limited"
    MINOR = 4, "4 - Minor / localised"


class Urgency(models.IntegerChoices):
    CRITICAL = 1, "1 - Critical"
    HIGH = 2, "2 - High"
    MEDIUM = 3, "3 - Medium"
    LOW = 4, "4 - Low"


class Priority(models.IntegerChoices):
    CRITICAL = 1, "P1 - Critical"
    HIGH = 2, "P2 - High"
    MODERATE = 3, "P3 - Moderate"
    LOW = 4, "P4 - Low"
    PLANNING = 5, "P5 - Planning"


# The matrix every installation starts with (impact, urgency) -> priority; editable in the admin.
DEFAULT_MATRIX = {
    (1, 1): 1, (1, 2): 2, (1, 3): 2, (1, 4): 3,
    (2, 1): 2, (2, 2): 2, (2, 3): 3, (2, 4): 4,
    (3, 1): 2, (3, 2): 3, (3, 3): 4, (3, 4): 4,
    (4, 1): 3, (4, 2): 4, (4, 3): 4, (4, 4): 5,
}  # fmt: skip


class ResolutionCode(models.TextChoices):
    SOLVED_PERMANENTLY = "solved_permanently", "Solved (permanently)"
    SOLVED_WORKAROUND = "solved_workaround", "Solved (workaround)"
    KNOWN_ERROR = "known_error", "Solved with a known error's workaround"
    SELF_HELP = "self_help", "Solved by the user (self-help)"
    SUPPLIER = "supplier", "Solved by the supplier"
    NOT_REPRODUCIBLE = "not_reproducible", "Not reproducible"
    USER_ERROR = "user_error", "User error / training"
    DUPLICATE = "duplicate", "Duplicate (merged)"
    PARENT_RESOLVED = "parent_resolved", "Resolved with its parent"
    DISASTER_RECOVERY = "disaster_recovery", "Recovered by invoking a DR plan"


class HopKind(models.TextChoices):
    ROUTED = "routed", "Routed on creation"
    ASSIGNED = "assigned", "Assigned"
    FUNCTIONAL = "functional", "Functional escalation"
    HIERARCHICAL = "hierarchical", "Hierarchical escalation"
    SUPPLIER = "supplier", "Escalated to supplier"


class QuestionKind(models.TextChoices):
    TEXT = "text", "Text"
    CHOICE = "choice", "One of a list"
    YES_NO = "yes_no", "Yes / no"


class ConfirmationState(models.TextChoices):
    PENDING = "pending", "Awaiting the caller"
    CONFIRMED = "confirmed", "Confirmed by the caller"
    REJECTED = "rejected", "Rejected by the caller (reopened)"
    AUTO_CLOSED = "auto_closed", "Closed without an answer"
