"""One error format for the whole API.

Every error body is ``{"detail": "<message>", "code": "<code>", "errors": {<field>: [<messages>]}}``;
``errors`` appears for validation problems and names each field.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from itsm.exceptions import ConflictError


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def _summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(str(message) for message in messages)
        parts.append(text if field in ("non_field_errors", "__all__") else f"{field}: {text}")
    return "; ".join(parts) or "Invalid input."


def validation_response(errors: dict[str, list[str]]) -> Response:
    errors = {("non_field_errors" if key == "__all__" else key): value for key, value in errors.items()}
    return Response(
        {"detail": _summary(errors), "code": "invalid", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
    )


def exception_handler(exc, context):
    """Map service and framework exceptions to the one error format; never a 500 for bad input."""
    if isinstance(exc, ConflictError):
        body = {"detail": exc.message, "code": exc.code, **exc.extra}
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {key: [str(m) for m in exc.message_dict[key]] for key in exc.message_dict}
        else:
            errors = {"non_field_errors": [str(m) for m in exc.messages]}
        return validation_response(errors)
    if isinstance(exc, IntegrityError):
        return Response(
            {
                "detail": "This conflicts with a record that already exists (a value that must be unique is taken).",
                "code": "integrity_error",
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return validation_response(_flatten(exc.detail))
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        errors = _flatten(detail)
        response.data = {
            "detail": _summary(errors),
            "code": getattr(exc, "default_code", "error"),
            "errors": errors,
        }
    else:
        response.data = {
            "detail": str(detail),
            "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        }
    return response
