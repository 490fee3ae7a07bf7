"""Manager pages of the service-level engine: breaches, clocks at risk, and clocks predicted to breach."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.views.generic import TemplateView
from rest_framework.request import Request

from itsm import roles
from itsm.api.pagination import CursorPagination
from itsm.views.mixins import RoleRequiredMixin
from servicelevels import calendars, queries
from servicelevels.filters import ClockFilterSet
from servicelevels.models import Clock, ClockState

TABS = {
    "breached": "Breached",
    "at_risk": "Due within 24 hours",
    "predicted": "Predicted to breach",
}
AT_RISK_WINDOW = datetime.timedelta(hours=24)
PREDICTION_SCAN = 500


class BreachList(RoleRequiredMixin, TemplateView):
    template_name = "servicelevels/breaches.html"
    allowed_roles = frozenset({roles.MANAGER, roles.ADMIN})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        tab = self.request.GET.get("tab", "breached")
        tab = tab if tab in TABS else "breached"
        now = timezone.now()
        base = Clock.objects.visible_to(user).select_related("policy", "calendar", "group", "content_type")
        filterset = ClockFilterSet(self.request.GET or None, queryset=base)
        invalid = filterset.is_bound and not filterset.is_valid()
        rows = base.none() if invalid else (filterset.qs if filterset.is_bound else base)
        next_url = previous_url = None
        predictions = {}
        if tab == "breached":
            paginator = CursorPagination()
            paginator.ordering = ("-breached_at", "-id")
            page = paginator.paginate_queryset(
                rows.filter(breached_at__isnull=False), Request(self.request), view=None
            )
            next_url, previous_url = paginator.get_next_link(), paginator.get_previous_link()
        elif tab == "at_risk":
            page = list(
                rows.filter(
                    state=ClockState.RUNNING, deadline__lt=now + AT_RISK_WINDOW, breached_at__isnull=True
                ).order_by("deadline")[:100]
            )
        else:
            scan = list(
                rows.filter(state=ClockState.RUNNING, target="resolution", breached_at__isnull=True).order_by(
                    "deadline"
                )[:PREDICTION_SCAN]
            )
            predictions = queries.predict(scan, now=now)
            page = [clock for clock in scan if predictions.get(clock.pk) and predictions[clock.pk].likely][
                :100
            ]
        records = queries.records_for(page, user)
        items = []
        for clock in page:
            schedule = calendars.schedule_for(clock.calendar)
            elapsed = clock.elapsed_at(now, schedule)
            items.append(
                {
                    "clock": clock,
                    "record": records.get((clock.content_type_id, clock.object_id)),
                    "percent": 100 * elapsed / clock.target_seconds if clock.target_seconds else 100,
                    "late": (now - clock.deadline) if clock.deadline and clock.deadline < now else None,
                    "prediction": predictions.get(clock.pk),
                }
            )
        query = self.request.GET.copy()
        query.pop("tab", None)
        query.pop("cursor", None)
        context.update(
            title="Service levels",
            tab=tab,
            tabs=TABS,
            items=items,
            filterset=filterset,
            filter_invalid=invalid,
            next_url=next_url,
            previous_url=previous_url,
            query=query.urlencode(),
        )
        return context
