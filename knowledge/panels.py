"""Context of the knowledge panels on other records' pages (registered in ``registrations``): the
articles linked to the record, published articles matching it, and "write an article from it"."""

from __future__ import annotations

from django.urls import reverse

from incidents.choices import Status as IncidentStatus
from itsm import queries as kernel_queries
from itsm import roles
from knowledge import queries
from knowledge.models import Article


def _linked_articles(record, user) -> list[Article]:
    return [
        row["other"] for row in kernel_queries.links_for(record, user) if isinstance(row["other"], Article)
    ]


def incident_panel_context(incident, user) -> dict:
    """Linked articles, matching ones (why), and the "write an article" action once it is resolved."""
    linked = _linked_articles(incident, user)
    text = " ".join(part for part in (incident.short_description, incident.symptoms) if part)
    facts = {"text": text, "service_id": incident.service_id}
    linked_ids = {article.pk for article in linked}
    matches = [m for m in queries.suggest(user, facts, limit=5) if m.article.pk not in linked_ids]
    can_write = roles.is_staff_role(user) and incident.status in (
        IncidentStatus.RESOLVED,
        IncidentStatus.CLOSED,
    )
    return {
        "linked_articles": linked,
        "article_matches": matches,
        "write_url": f"{reverse('knowledge:create')}?from_incident={incident.pk}" if can_write else "",
    }


def known_error_panel_context(known_error, user) -> dict:
    """Linked articles, matching ones, and "write an article from this known error"."""
    linked = _linked_articles(known_error, user)
    text = " ".join(part for part in (known_error.title, known_error.symptoms) if part)
    linked_ids = {article.pk for article in linked}
    matches = [m for m in queries.suggest(user, {"text": text}, limit=5) if m.article.pk not in linked_ids]
    return {
        "linked_articles": linked,
        "article_matches": matches,
        "write_url": f"{reverse('knowledge:create')}?from_known_error={known_error.pk}"
        if roles.is_staff_role(user)
        else "",
    }
