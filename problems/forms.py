"""Forms of problem management's pages. They check the input's shape; every rule is in the services."""

from __future__ import annotations

from django import forms

from configuration.models import ConfigurationItem
from incidents.models import Category
from itsm.forms import style_form
from people.models import Supplier, SupportGroup, User
from problems import choices as c
from problems.models import Improvement, KnownError, Problem, RiskLevel, Workaround
from problems.services.problems import PROBLEM_FIELDS


def styled(form, *, small: bool = True):
    return style_form(form, small=small)


def _staff():
    return User.objects.filter(
        is_active=True, groups__name__in=("agent", "manager", "admin", "security")
    ).distinct()


class CIListField(forms.CharField):
    """Configuration items by number or name, separated by commas (a select of every CI would not
    scale to a real CMDB). Cleans to a list of CIs; names one it cannot find."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "CI numbers or names, separated by commas.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            ids = [getattr(item, "pk", item) for item in value]
            rows = (
                ConfigurationItem.objects.filter(pk__in=ids).order_by("name").values_list("name", flat=True)
            )
            return ", ".join(rows)
        return value

    def clean(self, value):
        text = super().clean(value) or ""
        names = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
        found = []
        for name in dict.fromkeys(names):
            ci = (
                ConfigurationItem.objects.filter(number__iexact=name).first()
                or ConfigurationItem.objects.filter(name__iexact=name).first()
            )
            if ci is None:
                raise forms.ValidationError(f"No CI numbered or named '{name}'.")
            found.append(ci)
        return found


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ProblemForm(forms.ModelForm):
    services = forms.ModelMultipleChoiceField(
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True).order_by("name"), required=False
    )
    cis = CIListField(label="Affected CIs")
    category = forms.ModelChoiceField(queryset=Category.objects.filter(parent__isnull=True), required=False)
    problem_manager = forms.ModelChoiceField(queryset=_staff(), required=False)
    impact = forms.ModelChoiceField(
        queryset=RiskLevel.objects.filter(scale=c.RiskScale.IMPACT), required=False
    )
    probability = forms.ModelChoiceField(
        queryset=RiskLevel.objects.filter(scale=c.RiskScale.PROBABILITY), required=False
    )
    incidents = forms.CharField(
        required=False,
        label="Incidents it causes",
        help_text="Incident numbers, separated by commas or spaces.",
    )

    class Meta:
        model = Problem
        fields = list(PROBLEM_FIELDS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "description",
                "analysis_people",
                "analysis_technology",
                "analysis_partners",
                "analysis_value_streams",
                "root_cause",
                "contributing_causes",
            )
        }

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["incidents"]

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}

    def incident_numbers(self) -> list[str]:
        raw = self.cleaned_data.get("incidents", "") or ""
        return [part.strip().upper() for part in raw.replace(",", " ").split() if part.strip()]


class TransitionForm(VersionedForm):
    status = forms.ChoiceField(choices=c.Status.choices, widget=forms.HiddenInput)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    reason = forms.CharField(required=False, max_length=500)
    resolve_incidents = forms.BooleanField(
        required=False, label="Also resolve the open incidents it caused (each gets a timeline entry)"
    )


class LinkIncidentsForm(forms.Form):
    numbers = forms.CharField(label="Incident numbers", help_text="E.g. INC0001234, INC0001240")
    is_cause = forms.BooleanField(required=False, initial=True, label="Caused by this problem")

    def numbers_list(self) -> list[str]:
        return [part.strip().upper() for part in self.cleaned_data["numbers"].replace(",", " ").split()]


class WorkaroundForm(forms.ModelForm):
    class Meta:
        model = Workaround
        fields = ["title", "symptoms", "steps", "automatable", "runbook_reference"]
        widgets = {"symptoms": forms.Textarea(attrs={"rows": 2}), "steps": forms.Textarea(attrs={"rows": 4})}


class ReviewForm(forms.Form):
    workaround = forms.IntegerField(widget=forms.HiddenInput)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Review")


class KnownErrorForm(forms.ModelForm):
    cis = CIListField(label="Faulty CIs")
    services = forms.ModelMultipleChoiceField(
        queryset=ConfigurationItem.objects.filter(ci_class__is_service=True).order_by("name"), required=False
    )
    category = forms.ModelChoiceField(queryset=Category.objects.filter(parent__isnull=True), required=False)
    owner = forms.ModelChoiceField(queryset=_staff(), required=False)
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.all(), required=False)
    assignment_group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.filter(is_active=True), required=False
    )

    class Meta:
        model = KnownError
        fields = [
            "title",
            "symptoms",
            "root_cause",
            "category",
            "cis",
            "services",
            "supplier",
            "supplier_reference",
            "owner",
            "assignment_group",
            "reassessment_interval_days",
            "next_reassessment_on",
            "publish_to_portal",
            "public_text",
        ]
        widgets = {
            "symptoms": forms.Textarea(attrs={"rows": 3}),
            "root_cause": forms.Textarea(attrs={"rows": 3}),
            "public_text": forms.Textarea(attrs={"rows": 3}),
            "next_reassessment_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, from_problem: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if from_problem:
            # Taken over from the problem when left blank.
            for name in ("title", "root_cause"):
                self.fields[name].required = False

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}
        if self.instance.pk is None:
            # Blank values are filled from the problem (services decide), so leave them out.
            for name in ("title", "root_cause", "category", "owner", "assignment_group"):
                if not data.get(name):
                    data.pop(name, None)
            for name in ("cis", "services"):
                if not data.get(name):
                    data.pop(name, None)
            if not data.get("next_reassessment_on"):
                data.pop("next_reassessment_on", None)
        return data


class KnownErrorWithWorkaroundForm(KnownErrorForm):
    workaround_title = forms.CharField(required=False, max_length=200, label="Workaround title")
    workaround_steps = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Workaround steps"
    )

    def workaround(self) -> dict | None:
        title, steps = self.cleaned_data.get("workaround_title"), self.cleaned_data.get("workaround_steps")
        if not (title or steps):
            return None
        return {
            "title": title or "Workaround",
            "steps": steps,
            "symptoms": self.cleaned_data.get("symptoms", ""),
        }


class KnownErrorTransitionForm(forms.Form):
    status = forms.ChoiceField(choices=c.KnownErrorStatus.choices, widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=500)


class ApplyForm(forms.Form):
    incident = forms.CharField(label="Incident number")
    note = forms.CharField(required=False, max_length=500)


class RateForm(forms.Form):
    use = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        choices=[(v, label) for v, label in c.Outcome.choices if v != c.Outcome.PENDING]
    )


class FixOptionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cost = forms.DecimalField(required=False, max_digits=12, decimal_places=2)
    effort_days = forms.DecimalField(required=False, max_digits=7, decimal_places=1)
    risk = forms.ChoiceField(choices=c.FixRisk.choices, initial=c.FixRisk.MEDIUM)
    benefit = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ProposeForm(forms.Form):
    fix_option = forms.IntegerField(widget=forms.HiddenInput)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ReassessForm(forms.Form):
    impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Overall impact")
    fix_cost = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Cost of a permanent fix"
    )
    decision = forms.ChoiceField(choices=c.Decision.choices)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_reassessment_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ImprovementForm(forms.ModelForm):
    owner = forms.ModelChoiceField(queryset=_staff(), required=False)

    class Meta:
        model = Improvement
        fields = ["title", "description", "benefit", "benefit_level", "effort", "status", "owner"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "benefit": forms.Textarea(attrs={"rows": 2}),
        }


class DismissForm(forms.Form):
    candidate = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500)


class AcceptForm(forms.Form):
    candidate = forms.IntegerField(widget=forms.HiddenInput)


class ProblemKnownErrorForm(KnownErrorWithWorkaroundForm):
    """Recording a known error from a problem's page: title and root cause default to the problem's."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("from_problem", True)
        super().__init__(*args, **kwargs)
