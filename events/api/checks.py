"""API of active checks: ``/api/v1/events/checks/``."""

from __future__ import annotations

from events.api import serializers
from events.filters import CheckFilterSet
from events.models import Check
from itsm import roles
from itsm.api.permissions import ReadStaffWriteRoles
from itsm.api.viewsets import RecordViewSet


class CheckViewSet(RecordViewSet):
    """Active checks on CIs (HTTP(S), TCP), run by beat; staff read, admins write (a check makes the
    workers connect to any host and port it names, so it is an administrator's setting)."""

    serializer_class = serializers.CheckSerializer
    queryset = Check.objects.all()
    permission_classes = [ReadStaffWriteRoles]
    write_roles = (roles.ADMIN,)
    filterset_class = CheckFilterSet

    def base_queryset(self):
        return Check.objects.select_related("ci")
