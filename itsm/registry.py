"""Registries that practice apps fill in from ``AppConfig.ready()``.

The kernel imports no practice app; cross-app features (navigation, search, panels on a record's
page, demo data) are registered here by the apps that provide them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models


@dataclass(frozen=True)
class MenuItem:
    """A link in the agent UI's sidebar, shown to users holding any of ``roles``."""

    section: str
    label: str
    url_name: str
    roles: frozenset[str]
    icon: str = ""
    order: int = 100


@dataclass(frozen=True)
class SearchProvider:
    """A model that takes part in global search. The model needs a ``search_vector`` column."""

    model: type[models.Model]
    label: str
    title: Callable[[Any], str]
    subtitle: Callable[[Any], str] = lambda obj: ""
    order: int = 100


@dataclass(frozen=True)
class Panel:
    """A block shown on a record's detail page, rendered from a template with ``record`` in context."""

    model_label: str  # "app_label.modelname" of the record it belongs on
    title: str
    template: str
    context: Callable[[Any, Any], dict] = lambda record, user: {}
    order: int = 100


@dataclass(frozen=True)
class LinkTarget:
    """A record type others may link to from a record's "Links" section.

    ``find(user, text)`` returns up to a few records of the type matching ``text`` (a number or
    words) that ``user`` may see; ``kinds`` are the link kinds offered, e.g. ("related", "caused_by").
    """

    model: type[models.Model]
    label: str
    find: Callable[[Any, str], list]
    kinds: tuple[str, ...] = ("related",)
    order: int = 100


@dataclass(frozen=True)
class SuggestionProvider:
    """More suggestions while a record is logged or worked (e.g. known errors for an incident).

    ``find(user, facts)`` returns a list of items for ``facts`` (a dict: ``text``, ``service_id``,
    ``ci_ids``, ``category_id``, ``exclude_id``, ``record``) that ``user`` may see, best first;
    ``template`` renders them (``items`` in context) and ``as_data(item)`` gives the API's dict.
    """

    name: str
    label: str
    find: Callable[[Any, dict], list]
    template: str
    as_data: Callable[[Any], dict] = lambda item: {"id": getattr(item, "pk", None), "label": str(item)}
    order: int = 100


@dataclass
class Registry:
    menu: list[MenuItem] = field(default_factory=list)
    search: list[SearchProvider] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    link_targets: list[LinkTarget] = field(default_factory=list)
    suggestion_providers: list[SuggestionProvider] = field(default_factory=list)
    # kind -> label of every notification kind apps send (their preferences page lists them).
    notification_kinds: dict[str, str] = field(default_factory=dict)
    demo_loaders: list[tuple[int, str, Callable[[], str]]] = field(default_factory=list)
    # (role, username, password) of the demo sign-ins, printed by `make run`.
    demo_accounts: list[tuple[str, str, str]] = field(default_factory=list)
    # role -> URL name of the page that role lands on instead of the kernel's home page
    # (the portal registers the end users' home this way; the kernel names no practice app).
    role_homes: dict[str, str] = field(default_factory=dict)
    # "app_label.modelname" -> record -> URL where people without a staff role follow that record
    # (the portal's ticket page for an incident); notifications link there for them.
    end_user_urls: dict[str, Callable[[Any], str]] = field(default_factory=dict)

    def add_menu(self, item: MenuItem) -> None:
        if item not in self.menu:
            self.menu.append(item)
            self.menu.sort(key=lambda entry: entry.order)

    def add_search(self, provider: SearchProvider) -> None:
        if all(existing.model is not provider.model for existing in self.search):
            self.search.append(provider)
            self.search.sort(key=lambda entry: entry.order)

    def add_panel(self, panel: Panel) -> None:
        if panel not in self.panels:
            self.panels.append(panel)
            self.panels.sort(key=lambda entry: entry.order)

    def panels_for(self, record: models.Model) -> list[Panel]:
        return [panel for panel in self.panels if panel.model_label == record._meta.label_lower]

    def add_link_target(self, target: LinkTarget) -> None:
        if all(existing.model is not target.model for existing in self.link_targets):
            self.link_targets.append(target)
            self.link_targets.sort(key=lambda entry: entry.order)

    def link_target_for(self, model: type[models.Model]) -> LinkTarget | None:
        return next((target for target in self.link_targets if target.model is model), None)

    def add_suggestion_provider(self, provider: SuggestionProvider) -> None:
        if all(existing.name != provider.name for existing in self.suggestion_providers):
            self.suggestion_providers.append(provider)
            self.suggestion_providers.sort(key=lambda entry: entry.order)

    def suggestions(self, user, facts: dict) -> list[dict]:
        """Every provider's items for ``facts``: ``[{"provider", "items"}]``, providers with none left out."""
        found = []
        for provider in self.suggestion_providers:
            items = provider.find(user, facts)
            if items:
                found.append({"provider": provider, "items": items})
        return found

    def add_notification_kind(self, kind: str, label: str) -> None:
        self.notification_kinds.setdefault(kind, label)

    def add_role_home(self, role: str, url_name: str) -> None:
        """Users whose primary role is ``role`` land on ``url_name`` when they open ``/``."""
        self.role_homes.setdefault(role, url_name)

    def add_end_user_url(self, model_label: str, url: Callable[[Any], str]) -> None:
        """Where people without a staff role follow records of ``model_label`` (e.g. the portal)."""
        self.end_user_urls.setdefault(model_label, url)

    def end_user_url(self, record: models.Model) -> str:
        """The end users' URL of ``record``, or "" when no app registered one for its type."""
        url = self.end_user_urls.get(record._meta.label_lower)
        return url(record) if url is not None else ""

    def add_demo_loader(self, order: int, name: str, loader: Callable[[], str]) -> None:
        """``loader`` creates demo data idempotently and returns a one-line summary."""
        if all(existing[1] != name for existing in self.demo_loaders):
            self.demo_loaders.append((order, name, loader))
            self.demo_loaders.sort(key=lambda entry: entry[0])


registry = Registry()
