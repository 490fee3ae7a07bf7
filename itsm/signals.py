"""Kernel signal handlers."""

from __future__ import annotations

from django.apps import apps


def create_roles_and_sequences(using: str = "default", **kwargs) -> None:
    """After migrate: the role groups exist, and every numbered model has its number sequence."""
    from django.contrib.auth.models import Group

    from itsm import roles
    from itsm.models import NumberedRecord, ensure_number_sequence

    for name in roles.ALL_ROLES:
        Group.objects.using(using).get_or_create(name=name)
    for model in apps.get_models():
        if issubclass(model, NumberedRecord) and not model._meta.abstract:
            ensure_number_sequence(model.number_prefix, using=using)
