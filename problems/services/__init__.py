"""Problem management's writers: every change of a problem, known error, workaround, fix, re-assessment
and improvement goes through a function here, for the pages, the API and the Celery tasks alike.

``problems.py``: problems (lifecycle, risk, incident links, resolving), workarounds and their use on
incidents, the improvement register, and the helpers the services share. ``known_errors.py``: known
errors and error control (fix options, fix proposals, re-assessment). Callers use this package:
``from problems import services``. Candidate detection is in ``problems.detection``.
"""

from problems.services.known_errors import (
    fix_option_add,
    fix_propose,
    known_error_create,
    known_error_transition,
    known_error_update,
    reassessment_record,
    reassessments_due,
)
from problems.services.problems import (
    PROBLEM_MANAGER_ROLES,
    effectiveness,
    improvement_create,
    improvement_update,
    open_problems,
    problem_create,
    problem_link_incidents,
    problem_resolve_incidents,
    problem_transition,
    problem_unlink_incident,
    problem_update,
    recompute_risks,
    record_outcomes,
    risk_for,
    workaround_apply,
    workaround_create,
    workaround_review,
    workaround_update,
    workaround_use_rate,
)

__all__ = [
    "PROBLEM_MANAGER_ROLES",
    "effectiveness",
    "fix_option_add",
    "fix_propose",
    "improvement_create",
    "improvement_update",
    "known_error_create",
    "known_error_transition",
    "known_error_update",
    "open_problems",
    "problem_create",
    "problem_link_incidents",
    "problem_resolve_incidents",
    "problem_transition",
    "problem_unlink_incident",
    "problem_update",
    "reassessment_record",
    "reassessments_due",
    "recompute_risks",
    "record_outcomes",
    "risk_for",
    "workaround_apply",
    "workaround_create",
    "workaround_review",
    "workaround_update",
    "workaround_use_rate",
]
