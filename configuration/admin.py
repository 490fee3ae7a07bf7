"""Admin for CMDB reference data: CI classes with their attribute schemas, relationship types."""

from django.contrib import admin

from configuration.models import (
    AttributeDefinition,
    CIClass,
    ConfigurationItem,
    DiscoveredItem,
    RelationshipType,
)
from itsm.admin import ReadOnlyAdmin, RecordAdmin


class AttributeDefinitionInline(admin.TabularInline):
    model = AttributeDefinition
    extra = 1
    fields = ["order", "key", "label", "type", "required", "sensitive", "choices", "help_text"]


@admin.register(CIClass)
class CIClassAdmin(RecordAdmin):
    list_display = ["name", "slug", "parent", "is_service", "identifier_keys", "is_active"]
    list_filter = ["is_service", "is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent"]
    inlines = [AttributeDefinitionInline]


@admin.register(RelationshipType)
class RelationshipTypeAdmin(RecordAdmin):
    list_display = ["slug", "forward_label", "reverse_label", "impact_direction"]
    list_filter = ["impact_direction"]


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(ReadOnlyAdmin):
    """CIs are kept in the agent UI and the API (schema validation, identifiers); read-only here."""

    list_display = ["number", "name", "ci_class", "status", "environment", "source", "last_verified_at"]
    list_filter = ["ci_class", "status", "environment", "source"]
    search_fields = ["number", "name"]
    list_select_related = ["ci_class"]
    exclude = ["search_vector"]


@admin.register(DiscoveredItem)
class DiscoveredItemAdmin(ReadOnlyAdmin):
    list_display = ["source", "identifiers", "reason", "first_seen_at", "last_seen_at", "resolved_ci"]
    list_filter = ["source"]
