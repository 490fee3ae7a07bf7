import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from itsm import roles
from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_sla_caches():
    """Reference data (policies, routing rules, the matrix...) and schedules are cached per process; each test's rolled-back rows must not leak."""
    from itsm import refcache
    from servicelevels import calendars

    refcache.clear_all()
    calendars.forget()
    yield
    refcache.clear_all()
    calendars.forget()


@pytest.fixture
def agent(db):
    return UserFactory(username="agent1", roles=[roles.AGENT])


@pytest.fixture
def manager(db):
    return UserFactory(username="manager1", roles=[roles.MANAGER])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin1", roles=[roles.ADMIN])


@pytest.fixture
def end_user(db):
    return UserFactory(username="enduser1", roles=[roles.END_USER])


@pytest.fixture
def other_end_user(db):
    return UserFactory(username="enduser2", roles=[roles.END_USER])


def api_client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_as():
    return api_client_for


@pytest.fixture
def client_as(client):
    def login(user):
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return login
