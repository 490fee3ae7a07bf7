"""Home pages per role, health endpoint, login, OpenAPI schema, admin history."""

import pytest
from django.core.management import call_command

from itsm import roles
from itsm.models import ChangeRecord
from tests.factories import SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'id="id_username"' in response.content


def test_agent_home_shows_groups_and_own_changes(client_as, agent):
    SupportGroupFactory(name="Service desk").members.add(agent)
    response = client_as(agent).get("/")
    assert b"My support groups" in response.content and b"Service desk" in response.content


def test_manager_home_shows_managed_groups(client_as, manager, agent):
    group = SupportGroupFactory(name="Infra", manager=manager)
    group.members.add(agent)
    response = client_as(manager).get("/")
    assert b"Groups I manage" in response.content and b"Infra" in response.content


def test_admin_home_shows_health_and_counts(client_as, admin_user):
    response = client_as(admin_user).get("/")
    assert b"System health" in response.content
    assert response.context["health"]["database"]["ok"] is True


def test_end_user_home_shows_their_details(client_as, end_user, monkeypatch):
    from itsm.registry import registry

    # Without an app registering the end users' home (the portal does), the kernel's page.
    monkeypatch.setattr(registry, "role_homes", {})
    response = client_as(end_user).get("/")
    assert b"Your details" in response.content
    assert b"Users" not in response.content  # no staff navigation


def test_a_registered_role_home_is_where_that_role_lands(client_as, end_user, agent):
    response = client_as(end_user).get("/")
    assert response.status_code == 302 and response.url == "/portal/"
    assert client_as(agent).get("/").status_code == 200


def test_user_without_role_is_told_so(client_as):
    user = UserFactory(username="norole")
    assert b"no role yet" in client_as(user).get("/").content


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["broker"]["ok"]


def test_healthz_is_503_when_the_broker_is_down(client, settings):
    from itsm.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_openapi_schema_is_valid(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "openapi: 3" in text and "/api/v1/people/users/" in text


def test_schema_and_docs_are_served(client_as, agent):
    client = client_as(agent)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()


def test_admin_save_writes_history(client_as, admin_user):
    from people.models import User

    User.objects.filter(pk=admin_user.pk).update(is_staff=True, is_superuser=True)
    group = SupportGroupFactory(name="Old name")
    response = client_as(admin_user).post(
        f"/admin/people/supportgroup/{group.pk}/change/",
        {
            "name": "New name",
            "email": "",
            "phone": "",
            "description": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    change = ChangeRecord.objects.get(object_id=group.pk, action="update")
    assert change.changes["name"] == {"old": "Old name", "new": "New name"}
    assert change.actor_id == admin_user.pk


def test_demo_loader_is_idempotent_and_creates_each_role():
    call_command("load_demo", "--if-empty")
    call_command("load_demo", "--if-empty")
    from people.models import User

    for name in ("agent", "manager", "enduser", "admin"):
        assert User.objects.filter(username=name).count() == 1
    assert roles.primary_role(User.objects.get(username="manager")) == roles.MANAGER
    assert User.objects.get(username="agent").check_password("agent-demo")


def test_forbidden_and_not_found_pages_use_the_layout(client_as, end_user, agent):
    forbidden = client_as(end_user).get("/people/users/")
    assert forbidden.status_code == 403 and b"Not allowed" in forbidden.content
    missing = client_as(agent).get("/people/support-groups/999999/")
    assert missing.status_code == 404 and b"Not found" in missing.content


def test_one_menu_item_is_current_the_longest_match(agent, rf):
    from itsm.context_processors import navigation

    request = rf.get("/knowledge/search/")
    request.user = agent
    current = [item.label for section in navigation(request) for item in section.items if item.active]
    assert current == ["Search knowledge"]
    request = rf.get("/incidents/")
    request.user = agent
    current = [item.label for section in navigation(request) for item in section.items if item.active]
    assert current == ["Incident queue"]
