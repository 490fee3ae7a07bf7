"""Test data for problem management. Records are made through the services, as in production."""

from __future__ import annotations

from itsm import roles
from problems import services
from problems.choices import RiskScale
from problems.models import RiskLevel
from tests.factories import UserFactory


def level(scale: str, value: int) -> RiskLevel:
    """A step of the shipped impact or probability scale (loaded after migrate)."""
    return RiskLevel.objects.get(scale=scale, value=value)


def make_problem(
    actor=None, *, impact: int | None = None, probability: int | None = None, incidents=(), **fields
):
    if actor is None:
        actor = UserFactory(roles=[roles.AGENT])
    fields.setdefault("title", "Mail server drops connections under load")
    if impact:
        fields["impact"] = level(RiskScale.IMPACT, impact)
    if probability:
        fields["probability"] = level(RiskScale.PROBABILITY, probability)
    return services.problem_create(actor=actor, fields=fields, incidents=incidents)


def investigated(problem, actor, root_cause: str = "Connection pool too small"):
    """A problem under investigation with its root cause recorded."""
    problem = services.problem_transition(problem=problem, actor=actor, to="under_investigation")
    return services.problem_update(problem=problem, actor=actor, changes={"root_cause": root_cause})


def make_known_error(actor=None, *, cis=(), services_=(), category=None, workaround=True, **fields):
    if actor is None:
        actor = UserFactory(roles=[roles.AGENT])
    fields.setdefault("title", "VPN client drops after sleep")
    fields.setdefault("symptoms", "VPN disconnects when the laptop wakes from sleep")
    if cis:
        fields["cis"] = list(cis)
    if services_:
        fields["services"] = list(services_)
    if category is not None:
        fields["category"] = category
    steps = {
        "title": "Reconnect",
        "symptoms": fields["symptoms"],
        "steps": "Quit and restart the VPN client.",
    }
    return services.known_error_create(actor=actor, fields=fields, workaround=steps if workaround else None)
