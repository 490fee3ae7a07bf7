"""Nobody reaches what is not theirs: by id in the API, through attachments, or through search."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from itsm import services
from itsm.models import Attachment
from itsm.search import global_search
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_ticket(other_end_user, agent):
    ticket = TicketFactory(owner=other_end_user, title="Salary spreadsheet corrupted")
    services.attachment_add(
        record=ticket, upload=SimpleUploadedFile("salaries.csv", b"a,b"), actor=other_end_user
    )
    services.attachment_add(
        record=ticket,
        upload=SimpleUploadedFile("notes.txt", b"internal"),
        actor=agent,
        visibility=Attachment.Visibility.INTERNAL,
    )
    return ticket


def test_attachment_of_another_users_record_is_404(client_as, end_user, private_ticket):
    client = client_as(end_user)
    for attachment in Attachment.objects.all():
        assert client.get(f"/attachments/{attachment.pk}/download/").status_code == 404


def test_owner_downloads_public_file_but_not_internal_one(client_as, other_end_user, private_ticket):
    client = client_as(other_end_user)
    public = Attachment.objects.get(filename="salaries.csv")
    internal = Attachment.objects.get(filename="notes.txt")
    response = client.get(f"/attachments/{public.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert client.get(f"/attachments/{internal.pk}/download/").status_code == 404


def test_attachment_download_requires_login(client, private_ticket):
    attachment = Attachment.objects.first()
    response = client.get(f"/attachments/{attachment.pk}/download/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_api_attachment_download_checks_visibility(api_as, end_user, agent, private_ticket):
    attachment = Attachment.objects.get(filename="salaries.csv")
    assert api_as(end_user).get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == 404
    assert api_as(agent).get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == 200


def test_search_does_not_reveal_other_users_records(end_user, other_end_user, agent, private_ticket):
    assert global_search(end_user, "salary") == []
    assert [hit.title for group in global_search(other_end_user, "salary") for hit in group.hits] == [
        f"{private_ticket.number} Salary spreadsheet corrupted"
    ]
    assert global_search(agent, "spreadsheet")[0].hits[0].url == private_ticket.get_absolute_url()


def test_search_page_for_end_user_shows_nothing_of_others(client_as, end_user, private_ticket):
    response = client_as(end_user).get("/search/", {"q": "salary"})
    assert response.status_code == 200
    assert b"Salary spreadsheet" not in response.content
    assert b"No records match" in response.content
