"""What the knowledge base contributes to the kernel's registries: menu, global search, link targets,
article suggestions while an incident is logged, panels on the incident and known-error pages,
notification kinds and demo data."""

from __future__ import annotations

from itsm import roles
from itsm.registry import LinkTarget, MenuItem, Panel, SearchProvider, SuggestionProvider, registry

READERS = frozenset(roles.STAFF_ROLES | {roles.END_USER})
STAFF = frozenset(roles.STAFF_ROLES)


def _find_articles(user, text: str) -> list:
    from knowledge.queries import find_for_link

    return find_for_link(user, text)


def _suggest_articles(user, facts: dict) -> list:
    from knowledge.queries import suggest

    return suggest(user, facts)


def _match_as_data(match) -> dict:
    from knowledge.queries import match_as_data

    return match_as_data(match)


def _incident_panel(incident, user) -> dict:
    from knowledge.panels import incident_panel_context

    return incident_panel_context(incident, user)


def _known_error_panel(known_error, user) -> dict:
    from knowledge.panels import known_error_panel_context

    return known_error_panel_context(known_error, user)


def _subtitle(article) -> str:
    status = article.get_status_display()
    return f"{status} · {article.summary}" if article.summary else status


def _load_demo() -> str:
    from knowledge.demo import load_demo

    return load_demo()


def register() -> None:
    from knowledge.models import Article

    registry.add_menu(
        MenuItem(
            section="Knowledge",
            label="Search knowledge",
            url_name="knowledge:search",
            roles=READERS,
            icon="search",
            order=300,
        )
    )
    registry.add_menu(
        MenuItem(
            section="Knowledge",
            label="Articles",
            url_name="knowledge:list",
            roles=STAFF,
            icon="journal-text",
            order=301,
        )
    )
    registry.add_search(
        SearchProvider(
            model=Article,
            label="Knowledge articles",
            title=lambda article: f"{article.number} {article.title}",
            subtitle=_subtitle,
            order=120,
        )
    )
    registry.add_link_target(
        LinkTarget(
            model=Article, label="Knowledge article", find=_find_articles, kinds=("related",), order=120
        )
    )
    registry.add_suggestion_provider(
        SuggestionProvider(
            name="knowledge_articles",
            label="Knowledge articles",
            find=_suggest_articles,
            template="knowledge/partials/article_suggestions.html",
            as_data=_match_as_data,
            order=110,
        )
    )
    registry.add_panel(
        Panel(
            model_label="incidents.incident",
            title="Knowledge",
            template="knowledge/partials/incident_panel.html",
            context=_incident_panel,
            order=110,
        )
    )
    registry.add_panel(
        Panel(
            model_label="problems.knownerror",
            title="Knowledge",
            template="knowledge/partials/known_error_panel.html",
            context=_known_error_panel,
            order=110,
        )
    )
    registry.add_notification_kind("knowledge.feedback", "A reader found an article you own not helpful")
    registry.add_notification_kind("knowledge.review_due", "An article you own is due for review")
    registry.add_demo_loader(600, "knowledge", _load_demo)
