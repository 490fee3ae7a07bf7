"""People and the structures they work in: users, support groups, organisations, suppliers, locations."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse

from itsm import roles
from itsm.models import Record, RecordQuerySet
from itsm.search import search_vector


class Location(Record):
    """A site, building or floor where people and things are (e.g. "London HQ, floor 3")."""

    name = models.CharField(max_length=200, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    address = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. Europe/London.")
    is_active = models.BooleanField(default=True)
    search_vector = models.GeneratedField(
        expression=search_vector(("name", "A"), ("address", "B")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["search_vector"], name="location_search_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("people:location-detail", args=[self.pk])


class OrganisationQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every organisation; an end user sees only their own."""
        if roles.is_staff_role(user):
            return self
        if user.is_authenticated and user.organisation_id:
            return self.filter(pk=user.organisation_id)
        return self.none()


class Organisation(Record):
    """A customer or internal department whose people use the services (e.g. "Finance")."""

    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=50, unique=True, help_text="Short unique code, e.g. FIN.")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    email_domain = models.CharField(
        max_length=200, blank=True, help_text="E-mail domain of its people, e.g. finance.example.com."
    )
    phone = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    search_vector = models.GeneratedField(
        expression=search_vector(("name", "A"), ("code", "A"), ("email_domain", "B"), ("notes", "C")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["search_vector"], name="organisation_search_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("people:organisation-detail", args=[self.pk])


class UserQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every user; an end user sees themself and the people of their organisation."""
        if roles.is_staff_role(user):
            return self
        if not user.is_authenticated:
            return self.none()
        if user.organisation_id:
            return self.filter(models.Q(pk=user.pk) | models.Q(organisation_id=user.organisation_id))
        return self.filter(pk=user.pk)


class PeopleUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person who signs in: an end user, an agent, a manager, an admin or the security team.

    Roles are Django groups named after ``itsm.roles``; support groups are a separate structure.
    """

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    phone = models.CharField(max_length=50, blank=True)
    mobile = models.CharField(max_length=50, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    is_vip = models.BooleanField(default=False, help_text="Calls from this person get attention first.")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    search_vector = models.GeneratedField(
        expression=search_vector(
            ("username", "A"), ("first_name", "A"), ("last_name", "A"), ("email", "B"), ("job_title", "C")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    history_exclude = frozenset(
        {
            "id",
            "password",
            "last_login",
            "date_joined",
            "updated_at",
            "version",
            "search_vector",
            "user_permissions",
        }
    )

    objects = PeopleUserManager()

    class Meta:
        ordering = ["username"]
        indexes = [GinIndex(fields=["search_vector"], name="user_search_idx")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_absolute_url(self) -> str:
        return reverse("people:user-detail", args=[self.pk])

    @property
    def record_label(self) -> str:
        return str(self)


class SupportGroupQuerySet(RecordQuerySet):
    def visible_to(self, user):
        """Staff see every group. End users see active groups by name only (as assignees of their tickets)."""
        if roles.is_staff_role(user):
            return self
        if user.is_authenticated:
            return self.filter(is_active=True)
        return self.none()


class SupportGroup(Record):
    """A team that handles work: the service desk, a second-line team, a supplier's desk.

    ``escalation_group`` is where functional escalation goes next; ``manager`` receives
    hierarchical escalations.
    """

    name = models.CharField(max_length=200, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_groups"
    )
    members = models.ManyToManyField(User, blank=True, related_name="support_groups")
    escalation_group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalated_from",
        help_text="The group that takes over on functional escalation.",
    )
    is_active = models.BooleanField(default=True)
    search_vector = models.GeneratedField(
        expression=search_vector(("name", "A"), ("email", "B"), ("description", "C")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = SupportGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["search_vector"], name="supportgroup_search_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("people:supportgroup-detail", args=[self.pk])


class Supplier(Record):
    """An external party that supports our services, with its support contract reference."""

    name = models.CharField(max_length=200, unique=True)
    contract_reference = models.CharField(
        max_length=100, blank=True, help_text="Our support contract with them."
    )
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=50, blank=True)
    support_url = models.URLField(blank=True)
    support_hours = models.CharField(
        max_length=200, blank=True, help_text="E.g. 24x7, or Mon-Fri 08:00-18:00 CET."
    )
    contract_expires_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    search_vector = models.GeneratedField(
        expression=search_vector(
            ("name", "A"), ("contract_reference", "A"), ("support_email", "B"), ("notes", "C")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["search_vector"], name="supplier_search_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("people:supplier-detail", args=[self.pk])


class SupplierContact(models.Model):
    """A named person at a supplier: account manager, escalation contact, engineer."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=100, blank=True, help_text="E.g. account manager, escalation manager.")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["supplier", "name"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "name"], name="unique_supplier_contact_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.supplier})"
