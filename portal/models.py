"""What the portal stores of its own: who a caller shared a ticket with.

Everything else the portal shows belongs to other apps (incidents, knowledge, problems) and is
written through their services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class TicketShare(models.Model):
    """A caller shared their incident with a colleague of the same organisation. While the share is
    active (``revoked_at`` empty) the colleague may watch the ticket (follow it in the portal and be
    told of public updates) or stop watching and watch again; the caller may revoke it. Watching is
    the incident's ``watchers`` set, written through ``incidents.services.incident_update``."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="portal_shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "user"], condition=Q(revoked_at__isnull=True), name="one_active_share"
            )
        ]
        indexes = [models.Index(fields=["user", "-id"], name="ticketshare_user_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} shared with {self.user_id}"
