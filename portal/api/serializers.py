"""Shapes of the portal API: what an end user reads of their tickets (the public face only: no
group, assignee, priority, work notes or internal files) and what they send."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from incidents.api.serializers import StrictFieldsMixin
from incidents.models import Category, IntakeQuestion
from itsm.models import Attachment
from portal import queries
from portal.choices import PlainImpact, PlainUrgency


class PortalNamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PortalTicketListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    short_description = serializers.CharField()
    status = serializers.CharField(help_text="new, in_progress, on_hold, resolved, closed, cancelled")
    status_label = serializers.SerializerMethodField(help_text="The status in the portal's words.")
    service = serializers.SerializerMethodField()
    is_caller = serializers.SerializerMethodField(help_text="You raised it (else it was shared with you).")
    is_rated = serializers.BooleanField(help_text="Its latest resolution has been rated.")
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="The ticket's portal page.")

    def get_status_label(self, obj) -> str:
        return queries.STATUS_WORDS.get(obj.status, obj.status)

    def get_service(self, obj) -> dict | None:
        return {"id": obj.service_id, "name": obj.service.name} if obj.service_id else None

    def get_is_caller(self, obj) -> bool:
        return obj.caller_id == self.context["request"].user.pk

    def get_url(self, obj) -> str:
        return reverse("portal:ticket", args=[obj.pk])


class PortalIntakeAnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    text = serializers.CharField()
    answer = serializers.CharField()


class PortalTicketSerializer(PortalTicketListSerializer):
    description = serializers.CharField()
    category = serializers.SerializerMethodField()
    impact = serializers.IntegerField()
    urgency = serializers.IntegerField()
    resolution_notes = serializers.CharField(help_text="What the desk did, once resolved.")
    confirmation = serializers.CharField(help_text="pending: waiting for you to confirm or reopen.")
    intake_answers = PortalIntakeAnswerSerializer(many=True)
    updated_at = serializers.DateTimeField()

    def get_category(self, obj) -> dict | None:
        return {"id": obj.category_id, "name": obj.category.name} if obj.category_id else None


class PortalTimelineEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    author = serializers.CharField(help_text="You, the colleague following it, or 'Service desk'.")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class PortalAttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "media_type", "size", "uploaded_at", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("api-attachment-download", args=[obj.pk])


class PortalUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class PortalRaiseSerializer(StrictFieldsMixin, serializers.Serializer):
    short_description = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.filter(parent__isnull=True, is_active=True), required=False, allow_null=True
    )
    service = serializers.IntegerField(
        required=False, allow_null=True, help_text="One of /api/v1/portal/services/."
    )
    impact = serializers.ChoiceField(choices=PlainImpact.choices, default=PlainImpact.JUST_ME)
    urgency = serializers.ChoiceField(choices=PlainUrgency.choices, default=PlainUrgency.SLOWS_ME)
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Intake question id -> answer.",
    )


class PortalBodySerializer(StrictFieldsMixin, serializers.Serializer):
    body = serializers.CharField(max_length=20000)


class PortalReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class PortalRateSerializer(StrictFieldsMixin, serializers.Serializer):
    rating = serializers.IntegerField(help_text="1 (very dissatisfied) to 5 (very satisfied).")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class PortalShareSerializer(StrictFieldsMixin, serializers.Serializer):
    colleague = serializers.CharField(max_length=254, help_text="Their username or e-mail.")


class PortalShareSummarySerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_name(self, obj) -> str:
        return obj.user.get_full_name() or obj.user.username


class PortalSharedWithMeSerializer(serializers.Serializer):
    incident = serializers.IntegerField(source="incident_id")
    number = serializers.CharField(source="incident.number")
    short_description = serializers.CharField(source="incident.short_description")
    shared_by = serializers.SerializerMethodField()
    is_watching = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def get_shared_by(self, obj) -> str:
        person = obj.shared_by
        return (person.get_full_name() or person.username) if person else ""


class PortalQuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = IntakeQuestion
        fields = ["id", "text", "kind", "choices", "required", "help_text"]


class PortalCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    questions = serializers.SerializerMethodField()

    def get_questions(self, obj) -> list[dict]:
        from incidents.services import intake_questions

        return PortalQuestionSerializer(intake_questions(obj), many=True).data


class PortalArticleHitSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="article.pk")
    number = serializers.CharField(source="article.number")
    title = serializers.CharField(source="article.title")
    summary = serializers.CharField(source="article.summary")


class PortalKnownErrorHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    public_text = serializers.CharField()


class PortalFoundSerializer(serializers.Serializer):
    articles = PortalArticleHitSerializer(many=True)
    known_errors = PortalKnownErrorHitSerializer(many=True)


class PortalMajorNoticeSerializer(serializers.Serializer):
    service = serializers.CharField(source="incident.service.name")
    short_description = serializers.CharField(source="incident.short_description")
    since = serializers.DateTimeField(source="incident.major_declared_at", allow_null=True)
    latest_update = serializers.CharField(source="update.body", allow_null=True, default=None)
    latest_update_at = serializers.DateTimeField(source="update.created_at", allow_null=True, default=None)
