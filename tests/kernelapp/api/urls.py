from rest_framework import serializers
from rest_framework.routers import DefaultRouter

from itsm.api.serializers import RecordSerializer
from itsm.api.viewsets import RecordViewSet
from tests.kernelapp.models import Ticket


class TicketSerializer(RecordSerializer):
    number = serializers.CharField(read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "number", "title", "description", "owner", "watchers", "priority", "version"]


class TicketViewSet(RecordViewSet):
    serializer_class = TicketSerializer
    queryset = Ticket.objects.prefetch_related("watchers")
    filterset_fields = ["owner", "priority"]


router = DefaultRouter()
router.register("tickets", TicketViewSet, basename="ticket")
urlpatterns = router.urls
