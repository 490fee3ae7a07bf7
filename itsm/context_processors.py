"""Template context for the layout: navigation for the user's roles."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from itsm import roles
from itsm.registry import registry


@dataclass
class NavItem:
    label: str
    url: str
    icon: str
    active: bool


@dataclass
class NavSection:
    label: str
    items: list[NavItem]


def navigation(request) -> list[NavSection]:
    held = roles.roles_of(request.user)
    sections: dict[str, NavSection] = {}
    path = request.path
    home = reverse("home")
    sections["Home"] = NavSection("Home", [NavItem("My home", home, "house", path == home)])
    search_url = reverse("search")
    sections["Home"].items.append(NavItem("Search", search_url, "search", path.startswith(search_url)))
    for item in registry.menu:
        if not (held & item.roles):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        section = sections.setdefault(item.section, NavSection(item.section, []))
        section.items.append(NavItem(item.label, url, item.icon, path.startswith(url)))
    # One item is current: the longest URL the path starts with (/knowledge/search/ is "Search
    # knowledge", not also "Articles" at /knowledge/).
    items = [item for section in sections.values() for item in section.items]
    longest = max((len(item.url) for item in items if item.active), default=0)
    for item in items:
        item.active = item.active and len(item.url) == longest
    return list(sections.values())


def shell(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"nav": [], "shell_roles": []}
    return {
        "nav": navigation(request),
        "shell_roles": [
            roles.ROLE_LABELS[name] for name in roles.ALL_ROLES if name in roles.roles_of(request.user)
        ],
    }
