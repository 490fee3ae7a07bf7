"""Test data for incident management. Incidents are made through the service, as in production."""

from __future__ import annotations

import factory

from incidents import services
from incidents.models import Category, IntakeQuestion, RoutingRule
from itsm import roles
from tests.factories import SupportGroupFactory, UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class IntakeQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntakeQuestion

    category = factory.SubFactory(CategoryFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    assignment_group = factory.SubFactory(SupportGroupFactory)


def make_incident(actor=None, *, cis=(), watchers=(), answers=None, is_security=False, **fields):
    """Log an incident through ``incidents.services.incident_create`` (defaults: a short description)."""
    if actor is None:
        actor = UserFactory(roles=[roles.AGENT])
    fields.setdefault("short_description", "Printer on floor 2 prints blank pages")
    return services.incident_create(
        actor=actor, fields=fields, cis=cis, watchers=watchers, answers=answers, is_security=is_security
    )


def group_with(*members, **kwargs):
    group = SupportGroupFactory(**kwargs)
    group.members.add(*members)
    return group
