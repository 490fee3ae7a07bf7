import pytest
from rest_framework.test import APIClient

from configuration import services as cmdb
from configuration.models import CIClass, RelationshipType
from events import services
from tests.events.factories import make_source


@pytest.fixture
def source(db):
    return make_source()


@pytest.fixture
def post(db):
    """post(token, payload) through the API, then process what is pending; returns the response."""

    def send(token: str, payload, *, url: str = "/api/v1/events/", process: bool = True):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api.post(url, payload, format="json")
        assert response.status_code == 202, response.content
        if process:
            services.process_batch()
        return response

    return send


def _ci(name, slug, **kwargs):
    return cmdb.ci_create(actor=None, ci_class=CIClass.objects.get(slug=slug), name=name, **kwargs)


@pytest.fixture
def service_map(db):
    """Three levels: Payroll (service) depends on payroll-app, which runs on host-1; Shop (service,
    criticality 1) depends on payroll-app too."""
    payroll = _ci("Payroll", "business-service", criticality=2)
    app = _ci("payroll-app", "application")
    host = _ci("host-1", "server", identifiers={"hostname": "host-1"})
    other = _ci("host-2", "server", identifiers={"hostname": "host-2"})
    for source, kind, target in [(payroll, "depends-on", app), (app, "runs-on", host)]:
        cmdb.relationship_create(
            actor=None, source=source, target=target, type=RelationshipType.objects.get(slug=kind)
        )
    return {"service": payroll, "app": app, "host": host, "other": other}
