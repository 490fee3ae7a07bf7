"""The article FilterSet, shared by the pages and the API (``?q=vpn&status=published&service=3``).

``q`` ranks: with words to search, the best matches come first (title, then summary, then body)."""

from __future__ import annotations

import django_filters
from django.utils import timezone

from configuration.models import ConfigurationItem
from itsm.filters import RecordFilterSet
from knowledge import queries
from knowledge.choices import Audience, Status
from knowledge.models import Article, Category


class ArticleFilterSet(RecordFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    audience = django_filters.ChoiceFilter(choices=Audience.choices)
    category = django_filters.ModelChoiceFilter(queryset=Category.objects.filter(is_active=True))
    service = django_filters.ModelChoiceFilter(
        field_name="services",
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True),
        label="Service",
        distinct=True,
    )
    review_due = django_filters.BooleanFilter(method="filter_review_due", label="Review due")

    class Meta:
        model = Article
        fields = ["q", "status", "audience", "category", "service", "review_due"]

    def filter_q(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queries.ranked(queryset, value.strip()[:200])

    def filter_review_due(self, queryset, name, value):
        if value is None:
            return queryset
        due = {"status": Status.PUBLISHED, "review_by__lte": timezone.localdate()}
        return queryset.filter(**due) if value else queryset.exclude(**due)
