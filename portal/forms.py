"""The portal's forms: the shape of what an end user sends. Rules live in the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse

from incidents.choices import QuestionKind
from incidents.models import Category
from portal.choices import PlainImpact, PlainUrgency

ANSWER_PREFIX = "answer_"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern); limits are checked by the kernel."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def styled(form: forms.BaseForm) -> forms.BaseForm:
    """Bootstrap classes, and help text tied to its control for screen readers."""
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect):
            widget.attrs.setdefault("class", "form-check-input")
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
        described = []
        if field.help_text:
            described.append(f"id_{name}_help")
        if form.is_bound and name in form.errors:
            described.append(f"id_{name}_error")
            widget.attrs["aria-invalid"] = "true"
        if described:
            widget.attrs["aria-describedby"] = " ".join(described)
    return form


def _limits_help() -> str:
    size = settings.ATTACHMENT_MAX_BYTES / (1024 * 1024)
    return f"Up to {size:.0f} MB each; {', '.join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)}."


def _question_field(question) -> forms.Field:
    common = {"label": question.text, "required": False, "help_text": question.help_text}
    if question.kind == QuestionKind.YES_NO:
        return forms.ChoiceField(choices=[("", "Choose…"), ("yes", "Yes"), ("no", "No")], **common)
    if question.kind == QuestionKind.CHOICE:
        return forms.ChoiceField(choices=[("", "Choose…"), *((c, c) for c in question.choices)], **common)
    return forms.CharField(max_length=2000, **common)


class PortalForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup()
        styled(self)

    def setup(self) -> None:
        """Fields added per instance, before styling."""


class RaiseForm(forms.Form):
    """Raise an incident. The intake questions of the chosen category are added as ``answer_<id>``."""

    short_description = forms.CharField(
        max_length=200,
        label="What is wrong, in a few words",
        help_text="For example: Outlook keeps asking for my password.",
    )
    description = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Describe the problem",
        help_text="What you were doing, what you expected, what happened instead. Matching help appears below as you type.",
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        required=False,
        label="What is it about?",
        empty_label="I am not sure",
    )
    service = forms.ModelChoiceField(
        queryset=None, required=False, label="Which service is affected?", empty_label="I am not sure"
    )
    impact = forms.TypedChoiceField(
        choices=PlainImpact.choices,
        coerce=int,
        initial=PlainImpact.JUST_ME,
        label="Who is affected?",
        widget=forms.RadioSelect,
    )
    urgency = forms.TypedChoiceField(
        choices=PlainUrgency.choices,
        coerce=int,
        initial=PlainUrgency.SLOWS_ME,
        label="How much does it stop your work?",
        widget=forms.RadioSelect,
    )
    attachments = MultipleFileField(required=False, label="Screenshots or files (optional)")

    def __init__(self, *args, categories, services, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["service"].queryset = services
        self.fields["attachments"].help_text = _limits_help()
        self.questions = list(questions)
        for question in self.questions:
            self.fields[f"{ANSWER_PREFIX}{question.pk}"] = _question_field(question)
        self.fields["category"].widget.attrs.update(
            {
                "hx-get": reverse("portal:intake"),
                "hx-target": "#intake",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
            }
        )
        styled(self)

    def answer_fields(self):
        return [self[f"{ANSWER_PREFIX}{question.pk}"] for question in self.questions]

    def answers(self) -> dict:
        return {q.pk: self.cleaned_data.get(f"{ANSWER_PREFIX}{q.pk}", "") for q in self.questions}

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {
            name: data.get(name)
            for name in ("short_description", "description", "category", "service", "impact", "urgency")
        }
        fields["description"] = fields["description"] or ""
        return {key: value for key, value in fields.items() if value is not None}


class CommentForm(PortalForm):
    body = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 3}), label="Your message")


class AttachForm(PortalForm):
    file = forms.FileField(label="Add a file")

    def setup(self) -> None:
        self.fields["file"].help_text = _limits_help()


class ReopenForm(PortalForm):
    reason = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="What is still wrong?"
    )


class RateForm(PortalForm):
    rating = forms.TypedChoiceField(
        coerce=int,
        choices=[(5, "5 - very satisfied"), (4, "4"), (3, "3"), (2, "2"), (1, "1 - very dissatisfied")],
        widget=forms.RadioSelect,
        label="How satisfied are you with how this was resolved?",
    )
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Anything to add? (optional)",
    )


class ShareForm(PortalForm):
    colleague = forms.CharField(max_length=254, label="Colleague's username or e-mail")


class VoteForm(PortalForm):
    helpful = forms.ChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], widget=forms.RadioSelect, label="Was this article helpful?"
    )
    comment = forms.CharField(required=False, max_length=1000, label="What was missing? (optional)")
