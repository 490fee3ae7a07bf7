"""Choices of the knowledge base: the article lifecycle, audiences and self-help sources."""

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


# The lifecycle. services.article_transition() is the only place a status changes; an illegal request
# gets 409 naming the allowed targets. A published article is taken back to draft to be reworked
# (it stops being visible to end users), and a retired one comes back through draft.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.IN_REVIEW, Status.PUBLISHED, Status.RETIRED}),
    Status.IN_REVIEW: frozenset({Status.DRAFT, Status.PUBLISHED, Status.RETIRED}),
    Status.PUBLISHED: frozenset({Status.DRAFT, Status.RETIRED}),
    Status.RETIRED: frozenset({Status.DRAFT}),
}


class Audience(models.TextChoices):
    END_USERS = "end_users", "End users (everyone)"
    AGENTS = "agents", "Agents only"
    ORGANISATION = "organisation", "One organisation's end users"


class SelfHelpSource(models.TextChoices):
    ARTICLE = "article", "Knowledge article"
    KNOWN_ERROR = "known_error", "Published known error"
