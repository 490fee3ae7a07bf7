"""Agent-side pages for people, support groups, organisations, suppliers and locations."""

from __future__ import annotations

from itsm import roles
from itsm.views.generic import Column, RecordDetailView, RecordFormView, RecordListView
from people import filters, forms, queries, services
from people.models import Location, Organisation, Supplier, SupportGroup, User

MANAGERS = frozenset({roles.ADMIN, roles.MANAGER})
ADMINS = frozenset({roles.ADMIN})


def _roles_text(user) -> str:
    held = getattr(user, "role_groups", None)
    names = [group.name for group in held] if held is not None else sorted(roles.roles_of(user))
    return ", ".join(roles.ROLE_LABELS[name] for name in sorted(names)) or "-"


class UserList(RecordListView):
    model = User
    filterset_class = filters.UserFilterSet
    title = "Users"
    default_ordering = "username"
    create_url_name = "people:user-create"
    columns = [
        Column("Username", "username", "username", link=True),
        Column("Name", lambda u: u.get_full_name(), "last_name"),
        Column("E-mail", "email", "email"),
        Column("Organisation", "organisation.name"),
        Column("Roles", _roles_text),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.users()


class UserDetail(RecordDetailView):
    model = User
    edit_url_name = "people:user-edit"
    fields = [
        Column("Username", "username"),
        Column("Name", lambda u: u.get_full_name()),
        Column("E-mail", "email"),
        Column("Phone", "phone"),
        Column("Mobile", "mobile"),
        Column("Job title", "job_title"),
        Column("Organisation", "organisation"),
        Column("Location", "location"),
        Column("Roles", _roles_text),
        Column("Support groups", lambda u: ", ".join(g.name for g in u.support_groups.all()) or "-"),
        Column("VIP", "is_vip"),
        Column("Active", "is_active"),
        Column("Last login", "last_login"),
    ]

    def base_queryset(self):
        return queries.users().prefetch_related("support_groups")


class UserFormView(RecordFormView):
    model = User
    form_class = forms.UserForm
    allowed_roles = ADMINS

    def get_form(self, record, data=None):
        form = super().get_form(record, data)
        if record is not None:
            form.fields["username"].disabled = True
            form.fields["roles"].initial = sorted(
                roles.roles_of(record) - ({roles.ADMIN} if record.is_superuser else set())
            )
        return form

    def save(self, record, form):
        data = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "username"}
        role_names = form.cleaned_data.get("roles", [])
        if record is None:
            return services.user_create(
                actor=self.request.user, username=form.cleaned_data["username"], role_names=role_names, **data
            )
        return services.user_update(
            actor=self.request.user,
            user=record,
            changes=data,
            role_names=role_names,
            expected_version=form.cleaned_data.get("version"),
        )


class SupportGroupList(RecordListView):
    model = SupportGroup
    filterset_class = filters.SupportGroupFilterSet
    title = "Support groups"
    default_ordering = "name"
    create_url_name = "people:supportgroup-create"
    create_roles = MANAGERS
    columns = [
        Column("Name", "name", "name", link=True),
        Column("E-mail", "email"),
        Column("Manager", "manager"),
        Column("Members", "member_count"),
        Column("Escalates to", "escalation_group"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.support_groups()


class SupportGroupDetail(RecordDetailView):
    model = SupportGroup
    edit_url_name = "people:supportgroup-edit"
    edit_roles = MANAGERS
    fields = [
        Column("Name", "name"),
        Column("E-mail", "email"),
        Column("Phone", "phone"),
        Column("Description", "description"),
        Column("Manager", "manager"),
        Column("Escalates to", "escalation_group"),
        Column("Members", lambda g: ", ".join(str(m) for m in g.members.all()) or "-"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.support_groups().prefetch_related("members")


class SupportGroupFormView(RecordFormView):
    model = SupportGroup
    form_class = forms.SupportGroupForm
    allowed_roles = MANAGERS


class OrganisationList(RecordListView):
    model = Organisation
    filterset_class = filters.OrganisationFilterSet
    title = "Organisations"
    default_ordering = "name"
    create_url_name = "people:organisation-create"
    columns = [
        Column("Name", "name", "name", link=True),
        Column("Code", "code", "code"),
        Column("Parent", "parent"),
        Column("E-mail domain", "email_domain"),
        Column("People", "people_count"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.organisations()


class OrganisationDetail(RecordDetailView):
    model = Organisation
    edit_url_name = "people:organisation-edit"
    fields = [
        Column("Name", "name"),
        Column("Code", "code"),
        Column("Parent", "parent"),
        Column("E-mail domain", "email_domain"),
        Column("Phone", "phone"),
        Column("Notes", "notes"),
        Column("People", "people_count"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.organisations()


class OrganisationFormView(RecordFormView):
    model = Organisation
    form_class = forms.OrganisationForm


class SupplierList(RecordListView):
    model = Supplier
    filterset_class = filters.SupplierFilterSet
    title = "Suppliers"
    default_ordering = "name"
    create_url_name = "people:supplier-create"
    create_roles = MANAGERS
    columns = [
        Column("Name", "name", "name", link=True),
        Column("Contract", "contract_reference"),
        Column("Support e-mail", "support_email"),
        Column("Support hours", "support_hours"),
        Column("Contract expires", "contract_expires_on", "contract_expires_on"),
        Column("Contacts", "contact_count"),
    ]

    def base_queryset(self):
        return queries.suppliers()


class SupplierDetail(RecordDetailView):
    model = Supplier
    edit_url_name = "people:supplier-edit"
    edit_roles = MANAGERS
    fields = [
        Column("Name", "name"),
        Column("Contract reference", "contract_reference"),
        Column("Support e-mail", "support_email"),
        Column("Support phone", "support_phone"),
        Column("Support URL", "support_url"),
        Column("Support hours", "support_hours"),
        Column("Contract expires", "contract_expires_on"),
        Column(
            "Contacts",
            lambda s: (
                "; ".join(
                    f"{c.name} ({c.role or 'contact'}) {c.email} {c.phone}".strip() for c in s.contacts.all()
                )
                or "-"
            ),
        ),
        Column("Notes", "notes"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.suppliers().prefetch_related("contacts")


class SupplierFormView(RecordFormView):
    model = Supplier
    form_class = forms.SupplierForm
    allowed_roles = MANAGERS


class LocationList(RecordListView):
    model = Location
    filterset_class = filters.LocationFilterSet
    title = "Locations"
    default_ordering = "name"
    create_url_name = "people:location-create"
    columns = [
        Column("Name", "name", "name", link=True),
        Column("Parent", "parent"),
        Column("Address", "address"),
        Column("Time zone", "time_zone"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.locations()


class LocationDetail(RecordDetailView):
    model = Location
    edit_url_name = "people:location-edit"
    fields = [
        Column("Name", "name"),
        Column("Parent", "parent"),
        Column("Address", "address"),
        Column("Time zone", "time_zone"),
        Column("Active", "is_active"),
    ]

    def base_queryset(self):
        return queries.locations()


class LocationFormView(RecordFormView):
    model = Location
    form_class = forms.LocationForm
