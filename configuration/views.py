"""Agent pages of the CMDB: CI and service lists, the CI page (relationships, impact, verify), the CI
form, the service map, the import upload and the audit.

Every write goes through ``configuration.services`` (or ``configuration.imports``); sensitive
attributes reach a page only through ``schema.visible_attributes``.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views import View
from django.views.generic import TemplateView

from configuration import audit, imports, queries, services
from configuration import forms as ci_forms
from configuration import schema as schemas
from configuration.models import CIClass, ConfigurationItem, Relationship, RelationshipType
from configuration.service_map import MAP_DEFAULT_DEPTH, MAP_MAX_DEPTH, service_map
from itsm import roles
from itsm.exceptions import ConflictError
from itsm.forms import style_form
from itsm.views.generic import Column, RecordDetailView, RecordFormView, RecordListView
from itsm.views.mixins import RoleRequiredMixin

# Everyone who works tickets keeps the CMDB true (PRODUCT.md: agents "keep the CMDB ... true").
STAFF = roles.STAFF_ROLES

IMPACT_DEPTH = queries.DEFAULT_IMPACT_DEPTH
IMPACT_ROWS_SHOWN = 200
# Edges walked at most for the CI page: a core switch can reach most of the estate, and the page
# shows services only, so a hub stops early and says so rather than loading every CI it reaches.
IMPACT_WALK_LIMIT = 5000


def _status_badge(ci) -> str:
    return format_html('<span class="badge-status status-{}">{}</span>', ci.status, ci.get_status_display())


def _identifiers_text(ci) -> str:
    return ", ".join(f"{i.scheme}={i.value}" for i in ci.identifiers.all())


def _verified_text(ci) -> str:
    if not ci.last_verified_at:
        return "Never"
    verifier = ci.last_verified_by
    by = (verifier.get_full_name() or verifier.username) if verifier else "someone"
    return f"{timezone.localtime(ci.last_verified_at):%Y-%m-%d %H:%M} by {by}"


# ------------------------------------------------------------------------------------------ lists

LIST_COLUMNS = [
    Column("Number", "number", "number", link=True),
    Column("Name", "name", "name"),
    Column("Class", "ci_class.name"),
    Column("Status", _status_badge, "status"),
    Column("Environment", lambda ci: ci.get_environment_display(), "environment"),
    Column("Criticality", lambda ci: ci.get_criticality_display(), "criticality"),
    Column("Owner group", "owner_group.name"),
    Column("Identifiers", _identifiers_text),
    Column(
        "Last verified",
        lambda ci: timezone.localdate(ci.last_verified_at) if ci.last_verified_at else "Never",
    ),
]


class CIList(RecordListView):
    """Every CI, filtered by class (with subclasses), status, attributes (``key=value; ...``) etc."""

    model = ConfigurationItem
    template_name = "configuration/ci_list.html"
    filterset_class = ci_forms.CIPageFilterSet
    title = "Configuration items"
    default_ordering = "name"
    create_url_name = "configuration:ci-create"
    create_roles = STAFF
    columns = LIST_COLUMNS

    def base_queryset(self):
        return queries.cis()


class ServiceList(CIList):
    """CIs of service classes, with the organisations that use them."""

    filterset_class = ci_forms.ServicePageFilterSet
    title = "Services"
    columns = [
        *LIST_COLUMNS[:7],
        Column("Used by", lambda ci: ", ".join(o.name for o in ci.organisations.all())),
    ]

    def base_queryset(self):
        return queries.cis().filter(ci_class__is_service=True).prefetch_related("organisations")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["create_query"] = "?ci_class=business-service"
        return context


# ----------------------------------------------------------------------------------------- detail


def _attribute_rows(ci, schema: dict, user) -> list[dict]:
    visible = schemas.visible_attributes(ci.attributes or {}, schema, user)
    rows = []
    for key, attribute in schema.items():
        if key in visible:
            rows.append(
                {
                    "key": key,
                    "label": attribute.label,
                    "value": visible[key],
                    "type": attribute.type,
                    "sensitive": attribute.sensitive,
                }
            )
    for key in sorted(set(visible) - set(schema)):  # kept from an earlier class
        rows.append({"key": key, "label": key, "value": visible[key], "type": "string", "sensitive": False})
    return rows


def _relationship_groups(ci) -> list[dict]:
    groups: dict[int, dict] = {}
    for relationship in queries.relationships_of(ci):
        group = groups.setdefault(
            relationship.type_id, {"type": relationship.type, "outgoing": [], "incoming": []}
        )
        if relationship.source_id == ci.pk:
            group["outgoing"].append({"relationship": relationship, "other": relationship.target})
        else:
            group["incoming"].append({"relationship": relationship, "other": relationship.source})
    return list(groups.values())


def _impact_rows(result, start, *, services_only: bool) -> list[dict]:
    names = {pk: name for pk, (_number, name) in result.labels.items()}
    names[start.pk] = start.name
    nodes = result.services if services_only else result.nodes
    return [
        {
            "node": node,
            "ci": node.ci,
            "depth": node.depth,
            "path": [names.get(pk, "?") for pk in node.path],
            "organisations": node.organisations,
        }
        for node in nodes[:IMPACT_ROWS_SHOWN]
    ]


class CIDetail(RecordDetailView):
    """A CI: fields, attributes, identifiers, relationships, impact, verification, timeline, history.

    POST ``action=verify`` stamps the verification; ``relate`` / ``unrelate`` add or remove a
    relationship; other actions (timeline, attach) are the record kernel's.
    """

    model = ConfigurationItem
    template_name = "configuration/ci_detail.html"
    edit_url_name = "configuration:ci-edit"
    edit_roles = STAFF
    fields = [
        Column("Number", "number"),
        Column("Class", "ci_class.name"),
        Column("Status", _status_badge),
        Column("Environment", lambda ci: ci.get_environment_display()),
        Column("Criticality", lambda ci: ci.get_criticality_display()),
        Column("Owner group", "owner_group"),
        Column("Location", "location"),
        Column("Used by", lambda ci: ", ".join(o.name for o in ci.organisations.all())),
        Column("Source", "source"),
        Column("Last seen by its feed", "last_seen_at"),
        Column("Description", "description"),
    ]

    def base_queryset(self):
        return queries.ci_detail()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ci = context["record"]
        user = self.request.user
        all_schemas = schemas.all_schemas()
        schema = all_schemas.get(ci.ci_class_id, {})
        impacts = queries.impact_analysis(
            ci, direction="impacts", max_depth=IMPACT_DEPTH, limit=IMPACT_WALK_LIMIT
        )
        context.update(
            ci=ci,
            attribute_rows=_attribute_rows(ci, schema, user),
            identifiers=list(ci.identifiers.all()),
            relationship_groups=_relationship_groups(ci),
            relationship_form=style_form(
                kwargs.get("relationship_form") or ci_forms.RelationshipForm(ci=ci), small=True
            ),
            affected_services=_impact_rows(impacts, ci, services_only=True),
            affected_truncated=impacts.truncated or len(impacts.services) > IMPACT_ROWS_SHOWN,
            verified_text=_verified_text(ci),
            impact_depth=IMPACT_DEPTH,
        )
        if ci.ci_class.is_service:
            needs = queries.impact_analysis(
                ci, direction="depends_on", max_depth=IMPACT_DEPTH, limit=IMPACT_WALK_LIMIT
            )
            context["dependencies"] = _impact_rows(needs, ci, services_only=False)
            context["dependencies_truncated"] = needs.truncated or len(needs.nodes) > IMPACT_ROWS_SHOWN
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action not in {"verify", "relate", "unrelate"}:
            return super().post(request, *args, **kwargs)
        ci = self.get_object()
        if action == "verify":
            services.ci_verify(actor=request.user, ci=ci)
            messages.success(request, f"{ci.number} verified.")
            return HttpResponseRedirect(request.path + "#verification")
        if action == "unrelate":
            relationship = get_object_or_404(
                Relationship.objects.filter(Q(source=ci) | Q(target=ci)).select_related(
                    "source", "target", "type"
                ),
                pk=int(raw) if (raw := request.POST.get("relationship", "")).isdigit() else 0,
            )
            text = str(relationship)
            services.relationship_delete(actor=request.user, relationship=relationship)
            messages.success(request, f"Removed: {text}.")
            return HttpResponseRedirect(request.path + "#relationships")
        form = ci_forms.RelationshipForm(request.POST, ci=ci)
        if form.is_valid():
            other = form.cleaned_data["target"]
            outgoing = form.cleaned_data["direction"] == form.OUTGOING
            try:
                relationship = services.relationship_create(
                    actor=request.user,
                    source=ci if outgoing else other,
                    target=other if outgoing else ci,
                    type=form.cleaned_data["type"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as error:
                for key, errors in error.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                messages.success(request, f"Added: {relationship}.")
                return HttpResponseRedirect(request.path + "#relationships")
        return self.render_to_response(self.get_context_data(record=ci, relationship_form=form))


class CIPicker(RoleRequiredMixin, View):
    """``<option>``s for the relationship target's datalist: CIs by number prefix or name."""

    def get(self, request):
        exclude = request.GET.get("exclude", "")
        matches = ci_forms.picker_matches(
            request.GET.get("target", request.GET.get("q", ""))[:200],
            exclude_pk=int(exclude) if exclude.isdigit() else None,
        )
        return render(request, "configuration/partials/ci_options.html", {"matches": matches})


# ------------------------------------------------------------------------------------------- form


class CIFormView(RecordFormView):
    """Create or edit a CI. The class comes first: its schema decides the attribute fields."""

    model = ConfigurationItem
    template_name = "configuration/ci_form.html"
    allowed_roles = STAFF

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(queries.ci_detail().visible_to(self.request.user), pk=self.kwargs["pk"])

    def _class(self, record, source) -> CIClass | None:
        raw = str(source.get("ci_class", "") or "")
        if raw.isdigit():
            found = CIClass.objects.filter(pk=int(raw), is_active=True).first()
            if found is not None:
                return found
        elif raw:  # a slug, e.g. a "New service" link
            found = CIClass.objects.filter(slug=raw, is_active=True).first()
            if found is not None:
                return found
        return record.ci_class if record is not None else None

    def get_form(self, record, data=None):
        source = data if data is not None else self.request.GET
        ci_class = self._class(record, source)
        schema = schemas.all_schemas().get(ci_class.pk, {}) if ci_class else {}
        initial = ci_forms.CIForm.initial_for(record) if record is not None else {}
        if data is None:
            # Values typed before the class changed (the htmx refresh sends them along).
            initial.update(
                {
                    key: value
                    for key, value in self.request.GET.items()
                    if key.startswith((ci_forms.ATTRIBUTE_PREFIX, ci_forms.IDENTIFIER_PREFIX))
                    or key == ci_forms.OTHER_IDENTIFIERS
                }
            )
            if ci_class is not None:
                initial["ci_class"] = ci_class.pk
        # Styled once, when rendered (RecordFormView.render_to_response, or the htmx partial below).
        return ci_forms.CIForm(
            data=data,
            user=self.request.user,
            ci_class=ci_class,
            schema=schema,
            instance=record,
            initial=initial,
            refresh_url=self.request.path,
        )

    def get(self, request, *args, **kwargs):
        record = self.get_object()
        form = self.get_form(record)
        if request.htmx and request.GET.get("ci_class") is not None:
            return render(request, "configuration/partials/ci_class_fields.html", {"form": style_form(form)})
        return self.render_to_response(self.context(record, form))

    def context(self, record, form):
        context = super().context(record, form)
        context["title"] = f"Edit {record.record_label}" if record else "New configuration item"
        return context

    def save(self, record, form):
        fields = form.field_values()
        if record is None:
            return services.ci_create(
                actor=self.request.user,
                ci_class=form.cleaned_data["ci_class"],
                name=fields.pop("name"),
                attributes=form.attribute_values(),
                identifiers=form.identifier_values(),
                organisations=form.cleaned_data["organisations"],
                **fields,
            )
        changes = {
            **fields,
            "ci_class": form.cleaned_data["ci_class"],
            "attributes": form.attribute_values(),
            "organisations": list(form.cleaned_data["organisations"]),
        }
        return services.ci_update(
            actor=self.request.user,
            ci=record,
            changes=changes,
            identifiers=form.identifier_values(),
            expected_version=form.cleaned_data.get("version"),
        )

    def post(self, request, *args, **kwargs):
        record = self.get_object()
        form = self.get_form(record, data=request.POST)
        if form.is_valid():
            try:
                saved = self.save(record, form)
            except ConflictError as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                for key, errors in error.message_dict.items():
                    form.add_error(form.error_field(key), errors)
            else:
                messages.success(request, format_html("Saved {}.", saved.record_label))
                return HttpResponseRedirect(saved.get_absolute_url())
        return self.render_to_response(self.context(record, form))


# -------------------------------------------------------------------------------------------- map


def _map_depth(request) -> int:
    raw = request.GET.get("depth", "")
    return max(1, min(int(raw), MAP_MAX_DEPTH)) if raw.isdigit() else MAP_DEFAULT_DEPTH


class _MapMixin(RoleRequiredMixin):
    def get_ci(self):
        return get_object_or_404(queries.cis().visible_to(self.request.user), pk=self.kwargs["pk"])


class CIMap(_MapMixin, TemplateView):
    """The interactive service map (Cytoscape.js) with the same graph as a plain table below it."""

    template_name = "configuration/ci_map.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ci = self.get_ci()
        depth = _map_depth(self.request)
        graph = service_map(ci, depth=depth)
        by_id = {node["id"]: node for node in graph["nodes"]}
        legend = {}
        for node in graph["nodes"]:
            legend.setdefault(
                node["class_slug"],
                {
                    "class": node["class"],
                    "shape": node["shape"],
                    "colour": node["colour"],
                    "is_service": node["is_service"],
                },
            )
        context.update(
            ci=ci,
            title=f"Service map: {ci.record_label}",
            graph=graph,
            edge_rows=[
                {"edge": e, "source": by_id[e["source"]], "target": by_id[e["target"]]}
                for e in graph["edges"]
            ],
            legend=sorted(legend.values(), key=lambda entry: (not entry["is_service"], entry["class"])),
            depth=depth,
            depth_choices=range(1, MAP_MAX_DEPTH + 1),
            data_url=reverse("configuration:ci-map-data", args=[ci.pk]) + f"?depth={depth}",
        )
        return context


class CIMapData(_MapMixin, View):
    """The map's nodes and edges as JSON (``?depth=1..6``)."""

    def get(self, request, pk):
        return JsonResponse(service_map(self.get_ci(), depth=_map_depth(request)))


# ----------------------------------------------------------------------------------------- import


class ImportView(RoleRequiredMixin, TemplateView):
    """Upload a discovery or infrastructure-as-code feed (CSV or JSON) and show what each row did."""

    template_name = "configuration/import.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", style_form(ci_forms.ImportForm()))
        context["title"] = "Import configuration items"
        context["relationship_types"] = RelationshipType.objects.order_by("slug")
        context["classes"] = CIClass.objects.filter(is_active=True).order_by("slug")
        return context

    def post(self, request):
        form = ci_forms.ImportForm(request.POST, request.FILES)
        report = None
        if form.is_valid():
            payload, kind = form.cleaned_data["payload"], form.cleaned_data["format"]
            try:
                items = imports.parse_json(payload) if kind == "json" else imports.parse_csv(payload)
                report = imports.import_items(
                    actor=request.user,
                    source=form.cleaned_data["source"],
                    items=items,
                    mode=form.cleaned_data["mode"],
                ).as_dict()
            except ValidationError as error:
                for key, errors in error.message_dict.items():
                    target = "file" if key == "file" and form.cleaned_data.get("file") else None
                    if key in {"source", "mode"}:
                        target = key
                    form.add_error(target, errors)
        status = 200 if report is not None or not form.errors else 400
        return self.render_to_response(
            self.get_context_data(form=style_form(form), report=report), status=status
        )


# ------------------------------------------------------------------------------------------ audit


def _parse_times(row: dict, *names: str) -> dict:
    row = dict(row)
    for name in names:
        if row.get(name):
            row[name] = datetime.datetime.fromisoformat(row[name])
    return row


class AuditView(RoleRequiredMixin, TemplateView):
    """CIs their feed stopped reporting, records never or long ago verified, undocumented items."""

    template_name = "configuration/audit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = style_form(ci_forms.AuditForm(self.request.GET or None), small=True)
        thresholds = {"not_seen_days": 7, "verify_days": 90}
        if form.is_bound and form.is_valid():
            thresholds = {key: form.cleaned_data[key] or thresholds[key] for key in thresholds}
        report = audit.audit_report(**thresholds)
        times = ("last_seen_at", "last_verified_at", "first_seen_at")
        sections = [
            (
                "not-seen",
                f"Not seen by their feed for {report['not_seen_days']} days",
                "not_seen",
                "Imported CIs whose feed has not reported them since (retired CIs are left out).",
            ),
            (
                "never-verified",
                "Never verified",
                "never_verified",
                "Nobody has checked these records against reality.",
            ),
            (
                "verification-overdue",
                f"Verified more than {report['verify_days']} days ago",
                "verification_overdue",
                "Time to check them again.",
            ),
        ]
        context.update(
            title="CMDB audit",
            form=form,
            report=report,
            sections=[
                {
                    "id": anchor,
                    "title": heading,
                    "help": help_text,
                    "count": report["counts"][key],
                    "rows": [_parse_times(row, *times) for row in report[key]],
                }
                for anchor, heading, key, help_text in sections
            ],
            undocumented=[_parse_times(row, *times) for row in report["undocumented"]],
            undocumented_count=report["counts"]["undocumented"],
        )
        return context
