"""Reference data every installation starts with: the impact and probability scales of problem risk.

Idempotent: a step already present (perhaps relabelled in the admin) is left as it is.
"""

from __future__ import annotations

from problems.choices import DEFAULT_SCALES


def load_defaults() -> None:
    from problems.models import RiskLevel

    present = set(RiskLevel.objects.values_list("scale", "value"))
    RiskLevel.objects.bulk_create(
        [
            RiskLevel(scale=scale, value=value, label=label)
            for scale, steps in DEFAULT_SCALES.items()
            for value, label in steps
            if (scale, value) not in present
        ]
    )
