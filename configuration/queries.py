"""Read-side queries of the CMDB: list/detail querysets, attribute matching, impact analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse

from configuration.choices import CIStatus, Criticality, Environment, ImpactDirection
from configuration.models import CIClass, CIIdentifier, ConfigurationItem, Relationship

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


@dataclass(frozen=True, slots=True)
class ImpactClass:
    """A reached CI's class, as the impact views show it (shared by every CI of the class)."""

    id: int
    slug: str
    name: str
    is_service: bool
    icon: str

    @property
    def pk(self) -> int:
        return self.id

    def __str__(self) -> str:
        return self.name


_STATUS_LABELS = dict(CIStatus.choices)
_ENVIRONMENT_LABELS = dict(Environment.choices)
_CRITICALITY_LABELS = dict(Criticality.choices)


@dataclass(frozen=True, slots=True)
class ImpactCI:
    """A reached CI as the impact views show it, read from one query's rows rather than loaded as a
    model instance (at 100,000 CIs one analysis shows ~700 of them). Read-only; the fields are those
    of ``ConfigurationItem`` with the same names; fetch the model by ``pk`` to do more."""

    id: int
    number: str
    name: str
    status: str
    environment: str
    criticality: int
    ci_class: ImpactClass

    @property
    def pk(self) -> int:
        return self.id

    @property
    def ci_class_id(self) -> int:
        return self.ci_class.id

    @property
    def record_label(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("configuration:ci-detail", args=[self.id])

    def get_status_display(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    def get_environment_display(self) -> str:
        return str(_ENVIRONMENT_LABELS.get(self.environment, self.environment))

    def get_criticality_display(self) -> str:
        return str(_CRITICALITY_LABELS.get(self.criticality, self.criticality))

    def __str__(self) -> str:
        return self.name


@dataclass
class ImpactNode:
    ci: ImpactCI
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


# The relationship types by the way they spread failure, and the service classes.
_IMPACT_REFERENCE_SQL = """
SELECT
    ARRAY(SELECT id FROM configuration_relationshiptype WHERE impact_direction = ANY(%(t2s)s)),
    ARRAY(SELECT id FROM configuration_relationshiptype WHERE impact_direction = ANY(%(s2t)s)),
    ARRAY(SELECT id FROM configuration_ciclass WHERE is_service)
"""
# Every service CI. Services are few (500 of 100,000 CIs in the bench estate): picking them out of
# the reached CIs in Python costs less than joining every reached CI to its class (~10 ms for
# 5,500). The class ids go in as constants so that the planner sees from the column statistics how
# few rows they match and reads the (ci_class_id, ...) index; given as a subquery it guessed 60% of
# the table and read all of it (~50 ms).
_SERVICES_SQL = "SELECT id FROM configuration_configurationitem WHERE ci_class_id = ANY(%(classes)s)"


def _impact_reference() -> tuple[list[int], list[int], set[int]]:
    """Relationship types whose impact flows target->source, those where it flows source->target,
    and the ids of the service CIs."""
    with connection.cursor() as cursor:
        cursor.execute(
            _IMPACT_REFERENCE_SQL,
            {
                "t2s": [ImpactDirection.TARGET_TO_SOURCE.value, ImpactDirection.BOTH.value],
                "s2t": [ImpactDirection.SOURCE_TO_TARGET.value, ImpactDirection.BOTH.value],
            },
        )
        t2s, s2t, service_classes = cursor.fetchone()
        services: set[int] = set()
        if service_classes:
            cursor.execute(_SERVICES_SQL, {"classes": [int(pk) for pk in service_classes]})
            services = {row[0] for row in cursor.fetchall()}
    return t2s, s2t, services


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
SELECT level.ci_id, level.via_id, level.rel_id, walk.depth
FROM walk
CROSS JOIN LATERAL unnest(walk.frontier, walk.parents, walk.rels) AS level(ci_id, via_id, rel_id)
WHERE walk.depth > 0
ORDER BY walk.depth, level.ci_id
LIMIT %(limit)s
"""

# What the impact views show of each CI on a path, with its class, and for services the names of
# the organisations that use them: one query, rows rather than model instances.
_IMPACT_ROWS_SQL = """
SELECT ci.id, ci.number, ci.name, ci.status, ci.environment, ci.criticality,
       cl.id, cl.slug, cl.name, cl.is_service, cl.icon,
       CASE WHEN cl.is_service THEN ARRAY(
           SELECT o.name FROM {organisations} uses JOIN {organisation} o ON o.id = uses.organisation_id
           WHERE uses.configurationitem_id = ci.id ORDER BY o.name
       ) END
FROM configuration_configurationitem ci
JOIN configuration_ciclass cl ON cl.id = ci.ci_class_id
WHERE ci.id = ANY(%(ids)s)
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
    each at its smallest depth with the CI it was reached from. In ``nodes``: every reached service
    and the ``item_limit`` nearest other CIs, as ``ImpactCI`` rows; ``labels`` names every CI on
    their paths. Four queries in all, whatever the size of the answer.
    """
    if direction not in ("impacts", "depends_on"):
        raise ValueError("direction must be 'impacts' or 'depends_on'")
    max_depth = max(1, min(int(max_depth), MAX_IMPACT_DEPTH))
    t2s, s2t, service_ids = _impact_reference()
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
    parent = {ci_id: (via_id, rel_id) for ci_id, via_id, rel_id, _depth in rows}
    depth_of = {ci_id: depth for ci_id, _via, _rel, depth in rows}
    services = [row[0] for row in rows if row[0] in service_ids]
    others = [row[0] for row in rows if row[0] not in service_ids]
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
        paths[ci_id] = (path[::-1], rels[::-1])
        on_paths.update(path)
    details = _impact_rows(on_paths)
    result.labels = {pk: (row[0].number, row[0].name) for pk, row in details.items()}
    for ci_id in sorted(wanted, key=lambda pk: (depth_of[pk], pk)):
        if ci_id in details:
            ci, organisations = details[ci_id]
            path, rels = paths[ci_id]
            result.nodes.append(
                ImpactNode(
                    ci=ci,
                    depth=depth_of[ci_id],
                    path=path,
                    relationships=rels,
                    organisations=organisations,
                )
            )
    return result


def _impact_rows(ids: set[int]) -> dict[int, tuple[ImpactCI, list[str]]]:
    """``ImpactCI`` and the organisations using it (services only) for each CI of ``ids``."""
    through = ConfigurationItem.organisations.through
    sql = _IMPACT_ROWS_SQL.format(
        organisations=connection.ops.quote_name(through._meta.db_table),
        organisation=connection.ops.quote_name(
            through._meta.get_field("organisation").related_model._meta.db_table
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(ids)})
        rows = cursor.fetchall()
    classes: dict[int, ImpactClass] = {}
    found = {}
    for (
        pk,
        number,
        name,
        status,
        environment,
        criticality,
        class_id,
        slug,
        class_name,
        is_service,
        icon,
        names,
    ) in rows:
        ci_class = classes.get(class_id)
        if ci_class is None:
            ci_class = classes[class_id] = ImpactClass(class_id, slug, class_name, is_service, icon)
        found[pk] = (ImpactCI(pk, number, name, status, environment, criticality, ci_class), names or [])
    return found
