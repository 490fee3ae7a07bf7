"""Agent pages of incident management: the queue (tabs, filters, keyset pages, saved views, bulk
actions), the create form with its htmx parts (intake script, priority, suggestions), the incident
page with its quick actions, the edit form, the post-incident review, the bridge timeline, and the
caller's confirmation page.

Every write goes through ``incidents.services``; a ``ValidationError`` lands on the form field it
names, a ``ConflictError`` (stale version, transition not allowed) is shown as an error message.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from configuration.models import ConfigurationItem
from incidents import forms as f
from incidents import queries, services, sla
from incidents.choices import OPEN_STATUSES, TRANSITIONS, Status
from incidents.models import Category, Incident, PostIncidentReview, SavedView
from itsm import queries as kernel_queries
from itsm import roles
from itsm import services as kernel
from itsm.exceptions import ConflictError, StaleVersion
from itsm.models import TimelineEntry
from itsm.registry import registry
from itsm.views.generic import RecordDetailView
from itsm.views.mixins import RoleRequiredMixin
from people.models import User

STAFF = roles.STAFF_ROLES


def _apply_errors(form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: on the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.message_dict.items():
        form.add_error(key if key in form.fields else None, errors)


FIELD_LABELS = {
    "symptoms": "Symptoms",
    "business_impact": "Business impact",
    "cis_affected": "CIs affected",
    "actions_completed": "Actions completed",
    "actions_planned": "Actions planned",
}


def _with_field_rows(entries) -> list:
    """Timeline entries with their structured fields labelled for display."""
    entries = list(entries)
    for entry in entries:
        entry.field_rows = [
            (FIELD_LABELS.get(key, key.replace("_", " ").capitalize()), value)
            for key, value in (entry.fields or {}).items()
        ]
    return entries


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


# ------------------------------------------------------------------------------------------ queue

SORTS = {
    "priority": "Priority",
    "number": "Number",
    "status": "Status",
    "resolve_due_at": "Due",
    "created_at": "Opened",
    "updated_at": "Updated",
}
# Time left to the resolution deadline below which the queue shows it in warning colours.
DUE_SOON = datetime.timedelta(hours=2)
DEFAULT_TAB = "open"


class Keyset:
    """Keyset pagination on (sort field, id): every page costs the same at any depth, no COUNT(*).

    The cursor is the last row's (value, id) on the page before, and the direction; an unreadable
    cursor shows the first page."""

    def __init__(self, rows, field: str, descending: bool, size: int):
        self.rows, self.field, self.descending, self.size = rows, field, descending, size

    def _encode(self, direction: str, obj) -> str:
        value = getattr(obj, self.field)
        if isinstance(value, datetime.datetime):
            value = value.isoformat()
        raw = json.dumps([direction, value, obj.pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, token: str):
        try:
            direction, value, pk = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if self.field in ("created_at", "updated_at", "resolve_due_at"):
                value = datetime.datetime.fromisoformat(value)
            elif self.field in ("priority", "id"):
                value = int(value)
            else:
                value = str(value)
            if direction not in ("n", "p"):
                return None
            return direction, value, int(pk)
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            return None

    def page(self, token: str):
        cursor = self._decode(token) if token else None
        forward = cursor is None or cursor[0] == "n"
        # Walking back reads the rows before the cursor in reverse order, then flips them.
        descending = self.descending if forward else not self.descending
        order = (f"-{self.field}", "-pk") if descending else (self.field, "pk")
        rows = self.rows.order_by(*order)
        if cursor is not None:
            compare = TupleLessThan if descending else TupleGreaterThan
            rows = rows.filter(compare(Tuple(F(self.field), F("pk")), (cursor[1], cursor[2])))
        items = list(rows[: self.size + 1])
        more = len(items) > self.size
        items = items[: self.size]
        if not forward:
            items.reverse()
        has_next = more if forward else True
        has_previous = cursor is not None and (more if not forward else True)
        return (
            items,
            self._encode("n", items[-1]) if items and has_next else None,
            self._encode("p", items[0]) if items and has_previous else None,
        )


class Queue(RoleRequiredMixin, TemplateView):
    """The incident queue: tabs, the shared FilterSet, sortable columns, keyset pages, saved views,
    bulk actions. An htmx request from the filter bar gets the table only."""

    template_name = "incidents/queue.html"
    allowed_roles = STAFF
    page_size = 50
    fixed_tab: str | None = None

    def tab(self) -> str:
        if self.fixed_tab:
            return self.fixed_tab
        tab = self.request.GET.get("tab", "")
        return tab if tab in queries.QUEUES else DEFAULT_TAB

    def ordering(self, tab: str) -> tuple[str, bool]:
        requested = self.request.GET.get("ordering", "")
        if requested.lstrip("-") in SORTS:
            return requested.lstrip("-"), requested.startswith("-")
        # Open queues: most urgent first, then the oldest (the partial indexes on open incidents);
        # "all": the newest first, by id (the primary key's index; created_at has none).
        return ("id", True) if tab == "all" else ("priority", False)

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        if request.htmx and request.htmx.target == "queue-results":
            return render(request, "incidents/partials/queue_results.html", context)
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request, user = self.request, self.request.user
        tab = self.tab()
        rows = queries.queue(user, tab)
        filterset = f.QueueFilterSet(request.GET or None, queryset=rows, request=request)
        invalid = filterset.is_bound and not filterset.is_valid()
        if invalid:
            rows = rows.none()
        elif filterset.is_bound:
            rows = filterset.qs
        field, descending = self.ordering(tab)
        if field == "resolve_due_at":
            # Sorting by due time lists the incidents whose resolution clock is running.
            rows = rows.filter(resolve_due_at__isnull=False)
        items, next_cursor, previous_cursor = Keyset(rows, field, descending, self.page_size).page(
            request.GET.get("cursor", "")
        )
        query = request.GET.copy()
        for name in ("cursor", "tab"):
            query.pop(name, None)
        base = request.path
        without_order = query.copy()
        without_order.pop("ordering", None)

        def url(**params):
            q = query.copy()
            for key, value in params.items():
                q[key] = value
            if not self.fixed_tab:
                q["tab"] = tab
            return f"{base}?{q.urlencode()}"

        columns = []
        for key, label in SORTS.items():
            sorted_here = key == field or (key == "number" and field == "id")
            target = f"-{key}" if sorted_here and not descending else key
            columns.append(
                {
                    "key": key,
                    "label": label,
                    "sorted": sorted_here,
                    "descending": descending,
                    "url": url(ordering=target),
                }
            )
        now = timezone.now()
        likely = sla.likely_breaches(items, now)
        for item in items:
            item.due_risk = _due_risk(item, now)
            item.breach_prediction = likely.get(item.pk)
        tab_query = without_order.urlencode()
        context.update(
            title=queries.QUEUES[tab] if self.fixed_tab else "Incidents",
            tab=tab,
            tabs=[
                {
                    "name": name,
                    "label": label,
                    "active": name == tab,
                    "url": reverse("incidents:queue")
                    + f"?tab={name}"
                    + (f"&{tab_query}" if tab_query else ""),
                }
                for name, label in queries.QUEUES.items()
            ],
            fixed_tab=self.fixed_tab,
            filterset=filterset,
            filter_invalid=invalid,
            rows=items,
            columns=columns,
            sort={column["key"]: column for column in columns},
            next_url=url(cursor=next_cursor) if next_cursor else None,
            previous_url=url(cursor=previous_cursor) if previous_cursor else None,
            saved_views=list(SavedView.objects.filter(user=user)),
            current_query=_query_string(request, tab, self.fixed_tab),
            saved_view_form=f.styled(f.SavedViewForm(user=user)),
            bulk_form=f.styled(f.BulkForm(auto_id="bulk_%s")),
            full_path=request.get_full_path(),
        )
        return context


def _due_risk(incident, now) -> str:
    """How the queue colours the resolution deadline: overdue, soon, ok, paused or none."""
    if incident.resolve_due_at is None:
        return "paused" if incident.status == Status.ON_HOLD else "none"
    if incident.resolve_due_at <= now:
        return "overdue"
    return "soon" if incident.resolve_due_at - now <= DUE_SOON else "ok"


def _query_string(request, tab: str, fixed_tab: str | None) -> str:
    query = request.GET.copy()
    query.pop("cursor", None)
    if not fixed_tab:
        query["tab"] = tab
    return query.urlencode()


class MajorQueue(Queue):
    fixed_tab = "major"


class Bulk(RoleRequiredMixin, View):
    """Apply one action to the ticked incidents; each is done or refused on its own."""

    allowed_roles = STAFF

    def post(self, request):
        back = _safe_next(request, reverse("incidents:queue"))
        form = f.BulkForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                messages.error(
                    request, f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
                )
            return HttpResponseRedirect(back)
        ids = form.cleaned_data["ids"]
        chosen = list(Incident.objects.visible_to(request.user).filter(pk__in=ids).order_by("pk"))
        result = services.bulk_apply(
            incidents=chosen, actor=request.user, action=form.cleaned_data["action"], **form.params()
        )
        label = dict(form.ACTIONS)[form.cleaned_data["action"]]
        if result.done:
            messages.success(request, f"{label}: done for {', '.join(result.done)}.")
        for number, reason in result.failed.items():
            messages.error(request, f"{label}: {number} failed: {reason}")
        missing = len(set(ids)) - len(chosen)
        if missing:
            messages.error(request, f"{missing} of the ticked incidents could not be found.")
        return HttpResponseRedirect(back)


class SavedViewCreate(RoleRequiredMixin, View):
    allowed_roles = STAFF

    def post(self, request):
        form = f.SavedViewForm(request.POST, user=request.user)
        if form.is_valid():
            view = SavedView.objects.create(
                user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
            messages.success(request, f"Saved the view '{view.name}'.")
            return HttpResponseRedirect(view.get_absolute_url())
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return HttpResponseRedirect(_safe_next(request, reverse("incidents:queue")))


class SavedViewDelete(RoleRequiredMixin, View):
    allowed_roles = STAFF

    def post(self, request, pk):
        view = get_object_or_404(SavedView, pk=pk, user=request.user)
        view.delete()
        messages.success(request, f"Deleted the view '{view.name}'.")
        return HttpResponseRedirect(_safe_next(request, reverse("incidents:queue")))


# ----------------------------------------------------------------------------------------- create


def _classification(source) -> tuple[Category | None, Category | None]:
    category = f._pick(Category.objects.filter(parent__isnull=True), source.get("category"))
    subcategory = (
        f._pick(Category.objects.filter(parent=category), source.get("subcategory")) if category else None
    )
    return category, subcategory


def _fixes(questions, source) -> list[dict]:
    given = [
        {"question": q.pk, "answer": str(source.get(f"{f.ANSWER_PREFIX}{q.pk}", "")).strip()}
        for q in questions
    ]
    return services.suggested_fixes(questions, [answer for answer in given if answer["answer"]])


class IncidentCreate(RoleRequiredMixin, TemplateView):
    """Log an incident. The category's intake script, the priority, the assignee list and the
    suggestions follow what the agent types (htmx parts, see ``CreatePart``)."""

    template_name = "incidents/create.html"
    allowed_roles = STAFF

    def get(self, request, *args, **kwargs):
        initial = {key: value for key, value in request.GET.items() if key != "cis"}
        category, subcategory = _classification(initial)
        form = f.IncidentForm(initial=initial, questions=services.intake_questions(category, subcategory))
        return self.render_to_response(self.context(form, request.GET))

    def context(self, form, source):
        return self.get_context_data(
            form=f.styled(form, small=False),
            title="Log an incident",
            fixes=_fixes(form.questions, source),
            chosen_cis=_chosen_cis(source.getlist("cis") if hasattr(source, "getlist") else []),
            priority=_priority(
                source.get("impact", form["impact"].value()), source.get("urgency", form["urgency"].value())
            ),
        )

    def post(self, request, *args, **kwargs):
        category, subcategory = _classification(request.POST)
        form = f.IncidentForm(request.POST, questions=services.intake_questions(category, subcategory))
        if form.is_valid():
            try:
                incident = services.incident_create(
                    actor=request.user,
                    fields=form.service_fields(),
                    cis=form.cleaned_data["cis"],
                    answers=form.answers(),
                    is_security=form.cleaned_data["is_security"],
                )
            except ValidationError as error:
                _apply_errors(form, error)
            except (ConflictError, PermissionDenied) as error:
                form.add_error(None, getattr(error, "message", str(error)))
            else:
                messages.success(request, f"Logged {incident.number}.")
                return HttpResponseRedirect(incident.get_absolute_url())
        return self.render_to_response(self.context(form, request.POST), status=400)


def _chosen_cis(raw) -> list[ConfigurationItem]:
    ids = [int(value) for value in raw if str(value).isdigit()]
    if not ids:
        return []
    return list(ConfigurationItem.objects.filter(pk__in=ids).select_related("ci_class").order_by("name"))


def _priority(impact, urgency) -> int | None:
    try:
        return services.priority_for(int(impact), int(urgency))
    except (TypeError, ValueError, ValidationError):
        return None


class CreatePart(RoleRequiredMixin, View):
    """The htmx parts of the create and edit forms, each re-rendered from the form's current values:

    ``classification`` (subcategories of the category, the intake script, a known fix an answer
    leads to), ``assignment`` (assignees of the group), ``priority``, ``suggestions`` (similar open
    incidents, recommended category and group), ``cis`` (add/remove affected CIs) and ``users``
    (a datalist of people)."""

    allowed_roles = STAFF

    def get(self, request, part):
        handler = getattr(self, f"part_{part}", None)
        if handler is None:
            raise Http404("No such part.")
        # Raw query values reach lookups here (no form field to refuse NUL, which PostgreSQL rejects).
        source = QueryDict(mutable=True)
        for key, values in request.GET.lists():
            source.setlist(key, [value.replace("\x00", "") for value in values])
        return handler(request, source)

    def part_classification(self, request, source):
        category, subcategory = _classification(source)
        editing = source.get("for") == "edit"
        questions = [] if editing else services.intake_questions(category, subcategory)
        form = f.IncidentForm(initial=source.dict(), questions=questions)
        return render(
            request,
            "incidents/partials/classification.html",
            {"form": f.styled(form, small=False), "fixes": _fixes(questions, source), "editing": editing},
        )

    def part_assignment(self, request, source):
        form = f.IncidentForm(initial=source.dict())
        return render(request, "incidents/partials/assignment.html", {"form": f.styled(form, small=False)})

    def part_priority(self, request, source):
        return render(
            request,
            "incidents/partials/priority_preview.html",
            {"priority": _priority(source.get("impact"), source.get("urgency"))},
        )

    def part_suggestions(self, request, source):
        text = f"{source.get('short_description', '')} {source.get('description', '')}"
        service = source.get("service", "")
        exclude = source.get("exclude", "")
        category = source.get("category", "")
        found = queries.suggest(
            request.user,
            text[:2000],
            service_id=int(service) if service.isdigit() else None,
            exclude_id=int(exclude) if exclude.isdigit() else None,
            ci_ids=tuple(int(value) for value in source.getlist("cis") if value.isdigit()),
            category_id=int(category) if category.isdigit() else None,
        )
        return render(request, "incidents/partials/suggestions.html", {"suggestions": found})

    def part_cis(self, request, source):
        ids = [int(value) for value in source.getlist("cis") if value.isdigit()]
        error = ""
        remove = source.get("ci_remove", "")
        if remove.isdigit():
            ids = [pk for pk in ids if pk != int(remove)]
        added = source.get("ci_add", "").strip().split(" ", 1)[0]
        if added:
            found = ConfigurationItem.objects.filter(Q(number__iexact=added) | Q(name__iexact=added)).first()
            if found is None:
                error = f"No CI numbered or named '{added}'."
            elif found.pk not in ids:
                ids.append(found.pk)
        return render(
            request, "incidents/partials/ci_chooser.html", {"chosen_cis": _chosen_cis(ids), "ci_error": error}
        )

    def part_caller(self, request, source):
        username = source.get("caller", "").strip().split(" ", 1)[0]
        caller = (
            User.objects.visible_to(request.user)
            .select_related("organisation", "location")
            .filter(username=username, is_active=True)
            .first()
            if username
            else None
        )
        return render(
            request, "incidents/partials/caller_card.html", {"caller": caller, "username": username}
        )

    def part_users(self, request, source):
        text = next((value for value in source.values() if value.strip()), "").strip().split(" ", 1)[0]
        people = []
        if text:
            people = list(
                User.objects.visible_to(request.user)
                .filter(is_active=True)
                .filter(
                    Q(username__istartswith=text)
                    | Q(first_name__istartswith=text)
                    | Q(last_name__istartswith=text)
                )
                .order_by("username")[:15]
            )
        return render(request, "incidents/partials/user_options.html", {"people": people})


# ----------------------------------------------------------------------------------------- detail

ACTION_FORMS = {
    "start": f.VersionedForm,
    "hold": f.HoldForm,
    "resolve": f.ResolveForm,
    "reopen": f.ReasonForm,
    "close": f.VersionedForm,
    "cancel": f.ReasonForm,
    "assign": f.AssignForm,
    "escalate": f.EscalateForm,
    "declare_major": f.DeclareMajorForm,
    "flag_security": f.SecurityForm,
    "unflag_security": f.SecurityForm,
    "set_parent": f.ParentForm,
    "merge": f.MergeForm,
    "update": f.UpdateForm,
    "swarm_add": f.SwarmForm,
}


def _find_incident(user, number: str, field: str) -> Incident:
    found = Incident.objects.visible_to(user).filter(number__iexact=number).first()
    if found is None:
        raise ValidationError({field: f"No incident numbered '{number}' that you may see."})
    return found


class IncidentDetail(RecordDetailView):
    """An incident: header and fields, quick actions allowed from its status, the update form and
    timeline, links, assignment hops, swarm and stakeholder updates of a major incident, history,
    attachments. Each action posts ``action=<name>`` here and calls its service."""

    model = Incident
    template_name = "incidents/detail.html"
    allowed_roles = STAFF

    def base_queryset(self):
        return queries.incident_detail(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident, user = context["record"], self.request.user
        allowed = TRANSITIONS[incident.status]
        is_open = incident.status in OPEN_STATUSES
        bound = kwargs.get("action_form")
        open_action = kwargs.get("open_action", "")
        forms = {}
        for name, form_class in ACTION_FORMS.items():
            if name == open_action and bound is not None:
                forms[name] = bound
            else:
                initial = {"version": incident.version}
                if name == "assign":
                    initial.update(group=incident.assignment_group_id, assignee=incident.assignee_id)
                forms[name] = form_class(initial=initial, auto_id=f"{name}_%s")
            f.styled(forms[name])
        targets = list(registry.link_targets)
        link_form = kwargs.get("link_form") or f.LinkForm(targets=targets, auto_id="link_add_%s")
        now = timezone.now()
        cadence = incident.update_cadence_minutes or services.DEFAULT_UPDATE_CADENCE_MINUTES
        last_update = max(
            filter(None, (incident.last_public_update_at, incident.major_declared_at)), default=None
        )
        next_update = last_update + datetime.timedelta(minutes=cadence) if last_update else None
        try:
            review = incident.review
        except PostIncidentReview.DoesNotExist:
            review = None
        context.update(
            incident=incident,
            title=incident.number,
            is_open=is_open,
            can={
                "start": Status.IN_PROGRESS in allowed and incident.status != Status.RESOLVED,
                "hold": Status.ON_HOLD in allowed,
                "resolve": Status.RESOLVED in allowed,
                "reopen": incident.status == Status.RESOLVED,
                "close": Status.CLOSED in allowed,
                "cancel": Status.CANCELLED in allowed,
                "assign": is_open,
                "escalate": is_open,
                "declare_major": is_open
                and not incident.is_major
                and roles.has_role(user, *services.MAJOR_INCIDENT_ROLES),
                "flag_security": not incident.is_security,
                "unflag_security": incident.is_security and roles.has_role(user, roles.SECURITY),
                "set_parent": is_open,
                "merge": is_open,
                "edit": incident.status not in (Status.CLOSED, Status.CANCELLED),
                "review": incident.is_major and incident.status in (Status.RESOLVED, Status.CLOSED),
            },
            forms=forms,
            open_action=open_action,
            children=list(queries.children_of(incident, user)),
            duplicates=list(
                Incident.objects.visible_to(user)
                .filter(duplicate_of=incident)
                .only("id", "number", "short_description", "status")
            ),
            links=kernel_queries.links_for(incident, user),
            link_form=f.styled(link_form),
            hops=list(queries.hops_for(incident)),
            swarm=list(incident.swarm.all()),
            stakeholder={
                "last": incident.last_public_update_at,
                "cadence": cadence,
                "next": next_update,
                "overdue": bool(incident.is_major and is_open and next_update and now > next_update),
            },
            review=review,
            panel_html=[(item["panel"].title, item["html"]) for item in context["panels"]],
            timeline=_with_field_rows(context["timeline"]),
            update_form=kwargs.get("update_form") or f.styled(f.UpdateForm(auto_id="update_%s")),
            status_choices=Status,
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action == "attach":
            return super().post(request, *args, **kwargs)
        incident = self.get_object()
        if action == "timeline":  # the kernel's plain form: through the incident's service too
            action = "update"
        if action in ("swarm_remove", "link_remove"):
            return self._simple(request, incident, action)
        if action == "link_add":
            form = f.LinkForm(request.POST, targets=list(registry.link_targets), auto_id="link_add_%s")
        elif action in ACTION_FORMS:
            # Several forms on one page: ids carry the action (``hold_reason`` vs ``cancel_reason``).
            form = ACTION_FORMS[action](request.POST, auto_id=f"{action}_%s")
        else:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(request.path)
        status = 400
        if form.is_valid():
            try:
                message, target = getattr(self, f"do_{action}")(incident, form.cleaned_data)
            except ValidationError as error:
                _apply_errors(form, error)
            except StaleVersion as error:
                messages.error(request, error.message)
                form.add_error(
                    None, "Someone else changed this incident first: check the page, then try again."
                )
                status = 409
            except ConflictError as error:
                messages.error(request, error.message)
                status = 409
            except PermissionDenied as error:
                messages.error(request, str(error))
                status = 403
            else:
                messages.success(request, message)
                return HttpResponseRedirect(target or request.path)
        context = self.get_context_data(
            record=self.get_object(),
            action_form=form,
            open_action=action,
            **({"update_form": f.styled(form)} if action == "update" else {}),
            **({"link_form": form} if action == "link_add" else {}),
        )
        return self.render_to_response(context, status=status)

    # Each ``do_<action>`` returns (message, where to go next or None for this page).

    def do_start(self, incident, data):
        services.incident_start(incident=incident, actor=self.request.user, expected_version=data["version"])
        return f"{incident.number} is in progress.", None

    def do_hold(self, incident, data):
        services.incident_hold(
            incident=incident,
            actor=self.request.user,
            hold_reason=data["hold_reason"],
            reason=data["reason"],
            expected_version=data["version"],
        )
        return f"{incident.number} is on hold.", None

    def do_resolve(self, incident, data):
        services.incident_resolve(
            incident=incident,
            actor=self.request.user,
            resolution_code=data["resolution_code"],
            resolution_notes=data["resolution_notes"],
            expected_version=data["version"],
        )
        return f"{incident.number} is resolved; the caller is asked to confirm.", None

    def do_reopen(self, incident, data):
        services.incident_reopen(
            incident=incident,
            actor=self.request.user,
            reason=data["reason"],
            expected_version=data["version"],
        )
        return f"{incident.number} is reopened.", None

    def do_close(self, incident, data):
        services.incident_close(incident=incident, actor=self.request.user, expected_version=data["version"])
        return f"{incident.number} is closed.", None

    def do_cancel(self, incident, data):
        services.incident_cancel(
            incident=incident,
            actor=self.request.user,
            reason=data["reason"],
            expected_version=data["version"],
        )
        return f"{incident.number} is cancelled.", None

    def do_assign(self, incident, data):
        services.incident_assign(
            incident=incident,
            actor=self.request.user,
            group=data["group"],
            assignee=data["assignee"],
            reason=data["reason"],
            expected_version=data["version"],
        )
        return f"{incident.number} assigned.", None

    def do_escalate(self, incident, data):
        services.incident_escalate(
            incident=incident,
            actor=self.request.user,
            kind=data["kind"],
            reason=data["reason"],
            group=data["group"],
            supplier=data["supplier"],
            supplier_reference=data["supplier_reference"],
            expected_version=data["version"],
        )
        return f"{incident.number} escalated.", None

    def do_declare_major(self, incident, data):
        services.incident_declare_major(
            incident=incident,
            actor=self.request.user,
            reason=data["reason"],
            incident_manager=data["incident_manager"],
            update_cadence_minutes=data["update_cadence_minutes"],
            expected_version=data["version"],
        )
        return f"{incident.number} is a major incident.", None

    def do_flag_security(self, incident, data):
        services.incident_flag_security(incident=incident, actor=self.request.user, reason=data["reason"])
        if not Incident.objects.visible_to(self.request.user).filter(pk=incident.pk).exists():
            return (
                f"{incident.number} is a security incident: only the security team sees it now.",
                reverse("incidents:queue"),
            )
        return f"{incident.number} is flagged as a security incident.", None

    def do_unflag_security(self, incident, data):
        services.incident_flag_security(
            incident=incident, actor=self.request.user, reason=data["reason"], flagged=False
        )
        return f"{incident.number} is no longer a security incident.", None

    def do_set_parent(self, incident, data):
        number = data["parent"]
        parent = _find_incident(self.request.user, number, "parent") if number else None
        services.incident_set_parent(incident=incident, actor=self.request.user, parent=parent)
        return (f"{incident.number} is a child of {parent.number}." if parent else "Parent removed."), None

    def do_merge(self, incident, data):
        survivor = _find_incident(self.request.user, data["survivor"], "survivor")
        services.incident_merge(
            duplicate=incident, survivor=survivor, actor=self.request.user, reason=data["reason"]
        )
        return f"{incident.number} merged into {survivor.number}.", survivor.get_absolute_url()

    def do_update(self, incident, data):
        form = f.UpdateForm(data={})
        form.cleaned_data = data
        public = data["kind"] == TimelineEntry.Kind.COMMENT
        services.incident_comment(
            incident=incident,
            actor=self.request.user,
            body=data["body"],
            public=public,
            fields=form.structured(),
            involved=data["involved"],
        )
        return ("Public comment added." if public else "Work note added."), reverse(
            "incidents:detail", args=[incident.pk]
        ) + "#update"

    def do_swarm_add(self, incident, data):
        member = services.swarm_add(
            incident=incident,
            actor=self.request.user,
            user=data["user"],
            role=data["role"],
            group=data["group"],
        )
        return f"{member.user} joined the swarm as {member.role}.", None

    def do_link_add(self, incident, data):
        form_targets = {target.model._meta.label_lower: target for target in registry.link_targets}
        target = form_targets.get(data["target_type"])
        found = (
            [obj for obj in target.find(self.request.user, data["target"]) if obj != incident]
            if target
            else []
        )
        if not found:
            raise ValidationError({"target": f"Nothing found for '{data['target']}'."})
        if data["kind"] not in target.kinds:
            raise ValidationError(
                {"kind": f"A {target.label.lower()} is linked as: {', '.join(target.kinds)}."}
            )
        kernel.link_add(
            source=incident, target=found[0], actor=self.request.user, kind=data["kind"], note=data["note"]
        )
        return f"Linked to {getattr(found[0], 'record_label', found[0])}.", None

    def _simple(self, request, incident, action):
        raw = request.POST.get("id", "")
        try:
            if action == "swarm_remove":
                user = get_object_or_404(User, pk=int(raw) if raw.isdigit() else 0)
                services.swarm_remove(
                    incident=incident, actor=request.user, user=user, reason=request.POST.get("reason", "")
                )
                messages.success(request, f"{user} left the swarm.")
            else:
                links = {
                    row["link"].pk: row["link"] for row in kernel_queries.links_for(incident, request.user)
                }
                link = links.get(int(raw) if raw.isdigit() else 0)
                if link is None:
                    raise Http404("No such link.")
                kernel.link_remove(link=link, actor=request.user)
                messages.success(request, "Link removed.")
        except ConflictError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(request.path)


class IncidentEdit(RoleRequiredMixin, TemplateView):
    """Edit an incident's own fields (``services.incident_update``) with version-based locking."""

    template_name = "incidents/edit.html"
    allowed_roles = STAFF

    def get_object(self):
        return get_object_or_404(queries.incident_detail(self.request.user), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        incident = self.get_object()
        return self.render_to_response(self.context(incident, f.IncidentEditForm(instance=incident)))

    def context(self, incident, form):
        source = form.data if form.is_bound else {"cis": form.initial.get("cis", [])}
        chosen = source.getlist("cis") if hasattr(source, "getlist") else source.get("cis", [])
        return self.get_context_data(
            incident=incident,
            form=f.styled(form, small=False),
            title=f"Edit {incident.number}",
            chosen_cis=_chosen_cis(chosen),
            priority=_priority(form["impact"].value(), form["urgency"].value()),
        )

    def post(self, request, *args, **kwargs):
        incident = self.get_object()
        form = f.IncidentEditForm(request.POST, instance=incident)
        if form.is_valid():
            try:
                services.incident_update(
                    incident=incident,
                    actor=request.user,
                    changes=form.changes(),
                    expected_version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            except StaleVersion:
                form.add_error(
                    None,
                    "Someone else saved this incident while you were editing it. Open it again to see "
                    "their change, then apply yours.",
                )
            except ConflictError as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Saved {incident.number}.")
                return HttpResponseRedirect(incident.get_absolute_url())
        return self.render_to_response(self.context(incident, form), status=400)


class ReviewView(RoleRequiredMixin, TemplateView):
    """The post-incident review of a resolved major incident (``services.review_save``)."""

    template_name = "incidents/review.html"
    allowed_roles = STAFF

    def get_object(self):
        return get_object_or_404(queries.incident_detail(self.request.user), pk=self.kwargs["pk"])

    def context(self, incident, form):
        ready = incident.is_major and incident.status in (Status.RESOLVED, Status.CLOSED)
        return self.get_context_data(
            incident=incident,
            form=f.styled(form, small=False),
            ready=ready,
            title=f"Review of {incident.number}",
        )

    def get(self, request, *args, **kwargs):
        incident = self.get_object()
        review = PostIncidentReview.objects.filter(incident=incident).first()
        initial = {}
        if review is not None:
            initial = {name: getattr(review, name) for name in f.ReviewForm.base_fields if name != "complete"}
            initial["complete"] = review.completed_at is not None
        return self.render_to_response(self.context(incident, f.ReviewForm(initial=initial)))

    def post(self, request, *args, **kwargs):
        incident = self.get_object()
        form = f.ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_save(incident=incident, actor=request.user, data=dict(form.cleaned_data))
            except ConflictError as error:
                form.add_error(None, error.message)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, "Review saved.")
                return HttpResponseRedirect(incident.get_absolute_url())
        return self.render_to_response(self.context(incident, form), status=400)


class MajorTimeline(RoleRequiredMixin, TemplateView):
    """The timeline alone, large, for the bridge call's shared screen (refreshes every 30 s)."""

    template_name = "incidents/major_timeline.html"
    allowed_roles = STAFF

    def get(self, request, *args, **kwargs):
        incident = get_object_or_404(queries.incident_detail(request.user), pk=kwargs["pk"])
        context = self.get_context_data(
            incident=incident,
            title=f"{incident.number} timeline",
            timeline=_with_field_rows(kernel_queries.timeline_for(incident, request.user)[:300]),
            swarm=list(incident.swarm.all()),
        )
        if request.htmx:
            return render(request, "incidents/partials/major_entries.html", context)
        return self.render_to_response(context)


# ------------------------------------------------------------------------------------------ caller


class Confirm(LoginRequiredMixin, TemplateView):
    """The caller's page for a resolved incident: confirm the resolution or say it is still broken.
    Only the caller reaches it (anyone else gets 404, as for any record they may not see)."""

    template_name = "incidents/confirm.html"

    def get_object(self):
        return get_object_or_404(
            Incident.objects.visible_to(self.request.user).filter(caller=self.request.user),
            pk=self.kwargs["pk"],
        )

    def context(self, incident, form):
        updates = kernel_queries.timeline_for(incident, self.request.user).filter(
            visibility=TimelineEntry.Visibility.PUBLIC
        )
        return self.get_context_data(
            incident=incident,
            title=f"{incident.number}: {incident.short_description}",
            updates=updates[:50],
            reject_form=f.styled(form, small=False),
            can_answer=incident.status == Status.RESOLVED,
        )

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.context(self.get_object(), f.RejectForm()))

    def post(self, request, *args, **kwargs):
        incident = self.get_object()
        form = f.RejectForm(request.POST if request.POST.get("action") == "reject" else None)
        try:
            if request.POST.get("action") == "confirm":
                services.incident_confirm(incident=incident, actor=request.user)
                messages.success(request, "Thank you: the incident is closed.")
                return HttpResponseRedirect(request.path)
            if request.POST.get("action") == "reject" and form.is_valid():
                services.incident_reject_resolution(
                    incident=incident, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(
                    request, "Thank you: the incident is reopened and the team will look at it again."
                )
                return HttpResponseRedirect(request.path)
        except ValidationError as error:
            _apply_errors(form, error)
        except (ConflictError, PermissionDenied) as error:
            messages.error(request, getattr(error, "message", str(error)))
        return self.render_to_response(self.context(self.get_object(), form), status=400)
