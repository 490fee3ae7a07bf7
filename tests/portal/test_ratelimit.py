"""Rate limits on new tickets and comments: cache-based (the real Redis here), per user, from
settings; over the limit the page and the API answer 429 with a clear message and Retry-After."""

from __future__ import annotations

import os
import uuid

import pytest

from incidents.models import Incident
from tests.conftest import api_client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    """The project's Redis cache (tests otherwise use a local-memory one), under a fresh key prefix."""
    settings.CACHES = {
        "default": {
            "BACKEND": "itsm.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


def test_new_tickets_are_limited_per_user(client, world, settings, redis_cache):
    settings.PORTAL_RATE_LIMITS = {"incident": (2, 3600), "comment": (30, 3600)}
    client.login(username="alice", password=PASSWORD)
    data = {"short_description": "Printer jam", "impact": 4, "urgency": 3}
    assert client.post("/portal/report/", data).status_code == 302
    assert client.post("/portal/report/", data).status_code == 302
    response = client.post("/portal/report/", data)
    assert response.status_code == 429
    assert "You have sent 2 new incidents in 1 hour(s)" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    api = api_client_for(world.alice)
    response = api.post("/api/v1/portal/tickets/", data, format="json")
    assert response.status_code == 429 and "new incidents" in response.json()["detail"]
    assert Incident.objects.count() == 2
    # Someone else is not affected.
    assert api_client_for(world.bob).post("/api/v1/portal/tickets/", data, format="json").status_code == 201


def test_comments_are_limited_per_user(client, world, settings, redis_cache):
    settings.PORTAL_RATE_LIMITS = {"incident": (10, 3600), "comment": (1, 600)}
    incident = world.raise_ticket()
    client.login(username="alice", password=PASSWORD)
    assert client.post(f"/portal/tickets/{incident.pk}/comment/", {"body": "one"}).status_code == 302
    response = client.post(f"/portal/tickets/{incident.pk}/comment/", {"body": "two"})
    assert response.status_code == 429 and "comments in 10 minutes" in response.content.decode()
    api = api_client_for(world.alice)
    response = api.post(f"/api/v1/portal/tickets/{incident.pk}/comments/", {"body": "three"}, format="json")
    assert response.status_code == 429


def test_zero_turns_a_limit_off(client, world, settings, redis_cache):
    settings.PORTAL_RATE_LIMITS = {"incident": (0, 3600), "comment": (0, 3600)}
    client.login(username="alice", password=PASSWORD)
    for _ in range(3):
        assert (
            client.post("/portal/report/", {"short_description": "x", "impact": 4, "urgency": 3}).status_code
            == 302
        )


def test_refused_forms_do_not_count(client, world, settings, redis_cache):
    settings.PORTAL_RATE_LIMITS = {"incident": (1, 3600), "comment": (1, 3600)}
    client.login(username="alice", password=PASSWORD)
    missing = {"short_description": "x", "impact": 4, "urgency": 3, "category": world.category.pk}
    for _ in range(3):
        assert client.post("/portal/report/", missing).status_code == 400  # the intake answer is missing
    assert client.post("/portal/report/", {**missing, f"answer_{world.question.pk}": "no"}).status_code == 302
    assert client.post("/portal/report/", {**missing, f"answer_{world.question.pk}": "no"}).status_code == 429
    assert Incident.objects.count() == 1  # the refused one was rolled back
