"""Change history: every change of a record's fields with who, when, old and new values."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class ChangeRecord(models.Model):
    """One create, update or delete of a record, written in the same transaction as the change.

    ``changes`` maps each changed field to ``{"old": ..., "new": ...}`` (JSON-friendly values:
    foreign keys as primary keys with a ``label``, many-to-many as sorted key lists).
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"

    # No single-column indexes on the two foreign keys: the composite indexes below lead with them,
    # and every history row would pay for the extra ones.
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_index=False)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)
    changes = models.JSONField(default=dict)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="history_record_idx"),
            models.Index(fields=["actor", "-at"], name="history_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"
