"""The console's API beyond reading: assigning an alert group, and the events (with their raw events)
behind an alert. Subclasses of the read viewsets in ``events.api.views``, registered in their place."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from events import assignment, queries
from events.api import serializers, views
from events.models import Alert, AlertGroup


class AlertGroupViewSet(views.AlertGroupViewSet):
    """Alert groups with their alerts, newest first; filters as on the console (``severity``,
    ``source``, ``state``, ``service``, ``acknowledged``, ``assignee``, ``assignment_group``)."""

    def get_queryset(self):
        alerts = Alert.objects.select_related("source", "ci").order_by("-last_seen_at", "-id")
        return (
            AlertGroup.objects.visible_to(self.request.user)
            .select_related("ci", "service", "incident", "assignee", "assignment_group")
            .prefetch_related(Prefetch("alerts", queryset=alerts))
        )

    @extend_schema(request=serializers.GroupAssignSerializer, responses=serializers.AlertGroupSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def assign(self, request, pk=None):
        """Assign the group to a person and/or a support group (null clears; the person must be a
        member of the group when both are given)."""
        group = self.get_object()
        payload = serializers.GroupAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        assignment.group_assign(
            group=group,
            actor=request.user,
            assignee=data.get("assignee", group.assignee),
            assignment_group=data.get("assignment_group", group.assignment_group),
        )
        return self._answer(group)


class AlertViewSet(views.AlertViewSet):
    """Alerts (deduplicated events), newest first; ``events`` lists the events behind one."""

    @extend_schema(responses=serializers.EventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk=None):
        """The events behind this alert, newest first, each with its raw event as posted."""
        alert = self.get_object()
        page = self.paginate_queryset(queries.alert_events(alert))
        return self.get_paginated_response(serializers.EventSerializer(page, many=True).data)
