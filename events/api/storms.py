"""API of storm mode: ``/api/v1/events/storms/`` (staff, read)."""

from __future__ import annotations

from rest_framework import mixins, viewsets

from events.api import serializers
from events.filters import StormFilterSet
from events.models import Storm


class StormViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Event storms, newest first; ``open=true`` for those going on now."""

    serializer_class = serializers.StormSerializer
    queryset = Storm.objects.none()
    filterset_class = StormFilterSet
    ordering_fields = ["id"]

    def get_queryset(self):
        return Storm.objects.visible_to(self.request.user).select_related("source")
