"""Reference data every installation starts with: the impact x urgency priority matrix.

Idempotent: a cell already present (perhaps edited in the admin) is left as it is.
"""

from __future__ import annotations

from incidents.choices import DEFAULT_MATRIX


def load_defaults() -> None:
    from incidents.models import PriorityMatrixEntry

    present = set(PriorityMatrixEntry.objects.values_list("impact", "urgency"))
    PriorityMatrixEntry.objects.bulk_create(
        [
            PriorityMatrixEntry(impact=impact, urgency=urgency, priority=priority)
            for (impact, urgency), priority in DEFAULT_MATRIX.items()
            if (impact, urgency) not in present
        ]
    )
