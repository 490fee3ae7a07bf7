"""Agent-side people pages: lists with constant query counts, detail, edits with optimistic locking."""

import pytest

from itsm import roles
from people.models import SupportGroup
from tests.factories import OrganisationFactory, SupplierFactory, SupportGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_PAGES = [
    "/people/users/",
    "/people/support-groups/",
    "/people/organisations/",
    "/people/suppliers/",
    "/people/locations/",
]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_list_pages_render_for_agents(client_as, agent, url):
    response = client_as(agent).get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("url", LIST_PAGES)
def test_list_pages_are_forbidden_to_end_users(client_as, end_user, url):
    assert client_as(end_user).get(url).status_code == 403


def test_user_list_query_count_is_constant(client_as, agent, django_assert_max_num_queries):
    client = client_as(agent)
    client.get("/people/users/")
    with django_assert_max_num_queries(15) as few:
        client.get("/people/users/")
    organisation = OrganisationFactory()
    for _ in range(25):
        UserFactory(organisation=organisation, roles=[roles.END_USER])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/people/users/")
    assert response.content.count(b'href="/people/users/') >= 26


def test_group_list_query_count_is_constant(client_as, agent, django_assert_max_num_queries):
    client = client_as(agent)
    SupportGroupFactory()
    client.get("/people/support-groups/")
    with django_assert_max_num_queries(15) as few:
        client.get("/people/support-groups/")
    for _ in range(20):
        SupportGroupFactory(manager=agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/people/support-groups/")


def test_list_filter_sort_and_cursor_pagination(client_as, agent):
    for index in range(60):
        SupplierFactory(name=f"Supplier {index:02d}")
    client = client_as(agent)
    first = client.get("/people/suppliers/", {"ordering": "-name"})
    assert first.context["rows"][0]["object"].name == "Supplier 59"
    assert len(first.context["rows"]) == 50
    second = client.get(first.context["next_url"])
    assert [row["object"].name for row in second.context["rows"]] == [
        f"Supplier {i:02d}" for i in range(9, -1, -1)
    ]
    filtered = client.get("/people/suppliers/", {"q": "Supplier 07"})
    assert filtered.status_code == 200


def test_detail_page_shows_timeline_history_and_attachments(client_as, manager):
    group = SupportGroupFactory(name="Network team")
    client = client_as(manager)
    response = client.post(
        f"/people/support-groups/{group.pk}/",
        {"action": "timeline", "kind": "work_note", "body": "Rota changes next week"},
    )
    assert response.status_code == 302
    page = client.get(f"/people/support-groups/{group.pk}/")
    assert b"Rota changes next week" in page.content
    assert b"History" in page.content and b"Attachments" in page.content


def test_empty_timeline_entry_shows_a_form_error(client_as, agent):
    group = SupportGroupFactory()
    response = client_as(agent).post(
        f"/people/support-groups/{group.pk}/", {"action": "timeline", "kind": "comment", "body": ""}
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content


def test_bad_attachment_shows_a_form_error(client_as, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    group = SupportGroupFactory()
    response = client_as(agent).post(
        f"/people/support-groups/{group.pk}/",
        {"action": "attach", "visibility": "public", "file": SimpleUploadedFile("tool.exe", b"MZ")},
    )
    assert response.status_code == 200
    assert b"are not accepted" in response.content


def test_manager_edits_group_and_history_records_it(client_as, manager, agent):
    group = SupportGroupFactory(name="Desk")
    client = client_as(manager)
    form = client.get(f"/people/support-groups/{group.pk}/edit/")
    assert form.status_code == 200
    response = client.post(
        f"/people/support-groups/{group.pk}/edit/",
        {
            "name": "Service desk",
            "email": "",
            "phone": "",
            "description": "",
            "manager": manager.pk,
            "members": [agent.pk],
            "escalation_group": "",
            "is_active": "on",
            "version": 1,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    group.refresh_from_db()
    assert group.name == "Service desk" and group.version == 2
    page = client.get(f"/people/support-groups/{group.pk}/")
    assert b"Service desk" in page.content and b"<del>Desk</del>" in page.content


def test_stale_edit_shows_the_conflict_and_keeps_the_other_change(client_as, manager):
    group = SupportGroupFactory(name="Desk")
    client = client_as(manager)
    fields = {
        "name": "Mine",
        "email": "",
        "phone": "",
        "description": "",
        "manager": "",
        "escalation_group": "",
        "is_active": "on",
        "version": 1,
    }
    SupportGroup.objects.filter(pk=group.pk).update(name="Theirs", version=2)
    response = client.post(f"/people/support-groups/{group.pk}/edit/", fields)
    assert response.status_code == 200
    assert b"changed by someone else" in response.content
    group.refresh_from_db()
    assert group.name == "Theirs"


def test_agent_cannot_open_the_user_edit_page(client_as, agent):
    assert client_as(agent).get(f"/people/users/{agent.pk}/edit/").status_code == 403


def test_admin_creates_a_user_in_the_ui(client_as, admin_user):
    response = client_as(admin_user).post(
        "/people/users/new/",
        {
            "username": "newagent",
            "first_name": "New",
            "last_name": "Agent",
            "email": "new@example.com",
            "roles": ["agent"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    from people.models import User

    assert roles.roles_of(User.objects.get(username="newagent")) == {"agent"}


def test_htmx_timeline_post_returns_only_the_timeline(client_as, agent):
    group = SupportGroupFactory()
    response = client_as(agent).post(
        f"/people/support-groups/{group.pk}/",
        {"action": "timeline", "kind": "comment", "body": "Swapped in place"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b'id="timeline"' in response.content and b"Swapped in place" in response.content
    assert b"<html" not in response.content
