"""Notifications in the browser and the API: the bell, the list, opening one, settings, own rows only."""

import pytest
from django.core import mail

from itsm import notifications
from itsm.models import Notification
from itsm.registry import registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(agent, end_user):
    notifications.notify(
        [agent], subject="Assigned to you: INC1", url="/incidents/", kind="sla.warning", key="k1"
    )
    notifications.notify([end_user], subject="Private to the end user", key="k2")
    return Notification.objects.get(recipient=agent)


def test_bell_list_open_and_mark_read(client_as, agent, told):
    client = client_as(agent)
    bell = client.get("/notifications/bell/")
    assert 'id="notification-count">1<' in bell.content.decode()
    page = client.get("/notifications/").content.decode()
    assert "Assigned to you: INC1" in page and "Private to the end user" not in page
    response = client.get(f"/notifications/{told.pk}/")
    assert response.status_code == 302 and response["Location"] == "/incidents/"
    told.refresh_from_db()
    assert told.read_at is not None
    assert "notification-count" not in client.get("/notifications/bell/").content.decode()


def test_someone_elses_notification_is_404(client_as, agent, end_user, told):
    theirs = Notification.objects.get(recipient=end_user)
    assert client_as(agent).get(f"/notifications/{theirs.pk}/").status_code == 404


def test_open_redirect_is_refused(client_as, agent):
    notifications.notify([agent], subject="x", url="https://evil.example/")
    mine = Notification.objects.get(recipient=agent)
    assert client_as(agent).get(f"/notifications/{mine.pk}/")["Location"] == "/notifications/"


def test_email_preference_mutes_mail_but_keeps_the_notification(client_as, agent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "sla.warning" in registry.notification_kinds
    response = client_as(agent).post("/notifications/settings/", {"sla.breach": "on"})  # sla.warning unticked
    assert response.status_code == 302
    notifications.notify([agent], subject="Warning", kind="sla.warning", key="w")
    notifications.notify([agent], subject="Breach", kind="sla.breach", key="b")
    assert notifications.deliver_pending() == 1
    assert [message.subject for message in mail.outbox] == ["Breach"]
    assert (
        Notification.objects.filter(recipient=agent, email_sent=False, emailed_at__isnull=False).count() == 1
    )
    assert "Hello" in mail.outbox[0].body


def test_api_lists_own_and_marks_read(api_as, end_user, told):
    client = api_as(end_user)
    listed = client.get("/api/v1/notifications/").json()["results"]
    assert [n["subject"] for n in listed] == ["Private to the end user"]
    assert client.post("/api/v1/notifications/mark-read/", {}, format="json").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/?unread=1").json()["results"] == []
    assert client.post("/api/v1/notifications/mark-read/", {"ids": ["x"]}, format="json").status_code == 400
