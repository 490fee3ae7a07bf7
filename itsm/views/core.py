"""Kernel pages: role home pages, global search, attachment downloads, health."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated

from itsm import health, queries, roles
from itsm.models import ChangeRecord
from itsm.registry import registry
from itsm.search import global_search


@login_required
def home(request):
    """Each role lands on its own home page, built from real data the user can see."""
    user = request.user
    role = roles.primary_role(user)
    context = {"role": role, "role_label": roles.ROLE_LABELS.get(role, "No role")}
    if role is None:
        return render(request, "itsm/home_norole.html", context)
    if role in registry.role_homes:  # e.g. end users land on the self-help portal
        return redirect(registry.role_homes[role])
    if role == roles.END_USER:
        return render(request, "itsm/home_end_user.html", {**context, **_end_user_context(user)})
    context.update(_staff_context(user))
    if role == roles.ADMIN:
        healthy, report = health.report()
        context.update(health=report, healthy=healthy, counts=_record_counts())
    if role in (roles.MANAGER, roles.ADMIN):
        context["recent_changes"] = ChangeRecord.objects.select_related("actor", "content_type")[:15]
    return render(
        request,
        f"itsm/home_{'staff' if role in (roles.AGENT, roles.SECURITY, roles.INCIDENT_MANAGER) else role}.html",
        context,
    )


def _staff_context(user) -> dict:
    groups = getattr(user, "support_groups", None)
    managed = getattr(user, "managed_groups", None)
    return {
        "my_groups": list(groups.filter(is_active=True).select_related("manager", "escalation_group"))
        if groups is not None
        else [],
        "managed_groups": list(managed.prefetch_related("members")) if managed is not None else [],
        "my_changes": list(queries.recent_changes_by(user, limit=10)),
    }


def _end_user_context(user) -> dict:
    user_model = get_user_model()
    colleagues = []
    if getattr(user, "organisation_id", None):
        colleagues = list(user_model.objects.visible_to(user).exclude(pk=user.pk).filter(is_active=True)[:10])
    return {"colleagues": colleagues}


def _record_counts() -> list[tuple[str, int]]:
    """Row counts of the record types registered for search (the kernel names no practice app)."""
    return [(provider.label, provider.model._default_manager.count()) for provider in registry.search]


@login_required
@require_GET
def search(request):
    """Global full-text search across every registered record type the user may see."""
    query = request.GET.get("q", "").strip()[:200]
    groups = global_search(request.user, query) if query else []
    return render(
        request,
        "itsm/search.html",
        {"q": query, "groups": groups, "total": sum(len(group.hits) for group in groups)},
    )


def _attachment_response(request, pk: int):
    attachment = queries.attachment_visible_to(pk, request.user)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.media_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_GET
def attachment_download(request, pk: int):
    """Download an attachment after checking the user may see its record (404 otherwise)."""
    return _attachment_response(request, pk)


@extend_schema(
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, summary="Download an attachment"
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def api_attachment_download(request, pk: int):
    """Download an attachment (token or session auth); 404 when the record is not visible to you."""
    return _attachment_response(request, pk)


@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness: the database and the broker answer. 503 when either is down."""
    healthy, report = health.report()
    return JsonResponse(report, status=200 if healthy else 503)
