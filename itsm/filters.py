"""Filter base shared by UI and API: every FilterSet gets ``q`` (full-text search) for free."""

from __future__ import annotations

import django_filters

from itsm.forms import style_form
from itsm.search import filter_search


class RecordFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_itsm_styled", False):
            # Forms that check what this user may filter on (sensitive CI attributes) read
            # ``form.user``; it must be there before the first clean, which styling triggers.
            form.user = getattr(getattr(self, "request", None), "user", None)
            style_form(form, small=True)
            form._itsm_styled = True
        return form

    def filter_q(self, queryset, name, value):
        if not value.strip():
            return queryset
        if "search_vector" not in {field.name for field in queryset.model._meta.get_fields()}:
            return queryset
        # Ranking would fight the list's ordering; the match alone restricts the list.
        ordering = queryset.query.order_by or queryset.model._meta.ordering or ["-pk"]
        return filter_search(queryset, value).order_by(*ordering)
