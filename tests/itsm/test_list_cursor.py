"""Generic list pages: an unreadable cursor shows the first page instead of a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("cursor", ["x", "garbage", "\u00e9t\u00e9", "a" * 500])
def test_unreadable_cursor_shows_the_first_page(client_as, agent, cursor):
    response = client_as(agent).get("/people/support-groups/", {"cursor": cursor})
    assert response.status_code == 200
