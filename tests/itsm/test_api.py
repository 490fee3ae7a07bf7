"""The record API base: errors, optimistic locking over HTTP, history, timeline, attachments."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from itsm import services
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/kernelapp/tickets/"


def test_create_returns_number_and_version(api_as, agent):
    response = api_as(agent).post(TICKETS, {"title": "VPN down"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["number"].startswith("TKT")
    assert response.data["version"] == 1


def test_bad_input_gets_400_naming_the_field(api_as, agent):
    response = api_as(agent).post(TICKETS, {"title": "", "priority": "high"}, format="json")
    assert response.status_code == 400
    assert set(response.data["errors"]) == {"title", "priority"}
    assert "title" in response.data["detail"] and response.data["code"] == "invalid"


def test_malformed_json_gets_400(api_as, agent):
    response = api_as(agent).generic("POST", TICKETS, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.data["detail"]


def test_stale_version_in_body_gets_409_and_keeps_the_stored_value(api_as, agent, manager):
    ticket = TicketFactory(title="original")
    assert (
        api_as(manager)
        .patch(f"{TICKETS}{ticket.pk}/", {"title": "manager's", "version": 1}, format="json")
        .status_code
        == 200
    )
    response = api_as(agent).patch(
        f"{TICKETS}{ticket.pk}/", {"title": "agent's", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.data["code"] == "stale_version"
    assert response.data["current_version"] == 2
    assert "changed by someone else" in response.data["detail"]
    ticket.refresh_from_db()
    assert ticket.title == "manager's"


def test_if_match_header_works_like_version(api_as, agent):
    ticket = TicketFactory()
    client = api_as(agent)
    etag = client.get(f"{TICKETS}{ticket.pk}/")["ETag"]
    assert etag == '"1"'
    assert (
        client.patch(f"{TICKETS}{ticket.pk}/", {"priority": 1}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )
    stale = client.patch(f"{TICKETS}{ticket.pk}/", {"priority": 2}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 409
    garbage = client.patch(
        f"{TICKETS}{ticket.pk}/", {"priority": 2}, format="json", HTTP_IF_MATCH="yesterday"
    )
    assert garbage.status_code == 400 and "If-Match" in garbage.data["errors"]


def test_delete_is_not_offered(api_as, admin_user):
    ticket = TicketFactory()
    assert api_as(admin_user).delete(f"{TICKETS}{ticket.pk}/").status_code == 405


def test_history_endpoint_lists_changes(api_as, agent):
    ticket = TicketFactory(title="a")
    services.record_update(instance=ticket, actor=agent, changes={"title": "b"})
    response = api_as(agent).get(f"{TICKETS}{ticket.pk}/history/")
    assert response.status_code == 200
    [change] = response.data["results"]
    assert change["changes"] == {"title": {"old": "a", "new": "b"}}
    assert change["actor"]["username"] == agent.username


def test_timeline_post_and_visibility(api_as, agent, end_user):
    ticket = TicketFactory(owner=end_user)
    client = api_as(agent)
    assert (
        client.post(f"{TICKETS}{ticket.pk}/timeline/", {"body": "public reply"}, format="json").status_code
        == 201
    )
    note = client.post(
        f"{TICKETS}{ticket.pk}/timeline/", {"kind": "work_note", "body": "internal"}, format="json"
    )
    assert note.data["visibility"] == "internal"
    empty = client.post(f"{TICKETS}{ticket.pk}/timeline/", {"body": ""}, format="json")
    assert empty.status_code == 400 and "body" in empty.data["errors"]
    bodies = [e["body"] for e in client.get(f"{TICKETS}{ticket.pk}/timeline/").data["results"]]
    assert bodies == ["internal", "public reply"]


def test_attachment_upload_limits_and_download(api_as, agent):
    ticket = TicketFactory()
    client = api_as(agent)
    url = f"{TICKETS}{ticket.pk}/attachments/"
    ok = client.post(url, {"file": SimpleUploadedFile("trace.txt", b"stack")}, format="multipart")
    assert ok.status_code == 201, ok.data
    too_big = client.post(
        url, {"file": SimpleUploadedFile("huge.txt", b"x" * (1024 * 1024 + 5))}, format="multipart"
    )
    assert too_big.status_code == 400 and "limit" in too_big.data["errors"]["file"][0]
    wrong_type = client.post(url, {"file": SimpleUploadedFile("run.sh", b"rm -rf /")}, format="multipart")
    assert wrong_type.status_code == 400 and ".sh" in wrong_type.data["detail"]
    download = client.get(ok.data["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"stack"
    assert [a["filename"] for a in client.get(url).data] == ["trace.txt"]


def test_unauthenticated_gets_401_with_message():
    response = APIClient().get(TICKETS)
    assert response.status_code == 401
    assert response.data["detail"]


def test_end_user_cannot_use_the_staff_api(api_as, end_user):
    ticket = TicketFactory(owner=end_user)
    response = api_as(end_user).get(f"{TICKETS}{ticket.pk}/")
    assert response.status_code == 403
    assert "staff" in response.data["detail"]


def test_unknown_record_is_404(api_as, agent):
    response = api_as(agent).get(f"{TICKETS}999999/")
    assert response.status_code == 404 and response.data["code"] == "not_found"


def test_list_query_count_does_not_grow_with_rows(api_as, agent, django_assert_max_num_queries):
    client = api_as(agent)
    TicketFactory.create_batch(3)
    client.get(TICKETS)  # warm caches (content types, roles)
    with django_assert_max_num_queries(6) as small:
        client.get(TICKETS)
    TicketFactory.create_batch(40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(TICKETS).data["results"]) == 43
