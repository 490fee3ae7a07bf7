"""The timeline (journal) of a record: comments, work notes, status changes, system entries."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class TimelineEntry(models.Model):
    """One timestamped entry on any record's timeline, with its author and the people involved.

    Public entries are what the caller sees (e.g. in the portal); internal ones are for agents only.
    ``fields`` holds structured content such as symptoms, business impact or actions planned.
    """

    class Kind(models.TextChoices):
        COMMENT = "comment", "Comment"
        WORK_NOTE = "work_note", "Work note"
        STATUS_CHANGE = "status_change", "Status change"
        ASSIGNMENT = "assignment", "Assignment"
        SYSTEM = "system", "System"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        INTERNAL = "internal", "Internal"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COMMENT)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    involved = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    body = models.TextField(blank=True)
    fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"], name="timeline_record_idx")
        ]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.content_type.model} {self.object_id}"

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC
