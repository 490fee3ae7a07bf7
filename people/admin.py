from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from itsm.admin import RecordAdmin
from people.models import Location, Organisation, Supplier, SupplierContact, SupportGroup, User


@admin.register(User)
class UserAdmin(RecordAdmin, DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "organisation", "is_active", "is_staff"]
    list_filter = ["groups", "organisation", "is_active", "is_staff", "is_vip"]
    list_select_related = ["organisation"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (
            "Service desk",
            {"fields": ["organisation", "location", "phone", "mobile", "job_title", "time_zone", "is_vip"]},
        ),
    ]


@admin.register(SupportGroup)
class SupportGroupAdmin(RecordAdmin):
    list_display = ["name", "email", "manager", "escalation_group", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    filter_horizontal = ["members"]
    list_select_related = ["manager", "escalation_group"]


@admin.register(Organisation)
class OrganisationAdmin(RecordAdmin):
    list_display = ["name", "code", "parent", "email_domain", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]


class SupplierContactInline(admin.TabularInline):
    model = SupplierContact
    extra = 1


@admin.register(Supplier)
class SupplierAdmin(RecordAdmin):
    list_display = ["name", "contract_reference", "support_email", "contract_expires_on", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "contract_reference"]
    inlines = [SupplierContactInline]


@admin.register(Location)
class LocationAdmin(RecordAdmin):
    list_display = ["name", "parent", "time_zone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]
    list_select_related = ["parent"]
