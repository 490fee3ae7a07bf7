"""Read-side queries of the CMDB: list/detail querysets, attribute matching, impact analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from configuration.choices import ImpactDirection
from configuration.models import CIClass, CIIdentifier, ConfigurationItem, Relationship, RelationshipType

DEFAULT_IMPACT_DEPTH = 8
MAX_IMPACT_DEPTH = 20


def cis() -> QuerySet:
    """The CI list: class, owner group and identifiers in a constant number of queries."""
    return (
        ConfigurationItem.objects.defer("search_vector", "search_text")
        .select_related("ci_class", "owner_group")
        .prefetch_related(Prefetch("identifiers", queryset=CIIdentifier.objects.order_by("scheme")))
    )


def ci_detail() -> QuerySet:
    return cis().select_related("location", "last_verified_by").prefetch_related("organisations")


def relationships_of(ci: ConfigurationItem) -> QuerySet:
    """Every relationship touching ``ci``, with both ends and the type."""
    return (
        Relationship.objects.filter(Q(source=ci) | Q(target=ci))
        .select_related("source__ci_class", "target__ci_class", "type")
        .order_by("type__forward_label", "id")
    )


def matching_attributes(queryset: QuerySet, criteria: dict[str, str]) -> QuerySet:
    """CIs whose attributes match every ``key: value`` (text or its number/boolean reading).

    Uses the GIN ``jsonb_path_ops`` index on ``attributes`` through ``@>`` containment.
    Later apps use it to find incidents, problems or changes on e.g. ``version = 2.4.1``.
    """
    for key, raw in criteria.items():
        candidates: list = [raw]
        lowered = raw.strip().lower()
        if lowered in {"true", "false"}:
            candidates.append(lowered == "true")
        try:
            candidates.append(int(raw))
        except ValueError:
            try:
                candidates.append(float(raw))
            except ValueError:
                pass
        condition = Q()
        for value in candidates:
            condition |= Q(attributes__contains={key: value})
        queryset = queryset.filter(condition)
    return queryset


def cis_matching(
    *,
    ci_class: CIClass | None = None,
    include_subclasses: bool = True,
    attributes: dict[str, str] | None = None,
) -> QuerySet:
    """CIs of a class (and its subclasses) with matching attributes: the filter other apps reuse."""
    queryset = ConfigurationItem.objects.all()
    if ci_class is not None:
        queryset = queryset.filter(
            ci_class_id__in=class_and_descendants(ci_class) if include_subclasses else [ci_class.pk]
        )
    return matching_attributes(queryset, attributes or {})


def class_and_descendants(ci_class: CIClass) -> list[int]:
    parents = dict(CIClass.objects.values_list("pk", "parent_id"))
    found = {ci_class.pk}
    changed = True
    while changed:
        changed = False
        for pk, parent in parents.items():
            if parent in found and pk not in found:
                found.add(pk)
                changed = True
    return sorted(found)


# ---------------------------------------------------------------------------------- impact analysis


@dataclass
class ImpactNode:
    ci: ConfigurationItem
    depth: int
    path: list[int]  # CI ids from the start to this CI
    relationships: list[int]  # relationship ids along the path
    organisations: list[str] = field(default_factory=list)  # names, for services: who is affected


@dataclass
class ImpactResult:
    start: ConfigurationItem
    direction: str  # "impacts" (what fails with it) or "depends_on" (what it needs)
    max_depth: int
    nodes: list[ImpactNode] = field(default_factory=list)  # services + the nearest other CIs
    reached: int = 0  # every CI reached, loaded or not
    truncated: bool = False  # the walk stopped at its limit, or not every reached CI is in nodes
    labels: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (number, name) on paths

    @property
    def services(self) -> list[ImpactNode]:
        return [node for node in self.nodes if node.ci.ci_class.is_service]


def _type_ids() -> tuple[list[int], list[int]]:
    """Relationship types whose impact flows target->source, and source->target."""
    t2s, s2t = [], []
    for pk, direction in RelationshipType.objects.values_list("pk", "impact_direction"):
        if direction in (ImpactDirection.TARGET_TO_SOURCE, ImpactDirection.BOTH):
            t2s.append(pk)
        if direction in (ImpactDirection.SOURCE_TO_TARGET, ImpactDirection.BOTH):
            s2t.append(pk)
    return t2s, s2t


# One recursive query, one iteration per breadth-first level. Each iteration carries the whole
# frontier as an array and the set of CIs already reached; the next level is every CI one
# relationship away, minus those reached before (a hash anti-join), each with the CI and the
# relationship it was reached through. A CI is reached once, so the work is linear in the
# relationships walked, cycles stop by themselves, and the depth limit bounds the levels.
_IMPACT_SQL = """
WITH RECURSIVE walk(depth, frontier, parents, rels, reached) AS (
    SELECT 0, ARRAY[%(start)s]::bigint[], ARRAY[NULL]::bigint[], ARRAY[NULL]::bigint[], ARRAY[%(start)s]::bigint[]
    UNION ALL
    SELECT w.depth + 1, step.ids, step.parents, step.rels, w.reached || step.ids
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT array_agg(e.next_id) AS ids, array_agg(e.via) AS parents, array_agg(e.rel_id) AS rels
        FROM (
            SELECT DISTINCT ON (c.next_id) c.next_id, c.via, c.rel_id
            FROM (
                SELECT r.{near_a} AS next_id, r.{far_a} AS via, r.id AS rel_id
                  FROM configuration_relationship r
                 WHERE r.{far_a} = ANY(w.frontier) AND r.type_id = ANY(%(types_a)s)
                UNION ALL
                SELECT r.{near_b}, r.{far_b}, r.id
                  FROM configuration_relationship r
                 WHERE r.{far_b} = ANY(w.frontier) AND r.type_id = ANY(%(types_b)s)
            ) c
            LEFT JOIN unnest(w.reached) AS seen(id) ON seen.id = c.next_id
            WHERE seen.id IS NULL
            ORDER BY c.next_id, c.rel_id
        ) e
    ) step
    WHERE w.depth < %(max_depth)s AND step.ids IS NOT NULL AND cardinality(w.reached) <= %(limit)s
)
SELECT level.ci_id, level.via_id, level.rel_id, walk.depth, cl.is_service
FROM walk
CROSS JOIN LATERAL unnest(walk.frontier, walk.parents, walk.rels) AS level(ci_id, via_id, rel_id)
JOIN configuration_configurationitem ci ON ci.id = level.ci_id
JOIN configuration_ciclass cl ON cl.id = ci.ci_class_id
WHERE walk.depth > 0
ORDER BY walk.depth, level.ci_id
LIMIT %(limit)s
"""


def impact_analysis(
    start: ConfigurationItem,
    *,
    direction: str = "impacts",
    max_depth: int = DEFAULT_IMPACT_DEPTH,
    limit: int = 50000,
    item_limit: int = 200,
) -> ImpactResult:
    """What ``start`` failing would affect (``impacts``), or what ``start`` needs (``depends_on``).

    One recursive query finds every CI within ``max_depth`` (stopping once ``limit`` are reached),
    each at its smallest depth with the CI it was reached from. Loaded as objects: every reached
    service and the ``item_limit`` nearest other CIs; ``labels`` names every CI on their paths.
    """
    if direction not in ("impacts", "depends_on"):
        raise ValueError("direction must be 'impacts' or 'depends_on'")
    max_depth = max(1, min(int(max_depth), MAX_IMPACT_DEPTH))
    t2s, s2t = _type_ids()
    if direction == "impacts":
        # target fails -> source impacted; source fails -> target impacted
        columns = {"near_a": "source_id", "far_a": "target_id", "near_b": "target_id", "far_b": "source_id"}
    else:
        columns = {"near_a": "target_id", "far_a": "source_id", "near_b": "source_id", "far_b": "target_id"}
    with connection.cursor() as cursor:
        cursor.execute(
            _IMPACT_SQL.format(**columns),
            {"start": start.pk, "types_a": t2s, "types_b": s2t, "max_depth": max_depth, "limit": limit + 1},
        )
        rows = cursor.fetchall()
    result = ImpactResult(start=start, direction=direction, max_depth=max_depth, truncated=len(rows) > limit)
    rows = rows[:limit]
    result.reached = len(rows)
    parent = {ci_id: (via_id, rel_id) for ci_id, via_id, rel_id, _depth, _service in rows}
    depth_of = {ci_id: depth for ci_id, _via, _rel, depth, _service in rows}
    services = [row[0] for row in rows if row[4]]
    others = [row[0] for row in rows if not row[4]]
    wanted = services + others[:item_limit]
    result.truncated = result.truncated or len(others) > item_limit

    paths: dict[int, tuple[list[int], list[int]]] = {}
    on_paths: set[int] = {start.pk}
    for ci_id in wanted:
        path, rels, node = [ci_id], [], ci_id
        while node != start.pk and node in parent:
            via, rel = parent[node]
            path.append(via)
            rels.append(rel)
            node = via
        paths[ci_id] = (list(reversed(path)), list(reversed(rels)))
        on_paths.update(path)
    # Only what the impact views show; per-object M2M prefetching cost ~150 ms for 1,000 CIs.
    by_id = (
        ConfigurationItem.objects.select_related("ci_class")
        .only(
            "id",
            "number",
            "name",
            "status",
            "environment",
            "criticality",
            "ci_class__slug",
            "ci_class__name",
            "ci_class__is_service",
            "ci_class__icon",
        )
        .in_bulk(wanted)
    )
    organisations: dict[int, list[str]] = {}
    through = ConfigurationItem.organisations.through
    for ci_id, name in (
        through.objects.filter(configurationitem_id__in=services)
        .order_by("organisation__name")
        .values_list("configurationitem_id", "organisation__name")
    ):
        organisations.setdefault(ci_id, []).append(name)
    result.labels = {
        pk: (number, name)
        for pk, number, name in ConfigurationItem.objects.filter(pk__in=on_paths).values_list(
            "pk", "number", "name"
        )
    }
    for ci_id in sorted(wanted, key=lambda pk: (depth_of[pk], pk)):
        if ci_id in by_id:
            path, rels = paths[ci_id]
            result.nodes.append(
                ImpactNode(
                    ci=by_id[ci_id],
                    depth=depth_of[ci_id],
                    path=path,
                    relationships=rels,
                    organisations=organisations.get(ci_id, []),
                )
            )
    return result
