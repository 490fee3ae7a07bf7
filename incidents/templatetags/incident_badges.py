"""Priority and status badges, drawn in Python: a queue page shows a hundred of them, and an
``{% include %}`` per badge cost more than the page's SQL."""

from django import template
from django.utils.html import format_html

register = template.Library()

_PRIORITY = {1: "text-bg-danger", 2: "text-bg-warning", 3: "text-bg-info", 4: "text-bg-secondary"}
_STATUS = {
    "new": "text-bg-primary",
    "in_progress": "text-bg-info",
    "on_hold": "text-bg-warning",
    "resolved": "text-bg-success",
}


@register.simple_tag
def priority_badge(priority) -> str:
    css = _PRIORITY.get(priority, "text-bg-light border")
    return format_html('<span class="badge {}" title="Priority {}">P{}</span>', css, priority, priority)


@register.simple_tag
def status_badge(incident) -> str:
    return status_label_badge(incident.status, incident.get_status_display())


def status_label_badge(status: str, label) -> str:
    """The badge of a status with its label (the queue remembers them per status and label)."""
    css = _STATUS.get(status, "text-bg-secondary")
    return format_html('<span class="badge {}">{}</span>', css, label)
