"""Small key/value facts the installation keeps about itself (e.g. when demo data was loaded)."""

from __future__ import annotations

from django.db import models


class KernelState(models.Model):
    """A named fact about this installation, such as ``demo_loaded_at``."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
