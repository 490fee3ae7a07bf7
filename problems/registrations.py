"""What problem management contributes to the kernel's registries: menu, search, link targets, the
incident page's panel, known-error suggestions while an incident is logged, notification kinds and
demo data."""

from __future__ import annotations

from itsm import roles
from itsm.registry import LinkTarget, MenuItem, Panel, SearchProvider, SuggestionProvider, registry

STAFF = frozenset(roles.STAFF_ROLES)


def _find_problems(user, text: str) -> list:
    from problems.queries import find_problems

    return find_problems(user, text)


def _find_known_errors(user, text: str) -> list:
    from problems.queries import find_known_errors

    return find_known_errors(user, text)


def _suggest_known_errors(user, facts: dict) -> list:
    from problems.queries import match_known_errors

    if not roles.is_staff_role(user):
        return []
    return match_known_errors(
        user,
        text=facts.get("text", ""),
        ci_ids=facts.get("ci_ids", ()),
        service_id=facts.get("service_id"),
        category_id=facts.get("category_id"),
    )


def _match_as_data(match) -> dict:
    from problems.queries import match_as_data

    return match_as_data(match)


def _incident_panel(incident, user) -> dict:
    from problems.views import incident_panel_context

    return incident_panel_context(incident, user)


def _load_demo() -> str:
    from problems.demo import load_demo

    return load_demo()


def register() -> None:
    from problems.models import KnownError, Problem

    for order, (label, url_name, icon) in enumerate(
        [
            ("Problems", "problems:list", "bug"),
            ("Known errors", "problems:known-errors", "journal-check"),
            ("Proposed problems", "problems:candidates", "lightbulb"),
            ("Incident trends", "problems:trends", "graph-up"),
            ("Improvement register", "problems:improvements", "arrow-up-right-circle"),
        ]
    ):
        registry.add_menu(
            MenuItem(
                section="Problems", label=label, url_name=url_name, roles=STAFF, icon=icon, order=200 + order
            )
        )
    registry.add_search(
        SearchProvider(
            model=Problem,
            label="Problems",
            title=lambda problem: f"{problem.number} {problem.title}",
            subtitle=lambda problem: problem.get_status_display(),
            order=110,
        )
    )
    registry.add_search(
        SearchProvider(
            model=KnownError,
            label="Known errors",
            title=lambda ke: f"{ke.number} {ke.title}",
            subtitle=lambda ke: ke.get_status_display(),
            order=111,
        )
    )
    registry.add_link_target(
        LinkTarget(
            model=Problem, label="Problem", find=_find_problems, kinds=("caused_by", "related"), order=110
        )
    )
    registry.add_link_target(
        LinkTarget(
            model=KnownError,
            label="Known error",
            find=_find_known_errors,
            kinds=("workaround", "related"),
            order=111,
        )
    )
    registry.add_suggestion_provider(
        SuggestionProvider(
            name="known_errors",
            label="Matching known errors",
            find=_suggest_known_errors,
            template="problems/partials/known_error_suggestions.html",
            as_data=_match_as_data,
            order=100,
        )
    )
    registry.add_panel(
        Panel(
            model_label="incidents.incident",
            title="Problems and known errors",
            template="problems/partials/incident_panel.html",
            context=_incident_panel,
            order=100,
        )
    )
    registry.add_notification_kind(
        "problems.reassessment_due", "A known error you own is due for re-assessment"
    )
    registry.add_notification_kind(
        "problems.candidate", "Problems were proposed (one digest per period of the new candidates)"
    )
    registry.add_demo_loader(500, "problems", _load_demo)
