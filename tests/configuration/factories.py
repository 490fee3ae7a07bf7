"""factory_boy factories for the CMDB: classes (the default ones by slug), CIs and relationships."""

import factory

from configuration import services
from configuration.models import CIClass, CIIdentifier, ConfigurationItem, Relationship, RelationshipType


class CIClassFactory(factory.django.DjangoModelFactory):
    """``CIClassFactory(slug="server")`` returns the default class; a new slug makes a new class."""

    class Meta:
        model = CIClass
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"class-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").capitalize())


class RelationshipTypeFactory(factory.django.DjangoModelFactory):
    """``RelationshipTypeFactory(slug="depends-on")`` returns the default type."""

    class Meta:
        model = RelationshipType
        django_get_or_create = ("slug",)

    slug = "depends-on"
    forward_label = factory.LazyAttribute(lambda t: t.slug.replace("-", " "))
    reverse_label = factory.LazyAttribute(lambda t: f"{t.forward_label} (reverse)")


class CIFactory(factory.django.DjangoModelFactory):
    """A CI saved directly (no schema validation): fast fixtures. ``identifiers={"hostname": ...}``
    adds identifier rows. Use ``ci_via_service`` to go through ``services.ci_create``."""

    class Meta:
        model = ConfigurationItem
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"srv-{n:04d}")
    ci_class = factory.SubFactory(CIClassFactory, slug="server")
    attributes = factory.LazyFunction(dict)

    @factory.post_generation
    def identifiers(self, create, extracted, **kwargs):
        if create and extracted:
            CIIdentifier.objects.bulk_create(
                [CIIdentifier(ci=self, scheme=scheme, value=value) for scheme, value in extracted.items()]
            )

    @factory.post_generation
    def organisations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organisations.set(extracted)


def service_ci(name: str = "Payroll", **kwargs) -> ConfigurationItem:
    return CIFactory(name=name, ci_class=CIClassFactory(slug="business-service"), **kwargs)


def ci_via_service(
    *, actor=None, ci_class: str = "server", name: str = "web-01", **kwargs
) -> ConfigurationItem:
    """A CI created through ``services.ci_create`` (validated, with history)."""
    return services.ci_create(actor=actor, ci_class=CIClassFactory(slug=ci_class), name=name, **kwargs)


class RelationshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Relationship

    source = factory.SubFactory(CIFactory)
    target = factory.SubFactory(CIFactory)
    type = factory.SubFactory(RelationshipTypeFactory, slug="depends-on")
