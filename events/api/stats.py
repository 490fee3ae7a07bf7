"""``GET /api/v1/events/statistics/``: events, alerts, alert groups and incidents per source and per
day, and the noise reduction ratio (``events.stats``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from events import stats
from events.models import EventSource


class StatisticsQuerySerializer(serializers.Serializer):
    since = serializers.DateField(
        required=False, help_text="First day (local), default 13 days before until."
    )
    until = serializers.DateField(required=False, help_text="Last day (local, included), default today.")
    source = serializers.PrimaryKeyRelatedField(
        queryset=EventSource.objects.all(), required=False, help_text="Only this source."
    )

    def validate(self, attrs):
        since, until = stats.period(attrs.get("since"), attrs.get("until"))
        if since > until:
            raise serializers.ValidationError({"since": "Must not be after until."})
        if (until - since).days >= stats.MAX_DAYS:
            raise serializers.ValidationError({"since": f"At most {stats.MAX_DAYS} days at a time."})
        return {**attrs, "since": since, "until": until}


class FiguresSerializer(serializers.Serializer):
    events = serializers.IntegerField(help_text="Events received (normalised; dropped ones excluded).")
    alerts = serializers.IntegerField(help_text="Alerts opened (deduplicated events).")
    groups = serializers.IntegerField(help_text="Alert groups opened (correlated alerts).")
    incidents = serializers.IntegerField(help_text="Incidents opened for alert groups.")
    noise_reduction = serializers.FloatField(allow_null=True, help_text="Events per incident.")
    events_per_alert = serializers.FloatField(allow_null=True)


class SourceFiguresSerializer(FiguresSerializer):
    source = serializers.IntegerField()
    source_name = serializers.CharField()


class DayFiguresSerializer(FiguresSerializer):
    day = serializers.DateField()


class StatisticsSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    total = FiguresSerializer()
    by_source = SourceFiguresSerializer(many=True)
    by_day = DayFiguresSerializer(many=True)


def _figures(figures: stats.Figures) -> dict:
    return {
        "events": figures.events,
        "alerts": figures.alerts,
        "groups": figures.groups,
        "incidents": figures.incidents,
        "noise_reduction": figures.noise_reduction,
        "events_per_alert": figures.events_per_alert,
    }


class Statistics(APIView):
    """Event statistics for a period (staff)."""

    @extend_schema(parameters=[StatisticsQuerySerializer], responses=StatisticsSerializer)
    def get(self, request):
        query = StatisticsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = stats.statistics(
            request.user, since=data["since"], until=data["until"], source=data.get("source")
        )
        return Response(
            {
                "since": result.since,
                "until": result.until,
                "total": _figures(result.total),
                "by_source": [
                    {"source": source.pk, "source_name": source.name, **_figures(figures)}
                    for source, figures in result.by_source
                ],
                "by_day": [{"day": day, **_figures(figures)} for day, figures in result.by_day],
            }
        )
