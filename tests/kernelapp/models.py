"""A minimal numbered record used only by the tests to exercise the kernel end to end."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from itsm import roles
from itsm.models import NumberedRecord, RecordQuerySet
from itsm.search import search_vector


class TicketQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every ticket; anyone else only the tickets they own."""
        if roles.is_staff_role(user):
            return self
        if user.is_authenticated:
            return self.filter(owner=user)
        return self.none()


class Ticket(NumberedRecord):
    """A test record: numbered, owned, searchable."""

    number_prefix = "TKT"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    watchers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    priority = models.PositiveSmallIntegerField(default=3)
    search_vector = models.GeneratedField(
        expression=search_vector(("title", "A"), ("description", "B")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        indexes = [GinIndex(fields=["search_vector"], name="kernelapp_ticket_search_idx")]

    def get_absolute_url(self):
        return f"/kernelapp/tickets/{self.pk}/"
