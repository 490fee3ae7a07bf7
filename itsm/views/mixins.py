"""Access mixins for HTML views."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from itsm import roles


class RoleRequiredMixin(LoginRequiredMixin):
    """Signed-in users holding one of ``allowed_roles`` (staff roles by default)."""

    allowed_roles: frozenset[str] = roles.STAFF_ROLES

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not roles.has_role(request.user, *self.allowed_roles):
            raise PermissionDenied("Your role does not give access to this page.")
        return super().dispatch(request, *args, **kwargs)
