"""A small world for the portal: two organisations; Alice and Bob in Acme, Carol in Globex; a
service Acme uses and one it does not; a category with an intake question; an agent; a published
article and a published known error."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from configuration.choices import CIStatus
from itsm import roles
from portal import services as portal_services
from problems import services as problem_services
from tests.configuration.factories import service_ci
from tests.factories import OrganisationFactory, UserFactory
from tests.incidents.factories import CategoryFactory, IntakeQuestionFactory
from tests.knowledge.factories import make_article
from tests.problems.factories import make_known_error


@dataclass
class World:
    acme: object
    globex: object
    alice: object
    bob: object
    carol: object
    agent: object
    manager: object
    service: object
    other_service: object
    category: object
    question: object
    article: object
    known_error: object

    def raise_ticket(self, user=None, **fields):
        fields.setdefault("short_description", "Outlook asks for my password again and again")
        return portal_services.ticket_raise(user=user or self.alice, fields=fields, answers={})


@pytest.fixture
def world(db) -> World:
    acme, globex = OrganisationFactory(name="Acme"), OrganisationFactory(name="Globex")
    alice = UserFactory(username="alice", first_name="Alice", organisation=acme, roles=[roles.END_USER])
    bob = UserFactory(username="bob", first_name="Bob", organisation=acme, roles=[roles.END_USER])
    carol = UserFactory(username="carol", first_name="Carol", organisation=globex, roles=[roles.END_USER])
    agent = UserFactory(username="agent-p", roles=[roles.AGENT])
    manager = UserFactory(username="manager-p", roles=[roles.MANAGER])
    service = service_ci("E-mail", status=CIStatus.LIVE, organisations=[acme])
    other_service = service_ci("Payroll", status=CIStatus.LIVE, organisations=[globex])
    category = CategoryFactory(name="E-mail and calendars")
    question = IntakeQuestionFactory(
        category=category, text="Does webmail work?", kind="yes_no", required=True
    )
    article = make_article(
        agent,
        status="published",
        audience="end_users",
        title="Outlook keeps asking for your password",
        summary="Clear the saved credentials and sign in again.",
        body="1. Close **Outlook**.\n2. Open Credential Manager and remove the Office entries.",
    )
    known_error = make_known_error(agent, title="Outlook password prompt loops after the update")
    problem_services.known_error_update(
        known_error=known_error,
        actor=manager,
        changes={"publish_to_portal": True, "public_text": "Sign out of Office and sign in again."},
    )
    return World(
        acme,
        globex,
        alice,
        bob,
        carol,
        agent,
        manager,
        service,
        other_service,
        category,
        question,
        article,
        known_error,
    )


@pytest.fixture
def as_user(client):
    from tests.factories import PASSWORD

    def login(user):
        client.logout()
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return login
