"""Source tokens: ``Authorization: Bearer <token>`` (what Alertmanager sends) or ``Token <token>``.

The request is the source's, not a user's: ``request.auth`` is the ``EventSource``. Tokens are never
read from the URL.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from events import services
from events.models import EventSource


def source_from_header(header: bytes) -> EventSource | None:
    """The source whose token an ``Authorization`` header carries; None without a header. Raises
    ``AuthenticationFailed`` for a malformed header or an unknown or revoked token."""
    parts = header.split()
    if not parts:
        return None
    if parts[0].decode("latin-1").lower() not in SourceTokenAuthentication.keywords:
        raise exceptions.AuthenticationFailed("Send the source token as 'Authorization: Bearer <token>'.")
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Send exactly one token after Bearer or Token.")
    try:
        token = parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("The token is not valid.") from None
    source = services.source_for_token(token)
    if source is None:
        raise exceptions.AuthenticationFailed("Unknown or revoked event source token.")
    return source


class SourceTokenAuthentication(BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        source = source_from_header(get_authorization_header(request))
        return None if source is None else (AnonymousUser(), source)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="events"'


class HasSourceToken(BasePermission):
    message = "Send an event source's token as 'Authorization: Bearer <token>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, EventSource)


class SourceTokenScheme(OpenApiAuthenticationExtension):
    target_class = SourceTokenAuthentication
    name = "eventSourceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An event source's ingestion token (also accepted as `Authorization: Token <token>`).",
        }
