"""Forms of the people pages. They only shape input; services do the writing."""

from __future__ import annotations

from django import forms

from itsm import roles
from people.models import Location, Organisation, Supplier, SupportGroup, User


class SupportGroupForm(forms.ModelForm):
    class Meta:
        model = SupportGroup
        fields = [
            "name",
            "email",
            "phone",
            "description",
            "manager",
            "members",
            "escalation_group",
            "is_active",
        ]
        widgets = {
            "members": forms.SelectMultiple(attrs={"size": 10}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_escalation_group(self):
        group = self.cleaned_data.get("escalation_group")
        if group is not None and self.instance.pk and group.pk == self.instance.pk:
            raise forms.ValidationError("A group cannot escalate to itself.")
        return group


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "code", "parent", "email_domain", "phone", "notes", "is_active"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}


class SupplierForm(forms.ModelForm):
    support_url = forms.URLField(required=False, assume_scheme="https", label="Support URL")

    class Meta:
        model = Supplier
        fields = [
            "name",
            "contract_reference",
            "support_email",
            "support_phone",
            "support_url",
            "support_hours",
            "contract_expires_on",
            "notes",
            "is_active",
        ]
        widgets = {
            "contract_expires_on": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "parent", "address", "time_zone", "is_active"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class UserForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=[(name, roles.ROLE_LABELS[name]) for name in roles.ALL_ROLES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "job_title",
            "organisation",
            "location",
            "time_zone",
            "is_vip",
            "is_active",
        ]
