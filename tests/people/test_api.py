"""People API: listing with a token, role-based writes, filters, search, history."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from itsm import roles
from people.models import SupportGroup, User
from tests.factories import OrganisationFactory, SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

USERS = "/api/v1/people/users/"
GROUPS = "/api/v1/people/support-groups/"


def test_token_from_drf_create_token_lists_users(agent, capsys):
    call_command("drf_create_token", agent.username)
    token = Token.objects.get(user=agent).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(USERS)
    assert response.status_code == 200
    assert agent.username in [u["username"] for u in response.data["results"]]
    assert response.data["results"][0]["roles"] is not None
    assert "next" in response.data and "count" not in response.data  # cursor pagination, no COUNT(*)


def test_users_list_query_count_is_constant(api_as, agent, django_assert_max_num_queries):
    client = api_as(agent)
    client.get(USERS)
    with django_assert_max_num_queries(8) as few:
        client.get(USERS)
    organisation = OrganisationFactory()
    for _ in range(30):
        UserFactory(organisation=organisation, roles=[roles.END_USER])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(USERS)
    assert len(response.data["results"]) == 31


def test_groups_list_query_count_is_constant(api_as, agent, django_assert_max_num_queries):
    client = api_as(agent)
    SupportGroupFactory()
    client.get(GROUPS)
    with django_assert_max_num_queries(8) as few:
        client.get(GROUPS)
    for _ in range(20):
        group = SupportGroupFactory(manager=agent)
        group.members.add(agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(GROUPS).data["results"]) == 21


def test_agent_reads_but_cannot_create_users(api_as, agent):
    response = api_as(agent).post(USERS, {"username": "newbie"}, format="json")
    assert response.status_code == 403
    assert "may read" in response.data["detail"]


def test_admin_creates_user_with_roles_and_history(api_as, admin_user):
    response = api_as(admin_user).post(
        USERS,
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "roles": ["agent"],
            "password": "a-long-passphrase-42",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["roles"] == ["agent"]
    assert "password" not in response.data
    user = User.objects.get(username="newbie")
    assert user.check_password("a-long-passphrase-42")
    history = api_as(admin_user).get(f"{USERS}{user.pk}/history/").data["results"]
    assert history[0]["changes"]["roles"] == {"old": [], "new": ["agent"]}


def test_duplicate_username_and_unknown_role_are_400(api_as, admin_user, agent):
    client = api_as(admin_user)
    taken = client.post(USERS, {"username": agent.username.upper()}, format="json")
    assert taken.status_code == 400 and "username" in taken.data["errors"]
    bad_role = client.post(USERS, {"username": "x1", "roles": ["wizard"]}, format="json")
    assert bad_role.status_code == 400 and "roles" in bad_role.data["errors"]


def test_admin_changes_roles_with_optimistic_lock(api_as, admin_user, agent):
    client = api_as(admin_user)
    url = f"{USERS}{agent.pk}/"
    response = client.patch(url, {"roles": ["agent", "manager"], "version": 1}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["roles"] == ["agent", "manager"]
    stale = client.patch(url, {"job_title": "Lead", "version": 1}, format="json")
    assert stale.status_code == 409


def test_manager_edits_group_members_and_escalation(api_as, manager, agent):
    group, tier2 = SupportGroupFactory(), SupportGroupFactory()
    response = api_as(manager).patch(
        f"{GROUPS}{group.pk}/", {"members": [agent.pk], "escalation_group": tier2.pk}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["members"] == [agent.pk]
    self_escalation = api_as(manager).patch(
        f"{GROUPS}{group.pk}/", {"escalation_group": group.pk}, format="json"
    )
    assert self_escalation.status_code == 400 and "escalation_group" in self_escalation.data["errors"]


def test_duplicate_group_name_is_400(api_as, manager):
    SupportGroupFactory(name="Network")
    response = api_as(manager).post(GROUPS, {"name": "Network"}, format="json")
    assert response.status_code == 400 and "name" in response.data["errors"]
    assert SupportGroup.objects.filter(name="Network").count() == 1


def test_filters_and_search(api_as, agent):
    finance = OrganisationFactory(name="Finance")
    UserFactory(username="zed", first_name="Zebedee", organisation=finance, roles=[roles.END_USER])
    UserFactory(username="other", first_name="Other")
    client = api_as(agent)
    by_org = client.get(USERS, {"organisation": finance.pk}).data["results"]
    assert [u["username"] for u in by_org] == ["zed"]
    by_role = client.get(USERS, {"role": "end_user"}).data["results"]
    assert [u["username"] for u in by_role] == ["zed"]
    by_text = client.get(USERS, {"q": "zebedee"}).data["results"]
    assert [u["username"] for u in by_text] == ["zed"]
    bad = client.get(USERS, {"organisation": "not-a-number"})
    assert bad.status_code == 400 and "organisation" in bad.data["errors"]


def test_end_user_is_refused_by_the_people_api(api_as, end_user):
    response = api_as(end_user).get(USERS)
    assert response.status_code == 403
