"""Admin for the knowledge base's reference data (categories). Articles are written in the agent UI
and the API (revisions, lifecycle and votes go through the services); the admin shows them read-only."""

from django.contrib import admin

from itsm.admin import ReadOnlyAdmin, RecordAdmin
from knowledge.models import Article, Category, PortalVisit, SelfHelpResolution


@admin.register(Category)
class CategoryAdmin(RecordAdmin):
    list_display = ["name", "description", "order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    ordering = ["order", "name"]


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "status", "audience", "category", "owner", "review_by", "view_count"]
    list_filter = ["status", "audience", "category"]
    search_fields = ["number", "title"]
    list_select_related = ["category", "owner"]


@admin.register(SelfHelpResolution)
class SelfHelpResolutionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "source", "article", "known_error_number", "query"]
    list_filter = ["source"]
    list_select_related = ["user", "article"]


@admin.register(PortalVisit)
class PortalVisitAdmin(ReadOnlyAdmin):
    list_display = ["day", "user", "organisation", "hits", "first_seen_at", "last_seen_at"]
    list_filter = ["day"]
    list_select_related = ["user", "organisation"]
    date_hierarchy = "day"
