"""Global search across record types with PostgreSQL full-text search (core PostgreSQL only).

Each searchable model keeps a generated ``search_vector`` column with a GIN index and registers a
``SearchProvider``. A search runs one ranked query per provider, always through
``visible_to(user)``, so nobody finds what they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import models

from itsm.registry import registry

SEARCH_CONFIG = "english"


def search_vector(*weighted_fields: tuple[str, str]) -> SearchVector:
    """A weighted ``SearchVector`` expression for a model's generated ``search_vector`` column.

    Usage: ``search_vector(("name", "A"), ("description", "B"))``.
    """
    vector = None
    for name, weight in weighted_fields:
        text = models.functions.Coalesce(name, models.Value(""), output_field=models.TextField())
        part = SearchVector(text, weight=weight, config=SEARCH_CONFIG)
        vector = part if vector is None else vector + part
    return vector


def search_query(text: str) -> SearchQuery:
    """Web-style query syntax: words, "quoted phrases", -exclusions, OR."""
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


def filter_search(queryset: models.QuerySet, text: str) -> models.QuerySet:
    """Restrict and rank a queryset of a searchable model by ``text``."""
    query = search_query(text)
    return (
        queryset.filter(search_vector=query)
        .annotate(search_rank=SearchRank(models.F("search_vector"), query))
        .order_by("-search_rank", "-pk")
    )


@dataclass
class SearchHit:
    kind: str
    title: str
    subtitle: str
    url: str
    rank: float


@dataclass
class SearchGroup:
    label: str
    hits: list[SearchHit]


def global_search(user, text: str, *, per_type: int = 10) -> list[SearchGroup]:
    """Ranked matches per record type that ``user`` may see, best types first."""
    text = (text or "").strip()
    if not text:
        return []
    groups = []
    for provider in registry.search:
        queryset = filter_search(provider.model.objects.visible_to(user), text)[:per_type]
        hits = [
            SearchHit(
                kind=provider.label,
                title=provider.title(obj),
                subtitle=provider.subtitle(obj),
                url=obj.get_absolute_url(),
                rank=float(obj.search_rank),
            )
            for obj in queryset
        ]
        if hits:
            groups.append(SearchGroup(label=provider.label, hits=hits))
    groups.sort(key=lambda group: -group.hits[0].rank)
    return groups
