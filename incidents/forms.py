"""Forms of the agent pages. They shape input only: ``incidents.services`` validates the rules and
writes, and its ``ValidationError`` keys (``reason``, ``answer_<id>``, ...) land on the fields of the
same name.
"""

from __future__ import annotations

from functools import cache

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.urls import reverse_lazy

from configuration.choices import Environment
from configuration.forms import AnyOneSelect
from configuration.models import CIClass, ConfigurationItem
from incidents.choices import (
    Channel,
    HoldReason,
    HopKind,
    Impact,
    Priority,
    QuestionKind,
    ResolutionCode,
    Urgency,
)
from incidents.filters import IncidentFilterSet
from incidents.models import Category, Incident, SavedView
from itsm import roles
from itsm.forms import Options, OptionsSelect, style_form
from itsm.refcache import ReferenceCache
from people.models import Supplier, SupportGroup, User

ANSWER_PREFIX = "answer_"


# Choice lists: only the columns their labels use (a few hundred agents are built into model
# instances on every queue page), and staff found with EXISTS rather than a DISTINCT over every column.
def staff_users():
    return _staff_users().all()


@cache
def _staff_users():
    """Built once (its subquery cost more than a queue page's filter form took to render); callers
    get a fresh copy, so this one is never evaluated."""
    staff = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=roles.STAFF_ROLES)
    return (
        User.objects.filter(Exists(staff), is_active=True)
        .only("id", "username", "first_name", "last_name")
        .order_by("first_name", "last_name", "username")
    )


def active_groups():
    return SupportGroup.objects.filter(is_active=True).only("id", "name").order_by("name")


def services_qs():
    return ConfigurationItem.objects.filter(ci_class__is_service=True).only("id", "name").order_by("name")


def user_label(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.username})" if name else user.username


class UserLabelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


# The options of the queue page's selects (its filter bar and bulk form), kept 30 s per process and
# cleared when their rows change (itsm.refcache): building ~600 options from model instances on
# every page cost more than the rest of the page. The fields keep their querysets, which validate
# what is submitted.
CHOICES = {
    "assignee": ReferenceCache(
        "incident-choices-staff", lambda: [(u.pk, user_label(u)) for u in staff_users()]
    ),
    "group": ReferenceCache("incident-choices-groups", lambda: [(g.pk, g.name) for g in active_groups()]),
    "service": ReferenceCache("incident-choices-services", lambda: [(c.pk, c.name) for c in services_qs()]),
    "category": ReferenceCache(
        "incident-choices-categories",
        lambda: [(c.pk, str(c)) for c in Category.objects.filter(parent__isnull=True)],
    ),
    "subcategory": ReferenceCache(
        "incident-choices-subcategories",
        lambda: [
            (c.pk, str(c)) for c in Category.objects.filter(parent__isnull=False).select_related("parent")
        ],
    ),
    "ci_class": ReferenceCache(
        "incident-choices-ci-classes", lambda: [(c.pk, str(c)) for c in CIClass.objects.all()]
    ),
}
CHOICES["assignee"].follow([User])
CHOICES["group"].follow([SupportGroup])
CHOICES["service"].follow([ConfigurationItem, CIClass])
CHOICES["category"].follow([Category])
CHOICES["subcategory"].follow([Category])
CHOICES["ci_class"].follow([CIClass])


def use_cached_choices(form: forms.BaseForm) -> None:
    """Give the select of each field named in ``CHOICES`` its cached options (after its empty one)."""
    for name, choices in CHOICES.items():
        field = form.fields.get(name)
        if field is not None:
            options = Options.of(choices.name, choices.get(), getattr(field, "empty_label", None))
            if type(field.widget) is forms.Select:
                field.widget = OptionsSelect.like(field.widget, options)
            else:
                field.widget.choices = options


class UsernameField(forms.ModelChoiceField):
    """A person typed by username (a datalist offers matches); "jdoe - Jane Doe" is read as jdoe."""

    def __init__(self, queryset=None, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "autocomplete": "off",
                    "list": "user-options",
                    "hx-get": reverse_lazy("incidents:part", args=["users"]),
                    "hx-trigger": "input changed delay:250ms",
                    "hx-target": "#user-options",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            ),
        )
        kwargs.setdefault("error_messages", {"invalid_choice": "No such person: type their username."})
        super().__init__(queryset if queryset is not None else User.objects.filter(is_active=True), **kwargs)
        self.to_field_name = "username"

    def to_python(self, value):
        value = (value or "").strip().split(" ", 1)[0]
        return super().to_python(value)


class PeopleField(forms.CharField):
    """Several people by username, separated by commas."""

    def clean(self, value):
        value = super().clean(value)
        names = [name.strip() for name in (value or "").replace(";", ",").split(",") if name.strip()]
        if not names:
            return []
        people = list(User.objects.filter(username__in=names, is_active=True))
        missing = sorted(set(names) - {user.username for user in people})
        if missing:
            raise ValidationError(f"No such person: {', '.join(missing)}.")
        return people


# ------------------------------------------------------------------------------------------ queue


class QueueFilterSet(IncidentFilterSet):
    """The API's incident filters, with widgets that fit the queue's filter bar. The affected CI and
    the caller are typed (number or username) rather than picked from every row of their table."""

    status = django_filters.MultipleChoiceFilter(
        choices=Incident._meta.get_field("status").choices, widget=AnyOneSelect, distinct=False
    )
    # distinct=False: a filter on the incident's own column needs no SELECT DISTINCT (which made
    # PostgreSQL plan a DISTINCT over every column of the joined page).
    priority = django_filters.MultipleChoiceFilter(
        choices=Priority.choices, widget=AnyOneSelect, distinct=False
    )
    ci = django_filters.CharFilter(
        method="filter_ci_text",
        label="Affected CI",
        widget=forms.TextInput(
            attrs={
                "placeholder": "CI number",
                "list": "ci-options",
                "autocomplete": "off",
                "hx-get": reverse_lazy("configuration:ci-picker"),
                "hx-vals": 'js:{"q": event.target.value}',
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#ci-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        ),
    )
    caller = django_filters.CharFilter(
        method="filter_caller_text",
        label="Caller",
        widget=forms.TextInput(
            attrs={
                "placeholder": "username",
                "list": "user-options",
                "autocomplete": "off",
                "hx-get": reverse_lazy("incidents:part", args=["users"]),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#user-options",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        ),
    )

    main_fields = ("q", "status", "priority", "group", "assignee", "service", "category", "age")

    def filter_ci_text(self, queryset, name, value):
        word = value.strip().split(" ", 1)[0]
        if not word:
            return queryset
        cis = (
            ConfigurationItem.objects.filter(pk=int(word))
            if word.isdigit()
            else ConfigurationItem.objects.filter(number__iexact=word)
        )
        return queryset.filter(self._affected(cis))

    def filter_caller_text(self, queryset, name, value):
        word = value.strip().split(" ", 1)[0]
        if not word:
            return queryset
        return (
            queryset.filter(caller_id=int(word)) if word.isdigit() else queryset.filter(caller__username=word)
        )

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_queue_labels", False):
            form.fields["service"].queryset = services_qs()
            form.fields["assignee"].queryset = staff_users()
            for name, field in form.fields.items():
                if getattr(field, "empty_label", None) is not None:
                    field.empty_label = "Any"
                    if name not in CHOICES:
                        field.widget.choices = field.choices
                if isinstance(field, forms.NullBooleanField):
                    field.widget.choices = (("unknown", "Any"), ("true", "Yes"), ("false", "No"))
            use_cached_choices(form)
            form.fields["q"].widget.attrs.update(placeholder="Words or INC number", accesskey="f")
            form._queue_labels = True
        return form

    def main(self):
        return [self.form[name] for name in self.main_fields]

    def more(self):
        return [self.form[name] for name in self.form.fields if name not in self.main_fields]


class BulkForm(forms.Form):
    """One action for the ticked incidents (``services.bulk_apply``)."""

    ACTIONS = [("assign", "Assign"), ("start", "Start work"), ("hold", "Put on hold"), ("resolve", "Resolve")]

    ids = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), required=True, error_messages={"required": "Tick the incidents first."}
    )
    action = forms.ChoiceField(choices=ACTIONS)
    group = forms.ModelChoiceField(queryset=SupportGroup.objects.none(), required=False, label="Group")
    assignee = UserLabelChoiceField(queryset=User.objects.none(), required=False, label="Assignee")
    hold_reason = forms.ChoiceField(choices=[("", "---------"), *HoldReason.choices], required=False)
    resolution_code = forms.ChoiceField(choices=[("", "---------"), *ResolutionCode.choices], required=False)
    notes = forms.CharField(required=False, max_length=4000, label="Resolution notes / reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any number: the service decides which of them the user may act on.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(value, value) for value in raw]
        self.fields["group"].queryset = active_groups()
        self.fields["assignee"].queryset = staff_users()
        use_cached_choices(self)

    def params(self) -> dict:
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action == "assign":
            return {"group": data["group"], "assignee": data["assignee"], "reason": data["notes"]}
        if action == "hold":
            return {"hold_reason": data["hold_reason"], "reason": data["notes"]}
        if action == "resolve":
            return {"resolution_code": data["resolution_code"], "resolution_notes": data["notes"]}
        return {}


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name of this view")
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if SavedView.objects.filter(user=self.user, name=name).exists():
            raise ValidationError(f"You already have a view named '{name}'.")
        return name


# ------------------------------------------------------------------------------- create and edit


class ClassificationMixin:
    """Category, subcategory (following the category) and the intake script's questions."""

    def setup_classification(self):
        source = self.data if self.is_bound else self.initial
        category = _pick(Category.objects.filter(parent__isnull=True), source.get("category"))
        if category is None and not self.is_bound and self.instance is not None:
            category = self.instance.category
        self.fields["category"].queryset = Category.objects.filter(parent__isnull=True, is_active=True)
        self.fields["subcategory"].queryset = (
            Category.objects.filter(parent=category, is_active=True).select_related("parent")
            if category
            else Category.objects.none()
        )
        self.category = category

    instance = None


def _pick(queryset, raw):
    raw = str(raw or "")
    return queryset.filter(pk=int(raw)).first() if raw.isdigit() else None


class IncidentForm(ClassificationMixin, forms.Form):
    """Log an incident. Contact details left blank come from the caller (the service fills them)."""

    caller = UsernameField(required=False, help_text="Username of the person who reports it.")
    contact_name = forms.CharField(required=False, max_length=200)
    contact_email = forms.EmailField(required=False)
    contact_phone = forms.CharField(required=False, max_length=50)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False)
    subcategory = forms.ModelChoiceField(queryset=Category.objects.none(), required=False)
    service = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.none(), required=False, label="Affected service"
    )
    cis = forms.ModelMultipleChoiceField(
        queryset=ConfigurationItem.objects.all(),
        required=False,
        widget=forms.MultipleHiddenInput,
        label="Affected CIs",
    )
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.PRODUCTION)
    impact = forms.TypedChoiceField(choices=Impact.choices, coerce=int, initial=Impact.MINOR)
    urgency = forms.TypedChoiceField(choices=Urgency.choices, coerce=int, initial=Urgency.MEDIUM)
    assignment_group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.none(), required=False, label="Group"
    )
    assignee = UserLabelChoiceField(queryset=User.objects.none(), required=False)
    short_description = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=50000)
    is_security = forms.BooleanField(
        required=False, label="Information security incident (only the security team will see it)"
    )

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_classification()
        self.fields["service"].queryset = services_qs()
        self.fields["assignment_group"].queryset = active_groups()
        source = self.data if self.is_bound else self.initial
        group = _pick(SupportGroup.objects.all(), source.get("assignment_group"))
        # Any staff member validates (the service says who is not in the group); the list offers
        # the group's members once a group is chosen.
        self.fields["assignee"].queryset = staff_users()
        if group is not None:
            field = self.fields["assignee"]
            field.widget.choices = [("", field.empty_label)] + [
                (user.pk, field.label_from_instance(user))
                for user in staff_users().filter(support_groups=group)
            ]
        self.questions = list(questions)
        for question in self.questions:
            self.fields[f"{ANSWER_PREFIX}{question.pk}"] = _question_field(question)

    def answer_fields(self):
        return [self[f"{ANSWER_PREFIX}{question.pk}"] for question in self.questions]

    def answers(self) -> dict:
        return {
            question.pk: self.cleaned_data.get(f"{ANSWER_PREFIX}{question.pk}", "")
            for question in self.questions
        }

    def service_fields(self) -> dict:
        data = self.cleaned_data
        names = (
            "caller", "contact_name", "contact_email", "contact_phone", "channel", "category", "subcategory",
            "service", "environment", "impact", "urgency", "assignment_group", "assignee",
            "short_description", "description",
        )  # fmt: skip
        return {name: data[name] for name in names if name in data}


def _question_field(question) -> forms.Field:
    # Required-ness is the service's rule (check_answers): the field shows it, the service enforces it.
    common = {"label": question.text, "required": False, "help_text": question.help_text}
    if question.kind == QuestionKind.YES_NO:
        return forms.ChoiceField(choices=[("", "---------"), ("yes", "Yes"), ("no", "No")], **common)
    if question.kind == QuestionKind.CHOICE:
        return forms.ChoiceField(choices=[("", "---------"), *((c, c) for c in question.choices)], **common)
    return forms.CharField(max_length=2000, **common)


class IncidentEditForm(ClassificationMixin, forms.Form):
    """Edit what an agent edits directly; a priority change needs a reason (the service says so)."""

    short_description = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=50000)
    symptoms = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=50000)
    caller = UsernameField(required=False)
    contact_name = forms.CharField(required=False, max_length=200)
    contact_email = forms.EmailField(required=False)
    contact_phone = forms.CharField(required=False, max_length=50)
    channel = forms.ChoiceField(choices=Channel.choices)
    category = forms.ModelChoiceField(queryset=Category.objects.none(), required=False)
    subcategory = forms.ModelChoiceField(queryset=Category.objects.none(), required=False)
    service = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.none(), required=False, label="Affected service"
    )
    cis = forms.ModelMultipleChoiceField(
        queryset=ConfigurationItem.objects.all(),
        required=False,
        widget=forms.MultipleHiddenInput,
        label="Affected CIs",
    )
    environment = forms.ChoiceField(choices=Environment.choices)
    impact = forms.TypedChoiceField(choices=Impact.choices, coerce=int)
    urgency = forms.TypedChoiceField(choices=Urgency.choices, coerce=int)
    reason = forms.CharField(
        required=False, max_length=500, help_text="Needed when impact or urgency change the priority."
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, instance, **kwargs):
        self.instance = instance
        if not kwargs.get("data") and not args:
            kwargs["initial"] = {
                **{
                    name: getattr(instance, name)
                    for name in (
                        "short_description",
                        "description",
                        "symptoms",
                        "contact_name",
                        "contact_email",
                        "contact_phone",
                        "channel",
                        "environment",
                        "impact",
                        "urgency",
                        "version",
                    )
                },  # fmt: skip
                "caller": instance.caller.username if instance.caller else "",
                "category": instance.category_id,
                "subcategory": instance.subcategory_id,
                "service": instance.service_id,
                "cis": [ci.pk for ci in instance.cis.all()],
            }
        super().__init__(*args, **kwargs)
        self.setup_classification()
        self.fields["service"].queryset = services_qs()

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        data.pop("version", None)
        data["cis"] = list(data.get("cis") or [])
        return data


# ---------------------------------------------------------------------------------- detail actions


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class HoldForm(VersionedForm):
    hold_reason = forms.ChoiceField(
        choices=[("", "---------"), *HoldReason.choices], required=False, label="Waiting for"
    )
    reason = forms.CharField(required=False, max_length=500, label="Note")


class ResolveForm(VersionedForm):
    resolution_code = forms.ChoiceField(choices=[("", "---------"), *ResolutionCode.choices], required=False)
    resolution_notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Resolution notes (the caller reads them)",
    )


class ReasonForm(VersionedForm):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class AssignForm(VersionedForm):
    group = forms.ModelChoiceField(queryset=SupportGroup.objects.none(), required=False)
    assignee = UserLabelChoiceField(queryset=User.objects.none(), required=False)
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = active_groups()
        self.fields["assignee"].queryset = staff_users()


class EscalateForm(VersionedForm):
    kind = forms.ChoiceField(
        choices=[
            (HopKind.FUNCTIONAL, "Functional: to another group"),
            (HopKind.HIERARCHICAL, "Hierarchical: tell the group's manager"),
            (HopKind.SUPPLIER, "To a supplier"),
        ],
        label="Escalation",
    )
    group = forms.ModelChoiceField(
        queryset=SupportGroup.objects.none(),
        required=False,
        help_text="Functional: blank = the group's escalation group.",
    )
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.none(), required=False)
    supplier_reference = forms.CharField(required=False, max_length=100, label="Supplier's reference")
    reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = active_groups()
        self.fields["supplier"].queryset = Supplier.objects.filter(is_active=True).order_by("name")


class DeclareMajorForm(VersionedForm):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    incident_manager = UserLabelChoiceField(
        queryset=User.objects.none(), required=False, help_text="Blank: you."
    )
    update_cadence_minutes = forms.IntegerField(
        required=False, min_value=1, label="Stakeholder updates every (minutes)", initial=30
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["incident_manager"].queryset = staff_users()


class IncidentNumberField(forms.CharField):
    """Another incident, by number (``INC0000123``)."""

    def clean(self, value):
        value = (super().clean(value) or "").strip().split(" ", 1)[0]
        return value.upper()


class ParentForm(forms.Form):
    parent = IncidentNumberField(
        required=False, label="Parent incident", help_text="Its number; blank detaches it."
    )


class MergeForm(forms.Form):
    survivor = IncidentNumberField(label="Merge into", help_text="The incident that stays (its number).")
    reason = forms.CharField(required=False, max_length=500)


class UpdateForm(forms.Form):
    """A timeline update: a public comment or an internal work note, optionally structured."""

    kind = forms.ChoiceField(
        choices=[("work_note", "Work note (internal)"), ("comment", "Public comment (the caller sees it)")]
    )
    body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=50000, label="Update"
    )
    symptoms = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    business_impact = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    cis_affected = forms.CharField(required=False, label="CIs affected")
    actions_completed = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    actions_planned = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    involved = PeopleField(
        required=False, label="People involved", help_text="Usernames, separated by commas."
    )

    STRUCTURED = ("symptoms", "business_impact", "cis_affected", "actions_completed", "actions_planned")

    def structured(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.STRUCTURED if self.cleaned_data.get(name)}


class SwarmForm(forms.Form):
    user = UsernameField(label="Person")
    group = forms.ModelChoiceField(queryset=SupportGroup.objects.none(), required=False, label="From group")
    role = forms.CharField(max_length=100, required=False, help_text="E.g. network lead, communications.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = active_groups()


class SecurityForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class LinkForm(forms.Form):
    target_type = forms.ChoiceField(label="Record type")
    kind = forms.CharField(max_length=30, initial="related")
    target = forms.CharField(max_length=200, label="Number or words")
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {target.model._meta.label_lower: target for target in targets}
        self.fields["target_type"].choices = [(key, target.label) for key, target in self.targets.items()]
        kinds = sorted({kind for target in targets for kind in target.kinds})
        self.fields["kind"].widget = forms.Select(choices=[(kind, kind.replace("_", " ")) for kind in kinds])


class ReviewForm(forms.Form):
    what_happened = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    impact = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    timeline_summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Timeline"
    )
    causes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One action per line: what, who, by when.",
    )
    lessons = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    problem_requested = forms.BooleanField(
        required=False, label="Open a problem to find and remove the root cause"
    )
    complete = forms.BooleanField(required=False, label="The review is complete")


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="What is still wrong?"
    )


def styled(form, *, small=True):
    return style_form(form, small=small)
