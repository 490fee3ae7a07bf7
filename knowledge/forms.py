"""Forms of the knowledge pages. They check the input's shape; the rules are in ``knowledge.services``."""

from __future__ import annotations

from django import forms

from configuration.models import ConfigurationItem
from itsm import roles
from itsm.forms import style_form
from knowledge.choices import Status
from knowledge.models import Article
from people.models import User


def styled(form, *, small: bool = False):
    return style_form(form, small=small)


class ArticleForm(forms.ModelForm):
    note = forms.CharField(
        max_length=300, required=False, label="What changed", help_text="Kept with the revision."
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    from_incident = forms.CharField(widget=forms.HiddenInput, required=False)
    from_known_error = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Article
        fields = [
            "title",
            "summary",
            "body",
            "audience",
            "organisation",
            "category",
            "services",
            "cis",
            "owner",
            "review_by",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 16, "class": "font-monospace"}),
            "review_by": forms.DateInput(attrs={"type": "date"}),
            "services": forms.SelectMultiple(attrs={"size": 5}),
            "cis": forms.SelectMultiple(attrs={"size": 5}),
        }
        help_texts = {"body": "Markdown: **bold**, _italic_, lists, `code`, [links](https://...), tables."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = ConfigurationItem.objects.filter(
            ci_class__is_service=True
        ).order_by("name")
        self.fields["cis"].queryset = ConfigurationItem.objects.order_by("name")
        self.fields["owner"].queryset = (
            User.objects.filter(is_active=True, groups__name__in=sorted(roles.STAFF_ROLES))
            .distinct()
            .order_by("username")
        )

    def clean(self):
        data = super().clean()
        if data.get("audience") == "organisation" and not data.get("organisation"):
            self.add_error("organisation", "Choose the organisation whose end users may read it.")
        return data

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


class TransitionForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    note = forms.CharField(max_length=500, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class VoteForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    comment = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Comment (optional)"
    )


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, label="Search the knowledge base")
