"""The CMDB: CI classes with attribute schemas, configuration items, identifiers, relationships."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse

from configuration.choices import AttributeType, CIStatus, Criticality, Environment, ImpactDirection
from itsm import roles
from itsm.models import NumberedRecord, Record, RecordQuerySet
from itsm.search import search_vector


class CIClass(Record):
    """A kind of configuration item (server, application, business service, ...).

    Classes form a small hierarchy; a class keeps its own attribute definitions plus those of its
    ancestors. ``identifier_keys`` name the identifiers (hostname, serial, fqdn, ...) by which an
    import recognises an existing CI of this class, in order of preference.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    description = models.TextField(blank=True)
    is_service = models.BooleanField(
        default=False, help_text="CIs of this class are services (shown in impact analysis)."
    )
    identifier_keys = models.JSONField(
        default=list,
        blank=True,
        help_text='Identifier schemes used to reconcile imports, e.g. ["hostname", "serial"].',
    )
    icon = models.CharField(max_length=50, blank=True, help_text="A Bootstrap Icons name, e.g. server.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "CI class"
        verbose_name_plural = "CI classes"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("configuration:ci-list") + f"?ci_class={self.pk}"

    def lineage(self) -> list[CIClass]:
        """This class and its ancestors, root first (cycle-safe)."""
        chain, seen, node = [], set(), self
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class AttributeDefinition(models.Model):
    """One attribute a CI class keeps: its key, type, whether required, whether sensitive."""

    ci_class = models.ForeignKey(CIClass, on_delete=models.CASCADE, related_name="attribute_definitions")
    key = models.SlugField(
        max_length=50, help_text="Lower-case key used in the API and filters, e.g. version."
    )
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=AttributeType.choices, default=AttributeType.STRING)
    required = models.BooleanField(default=False)
    sensitive = models.BooleanField(
        default=False, help_text="Shown only to roles allowed to see sensitive data."
    )
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values for a choice attribute.")
    help_text = models.CharField(max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["ci_class", "order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["ci_class", "key"], name="unique_attribute_key_per_class")
        ]

    def __str__(self) -> str:
        return f"{self.ci_class}: {self.key}"


class RelationshipType(Record):
    """A kind of relationship, read "source <forward_label> target" and "target <reverse_label> source"."""

    slug = models.SlugField(max_length=50, unique=True)
    forward_label = models.CharField(max_length=50, help_text="E.g. depends on.")
    reverse_label = models.CharField(max_length=50, help_text="E.g. used by.")
    impact_direction = models.CharField(
        max_length=20, choices=ImpactDirection.choices, default=ImpactDirection.TARGET_TO_SOURCE
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["forward_label"]

    def __str__(self) -> str:
        return f"{self.forward_label} / {self.reverse_label}"

    def get_absolute_url(self) -> str:
        return reverse("admin:configuration_relationshiptype_change", args=[self.pk])


class ConfigurationItemQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every CI; an end user sees the live services their organisation uses."""
        if roles.is_staff_role(user):
            return self
        organisation_id = getattr(user, "organisation_id", None) if user.is_authenticated else None
        if organisation_id:
            return self.filter(ci_class__is_service=True, status=CIStatus.LIVE, organisations=organisation_id)
        return self.none()


class ConfigurationItem(NumberedRecord):
    """Any component that needs to be managed to deliver an IT service - services included.

    ``attributes`` are validated against the class schema by ``configuration.services``; sensitive
    ones are filtered out for readers without the right (``configuration.schema.visible_attributes``).
    """

    number_prefix = "CI"

    name = models.CharField(max_length=200, db_index=True)
    ci_class = models.ForeignKey(CIClass, on_delete=models.PROTECT, related_name="items")
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=CIStatus.choices, default=CIStatus.LIVE)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    criticality = models.PositiveSmallIntegerField(choices=Criticality.choices, default=Criticality.MEDIUM)
    owner_group = models.ForeignKey(
        "people.SupportGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="configuration_items",
    )
    organisations = models.ManyToManyField(
        "people.Organisation",
        blank=True,
        related_name="configuration_items",
        help_text="Organisations that use this CI (for services: its consumers).",
    )
    location = models.ForeignKey(
        "people.Location",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="configuration_items",
    )
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(
        max_length=100, default="manual", help_text='"manual" or the import feed\'s name.'
    )
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="When its feed last reported it.")
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Only non-sensitive text goes into the vector (see services._search_text), so search cannot
    # reveal a sensitive value.
    search_text = models.TextField(blank=True, editable=False)
    search_vector = models.GeneratedField(
        expression=search_vector(("name", "A"), ("number", "A"), ("search_text", "B"), ("description", "C")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    history_exclude = frozenset(
        {"id", "created_at", "updated_at", "version", "search_vector", "search_text", "last_seen_at"}
    )

    objects = ConfigurationItemQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "configuration item"
        permissions = [("view_sensitive_attributes", "Can see sensitive CI attributes")]
        indexes = [
            GinIndex(fields=["search_vector"], name="ci_search_idx"),
            GinIndex(fields=["attributes"], name="ci_attributes_idx", opclasses=["jsonb_path_ops"]),
            models.Index(fields=["ci_class", "status"], name="ci_class_status_idx"),
            # The list filtered by class, in number order (without it: 52 ms at 100,000 CIs).
            models.Index(fields=["ci_class", "number"], name="ci_class_number_idx"),
            models.Index(fields=["source", "last_seen_at"], name="ci_source_seen_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("configuration:ci-detail", args=[self.pk])

    @property
    def record_label(self) -> str:
        return f"{self.number} {self.name}"

    def redact_history(self, changes: list, user) -> None:
        """Kernel hook: leave sensitive attribute values out of history entries ``user`` reads."""
        from configuration import schema as schemas

        if schemas.can_see_sensitive(user):
            return
        hidden = set().union(*(schemas.sensitive_keys(s) for s in schemas.all_schemas().values()))
        for change in changes:
            attributes = change.changes.get("attributes")
            if isinstance(attributes, dict) and hidden:
                change.changes = {
                    **change.changes,
                    "attributes": {
                        side: {k: v for k, v in values.items() if k not in hidden}
                        if isinstance(values, dict)
                        else values
                        for side, values in attributes.items()
                    },
                }


class CIIdentifier(models.Model):
    """A unique identifier of a CI in one scheme (hostname, serial, fqdn, cloud_id, ...).

    The unique constraint on (scheme, value) is what makes reconciliation race-free: two feeds can
    never create two CIs for the same host.
    """

    ci = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="identifiers")
    scheme = models.SlugField(max_length=30)
    value = models.CharField(max_length=255)

    class Meta:
        ordering = ["scheme"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "value"], name="unique_ci_identifier"),
            models.UniqueConstraint(fields=["ci", "scheme"], name="one_identifier_per_scheme_per_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme}={self.value}"


class Relationship(Record):
    """ "source <type.forward_label> target", e.g. "Payroll app runs on srv-db-01"."""

    source = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="incoming")
    type = models.ForeignKey(RelationshipType, on_delete=models.PROTECT, related_name="relationships")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "type"], name="unique_relationship"),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="relationship_not_to_itself"
            ),
        ]
        indexes = [models.Index(fields=["target", "type"], name="relationship_target_idx")]

    def __str__(self) -> str:
        return f"{self.source} {self.type.forward_label} {self.target}"

    def get_absolute_url(self) -> str:
        return self.source.get_absolute_url()


class DiscoveredItem(models.Model):
    """Something a feed reported that matches no CI and could not be imported (undocumented)."""

    source = models.CharField(max_length=100)
    identifiers = models.JSONField(default=dict)
    payload = models.JSONField(default=dict)
    reason = models.CharField(max_length=500)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_ci = models.ForeignKey(
        ConfigurationItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.source}: {self.identifiers}"
