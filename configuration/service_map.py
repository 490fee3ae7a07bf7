"""The service map: a CI's neighbourhood as nodes and edges for Cytoscape.js, capped for big hubs."""

from __future__ import annotations

from configuration import queries
from configuration.models import ConfigurationItem, Relationship

MAP_DEFAULT_DEPTH = 3
MAP_MAX_DEPTH = 6
MAP_MAX_NODES = 150
MAP_MAX_EDGES = 400
MAP_WALK_LIMIT = 2000

# Shape and colour by class slug; colour is never the only cue (shapes and labels differ too).
MAP_STYLES = {
    "service": ("round-rectangle", "#6610f2"),
    "business-service": ("round-rectangle", "#6f42c1"),
    "technical-service": ("round-rectangle", "#0d6efd"),
    "application": ("rectangle", "#198754"),
    "software": ("tag", "#20c997"),
    "hardware": ("rectangle", "#6c757d"),
    "server": ("rectangle", "#fd7e14"),
    "virtual-machine": ("cut-rectangle", "#e0a800"),
    "database": ("barrel", "#d63384"),
    "network-device": ("diamond", "#0aa2c0"),
    "storage": ("hexagon", "#795548"),
    "location": ("pentagon", "#8d6e63"),
    "team": ("ellipse", "#17a2b8"),
    "person": ("ellipse", "#5c6bc0"),
    "supplier": ("octagon", "#495057"),
    "document": ("rhomboid", "#98a2ad"),
}
SERVICE_STYLE = ("round-rectangle", "#6610f2")
DEFAULT_STYLE = ("ellipse", "#868e96")


def _map_style(ci_class) -> tuple[str, str]:
    return MAP_STYLES.get(ci_class.slug) or (SERVICE_STYLE if ci_class.is_service else DEFAULT_STYLE)


def service_map(ci: ConfigurationItem, *, depth: int = MAP_DEFAULT_DEPTH) -> dict:
    """The CI's neighbourhood as nodes and edges: what it impacts and what it depends on (up to
    ``depth`` steps), its direct neighbours of any relationship type, and the relationships among
    them, capped at ``MAP_MAX_NODES`` nodes and ``MAP_MAX_EDGES`` edges (``capped`` says so)."""
    reached: dict[int, tuple[int, ConfigurationItem]] = {ci.pk: (0, ci)}
    capped = False
    for direction in ("impacts", "depends_on"):
        result = queries.impact_analysis(ci, direction=direction, max_depth=depth, limit=MAP_WALK_LIMIT)
        capped = capped or result.truncated
        for node in result.nodes:
            if node.ci.pk not in reached or node.depth < reached[node.ci.pk][0]:
                reached[node.ci.pk] = (node.depth, node.ci)
    # Direct neighbours through relationships that carry no impact (backed up by, documented by).
    for relationship in queries.relationships_of(ci)[:MAP_MAX_EDGES]:
        other = relationship.target if relationship.source_id == ci.pk else relationship.source
        reached.setdefault(other.pk, (1, other))
    ordered = sorted(reached.values(), key=lambda item: (item[0], item[1].name.lower(), item[1].pk))
    if len(ordered) > MAP_MAX_NODES:
        capped, ordered = True, ordered[:MAP_MAX_NODES]
    ids = [item.pk for _depth, item in ordered]
    edges = list(
        Relationship.objects.filter(source_id__in=ids, target_id__in=ids)
        .select_related("type")
        .order_by("id")[: MAP_MAX_EDGES + 1]
    )
    if len(edges) > MAP_MAX_EDGES:
        capped, edges = True, edges[:MAP_MAX_EDGES]
    nodes = []
    for node_depth, item in ordered:
        shape, colour = _map_style(item.ci_class)
        nodes.append(
            {
                "id": item.pk,
                "number": item.number,
                "name": item.name,
                "class": item.ci_class.name,
                "class_slug": item.ci_class.slug,
                "icon": item.ci_class.icon,
                "is_service": item.ci_class.is_service,
                "status": item.status,
                "status_label": item.get_status_display(),
                "url": item.get_absolute_url(),
                "depth": node_depth,
                "centre": item.pk == ci.pk,
                "shape": shape,
                "colour": colour,
            }
        )
    return {
        "centre": ci.pk,
        "depth": depth,
        "nodes": nodes,
        "edges": [
            {
                "id": r.pk,
                "source": r.source_id,
                "target": r.target_id,
                "label": r.type.forward_label,
                "type": r.type.slug,
            }
            for r in edges
        ],
        "capped": capped,
        "limits": {"nodes": MAP_MAX_NODES, "edges": MAP_MAX_EDGES},
    }
