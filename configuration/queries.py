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


@dataclass
class ImpactResult:
    start: ConfigurationItem
    direction: str  # "impacts" (what fails with it) or "depends_on" (what it needs)
    max_depth: int
    nodes: list[ImpactNode] = field(default_factory=list)
    truncated: bool = False

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


# One recursive query. Each row is an edge walked (reached, from, relationship, depth); UNION drops
# a row seen before, so an edge is walked at most once per depth: cycles end at the depth limit.
_IMPACT_SQL = """
WITH RECURSIVE walk(ci_id, via_id, rel_id, depth) AS (
    SELECT e.next_id, %(start)s::bigint, e.rel_id, 1
    FROM (
        SELECT r.{near_a} AS next_id, r.id AS rel_id FROM configuration_relationship r
         WHERE r.{far_a} = %(start)s AND r.type_id = ANY(%(types_a)s)
        UNION ALL
        SELECT r.{near_b}, r.id FROM configuration_relationship r
         WHERE r.{far_b} = %(start)s AND r.type_id = ANY(%(types_b)s)
    ) e
    UNION
    SELECT e.next_id, w.ci_id, e.rel_id, w.depth + 1
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT r.{near_a} AS next_id, r.id AS rel_id FROM configuration_relationship r
         WHERE r.{far_a} = w.ci_id AND r.type_id = ANY(%(types_a)s)
        UNION ALL
        SELECT r.{near_b}, r.id FROM configuration_relationship r
         WHERE r.{far_b} = w.ci_id AND r.type_id = ANY(%(types_b)s)
    ) e
    WHERE w.depth < %(max_depth)s AND e.next_id <> %(start)s
)
SELECT ci_id, via_id, rel_id, depth FROM walk ORDER BY depth, ci_id LIMIT %(limit)s
"""


def impact_analysis(
    start: ConfigurationItem,
    *,
    direction: str = "impacts",
    max_depth: int = DEFAULT_IMPACT_DEPTH,
    limit: int = 50000,
) -> ImpactResult:
    """What ``start`` failing would affect (``impacts``), or what ``start`` needs (``depends_on``).

    Every reached CI comes with its shortest path from ``start``. Depth-limited and cycle-safe.
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
    sql = _IMPACT_SQL.format(**columns)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"start": start.pk, "types_a": t2s, "types_b": s2t, "max_depth": max_depth, "limit": limit + 1},
        )
        rows = cursor.fetchall()
    result = ImpactResult(start=start, direction=direction, max_depth=max_depth, truncated=len(rows) > limit)
    best: dict[int, tuple[int, int, int]] = {}  # ci -> (depth, via, relationship) at its smallest depth
    for ci_id, via_id, rel_id, depth in rows[:limit]:
        if ci_id not in best or depth < best[ci_id][0]:
            best[ci_id] = (depth, via_id, rel_id)
    items = ConfigurationItem.objects.select_related("ci_class", "owner_group").prefetch_related(
        "organisations"
    )
    by_id = {ci.pk: ci for ci in items.filter(pk__in=best).defer("search_vector", "search_text")}
    for ci_id, (depth, _via, _rel) in sorted(best.items(), key=lambda item: (item[1][0], item[0])):
        path, rels, node = [ci_id], [], ci_id
        while node != start.pk and node in best:
            _depth, via, rel = best[node]
            rels.append(rel)
            path.append(via)
            node = via
        if ci_id in by_id:
            result.nodes.append(
                ImpactNode(
                    ci=by_id[ci_id],
                    depth=depth,
                    path=list(reversed(path)),
                    relationships=list(reversed(rels)),
                )
            )
    return result
