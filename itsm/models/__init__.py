"""The record kernel: what every practice app's records get for free."""

from .attachments import Attachment, attachment_upload_to
from .base import Record, RecordQuerySet
from .history import ChangeRecord
from .links import RecordLink
from .notifications import Notification, NotificationPreference
from .numbering import NumberedRecord, allocate_number, allocate_numbers, ensure_number_sequence
from .state import KernelState
from .timeline import TimelineEntry

__all__ = [
    "Attachment",
    "ChangeRecord",
    "KernelState",
    "Notification",
    "NotificationPreference",
    "NumberedRecord",
    "Record",
    "RecordLink",
    "RecordQuerySet",
    "TimelineEntry",
    "allocate_number",
    "allocate_numbers",
    "attachment_upload_to",
    "ensure_number_sequence",
]
