"""API permission classes. Object visibility is decided by each model's ``visible_to(user)``."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from itsm import roles


class IsStaffRole(BasePermission):
    """Agents, managers, admins and the security team. The default for every API view."""

    message = "This part of the API is for service desk staff (agent, manager, admin or security role)."

    def has_permission(self, request, view) -> bool:
        return roles.is_staff_role(request.user)


class ReadStaffWriteRoles(BasePermission):
    """Staff may read; only users holding one of ``view.write_roles`` may write."""

    message = "Your role may read these records but not change them."

    def has_permission(self, request, view) -> bool:
        if not roles.is_staff_role(request.user):
            self.message = IsStaffRole.message
            return False
        if request.method in SAFE_METHODS:
            return True
        return roles.has_role(request.user, *getattr(view, "write_roles", (roles.ADMIN,)))
