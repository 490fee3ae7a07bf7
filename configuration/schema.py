"""Attribute schemas of CI classes: effective schema, validation, and sensitive-attribute filtering."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import math
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


# One coercer per attribute type: the JSON value stored for ``value``, or ValueError with the reason.


def _coerce_string(attribute: Attribute, value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, dict | list):
        raise ValueError("must be text")
    return str(value)


def _coerce_integer(attribute: Attribute, value: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("must be a whole number")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _coerce_decimal(attribute: Attribute, value: Any) -> Any:
    if type(value) is float and math.isfinite(value):
        return value  # what float(Decimal(str(value))) gives back
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError("must be a number") from None
    if not number.is_finite():
        raise ValueError("must be a number")
    return float(number)


_TRUE, _FALSE = frozenset({"true", "yes", "1", "on"}), frozenset({"false", "no", "0", "off"})


def _coerce_boolean(attribute: Attribute, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("must be true or false")


def _coerce_date(attribute: Attribute, value: Any) -> Any:
    try:
        return datetime.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValueError("must be a date as YYYY-MM-DD") from None


def _coerce_choice(attribute: Attribute, value: Any) -> Any:
    text = str(value)
    if text not in attribute.choices:
        raise ValueError(f"must be one of: {', '.join(attribute.choices)}")
    return text


_URL_VALIDATOR = URLValidator()


def _coerce_url(attribute: Attribute, value: Any) -> Any:
    try:
        _URL_VALIDATOR(str(value))
    except ValidationError:
        raise ValueError("must be a URL") from None
    return str(value)


def _coerce_ip_address(attribute: Attribute, value: Any) -> Any:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


def _coerce_unknown(attribute: Attribute, value: Any) -> Any:
    raise ValueError(f"has an unknown type {attribute.type}")


_COERCERS = {
    AttributeType.STRING: _coerce_string,
    AttributeType.INTEGER: _coerce_integer,
    AttributeType.DECIMAL: _coerce_decimal,
    AttributeType.BOOLEAN: _coerce_boolean,
    AttributeType.DATE: _coerce_date,
    AttributeType.CHOICE: _coerce_choice,
    AttributeType.URL: _coerce_url,
    AttributeType.IP_ADDRESS: _coerce_ip_address,
}


class AttributeValidator:
    """``validate_attributes`` for one class, compiled once (a coercer per attribute, the required
    ones, the message naming the known keys) and then called for each row, e.g. of an import."""

    __slots__ = ("class_name", "coercers", "known", "required")

    def __init__(self, ci_class, schema: dict[str, Attribute]):
        self.class_name = ci_class.name
        self.coercers = {
            key: (attribute, _COERCERS.get(attribute.type, _coerce_unknown))
            for key, attribute in schema.items()
        }
        self.required = [(key, attribute) for key, attribute in schema.items() if attribute.required]
        self.known = ", ".join(sorted(schema)) or "none"

    def __call__(self, values: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise ValidationError({"attributes": "Attributes must be an object of key: value."})
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        coercers = self.coercers
        for key, value in values.items():
            entry = coercers.get(key)
            if entry is None:
                errors[f"attributes.{key}"] = (
                    f"'{key}' is not an attribute of {self.class_name} (known: {self.known})."
                )
                continue
            if value is None or value == "":
                continue
            attribute, coerce = entry
            try:
                clean[key] = coerce(attribute, value)
            except ValueError as error:
                errors[f"attributes.{key}"] = f"{attribute.label} {error}."
        for key, attribute in self.required:
            if key not in clean and f"attributes.{key}" not in errors:
                errors[f"attributes.{key}"] = f"{attribute.label} is required for {self.class_name}."
        if errors:
            raise ValidationError(errors)
        return clean


def validate_attributes(
    ci_class, values: dict[str, Any], *, schema: dict[str, Attribute] | None = None
) -> dict[str, Any]:
    """Check ``values`` against the class schema; return the clean values or raise ValidationError
    naming every offending attribute as ``attributes.<key>``. (Many rows of one class: build an
    ``AttributeValidator`` once and call it.)"""
    if not isinstance(values, dict):
        raise ValidationError({"attributes": "Attributes must be an object of key: value."})
    return AttributeValidator(ci_class, class_schema(ci_class) if schema is None else schema)(values)


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
