"""Drafts of an article pre-filled from the record it is written from: a resolved incident, or a known
error (its symptoms, root cause and active workaround).

Known errors live in ``problems``, beside ``knowledge`` in layer 5, so this module may not import
them. It reads the model through ``django.apps.apps.get_model("problems", "KnownError")`` at call
time, guarded for an installation without problem management, and always through the model's
``visible_to(user)``. Why this and not a provider registered by problems: the pre-fill is knowledge's
own concern (what an article drafted from a known error says), it needs no change in the problems app,
and the coupling is to four documented fields (title, symptoms, root_cause, workarounds) that a test
exercises; the import-layer rule still holds, as no module imports ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError

from incidents.choices import Status as IncidentStatus
from incidents.models import Incident
from knowledge.choices import Audience
from knowledge.models import Category


@dataclass
class Draft:
    """The initial values of an article form and the record it came from (linked on save)."""

    source: Any
    source_kind: str  # "incident" or "known_error"
    initial: dict[str, Any] = field(default_factory=dict)


def _section(title: str, text: str) -> str:
    text = (text or "").strip()
    return f"## {title}\n\n{text}\n" if text else ""


def _category_named(name: str | None):
    if not name:
        return None
    return Category.objects.filter(name__iexact=name, is_active=True).first()


def known_error_model():
    """The KnownError model, or None when problem management is not installed."""
    try:
        return apps.get_model("problems", "KnownError")
    except LookupError:
        return None


def draft_from_incident(user, incident_id) -> Draft:
    """A draft from a resolved (or closed) incident: its short description, symptoms and resolution."""
    incident = (
        Incident.objects.visible_to(user)
        .select_related("category", "service")
        .filter(pk=_id(incident_id, "from_incident"))
        .first()
    )
    if incident is None:
        raise ValidationError({"from_incident": "No such incident that you may see."})
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        raise ValidationError(
            {
                "from_incident": f"{incident.number} is not resolved yet: write the article from its resolution."
            }
        )
    body = "".join(
        part
        for part in (
            _section("Symptoms", incident.symptoms or incident.description),
            _section("Resolution", incident.resolution_notes),
        )
        if part
    )
    initial = {
        "title": incident.short_description,
        "summary": incident.short_description[:300],
        "body": body.strip() or incident.short_description,
        "audience": Audience.AGENTS,
        "services": [incident.service_id] if incident.service_id else [],
        "cis": list(incident.cis.values_list("pk", flat=True)),
        "category": _category_named(incident.category.name if incident.category else None),
    }
    return Draft(source=incident, source_kind="incident", initial=initial)


def draft_from_known_error(user, known_error_id) -> Draft:
    """A draft from a known error: its symptoms, root cause and newest active workaround."""
    model = known_error_model()
    if model is None:
        raise ValidationError({"from_known_error": "Problem management is not installed."})
    known_error = (
        model.objects.visible_to(user)
        .select_related("category")
        .filter(pk=_id(known_error_id, "from_known_error"))
        .first()
    )
    if known_error is None:
        raise ValidationError({"from_known_error": "No such known error that you may see."})
    workaround = known_error.workarounds.filter(is_active=True).order_by("-id").first()
    body = "".join(
        (
            _section("Symptoms", known_error.symptoms),
            _section("Cause", known_error.root_cause),
            _section(f"Workaround: {workaround.title}", workaround.steps) if workaround else "",
        )
    )
    initial = {
        "title": known_error.title,
        "summary": (getattr(known_error, "public_text", "") or known_error.title)[:300],
        "body": body.strip() or known_error.title,
        "audience": Audience.AGENTS,
        "services": list(known_error.services.values_list("pk", flat=True)),
        "cis": list(known_error.cis.values_list("pk", flat=True)),
        "category": _category_named(known_error.category.name if known_error.category else None),
    }
    return Draft(source=known_error, source_kind="known_error", initial=initial)


def _id(value, field_name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field_name: f"'{value}' is not an id."}) from None
    if not 0 < number < 2**31:
        raise ValidationError({field_name: f"'{value}' is not an id."})
    return number


def draft_for(user, *, from_incident=None, from_known_error=None) -> Draft | None:
    if from_incident not in (None, ""):
        return draft_from_incident(user, from_incident)
    if from_known_error not in (None, ""):
        return draft_from_known_error(user, from_known_error)
    return None
