"""Keyset pagination for incident lists ordered by a non-unique field (``ordering=priority``).

DRF's cursor marks a position by the first ordering field and an offset among equal values, capped
at 1,000: with a million incidents a priority holds far more, and paging by priority would repeat
pages past that. Here the position is the pair (field value, id), and the next page is
``field > v OR (field = v AND id > i)``, which the (priority, id) indexes serve at any depth.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from rest_framework.exceptions import NotFound
from rest_framework.pagination import _reverse_ordering

from itsm.api.pagination import CursorPagination

TIE_BREAKER = "id"


class KeysetCursorPagination(CursorPagination):
    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        first = ordering[0]
        if first.lstrip("-") in (TIE_BREAKER, "pk"):
            return (first,)
        # One field and the id in the same direction: that pair is the position.
        return (first, f"-{TIE_BREAKER}" if first.startswith("-") else TIE_BREAKER)

    def _get_position_from_instance(self, instance, ordering):
        value = super()._get_position_from_instance(instance, ordering)
        if len(ordering) == 1:
            return value
        pk = instance[TIE_BREAKER] if isinstance(instance, dict) else instance.pk
        return f"{value}|{pk}"

    def _after(self, position: str) -> Q:
        order = self.ordering[0]
        field = order.lstrip("-")
        # Test for: (cursor reversed) XOR (queryset reversed), as DRF does.
        op = "lt" if self.cursor.reverse != order.startswith("-") else "gt"
        if len(self.ordering) == 1:
            return Q(**{f"{field}__{op}": position})
        value, _, pk = position.rpartition("|")
        if not value or not pk.isdigit():
            raise NotFound(self.invalid_cursor_message)
        return Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"{TIE_BREAKER}__{op}": int(pk)})

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's method with the position filter replaced by ``_after``; every position is unique, so
        # the offsets DRF keeps for ties stay 0.
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None

        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)

        self.cursor = self.decode_cursor(request)
        if self.cursor is None:
            (offset, reverse, current_position) = (0, False, None)
        else:
            (offset, reverse, current_position) = self.cursor

        if reverse:
            queryset = queryset.order_by(*_reverse_ordering(self.ordering))
        else:
            queryset = queryset.order_by(*self.ordering)

        if current_position is not None:
            try:
                queryset = queryset.filter(self._after(current_position))
            except (ValueError, ValidationError):
                raise NotFound(self.invalid_cursor_message) from None

        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = list(results[: self.page_size])

        if len(results) > len(self.page):
            has_following_position = True
            following_position = self._get_position_from_instance(results[-1], self.ordering)
        else:
            has_following_position = False
            following_position = None

        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = (current_position is not None) or (offset > 0)
            self.has_previous = has_following_position
            if self.has_next:
                self.next_position = current_position
            if self.has_previous:
                self.previous_position = following_position
        else:
            self.has_next = has_following_position
            self.has_previous = (current_position is not None) or (offset > 0)
            if self.has_next:
                self.next_position = following_position
            if self.has_previous:
                self.previous_position = current_position

        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True

        return self.page
