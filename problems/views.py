"""Agent pages of problem management: problems (list by risk, create, edit, the record with its
actions), the known error database (search, record, apply, fixes, re-assessment), the candidate queue,
trends, the improvement register, and the panel on an incident's page.

Every write goes through ``problems.services`` / ``problems.detection``; a ``ValidationError`` lands
on the form field it names, a ``ConflictError`` (stale version, transition not allowed) is shown as
an error message with a 409.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from incidents.models import Incident
from itsm import queries as kernel_queries
from itsm import roles
from itsm.exceptions import ConflictError
from itsm.views.generic import Column, RecordDetailView, RecordListView
from itsm.views.mixins import RoleRequiredMixin
from problems import detection, queries, services, trends
from problems import forms as f
from problems.choices import (
    KE_OPEN_STATUSES,
    KE_TRANSITIONS,
    OPEN_STATUSES,
    TRANSITIONS,
    CandidateStatus,
    Status,
)
from problems.filters import ImprovementFilterSet, KnownErrorFilterSet, ProblemFilterSet
from problems.models import Improvement, KnownError, Problem, ProblemCandidate, Workaround, WorkaroundUse

STAFF = roles.STAFF_ROLES


def _apply_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.message_dict.items():
        form.add_error(key if key in form.fields else None, errors)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _find_incidents(user, numbers: list[str], field: str) -> list[Incident]:
    found = {i.number: i for i in Incident.objects.visible_to(user).filter(number__in=numbers)}
    missing = [number for number in numbers if number not in found]
    if missing:
        raise ValidationError({field: f"No incident numbered {', '.join(missing)} that you may see."})
    return list(found.values())


class ActionsMixin:
    """``post`` with ``action=<name>``: the form ``ACTION_FORMS[name]`` validated, then ``do_<name>``,
    which returns (message, where to go or None). Errors re-render the page with the form open."""

    ACTION_FORMS: dict = {}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action in ("timeline", "attach"):
            return super().post(request, *args, **kwargs)
        record = self.get_object()
        if action not in self.ACTION_FORMS:
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(request.path)
        form = f.styled(self.ACTION_FORMS[action](request.POST, auto_id=f"{action}_%s"))
        status = 400
        if form.is_valid():
            try:
                message, target = getattr(self, f"do_{action}")(record, form.cleaned_data)
            except ValidationError as error:
                _apply_errors(form, error)
            except ConflictError as error:
                messages.error(request, error.message)
                form.add_error(None, error.message)
                status = 409
            except PermissionDenied as error:
                messages.error(request, str(error))
                status = 403
            else:
                messages.success(request, message)
                return HttpResponseRedirect(target or request.path)
        context = self.get_context_data(record=self.get_object(), action_form=form, open_action=action)
        return self.render_to_response(context, status=status)

    def action_forms(self, record, bound, open_action: str, initial: dict | None = None) -> dict:
        forms = {}
        for name, form_class in self.ACTION_FORMS.items():
            if name == open_action and bound is not None:
                forms[name] = bound
            else:
                forms[name] = f.styled(
                    form_class(initial={**(initial or {}).get(name, {})}, auto_id=f"{name}_%s")
                )
        return forms


# ------------------------------------------------------------------------------------------ problems


def _risk(problem) -> str:
    if not problem.risk:
        return "—"
    return f"{problem.risk} ({problem.impact.value}×{problem.probability.value})"


class ProblemList(RecordListView):
    """Problems, highest risk first [PRB-3]."""

    model = Problem
    filterset_class = ProblemFilterSet
    title = "Problems"
    default_ordering = "-risk"
    create_url_name = "problems:create"
    create_roles = STAFF
    columns = [
        Column("Number", "number", ordering="id", link=True),
        Column("Title", "title"),
        Column("Risk", _risk, ordering="risk"),
        Column("Status", lambda p: p.get_status_display()),
        Column("Source", lambda p: p.get_source_display()),
        Column("Incidents", lambda p: p.incident_count or 0),
        Column("Manager", "problem_manager"),
        Column("Group", "assignment_group.name"),
        Column("Opened", "created_at", ordering="created_at"),
    ]

    def base_queryset(self):
        return queries.problems(self.request.user)


class ProblemFormView(RoleRequiredMixin, TemplateView):
    """Log a problem or edit one (version-checked)."""

    template_name = "problems/problem_form.html"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(Problem.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def form(self, problem, data=None):
        form = f.ProblemForm(
            data=data, instance=problem, editing=problem is not None, initial=self.request.GET.dict()
        )
        form.fields["version"] = f.forms.IntegerField(
            widget=f.forms.HiddenInput, required=False, initial=problem.version if problem else None
        )
        return f.styled(form, small=False)

    def get(self, request, *args, **kwargs):
        problem = self.get_object()
        return self.render_to_response(
            self.get_context_data(form=self.form(problem), record=problem, title=self.title(problem))
        )

    def title(self, problem) -> str:
        return f"Edit {problem.number}" if problem else "Log a problem"

    def post(self, request, *args, **kwargs):
        problem = self.get_object()
        form = self.form(problem, data=request.POST)
        if form.is_valid():
            try:
                if problem is None:
                    incidents = _find_incidents(request.user, form.incident_numbers(), "incidents")
                    saved = services.problem_create(
                        actor=request.user, fields=form.service_fields(), incidents=incidents
                    )
                else:
                    saved = services.problem_update(
                        problem=problem,
                        actor=request.user,
                        changes=form.service_fields(),
                        expected_version=form.cleaned_data.get("version"),
                    )
            except ValidationError as error:
                _apply_errors(form, error)
            except ConflictError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Saved {saved.number}.")
                return HttpResponseRedirect(saved.get_absolute_url())
        f.styled(form, small=False)
        return self.render_to_response(
            self.get_context_data(form=form, record=problem, title=self.title(problem)), status=400
        )


class ProblemDetail(ActionsMixin, RecordDetailView):
    """A problem: risk, scope, the four-dimension analysis, linked incidents, workarounds, known
    errors, improvements, timeline and history; the lifecycle's allowed moves as actions."""

    model = Problem
    template_name = "problems/problem_detail.html"
    allowed_roles = STAFF
    ACTION_FORMS = {
        "transition": f.TransitionForm,
        "link": f.LinkIncidentsForm,
        "workaround": f.WorkaroundForm,
        "review": f.ReviewForm,
        "known_error": f.ProblemKnownErrorForm,
        "improvement": f.ImprovementForm,
        "resolve_incidents": f.VersionedForm,
    }

    def base_queryset(self):
        return queries.problem_detail(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        problem, user = context["record"], self.request.user
        open_action = kwargs.get("open_action", "")
        bound = kwargs.get("action_form")
        forms = self.action_forms(problem, bound, open_action)
        moves = []
        for target in [value for value in Status.values if value in TRANSITIONS[problem.status]]:
            form = (
                bound
                if (open_action == "transition" and bound is not None and bound.data.get("status") == target)
                else None
            )
            moves.append(
                {
                    "status": target,
                    "label": dict(Status.choices)[target],
                    "form": form
                    or f.styled(
                        f.TransitionForm(
                            initial={"status": target, "version": problem.version}, auto_id=f"to_{target}_%s"
                        )
                    ),
                }
            )
        context.update(
            problem=problem,
            title=problem.number,
            forms=forms,
            open_action=open_action,
            moves=moves,
            is_open=problem.status in OPEN_STATUSES,
            links=queries.linked_incidents(problem, user),
            other_links=kernel_queries.links_for(problem, user),
            workarounds=queries.workarounds_of(problem),
            known_errors=list(problem.known_errors.order_by("-id")),
            improvements=list(problem.improvements.order_by("-id")),
            candidates=list(problem.candidates.all()),
            can_record_known_error=problem.status in (Status.UNDER_INVESTIGATION, Status.KNOWN_ERROR),
        )
        return context

    def do_transition(self, problem, data):
        services.problem_transition(
            problem=problem,
            actor=self.request.user,
            to=data["status"],
            notes=data["notes"],
            reason=data["reason"],
            resolve_incidents=data["resolve_incidents"],
            expected_version=data["version"],
        )
        return f"{problem.number} is {dict(Status.choices)[data['status']].lower()}.", None

    def do_resolve_incidents(self, problem, data):
        resolved = services.problem_resolve_incidents(problem=problem, actor=self.request.user)
        return f"Resolved {len(resolved)} incident(s): {', '.join(resolved) or 'none open'}.", None

    def do_link(self, problem, data):
        incidents = _find_incidents(self.request.user, data_numbers(data), "numbers")
        rows = services.problem_link_incidents(
            problem=problem, actor=self.request.user, incidents=incidents, is_cause=data["is_cause"]
        )
        return f"Linked {len(rows)} incident(s).", None

    def do_workaround(self, problem, data):
        workaround = services.workaround_create(actor=self.request.user, fields=dict(data), problem=problem)
        return f"Workaround recorded: {workaround.title}.", None

    def do_review(self, problem, data):
        workaround = get_object_or_404(Workaround, pk=data["workaround"], problem=problem)
        services.workaround_review(workaround=workaround, actor=self.request.user, notes=data["notes"])
        return "Workaround reviewed.", None

    def do_known_error(self, problem, data):
        form = f.ProblemKnownErrorForm(data={})
        form.cleaned_data = data
        known_error = services.known_error_create(
            actor=self.request.user,
            fields=form.service_fields(),
            problem=problem,
            workaround=form.workaround(),
        )
        return f"Known error {known_error.number} recorded.", known_error.get_absolute_url()

    def do_improvement(self, problem, data):
        improvement = services.improvement_create(
            actor=self.request.user, fields={**data, "problem": problem}
        )
        return f"Improvement {improvement.number} raised.", None


def data_numbers(data) -> list[str]:
    return [part.strip().upper() for part in data["numbers"].replace(",", " ").split() if part.strip()]


# ------------------------------------------------------------------------------------ known errors


def _effectiveness(ke) -> str:
    rate = services.effectiveness(
        {"worked": ke.worked_count, "partly": ke.partly_count, "failed": ke.failed_count}
    )
    return "—" if rate is None else f"{round(float(rate) * 100)}%"


class KnownErrorList(RecordListView):
    """The known error database: search (``q``), open ones, published, due for re-assessment."""

    model = KnownError
    filterset_class = KnownErrorFilterSet
    title = "Known errors"
    create_url_name = "problems:known-error-create"
    create_roles = STAFF
    columns = [
        Column("Number", "number", ordering="id", link=True),
        Column("Title", "title"),
        Column("Status", lambda ke: ke.get_status_display()),
        Column("Problem", lambda ke: ke.problem.number if ke.problem_id else ""),
        Column("Uses", lambda ke: ke.use_count),
        Column("Worked", _effectiveness),
        Column("Re-assess on", "next_reassessment_on", ordering="next_reassessment_on"),
        Column("Portal", "publish_to_portal"),
    ]

    def base_queryset(self):
        return queries.known_errors(self.request.user)


class KnownErrorFormView(RoleRequiredMixin, TemplateView):
    """Record a known error directly (e.g. from a supplier) or edit one."""

    template_name = "problems/problem_form.html"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(KnownError.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def form(self, known_error, data=None):
        form_class = f.KnownErrorForm if known_error else f.KnownErrorWithWorkaroundForm
        form = form_class(data=data, instance=known_error)
        form.fields["version"] = f.forms.IntegerField(
            widget=f.forms.HiddenInput, required=False, initial=known_error.version if known_error else None
        )
        return f.styled(form, small=False)

    def title(self, known_error) -> str:
        return f"Edit {known_error.number}" if known_error else "Record a known error"

    def get(self, request, *args, **kwargs):
        known_error = self.get_object()
        return self.render_to_response(
            self.get_context_data(
                form=self.form(known_error), record=known_error, title=self.title(known_error)
            )
        )

    def post(self, request, *args, **kwargs):
        known_error = self.get_object()
        form = self.form(known_error, data=request.POST)
        if form.is_valid():
            try:
                if known_error is None:
                    saved = services.known_error_create(
                        actor=request.user, fields=form.service_fields(), workaround=form.workaround()
                    )
                else:
                    saved = services.known_error_update(
                        known_error=known_error,
                        actor=request.user,
                        changes=form.service_fields(),
                        expected_version=form.cleaned_data.get("version"),
                    )
            except ValidationError as error:
                _apply_errors(form, error)
            except ConflictError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Saved {saved.number}.")
                return HttpResponseRedirect(saved.get_absolute_url())
        f.styled(form, small=False)
        return self.render_to_response(
            self.get_context_data(form=form, record=known_error, title=self.title(known_error)), status=400
        )


class KnownErrorDetail(ActionsMixin, RecordDetailView):
    """A known error: symptoms, root cause, faulty CIs, workarounds with their effectiveness and uses,
    fix options and proposals, re-assessments, portal text; actions for each."""

    model = KnownError
    template_name = "problems/known_error_detail.html"
    allowed_roles = STAFF
    ACTION_FORMS = {
        "apply": f.ApplyForm,
        "rate": f.RateForm,
        "workaround": f.WorkaroundForm,
        "fix_option": f.FixOptionForm,
        "propose": f.ProposeForm,
        "reassess": f.ReassessForm,
        "transition": f.KnownErrorTransitionForm,
        "improvement": f.ImprovementForm,
    }

    def base_queryset(self):
        return queries.known_error_detail(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ke, user = context["record"], self.request.user
        open_action = kwargs.get("open_action", "")
        forms = self.action_forms(ke, kwargs.get("action_form"), open_action)
        context.update(
            known_error=ke,
            title=ke.number,
            forms=forms,
            open_action=open_action,
            is_open=ke.status in KE_OPEN_STATUSES,
            moves=[
                {"status": target, "label": label}
                for target, label in ke._meta.get_field("status").choices
                if target in KE_TRANSITIONS[ke.status]
            ],
            workarounds=queries.workarounds_of(ke),
            other_links=kernel_queries.links_for(ke, user),
            effectiveness=queries.effectiveness_of(ke),
            uses=queries.uses_of(ke, user),
            fix_options=list(ke.fix_options.all()),
            reassessments=list(ke.reassessments.select_related("assessed_by")[:20]),
            improvements=list(ke.improvements.order_by("-id")),
        )
        return context

    def do_apply(self, ke, data):
        incident = _find_incidents(self.request.user, [data["incident"].strip().upper()], "incident")[0]
        services.workaround_apply(
            known_error=ke, incident=incident, actor=self.request.user, note=data["note"]
        )
        return f"Workaround applied to {incident.number}.", None

    def do_rate(self, ke, data):
        use = (
            WorkaroundUse.objects.visible_to(self.request.user).filter(pk=data["use"], known_error=ke).first()
        )
        if use is None:
            raise Http404("No such use.")
        services.workaround_use_rate(use=use, actor=self.request.user, outcome=data["outcome"])
        return "Outcome recorded.", None

    def do_workaround(self, ke, data):
        workaround = services.workaround_create(actor=self.request.user, fields=dict(data), known_error=ke)
        return f"Workaround recorded: {workaround.title}.", None

    def do_fix_option(self, ke, data):
        option = services.fix_option_add(known_error=ke, actor=self.request.user, fields=dict(data))
        return f"Fix option added: {option.title}.", None

    def do_propose(self, ke, data):
        option = get_object_or_404(ke.fix_options, pk=data["fix_option"])
        proposal = services.fix_propose(
            fix_option=option, actor=self.request.user, justification=data["justification"]
        )
        return f"Fix proposal {proposal.number} recorded for the change request.", None

    def do_reassess(self, ke, data):
        services.reassessment_record(known_error=ke, actor=self.request.user, **data)
        return "Re-assessment recorded.", None

    def do_transition(self, ke, data):
        services.known_error_transition(
            known_error=ke, actor=self.request.user, to=data["status"], reason=data["reason"]
        )
        return f"{ke.number} is {dict(ke._meta.get_field('status').choices)[data['status']].lower()}.", None

    def do_improvement(self, ke, data):
        improvement = services.improvement_create(actor=self.request.user, fields={**data, "known_error": ke})
        return f"Improvement {improvement.number} raised.", None


class ApplyWorkaround(RoleRequiredMixin, View):
    """One click from an incident's page (or its suggestions): apply a known error's workaround."""

    def post(self, request, pk):
        known_error = get_object_or_404(KnownError.objects.visible_to(request.user), pk=pk)
        raw = request.POST.get("incident", "")
        incident = (
            Incident.objects.visible_to(request.user).filter(pk=int(raw) if raw.isdigit() else 0).first()
        )
        if incident is None:
            raise Http404("No such incident.")
        target = _safe_next(request, incident.get_absolute_url())
        try:
            services.workaround_apply(known_error=known_error, incident=incident, actor=request.user)
        except (ConflictError, ValidationError) as error:
            messages.error(request, getattr(error, "message", None) or " ".join(error.messages))
            return HttpResponseRedirect(target)
        messages.success(request, f"Applied the workaround of {known_error.number} to {incident.number}.")
        return HttpResponseRedirect(target)


def incident_panel_context(incident, user) -> dict:
    """The "Problems and known errors" panel of an incident's page: its problems, the workarounds
    applied to it, and the open known errors matching it with a one-click apply."""
    uses = queries.uses_on_incident(incident)
    applied = {use.known_error_id for use in uses}
    matches = []
    if incident.status in ("new", "in_progress", "on_hold"):
        text = " ".join(filter(None, (incident.short_description, incident.symptoms, incident.description)))
        matches = [
            match
            for match in queries.match_known_errors(
                user,
                text=text,
                ci_ids=[ci.pk for ci in incident.cis.all()],
                service_id=incident.service_id,
                category_id=incident.category_id,
                limit=3,
            )
            if match.known_error.pk not in applied
        ]
    return {
        "incident": incident,
        "problem_links": queries.problems_of_incident(incident, user),
        "uses": uses,
        "matches": matches,
    }


# ------------------------------------------------------------------------------ candidates, trends


class CandidateQueue(RoleRequiredMixin, TemplateView):
    """Problems proposed by detection; managers accept (a problem is raised, the incidents linked) or
    dismiss (never proposed again)."""

    template_name = "problems/candidates.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        state = self.request.GET.get("status", CandidateStatus.PROPOSED)
        if state not in CandidateStatus.values:
            state = CandidateStatus.PROPOSED
        rows = list(queries.candidates(user, state)[:100])
        incidents = queries.incidents_of_candidates(rows, user)
        context.update(
            title="Proposed problems",
            state=state,
            states=CandidateStatus.choices,
            rows=[{"candidate": row, "incidents": incidents.get(row.pk, [])} for row in rows],
            can_decide=roles.has_role(user, *services.PROBLEM_MANAGER_ROLES),
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action == "detect":
            if not roles.has_role(request.user, *services.PROBLEM_MANAGER_ROLES):
                raise PermissionDenied("Only a manager or an admin runs detection by hand.")
            result = detection.detect_recurring()
            messages.success(
                request,
                f"Examined {result.examined} incidents: {result.proposed} new, {result.updated} updated, "
                f"{result.skipped_dismissed} dismissed before.",
            )
            return HttpResponseRedirect(request.path)
        raw = request.POST.get("candidate", "")
        candidate = get_object_or_404(
            ProblemCandidate.objects.visible_to(request.user), pk=int(raw) if raw.isdigit() else 0
        )
        try:
            if action == "accept":
                problem = detection.candidate_accept(candidate=candidate, actor=request.user)
                messages.success(
                    request, f"Raised {problem.number} with {candidate.incident_count} incident(s) linked."
                )
                return HttpResponseRedirect(problem.get_absolute_url())
            if action == "dismiss":
                detection.candidate_dismiss(
                    candidate=candidate, actor=request.user, reason=request.POST.get("reason", "")
                )
                messages.success(request, "Dismissed: this group will not be proposed again.")
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except ConflictError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(request.path)


class Trends(RoleRequiredMixin, TemplateView):
    """Incident trends for problem identification: weekly counts by CI, category and service, the top
    recurring, and recent incidents not linked to any problem [PRB-2]."""

    template_name = "problems/trends.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        raw = self.request.GET.get("weeks", "8")
        weeks = min(max(int(raw), 1), 26) if raw.isdigit() else 8
        context.update(
            title="Incident trends", weeks=weeks, **trends.trend_report(self.request.user, weeks=weeks)
        )
        return context


# ----------------------------------------------------------------------------------- improvements


class ImprovementList(RecordListView):
    """The continual improvement register [PRB-7]."""

    model = Improvement
    filterset_class = ImprovementFilterSet
    title = "Improvement register"
    create_url_name = "problems:improvement-create"
    create_roles = STAFF
    columns = [
        Column("Number", "number", ordering="id", link=False),
        Column("Title", "title"),
        Column("Benefit", lambda i: f"{i.get_benefit_level_display()}: {i.benefit}"),
        Column("Effort", lambda i: i.get_effort_display()),
        Column("Status", lambda i: i.get_status_display()),
        Column("Owner", "owner"),
        Column(
            "From",
            lambda i: i.problem.number if i.problem_id else i.known_error.number if i.known_error_id else "",
        ),
    ]

    def base_queryset(self):
        return queries.improvements(self.request.user)


class ImprovementFormView(RoleRequiredMixin, TemplateView):
    template_name = "problems/problem_form.html"

    def get_object(self):
        if "pk" not in self.kwargs:
            return None
        return get_object_or_404(Improvement.objects.visible_to(self.request.user), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        item = self.get_object()
        form = f.styled(f.ImprovementForm(instance=item), small=False)
        return self.render_to_response(self.get_context_data(form=form, record=item, title="Improvement"))

    def post(self, request, *args, **kwargs):
        item = self.get_object()
        form = f.ImprovementForm(request.POST, instance=item)
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                if item is None:
                    item = services.improvement_create(actor=request.user, fields=data)
                else:
                    item = services.improvement_update(improvement=item, actor=request.user, changes=data)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Saved {item.number}.")
                return HttpResponseRedirect(reverse("problems:improvements"))
        f.styled(form, small=False)
        return self.render_to_response(
            self.get_context_data(form=form, record=item, title="Improvement"), status=400
        )


class LogAndApply(RoleRequiredMixin, View):
    """The create form's "Log and apply" button on a matching known error: the incident is logged
    exactly as the incident form logs it (incidents' own view and service), then the known error's
    workaround is applied to it. A form with errors comes back as the incident form shows it."""

    def post(self, request, pk):
        from django.urls import resolve

        from incidents.views import IncidentCreate

        known_error = get_object_or_404(KnownError.objects.visible_to(request.user), pk=pk)
        response = IncidentCreate.as_view()(request)
        if response.status_code != 302:
            return response
        match = resolve(response.url)
        incident = Incident.objects.visible_to(request.user).filter(pk=match.kwargs.get("pk")).first()
        if incident is None:
            return response
        try:
            services.workaround_apply(known_error=known_error, incident=incident, actor=request.user)
        except (ConflictError, ValidationError) as error:
            messages.error(request, getattr(error, "message", None) or " ".join(error.messages))
        else:
            messages.success(request, f"Applied the workaround of {known_error.number}.")
        return response
