"""Attribute schemas of CI classes: effective schema, validation, and sensitive-attribute filtering."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from configuration.choices import AttributeType
from itsm import roles

# Roles that see sensitive attributes; anyone else needs the explicit permission.
SENSITIVE_ROLES = (roles.ADMIN, roles.SECURITY)
SENSITIVE_PERMISSION = "configuration.view_sensitive_attributes"


def can_see_sensitive(user) -> bool:
    """Admins, the security team, and users granted ``configuration.view_sensitive_attributes``."""
    if user is None or not user.is_authenticated:
        return False
    # Cached on the user for the request, like its roles: lists ask once per row.
    cached = getattr(user, "_itsm_sees_sensitive", None)
    if cached is None:
        cached = roles.has_role(user, *SENSITIVE_ROLES) or user.has_perm(SENSITIVE_PERMISSION)
        user._itsm_sees_sensitive = cached
    return cached


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    type: str
    required: bool
    sensitive: bool
    choices: tuple[str, ...]


def class_schema(ci_class) -> dict[str, Attribute]:
    """The attributes a class keeps: its ancestors' first, its own overriding by key.

    Uses ``attribute_definitions`` prefetched on each class of the lineage when present.
    """
    schema: dict[str, Attribute] = {}
    for klass in ci_class.lineage():
        for definition in klass.attribute_definitions.all():
            schema[definition.key] = Attribute(
                key=definition.key,
                label=definition.label,
                type=definition.type,
                required=definition.required,
                sensitive=definition.sensitive,
                choices=tuple(str(c) for c in definition.choices or ()),
            )
    return schema


def _coerce(attribute: Attribute, value: Any) -> Any:
    """The JSON value stored for ``value``, or ValueError with the reason."""
    kind = attribute.type
    if kind == AttributeType.STRING:
        if isinstance(value, dict | list):
            raise ValueError("must be text")
        return str(value)
    if kind == AttributeType.INTEGER:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be a whole number")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == AttributeType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a number")
        return float(number)
    if kind == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "on"}:
            return True
        if text in {"false", "no", "0", "off"}:
            return False
        raise ValueError("must be true or false")
    if kind == AttributeType.DATE:
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("must be a date as YYYY-MM-DD") from None
    if kind == AttributeType.CHOICE:
        text = str(value)
        if text not in attribute.choices:
            raise ValueError(f"must be one of: {', '.join(attribute.choices)}")
        return text
    if kind == AttributeType.URL:
        try:
            URLValidator()(str(value))
        except ValidationError:
            raise ValueError("must be a URL") from None
        return str(value)
    if kind == AttributeType.IP_ADDRESS:
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None
    raise ValueError(f"has an unknown type {kind}")


def validate_attributes(
    ci_class, values: dict[str, Any], *, schema: dict[str, Attribute] | None = None
) -> dict[str, Any]:
    """Check ``values`` against the class schema; return the clean values or raise ValidationError
    naming every offending attribute as ``attributes.<key>``."""
    if not isinstance(values, dict):
        raise ValidationError({"attributes": "Attributes must be an object of key: value."})
    schema = class_schema(ci_class) if schema is None else schema
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        attribute = schema.get(key)
        if attribute is None:
            known = ", ".join(sorted(schema)) or "none"
            errors[f"attributes.{key}"] = f"'{key}' is not an attribute of {ci_class.name} (known: {known})."
            continue
        if value is None or value == "":
            continue
        try:
            clean[key] = _coerce(attribute, value)
        except ValueError as error:
            errors[f"attributes.{key}"] = f"{attribute.label} {error}."
    for key, attribute in schema.items():
        if attribute.required and key not in clean and f"attributes.{key}" not in errors:
            errors[f"attributes.{key}"] = f"{attribute.label} is required for {ci_class.name}."
    if errors:
        raise ValidationError(errors)
    return clean


def visible_attributes(attributes: dict[str, Any], schema: dict[str, Attribute], user) -> dict[str, Any]:
    """The attributes ``user`` may read: sensitive ones only for those allowed."""
    if can_see_sensitive(user):
        return dict(attributes)
    return {key: value for key, value in attributes.items() if not (key in schema and schema[key].sensitive)}


def sensitive_keys(schema: dict[str, Attribute]) -> set[str]:
    return {key for key, attribute in schema.items() if attribute.sensitive}


def all_schemas() -> dict[int, dict[str, Attribute]]:
    """The schema of every CI class in two queries, keyed by class id (for lists and imports)."""
    from configuration.models import AttributeDefinition, CIClass

    parents = dict(CIClass.objects.values_list("pk", "parent_id"))
    own: dict[int, list] = {}
    for definition in AttributeDefinition.objects.all():
        own.setdefault(definition.ci_class_id, []).append(definition)
    schemas: dict[int, dict[str, Attribute]] = {}
    for class_id in parents:
        chain, seen, node = [], set(), class_id
        while node is not None and node not in seen:
            seen.add(node)
            chain.append(node)
            node = parents.get(node)
        schema: dict[str, Attribute] = {}
        for klass in reversed(chain):
            for d in own.get(klass, []):
                schema[d.key] = Attribute(
                    d.key, d.label, d.type, d.required, d.sensitive, tuple(str(c) for c in d.choices or ())
                )
        schemas[class_id] = schema
    return schemas
