"""Test data for the knowledge base. Articles are made through the services, as in production."""

from __future__ import annotations

import factory

from itsm import roles
from knowledge import services
from knowledge.models import Category
from tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Knowledge category {n}")


def make_article(actor=None, *, status: str = "draft", **fields):
    """An article through ``article_create`` (and ``article_transition`` to ``status``)."""
    if actor is None:
        actor = UserFactory(roles=[roles.AGENT])
    fields.setdefault("title", "Reset your password")
    fields.setdefault("summary", "How to choose a new password when you forgot yours.")
    fields.setdefault("body", "Open the **self-service** page and follow the steps.")
    article = services.article_create(actor=actor, fields=fields)
    if status == "in_review":
        article = services.article_transition(article=article, actor=actor, to="in_review")
    elif status in ("published", "retired"):
        article = services.article_transition(article=article, actor=actor, to="published")
        if status == "retired":
            article = services.article_transition(article=article, actor=actor, to="retired")
    return article
