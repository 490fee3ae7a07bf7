"""Serializers for kernel objects and the base serializer of every record."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from itsm.models import Attachment, ChangeRecord, TimelineEntry


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    display_name = serializers.SerializerMethodField()

    def get_display_name(self, user) -> str:
        return user.get_full_name() or user.username


class RecordSerializer(serializers.ModelSerializer):
    """Base for record serializers. ``version`` is returned on reads; sent back on an update it is the
    optimistic lock (a stale one gets 409). ``If-Match: "<version>"`` does the same."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you are updating. If it is no longer current the update is refused with 409.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is None:
            attrs.pop("version", None)
        return attrs


class ChangeRecordSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True)

    class Meta:
        model = ChangeRecord
        fields = ["id", "action", "actor", "at", "version", "changes", "reason", "object_repr"]


class TimelineEntrySerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)
    involved = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "visibility", "author", "involved", "created_at", "body", "fields"]
        read_only_fields = ["id", "author", "created_at"]

    def get_involved(self, entry) -> list[str]:
        return [user.get_username() for user in entry.involved.all()]


class TimelineEntryCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[TimelineEntry.Kind.COMMENT, TimelineEntry.Kind.WORK_NOTE], default=TimelineEntry.Kind.COMMENT
    )
    visibility = serializers.ChoiceField(choices=TimelineEntry.Visibility.choices, required=False)
    body = serializers.CharField(allow_blank=True, required=False, default="", max_length=50000)
    fields = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=10000), required=False
    )


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = UserSummarySerializer(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "filename",
            "media_type",
            "size",
            "sha256",
            "visibility",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]

    def get_download_url(self, attachment) -> str:
        return reverse("api-attachment-download", args=[attachment.pk])


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    visibility = serializers.ChoiceField(
        choices=Attachment.Visibility.choices, default=Attachment.Visibility.PUBLIC
    )
