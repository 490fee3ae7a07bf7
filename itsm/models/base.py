"""The base record: timestamps, an optimistic-locking version and the visibility hook."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from itsm import roles


class RecordQuerySet(models.QuerySet):
    """Base queryset. ``visible_to(user)`` is the one place a model decides who may see what."""

    def visible_to(self, user):
        """Default rule: people who work tickets see every record; end users and anonymous see none.

        Models that end users may see in part override this.
        """
        if roles.is_staff_role(user):
            return self
        return self.none()


class Record(models.Model):
    """Abstract base of every record kept by a practice app.

    ``version`` is incremented by every update made through ``itsm.services.record_update`` and is
    the optimistic lock: an update based on an older version is refused (HTTP 409).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    # Fields never written to the change history (bookkeeping, derived or secret values).
    history_exclude: ClassVar[frozenset[str]] = frozenset(
        {"id", "created_at", "updated_at", "version", "search_vector", "password", "last_login"}
    )

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_absolute_url(self) -> str:  # pragma: no cover - each concrete model defines it
        raise NotImplementedError

    def internal_visible_to(self, user) -> bool:
        """Whether ``user`` may read this record's internal parts (work notes, internal files).

        Staff by default; a record may narrow it (a security incident: its caller is not told).
        """
        return roles.is_staff_role(user)

    @property
    def record_label(self) -> str:
        """How the record is named on timelines, search results and history: its number if it has one."""
        return getattr(self, "number", None) or str(self)
